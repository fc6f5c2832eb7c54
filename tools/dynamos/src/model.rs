// SPDX-License-Identifier: GPL-2.0

//! The whole sysfs tree of dynamos as plain data, read from a root
//! directory (`/sys/kernel/dynamos` or a captured copy). The `--json`
//! output is this structure serialised as it is.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::parse::{self, Holder, Policy, SubsysState, Waiting};

/// The default root of the interface.
pub const SYSFS_ROOT: &str = "/sys/kernel/dynamos";

/// Reads one sysfs file: `Ok(None)` when it does not exist or may not be
/// read (a root-only file for another user), the text otherwise.
pub fn read_opt(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
            ) || e.raw_os_error() == Some(19) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn read_trim(path: &Path) -> Option<String> {
    read_opt(path)
        .ok()
        .flatten()
        .map(|s| s.trim_end_matches('\n').to_string())
}

fn read_num<T: std::str::FromStr>(path: &Path) -> Option<T> {
    read_trim(path).and_then(|s| s.trim().parse().ok())
}

/// The names in a directory, sorted (empty if it does not exist).
pub fn list_dir(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A lazily converted state of a patch (`patches/<p>/states/<s>/`).
#[derive(Debug, Clone, Serialize)]
pub struct PatchStateData {
    /// Its name.
    pub name: String,
    /// Objects converted now.
    pub converted: Option<u64>,
    /// Whether a disable converts back.
    pub reversible: Option<bool>,
    /// The eager pass ("idle", "running D/T", ...).
    pub eager: Option<String>,
    /// Whether a disable may drop what it cannot convert back.
    pub allow_loss: Option<bool>,
}

/// A registered patch (`patches/<p>/`).
#[derive(Debug, Clone, Serialize)]
pub struct Patch {
    /// The patch's (and its module's) name.
    pub name: String,
    /// registered, enabling, enabled, disabling or disabled.
    pub state: String,
    /// The `enabled` file.
    pub enabled: bool,
    /// Whether it is enabling or disabling.
    pub transition: bool,
    /// Why the last enable or disable failed, if it did.
    pub error: Option<String>,
    /// What its transition waits for (empty outside a transition).
    pub waiting: Waiting,
    /// The functions it has editions of.
    pub functions: Vec<String>,
    /// Its lazily converted states.
    pub states: Vec<PatchStateData>,
}

/// An edition of a function (`functions/<f>/editions/<id>/`).
#[derive(Debug, Clone, Serialize)]
pub struct Edition {
    /// Its id (0 is the original).
    pub id: u32,
    /// The patch that brought it, "original" for edition 0.
    pub patch: String,
    /// default, live or draining.
    pub state: String,
    /// Threads inside now; `None` when not readable (root only).
    pub inside: Option<u64>,
    /// Calls that entered it so far.
    pub calls: Option<u64>,
}

/// A patched function (`functions/<f>/`).
#[derive(Debug, Clone, Serialize)]
pub struct Function {
    /// "[module:]symbol[,position]".
    pub name: String,
    /// The policies in force (`policy`).
    pub policy: Policy,
    /// Its editions, by id.
    pub editions: Vec<Edition>,
}

/// A subsystem (`subsystems/<s>/`).
#[derive(Debug, Clone, Serialize)]
pub struct Subsystem {
    /// Its name.
    pub name: String,
    /// The generation new calls enter.
    pub generation: Option<u32>,
    /// Its phase.
    pub state: SubsysState,
    /// The tasks holding the old generation; `None` when not readable
    /// (root only).
    pub holders: Option<Vec<Holder>>,
    /// Its functions.
    pub members: Vec<String>,
    /// After how many ms a switch that has not drained is reported.
    pub timeout_ms: Option<u64>,
}

/// Everything `dynamos status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The dynamos version.
    pub version: String,
    /// The patch ABI version.
    pub abi: Option<u32>,
    /// Live shadow variables.
    pub shadow_vars: Option<u64>,
    /// The registered patches, by name.
    pub patches: Vec<Patch>,
    /// The patched functions, by name.
    pub functions: Vec<Function>,
    /// The subsystems, by name.
    pub subsystems: Vec<Subsystem>,
}

impl Status {
    /// The patch named `name`.
    pub fn patch(&self, name: &str) -> Option<&Patch> {
        self.patches.iter().find(|p| p.name == name)
    }

    /// The subsystems that `patch` has functions in.
    pub fn subsystems_of(&self, patch: &str) -> Vec<&Subsystem> {
        let Some(p) = self.patch(patch) else {
            return Vec::new();
        };
        self.subsystems
            .iter()
            .filter(|s| s.members.iter().any(|m| p.functions.contains(m)))
            .collect()
    }

    /// The patch in transition, if one is (dynamos runs one at a time).
    pub fn in_transition(&self) -> Option<&Patch> {
        self.patches.iter().find(|p| p.transition)
    }
}

/// The tree under a root directory.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The root (`/sys/kernel/dynamos` or a captured copy).
    pub root: PathBuf,
}

impl Tree {
    /// A tree at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Tree { root: root.into() }
    }

    /// Whether the root exists (dynamos.ko is loaded).
    pub fn present(&self) -> bool {
        self.root.join("patches").is_dir()
    }

    /// The directory of patch `name`.
    pub fn patch_dir(&self, name: &str) -> PathBuf {
        self.root.join("patches").join(name)
    }

    /// The directory of function `name`.
    pub fn function_dir(&self, name: &str) -> PathBuf {
        self.root.join("functions").join(name)
    }

    /// The directory of subsystem `name`.
    pub fn subsys_dir(&self, name: &str) -> PathBuf {
        self.root.join("subsystems").join(name)
    }

    /// The names of the registered patches.
    pub fn patch_names(&self) -> Vec<String> {
        list_dir(&self.root.join("patches"))
    }

    /// The names of the patched functions.
    pub fn function_names(&self) -> Vec<String> {
        list_dir(&self.root.join("functions"))
    }

    /// The names of the subsystems.
    pub fn subsys_names(&self) -> Vec<String> {
        list_dir(&self.root.join("subsystems"))
    }

    /// A patch's state file, or `None` if the patch is gone.
    pub fn patch_state(&self, name: &str) -> Option<String> {
        read_trim(&self.patch_dir(name).join("state"))
    }

    /// A patch's waiting file, parsed.
    pub fn waiting(&self, name: &str) -> Waiting {
        parse::parse_waiting(&read_trim(&self.patch_dir(name).join("waiting")).unwrap_or_default())
    }

    /// A patch's error file (`None` when empty).
    pub fn patch_error(&self, name: &str) -> Option<String> {
        read_trim(&self.patch_dir(name).join("error")).filter(|s| !s.is_empty())
    }

    /// Reads one function.
    pub fn function(&self, name: &str) -> Function {
        let dir = self.function_dir(name);
        let policy = parse::parse_policy(&read_trim(&dir.join("policy")).unwrap_or_default());
        let mut ids: Vec<u32> = list_dir(&dir.join("editions"))
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        ids.sort_unstable();
        let editions = ids
            .into_iter()
            .map(|id| {
                let e = dir.join("editions").join(id.to_string());
                Edition {
                    id,
                    patch: read_trim(&e.join("patch")).unwrap_or_default(),
                    state: read_trim(&e.join("state")).unwrap_or_default(),
                    inside: read_num(&e.join("inside")),
                    calls: read_num(&e.join("calls")),
                }
            })
            .collect();
        Function {
            name: name.to_string(),
            policy,
            editions,
        }
    }

    fn states(&self, patch: &str) -> Vec<PatchStateData> {
        let dir = self.patch_dir(patch).join("states");
        list_dir(&dir)
            .into_iter()
            .map(|s| {
                let d = dir.join(&s);
                PatchStateData {
                    converted: read_num(&d.join("converted")),
                    reversible: read_trim(&d.join("reversible")).map(|v| v.trim() == "1"),
                    eager: read_trim(&d.join("eager")),
                    allow_loss: read_trim(&d.join("allow_loss")).map(|v| v.trim() == "1"),
                    name: s,
                }
            })
            .collect()
    }

    /// Reads one subsystem.
    pub fn subsystem(&self, name: &str) -> Subsystem {
        let d = self.subsys_dir(name);
        Subsystem {
            name: name.to_string(),
            generation: read_num(&d.join("generation")),
            state: parse::parse_subsys_state(&read_trim(&d.join("state")).unwrap_or_default()),
            holders: read_trim(&d.join("holders")).map(|t| parse::parse_holders(&t)),
            members: read_trim(&d.join("members"))
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect(),
            timeout_ms: read_num(&d.join("timeout_ms")),
        }
    }

    /// Reads the whole tree. Objects that disappear while it is read (a
    /// patch unloaded meanwhile) are left out.
    pub fn status(&self) -> Status {
        let (version, abi) =
            parse::parse_version(&read_trim(&self.root.join("version")).unwrap_or_default());
        let functions: Vec<Function> = self
            .function_names()
            .iter()
            .filter(|f| self.function_dir(f).is_dir())
            .map(|f| self.function(f))
            .collect();
        let patches = self
            .patch_names()
            .into_iter()
            .filter_map(|name| {
                let dir = self.patch_dir(&name);
                let state = read_trim(&dir.join("state"))?;
                let fns = functions
                    .iter()
                    .filter(|f| f.editions.iter().any(|e| e.patch == name))
                    .map(|f| f.name.clone())
                    .collect();
                Some(Patch {
                    enabled: read_trim(&dir.join("enabled")).is_some_and(|v| v.trim() == "1"),
                    transition: read_trim(&dir.join("transition")).is_some_and(|v| v.trim() == "1"),
                    error: self.patch_error(&name),
                    waiting: self.waiting(&name),
                    functions: fns,
                    states: self.states(&name),
                    state,
                    name,
                })
            })
            .collect();
        let subsystems = self
            .subsys_names()
            .iter()
            .map(|s| self.subsystem(s))
            .collect();
        Status {
            version,
            abi,
            shadow_vars: read_num(&self.root.join("shadow_vars")),
            patches,
            functions,
            subsystems,
        }
    }
}

/// Resolves a function given by the user: its exact directory name, or a
/// bare symbol that names exactly one function. `Err` holds the candidates
/// (empty: none; several: ambiguous).
pub fn resolve_function(names: &[String], given: &str) -> Result<String, Vec<String>> {
    if names.iter().any(|n| n == given) {
        return Ok(given.to_string());
    }
    let matches: Vec<String> = names
        .iter()
        .filter(|n| parse::function_symbol(n) == given)
        .cloned()
        .collect();
    match matches.len() {
        1 => Ok(matches[0].clone()),
        _ => Err(matches),
    }
}

/// Resolves an edition given by the user: a decimal id, "original", or the
/// name of the patch that brought it.
pub fn resolve_edition(f: &Function, given: &str) -> Option<u32> {
    if let Ok(id) = given.parse() {
        return Some(id);
    }
    f.editions
        .iter()
        .find(|e| e.patch == given || (given == "original" && e.id == 0))
        .map(|e| e.id)
}

/// Holders of the transition of `patch`, completed where the subsystem's
/// `holders` file says where they are.
pub fn holders_of(status: &Status, patch: &str) -> Vec<Holder> {
    let Some(p) = status.patch(patch) else {
        return Vec::new();
    };
    let mut out: Vec<Holder> = p.waiting.holders.clone();
    for s in status.subsystems_of(patch) {
        for h in s.holders.iter().flatten() {
            match out.iter_mut().find(|o| o.pid == h.pid) {
                Some(o) => {
                    if o.function.is_none() {
                        o.function = h.function.clone();
                    }
                }
                None => out.push(h.clone()),
            }
        }
    }
    out
}

/// The file that holds `pid`'s comm under a proc root.
pub fn comm_path(proc_root: &Path, pid: u32) -> PathBuf {
    proc_root.join(pid.to_string()).join("comm")
}
