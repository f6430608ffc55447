//! The JSON syntax layer of the event decoder: a [logos] token scanner, the structural
//! walk that checks one line is well-formed JSON (bounded nesting), and string
//! unescaping. It knows nothing of Trig; [`super::decode`] gives the tokens meaning.
//!
//! Two paths. A *flat* line (one object of scalar members, no escapes: nearly every
//! real event line) is walked in one pass by [`walk_flat`], one scanner token per
//! member. Any other line, and every malformed one, is scanned into a reusable token
//! buffer by [`lex`] and then walked by [`walk_object`], which word every error; the
//! flat path only ever declines a line, so messages never depend on it. Either way
//! the decoder gets tokens (kind + byte range) rather than values, so nothing is
//! copied or allocated unless a value is needed, and it can visit members in any
//! order (the `type` member may come after the fields it decides the meaning of).
//!
//! Number tokens the decoder needs as values go through [`fast_f64`] / [`fast_i64`]
//! when those are exact (short numbers, nearly all of them), `str::parse` otherwise.

use logos::Logos;

mod nested;

pub use nested::{Member, Nested, NestedMembers, walk_nested};

/// Deepest nesting of objects and arrays accepted on a line, the line's own object
/// counting as 1. It bounds the recursion of the walk on hostile input.
pub const MAX_DEPTH: u32 = 64;

/// One JSON token. Whitespace (space, tab, CR, LF, as RFC 8259 says) is skipped.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
#[logos(skip r"[ \t\r\n]+")]
pub enum Token {
    #[token("{")]
    ObjOpen,
    #[token("}")]
    ObjClose,
    #[token("[")]
    ArrOpen,
    #[token("]")]
    ArrClose,
    #[token(":")]
    Colon,
    #[token(",")]
    Comma,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("null")]
    Null,
    /// An integer literal (no fraction, no exponent); may not fit any Rust integer.
    #[regex(r"-?(0|[1-9][0-9]*)", |lex| number_in_range(lex.slice()))]
    Int,
    /// A number with a fraction or an exponent.
    #[regex(r"-?(0|[1-9][0-9]*)(\.[0-9]+([eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)", |lex| number_in_range(lex.slice()))]
    Float,
    /// A string without escapes: its text between the quotes is the value. Strings
    /// are most of a line's bytes, so their bodies are scanned by [`lex_string`]
    /// eight bytes at a time rather than by the automaton, byte by byte.
    #[token("\"", lex_string)]
    Str,
    /// A string with at least one escape, syntactically checked, surrogate pairs
    /// included (a lone surrogate is not a character, so it is an error, as in
    /// serde_json). Made by [`lex_string`].
    StrEscaped,
}

impl Token {
    /// How the token reads in messages ("found string").
    pub fn describe(self) -> &'static str {
        match self {
            Token::ObjOpen => "object",
            Token::ObjClose => "`}`",
            Token::ArrOpen => "array",
            Token::ArrClose => "`]`",
            Token::Colon => "`:`",
            Token::Comma => "`,`",
            Token::True | Token::False => "bool",
            Token::Null => "null",
            Token::Int => "int",
            Token::Float => "float",
            Token::Str | Token::StrEscaped => "string",
        }
    }

    pub fn is_str(self) -> bool {
        matches!(self, Token::Str | Token::StrEscaped)
    }
}

/// The longest JSON number at `at`, as [`Token::Int`] / [`Token::Float`] match it:
/// `-?(0|[1-9][0-9]*)`, then a fraction only if a digit follows the `.`, then an
/// exponent only if a digit follows the `e` (and its sign). Returns the token, its
/// end and whether it has an exponent.
#[inline(always)]
fn scan_number(line: &[u8], at: usize) -> Option<(Token, usize, bool)> {
    let digits_from = |from: usize| {
        let mut end = from;
        while line.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        end
    };
    let mut i = at + usize::from(line.get(at) == Some(&b'-'));
    i = match line.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits_from(i + 1),
        _ => return None,
    };
    let mut token = Token::Int;
    if line.get(i) == Some(&b'.') && line.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits_from(i + 1);
        token = Token::Float;
    }
    let mut exponent = false;
    if let Some(b'e' | b'E') = line.get(i) {
        let sign = usize::from(matches!(line.get(i + 1), Some(b'+' | b'-')));
        if line.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits_from(i + 1 + sign);
            token = Token::Float;
            exponent = true;
        }
    }
    Some((token, i, exponent))
}

/// What [`walk_flat_with`] reports each member to, and asks about member names.
pub trait FlatMembers {
    /// Where the member name whose text starts at `start` ends (the index of its
    /// closing quote), if the caller recognises it without a scan; `None` to have it
    /// scanned. An answer must be exact: the bytes from `start` up to it must hold no
    /// `"`, `\\` or control byte (the walk checks the quote itself).
    fn name_end(&mut self, line: &[u8], start: usize) -> Option<usize>;

    /// Where the string value whose opening quote is at `open` ends (the index of
    /// its closing quote), if the caller can tell without a scan; `None` to have it
    /// scanned. Called after [`FlatMembers::name_end`] for the member's name; the
    /// same exactness applies.
    fn value_end(&mut self, line: &[u8], open: usize) -> Option<usize>;

    /// One member of `line`: its name's byte range (the text between the quotes) and
    /// its value.
    fn member(&mut self, line: &[u8], name_start: usize, name_len: usize, value: Tok);
}

/// Walk a *flat* line in one pass: one JSON object whose member values are scalars and
/// whose strings have no escapes or control bytes, which is nearly every real event
/// line (spaces around the punctuation are fine). Calls `member(name_start, name_len,
/// value)` for each member in line order (the name is the byte range of its text
/// between the quotes). `false`: the line is not flat, and nothing it reported may be
/// trusted; the caller then takes the general path ([`lex`] + [`walk_object`]), which
/// alone words errors. Every line this accepts, the general path accepts too, with the
/// same members and value tokens (`tests::flat_path_agrees_with_general_path`).
///
/// Why not logos here: between the strings (found eight bytes at a time by
/// [`find_special`]) a flat line's structure is a handful of byte comparisons, and
/// that takes far fewer instructions per line than one logos token per member with
/// the same string scan in its callback (figures in BENCHMARKS.md). The general path,
/// which sees every unusual and every malformed line, is the logos scanner [`Token`].
pub fn walk_flat(line: &str, member: impl FnMut(usize, usize, Tok)) -> bool {
    struct Scanned<F>(F);
    impl<F: FnMut(usize, usize, Tok)> FlatMembers for Scanned<F> {
        fn name_end(&mut self, _: &[u8], _: usize) -> Option<usize> {
            None
        }
        fn value_end(&mut self, _: &[u8], _: usize) -> Option<usize> {
            None
        }
        fn member(&mut self, _: &[u8], name_start: usize, name_len: usize, value: Tok) {
            (self.0)(name_start, name_len, value);
        }
    }
    walk_flat_with(line, &mut Scanned(member))
}

/// [`walk_flat`], letting `members` recognise names at sight: a decoder that knows
/// which name probably comes next compares a word or two instead of scanning for the
/// closing quote and hashing the name (`tests::recognised_names_change_nothing`).
pub fn walk_flat_with(line: &str, members: &mut impl FlatMembers) -> bool {
    let b = line.as_bytes();
    // The closing quote of the string whose body starts at `from`: the first special
    // byte there must be a quote (a backslash or a control byte is not flat).
    let close = |from: usize| find_special(b, from).filter(|&at| b.get(at) == Some(&b'"'));
    let spaces = |mut at: usize| {
        while b.get(at) == Some(&b' ') {
            at += 1;
        }
        at
    };
    // The first byte at or after `at` that is not a space, and where it is. Compact
    // lines have no spaces at all, so one load and compare decides.
    let next = |at: usize| match b.get(at) {
        Some(b' ') => {
            let at = spaces(at);
            (at, b.get(at).copied())
        }
        other => (at, other.copied()),
    };
    let (open, c) = next(0);
    if c != Some(b'{') {
        return false;
    }
    let mut at = open + 1;
    loop {
        let (quote, c) = next(at);
        if c != Some(b'"') {
            return false;
        }
        let name_start = quote + 1;
        let name_end = match members.name_end(b, name_start) {
            Some(end) if end >= name_start && b.get(end) == Some(&b'"') => end,
            _ => match close(name_start) {
                Some(end) => end,
                None => return false,
            },
        };
        let (colon, c) = next(name_end + 1);
        if c != Some(b':') {
            return false;
        }
        let (value_start, first) = next(colon + 1);
        at = value_start;
        let Some(first) = first else {
            return false;
        };
        let (token, end) = match first {
            b'"' => match members.value_end(b, at) {
                Some(end) if end > at && b.get(end) == Some(&b'"') => (Token::Str, end + 1),
                _ => match close(at + 1) {
                    Some(close) => (Token::Str, close + 1),
                    None => return false,
                },
            },
            b'-' | b'0'..=b'9' => match scan_number(b, at) {
                Some((token, end, exponent)) => {
                    // Out of range (`1e400`): the general path words the error. As in
                    // [`number_in_range`], only long numbers or exponents can be.
                    if (exponent || end - at >= 300)
                        && !line.get(at..end).is_some_and(number_in_range)
                    {
                        return false;
                    }
                    (token, end)
                }
                None => return false,
            },
            b't' if b.get(at..at + 4) == Some(b"true") => (Token::True, at + 4),
            b'f' if b.get(at..at + 5) == Some(b"false") => (Token::False, at + 5),
            b'n' if b.get(at..at + 4) == Some(b"null") => (Token::Null, at + 4),
            _ => return false,
        };
        members.member(
            b,
            name_start,
            name_end - name_start,
            Tok {
                token,
                start: offset(at),
                end: offset(end),
            },
        );
        match next(end) {
            (comma, Some(b',')) => at = comma + 1,
            (brace, Some(b'}')) => return spaces(brace + 1) == b.len(),
            _ => return false,
        }
    }
}

/// A token and where it is on the line (byte offsets; lines are capped below 4 GiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tok {
    pub token: Token,
    pub start: u32,
    pub end: u32,
}

impl Tok {
    /// The token's text.
    #[inline]
    pub fn text(self, line: &str) -> &str {
        line.get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }

    /// [`Tok::text`] as bytes of `line` (no character-boundary checks).
    #[inline]
    pub fn bytes(self, line: &[u8]) -> &[u8] {
        line.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    /// [`Tok::str_body`] as bytes of `line` (no character-boundary checks).
    #[inline]
    pub fn str_bytes(self, line: &[u8]) -> &[u8] {
        line.get(self.start as usize + 1..(self.end as usize).saturating_sub(1))
            .unwrap_or_default()
    }

    /// A string token's text between the quotes (still escaped for `StrEscaped`).
    #[inline(always)]
    pub fn str_body(self, line: &str) -> &str {
        line.get(self.start as usize + 1..(self.end as usize).saturating_sub(1))
            .unwrap_or("")
    }
}

/// Why a line is not well-formed JSON, and where (byte offset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: usize,
    pub what: String,
}

impl SyntaxError {
    fn new(at: usize, what: impl Into<String>) -> SyntaxError {
        SyntaxError {
            at,
            what: what.into(),
        }
    }

    /// The message, with a 1-based byte column.
    pub fn message(&self) -> String {
        format!("invalid JSON at column {}: {}", self.at + 1, self.what)
    }
}

/// Scan `line` into `toks` (cleared first).
pub fn lex(line: &str, toks: &mut Vec<Tok>) -> Result<(), SyntaxError> {
    toks.clear();
    let mut lexer = Token::lexer(line);
    while let Some(res) = lexer.next() {
        let span = lexer.span();
        match res {
            Ok(token) => toks.push(Tok {
                token,
                start: offset(span.start),
                end: offset(span.end),
            }),
            Err(()) => return Err(describe_bad_token(line, span.start)),
        }
    }
    Ok(())
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Check the whole token stream is one JSON object followed by nothing. Calls
/// `member(name_token, value_index)` for each top-level member, in line order.
pub fn walk_object(
    line: &str,
    toks: &[Tok],
    mut member: impl FnMut(Tok, usize),
) -> Result<(), SyntaxError> {
    match toks.first() {
        Some(t) if t.token == Token::ObjOpen => {}
        Some(t) => {
            let found = t.token.describe();
            return Err(SyntaxError::new(
                t.start as usize,
                format!("not a JSON object (found {found})"),
            ));
        }
        None => return Err(SyntaxError::new(0, "not a JSON object (empty line)")),
    }
    let mut i = 1;
    if kind(toks, i) == Some(Token::ObjClose) {
        i += 1;
    } else {
        loop {
            let name = expect_member_name(line, toks, i)?;
            i = expect(line, toks, i + 1, Token::Colon, "`:`")?;
            let value = i;
            i = skip_value(line, toks, i, 2)?;
            member(name, value);
            match kind(toks, i) {
                Some(Token::Comma) => i += 1,
                Some(Token::ObjClose) => {
                    i += 1;
                    break;
                }
                _ => return Err(unexpected(line, toks, i, "`,` or `}`")),
            }
        }
    }
    match toks.get(i) {
        None => Ok(()),
        Some(t) => Err(SyntaxError::new(
            t.start as usize,
            "trailing characters after the object",
        )),
    }
}

/// Check the value starting at token `i` (at nesting `depth`) and return the index
/// just past it.
fn skip_value(line: &str, toks: &[Tok], mut i: usize, depth: u32) -> Result<usize, SyntaxError> {
    let Some(t) = toks.get(i) else {
        return Err(unexpected(line, toks, i, "a value"));
    };
    match t.token {
        Token::Str
        | Token::StrEscaped
        | Token::Int
        | Token::Float
        | Token::True
        | Token::False
        | Token::Null => Ok(i + 1),
        Token::ObjOpen | Token::ArrOpen if depth > MAX_DEPTH => Err(SyntaxError::new(
            t.start as usize,
            format!("nested deeper than {MAX_DEPTH} levels"),
        )),
        Token::ObjOpen => {
            i += 1;
            if kind(toks, i) == Some(Token::ObjClose) {
                return Ok(i + 1);
            }
            loop {
                expect_member_name(line, toks, i)?;
                i = expect(line, toks, i + 1, Token::Colon, "`:`")?;
                i = skip_value(line, toks, i, depth + 1)?;
                match kind(toks, i) {
                    Some(Token::Comma) => i += 1,
                    Some(Token::ObjClose) => return Ok(i + 1),
                    _ => return Err(unexpected(line, toks, i, "`,` or `}`")),
                }
            }
        }
        Token::ArrOpen => {
            i += 1;
            if kind(toks, i) == Some(Token::ArrClose) {
                return Ok(i + 1);
            }
            loop {
                i = skip_value(line, toks, i, depth + 1)?;
                match kind(toks, i) {
                    Some(Token::Comma) => i += 1,
                    Some(Token::ArrClose) => return Ok(i + 1),
                    _ => return Err(unexpected(line, toks, i, "`,` or `]`")),
                }
            }
        }
        _ => Err(unexpected(line, toks, i, "a value")),
    }
}

/// The index just past the value at `i`, in a token stream [`walk_object`] accepted.
pub fn value_end(toks: &[Tok], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some(t) = toks.get(i) {
        i += 1;
        match t.token {
            Token::ObjOpen | Token::ArrOpen => depth += 1,
            Token::ObjClose | Token::ArrClose => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 {
            break;
        }
    }
    i
}

pub fn kind(toks: &[Tok], i: usize) -> Option<Token> {
    toks.get(i).map(|t| t.token)
}

fn expect_member_name(line: &str, toks: &[Tok], i: usize) -> Result<Tok, SyntaxError> {
    match toks.get(i) {
        Some(t) if t.token.is_str() => Ok(*t),
        _ => Err(unexpected(line, toks, i, "a member name (a string)")),
    }
}

fn expect(
    line: &str,
    toks: &[Tok],
    i: usize,
    want: Token,
    what: &str,
) -> Result<usize, SyntaxError> {
    if kind(toks, i) == Some(want) {
        Ok(i + 1)
    } else {
        Err(unexpected(line, toks, i, what))
    }
}

#[cold]
fn unexpected(line: &str, toks: &[Tok], i: usize, wanted: &str) -> SyntaxError {
    match toks.get(i) {
        Some(t) => SyntaxError::new(
            t.start as usize,
            format!("expected {wanted}, found `{}`", clip(t.text(line))),
        ),
        None => SyntaxError::new(
            line.len(),
            format!("expected {wanted}, found the end of the line"),
        ),
    }
}

/// Explain a byte the scanner could not start a token at.
#[cold]
fn describe_bad_token(line: &str, at: usize) -> SyntaxError {
    let rest = line.get(at..).unwrap_or("");
    let Some(c) = rest.chars().next() else {
        return SyntaxError::new(at, "unexpected end of the line");
    };
    let what = match c {
        '"' => describe_bad_string(rest),
        '-' | '0'..='9' if word(rest).parse::<f64>().is_ok_and(f64::is_infinite) => {
            format!("number out of range `{}`", clip(word(rest)))
        }
        '-' | '0'..='9' => format!("malformed number `{}`", clip(word(rest))),
        c if c.is_alphabetic() => format!("unexpected word `{}`", clip(word(rest))),
        c => format!(
            "unexpected character `{}`",
            clip(c.encode_utf8(&mut [0; 4]))
        ),
    };
    SyntaxError::new(at, what)
}

/// `rest` starts with the `"` of a string the scanner rejected: say why.
fn describe_bad_string(rest: &str) -> String {
    let mut chars = rest.char_indices().skip(1);
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some((_, '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't')) => {}
                Some((i, 'u')) => {
                    let hex = rest.get(i + 1..i + 5).unwrap_or("");
                    if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return "invalid `\\u` escape in string".into();
                    }
                    // The hex digits are fine, so the problem is a lone surrogate.
                    if matches!(u16::from_str_radix(hex, 16), Ok(0xD800..=0xDFFF)) {
                        return "unpaired UTF-16 surrogate escape in string".into();
                    }
                    chars.nth(3);
                }
                Some((_, c)) => {
                    return format!("invalid escape `\\{}` in string", c.escape_debug());
                }
                None => break,
            },
            c if (c as u32) < 0x20 => {
                return format!("control character {:?} in string (escape it)", c);
            }
            _ => {}
        }
    }
    "unterminated string".into()
}

fn word(s: &str) -> &str {
    let end = s
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '}' | ']' | '{' | '[' | '"'))
        .unwrap_or(s.len());
    s.get(..end.max(1)).unwrap_or(s)
}

/// `s` for a reject message: control characters escaped, long text cut
/// ([`crate::diag::quote`]).
pub fn clip(s: &str) -> String {
    crate::diag::quote(s)
}

/// Exact powers of ten as `f64`: 10^22 is the largest whose every digit fits the
/// 53-bit significand.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `token.parse::<f64>()` for a JSON number token, when Clinger's fast path applies: a
/// decimal significand below 2^53 and a power of ten up to 10^22 are both exact
/// `f64`s, so one IEEE multiplication or division, itself correctly rounded, gives
/// the correctly rounded value, which is what `parse` gives. `None` otherwise
/// (the caller then parses); never a different answer
/// (`tests::fast_floats_agree_with_parse`).
#[inline]
pub fn fast_f64(token: &[u8]) -> Option<f64> {
    // Long tokens are never fast (and short ones keep every counter small).
    if token.len() > 40 {
        return None;
    }
    let (negative, rest) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    // The digits, with at most one point after at least one of them; wrapping, as
    // more than 19 digits (which could overflow) are rejected below.
    let mut significand: u64 = 0;
    let mut digits: i32 = 0;
    // How many digits came before the point; -1 without one.
    let mut point: i32 = -1;
    let mut bytes = rest.iter();
    let mut power: Option<&[u8]> = None;
    while let Some(&c) = bytes.next() {
        let d = c.wrapping_sub(b'0');
        if d < 10 {
            significand = significand.wrapping_mul(10).wrapping_add(u64::from(d));
            digits += 1;
        } else if c == b'.' && point < 0 && digits > 0 {
            point = digits;
        } else if c == b'e' || c == b'E' {
            power = Some(bytes.as_slice());
            break;
        } else {
            return None;
        }
    }
    if digits == 0 || digits > 19 || point == digits || significand > 1 << 53 {
        return None;
    }
    let mut exponent = if point < 0 { 0 } else { point - digits };
    if let Some(power) = power {
        let (below_one, digits) = match power {
            [b'-', digits @ ..] => (true, digits),
            [b'+', digits @ ..] => (false, digits),
            digits => (false, digits),
        };
        // One to three digits: larger exponents are never fast.
        if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = digits
            .iter()
            .fold(0i32, |n, &d| n * 10 + i32::from(d - b'0'));
        exponent += if below_one { -n } else { n };
    }
    let magnitude = significand as f64;
    let power = *POWERS_OF_TEN.get(exponent.unsigned_abs() as usize)?;
    let value = if exponent >= 0 {
        magnitude * power
    } else {
        magnitude / power
    };
    Some(if negative { -value } else { value })
}

/// `token.parse::<i64>()` for an integer token ([`Token::Int`] syntax) of at most
/// 18 digits, which always fits; `None` for longer ones (the caller then parses).
#[inline]
pub fn fast_i64(token: &[u8]) -> Option<i64> {
    let (negative, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Some(if negative { -n } else { n })
}

/// Whether a number token is a finite `f64` (JSON numbers beyond it, like `1e400`,
/// are errors, as in serde_json). Only long numbers or ones with an exponent can
/// overflow, so the common short ones skip the parse.
fn number_in_range(token: &str) -> bool {
    if token.len() < 300 && !token.bytes().any(|b| b == b'e' || b == b'E') {
        return true;
    }
    token.parse::<f64>().is_ok_and(f64::is_finite)
}

/// After an opening `"`: find the closing one, checking escapes (and surrogate
/// pairs) on the way, and extend the token over the string.
fn lex_string(lex: &mut logos::Lexer<'_, Token>) -> Result<Token, ()> {
    let rest = lex.remainder().as_bytes();
    let mut i = 0;
    let mut token = Token::Str;
    loop {
        let at = find_special(rest, i).ok_or(())?;
        match rest.get(at) {
            Some(b'"') => {
                lex.bump(at + 1);
                return Ok(token);
            }
            Some(b'\\') => {
                token = Token::StrEscaped;
                i = at + escape_len(rest, at).ok_or(())?;
            }
            // A control character: JSON wants it escaped.
            _ => return Err(()),
        }
    }
}

/// The index of the first `"`, `\\` or control byte at or after `from`, or an index
/// at or past the end of `b` when there is none there (callers look the byte up, so
/// both read as "no closing quote"). Eight bytes at a time, the last few padded with
/// quotes: in each word, flag bytes equal to `"`, equal to `\\` or below 0x20 (the
/// classic zero-byte tricks; only the lowest flag of each test is exact, which is the
/// one `trailing_zeros` picks).
#[inline(always)]
fn find_special(b: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let first = |w: u64| {
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let flags = flags & HIGHS;
        (flags != 0).then_some((flags.trailing_zeros() / 8) as usize)
    };
    let mut i = from;
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        if let Some(at) = first(u64::from_le_bytes(*chunk)) {
            return Some(i + at);
        }
        i += 8;
    }
    let tail = b.get(i..).filter(|tail| !tail.is_empty())?;
    let mut word = [b'"'; 8];
    word.get_mut(..tail.len())?.copy_from_slice(tail);
    first(u64::from_le_bytes(word)).map(|at| i + at)
}

/// [`find_special`]'s test of one word (bytes in line order, little-endian) with one
/// test fewer, for the nested walk (the flat path keeps its own, whose code its
/// instruction budget was measured on): the high bit of each byte below 0x21 once
/// xored with 2 (exactly the control bytes and `"`, which becomes 0x20) and of each
/// `\\`. Only the lowest flag is exact.
#[inline(always)]
fn special_flags(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let quote_or_control = (w ^ (ONES * 2)).wrapping_sub(ONES * 0x21);
    let backslash = (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    // Xoring with bytes below 0x80 keeps each high bit: `!w` serves both tests.
    (quote_or_control | backslash) & !w & HIGHS
}

/// The length of the escape starting with the `\\` at `at`, if it is valid: `\n`
/// and friends, `\uXXXX` outside the surrogates, or a high-low surrogate pair.
fn escape_len(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => match hex4(b, at + 2)? {
            0xD800..=0xDBFF => {
                let low = (b.get(at + 6) == Some(&b'\\') && b.get(at + 7) == Some(&b'u'))
                    .then(|| hex4(b, at + 8))
                    .flatten()?;
                (0xDC00..=0xDFFF).contains(&low).then_some(12)
            }
            0xDC00..=0xDFFF => None,
            _ => Some(6),
        },
        _ => None,
    }
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    // `from_str_radix` alone would accept a sign (`\u+123`).
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// Append the value of a checked string token body (between the quotes) to `out`.
pub fn unescape(body: &str, out: &mut String) {
    let b = body.as_bytes();
    let mut i = 0;
    let mut plain_from = 0;
    while i < b.len() {
        if b.get(i) != Some(&b'\\') {
            i += 1;
            continue;
        }
        out.push_str(body.get(plain_from..i).unwrap_or(""));
        let c = match b.get(i + 1) {
            Some(b'n') => '\n',
            Some(b't') => '\t',
            Some(b'r') => '\r',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'u') => {
                let n = hex4(b, i + 2).unwrap_or(0xFFFD);
                i += 4;
                if (0xD800..=0xDBFF).contains(&n) {
                    let low = hex4(b, i + 4).unwrap_or(0xDC00);
                    i += 6;
                    char::from_u32(
                        0x10000 + ((n - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF),
                    )
                    .unwrap_or('\u{FFFD}')
                } else {
                    char::from_u32(n).unwrap_or('\u{FFFD}')
                }
            }
            Some(&c) => char::from(c),
            None => break,
        };
        out.push(c);
        i += 2;
        plain_from = i;
    }
    out.push_str(body.get(plain_from.min(body.len())..).unwrap_or(""));
}

#[cfg(test)]
mod tests;
