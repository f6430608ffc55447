//! Times in a declared strftime format (`time t format "…" [in "ZONE"]`), read with
//! chrono. A time without an offset is wall-clock time in the zone (UTC without one).
//!
//! `%Z` is read here rather than by chrono, which skips whatever text stands there:
//! `+0100` read as UTC would be an hour off without a word. Here it must be `UTC`,
//! `GMT`, `UT` or `Z` (any case), one of them followed by an offset (`UTC+1`,
//! `GMT-05:30`), or an offset alone (`+0100`, `-05:00`); any other zone name (`CET`,
//! `EST`: abbreviations are ambiguous) does not match, and `in "ZONE"` names the zone.

use chrono::format::{self, Fixed, Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// Why a time was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum StrftimeError {
    /// It does not match the format: chrono's reason, or ours for `%Z`.
    Mismatch(String),
    /// A wall-clock time the zone skips (a daylight-saving change).
    Skipped,
}

/// `text` in the strftime format `fmt` as epoch milliseconds.
pub fn parse_strftime(text: &str, fmt: &str, zone: Option<Tz>) -> Result<i64, StrftimeError> {
    if fmt.contains("%Z") {
        return parse_zone_named(text, fmt, zone);
    }
    let mismatch = |e: chrono::ParseError| StrftimeError::Mismatch(e.to_string());
    let parsed = DateTime::parse_from_str(text, fmt)
        .map(|t| Some(t.timestamp_millis()))
        .or_else(|_| NaiveDateTime::parse_from_str(text, fmt).map(|t| local(t, zone)))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, fmt).map(|d| local(d.and_time(NaiveTime::MIN), zone))
        })
        .map_err(mismatch)?;
    parsed.ok_or(StrftimeError::Skipped)
}

/// A wall-clock time in `zone` (UTC without one) as epoch milliseconds; a time a
/// daylight-saving change repeats is its earlier instant, one it skips is `None`.
pub fn local(t: NaiveDateTime, zone: Option<Tz>) -> Option<i64> {
    match zone {
        None => Some(t.and_utc().timestamp_millis()),
        Some(z) => z
            .from_local_datetime(&t)
            .earliest()
            .map(|t| t.timestamp_millis()),
    }
}

fn is_zone_name(item: &Item<'_>) -> bool {
    matches!(item, Item::Fixed(Fixed::TimezoneName))
}

/// A format with `%Z`: the items between them parsed by chrono, each `%Z` by
/// [`zone_offset`].
fn parse_zone_named(text: &str, fmt: &str, zone: Option<Tz>) -> Result<i64, StrftimeError> {
    let mismatch = |e: chrono::ParseError| StrftimeError::Mismatch(e.to_string());
    let items: Vec<Item<'_>> = StrftimeItems::new(fmt).collect();
    let parts: Vec<&[Item<'_>]> = items.split(is_zone_name).collect();
    let mut parsed = Parsed::new();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        rest = format::parse_and_remainder(&mut parsed, rest, part.iter()).map_err(mismatch)?;
        if i + 1 == parts.len() {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        let Some(offset) = zone_offset(name) else {
            return Err(StrftimeError::Mismatch(format!(
                "`%Z` reads UTC, GMT or an offset like +01:00, not `{name}`"
            )));
        };
        parsed.set_offset(offset).map_err(mismatch)?;
        rest = after;
    }
    if !rest.is_empty() {
        return Err(StrftimeError::Mismatch("trailing input".into()));
    }
    let ms = match parsed.offset() {
        Some(offset) => Some(match parsed.to_datetime() {
            Ok(t) => t.timestamp_millis(),
            // No time of day: midnight at that offset.
            Err(_) => {
                let midnight = parsed
                    .to_naive_date()
                    .map_err(mismatch)?
                    .and_time(NaiveTime::MIN);
                midnight.and_utc().timestamp_millis() - i64::from(offset) * 1000
            }
        }),
        None => match parsed.to_naive_datetime_with_offset(0) {
            Ok(t) => local(t, zone),
            Err(_) => local(
                parsed
                    .to_naive_date()
                    .map_err(mismatch)?
                    .and_time(NaiveTime::MIN),
                zone,
            ),
        },
    };
    ms.ok_or(StrftimeError::Skipped)
}

/// The offset in seconds a `%Z` text stands for; `None` for a zone name.
fn zone_offset(name: &str) -> Option<i64> {
    let upper = name.to_ascii_uppercase();
    let rest = ["UTC", "GMT", "UT", "Z"]
        .iter()
        .find_map(|z| upper.strip_prefix(z))
        .unwrap_or(&upper);
    if rest.is_empty() {
        return (rest.len() < upper.len()).then_some(0);
    }
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, rest.get(1..)?),
        b'-' => (-1, rest.get(1..)?),
        _ => return None,
    };
    // ASCII only from here, so the splits below fall between characters.
    if !digits.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return None;
    }
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return None,
        None if digits.len() > 2 => digits.split_at(digits.len() - 2),
        None => (digits, "0"),
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (h, m): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FMT: &str = "%Y-%m-%d %H:%M:%S %Z";
    const HOUR: i64 = 3_600_000;
    /// 2019-10-01T00:00:00Z.
    const T: i64 = 1_569_888_000_000;

    #[test]
    fn zone_names_are_utc_or_offsets() {
        let at = |text: &str| parse_strftime(text, FMT, None);
        assert_eq!(at("2019-10-01 00:00:00 UTC"), Ok(T));
        assert_eq!(at("2019-10-01 00:00:00 gmt"), Ok(T));
        assert_eq!(at("2019-10-01 00:00:00 Z"), Ok(T));
        assert_eq!(at("2019-10-01 01:00:00 +0100"), Ok(T));
        assert_eq!(at("2019-10-01 01:00:00 +01:00"), Ok(T));
        assert_eq!(at("2019-10-01 01:00:00 UTC+1"), Ok(T));
        assert_eq!(at("2019-09-30 19:30:00 GMT-04:30"), Ok(T));
        for bad in [
            "2019-10-01 00:00:00 CET",
            "2019-10-01 00:00:00 +1:0",
            "2019-10-01 00:00:00 +2400",
            "2019-10-01 00:00:00 UTC x",
            "2019-10-01 00:00:00 U",
            "2019-10-01 00:00:00 +é1",
            "2019-10-01 00:00:00 UTC+ü",
            "2019-10-01 00:00:00 +",
        ] {
            assert!(
                matches!(at(bad), Err(StrftimeError::Mismatch(_))),
                "{bad}: {:?}",
                at(bad)
            );
        }
        // `%Z` in the middle, and without a time of day.
        assert_eq!(
            parse_strftime("UTC+2 2019-10-01", "%Z %Y-%m-%d", None),
            Ok(T - 2 * HOUR)
        );
        // A zone after `in` is for times without an offset; `%Z`'s UTC is one.
        let berlin: Tz = "Europe/Berlin".parse().expect("a zone");
        assert_eq!(
            parse_strftime("2019-10-01 00:00:00 UTC", FMT, Some(berlin)),
            Ok(T)
        );
    }

    #[test]
    fn formats_without_zone_names_read_as_chrono_does() {
        let berlin: Tz = "Europe/Berlin".parse().expect("a zone");
        let fmt = "%Y-%m-%d %H:%M:%S";
        assert_eq!(
            parse_strftime("2019-10-01 02:00:00", fmt, Some(berlin)),
            Ok(T)
        );
        assert_eq!(
            parse_strftime("2019-03-31 02:30:00", fmt, Some(berlin)),
            Err(StrftimeError::Skipped)
        );
        assert_eq!(
            parse_strftime("2019-10-01 01:00:00 +0100", "%Y-%m-%d %H:%M:%S %z", None),
            Ok(T)
        );
        assert_eq!(parse_strftime("2019-10-01", "%Y-%m-%d", None), Ok(T));
        assert!(matches!(
            parse_strftime("2019-10-01x", "%Y-%m-%d", None),
            Err(StrftimeError::Mismatch(_))
        ));
    }

    proptest::proptest! {
        /// Any text under formats with `%Z` is read or refused, never a panic.
        #[test]
        fn any_text_is_read_or_refused(
            text in "[0-9 :+\\-UTCGMZé\u{00fc}x]{0,24}",
            fmt in proptest::sample::select(&["%Y-%m-%d %H:%M:%S %Z", "%Z", "%Z %d/%m/%Y", "%H:%M %Z"][..]),
        ) {
            let _ = parse_strftime(&text, fmt, None);
            let berlin: Tz = "Europe/Berlin".parse().expect("a zone");
            let _ = parse_strftime(&text, fmt, Some(berlin));
        }
    }
}
