//! Decoding literal text the grammar accepted: numbers, strings with JSON escapes and
//! times of day; durations are read by [`crate::time::duration`]. The grammar is
//! lenient on purpose (it takes `5min` and `"\q"`), so that the problems are reported
//! with a precise code and span instead of as a bare syntax error.

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
