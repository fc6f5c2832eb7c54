// SPDX-License-Identifier: GPL-2.0

//! Parsers of the sysfs files' content, exactly as `src/api/sysfs.rs`
//! prints them (see `Documentation/ABI/testing/sysfs-kernel-dynamos`).
//! Pure functions: text in, data out. Lines that do not fit the format are
//! skipped rather than failing the whole read: a newer module may add
//! lines.

use serde::Serialize;

/// `patches/<p>/waiting`: what a transition waits for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// Threads inside draining editions through counted entries.
    pub counted: Option<u64>,
    /// Threads not yet seen outside the draining editions; `None` before
    /// the first check ("pending all").
    pub pending: Option<u64>,
    /// True for "pending all": the first check has not run yet.
    pub pending_all: bool,
    /// Threads whose stacks were inside a draining edition at the last
    /// check (at most 16).
    pub holders: Vec<Holder>,
}

impl Waiting {
    /// Whether the file was empty (no transition of this patch).
    pub fn is_empty(&self) -> bool {
        self.counted.is_none()
            && self.pending.is_none()
            && !self.pending_all
            && self.holders.is_empty()
    }
}

/// A task holding a transition up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// Its pid.
    pub pid: u32,
    /// Its command name, as the kernel printed it (may contain spaces).
    pub comm: String,
    /// Where it sits in old code ("symbol+off/size [module]"), when known.
    pub function: Option<String>,
}

/// Parses `waiting`: "counted N", "pending N|all", "holder PID COMM" lines.
pub fn parse_waiting(text: &str) -> Waiting {
    let mut w = Waiting::default();
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(n) = line.strip_prefix("counted ") {
            w.counted = n.trim().parse().ok();
        } else if let Some(n) = line.strip_prefix("pending ") {
            if n.trim() == "all" {
                w.pending_all = true;
            } else {
                w.pending = n.trim().parse().ok();
            }
        } else if let Some(rest) = line.strip_prefix("holder ") {
            if let Some((pid, comm)) = rest.split_once(' ') {
                if let Ok(pid) = pid.parse() {
                    w.holders.push(Holder {
                        pid,
                        comm: comm.to_string(),
                        function: None,
                    });
                }
            }
        }
    }
    w
}

/// Parses `subsystems/<s>/holders`: "PID COMM FUNCTION" lines, FUNCTION as
/// `sprint_symbol()` prints it: "symbol+0xoff/0xsize" with " [module]"
/// after it for a module's code. COMM may contain spaces.
pub fn parse_holders(text: &str) -> Vec<Holder> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse() else { continue };
        // The function is the last word, or the last two when the last is
        // the "[module]".
        let words: Vec<&str> = rest.split(' ').collect();
        let nfunc = if words.len() >= 3 && words[words.len() - 1].starts_with('[') {
            2
        } else {
            1
        };
        if words.len() <= nfunc {
            // No comm: the line is "PID FUNCTION".
            out.push(Holder {
                pid,
                comm: String::new(),
                function: Some(rest.to_string()),
            });
            continue;
        }
        let split = words.len() - nfunc;
        out.push(Holder {
            pid,
            comm: words[..split].join(" "),
            function: Some(words[split..].join(" ")),
        });
    }
    out
}

/// A per-process entry of a function: calls from `pid` enter `edition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PidEntry {
    /// The process.
    pub pid: u32,
    /// The edition its calls enter.
    pub edition: u32,
}

/// Parses `functions/<f>/pids`: "PID ID" lines.
pub fn parse_pids(text: &str) -> Vec<PidEntry> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let pid = it.next()?.parse().ok()?;
            let edition = it.next()?.parse().ok()?;
            Some(PidEntry { pid, edition })
        })
        .collect()
}

/// `functions/<f>/policy`: the policies in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The default edition ("default ID").
    pub default: Option<u32>,
    /// The per-process entries ("pid PID ID").
    pub pids: Vec<PidEntry>,
    /// The patch whose adaptation handler picks editions ("handler P").
    pub handler: Option<String>,
    /// Whether entries are counted ("counting 0|1").
    pub counting: bool,
    /// How calls reach their edition ("calls jump|jump counted|jump
    /// adaptive|handler").
    pub calls: Option<String>,
}

/// Parses `policy`.
pub fn parse_policy(text: &str) -> Policy {
    let mut p = Policy::default();
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(v) = line.strip_prefix("default ") {
            p.default = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("pid ") {
            let mut it = v.split_whitespace();
            if let (Some(Ok(pid)), Some(Ok(edition))) =
                (it.next().map(str::parse), it.next().map(str::parse))
            {
                p.pids.push(PidEntry { pid, edition });
            }
        } else if let Some(v) = line.strip_prefix("handler ") {
            p.handler = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("counting ") {
            p.counting = v.trim() == "1";
        } else if let Some(v) = line.strip_prefix("calls ") {
            p.calls = Some(v.to_string());
        }
    }
    p
}

/// The phase of a subsystem (`subsystems/<s>/state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "lowercase")]
pub enum SubsysState {
    /// No switch in progress.
    Idle,
    /// "switching G->H": installed, first check not run yet.
    Switching {
        /// Old generation.
        from: u32,
        /// New generation.
        to: u32,
    },
    /// "draining G->H N": N tasks not yet seen outside G.
    Draining {
        /// Old generation.
        from: u32,
        /// New generation.
        to: u32,
        /// Tasks not yet seen outside the old generation.
        pending: u64,
    },
    /// "transferring G->H": the transfer and post callbacks run.
    Transferring {
        /// Old generation.
        from: u32,
        /// New generation.
        to: u32,
    },
    /// "failed G->H: not drained after T ms, N holding".
    Failed {
        /// Old generation.
        from: u32,
        /// New generation.
        to: u32,
        /// Milliseconds since the switch started.
        after_ms: u64,
        /// Tasks holding the old generation.
        holding: u64,
    },
    /// A line this version does not know.
    Unknown {
        /// The line as read.
        text: String,
    },
}

impl SubsysState {
    /// Whether a switch is in progress.
    pub fn in_switch(&self) -> bool {
        !matches!(self, SubsysState::Idle | SubsysState::Unknown { .. })
    }
}

fn gens(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once("->")?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Parses a subsystem's `state` line.
pub fn parse_subsys_state(text: &str) -> SubsysState {
    let line = text.lines().next().unwrap_or("").trim_end();
    let unknown = || SubsysState::Unknown {
        text: line.to_string(),
    };
    if line == "idle" {
        return SubsysState::Idle;
    }
    let Some((word, rest)) = line.split_once(' ') else {
        return unknown();
    };
    match word {
        "switching" => {
            gens(rest).map_or_else(unknown, |(from, to)| SubsysState::Switching { from, to })
        }
        "transferring" => {
            gens(rest).map_or_else(unknown, |(from, to)| SubsysState::Transferring { from, to })
        }
        "draining" => {
            let mut it = rest.split(' ');
            match (
                it.next().and_then(gens),
                it.next().and_then(|n| n.parse().ok()),
            ) {
                (Some((from, to)), Some(pending)) => SubsysState::Draining { from, to, pending },
                _ => unknown(),
            }
        }
        "failed" => {
            // "G->H: not drained after T ms, N holding"
            let Some((g, tail)) = rest.split_once(": ") else {
                return unknown();
            };
            let words: Vec<&str> = tail.split([' ', ',']).filter(|w| !w.is_empty()).collect();
            let num_before = |w: &str| {
                words
                    .iter()
                    .position(|x| *x == w)
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| words[i].parse().ok())
            };
            match (gens(g), num_before("ms"), num_before("holding")) {
                (Some((from, to)), Some(after_ms), Some(holding)) => SubsysState::Failed {
                    from,
                    to,
                    after_ms,
                    holding,
                },
                _ => unknown(),
            }
        }
        _ => unknown(),
    }
}

/// `version`: "<version> abi <n>".
pub fn parse_version(text: &str) -> (String, Option<u32>) {
    let line = text.trim();
    match line.split_once(" abi ") {
        Some((v, abi)) => (v.to_string(), abi.trim().parse().ok()),
        None => (line.to_string(), None),
    }
}

/// A frame of `/proc/PID/stack`: "[<0>] symbol+0xoff/0xsize [module]".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The symbol, without offset.
    pub symbol: String,
    /// The whole "symbol+off/size [module]" text.
    pub text: String,
    /// The module, if the code is in one.
    pub module: Option<String>,
}

/// Parses `/proc/PID/stack`.
pub fn parse_stack(text: &str) -> Vec<Frame> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = match l.split_once("] ") {
                Some((_, r)) if l.starts_with('[') => r,
                _ => l,
            };
            if rest.is_empty() {
                return None;
            }
            let raw = rest.split(['+', ' ']).next()?;
            let symbol = demangle(raw);
            let rest = rest.replacen(raw, &symbol, 1);
            let module = rest
                .rsplit_once(" [")
                .map(|(_, m)| m.trim_end_matches(']').to_string());
            Some(Frame {
                symbol,
                text: rest.clone(),
                module,
            })
        })
        .collect()
}

/// A Rust v0 symbol ("_RNvNtCs1a2b_5krate3mod4func") as a path
/// ("krate::mod::func"); anything else as it is. Only the plain paths that
/// functions have are decoded (no generics, no back references).
pub fn demangle(sym: &str) -> String {
    let Some(rest) = sym.strip_prefix("_R") else {
        return sym.to_string();
    };
    let b = rest.as_bytes();
    let (mut i, mut parts) = (0, Vec::new());
    while i < b.len() {
        match b[i] {
            b'N' => i += 2,
            b'C' => {
                i += 1;
                if b.get(i) == Some(&b's') {
                    while i < b.len() && b[i] != b'_' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'0'..=b'9' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let Ok(n) = rest[start..i].parse::<usize>() else {
                    return sym.to_string();
                };
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
                let Some(id) = rest.get(i..i + n) else {
                    return sym.to_string();
                };
                parts.push(id);
                i += n;
            }
            _ => return sym.to_string(),
        }
    }
    if parts.is_empty() {
        sym.to_string()
    } else {
        parts.join("::")
    }
}

/// The symbol part of a function directory name "[module:]symbol[,pos]".
pub fn function_symbol(name: &str) -> &str {
    let s = name.rsplit_once(':').map_or(name, |(_, s)| s);
    s.split_once(',').map_or(s, |(s, _)| s)
}

/// The first frame of a stack that is in old code of a transition: in one
/// of the `symbols` (the patched functions) or in one of the `modules`
/// (the patch modules whose editions drain).
pub fn frame_in<'a>(stack: &'a [Frame], symbols: &[&str], modules: &[&str]) -> Option<&'a Frame> {
    stack.iter().find(|f| {
        symbols.contains(&f.symbol.as_str())
            || f.module.as_deref().is_some_and(|m| modules.contains(&m))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_full() {
        let w = parse_waiting("counted 0\npending 1\nholder 212 cat\nholder 213 my prog\n");
        assert_eq!(w.counted, Some(0));
        assert_eq!(w.pending, Some(1));
        assert!(!w.pending_all);
        assert_eq!(w.holders.len(), 2);
        assert_eq!(w.holders[0].pid, 212);
        assert_eq!(w.holders[1].comm, "my prog");
    }

    #[test]
    fn waiting_empty_and_all() {
        assert!(parse_waiting("").is_empty());
        let w = parse_waiting("counted 2\npending all\n");
        assert!(w.pending_all);
        assert_eq!(w.pending, None);
        assert!(!w.is_empty());
    }

    #[test]
    fn holders_with_and_without_module() {
        let h = parse_holders(
            "212 cat dynamos_sub_sleep+0x4f/0xa0 [dynamos_subsys]\n7 kworker/0:1 schedule+0x10/0x80\n9 a b c foo+0x1/0x2 [m]\n",
        );
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].comm, "cat");
        assert_eq!(
            h[0].function.as_deref(),
            Some("dynamos_sub_sleep+0x4f/0xa0 [dynamos_subsys]")
        );
        assert_eq!(h[1].comm, "kworker/0:1");
        assert_eq!(h[1].function.as_deref(), Some("schedule+0x10/0x80"));
        assert_eq!(h[2].comm, "a b c");
    }

    #[test]
    fn pids_and_policy() {
        assert_eq!(
            parse_pids("12 0\n13 2\nbad\n"),
            vec![
                PidEntry {
                    pid: 12,
                    edition: 0
                },
                PidEntry {
                    pid: 13,
                    edition: 2
                }
            ]
        );
        let p = parse_policy(
            "default 1\npid 12 0\nhandler dynamos_test_adapt\ncounting 1\ncalls jump counted\n",
        );
        assert_eq!(p.default, Some(1));
        assert_eq!(
            p.pids,
            vec![PidEntry {
                pid: 12,
                edition: 0
            }]
        );
        assert_eq!(p.handler.as_deref(), Some("dynamos_test_adapt"));
        assert!(p.counting);
        assert_eq!(p.calls.as_deref(), Some("jump counted"));
    }

    #[test]
    fn subsys_states() {
        assert_eq!(parse_subsys_state("idle\n"), SubsysState::Idle);
        assert_eq!(
            parse_subsys_state("switching 0->1"),
            SubsysState::Switching { from: 0, to: 1 }
        );
        assert_eq!(
            parse_subsys_state("draining 1->0 3"),
            SubsysState::Draining {
                from: 1,
                to: 0,
                pending: 3
            }
        );
        assert_eq!(
            parse_subsys_state("transferring 0->1"),
            SubsysState::Transferring { from: 0, to: 1 }
        );
        assert_eq!(
            parse_subsys_state("failed 0->1: not drained after 312 ms, 1 holding\n"),
            SubsysState::Failed {
                from: 0,
                to: 1,
                after_ms: 312,
                holding: 1
            }
        );
        assert!(matches!(
            parse_subsys_state("weird"),
            SubsysState::Unknown { .. }
        ));
        assert!(!SubsysState::Idle.in_switch());
    }

    #[test]
    fn version_and_symbols() {
        assert_eq!(
            parse_version("0.1.0 abi 5\n"),
            ("0.1.0".to_string(), Some(5))
        );
        assert_eq!(
            function_symbol("dynamos_target:dynamos_target_add"),
            "dynamos_target_add"
        );
        assert_eq!(function_symbol("dynamos_dup,2"), "dynamos_dup");
        assert_eq!(function_symbol("cmdline_proc_show"), "cmdline_proc_show");
    }

    #[test]
    fn stack_frames() {
        let s = parse_stack(
            "[<0>] dynamos_target_sleep+0x5e/0xb0 [dynamos_target]\n[<0>] full_proxy_read+0x5a/0x90\n[<0>] vfs_read+0xb0/0x350\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].symbol, "dynamos_target_sleep");
        assert_eq!(s[0].module.as_deref(), Some("dynamos_target"));
        assert_eq!(s[1].module, None);
        let f = frame_in(&s, &["vfs_read"], &[]).unwrap();
        assert_eq!(f.text, "vfs_read+0xb0/0x350");
        let f = frame_in(&s, &[], &["dynamos_target"]).unwrap();
        assert_eq!(f.symbol, "dynamos_target_sleep");
        assert!(frame_in(&s, &["nothing"], &["nomod"]).is_none());
    }

    #[test]
    fn rust_symbols() {
        assert_eq!(
            demangle("_RNvNtCsfq5EBqWJd7W_18dynamos_test_sleep20dynamos_target_sleep4prev"),
            "dynamos_test_sleep::dynamos_target_sleep::prev"
        );
        assert_eq!(demangle("vfs_read"), "vfs_read");
        assert_eq!(demangle("_RXbad"), "_RXbad");
        let s = parse_stack("[<0>] _RNvCs1_3abc4prev+0xe/0x20 [abc]\n");
        assert_eq!(s[0].text, "abc::prev+0xe/0x20 [abc]");
        assert_eq!(s[0].module.as_deref(), Some("abc"));
    }
}
