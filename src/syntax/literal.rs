//! Decoding literal text the grammar accepted: durations, numbers, strings with JSON
//! escapes and times of day. The grammar is lenient on purpose (it takes `5min` and
//! `"\q"`), so that the problems are reported here with a precise code and span
//! instead of as a bare syntax error.

/// What is wrong with a duration literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// `30x`, `5min`: the text after the digits at byte `at` is not a unit.
    UnknownUnit { unit: String, at: usize },
    /// `1.5h`: durations are whole numbers of a unit.
    Fraction,
    /// More milliseconds than an i64 holds.
    Overflow,
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

/// `1h30m` to milliseconds.
pub fn duration_millis(text: &str) -> Result<i64, DurationError> {
    if text.contains('.') {
        return Err(DurationError::Fraction);
    }
    let bytes = text.as_bytes();
    let mut total: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let digits_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let unit_start = i;
        let rest = text.get(unit_start..).unwrap_or("");
        let Some(&(unit, per)) = UNITS.iter().find(|(u, _)| {
            rest.starts_with(u)
                && !rest
                    .as_bytes()
                    .get(u.len())
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        }) else {
            let unit: String = rest.chars().take_while(|c| !c.is_ascii_digit()).collect();
            return Err(DurationError::UnknownUnit {
                unit,
                at: unit_start,
            });
        };
        if digits_start == unit_start {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_owned(),
                at: unit_start,
            });
        }
        let n: i64 = text
            .get(digits_start..unit_start)
            .and_then(|d| d.parse().ok())
            .ok_or(DurationError::Overflow)?;
        total = n
            .checked_mul(per)
            .and_then(|ms| total.checked_add(ms))
            .ok_or(DurationError::Overflow)?;
        i = unit_start + unit.len();
    }
    Ok(total)
}

/// Milliseconds as a Trig duration literal: `5400000` → `1h30m`, `0` → `0s`. Weeks
/// are used only for whole weeks (`2w`, but `30d` rather than `4w2d`).
pub fn format_duration(millis: i64) -> String {
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut rest = millis.unsigned_abs();
    if millis < 0 {
        out.push('-');
    }
    const WEEK: u64 = 604_800_000;
    for &(unit, per) in UNITS.iter().rev() {
        let per = per.unsigned_abs();
        if per == WEEK && !rest.is_multiple_of(WEEK) {
            continue;
        }
        if rest >= per {
            out.push_str(&format!("{}{unit}", rest / per));
            rest %= per;
        }
    }
    out
}

/// One escape in a string literal that is not a JSON escape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadEscape {
    /// Byte range of the escape inside the literal's text (quotes included).
    pub range: std::ops::Range<usize>,
    pub text: String,
}

/// Unescape a string literal written with its quotes. Bad escapes are kept as written
/// and reported.
pub fn unescape(literal: &str) -> (String, Vec<BadEscape>) {
    let inner = literal.strip_prefix('"').unwrap_or(literal);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut bad = Vec::new();
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            bad.push(BadEscape {
                range: i + 1..i + 2,
                text: "\\".to_owned(),
            });
            break;
        };
        let simple = match e {
            '"' => Some('"'),
            '\\' => Some('\\'),
            '/' => Some('/'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        if e == 'u' {
            let hex = |at: usize| {
                inner
                    .get(at..at + 4)
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
            };
            let after_u = i + 2;
            if let Some(hi) = hex(after_u) {
                let mut consumed = 4;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate must be followed by `\uDC00`..`\uDFFF`.
                    let lo = (inner.get(after_u + 4..after_u + 6) == Some("\\u"))
                        .then(|| hex(after_u + 6))
                        .flatten()
                        .filter(|lo| (0xDC00..0xE000).contains(lo));
                    lo.map(|lo| {
                        consumed = 10;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    })
                } else {
                    Some(hi)
                };
                if let Some(ch) = code.and_then(char::from_u32) {
                    out.push(ch);
                    for _ in 0..consumed {
                        chars.next();
                    }
                    continue;
                }
                let end = after_u + consumed;
                bad.push(BadEscape {
                    range: i + 1..end + 1,
                    text: inner.get(i..end).unwrap_or("\\u").to_owned(),
                });
                out.push_str(inner.get(i..end).unwrap_or(""));
                for _ in 0..consumed {
                    chars.next();
                }
                continue;
            }
        }
        let end = i + 1 + e.len_utf8();
        bad.push(BadEscape {
            range: i + 1..end + 1,
            text: inner.get(i..end).unwrap_or("\\").to_owned(),
        });
        out.push('\\');
        out.push(e);
    }
    (out, bad)
}

/// `02:00` → minutes after midnight; `None` unless it is `H:MM` or `HH:MM` within a day.
pub fn minute_of_day(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// `addToCart` → `ADD_TO_CART` (for the hint on a mixed-case name).
pub fn upper_snake(word: &str) -> String {
    snake(word).to_uppercase()
}

/// `addToCart` → `add_to_cart`.
pub fn lower_snake(word: &str) -> String {
    snake(word)
}

fn snake(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 4);
    let mut prev_lower = false;
    for c in word.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Both cases in one identifier: `addToCart`, `Add_To_Cart`.
pub fn is_mixed_case(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_uppercase()) && word.chars().any(|c| c.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_millis("500ms"), Ok(500));
        assert_eq!(duration_millis("1h30m"), Ok(5_400_000));
        assert_eq!(duration_millis("2w"), Ok(1_209_600_000));
        assert!(matches!(
            duration_millis("5min"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(
            matches!(duration_millis("30x"), Err(DurationError::UnknownUnit { unit, .. }) if unit == "x")
        );
        assert_eq!(
            duration_millis("99999999999999999999d"),
            Err(DurationError::Overflow)
        );
        assert_eq!(duration_millis("1.5h"), Err(DurationError::Fraction));
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(1_500), "1s500ms");
        assert_eq!(format_duration(30 * 86_400_000), "30d");
        assert_eq!(format_duration(14 * 86_400_000), "2w");
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#""a\nb\u00e9\"""#).0, "a\nb\u{e9}\"");
        assert_eq!(unescape(r#""\ud83d\ude00""#).0, "\u{1F600}");
        let (_, bad) = unescape(r#""x\qy""#);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].text, "\\q");
        assert_eq!(bad[0].range, 2..4);
        assert_eq!(unescape(r#""\ud83d""#).1.len(), 1);
    }

    #[test]
    fn times_and_case() {
        assert_eq!(minute_of_day("02:00"), Some(120));
        assert_eq!(minute_of_day("23:59"), Some(1439));
        assert_eq!(minute_of_day("25:00"), None);
        assert_eq!(minute_of_day("2:5"), None);
        assert_eq!(upper_snake("addToCart"), "ADD_TO_CART");
        assert!(is_mixed_case("addToCart") && !is_mixed_case("ADD_TO_CART"));
    }
}
