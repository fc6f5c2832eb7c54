// SPDX-License-Identifier: GPL-2.0

//! Failures of the command: each one line of text (no panic, no
//! backtrace) and an exit code.

use std::fmt;
use std::io;

/// Exit code: the command did what was asked.
pub const EXIT_OK: i32 = 0;
/// Exit code: refused or failed (an errno from sysfs, a failed insmod,
/// an unknown name, not root, dynamos not loaded).
pub const EXIT_ERROR: i32 = 1;
/// Exit code: bad usage (clap's own code for a bad command line).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the transition did not end within `--timeout`; it goes on in
/// the kernel.
pub const EXIT_TIMEOUT: i32 = 3;

/// Which sysfs file a write went to: the errnos mean different things for
/// each (see the ABI file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// `patches/<p>/enabled` with "1".
    Enable,
    /// `patches/<p>/enabled` with "0".
    Disable,
    /// `patches/<p>/replace`.
    Replace,
    /// `functions/<f>/default`.
    Default,
    /// `functions/<f>/pids`, setting an entry.
    Pin,
    /// `functions/<f>/pids`, removing an entry.
    Unpin,
    /// `subsystems/<s>/cancel`.
    Cancel,
    /// `subsystems/<s>/force`.
    Force,
    /// `subsystems/<s>/timeout_ms`.
    Timeout,
}

/// A failure.
#[derive(Debug)]
pub enum Error {
    /// /sys/kernel/dynamos does not exist.
    NotLoaded(String),
    /// The command writes and the user is not root.
    NotRoot,
    /// No such patch, function, subsystem or edition.
    Unknown {
        /// "patch", "function", "subsystem", "edition".
        what: &'static str,
        /// The name given.
        name: String,
        /// What exists instead (may be empty).
        known: Vec<String>,
    },
    /// A bare symbol names several functions.
    Ambiguous {
        /// The name given.
        name: String,
        /// The functions it could mean.
        candidates: Vec<String>,
    },
    /// A sysfs write was refused.
    Refused {
        /// The kind of write.
        kind: WriteKind,
        /// What was written to (the patch, function or subsystem name).
        name: String,
        /// The errno.
        errno: i32,
        /// The patch's `error` file, when there is one.
        detail: Option<String>,
    },
    /// A transition did not end in time.
    TimedOut(String),
    /// A transition ended, but not where it was asked to (reversed, or
    /// failed).
    Failed(String),
    /// Anything else, already worded.
    Other(String),
}

impl Error {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::TimedOut(_) => EXIT_TIMEOUT,
            _ => EXIT_ERROR,
        }
    }

    /// An I/O failure on `path`, worded.
    pub fn io(what: &str, path: &std::path::Path, e: &io::Error) -> Self {
        Error::Other(format!("{what} {}: {}", path.display(), io_words(e)))
    }
}

/// The errno's symbolic name, for the ones sysfs returns.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        7 => "E2BIG",
        12 => "ENOMEM",
        13 => "EACCES",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
        22 => "EINVAL",
        28 => "ENOSPC",
        95 => "EOPNOTSUPP",
        _ => "",
    }
}

/// "Invalid argument (EINVAL)": the errno in words, without Rust's
/// "(os error N)".
pub fn errno_words(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let text = match text.rfind(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    match errno_name(errno) {
        "" => format!("{text} (errno {errno})"),
        n => format!("{text} ({n})"),
    }
}

/// An I/O error in words.
pub fn io_words(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_words(n),
        None => e.to_string(),
    }
}

/// What an errno means for a write of this kind, from the ABI file.
pub fn explain(kind: WriteKind, errno: i32) -> &'static str {
    use WriteKind::*;
    match (kind, errno) {
        (_, 13) => "only root may write dynamos' files",
        (_, 1) if kind != Disable => "writing needs CAP_SYS_ADMIN",
        (Disable, 1) => {
            "a state of the patch loses information when converted back (allow_loss is 0), or the writer lacks CAP_SYS_ADMIN"
        }
        (_, 19) => "it went away meanwhile",
        (_, 7) => "the value is longer than 64 bytes",
        (Enable, 22) => "it is already enabled, or enabling failed (an ambiguous name without a position)",
        (Disable, 22) => "it is not enabled",
        (Replace, 22) => "it is not disabled, or it belongs to a subsystem",
        (Enable, 16) | (Replace, 16) => {
            "another patch is in transition, the function cannot be hooked, or the transition is running its callbacks"
        }
        (Disable, 16) => {
            "another patch is in transition, a patch above it is enabled on one of its functions, or its callbacks are running"
        }
        (Enable, 2) | (Replace, 2) => "a function it patches is not there (unknown symbol; is the target module loaded?)",
        (Enable, 12) | (Replace, 12) => "out of memory",
        (Default, 22) | (Pin, 22) | (Unpin, 22) => "malformed value (PIDs are 1 to 4194304, editions 32-bit decimals)",
        (Default, 2) | (Pin, 2) => "the function has no such edition",
        (Unpin, 2) => "the process has no entry on this function",
        (Default, 16) | (Pin, 16) | (Unpin, 16) => "the function is in a transition; try again when it ends",
        (Pin, 3) => "no such process",
        (Pin, 28) => "the function already has 64 per-process entries",
        (Cancel, 22) | (Force, 22) => "no switch of this subsystem is in progress",
        (Cancel, 16) | (Force, 16) => "the switch is running its callbacks; it can no longer be stopped",
        (Timeout, 22) => "timeouts are 0 to 3600000 ms",
        _ => "",
    }
}

fn verb(kind: WriteKind) -> &'static str {
    match kind {
        WriteKind::Enable => "enabling patch",
        WriteKind::Disable => "disabling patch",
        WriteKind::Replace => "replacing every other patch by patch",
        WriteKind::Default => "setting the default edition of",
        WriteKind::Pin => "pinning a process on",
        WriteKind::Unpin => "unpinning a process from",
        WriteKind::Cancel => "cancelling the switch of subsystem",
        WriteKind::Force => "forcing the switch of subsystem",
        WriteKind::Timeout => "setting the timeout of subsystem",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotLoaded(root) => write!(
                f,
                "dynamos is not loaded ({root} does not exist); load dynamos.ko first (modprobe dynamos or insmod dynamos.ko)"
            ),
            Error::NotRoot => write!(
                f,
                "this command changes dynamos' state and must run as root (with CAP_SYS_ADMIN)"
            ),
            Error::Unknown { what, name, known } => {
                write!(f, "no {what} named '{name}'")?;
                if known.is_empty() {
                    write!(f, " (there is none)")
                } else {
                    write!(f, " (known: {})", known.join(", "))
                }
            }
            Error::Ambiguous { name, candidates } => write!(
                f,
                "'{name}' names several functions: {}; give the full name",
                candidates.join(", ")
            ),
            Error::Refused {
                kind,
                name,
                errno,
                detail,
            } => {
                write!(f, "{} '{name}' refused: {}", verb(*kind), errno_words(*errno))?;
                match explain(*kind, *errno) {
                    "" => {}
                    e => write!(f, ": {e}")?,
                }
                if let Some(d) = detail {
                    write!(f, "; the patch's error: {d}")?;
                }
                Ok(())
            }
            Error::TimedOut(s) | Error::Failed(s) | Error::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}

/// The result type of the command.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_in_words() {
        assert_eq!(errno_words(22), "Invalid argument (EINVAL)");
        assert_eq!(errno_words(16), "Device or resource busy (EBUSY)");
        assert_eq!(errno_words(7), "Argument list too long (E2BIG)");
    }

    #[test]
    fn refusal_line() {
        let e = Error::Refused {
            kind: WriteKind::Enable,
            name: "p".into(),
            errno: 2,
            detail: Some("unknown symbol 'x'".into()),
        };
        assert_eq!(
            e.to_string(),
            "enabling patch 'p' refused: No such file or directory (ENOENT): a function it patches is not there (unknown symbol; is the target module loaded?); the patch's error: unknown symbol 'x'"
        );
        assert_eq!(e.exit_code(), EXIT_ERROR);
        assert_eq!(Error::TimedOut("t".into()).exit_code(), EXIT_TIMEOUT);
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn every_refusal_is_explained() {
        use WriteKind::*;
        for (k, errs) in [
            (Enable, &[22, 7, 16, 2, 12, 1, 13, 19][..]),
            (Disable, &[22, 7, 16, 1, 19]),
            (Default, &[22, 7, 2, 16]),
            (Pin, &[22, 7, 3, 2, 28, 16]),
            (Unpin, &[22, 2, 16]),
            (Cancel, &[22, 16]),
            (Force, &[22, 16]),
            (Timeout, &[22, 7]),
        ] {
            for e in errs {
                assert!(!explain(k, *e).is_empty(), "{k:?} {e}");
            }
        }
    }

    #[test]
    fn unknown_names_known_ones() {
        let e = Error::Unknown {
            what: "patch",
            name: "x".into(),
            known: vec!["a".into(), "b".into()],
        };
        assert_eq!(e.to_string(), "no patch named 'x' (known: a, b)");
    }
}
