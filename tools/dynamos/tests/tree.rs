// SPDX-License-Identifier: GPL-2.0

//! The reading side and the tables, on sysfs trees captured in the VM
//! (tests/fixtures/README), and the command itself run against them.

use std::path::PathBuf;
use std::process::Command;

use dynamos_cmd::control::{self, Ctx};
use dynamos_cmd::format;
use dynamos_cmd::model::{self, Tree};
use dynamos_cmd::parse::SubsysState;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn ctx(name: &str) -> Ctx {
    Ctx {
        tree: Tree::new(fixture(name)),
        proc_root: fixture("proc"),
        progress: false,
        real: false,
    }
}

const ADD: &str = "dynamos_target:dynamos_target_add";
const SLEEP: &str = "dynamos_target:dynamos_target_sleep";

#[test]
fn sleeper_tree() {
    let st = Tree::new(fixture("sleeper")).status();
    assert_eq!(st.version, "0.1.0");
    assert_eq!(st.abi, Some(5));
    assert_eq!(st.patches.len(), 2);
    let add = st.patch("dynamos_test_add").unwrap();
    assert_eq!(
        (add.state.as_str(), add.enabled, add.transition),
        ("enabled", true, false)
    );
    assert!(add.waiting.is_empty());
    assert_eq!(add.functions, vec![ADD.to_string()]);
    let sl = st.patch("dynamos_test_sleep").unwrap();
    assert_eq!(
        (sl.state.as_str(), sl.enabled, sl.transition),
        ("disabling", false, true)
    );
    assert_eq!(sl.waiting.pending, Some(1));
    assert_eq!(sl.waiting.holders[0].pid, 86);
    assert_eq!(st.in_transition().unwrap().name, "dynamos_test_sleep");
    let f = st.functions.iter().find(|f| f.name == ADD).unwrap();
    assert_eq!(f.policy.default, Some(1));
    assert_eq!(f.policy.pids.len(), 1);
    assert_eq!((f.policy.pids[0].pid, f.policy.pids[0].edition), (69, 0));
    assert_eq!(f.editions.len(), 2);
    assert_eq!(f.editions[1].patch, "dynamos_test_add");
    let f = st.functions.iter().find(|f| f.name == SLEEP).unwrap();
    assert_eq!(f.editions[1].state, "draining");
    assert_eq!(f.editions[1].inside, Some(1));
    assert!(f.policy.counting);
    assert!(st.subsystems.is_empty());
}

#[test]
fn subsys_tree() {
    let st = Tree::new(fixture("subsys")).status();
    assert_eq!(st.subsystems.len(), 1);
    let s = &st.subsystems[0];
    assert_eq!(s.name, "dynamos_subsys");
    assert_eq!(s.generation, Some(1));
    assert!(matches!(
        s.state,
        SubsysState::Failed {
            from: 0,
            to: 1,
            holding: 1,
            ..
        }
    ));
    let h = s.holders.as_ref().unwrap();
    assert_eq!((h[0].pid, h[0].comm.as_str()), (158, "cat"));
    assert_eq!(
        h[0].function.as_deref(),
        Some("dynamos_sub_sleep+0xe/0x20 [dynamos_subsys]")
    );
    assert_eq!(s.members.len(), 7);
    assert_eq!(st.subsystems_of("dynamos_test_subsys").len(), 1);
    // The patch's holders, completed by the subsystem's: where it sits.
    let hs = model::holders_of(&st, "dynamos_test_subsys");
    assert_eq!(hs.len(), 1);
    assert_eq!(
        hs[0].function.as_deref(),
        Some("dynamos_sub_sleep+0xe/0x20 [dynamos_subsys]")
    );
}

#[test]
fn blockers_from_the_stack() {
    // A plain patch: the function comes from /proc/PID/stack, the
    // innermost frame in the draining edition (the patch module's code).
    let b = control::blocking(&ctx("sleeper"));
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].patch, "dynamos_test_sleep");
    assert_eq!(b[0].subsystem, None);
    assert_eq!(b[0].holder.pid, 86);
    assert_eq!(b[0].holder.comm, "cat");
    assert_eq!(
        b[0].holder.function.as_deref(),
        Some("dynamos_test_sleep::dynamos_target_sleep::prev+0xe/0x20 [dynamos_test_sleep]")
    );
    let b = control::blocking(&ctx("subsys"));
    assert_eq!(b[0].subsystem.as_deref(), Some("dynamos_subsys"));
}

#[test]
fn timeout_message_names_blockers_and_ways_out() {
    let c = ctx("sleeper");
    let st = c.tree.status();
    let h = control::blockers_of(&c, &st, "dynamos_test_sleep");
    let m = control::timeout_message(&st, "dynamos_test_sleep", "disabling", 2.0, &h);
    assert!(
        m.starts_with(
            "patch 'dynamos_test_sleep' is still disabling after 2 s, held by 86 (cat) in "
        ),
        "{m}"
    );
    assert!(
        m.contains("'dynamos enable dynamos_test_sleep' reverses the transition"),
        "{m}"
    );
    assert!(!m.contains('\n'));
    let c = ctx("subsys");
    let st = c.tree.status();
    let h = control::blockers_of(&c, &st, "dynamos_test_subsys");
    let m = control::timeout_message(&st, "dynamos_test_subsys", "enabling", 5.0, &h);
    assert!(
        m.contains("held by 158 (cat) in dynamos_sub_sleep+0xe/0x20 [dynamos_subsys]"),
        "{m}"
    );
    assert!(
        m.contains("'dynamos cancel dynamos_subsys' rolls the switch back"),
        "{m}"
    );
    assert!(
        m.contains("'dynamos force dynamos_subsys' completes it now"),
        "{m}"
    );
}

fn assert_fits(text: &str) {
    for l in text.lines() {
        assert!(l.chars().count() <= 80, "wider than 80 columns: {l:?}");
        assert_eq!(l, l.trim_end(), "trailing blanks: {l:?}");
    }
}

#[test]
fn status_tables() {
    for name in ["sleeper", "subsys"] {
        let st = Tree::new(fixture(name)).status();
        let plain = format::status_text(&st, false);
        assert_fits(&plain);
        assert!(!plain.contains('\x1b'));
        // Function names are never cut.
        for f in &st.functions {
            assert!(
                plain
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(&f.name)),
                "{}",
                f.name
            );
        }
        let colour = format::status_text(&st, true);
        assert!(colour.contains('\x1b'));
    }
    let st = Tree::new(fixture("sleeper")).status();
    let t = format::status_text(&st, false);
    let row = |re: &[&str]| {
        t.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>().starts_with(re))
    };
    assert!(row(&["dynamos_test_add", "enabled", "1", "-", "-"]), "{t}");
    assert!(
        row(&[
            "dynamos_test_sleep",
            "disabling",
            "0",
            "1",
            "pending,",
            "held",
            "by",
            "86",
            "-"
        ]),
        "{t}"
    );
    assert!(row(&[SLEEP]), "{t}");
    assert!(row(&["0", "original", "default", "1", "0"]), "{t}");
    assert!(
        row(&["1", "dynamos_test_sleep", "draining", "1", "1"]),
        "{t}"
    );
    assert!(row(&[ADD, "1", "69->0", "-", "handler"]), "{t}");
    let st = Tree::new(fixture("subsys")).status();
    let t = format::status_text(&st, false);
    let row = |re: &[&str]| {
        t.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>().starts_with(re))
    };
    assert!(row(&["dynamos_subsys", "1", "failed", "0->1:"]), "{t}");
    assert!(t.lines().any(|l| l.contains(" 158      7")), "{t}");
    assert!(
        row(&[
            "dynamos_subsys:dynamos_sub_sleep",
            "1",
            "-",
            "-",
            "handler",
            "counting"
        ]),
        "{t}"
    );
}

#[test]
fn json_document() {
    let st = Tree::new(fixture("subsys")).status();
    let v: serde_json::Value = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
    assert_eq!(v["patches"][0]["name"], "dynamos_test_subsys");
    assert_eq!(v["patches"][0]["waiting"]["pending"], 1);
    assert_eq!(v["subsystems"][0]["state"]["phase"], "failed");
    assert_eq!(v["subsystems"][0]["state"]["after_ms"], 9986);
    assert_eq!(v["subsystems"][0]["holders"][0]["pid"], 158);
    assert_eq!(v["functions"][0]["editions"][0]["patch"], "original");
}

#[test]
fn names_resolve() {
    let tree = Tree::new(fixture("sleeper"));
    let names = tree.function_names();
    assert_eq!(
        model::resolve_function(&names, "dynamos_target_add").unwrap(),
        ADD
    );
    assert_eq!(model::resolve_function(&names, ADD).unwrap(), ADD);
    assert!(model::resolve_function(&names, "nope")
        .unwrap_err()
        .is_empty());
    let twice = vec!["a:f".to_string(), "b:f".to_string()];
    assert_eq!(model::resolve_function(&twice, "f").unwrap_err().len(), 2);
    let f = tree.function(ADD);
    assert_eq!(model::resolve_edition(&f, "original"), Some(0));
    assert_eq!(model::resolve_edition(&f, "dynamos_test_add"), Some(1));
    assert_eq!(model::resolve_edition(&f, "7"), Some(7));
    assert_eq!(model::resolve_edition(&f, "nope"), None);
}

fn dynamos(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dynamos"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn command_exit_codes_and_messages() {
    let sleeper = fixture("sleeper");
    let root = sleeper.to_str().unwrap();
    let (rc, out, _) = dynamos(&["--sysfs-root", root, "status"]);
    assert_eq!(rc, 0);
    assert!(out.contains("dynamos_test_sleep"));
    let (rc, out, _) = dynamos(&["--sysfs-root", root]);
    assert_eq!(rc, 0, "status is the default");
    assert!(out.contains("PATCH"));
    let (rc, out, _) = dynamos(&["--sysfs-root", root, "status", "--json"]);
    assert_eq!(rc, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["patches"][1]["state"], "disabling");
    let (rc, out, _) = dynamos(&["--sysfs-root", root, "--color=never", "blocking"]);
    assert_eq!(rc, 0);
    assert!(
        out.lines().any(|l| l
            .split_whitespace()
            .take(3)
            .eq(["86", "cat", "dynamos_test_sleep"])),
        "{out}"
    );
    let (rc, _, err) = dynamos(&["--sysfs-root", "/nonexistent/dynamos", "status"]);
    assert_eq!(rc, 1);
    assert_eq!(err.lines().count(), 1);
    assert!(
        err.starts_with("dynamos: dynamos is not loaded (/nonexistent/dynamos does not exist)"),
        "{err}"
    );
    let (rc, _, err) = dynamos(&["--sysfs-root", root, "enable", "nosuch"]);
    assert_eq!(rc, 1);
    assert_eq!(
        err,
        "dynamos: no patch named 'nosuch' (known: dynamos_test_add, dynamos_test_sleep)\n"
    );
    let (rc, _, err) = dynamos(&["--sysfs-root", root, "default", "nosuch", "0"]);
    assert_eq!(rc, 1);
    assert!(
        err.starts_with("dynamos: no function named 'nosuch' (known: "),
        "{err}"
    );
    let (rc, _, err) = dynamos(&["--sysfs-root", root, "default", ADD, "nope"]);
    assert_eq!(rc, 1);
    assert!(err.contains("no edition named 'nope' on '"), "{err}");
    let (rc, _, _) = dynamos(&["frobnicate"]);
    assert_eq!(rc, 2);
    let (rc, _, _) = dynamos(&["pin", "notapid", "f", "0"]);
    assert_eq!(rc, 2);
    let (rc, out, _) = dynamos(&["man"]);
    assert_eq!(rc, 0);
    assert!(out.starts_with(".ie"), "roff");
}

#[test]
fn writes_go_to_the_right_files() {
    // A writable copy of the captured tree: a write lands in the file.
    let tmp = std::env::temp_dir().join(format!("dynamos-cmd-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&fixture("sleeper"), &tmp);
    let root = tmp.to_str().unwrap();
    let (rc, out, err) = dynamos(&[
        "--sysfs-root",
        root,
        "default",
        "dynamos_target_add",
        "original",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(out, format!("{ADD}: new calls enter edition 0\n"));
    assert_eq!(
        std::fs::read_to_string(tmp.join("functions").join(ADD).join("default")).unwrap(),
        "0\n"
    );
    let (rc, _, _) = dynamos(&["--sysfs-root", root, "pin", "42", ADD, "dynamos_test_add"]);
    assert_eq!(rc, 0);
    assert_eq!(
        std::fs::read_to_string(tmp.join("functions").join(ADD).join("pids")).unwrap(),
        "42 1\n"
    );
    let (rc, _, _) = dynamos(&["--sysfs-root", root, "unpin", "42", ADD]);
    assert_eq!(rc, 0);
    assert_eq!(
        std::fs::read_to_string(tmp.join("functions").join(ADD).join("pids")).unwrap(),
        "-42\n"
    );
    // replace writes 1 to the patch's replace file (write-only, so not in
    // the captured tree) and waits for the patch to be enabled.
    let replace = tmp.join("patches/dynamos_test_add/replace");
    std::fs::write(&replace, "").unwrap();
    let (rc, out, err) = dynamos(&["--sysfs-root", root, "replace", "dynamos_test_add"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        out,
        "patch 'dynamos_test_add' enabled, replacing every other patch\n"
    );
    assert_eq!(std::fs::read_to_string(&replace).unwrap(), "1\n");
    // The captured sleeper never leaves: a disable times out (exit 3),
    // naming it.
    let (rc, _, err) = dynamos(&[
        "--sysfs-root",
        root,
        "disable",
        "--timeout",
        "0.2",
        "dynamos_test_sleep",
    ]);
    assert_eq!(rc, 3);
    assert!(err.contains("held by 86 ("), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}
