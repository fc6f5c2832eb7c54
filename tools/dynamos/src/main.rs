// SPDX-License-Identifier: GPL-2.0

//! `dynamos`: the command. Parses the command line, runs one subcommand
//! and turns every failure into one line on stderr and an exit code (see
//! [`dynamos_cmd::error`]).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use dynamos_cmd::cli::{Cli, ColorWhen, Command, Output};
use dynamos_cmd::control::{self, Ctx};
use dynamos_cmd::error::{Error, Result, EXIT_USAGE};
use dynamos_cmd::model::{Tree, SYSFS_ROOT};
use dynamos_cmd::{format, install};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dynamos: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Error::Other(format!("JSON: {e}")))?;
    say(&s)
}

/// Prints, ignoring a closed pipe (`dynamos status | head`).
fn say(s: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{}", s.trim_end_matches('\n')) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::Other(format!("writing the output: {e}")))
        }
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<()> {
    let tty = io::stdout().is_terminal();
    let color = match cli.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
    };
    let ctx = Ctx {
        real: cli.sysfs_root.as_os_str() == SYSFS_ROOT,
        tree: Tree::new(cli.sysfs_root.clone()),
        proc_root: cli.proc_root.clone(),
        progress: tty && io::stderr().is_terminal(),
    };
    let command = cli
        .command
        .unwrap_or(Command::Status(Output { json: false }));
    match command {
        Command::Status(o) => {
            ctx.need_loaded()?;
            let st = ctx.tree.status();
            if o.json {
                json(&st)
            } else {
                say(&format::status_text(&st, color))
            }
        }
        Command::Load {
            ko,
            no_enable,
            params,
            wait,
        } => {
            let state = control::load(&ctx, &ko, &params, !no_enable, wait.timeout)?;
            say(&format!("patch '{}' {state}", control::module_name(&ko)))
        }
        Command::Unload { name, wait } => {
            control::unload(&ctx, &name, wait.timeout)?;
            say(&format!("patch '{name}' unloaded"))
        }
        Command::Enable { name, wait } => {
            control::set_enabled(&ctx, &name, true, wait.timeout)?;
            say(&format!("patch '{name}' enabled"))
        }
        Command::Disable { name, wait } => {
            control::set_enabled(&ctx, &name, false, wait.timeout)?;
            say(&format!("patch '{name}' disabled"))
        }
        Command::Replace { name, wait } => {
            control::replace(&ctx, &name, wait.timeout)?;
            say(&format!(
                "patch '{name}' enabled, replacing every other patch"
            ))
        }
        Command::Wait { name, wait } => {
            ctx.need_loaded()?;
            ctx.need_patch(&name)?;
            let state = control::wait_patch(&ctx, &name, wait.timeout)?;
            say(&format!("patch '{name}' {state}"))
        }
        Command::Default { function, edition } => {
            let (f, id) = control::set_default(&ctx, &function, &edition)?;
            say(&format!("{f}: new calls enter edition {id}"))
        }
        Command::Pin {
            pid,
            function,
            edition,
        } => {
            let (f, id) = control::pin(&ctx, pid, &function, Some(&edition))?;
            say(&format!(
                "{f}: calls of process {pid} enter edition {}",
                id.unwrap_or(0)
            ))
        }
        Command::Unpin { pid, function } => {
            let (f, _) = control::pin(&ctx, pid, &function, None)?;
            say(&format!("{f}: process {pid} follows the policy again"))
        }
        Command::Cancel { subsystem, wait } => cancel_force(&ctx, &subsystem, wait.timeout, false),
        Command::Force { subsystem, wait } => cancel_force(&ctx, &subsystem, wait.timeout, true),
        Command::Blocking(o) => {
            ctx.need_loaded()?;
            let b = control::blocking(&ctx);
            if o.json {
                json(&b)
            } else if b.is_empty() {
                say("No transition is held up.")
            } else {
                say(&format::blocking_table(&b, color))
            }
        }
        Command::Install { kos, root } => {
            let rel = release(&root)?;
            need_root_for(&root.root)?;
            for p in install::install(&kos, &root.root, &rel)? {
                say(&format!("installed {}", p.display()))?;
            }
            Ok(())
        }
        Command::Uninstall { names, root } => {
            let rel = release(&root)?;
            need_root_for(&root.root)?;
            for p in install::uninstall(&names, &root.root, &rel)? {
                say(&format!("removed {}", p.display()))?;
            }
            Ok(())
        }
        Command::List {
            installed,
            root,
            output,
        } => {
            if installed {
                let items = install::list(&root.root, &release(&root)?);
                if output.json {
                    json(&items)
                } else if items.is_empty() {
                    say("No dynamos module is installed.")
                } else {
                    say(&install::list_table(&items))
                }
            } else {
                ctx.need_loaded()?;
                let st = ctx.tree.status();
                if output.json {
                    json(&st.patches)
                } else if st.patches.is_empty() {
                    say("No patches registered.")
                } else {
                    say(&format::list_table(&st.patches, color))
                }
            }
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .map_err(|e| Error::Other(format!("man page: {e}")))?;
            io::stdout()
                .write_all(&buf)
                .map_err(|e| Error::Other(format!("writing the man page: {e}")))
        }
    }
}

fn cancel_force(ctx: &Ctx, subsystem: &str, timeout: f64, force: bool) -> Result<()> {
    let what = if force { "forced" } else { "cancelled" };
    match control::cancel_or_force(ctx, subsystem, force, timeout)? {
        Some((patch, state)) => say(&format!(
            "subsystem '{subsystem}': switch {what}; patch '{patch}' {state}"
        )),
        None => say(&format!("subsystem '{subsystem}': switch {what}")),
    }
}

fn release(root: &dynamos_cmd::cli::Root) -> Result<String> {
    match &root.kernel {
        Some(k) => Ok(k.clone()),
        None => install::running_release(),
    }
}

/// Installing into the system itself needs root; into another root
/// directory, only the rights on it.
fn need_root_for(root: &std::path::Path) -> Result<()> {
    if root == std::path::Path::new("/") && !control::is_root() {
        return Err(Error::NotRoot);
    }
    Ok(())
}
