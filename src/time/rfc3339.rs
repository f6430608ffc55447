//! Parsing RFC 3339 times (any offset, converted to UTC milliseconds).
//!
//! The common canonical form `YYYY-MM-DDTHH:MM:SS[.fff]Z` is parsed by hand (it is on
//! every event line, and a hand parse is several times cheaper than chrono's general
//! one); anything else goes to chrono, which also words the errors. Tests check both
//! paths agree.

use chrono::DateTime;

use super::civil::days_from_civil;

/// Milliseconds since the Unix epoch of an RFC 3339 time. Sub-millisecond digits are
/// truncated toward the past (as `chrono`'s `timestamp_millis` does).
pub fn parse_time(s: &str) -> Result<i64, String> {
    parse_time_cached(s, &mut DateCache::default())
}

/// The last date `parse_time_cached` parsed in canonical form, and its day number.
/// Consecutive events nearly always share a day, so the date's checks and its
/// calendar arithmetic are skipped when its 10 bytes (`YYYY-MM-DD`) are the cached ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct DateCache {
    /// `YYYY-MM-` as a little-endian word; 0 (never a valid date's) when empty.
    year_month: u64,
    /// `DD` as a little-endian pair of bytes.
    day: u16,
    /// Days since 1970-01-01 of that date.
    days: i64,
}

/// [`parse_time`], reusing (and updating) `cache`'s date.
#[inline]
pub fn parse_time_cached(s: &str, cache: &mut DateCache) -> Result<i64, String> {
    match parse_canonical_utc(s.as_bytes(), cache) {
        Some(ms) => Ok(ms),
        None => parse_rfc3339(s),
    }
}

/// Every other RFC 3339 spelling, and the errors. Kept out of line: inlined, chrono's
/// parser gave the fast path a large stack frame to set up on every call.
#[cold]
#[inline(never)]
fn parse_rfc3339(s: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            // chrono's words ("premature end of input") for the two mistakes
            // producers actually make.
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "epoch milliseconds must be a JSON number, not a string".to_owned()
            } else if DateTime::parse_from_rfc3339(&format!("{s}Z")).is_ok() {
                "no UTC offset (add `Z` for UTC, or an offset like `+02:00`)".to_owned()
            } else {
                e.to_string()
            }
        })
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` with every part in range and a date from 1970 on
/// (so the result is in [`super::MIN_TIME`]`..=`[`super::MAX_TIME`]), else `None`
/// (the caller then asks chrono, which knows the other spellings, times before 1970
/// and explains errors).
///
/// Written for the common case: the 16-byte head is read as two 8-byte words
/// (`YYYY-MM-`, `DDTHH:MM`), each checked against its separators and for ASCII
/// digits with a few word operations rather than byte by byte, and the 24-byte form
/// with three-digit milliseconds (what `trigc` itself and most producers write) reads
/// its tail `:SS.fffZ` as a third word; other fractions take [`seconds_and_millis`].
#[inline(always)]
pub fn parse_canonical_utc(b: &[u8], cache: &mut DateCache) -> Option<i64> {
    // Digit positions (0xFF bytes) and separators of each word, little-endian.
    const DATE: (u64, u64) = (0x00FF_FF00_FFFF_FFFF, 0x2D00_002D_0000_0000); // YYYY-MM-
    const DAY_TIME: (u64, u64) = (0xFFFF_00FF_FF00_FFFF, 0x0000_3A00_0054_0000); // DDTHH:MM
    const SECONDS_MILLIS: (u64, u64) = (0x00FF_FFFF_00FF_FF00, 0x5A00_0000_2E00_003A); // :SS.fffZ
    let (w1, rest) = b.split_first_chunk::<8>()?;
    let (w2, tail) = rest.split_first_chunk::<8>()?;
    let (w1, w2) = (u64::from_le_bytes(*w1), u64::from_le_bytes(*w2));
    // Checks the day's digits too (the cache compares their bytes only).
    let v2 = pairs(word_digits(w2, DAY_TIME)?);
    let (second, millis) = match <[u8; 8]>::try_from(tail) {
        Ok(w3) => {
            let v3 = word_digits(u64::from_le_bytes(w3), SECONDS_MILLIS)?;
            let p3 = pairs(v3);
            (byte(p3, 1), byte(p3, 4) * 10 + byte(v3, 6))
        }
        Err(_) => seconds_and_millis(tail)?,
    };
    let day_bytes = (w2 & 0xFFFF) as u16;
    let days = if w1 == cache.year_month && day_bytes == cache.day {
        cache.days
    } else {
        let v1 = pairs(word_digits(w1, DATE)?);
        let year = byte(v1, 0) * 100 + byte(v1, 2);
        let month = byte(v1, 5);
        let day = byte(v2, 0);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        // Before 1970 (outside `MIN_TIME..`): left to the general parser, so a time
        // from here is always in range and the decoder need not check it again.
        if days < 0 {
            return None;
        }
        *cache = DateCache {
            year_month: w1,
            day: day_bytes,
            days,
        };
        days
    };
    let hour = byte(v2, 3);
    let minute = byte(v2, 6);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

/// Byte `i` of `word`.
#[inline(always)]
fn byte(word: u64, i: u32) -> i64 {
    ((word >> (8 * i)) & 0xFF) as i64
}

/// Digit values (as [`word_digits`] gives them) combined in pairs: byte `i` becomes
/// `10 × byte i + byte i+1`, so a two-digit number is one byte of the result. No
/// byte carries into the next (at most 9 × 10 + 9), and separators are zero.
#[inline(always)]
fn pairs(digits: u64) -> u64 {
    digits * 10 + (digits >> 8)
}

/// Seconds and milliseconds of `:SS[.f{1,9}]Z`, the tail of a canonical time.
fn seconds_and_millis(tail: &[u8]) -> Option<(i64, i64)> {
    let ([b':', s1, s2], rest) = tail.split_first_chunk::<3>()? else {
        return None;
    };
    if !s1.is_ascii_digit() || !s2.is_ascii_digit() {
        return None;
    }
    let second = i64::from(s1 - b'0') * 10 + i64::from(s2 - b'0');
    let millis = match rest {
        [b'Z'] => 0,
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            // The first three digits, padded with zeros: `.5` is 500 ms.
            let mut ms = 0;
            for i in 0..3 {
                ms = ms * 10 + digits.get(i).map_or(0, |&c| i64::from(c - b'0'));
            }
            ms
        }
        _ => return None,
    };
    Some((second, millis))
}

/// The digit values of `word` (its bytes minus `'0'` where `digits` has 0xFF, zero
/// elsewhere) if those bytes are ASCII digits and the others equal `separators`.
///
/// One test for all eight bytes: xor with the expected word (`'0'` at the digits,
/// the separators elsewhere) leaves 0..=9 at good digits and 0 at good separators.
/// A byte is then good iff its high nibble is 0 and adding 6 (digits) or 15
/// (separators) keeps it so; with every high nibble 0 no addition carries.
#[inline(always)]
fn word_digits(word: u64, (digits, separators): (u64, u64)) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const SIXES: u64 = 0x0606_0606_0606_0606;
    const FIFTEENS: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    let values = word ^ ((ZEROS & digits) | separators);
    let limits = (SIXES & digits) | (FIFTEENS & !digits);
    ((values | values.wrapping_add(limits)) & HIGH == 0).then_some(values)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn chrono_ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn canonical_path_agrees_with_chrono() {
        for s in [
            "2026-01-05T10:30:00Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T12:00:00.5Z",
            "2024-12-31T23:59:59.123456789Z",
            "9999-12-31T23:59:59.9Z",
        ] {
            assert_eq!(
                parse_canonical_utc(s.as_bytes(), &mut DateCache::default()),
                Some(chrono_ms(s)),
                "{s}"
            );
        }
        // Before 1970 (outside `MIN_TIME..`): left to chrono, which gets them right.
        for s in [
            "1969-12-31T23:59:59.999Z",
            "0001-01-01T00:00:00Z",
            "1900-03-01T00:00:00.01Z",
        ] {
            assert_eq!(
                parse_canonical_utc(s.as_bytes(), &mut DateCache::default()),
                None,
                "{s}"
            );
            assert_eq!(parse_time(s), Ok(chrono_ms(s)), "{s}");
        }
    }

    #[test]
    fn out_of_range_parts_fall_back() {
        for s in [
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:60Z",
            "2026-01-05T10:30:00.Z",
            "2026-01-05T10:30:00.12aZ",
            "2026-01-05T10:30:00.1234567890Z",
            "2026-01-05T10:30:00.123",
            "2026-01-05 10:30:00Z",
            "2026-01-05T10:30:0aZ",
            "Z",
        ] {
            assert_eq!(
                parse_canonical_utc(s.as_bytes(), &mut DateCache::default()),
                None,
                "{s}"
            );
        }
        assert!(parse_time("2026-13-01T00:00:00Z").is_err());
        assert_eq!(
            parse_time("2026-01-05T11:30:00+01:00"),
            parse_time("2026-01-05T10:30:00Z")
        );
    }

    #[test]
    fn cached_dates_give_the_same_times_as_fresh_parses() {
        let mut cache = DateCache::default();
        for s in [
            "2026-01-05T10:30:00Z",
            "2026-01-05T23:59:59.999Z",
            "2026-01-05T24:00:00Z",
            "2026-01-06T00:00:00Z",
            "2026-01-05T10:30:00Z",
            "2026-02-05T10:30:00Z",
            "2025-01-05T10:30:00Z",
            "2026-02-30T10:30:00Z",
            "2026-02-30T10:30:00Z",
            "2026-01-0aT10:30:00Z",
            "2026-01-05T10:30:00+01:00",
            "2026-01-05T10:30:00Z",
        ] {
            assert_eq!(parse_time_cached(s, &mut cache), parse_time(s), "{s}");
            assert_eq!(
                parse_time(s).unwrap_or(i64::MIN),
                if parse_time(s).is_ok() {
                    chrono_ms(s)
                } else {
                    i64::MIN
                },
                "{s}"
            );
        }
    }

    /// Canonical-looking times, in range or not, with every fraction length (and a
    /// few near-misses in the separators).
    fn canonical_like() -> impl Strategy<Value = String> {
        let digits = |n: usize| prop::collection::vec(b'0'..=b'9', n);
        let separator = |right: u8| prop::sample::select(vec![right, right, right, right, b'x']);
        (
            (
                digits(4),
                separator(b'-'),
                digits(2),
                separator(b'-'),
                digits(2),
            ),
            (separator(b'T'), digits(2), separator(b':'), digits(2)),
            (separator(b':'), digits(2), 0usize..=11, digits(10)),
            prop::sample::select(vec!["Z", "Z", "Z", "z", "+00:00", ""]),
        )
            .prop_map(
                |((y, s1, mo, s2, d), (t, h, s3, mi), (s4, sec, frac, fd), end)| {
                    let mut b = y;
                    b.push(s1);
                    b.extend(mo);
                    b.push(s2);
                    b.extend(d);
                    b.push(t);
                    b.extend(h);
                    b.push(s3);
                    b.extend(mi);
                    b.push(s4);
                    b.extend(sec);
                    if frac > 0 {
                        b.push(b'.');
                        b.extend(fd.iter().take(frac - 1));
                    }
                    b.extend(end.bytes());
                    String::from_utf8(b).unwrap_or_default()
                },
            )
    }

    proptest! {
        #[test]
        fn canonical_path_agrees_with_chrono_on_generated_times(
            s in canonical_like(),
            warm in canonical_like(),
        ) {
            let fresh = parse_canonical_utc(s.as_bytes(), &mut DateCache::default());
            if let Some(ms) = fresh {
                prop_assert_eq!(ms, chrono_ms(&s), "{}", s);
            }
            // Whatever the cache holds, the answer is the same.
            let mut cache = DateCache::default();
            parse_canonical_utc(warm.as_bytes(), &mut cache);
            prop_assert_eq!(parse_canonical_utc(s.as_bytes(), &mut cache), fresh, "{}", s);
            prop_assert_eq!(parse_time_cached(&s, &mut cache), parse_time(&s), "{}", s);
        }

        #[test]
        /// From 1970 on (`MIN_TIME`): earlier ones take chrono's path.
        fn in_range_canonical_times_take_the_canonical_path(
            day in 0i64..3_000_000,
            ms_of_day in 0i64..86_400_000,
            frac in prop::sample::select(vec![0usize, 1, 2, 3, 4, 6, 9]),
        ) {
            let t = DateTime::from_timestamp_millis((day - 1_000_000) * 86_400_000 + ms_of_day);
            prop_assume!(t.is_some());
            let t = t.unwrap_or_default();
            let s = match frac {
                0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                n => {
                    let all = t.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
                    format!("{}Z", &all[..all.len() - (9 - n)])
                }
            };
            prop_assume!(s.len() >= 20 && !s.starts_with('-') && !s.starts_with('+'));
            prop_assume!(t.timestamp_millis() >= 0);
            prop_assert_eq!(
                parse_canonical_utc(s.as_bytes(), &mut DateCache::default()),
                Some(chrono_ms(&s)),
                "{}",
                s
            );
        }
    }
}
