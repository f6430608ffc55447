//! Times and durations, the one place that reads and writes them: RFC 3339 times on
//! the wire ([`rfc3339`]), their text in records ([`format`]), Trig durations in rule
//! files, on the wire and in records ([`duration`]), and the calendar arithmetic
//! under all of them ([`civil`]). Every time is UTC milliseconds since the Unix epoch
//! (`i64`); every duration is milliseconds.
//!
//! A base module like `diag`: it imports nothing of the crate, so the parser, the
//! decoder, the sink and the CLI all share it.

pub mod civil;
pub mod duration;
pub mod format;
pub mod rfc3339;

pub use duration::{DurationError, format_duration, parse_duration};
pub use format::{format_time, push_time, write_time};
pub use rfc3339::parse_time;

/// The earliest time an RFC 3339 UTC time can name: `0000-01-01T00:00:00Z`.
pub const MIN_TIME: i64 = -62_167_219_200_000;

/// The latest time an RFC 3339 UTC time can name: `9999-12-31T23:59:59.999Z`.
pub const MAX_TIME: i64 = 253_402_300_799_999;
