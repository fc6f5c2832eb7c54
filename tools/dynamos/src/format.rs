// SPDX-License-Identifier: GPL-2.0

//! The tables: pure functions from the model to text, at most 80 columns
//! wide, coloured only when asked.

use comfy_table::{presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table};

use crate::model::{Function, Patch, Status, Subsystem};
use crate::parse::{Holder, SubsysState};

/// The width every table fits in.
pub const WIDTH: u16 = 80;

fn table(header: &[&str], color: bool) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH);
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t.set_header(header.iter().map(|h| {
        let c = Cell::new(h);
        if color {
            c.add_attribute(Attribute::Bold)
        } else {
            c
        }
    }));
    t
}

/// Renders `t` with the columns `keep` never wrapped (names stay whole;
/// the other columns wrap to fit [`WIDTH`]), without trailing blanks.
fn render(mut t: Table, keep: &[usize]) -> String {
    for i in keep {
        if let Some(c) = t.column_mut(*i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    t.lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn state_cell(state: &str, color: bool) -> Cell {
    let c = Cell::new(state);
    if !color {
        return c;
    }
    match state {
        "enabled" | "default" | "idle" => c.fg(Color::Green),
        "enabling" | "disabling" | "draining" => c.fg(Color::Yellow),
        s if s.starts_with("failed") => c.fg(Color::Red),
        s if s.starts_with("draining")
            || s.starts_with("switching")
            || s.starts_with("transferring") =>
        {
            c.fg(Color::Yellow)
        }
        _ => c,
    }
}

/// The transition column of a patch: "-" outside one, else what it waits
/// for ("pending 1 (holder 42 cat)").
pub fn transition_text(p: &Patch) -> String {
    if !p.transition {
        return "-".into();
    }
    let w = &p.waiting;
    let mut s = if w.pending_all {
        "first check".to_string()
    } else {
        match w.pending {
            Some(n) => format!("{n} pending"),
            None => "running".to_string(),
        }
    };
    if let Some(c) = w.counted.filter(|c| *c > 0) {
        s.push_str(&format!(", {c} counted"));
    }
    if !w.holders.is_empty() {
        let pids: Vec<String> = w.holders.iter().map(|h| h.pid.to_string()).collect();
        s.push_str(&format!(", held by {}", pids.join(" ")));
    }
    s
}

/// The patches table.
pub fn patches_table(patches: &[Patch], color: bool) -> String {
    let mut t = table(&["PATCH", "STATE", "ENABLED", "TRANSITION", "ERROR"], color);
    for p in patches {
        t.add_row(vec![
            Cell::new(&p.name),
            state_cell(&p.state, color),
            Cell::new(if p.enabled { "1" } else { "0" }),
            Cell::new(transition_text(p)),
            Cell::new(p.error.as_deref().unwrap_or("-")),
        ]);
    }
    render(t, &[0, 1])
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The editions table: each function's name on a line of its own (names
/// stay whole), then one row per edition.
pub fn editions_table(functions: &[Function], color: bool) -> String {
    let mut t = table(
        &["FUNCTION / ED", "PATCH", "STATE", "INSIDE", "CALLS"],
        color,
    );
    for f in functions {
        for e in &f.editions {
            t.add_row(vec![
                Cell::new(format!("  {}", e.id)),
                Cell::new(&e.patch),
                state_cell(&e.state, color),
                Cell::new(opt(e.inside)),
                Cell::new(opt(e.calls)),
            ]);
        }
    }
    let text = render(t, &[0, 1, 2]);
    // Line 0 is the header, then one line per edition, in order.
    let mut lines = text.lines();
    let mut out: Vec<String> = lines.next().map(str::to_string).into_iter().collect();
    for f in functions {
        out.push(format!(" {}", f.name));
        for _ in &f.editions {
            out.extend(lines.next().map(str::to_string));
        }
    }
    out.extend(lines.map(str::to_string));
    out.join("\n")
}

/// The policy column text of one function's per-process entries.
pub fn pids_text(f: &Function) -> String {
    if f.policy.pids.is_empty() {
        return "-".into();
    }
    f.policy
        .pids
        .iter()
        .map(|p| format!("{}->{}", p.pid, p.edition))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The policies table.
pub fn policies_table(functions: &[Function], color: bool) -> String {
    let mut t = table(&["FUNCTION", "DEF", "PIDS", "HANDLER", "CALLS"], color);
    for f in functions {
        let p = &f.policy;
        let mut calls = p.calls.clone().unwrap_or_else(|| "-".into());
        if p.counting && !calls.contains("counted") {
            calls.push_str(" counting");
        }
        t.add_row(vec![
            Cell::new(&f.name),
            Cell::new(opt(p.default)),
            Cell::new(pids_text(f)),
            Cell::new(p.handler.as_deref().unwrap_or("-")),
            Cell::new(calls),
        ]);
    }
    render(t, &[0])
}

/// A subsystem's state in words, as the kernel prints it.
pub fn subsys_state_text(s: &SubsysState) -> String {
    match s {
        SubsysState::Idle => "idle".into(),
        SubsysState::Switching { from, to } => format!("switching {from}->{to}"),
        SubsysState::Draining { from, to, pending } => format!("draining {from}->{to} {pending}"),
        SubsysState::Transferring { from, to } => format!("transferring {from}->{to}"),
        SubsysState::Failed {
            from,
            to,
            after_ms,
            holding,
        } => format!("failed {from}->{to}: not drained after {after_ms} ms, {holding} holding"),
        SubsysState::Unknown { text } => text.clone(),
    }
}

/// The subsystems table.
pub fn subsystems_table(subs: &[Subsystem], color: bool) -> String {
    let mut t = table(&["SUBSYSTEM", "GEN", "STATE", "HOLDERS", "FNS"], color);
    for s in subs {
        let holders = match &s.holders {
            None => "(root only)".to_string(),
            Some(h) if h.is_empty() => "-".to_string(),
            Some(h) => h
                .iter()
                .map(|h| h.pid.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        };
        t.add_row(vec![
            Cell::new(&s.name),
            Cell::new(opt(s.generation)),
            state_cell(&subsys_state_text(&s.state), color),
            Cell::new(holders),
            Cell::new(s.members.len()),
        ]);
    }
    render(t, &[0, 1, 3, 4])
}

/// The whole `status` output.
pub fn status_text(st: &Status, color: bool) -> String {
    let mut out = format!(
        "dynamos {} (abi {}), {} shadow variables\n\n",
        st.version,
        opt(st.abi),
        opt(st.shadow_vars)
    );
    if st.patches.is_empty() {
        out.push_str("No patches registered.\n");
    } else {
        out.push_str(&patches_table(&st.patches, color));
        out.push('\n');
    }
    if !st.functions.is_empty() {
        out.push('\n');
        out.push_str(&editions_table(&st.functions, color));
        out.push_str("\n\n");
        out.push_str(&policies_table(&st.functions, color));
        out.push('\n');
    }
    if !st.subsystems.is_empty() {
        out.push('\n');
        out.push_str(&subsystems_table(&st.subsystems, color));
        out.push('\n');
    }
    out
}

/// A task holding a transition up, for `blocking`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Blocker {
    /// The patch whose transition it holds.
    pub patch: String,
    /// The subsystem, if the patch switches one.
    pub subsystem: Option<String>,
    /// The task.
    #[serde(flatten)]
    pub holder: Holder,
}

/// The `blocking` table.
pub fn blocking_table(blockers: &[Blocker], color: bool) -> String {
    let mut t = table(&["PID", "COMM", "PATCH", "FUNCTION"], color);
    for b in blockers {
        t.add_row(vec![
            Cell::new(b.holder.pid),
            Cell::new(&b.holder.comm),
            Cell::new(match &b.subsystem {
                Some(s) => format!("{} ({s})", b.patch),
                None => b.patch.clone(),
            }),
            Cell::new(b.holder.function.as_deref().unwrap_or("-")),
        ]);
    }
    render(t, &[0, 1])
}

/// One line naming the blockers: "42 (cat) in dynamos_target_sleep+0x1e/0x60
/// [dynamos_target], 43 (sh)".
pub fn blockers_line(holders: &[Holder]) -> String {
    holders
        .iter()
        .map(|h| {
            let mut s = format!("{} ({})", h.pid, h.comm);
            if let Some(f) = &h.function {
                s.push_str(&format!(" in {f}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `list` table of registered patches.
pub fn list_table(patches: &[Patch], color: bool) -> String {
    let mut t = table(&["PATCH", "STATE", "FUNCTIONS"], color);
    for p in patches {
        t.add_row(vec![
            Cell::new(&p.name),
            state_cell(&p.state, color),
            Cell::new(if p.functions.is_empty() {
                "-".to_string()
            } else {
                p.functions.join("\n")
            }),
        ]);
    }
    render(t, &[0, 1])
}
