//! Times as records and messages write them: RFC 3339 in UTC with `Z`, milliseconds
//! only when not zero (`2026-01-05T10:30:00Z`, `2026-01-05T10:30:00.250Z`).

use chrono::DateTime;

use super::civil::civil_from_days;

/// RFC 3339 UTC with `Z`, milliseconds only when not zero. Written by hand (every
/// record has one; chrono's formatter is several times slower). A time outside
/// years 0..=9999 is written by chrono, or as its millisecond number beyond its range.
pub fn format_time(ms: i64) -> String {
    let mut buf = Vec::with_capacity(24);
    write_time(&mut buf, ms);
    String::from_utf8(buf).unwrap_or_default()
}

/// [`format_time`] appended to `buf` (no quotes), without an intermediate string.
pub fn write_time(buf: &mut Vec<u8>, ms: i64) {
    write_time_cached(buf, ms, &mut None);
}

/// A date's text, `YYYY-MM-DD`, with the day it is for: what [`write_time_cached`]
/// keeps between calls.
#[derive(Clone, Copy, Debug)]
pub struct DateText {
    days: u32,
    text: [u8; 10],
}

impl DateText {
    fn of(days: u32) -> DateText {
        // In range (year 1970..=9999): every part fits a `u32`.
        let (y, m, d) = civil_from_days(i64::from(days));
        let (y, m, d) = (y as u32, m as u32, d as u32);
        let ([y0, y1], [y2, y3]) = (digit_pair(y / 100), digit_pair(y));
        let ([m0, m1], [d0, d1]) = (digit_pair(m), digit_pair(d));
        DateText {
            days,
            text: [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1],
        }
    }
}

/// The last two decimal digits of `v`.
fn digit_pair(v: u32) -> [u8; 2] {
    DIGIT_PAIRS[(v % 100) as usize]
}

/// [`write_time`] with the date taken from `last` when it is the same day, else
/// computed and kept there: records come mostly in time order, so most share the
/// previous record's date.
pub fn write_time_cached(buf: &mut Vec<u8>, ms: i64, last: &mut Option<DateText>) {
    const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    if !(0..=MAX_MS).contains(&ms) {
        let text = match DateTime::from_timestamp_millis(ms) {
            Some(t) if ms.rem_euclid(1000) == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            None => ms.to_string(),
        };
        buf.extend_from_slice(text.as_bytes());
        return;
    }
    // In range: every part is non-negative, fits a `u32` and has a fixed width.
    let (days, rest) = ((ms / 86_400_000) as u32, (ms % 86_400_000) as u32);
    let date = match last {
        Some(date) if date.days == days => *date,
        _ => *last.insert(DateText::of(days)),
    };
    buf.extend_from_slice(&date.text);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    let ([h0, h1], [min0, min1], [s0, s1]) = (digit_pair(h), digit_pair(min), digit_pair(s));
    buf.extend_from_slice(&[b'T', h0, h1, b':', min0, min1, b':', s0, s1]);
    if milli != 0 {
        let [ms0, ms1] = digit_pair(milli / 10);
        buf.extend_from_slice(&[b'.', ms0, ms1, b'0' + (milli % 10) as u8, b'Z']);
    } else {
        buf.push(b'Z');
    }
}

/// `DIGIT_PAIRS[n]`: the two decimal digits of `n` (0..100).
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut n = 0;
    while n < 100 {
        pairs[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    pairs
};

/// [`format_time`] appended to a `String`.
pub fn push_time(line: &mut String, ms: i64) {
    line.push_str(&format_time(ms));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        assert_eq!(format_time(1_767_609_000_000), "2026-01-05T10:30:00Z");
        assert_eq!(format_time(1_767_609_000_250), "2026-01-05T10:30:00.250Z");
        assert_eq!(format_time(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999Z");
        // The hand formatter agrees with chrono on a spread of instants.
        for ms in (0..4_000_000_000_000i64).step_by(97_654_321_123) {
            let chrono = DateTime::from_timestamp_millis(ms)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            let ours = format_time(ms);
            let ours = if ours.len() == 20 {
                ours.replace('Z', ".000Z")
            } else {
                ours
            };
            assert_eq!(Some(ours), chrono, "{ms}");
        }
        // The sink's remembered date gives the same text, across days and back.
        let mut last = None;
        for ms in [
            0,
            86_399_999,
            86_400_000,
            1_767_609_000_250,
            5,
            -1,
            1_767_609_000_000,
        ] {
            let mut buf = Vec::new();
            write_time_cached(&mut buf, ms, &mut last);
            assert_eq!(String::from_utf8_lossy(&buf), format_time(ms), "{ms}");
        }
    }
}
