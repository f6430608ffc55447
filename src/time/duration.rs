//! Trig durations: `30m`, `1h30m`, `2w`, `500ms`. The same text is read from rule
//! files (duration literals), from event lines (a `duration` field) and from the
//! command line (`--lateness`), and written in records and in `--emit` output.

use std::fmt;

/// What is wrong with a duration's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// No text at all.
    Empty,
    /// A unit (or anything else) where a number should start, at byte `at`: `m`, `-5m`.
    MissingNumber { at: usize },
    /// `30x`, `5min`, `30` (an empty `unit`): the text after the digits at byte `at` is
    /// not a unit.
    UnknownUnit { unit: String, at: usize },
    /// `1.5h`: durations are whole numbers of a unit.
    Fraction,
    /// More milliseconds than an `i64` holds.
    Overflow,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DurationError::Empty => "empty duration",
            DurationError::MissingNumber { .. } => {
                "expected a number before each unit (like `30m` or `1h30m`)"
            }
            DurationError::UnknownUnit { .. } => {
                "expected a unit `ms`, `s`, `m`, `h`, `d` or `w` after each number"
            }
            DurationError::Fraction => "durations are whole numbers of a unit (`90m`, not `1.5h`)",
            DurationError::Overflow => "duration out of range",
        })
    }
}

/// Milliseconds in one of each unit, longest spelling first so `ms` wins over `m`.
const UNITS: &[(&str, i64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

/// The units [`format_duration`] writes, largest first: no weeks, so that `14d` reads
/// the same in a record, in `--emit ir` and in `--emit ast`.
const WRITTEN_UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Milliseconds of a duration: one or more `<digits><unit>`, summed (`1h30m`). No
/// sign, no spaces, no fractions.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.contains('.') {
        return Err(DurationError::Fraction);
    }
    let bytes = text.as_bytes();
    let mut total: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let digits_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits_start {
            return Err(DurationError::MissingNumber { at: i });
        }
        let rest = text.get(i..).unwrap_or("");
        // A unit counts only when no letter follows it (`5min` is not `5m` + `in`).
        let Some(&(unit, per)) = UNITS.iter().find(|(u, _)| {
            rest.starts_with(u)
                && !rest
                    .as_bytes()
                    .get(u.len())
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        }) else {
            let unit = rest.chars().take_while(|c| !c.is_ascii_digit()).collect();
            return Err(DurationError::UnknownUnit { unit, at: i });
        };
        let n: i64 = text
            .get(digits_start..i)
            .and_then(|d| d.parse().ok())
            .ok_or(DurationError::Overflow)?;
        total = n
            .checked_mul(per)
            .and_then(|ms| total.checked_add(ms))
            .ok_or(DurationError::Overflow)?;
        i += unit.len();
    }
    Ok(total)
}

/// A duration's text: units from days down to milliseconds, largest first, zero
/// units left out (`1h30m`, `14d`, `1s500ms`); `0s` for zero; negative with `-`.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let mut rest = ms.unsigned_abs();
    for (unit, size) in WRITTEN_UNITS {
        let n = rest / size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push_str(unit);
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_every_unit_and_sums() {
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("2w"), Ok(1_209_600_000));
        assert_eq!(parse_duration("1d1s"), Ok(86_401_000));
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("m"),
            Err(DurationError::MissingNumber { at: 0 })
        );
        assert_eq!(
            parse_duration("-5m"),
            Err(DurationError::MissingNumber { at: 0 })
        );
        assert_eq!(
            parse_duration("30"),
            Err(DurationError::UnknownUnit {
                unit: String::new(),
                at: 2
            })
        );
        assert_eq!(
            parse_duration("5min"),
            Err(DurationError::UnknownUnit {
                unit: "min".into(),
                at: 1
            })
        );
        assert_eq!(
            parse_duration("30m5x"),
            Err(DurationError::UnknownUnit {
                unit: "x".into(),
                at: 4
            })
        );
        assert_eq!(parse_duration("1.5h"), Err(DurationError::Fraction));
        assert_eq!(
            parse_duration("99999999999999999999d"),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_duration("99999999999999w"),
            Err(DurationError::Overflow)
        );
    }

    #[test]
    fn formats_without_weeks() {
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(14 * 86_400_000), "14d");
        assert_eq!(format_duration(1_500), "1s500ms");
        assert_eq!(format_duration(-60_000), "-1m");
        assert_eq!(format_duration(0), "0s");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(ms in 0i64..=i64::MAX) {
            prop_assert_eq!(parse_duration(&format_duration(ms)), Ok(ms));
        }
    }
}
