// SPDX-License-Identifier: GPL-2.0

//! Parsers for what users write to sysfs files.
//!
//! Pure code on byte slices, with no dependency on the `kernel` crate, so
//! that the host test crate (`selftests/host`) compiles and tests this very
//! file with `cargo test`.

/// Longest input accepted by any dynamos sysfs file, in bytes.
pub(crate) const MAX_INPUT: usize = 64;

/// Why an input was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ParseError {
    /// Longer than [`MAX_INPUT`].
    TooLong,
    /// Not of the expected form.
    Invalid,
    /// A number out of range.
    Range,
}

/// Strips one trailing newline (what `echo` adds) and checks the length.
fn trim(input: &[u8]) -> Result<&[u8], ParseError> {
    if input.len() > MAX_INPUT {
        return Err(ParseError::TooLong);
    }
    let s = input.strip_suffix(b"\n").unwrap_or(input);
    if s.is_empty() {
        return Err(ParseError::Invalid);
    }
    Ok(s)
}

/// A decimal number with no sign, no blanks, no leading `+`, at most `max`.
fn number(s: &[u8], max: u64) -> Result<u64, ParseError> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Invalid);
    }
    let mut v: u64 = 0;
    for &c in s {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(ParseError::Range)?;
    }
    if v > max {
        return Err(ParseError::Range);
    }
    Ok(v)
}

/// `0` or `1`.
pub(crate) fn parse_bool(input: &[u8]) -> Result<bool, ParseError> {
    match trim(input)? {
        b"0" => Ok(false),
        b"1" => Ok(true),
        _ => Err(ParseError::Invalid),
    }
}

/// An edition id: a decimal number that fits in `u32`.
pub(crate) fn parse_edition(input: &[u8]) -> Result<u32, ParseError> {
    Ok(number(trim(input)?, u64::from(u32::MAX))? as u32)
}

/// Largest PID the kernel can hand out (`PID_MAX_LIMIT` on 64-bit).
pub(crate) const PID_MAX_LIMIT: u64 = 4 * 1024 * 1024;

/// A write to a function's `pids` file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PidCommand {
    /// `PID EDITION`: calls from process PID enter EDITION.
    Set { pid: i32, edition: u32 },
    /// `-PID`: process PID follows the other policies again.
    Clear { pid: i32 },
}

/// Parses `PID EDITION` or `-PID`. PIDs are 1 to [`PID_MAX_LIMIT`].
pub(crate) fn parse_pid_command(input: &[u8]) -> Result<PidCommand, ParseError> {
    let s = trim(input)?;
    if let Some(pid) = s.strip_prefix(b"-") {
        let pid = number(pid, PID_MAX_LIMIT)?;
        if pid == 0 {
            return Err(ParseError::Range);
        }
        return Ok(PidCommand::Clear { pid: pid as i32 });
    }
    let mut parts = s.split(|&c| c == b' ');
    let (Some(pid), Some(edition), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ParseError::Invalid);
    };
    let pid = number(pid, PID_MAX_LIMIT)?;
    if pid == 0 {
        return Err(ParseError::Range);
    }
    let edition = number(edition, u64::from(u32::MAX))? as u32;
    Ok(PidCommand::Set {
        pid: pid as i32,
        edition,
    })
}

/// Longest switch timeout accepted, in milliseconds (one hour).
pub(crate) const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// A timeout in milliseconds, 0 (never) to [`MAX_TIMEOUT_MS`].
pub(crate) fn parse_timeout_ms(input: &[u8]) -> Result<u32, ParseError> {
    Ok(number(trim(input)?, MAX_TIMEOUT_MS)? as u32)
}

/// A trigger file's only accepted input: `1`.
pub(crate) fn parse_trigger(input: &[u8]) -> Result<(), ParseError> {
    match trim(input)? {
        b"1" => Ok(()),
        _ => Err(ParseError::Invalid),
    }
}
