// SPDX-License-Identifier: GPL-2.0
//! Host tests of dynamos' pure code: the very files the module compiles.

#[path = "../../../src/parse.rs"]
#[allow(dead_code)]
mod parse;

#[cfg(test)]
mod tests {
    use super::parse::*;

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
}
