// SPDX-License-Identifier: GPL-2.0

//! The writes, the waits for transitions and their progress bar, insmod
//! and rmmod. Everything here goes through a [`Ctx`], whose tree may be a
//! captured copy (`--sysfs-root`), so that the writes can be tested too.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{Error, Result, WriteKind};
use crate::format::{self, Blocker};
use crate::model::{self, Status, Tree};
use crate::parse::{self, Holder};

/// How often a wait polls the state.
const POLL: Duration = Duration::from_millis(50);

/// What a command runs against.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The sysfs tree.
    pub tree: Tree,
    /// The proc root (task names and stacks).
    pub proc_root: PathBuf,
    /// Whether to draw a progress bar (both stdout and stderr terminals).
    pub progress: bool,
    /// Whether the tree is the real one (then writing needs root).
    pub real: bool,
}

impl Ctx {
    /// Fails with [`Error::NotLoaded`] unless the tree is there.
    pub fn need_loaded(&self) -> Result<()> {
        if self.tree.present() {
            Ok(())
        } else {
            Err(Error::NotLoaded(self.tree.root.display().to_string()))
        }
    }

    /// Fails unless dynamos is loaded and, on the real tree, the user is
    /// root.
    pub fn need_writer(&self) -> Result<()> {
        self.need_loaded()?;
        if self.real && !is_root() {
            return Err(Error::NotRoot);
        }
        Ok(())
    }

    /// The patch `name`, or an [`Error::Unknown`] naming the known ones.
    pub fn need_patch(&self, name: &str) -> Result<()> {
        if self.tree.patch_dir(name).is_dir() {
            return Ok(());
        }
        Err(Error::Unknown {
            what: "patch",
            name: name.to_string(),
            known: self.tree.patch_names(),
        })
    }

    /// The function meant by `given` (see [`model::resolve_function`]).
    pub fn need_function(&self, given: &str) -> Result<String> {
        let names = self.tree.function_names();
        model::resolve_function(&names, given).map_err(|c| {
            if c.is_empty() {
                Error::Unknown {
                    what: "function",
                    name: given.to_string(),
                    known: names,
                }
            } else {
                Error::Ambiguous {
                    name: given.to_string(),
                    candidates: c,
                }
            }
        })
    }

    /// The subsystem `name`.
    pub fn need_subsys(&self, name: &str) -> Result<()> {
        if self.tree.subsys_dir(name).is_dir() {
            return Ok(());
        }
        Err(Error::Unknown {
            what: "subsystem",
            name: name.to_string(),
            known: self.tree.subsys_names(),
        })
    }
}

/// Whether the effective user is root, from /proc/self/status (no unsafe
/// `geteuid()` needed).
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Writes `value` to `path` in one write, as sysfs wants; a refusal
/// becomes an [`Error::Refused`] (with the patch's `error` text for
/// enable and disable).
pub fn write_attr(ctx: &Ctx, path: &Path, value: &str, kind: WriteKind, name: &str) -> Result<()> {
    let res = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    let Err(e) = res else { return Ok(()) };
    let errno = e.raw_os_error().unwrap_or(0);
    if errno == 13 && ctx.real && !is_root() {
        return Err(Error::NotRoot);
    }
    if e.kind() == io::ErrorKind::NotFound && !path.exists() {
        return Err(Error::Other(format!(
            "'{name}' went away meanwhile ({} is gone)",
            path.display()
        )));
    }
    let detail = match kind {
        WriteKind::Enable | WriteKind::Disable | WriteKind::Replace => ctx.tree.patch_error(name),
        _ => None,
    };
    Err(Error::Refused {
        kind,
        name: name.to_string(),
        errno,
        detail,
    })
}

/// Fills each holder's comm from /proc/PID/comm and, where the kernel did
/// not say, its function from /proc/PID/stack: the first frame in one of
/// the patched functions or in one of the patch modules.
pub fn complete_holders(ctx: &Ctx, holders: &mut [Holder], symbols: &[&str], modules: &[&str]) {
    for h in holders.iter_mut() {
        let dir = ctx.proc_root.join(h.pid.to_string());
        if let Ok(c) = fs::read_to_string(dir.join("comm")) {
            h.comm = c.trim_end().to_string();
        }
        if h.function.is_none() {
            if let Ok(s) = fs::read_to_string(dir.join("stack")) {
                let frames = parse::parse_stack(&s);
                h.function = parse::frame_in(&frames, symbols, modules).map(|f| f.text.clone());
            }
        }
    }
}

/// The tasks holding the transition of `patch` up, completed.
pub fn blockers_of(ctx: &Ctx, st: &Status, patch: &str) -> Vec<Holder> {
    let mut holders = model::holders_of(st, patch);
    let Some(p) = st.patch(patch) else {
        return holders;
    };
    // Old code is what drains: an original (edition 0, at the function's
    // symbol) or an edition of a patch module.
    let mut syms: Vec<&str> = Vec::new();
    let mut mods: Vec<&str> = Vec::new();
    for f in st
        .functions
        .iter()
        .filter(|f| p.functions.contains(&f.name))
    {
        for e in f.editions.iter().filter(|e| e.state == "draining") {
            if e.id == 0 {
                syms.push(parse::function_symbol(&f.name));
            } else if !mods.contains(&e.patch.as_str()) {
                mods.push(&e.patch);
            }
        }
    }
    complete_holders(ctx, &mut holders, &syms, &mods);
    holders
}

/// Every task holding a transition up (`dynamos blocking`).
pub fn blocking(ctx: &Ctx) -> Vec<Blocker> {
    let st = ctx.tree.status();
    let mut out = Vec::new();
    for p in st.patches.iter().filter(|p| p.transition) {
        let subsystem = st.subsystems_of(&p.name).first().map(|s| s.name.clone());
        for h in blockers_of(ctx, &st, &p.name) {
            out.push(Blocker {
                patch: p.name.clone(),
                subsystem: subsystem.clone(),
                holder: h,
            });
        }
    }
    out
}

fn in_transition(state: &str) -> bool {
    matches!(state, "enabling" | "disabling")
}

/// The progress bar of a wait: tasks seen outside the old code out of
/// those that were inside at the first check.
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
}

impl Progress {
    fn new(show: bool, what: &str) -> Self {
        let bar = show.then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:20}] {pos}/{len} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_prefix(what.to_string());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress { bar, total: 0 }
    }

    fn update(&mut self, pending: Option<u64>, blockers: &str) {
        let Some(b) = &self.bar else { return };
        if let Some(n) = pending {
            self.total = self.total.max(n);
            b.set_length(self.total);
            b.set_position(self.total - n);
        }
        if blockers.is_empty() {
            b.set_message(String::new());
        } else {
            b.set_message(format!("held by {blockers}"));
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The message of a wait that timed out: who holds it and the ways out.
pub fn timeout_message(
    st: &Status,
    patch: &str,
    state: &str,
    secs: f64,
    holders: &[Holder],
) -> String {
    let mut m = format!("patch '{patch}' is still {state} after {secs} s");
    if holders.is_empty() {
        m.push_str(" (no holder named yet)");
    } else {
        m.push_str(&format!(", held by {}", format::blockers_line(holders)));
    }
    m.push_str("; the transition goes on in the kernel. Ways out: ");
    let subs = st.subsystems_of(patch);
    if let Some(s) = subs.first() {
        m.push_str(&format!(
            "'dynamos cancel {0}' rolls the switch back, 'dynamos force {0}' completes it now",
            s.name
        ));
    } else {
        let reverse = if state == "disabling" {
            "enable"
        } else {
            "disable"
        };
        m.push_str(&format!(
            "let the holders return, 'dynamos {reverse} {patch}' reverses the transition"
        ));
    }
    m.push_str(&format!(", 'dynamos wait {patch}' waits longer"));
    m
}

/// Waits until the transition of `patch` ends and returns its final state.
/// `timeout` 0 returns the state at once.
pub fn wait_patch(ctx: &Ctx, patch: &str, timeout: f64) -> Result<String> {
    let start = Instant::now();
    let limit = Duration::from_secs_f64(timeout.max(0.0));
    let mut progress: Option<Progress> = None;
    loop {
        let Some(state) = ctx.tree.patch_state(patch) else {
            if let Some(p) = &progress {
                p.finish();
            }
            return Err(Error::Other(format!(
                "patch '{patch}' went away while waiting"
            )));
        };
        if !in_transition(&state) {
            if let Some(p) = &progress {
                p.finish();
            }
            return Ok(state);
        }
        let st = ctx.tree.status();
        let holders = blockers_of(ctx, &st, patch);
        if start.elapsed() >= limit {
            if let Some(p) = &progress {
                p.finish();
            }
            return Err(Error::TimedOut(timeout_message(
                &st, patch, &state, timeout, &holders,
            )));
        }
        let pr = progress
            .get_or_insert_with(|| Progress::new(ctx.progress, &format!("{patch} {state}")));
        let w = ctx.tree.waiting(patch);
        pr.update(w.pending, &format::blockers_line(&holders));
        thread::sleep(POLL);
    }
}

/// Checks that a wait ended where it was asked to.
fn expect_state(ctx: &Ctx, patch: &str, got: &str, want: &str) -> Result<()> {
    if got == want {
        return Ok(());
    }
    let why = ctx
        .tree
        .patch_error(patch)
        .map_or(String::new(), |e| format!(": {e}"));
    Err(Error::Failed(format!(
        "patch '{patch}' ended {got}, not {want} (reversed or failed){why}"
    )))
}

/// `enable` / `disable`: write `enabled` and wait.
pub fn set_enabled(ctx: &Ctx, patch: &str, on: bool, timeout: f64) -> Result<String> {
    ctx.need_writer()?;
    ctx.need_patch(patch)?;
    // Asked for the way it is going already: wait for it.
    let now = ctx.tree.patch_state(patch).unwrap_or_default();
    if (on && now == "enabling") || (!on && now == "disabling") {
        let got = wait_patch(ctx, patch, timeout)?;
        expect_state(ctx, patch, &got, if on { "enabled" } else { "disabled" })?;
        return Ok(got);
    }
    let kind = if on {
        WriteKind::Enable
    } else {
        WriteKind::Disable
    };
    let path = ctx.tree.patch_dir(patch).join("enabled");
    write_attr(ctx, &path, if on { "1\n" } else { "0\n" }, kind, patch)?;
    let got = wait_patch(ctx, patch, timeout)?;
    expect_state(ctx, patch, &got, if on { "enabled" } else { "disabled" })?;
    Ok(got)
}

/// `replace`: enable a patch replacing every other one (write `replace`),
/// and wait until the switch ends.
pub fn replace(ctx: &Ctx, patch: &str, timeout: f64) -> Result<String> {
    ctx.need_writer()?;
    ctx.need_patch(patch)?;
    let path = ctx.tree.patch_dir(patch).join("replace");
    write_attr(ctx, &path, "1\n", WriteKind::Replace, patch)?;
    let got = wait_patch(ctx, patch, timeout)?;
    expect_state(ctx, patch, &got, "enabled")?;
    Ok(got)
}

/// The module name of a .ko file, as the kernel names it (dashes become
/// underscores).
pub fn module_name(ko: &Path) -> String {
    let base = ko.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let base = base
        .strip_suffix(".ko.xz")
        .or_else(|| base.strip_suffix(".ko.zst"))
        .or_else(|| base.strip_suffix(".ko.gz"))
        .or_else(|| base.strip_suffix(".ko"))
        .unwrap_or(base);
    base.replace('-', "_")
}

/// A system tool: /sbin/NAME, /usr/sbin/NAME or NAME from PATH.
pub fn tool(name: &str) -> PathBuf {
    for d in ["/sbin", "/usr/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(d).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// Runs a tool; on failure, its first line of stderr in the error.
pub fn run_tool(name: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
    let out = Command::new(tool(name))
        .args(args)
        .output()
        .map_err(|e| Error::Other(format!("cannot run {name}: {}", crate::error::io_words(&e))))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let line = line
        .strip_prefix(&format!("{name}: "))
        .unwrap_or(line)
        .trim_start_matches("ERROR: ");
    Err(Error::Other(format!(
        "{name} failed{}",
        if line.is_empty() {
            format!(" ({})", out.status)
        } else {
            format!(": {line}")
        }
    )))
}

/// `load`: insmod, enable if it is only registered, wait.
pub fn load(ctx: &Ctx, ko: &Path, params: &[String], enable: bool, timeout: f64) -> Result<String> {
    ctx.need_writer()?;
    if !ko.is_file() {
        return Err(Error::Other(format!(
            "{}: no such module file",
            ko.display()
        )));
    }
    let name = module_name(ko);
    if ctx.tree.patch_dir(&name).is_dir() {
        return Err(Error::Other(format!("patch '{name}' is already loaded")));
    }
    let mut args: Vec<&std::ffi::OsStr> = vec![ko.as_os_str()];
    args.extend(params.iter().map(|p| std::ffi::OsStr::new(p.as_str())));
    run_tool("insmod", &args)?;
    // The patch registers in its module's init, before insmod returns.
    let Some(state) = ctx.tree.patch_state(&name) else {
        return Err(Error::Other(format!(
            "{} loaded, but no patch '{name}' registered: not a dynamos patch module?",
            ko.display()
        )));
    };
    if state == "registered" && enable {
        return set_enabled(ctx, &name, true, timeout);
    }
    if !enable {
        return Ok(state);
    }
    let got = wait_patch(ctx, &name, timeout)?;
    expect_state(ctx, &name, &got, "enabled")?;
    Ok(got)
}

/// `unload`: disable if enabled (and wait), then rmmod.
pub fn unload(ctx: &Ctx, name: &str, timeout: f64) -> Result<()> {
    ctx.need_writer()?;
    ctx.need_patch(name)?;
    let state = ctx.tree.patch_state(name).unwrap_or_default();
    if matches!(state.as_str(), "enabled" | "enabling") {
        set_enabled(ctx, name, false, timeout)?;
    } else if state == "disabling" {
        wait_patch(ctx, name, timeout)?;
    }
    run_tool("rmmod", &[std::ffi::OsStr::new(name)])
}

/// `default FUNCTION EDITION`: switches new calls at once (no transition).
pub fn set_default(ctx: &Ctx, function: &str, edition: &str) -> Result<(String, u32)> {
    ctx.need_writer()?;
    let f = ctx.need_function(function)?;
    let id = edition_id(ctx, &f, edition)?;
    let path = ctx.tree.function_dir(&f).join("default");
    write_attr(ctx, &path, &format!("{id}\n"), WriteKind::Default, &f)?;
    Ok((f, id))
}

fn edition_id(ctx: &Ctx, f: &str, edition: &str) -> Result<u32> {
    let func = ctx.tree.function(f);
    model::resolve_edition(&func, edition).ok_or_else(|| Error::Unknown {
        what: "edition",
        name: format!("{edition}' on '{f}"),
        known: func
            .editions
            .iter()
            .map(|e| format!("{} ({})", e.id, e.patch))
            .collect(),
    })
}

/// `pin PID FUNCTION EDITION` / `unpin PID FUNCTION`.
pub fn pin(
    ctx: &Ctx,
    pid: u32,
    function: &str,
    edition: Option<&str>,
) -> Result<(String, Option<u32>)> {
    ctx.need_writer()?;
    let f = ctx.need_function(function)?;
    let path = ctx.tree.function_dir(&f).join("pids");
    match edition {
        Some(e) => {
            let id = edition_id(ctx, &f, e)?;
            write_attr(ctx, &path, &format!("{pid} {id}\n"), WriteKind::Pin, &f)?;
            Ok((f, Some(id)))
        }
        None => {
            write_attr(ctx, &path, &format!("-{pid}\n"), WriteKind::Unpin, &f)?;
            Ok((f, None))
        }
    }
}

/// `cancel` / `force SUBSYSTEM`: write the trigger, then wait for the
/// patch that switched it.
pub fn cancel_or_force(
    ctx: &Ctx,
    subsys: &str,
    force: bool,
    timeout: f64,
) -> Result<Option<(String, String)>> {
    ctx.need_writer()?;
    ctx.need_subsys(subsys)?;
    let st = ctx.tree.status();
    let patch = st
        .patches
        .iter()
        .filter(|p| p.transition)
        .find(|p| st.subsystems_of(&p.name).iter().any(|s| s.name == subsys))
        .map(|p| p.name.clone());
    let (file, kind) = if force {
        ("force", WriteKind::Force)
    } else {
        ("cancel", WriteKind::Cancel)
    };
    write_attr(
        ctx,
        &ctx.tree.subsys_dir(subsys).join(file),
        "1\n",
        kind,
        subsys,
    )?;
    match patch {
        Some(p) => {
            let got = wait_patch(ctx, &p, timeout)?;
            Ok(Some((p, got)))
        }
        None => Ok(None),
    }
}
