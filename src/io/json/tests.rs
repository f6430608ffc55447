//! The two walks agree: property tests of the flat walk against the logos path, and
//! of the fast number readers against `str::parse`.

use proptest::prelude::*;

use super::*;
use crate::io::name_table::QuotedName;

/// The members the general path finds: (name range, value token), or `None` when
/// it rejects the line.
fn general(line: &str) -> Option<Vec<(usize, usize, Tok)>> {
    let mut toks = Vec::new();
    lex(line, &mut toks).ok()?;
    let mut members = Vec::new();
    walk_object(line, &toks, |name, value| {
        let value = toks
            .get(value)
            .copied()
            .filter(|t| !matches!(t.token, Token::ObjOpen | Token::ArrOpen | Token::StrEscaped));
        members.push((name, value));
    })
    .ok()?;
    members
        .into_iter()
        .map(|(name, value)| {
            (name.token == Token::Str).then_some(())?;
            Some((
                name.start as usize + 1,
                (name.end - name.start) as usize - 2,
                value?,
            ))
        })
        .collect()
}

/// Every top-level member name the general path reports (text range).
fn general_names(line: &str) -> Option<Vec<(usize, usize)>> {
    let mut toks = Vec::new();
    lex(line, &mut toks).ok()?;
    let mut names = Vec::new();
    walk_object(line, &toks, |name, _| {
        names.push((
            name.start as usize + 1,
            (name.end - name.start) as usize - 2,
        ));
    })
    .ok()?;
    Some(names)
}

fn flat(line: &str) -> Option<Vec<(usize, usize, Tok)>> {
    let mut members = Vec::new();
    walk_flat(line, |start, len, tok| members.push((start, len, tok))).then_some(members)
}

/// Pieces of JSON, glued at random: mostly near-misses of flat lines.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        "\"",
        ",",
        ":",
        " ",
        "  ",
        "\t",
        "\r",
        "\\",
        "\"\\n\"",
        "\"a\"",
        "\"ts\"",
        "\"é\"",
        "\"\u{1}\"",
        "0",
        "1",
        "-",
        "01",
        "1.5",
        "-0.5e3",
        "1e400",
        "2.",
        ".5",
        "1E+2",
        "true",
        "false",
        "null",
        "nul",
        "x",
        "\"a b\"",
    ])
}

/// A flat line with random members and spacing.
fn flat_line() -> impl Strategy<Value = String> {
    let value = prop::sample::select(vec![
        "\"VIEW\"",
        "\"2026-01-05T00:00:40.410Z\"",
        "\"\"",
        "12",
        "-3",
        "9.99",
        "1e3",
        "true",
        "false",
        "null",
        "\"a long string of more than sixteen bytes\"",
    ]);
    let member = ("[a-z_]{0,12}", value, "[ ]{0,2}", "[ ]{0,2}");
    prop::collection::vec(member, 1..8).prop_map(|members| {
        let body: Vec<String> = members
            .iter()
            .map(|(name, value, s1, s2)| format!("{s1}\"{name}\"{s2}:{s1}{value}{s2}"))
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

/// Recognises names from a fixed list, in turn, the way the decoder does (a
/// [`QuotedName`] compare), and claims string values end after a fixed length
/// when the byte there is a quote and the bytes before are plain.
struct Recogniser {
    names: Vec<QuotedName>,
    turn: usize,
    value_len: usize,
    members: Vec<(usize, usize, Tok)>,
}

impl FlatMembers for Recogniser {
    fn name_end(&mut self, line: &[u8], start: usize) -> Option<usize> {
        self.turn += 1;
        let name = self.names.get(self.turn % self.names.len().max(1))?;
        name.end_in(line, start)
    }
    fn value_end(&mut self, line: &[u8], open: usize) -> Option<usize> {
        let close = open + 1 + self.value_len;
        let plain = line
            .get(open + 1..close)?
            .iter()
            .all(|&c| c != b'"' && c != b'\\' && c >= 0x20);
        (plain && line.get(close) == Some(&b'"')).then_some(close)
    }
    fn member(&mut self, _: &[u8], name_start: usize, name_len: usize, value: Tok) {
        self.members.push((name_start, name_len, value));
    }
}

fn recognised(line: &str, names: &[&str], value_len: usize) -> Option<Vec<(usize, usize, Tok)>> {
    let mut r = Recogniser {
        names: names
            .iter()
            .map(|n| QuotedName::new(n.as_bytes()))
            .collect(),
        turn: 0,
        value_len,
        members: Vec::new(),
    };
    walk_flat_with(line, &mut r).then_some(r.members)
}

/// JSON numbers and near-misses, as text.
fn number_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?",
        "-?[0-9]{0,3}\\.?[0-9]{0,3}[eE]?[+-]?[0-9]{0,3}",
        "[-+0-9.eE]{0,12}",
        any::<f64>().prop_map(|f| f.to_string()),
        any::<f32>().prop_map(|f| format!("{f:e}")),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

proptest! {
    #[test]
    fn fast_floats_agree_with_parse(s in number_like()) {
        if let Some(f) = fast_f64(s.as_bytes()) {
            let parsed = s.parse::<f64>();
            prop_assert_eq!(parsed.map(f64::to_bits), Ok(f.to_bits()), "{}", s);
        }
    }

    #[test]
    fn short_plain_numbers_are_fast(
        whole in 0u64..100_000_000,
        fraction in prop::option::of("[0-9]{1,6}"),
        negative: bool,
    ) {
        let s = format!(
            "{}{whole}{}",
            if negative { "-" } else { "" },
            fraction.map(|f| format!(".{f}")).unwrap_or_default()
        );
        prop_assert_eq!(fast_f64(s.as_bytes()).map(f64::to_bits), s.parse::<f64>().ok().map(f64::to_bits), "{}", s);
    }

    #[test]
    fn fast_integers_agree_with_parse(s in number_like()) {
        if let Some(n) = fast_i64(s.as_bytes()) {
            prop_assert_eq!(s.parse::<i64>(), Ok(n), "{}", s);
        }
    }

    #[test]
    fn recognised_names_change_nothing(
        pieces in prop::collection::vec(piece(), 0..24),
        line in flat_line(),
        value_len in 0usize..30,
    ) {
        let names = ["a", "ts", "", "type", "a b", "x\"", "é", "VIEW", "user_id_long_15"];
        for line in [pieces.concat(), line] {
            prop_assert_eq!(recognised(&line, &names, value_len), flat(&line), "line {:?}", line);
        }
    }

    #[test]
    fn flat_path_agrees_with_general_path(pieces in prop::collection::vec(piece(), 0..24)) {
        let line = pieces.concat();
        if let Some(members) = flat(&line) {
            prop_assert_eq!(Some(members), general(&line), "line {:?}", line);
        }
    }

    /// Repeated names are members like any other on both paths (the decoder
    /// rejects the line; both walks must show it every one of them).
    #[test]
    fn repeated_names_are_reported_alike(
        members in prop::collection::vec(
            (prop::sample::select(vec!["a", "ts", "type", "a b", ""]), prop::sample::select(vec!["1", "\"x\"", "null", "[1]"])),
            0..8,
        ),
    ) {
        let body: Vec<String> = members.iter().map(|(n, v)| format!("\"{n}\":{v}")).collect();
        let line = format!("{{{}}}", body.join(","));
        let general = general_names(&line);
        prop_assert_eq!(general.as_ref().map(Vec::len), Some(members.len()), "line {:?}", line);
        if let Some(members) = flat(&line) {
            let names: Vec<(usize, usize)> = members.iter().map(|&(s, l, _)| (s, l)).collect();
            prop_assert_eq!(Some(names), general, "line {:?}", line);
        }
    }

    #[test]
    fn flat_lines_take_the_flat_path(line in flat_line()) {
        let members = flat(&line);
        prop_assert!(members.is_some(), "declined {:?}", line);
        prop_assert_eq!(members, general(&line));
    }
}

#[test]
fn lines_that_are_not_flat_are_declined() {
    for line in [
        r#"{}"#,
        r#"{"a":"b\n"}"#,
        r#"{"a":[1]}"#,
        r#"{"a":{"b":1}}"#,
        "{\"a\":\t1}",
        r#"{"a":1,}"#,
        r#"{"a":1}x"#,
        r#"{"a":1e400}"#,
        r#"{"a":"unterminated}"#,
        r#"{"a":01}"#,
    ] {
        assert!(flat(line).is_none(), "{line}");
    }
    assert!(flat(r#"{"a":"é","b":1.5e3}"#).is_some());
}

proptest! {
    /// The word-at-a-time search finds the first `"`, `\\` or control byte (or none
    /// before the end), whatever surrounds it: bytes just above and below the ones it
    /// looks for, UTF-8, every alignment and tail length.
    #[test]
    fn find_special_finds_the_first_special_byte(
        bytes in prop::collection::vec(
            prop_oneof![
                Just(b'"'), Just(b'\\'), Just(0x1f), Just(0), Just(b' '), Just(b'!'),
                Just(b'#'), Just(b'['), Just(b']'), Just(0x7f), Just(0xa2), Just(0xdc), any::<u8>(),
            ],
            0..60,
        ),
        from in 0usize..65,
    ) {
        let naive = bytes
            .get(from..)
            .and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20))
            .map(|at| from + at);
        let found = find_special(&bytes, from).filter(|&at| at < bytes.len());
        prop_assert_eq!(found, naive, "{:?} from {}", bytes, from);
        let found = nested::special(&bytes, from).filter(|&at| at < bytes.len());
        prop_assert_eq!(found, naive, "sixteen at a time: {:?} from {}", bytes, from);
    }
}
