// SPDX-License-Identifier: GPL-2.0

//! The command line. The man page is generated from these definitions
//! (`dynamos man`, hidden), so the two cannot drift apart.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Only when standard output is a terminal (and NO_COLOR is unset).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Show and control dynamos live kernel updates.
///
/// Reads and writes only /sys/kernel/dynamos/ (and runs insmod, rmmod and
/// depmod). Exit codes: 0 done; 1 refused or failed; 2 bad usage; 3 the
/// transition did not end within --timeout (it goes on in the kernel).
#[derive(Debug, Parser)]
#[command(name = "dynamos", version, about, long_about, after_help = EXIT_HELP)]
pub struct Cli {
    /// Colour the output: auto (on a terminal), always or never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Read and write this directory instead of /sys/kernel/dynamos (a
    /// captured tree, for tests).
    #[arg(long, global = true, value_name = "DIR", default_value = crate::model::SYSFS_ROOT)]
    pub sysfs_root: PathBuf,

    /// Read task names and stacks under this directory instead of /proc.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/proc",
        hide = true
    )]
    pub proc_root: PathBuf,

    /// What to do (status when none).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The exit codes, shown after --help.
pub const EXIT_HELP: &str = "Exit codes:
  0  done
  1  refused or failed (the reason is printed)
  2  bad usage
  3  timed out: the transition goes on; see the message for the ways out";

/// How long to wait for a transition.
#[derive(Debug, Clone, Args)]
pub struct Patience {
    /// Give up waiting after S seconds (0: do not wait). The transition
    /// goes on in the kernel; exit code 3.
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    pub timeout: f64,
}

/// Output format of the reading commands.
#[derive(Debug, Clone, Args)]
pub struct Output {
    /// One JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Patches, functions (editions, policies) and subsystems (the default).
    Status(Output),
    /// Load a patch module (insmod), enable it if it did not enable itself,
    /// and wait until its transition ends.
    Load {
        /// The patch module.
        ko: PathBuf,
        /// Load it without enabling it.
        #[arg(long)]
        no_enable: bool,
        /// Module parameters passed to insmod (NAME=VALUE).
        params: Vec<String>,
        #[command(flatten)]
        wait: Patience,
    },
    /// Disable a patch (waiting until it is disabled) and remove its module
    /// (rmmod).
    Unload {
        /// The patch.
        name: String,
        #[command(flatten)]
        wait: Patience,
    },
    /// Enable a registered or disabled patch and wait; during its disable,
    /// reverse it.
    Enable {
        /// The patch.
        name: String,
        #[command(flatten)]
        wait: Patience,
    },
    /// Disable a patch and wait; during its enable, reverse it.
    Disable {
        /// The patch.
        name: String,
        #[command(flatten)]
        wait: Patience,
    },
    /// Enable a registered or disabled patch as a cumulative one: in the
    /// same switch every other patch is disabled, and the functions it does
    /// not patch go back to their originals. Wait until it is enabled.
    Replace {
        /// The patch.
        name: String,
        #[command(flatten)]
        wait: Patience,
    },
    /// Wait until the transition of a patch ends.
    Wait {
        /// The patch.
        name: String,
        #[command(flatten)]
        wait: Patience,
    },
    /// Make EDITION the default of FUNCTION: new calls enter it at once.
    Default {
        /// The function ("[module:]symbol[,pos]", or a symbol that names
        /// one function).
        function: String,
        /// The edition: its id, "original", or the patch that brought it.
        edition: String,
    },
    /// Send the calls of process PID to EDITION of FUNCTION.
    Pin {
        /// The process.
        pid: u32,
        /// The function.
        function: String,
        /// The edition: its id, "original", or the patch that brought it.
        edition: String,
    },
    /// Remove the per-process entry of PID on FUNCTION.
    Unpin {
        /// The process.
        pid: u32,
        /// The function.
        function: String,
    },
    /// Cancel the switch of a subsystem in progress (roll it back) and wait.
    Cancel {
        /// The subsystem.
        subsystem: String,
        #[command(flatten)]
        wait: Patience,
    },
    /// Complete the switch of a subsystem now, without waiting for the old
    /// generation's holders.
    Force {
        /// The subsystem.
        subsystem: String,
        #[command(flatten)]
        wait: Patience,
    },
    /// Every task that holds a transition up: pid, comm, and where it is.
    Blocking(Output),
    /// Copy patch modules (or dynamos.ko) into the module tree, run depmod,
    /// and have patches load at boot (modules-load.d).
    Install {
        /// The modules.
        #[arg(required = true)]
        kos: Vec<PathBuf>,
        #[command(flatten)]
        root: Root,
    },
    /// Remove an installed module and its boot entry; run depmod.
    Uninstall {
        /// The modules' names.
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        root: Root,
    },
    /// The patches: registered now, or installed (--installed).
    List {
        /// The installed modules instead of the registered patches.
        #[arg(long)]
        installed: bool,
        #[command(flatten)]
        root: Root,
        #[command(flatten)]
        output: Output,
    },
    /// Write the man page (roff) to standard output.
    #[command(hide = true)]
    Man,
}

/// Where the module tree is.
#[derive(Debug, Clone, Args)]
pub struct Root {
    /// The root of the system to install into (default /).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The kernel release (default: the running one).
    #[arg(long, value_name = "VERSION")]
    pub kernel: Option<String>,
}
