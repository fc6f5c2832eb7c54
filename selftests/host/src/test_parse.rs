// SPDX-License-Identifier: GPL-2.0
//! Parsers of what users write to sysfs (`src/logic/parse.rs`).

use crate::parse::*;

#[test]
fn bool_accepts_0_and_1_with_or_without_newline() {
    assert_eq!(parse_bool(b"1\n"), Ok(true));
    assert_eq!(parse_bool(b"0"), Ok(false));
}

#[test]
fn bool_refuses_everything_else() {
    for bad in [
        &b""[..],
        b"\n",
        b"2",
        b"01",
        b"yes",
        b" 1",
        b"1 ",
        b"1\n\n",
        b"-1",
    ] {
        assert_eq!(parse_bool(bad), Err(ParseError::Invalid), "{bad:?}");
    }
}

#[test]
fn edition_is_a_plain_u32() {
    assert_eq!(parse_edition(b"0\n"), Ok(0));
    assert_eq!(parse_edition(b"4294967295"), Ok(u32::MAX));
    assert_eq!(parse_edition(b"4294967296"), Err(ParseError::Range));
    assert_eq!(
        parse_edition(b"99999999999999999999999"),
        Err(ParseError::Range)
    );
    for bad in [&b"-1"[..], b"+1", b"1a", b"0x1", b" 1", b"", b"1 2"] {
        assert_eq!(parse_edition(bad), Err(ParseError::Invalid), "{bad:?}");
    }
}

#[test]
fn overlong_input_is_refused() {
    let long = [b'1'; MAX_INPUT + 1];
    assert_eq!(parse_edition(&long), Err(ParseError::TooLong));
    assert_eq!(parse_pid_command(&long), Err(ParseError::TooLong));
}

#[test]
fn pid_commands() {
    assert_eq!(
        parse_pid_command(b"42 1\n"),
        Ok(PidCommand::Set {
            pid: 42,
            edition: 1
        })
    );
    assert_eq!(
        parse_pid_command(b"-42\n"),
        Ok(PidCommand::Clear { pid: 42 })
    );
    assert_eq!(parse_pid_command(b"0 1"), Err(ParseError::Range));
    assert_eq!(parse_pid_command(b"-0"), Err(ParseError::Range));
    assert_eq!(parse_pid_command(b"4194305 1"), Err(ParseError::Range));
    for bad in [
        &b"42"[..],
        b"42 1 2",
        b"42  1",
        b"x 1",
        b"42 -1",
        b"--42",
        b"- 42",
    ] {
        assert_eq!(parse_pid_command(bad), Err(ParseError::Invalid), "{bad:?}");
    }
}

#[test]
fn timeout_is_0_to_an_hour_in_ms() {
    assert_eq!(parse_timeout_ms(b"0\n"), Ok(0));
    assert_eq!(parse_timeout_ms(b"500"), Ok(500));
    assert_eq!(parse_timeout_ms(b"3600000"), Ok(3_600_000));
    assert_eq!(parse_timeout_ms(b"3600001"), Err(ParseError::Range));
    for bad in [&b"-1"[..], b"1.5", b"", b"10 ms", b"+5"] {
        assert_eq!(parse_timeout_ms(bad), Err(ParseError::Invalid), "{bad:?}");
    }
}

#[test]
fn trigger_takes_1_only() {
    assert_eq!(parse_trigger(b"1\n"), Ok(()));
    for bad in [&b"0"[..], b"2", b"", b"yes", b"11"] {
        assert_eq!(parse_trigger(bad), Err(ParseError::Invalid), "{bad:?}");
    }
}

#[test]
fn only_one_trailing_newline_is_stripped() {
    assert_eq!(parse_bool(b"\n"), Err(ParseError::Invalid));
    assert_eq!(parse_edition(b"7\n\n"), Err(ParseError::Invalid));
    assert_eq!(parse_edition(b"\n7"), Err(ParseError::Invalid));
    assert_eq!(parse_trigger(b"1\r\n"), Err(ParseError::Invalid));
}

#[test]
fn input_of_exactly_max_bytes_is_read() {
    let zeros = [b'0'; MAX_INPUT];
    assert_eq!(parse_timeout_ms(&zeros), Ok(0));
    assert_eq!(parse_edition(&zeros), Ok(0));
}

#[test]
fn the_newline_counts_towards_the_length_limit() {
    let mut input = [b'0'; MAX_INPUT + 1];
    input[MAX_INPUT] = b'\n';
    assert_eq!(parse_edition(&input), Err(ParseError::TooLong));
    assert_eq!(parse_bool(&input), Err(ParseError::TooLong));
    assert_eq!(parse_trigger(&input), Err(ParseError::TooLong));
    assert_eq!(parse_timeout_ms(&input), Err(ParseError::TooLong));
}

#[test]
fn pid_limit_itself_is_a_valid_pid() {
    assert_eq!(PID_MAX_LIMIT, 4_194_304);
    assert_eq!(
        parse_pid_command(b"4194304 7"),
        Ok(PidCommand::Set {
            pid: 4_194_304,
            edition: 7
        })
    );
    assert_eq!(
        parse_pid_command(b"-4194304\n"),
        Ok(PidCommand::Clear { pid: 4_194_304 })
    );
    assert_eq!(parse_pid_command(b"-4194305"), Err(ParseError::Range));
}

#[test]
fn pid_command_numbers_out_of_range() {
    assert_eq!(
        parse_pid_command(b"1 4294967295"),
        Ok(PidCommand::Set {
            pid: 1,
            edition: u32::MAX
        })
    );
    assert_eq!(parse_pid_command(b"1 4294967296"), Err(ParseError::Range));
    assert_eq!(
        parse_pid_command(b"99999999999999999999999 1"),
        Err(ParseError::Range)
    );
    assert_eq!(parse_pid_command(b"-00"), Err(ParseError::Range));
}

#[test]
fn pid_clear_takes_one_number_only() {
    for bad in [&b"-"[..], b"-42 1", b"-4x", b"-+4", b"42-"] {
        assert_eq!(parse_pid_command(bad), Err(ParseError::Invalid), "{bad:?}");
    }
}

#[test]
fn timeout_limit_itself_is_accepted() {
    assert_eq!(MAX_TIMEOUT_MS, 3_600_000);
    assert_eq!(parse_timeout_ms(b"3600000\n"), Ok(3_600_000));
    assert_eq!(
        parse_timeout_ms(b"99999999999999999999999"),
        Err(ParseError::Range)
    );
}

#[test]
fn trigger_accepts_1_with_or_without_newline() {
    assert_eq!(parse_trigger(b"1"), Ok(()));
    assert_eq!(parse_trigger(b"1\n"), Ok(()));
    assert_eq!(parse_trigger(b"\n"), Err(ParseError::Invalid));
}
