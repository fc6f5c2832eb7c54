// SPDX-License-Identifier: GPL-2.0

//! A patch's lifecycle: its states and the legal moves between them.
//!
//! ```text
//! registered --enable--> enabling --drained--> enabled
//!                          |   ^                  |
//!                 reverse  v   | reverse       disable
//!                          disabling <------------'
//!                              | drained
//!                              v
//!                          disabled --enable--> enabling ...
//! ```
//!
//! Writing the opposite value to `enabled` during a transition reverses
//! it; writing the value it is going to is refused, as is disabling a
//! patch that is not enabled. A patch may unregister only when none of its
//! editions can run: registered or disabled.

/// Where a patch is in its lifecycle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PatchState {
    /// Known, never enabled.
    Registered,
    /// Its editions are the defaults; the ones they replaced drain.
    Enabling,
    /// Its editions are the defaults; nothing drains.
    Enabled,
    /// Its editions are off the stacks and drain.
    Disabling,
    /// Its editions are gone.
    Disabled,
}

/// Where a transition goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Goal {
    /// The patch's editions become the defaults.
    Enable,
    /// The patch's editions are removed.
    Disable,
}

/// What a request to move a patch towards a [`Goal`] does in its state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Move {
    /// Start a transition towards the goal.
    Start,
    /// Reverse the transition in progress, which goes the other way.
    Reverse,
    /// Refused: the patch is at the goal already, or going there, or (for
    /// a disable) was never enabled.
    Refuse,
}

impl PatchState {
    /// Every state, for tests and tables.
    #[cfg(test)]
    pub(crate) const ALL: [PatchState; 5] = [
        PatchState::Registered,
        PatchState::Enabling,
        PatchState::Enabled,
        PatchState::Disabling,
        PatchState::Disabled,
    ];

    /// The name shown in sysfs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PatchState::Registered => "registered",
            PatchState::Enabling => "enabling",
            PatchState::Enabled => "enabled",
            PatchState::Disabling => "disabling",
            PatchState::Disabled => "disabled",
        }
    }

    /// Whether the patch is, or is going to be, enabled.
    pub(crate) fn target_enabled(self) -> bool {
        matches!(self, PatchState::Enabling | PatchState::Enabled)
    }

    /// Whether a transition of the patch is in progress.
    pub(crate) fn in_transition(self) -> bool {
        matches!(self, PatchState::Enabling | PatchState::Disabling)
    }

    /// Whether the patch may unregister: none of its editions can run.
    pub(crate) fn may_unregister(self) -> bool {
        matches!(self, PatchState::Registered | PatchState::Disabled)
    }

    /// What a request towards `goal` does in this state.
    pub(crate) fn request(self, goal: Goal) -> Move {
        match (goal, self) {
            (Goal::Enable, PatchState::Registered | PatchState::Disabled) => Move::Start,
            (Goal::Enable, PatchState::Disabling) => Move::Reverse,
            (Goal::Enable, PatchState::Enabling | PatchState::Enabled) => Move::Refuse,
            (Goal::Disable, PatchState::Enabled) => Move::Start,
            (Goal::Disable, PatchState::Enabling) => Move::Reverse,
            (Goal::Disable, _) => Move::Refuse,
        }
    }
}

impl Goal {
    /// The state of a patch whose transition towards this goal runs.
    pub(crate) fn moving(self) -> PatchState {
        match self {
            Goal::Enable => PatchState::Enabling,
            Goal::Disable => PatchState::Disabling,
        }
    }

    /// The state of a patch whose transition towards this goal ended.
    pub(crate) fn reached(self) -> PatchState {
        match self {
            Goal::Enable => PatchState::Enabled,
            Goal::Disable => PatchState::Disabled,
        }
    }
}

/// The generations a subsystem moves between while its patch is in
/// `state`, `now` being the count of its patches that are or become
/// enabled: enabling moves from `now - 1` to `now`, disabling from
/// `now + 1` to `now`.
pub(crate) fn switch_generations(state: PatchState, now: u32) -> (u32, u32) {
    match state {
        PatchState::Enabling => (now.saturating_sub(1), now),
        _ => (now + 1, now),
    }
}

/// What a subsystem's `state` file says of a switch in progress.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SwitchPhase {
    /// Made, before the first drain check.
    Switching,
    /// Waiting for this many tasks that may hold the old generation.
    Draining(usize),
    /// The drain did not end within the subsystem's timeout.
    Failed,
    /// Drained; the patch's callbacks move the state.
    Transferring,
}

/// The phase of a switch: transferring wins, then a reported timeout, then
/// draining once the first check has counted the tasks.
pub(crate) fn switch_phase(
    transferring: bool,
    timed_out: bool,
    pending: Option<usize>,
) -> SwitchPhase {
    if transferring {
        SwitchPhase::Transferring
    } else if timed_out {
        SwitchPhase::Failed
    } else if let Some(n) = pending {
        SwitchPhase::Draining(n)
    } else {
        SwitchPhase::Switching
    }
}

/// Default timeout of switches and transitions, in milliseconds.
pub(crate) const DEFAULT_TIMEOUT_MS: u32 = 30_000;

/// Whether a switch that started `waited_ms` ago must be reported now,
/// with `limit_ms` its subsystem's timeout (0: never) and `reported`
/// whether it was already.
pub(crate) fn timeout_due(limit_ms: u32, waited_ms: i64, reported: bool) -> bool {
    limit_ms != 0 && !reported && waited_ms >= i64::from(limit_ms)
}

/// Identifies a registered patch: the address of its descriptor, which
/// stays fixed from registration to unregistration. Never dereferenced.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PatchKey(usize);

impl PatchKey {
    /// The key of the patch whose descriptor is at `addr`.
    pub(crate) fn of(addr: usize) -> Self {
        PatchKey(addr)
    }
}
