//! Quoting untrusted text (event values, rule source) in messages for a terminal or
//! a log: [`quote`] is the one function every message that shows input goes through.
//!
//! Two dangers. Control characters (an ESC starting a terminal sequence, a newline
//! forging a second log line, a bidi override reordering what is shown) must never
//! reach stderr raw: they are written as escapes, `\n`, `\r`, `\t` or `\u{1b}`. And a
//! value can be megabytes long: only its first [`QUOTE_CHARS`] characters are shown,
//! then `…` and its total length in characters. The result is one line of printable
//! text; a backslash in the input is left as it is (the escapes are for safety, not
//! for reading the value back).

use std::fmt::Write;

/// How many characters of a value a message shows.
pub const QUOTE_CHARS: usize = 60;

/// `s` for a message: control and other invisible formatting characters escaped,
/// cut after [`QUOTE_CHARS`] characters (`…` and the total length follow).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(QUOTE_CHARS * 2) + 2);
    let mut chars = s.chars();
    for c in chars.by_ref().take(QUOTE_CHARS) {
        push_escaped(&mut out, c);
    }
    if chars.next().is_some() {
        let _ = write!(out, "… ({} chars)", s.chars().count());
    }
    out
}

/// `s` with its control and invisible formatting characters escaped, not cut (for
/// text already short).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// Whether `c` must not be shown raw: C0 and C1 controls, DEL, and the Unicode
/// formatting characters that move or hide text (bidi embeddings, overrides and
/// isolates, the line and paragraph separators, zero-width characters, BOM).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(quote("a\u{1b}[31mb\nc\td\re"), "a\\u{1b}[31mb\\nc\\td\\re");
        assert_eq!(quote("\u{7f}\u{85}\u{202e}x"), "\\u{7f}\\u{85}\\u{202e}x");
        assert_eq!(quote("élève \\n"), "élève \\n");
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let long = "é".repeat(10_000);
        let q = quote(&long);
        assert_eq!(q, format!("{}… (10000 chars)", "é".repeat(QUOTE_CHARS)));
        assert_eq!(quote(&"x".repeat(QUOTE_CHARS)), "x".repeat(QUOTE_CHARS));
    }

    #[test]
    fn the_result_has_no_unsafe_character() {
        let all: String = (0..0x3000u32).filter_map(char::from_u32).collect();
        for chunk in all.chars().collect::<Vec<_>>().chunks(50) {
            let s: String = chunk.iter().collect();
            assert!(!quote(&s).chars().any(is_unsafe), "{s:?}");
        }
    }
}
