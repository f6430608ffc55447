//! The one-pass walk for lines with nested objects, for programs whose fields sit at
//! paths (`properties.price`): it descends only into the members its caller reads,
//! reports their scalar values, and skips every other value, checking as it goes that
//! the value is JSON the general path ([`super::lex`] + [`super::walk_object`]) would
//! accept (strings and their escapes, numbers and their range, nesting up to
//! [`MAX_DEPTH`]) without storing a token. Like [`super::walk_flat_with`] it only ever
//! declines a line (`false`): on anything unusual (an escaped name in an object it
//! reads, malformed JSON, whatever the caller gives up on) the caller takes the general
//! path, which alone words errors. The bytes are read once, strings eight at a time
//! ([`special`]); whitespace is the four bytes JSON allows.

use std::hint::cold_path;

use super::{
    MAX_DEPTH, Tok, Token, escape_len, number_in_range, offset, scan_number, special_flags,
};

/// `expr?` for the walk's hot paths, with the `None` (a line the walk declines) marked
/// cold, as are escapes and the last bytes of a line: the compiler lays the common
/// path out straight. Faster in time for about as many instructions (BENCHMARKS.md
/// "Event shapes", thirteenth session). Whitespace is not marked: some producers
/// write `": "` and `", "`.
macro_rules! req {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => {
                cold_path();
                return None;
            }
        }
    };
}

/// What to do with a member of an object the walk reads.
pub enum Member {
    /// Not read: check it is JSON and go on.
    Skip,
    /// Read, as this node of the caller's (scalars to [`NestedMembers::scalar`],
    /// objects and arrays to [`NestedMembers::nested`]).
    Read(u32),
    /// Decline the line.
    GiveUp,
}

/// What to do with an object or array at a node read.
pub enum Nested {
    /// Walk an object's members (node of each from [`NestedMembers::member`]).
    Walk,
    /// Check it is JSON and go on.
    Skip,
    /// Decline the line.
    GiveUp,
}

/// The caller of [`walk_nested`]: which members it reads, and what they hold.
pub trait NestedMembers {
    /// The `n`th member (from 0) of the object read as `node` (the line's own object
    /// is node 0), recognised at sight if the caller can: the index of its name's
    /// closing quote, and what [`NestedMembers::member`] would say. An answer must be
    /// exact: `line[name_start..]` up to it holds no `"`, `\\` or control byte and it
    /// is a `"`. `None` has the name scanned and passed to `member`.
    fn recognise(
        &mut self,
        line: &[u8],
        node: u32,
        n: usize,
        name_start: usize,
    ) -> Option<(usize, Member)>;

    /// The `n`th member of the object read as `node`, whose name, without escapes, is
    /// `line[name_start..name_start + name_len]`.
    fn member(
        &mut self,
        line: &[u8],
        node: u32,
        n: usize,
        name_start: usize,
        name_len: usize,
    ) -> Member;

    /// The scalar value of a member read as `node`; `false` declines the line.
    fn scalar(&mut self, node: u32, value: Tok) -> bool;

    /// An object (`array` false) or array is the value of a member read as `node`.
    fn nested(&mut self, node: u32, array: bool) -> Nested;
}

/// Walk `line`, one JSON object, as `members` asks. `true`: the line is JSON the
/// general path accepts, and every member `members` read has been reported, in line
/// order; `false`: nothing reported may be trusted (`tests/wire_walk.rs` checks the
/// decoder gets the same from either path).
pub fn walk_nested(line: &str, members: &mut impl NestedMembers) -> bool {
    let b = line.as_bytes();
    let open = ws(b, 0);
    if b.get(open) != Some(&b'{') {
        return false;
    }
    object(b, open, 0, 1, members).is_some_and(|end| ws(b, end) == b.len())
}

/// The first byte at or after `at` that is not JSON whitespace.
#[inline(always)]
fn ws(b: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = b.get(at) {
        at += 1;
    }
    at
}

/// The string whose opening quote is at `open`: where it ends (past the closing quote)
/// and whether it has escapes. `None` for a string the scanner rejects.
#[inline(always)]
fn string(b: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut i = open + 1;
    let mut escaped = false;
    loop {
        let at = req!(special(b, i));
        match b.get(at) {
            Some(b'"') => return Some((at + 1, escaped)),
            Some(b'\\') => {
                cold_path();
                escaped = true;
                i = at + req!(escape_len(b, at));
            }
            _ => {
                cold_path();
                return None;
            }
        }
    }
}

/// [`find_special`](super::find_special) for the strings the walk scans, with one test fewer per word
/// ([`special_flags`]) and a loop over whole words: faster over `context`'s strings
/// (the Segment bench's time per line, BENCHMARKS.md "Event shapes"), while on the
/// flat path's short strings the same loop cost more instructions than its own.
pub(super) fn special(b: &[u8], from: usize) -> Option<usize> {
    let first = |w: u64| {
        let flags = special_flags(w);
        (flags != 0).then_some((flags.trailing_zeros() / 8) as usize)
    };
    let rest = b.get(from..).filter(|rest| !rest.is_empty())?;
    let (words, tail) = rest.as_chunks::<8>();
    let mut i = from;
    for word in words {
        if let Some(at) = first(u64::from_le_bytes(*word)) {
            return Some(i + at);
        }
        i += 8;
    }
    // The last few bytes padded with quotes: none there reads as the line's end.
    let mut word = [b'"'; 8];
    word.get_mut(..tail.len())?.copy_from_slice(tail);
    first(u64::from_le_bytes(word)).map(|at| i + at)
}

/// The scalar value at `at`, as the scanner would make it, and where it ends.
#[inline(always)]
fn scalar(b: &[u8], at: usize) -> Option<(Tok, usize)> {
    let (token, end) = match b.get(at)? {
        b'"' => match req!(string(b, at)) {
            (end, false) => (Token::Str, end),
            (end, true) => (Token::StrEscaped, end),
        },
        b'-' | b'0'..=b'9' => {
            let (token, end, exponent) = req!(scan_number(b, at));
            // Out of range (`1e400`) only with an exponent or many digits, as in
            // `walk_flat_with`.
            if (exponent || end - at >= 300)
                && !std::str::from_utf8(b.get(at..end)?).is_ok_and(number_in_range)
            {
                cold_path();
                return None;
            }
            (token, end)
        }
        b't' if b.get(at..at + 4) == Some(b"true") => (Token::True, at + 4),
        b'f' if b.get(at..at + 5) == Some(b"false") => (Token::False, at + 5),
        b'n' if b.get(at..at + 4) == Some(b"null") => (Token::Null, at + 4),
        _ => {
            cold_path();
            return None;
        }
    };
    let tok = Tok {
        token,
        start: offset(at),
        end: offset(end),
    };
    Some((tok, end))
}

/// The object opening at `open`, read as `node` at nesting `depth` (the line's object
/// is 1): where it ends.
fn object(
    b: &[u8],
    open: usize,
    node: u32,
    depth: u32,
    members: &mut impl NestedMembers,
) -> Option<usize> {
    let mut at = ws(b, open + 1);
    if b.get(at) == Some(&b'}') {
        return Some(at + 1);
    }
    let mut n = 0;
    loop {
        if b.get(at) != Some(&b'"') {
            cold_path();
            return None;
        }
        let (name_end, member) = match members.recognise(b, node, n, at + 1) {
            Some((close, member)) => (close + 1, member),
            None => {
                let (name_end, escaped) = req!(string(b, at));
                // A name with escapes would have to be unescaped to be recognised.
                if escaped {
                    cold_path();
                    return None;
                }
                let member = members.member(b, node, n, at + 1, name_end - at - 2);
                (name_end, member)
            }
        };
        n += 1;
        // Compact (`"name":"value"`) in one compare, as in `skip`.
        let value = if pair(b, name_end) == COLON_QUOTE {
            name_end + 1
        } else {
            req!(after_name(b, name_end))
        };
        let end = match member {
            Member::GiveUp => {
                cold_path();
                return None;
            }
            // An unread string (`messageId`) here, without the call.
            Member::Skip if b.get(value) == Some(&b'"') => req!(string_end(b, value)),
            Member::Skip => req!(skip(b, value, depth + 1)),
            Member::Read(child) => match *req!(b.get(value)) {
                c @ (b'{' | b'[') => {
                    if depth + 1 > MAX_DEPTH {
                        cold_path();
                        return None;
                    }
                    let array = c == b'[';
                    match members.nested(child, array) {
                        Nested::Walk if !array => {
                            req!(object(b, value, child, depth + 1, members))
                        }
                        Nested::Skip => req!(skip(b, value, depth + 1)),
                        Nested::Walk | Nested::GiveUp => {
                            cold_path();
                            return None;
                        }
                    }
                }
                _ => {
                    let (tok, end) = req!(scalar(b, value));
                    if !members.scalar(child, tok) {
                        cold_path();
                        return None;
                    }
                    end
                }
            },
        };
        if pair(b, end) == COMMA_QUOTE {
            at = end + 1;
            continue;
        }
        at = ws(b, end);
        match b.get(at) {
            Some(b',') => at = ws(b, at + 1),
            Some(b'}') => return Some(at + 1),
            _ => {
                cold_path();
                return None;
            }
        }
    }
}

/// Past the closing quote of the string opening at `open`, for [`skip`], which needs
/// no escape flag: whole words while eight bytes are left (no set-up per call: most
/// of `context`'s strings end in their first word), [`special`] for the last ones.
#[inline(always)]
fn string_end(b: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        let at = match b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            Some(word) => {
                let flags = special_flags(u64::from_le_bytes(*word));
                if flags == 0 {
                    i += 8;
                    continue;
                }
                i + (flags.trailing_zeros() / 8) as usize
            }
            None => {
                cold_path();
                req!(special(b, i))
            }
        };
        match b.get(at) {
            Some(b'"') => return Some(at + 1),
            Some(b'\\') => {
                cold_path();
                i = at + req!(escape_len(b, at));
            }
            _ => {
                cold_path();
                return None;
            }
        }
    }
}

/// The two bytes at `at`, little-endian; 0 (no pair below) where fewer are left.
#[inline(always)]
fn pair(b: &[u8], at: usize) -> u16 {
    b.get(at..)
        .and_then(<[u8]>::first_chunk::<2>)
        .map_or(0, |p| u16::from_le_bytes(*p))
}

/// `:"` after a name: its value is a string.
const COLON_QUOTE: u16 = u16::from_le_bytes(*b":\"");
/// `,"` after a member's value: the next member's name.
const COMMA_QUOTE: u16 = u16::from_le_bytes(*b",\"");

/// After a member name's closing quote (`at` just past it): the colon, and where the
/// value starts.
#[inline(always)]
fn after_name(b: &[u8], at: usize) -> Option<usize> {
    let colon = ws(b, at);
    if b.get(colon) == Some(&b':') {
        Some(ws(b, colon + 1))
    } else {
        cold_path();
        None
    }
}

/// Check the value at `at` (nesting `depth`) is JSON; where it ends. Without recursion:
/// the open containers are a stack of bits (set for an array), at most [`MAX_DEPTH`]
/// (`depth` is at least 1, so 64 bits hold them). Its cost is per member, not per byte
/// (BENCHMARKS.md "Event shapes"), so a compact member (`,"name":"value"`, as every
/// producer writes `context`) is taken whole: a two-byte compare where the general
/// form skips whitespace and tests a punctuation byte, three times.
fn skip(b: &[u8], mut at: usize, depth: u32) -> Option<usize> {
    let mut stack: u64 = 0;
    let mut open: u32 = 0;
    'value: loop {
        // `at` starts a value.
        let mut end = match *req!(b.get(at)) {
            b'"' => req!(string_end(b, at)),
            c @ (b'{' | b'[') => {
                if depth + open > MAX_DEPTH {
                    cold_path();
                    return None;
                }
                let array = c == b'[';
                // `{"`, as producers write it, without the whitespace and `}` tests.
                let inner = if !array && b.get(at + 1) == Some(&b'"') {
                    at + 1
                } else {
                    ws(b, at + 1)
                };
                let close = if array { b']' } else { b'}' };
                if b.get(inner) == Some(&close) {
                    inner + 1
                } else {
                    stack = (stack << 1) | u64::from(array);
                    open += 1;
                    if array {
                        at = inner;
                        continue 'value;
                    }
                    if b.get(inner) != Some(&b'"') {
                        cold_path();
                        return None;
                    }
                    let name_end = req!(string_end(b, inner));
                    if pair(b, name_end) != COLON_QUOTE {
                        at = req!(after_name(b, name_end));
                        continue 'value;
                    }
                    req!(string_end(b, name_end + 1))
                }
            }
            _ => req!(scalar(b, at)).1,
        };
        // After a value: close what ends here, up to the next value.
        loop {
            if open == 0 {
                return Some(end);
            }
            let array = stack & 1 == 1;
            if !array && pair(b, end) == COMMA_QUOTE {
                let name_end = req!(string_end(b, end + 1));
                if pair(b, name_end) != COLON_QUOTE {
                    at = req!(after_name(b, name_end));
                    continue 'value;
                }
                end = req!(string_end(b, name_end + 1));
                continue;
            }
            let next = ws(b, end);
            match (b.get(next), array) {
                (Some(b','), _) => {
                    let inner = ws(b, next + 1);
                    if array {
                        at = inner;
                        continue 'value;
                    }
                    if b.get(inner) != Some(&b'"') {
                        cold_path();
                        return None;
                    }
                    at = req!(after_name(b, req!(string_end(b, inner))));
                    continue 'value;
                }
                (Some(b']'), true) | (Some(b'}'), false) => {
                    stack >>= 1;
                    open -= 1;
                    end = next + 1;
                }
                _ => {
                    cold_path();
                    return None;
                }
            }
        }
    }
}
