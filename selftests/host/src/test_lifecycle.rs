// SPDX-License-Identifier: GPL-2.0
//! Tests of `src/logic/lifecycle.rs`.

use crate::lifecycle::*;

#[test]
fn every_state_and_goal_has_one_move() {
    use Goal::{Disable, Enable};
    use Move::{Refuse, Reverse, Start};
    use PatchState::*;
    let table = [
        (Registered, Enable, Start),
        (Registered, Disable, Refuse),
        (Enabling, Enable, Refuse),
        (Enabling, Disable, Reverse),
        (Enabled, Enable, Refuse),
        (Enabled, Disable, Start),
        (Disabling, Enable, Reverse),
        (Disabling, Disable, Refuse),
        (Disabled, Enable, Start),
        (Disabled, Disable, Refuse),
    ];
    assert_eq!(table.len(), PatchState::ALL.len() * 2);
    for (state, goal, want) in table {
        assert_eq!(state.request(goal), want, "{state:?} {goal:?}");
    }
}

#[test]
fn enable_starts_from_registered_and_disabled() {
    assert_eq!(PatchState::Registered.request(Goal::Enable), Move::Start);
    assert_eq!(PatchState::Disabled.request(Goal::Enable), Move::Start);
}

#[test]
fn disable_starts_from_enabled() {
    assert_eq!(PatchState::Enabled.request(Goal::Disable), Move::Start);
}

#[test]
fn enable_while_disabling_reverses() {
    assert_eq!(PatchState::Disabling.request(Goal::Enable), Move::Reverse);
}

#[test]
fn disable_while_enabling_reverses() {
    assert_eq!(PatchState::Enabling.request(Goal::Disable), Move::Reverse);
}

#[test]
fn enable_at_or_towards_enabled_is_refused() {
    assert_eq!(PatchState::Enabling.request(Goal::Enable), Move::Refuse);
    assert_eq!(PatchState::Enabled.request(Goal::Enable), Move::Refuse);
}

#[test]
fn disable_of_a_patch_never_enabled_or_already_off_is_refused() {
    assert_eq!(PatchState::Registered.request(Goal::Disable), Move::Refuse);
    assert_eq!(PatchState::Disabling.request(Goal::Disable), Move::Refuse);
    assert_eq!(PatchState::Disabled.request(Goal::Disable), Move::Refuse);
}

#[test]
fn state_names_are_the_sysfs_strings() {
    let names: Vec<&str> = PatchState::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        ["registered", "enabling", "enabled", "disabling", "disabled"]
    );
}

#[test]
fn target_enabled_is_enabling_or_enabled() {
    let got: Vec<bool> = PatchState::ALL.iter().map(|s| s.target_enabled()).collect();
    // Registered, Enabling, Enabled, Disabling, Disabled.
    assert_eq!(got, [false, true, true, false, false]);
}

#[test]
fn in_transition_is_enabling_or_disabling() {
    let got: Vec<bool> = PatchState::ALL.iter().map(|s| s.in_transition()).collect();
    assert_eq!(got, [false, true, false, true, false]);
}

#[test]
fn may_unregister_only_when_no_edition_can_run() {
    let got: Vec<bool> = PatchState::ALL.iter().map(|s| s.may_unregister()).collect();
    assert_eq!(got, [true, false, false, false, true]);
}

#[test]
fn goal_moving_and_reached_states() {
    assert_eq!(Goal::Enable.moving(), PatchState::Enabling);
    assert_eq!(Goal::Enable.reached(), PatchState::Enabled);
    assert_eq!(Goal::Disable.moving(), PatchState::Disabling);
    assert_eq!(Goal::Disable.reached(), PatchState::Disabled);
}

#[test]
fn a_started_move_lands_in_the_goals_moving_state_which_refuses_the_goal_again() {
    for goal in [Goal::Enable, Goal::Disable] {
        assert_eq!(goal.moving().request(goal), Move::Refuse, "{goal:?}");
        assert_eq!(goal.reached().request(goal), Move::Refuse, "{goal:?}");
    }
}

#[test]
fn enabling_switches_from_the_generation_below() {
    assert_eq!(switch_generations(PatchState::Enabling, 3), (2, 3));
    assert_eq!(switch_generations(PatchState::Enabling, 1), (0, 1));
}

#[test]
fn disabling_switches_from_the_generation_above() {
    assert_eq!(switch_generations(PatchState::Disabling, 0), (1, 0));
    assert_eq!(switch_generations(PatchState::Disabling, 4), (5, 4));
}

#[test]
fn enabling_at_generation_0_saturates() {
    assert_eq!(switch_generations(PatchState::Enabling, 0), (0, 0));
}

#[test]
fn switch_phase_transferring_beats_everything() {
    for timed_out in [false, true] {
        for pending in [None, Some(0), Some(7)] {
            assert_eq!(
                switch_phase(true, timed_out, pending),
                SwitchPhase::Transferring
            );
        }
    }
}

#[test]
fn switch_phase_timeout_beats_draining() {
    assert_eq!(switch_phase(false, true, Some(3)), SwitchPhase::Failed);
    assert_eq!(switch_phase(false, true, None), SwitchPhase::Failed);
}

#[test]
fn switch_phase_draining_once_tasks_are_counted() {
    assert_eq!(
        switch_phase(false, false, Some(3)),
        SwitchPhase::Draining(3)
    );
    assert_eq!(
        switch_phase(false, false, Some(0)),
        SwitchPhase::Draining(0)
    );
}

#[test]
fn switch_phase_switching_before_the_first_check() {
    assert_eq!(switch_phase(false, false, None), SwitchPhase::Switching);
}

#[test]
fn timeout_0_is_never_due() {
    assert!(!timeout_due(0, 0, false));
    assert!(!timeout_due(0, i64::MAX, false));
}

#[test]
fn timeout_already_reported_is_not_due_again() {
    assert!(!timeout_due(100, 1000, true));
    assert!(!timeout_due(100, 100, true));
}

#[test]
fn timeout_is_due_exactly_at_the_limit_and_after() {
    assert!(timeout_due(100, 100, false));
    assert!(timeout_due(100, 101, false));
    assert!(timeout_due(u32::MAX, i64::from(u32::MAX), false));
}

#[test]
fn timeout_is_not_due_below_the_limit() {
    assert!(!timeout_due(100, 99, false));
    assert!(!timeout_due(100, 0, false));
    assert!(!timeout_due(100, -5, false));
}

#[test]
fn patch_keys_are_equal_for_the_same_address_only() {
    assert_eq!(PatchKey::of(0x1000), PatchKey::of(0x1000));
    assert_ne!(PatchKey::of(0x1000), PatchKey::of(0x1008));
    assert_ne!(PatchKey::of(0), PatchKey::of(usize::MAX));
}
