//! Times and durations, the one place that reads and writes them: RFC 3339 times on
//! the wire ([`rfc3339`]) and times in a declared format ([`strftime`]), their text in records ([`format`]), Trig durations in rule
//! files, on the wire and in records ([`duration`]), and the calendar arithmetic
//! under all of them ([`civil`]). Every time is UTC milliseconds since the Unix epoch
//! (`i64`); every duration is milliseconds. Times from outside (event lines, `time`
//! fields, `--until`) must lie in [`MIN_TIME`]`..=`[`MAX_TIME`] ([`TIME_RANGE`]), so
//! every time trigc holds prints as RFC 3339 with a four-digit year and no
//! arithmetic on it near `i64::MAX` can overflow.
//!
//! A base module like `diag`: it imports nothing of the crate, so the parser, the
//! decoder, the sink and the CLI all share it.

pub mod civil;
pub mod duration;
pub mod format;
pub mod rfc3339;
pub mod strftime;

/// The earliest time trigc accepts anywhere (event times, `time` fields, `--until`):
/// 1970-01-01T00:00:00Z, epoch millisecond 0.
pub const MIN_TIME: i64 = 0;
/// The latest time trigc accepts: 9999-12-31T23:59:59.999Z, the last instant with
/// a four-digit year (so every accepted time prints as canonical RFC 3339).
pub const MAX_TIME: i64 = 253_402_300_799_999;
/// The accepted range, as messages state it.
pub const TIME_RANGE: &str = "1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z";

/// `ms` if it lies in [`MIN_TIME`]`..=`[`MAX_TIME`].
#[inline]
pub fn in_range(ms: i64) -> Option<i64> {
    (MIN_TIME..=MAX_TIME).contains(&ms).then_some(ms)
}

pub use duration::{DurationError, format_duration, parse_duration};
pub use format::{format_time, push_time, write_time};
pub use rfc3339::parse_time;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_the_documented_instants() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(MIN_TIME));
        assert_eq!(parse_time("9999-12-31T23:59:59.999Z"), Ok(MAX_TIME));
        assert_eq!(format_time(MAX_TIME), "9999-12-31T23:59:59.999Z");
        assert_eq!(in_range(-1), None);
        assert_eq!(in_range(MAX_TIME + 1), None);
    }
}
