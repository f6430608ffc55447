//! Reading the values of one event line's members, once the decoder has found
//! them: the key, times (in [`crate::time::TIME_RANGE`]) and declared fields of every
//! wire type, each mistake worded as the end of "field `f` of E: ...". The decoder
//! reads the common scalars inline and sends everything else here.

use std::sync::Arc;

use super::json::{self, Tok, Token};
use crate::interp::{Interner, Value};
use crate::ir::Ty;
use crate::time::rfc3339::{DateCache, parse_time_cached};
use crate::time::{MAX_TIME, MIN_TIME, TIME_RANGE, in_range, parse_duration};

/// Write the key of an event `keyed by` `field` (of event `event`), held by `tok`
/// (`None`: the field is missing or null), into `key`; `Err` is the whole reason.
pub(super) fn read_keyed_by(
    text: &str,
    tok: Option<Tok>,
    key: &mut String,
    field: &str,
    event: &str,
) -> Result<(), String> {
    let Some(tok) = tok else {
        return Err(format!(
            "`{field}` (the key of {event}, keyed by {field}) is missing"
        ));
    };
    read_key(text, tok, key)
        .map_err(|what| format!("`{field}` (the key of {event}, keyed by {field}) {what}"))
}

/// Write the key held by `tok` into `key`; `Err` completes "field `user` ...".
pub(super) fn read_key(text: &str, tok: Tok, key: &mut String) -> Result<(), String> {
    match tok.token {
        Token::Str => key.push_str(tok.str_body(text)),
        Token::StrEscaped => json::unescape(tok.str_body(text), key),
        Token::Int => {
            let digits = tok.text(text);
            if digits.parse::<i64>().is_err() && digits.parse::<u64>().is_err() {
                return Err(format!(
                    "is an integer out of the 64-bit range: {}",
                    json::clip(digits)
                ));
            }
            key.push_str(digits);
        }
        other => {
            return Err(format!(
                "must be a string or an integer, found {}",
                other.describe()
            ));
        }
    }
    if key.is_empty() {
        return Err("is an empty string".into());
    }
    Ok(())
}

/// A time member or `time` field, in [`MIN_TIME`]`..=`[`MAX_TIME`].
pub(super) fn read_time(
    text: &str,
    tok: Tok,
    scratch: &mut String,
    dates: &mut DateCache,
) -> Result<i64, String> {
    let ms = match tok.token {
        Token::Int => tok.text(text).parse::<i64>().ok(),
        Token::Str => Some(time_text(tok.str_body(text), dates)?),
        Token::StrEscaped => {
            scratch.clear();
            json::unescape(tok.str_body(text), scratch);
            Some(time_text(scratch, dates)?)
        }
        other => {
            return Err(format!(
                "expected a time (RFC 3339 string or epoch milliseconds), found {}",
                other.describe()
            ));
        }
    };
    ms.and_then(in_range)
        .ok_or_else(|| out_of_range(tok.text(text)))
}

/// The reason for a time outside [`TIME_RANGE`] (`raw`: its JSON text).
#[cold]
pub(super) fn out_of_range(raw: &str) -> String {
    format!(
        "time out of range: {} (times must lie in {TIME_RANGE}, epoch milliseconds {MIN_TIME} ..= {MAX_TIME})",
        json::clip(raw)
    )
}

fn time_text(s: &str, dates: &mut DateCache) -> Result<i64, String> {
    parse_time_cached(s, dates).map_err(|e| {
        // A five-digit or signed year (`+10000-01-01T00:00:00Z`): RFC 3339 has none,
        // and neither has the accepted range.
        let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
        let expanded = unsigned.split_once('-').is_some_and(|(year, _)| {
            !year.is_empty()
                && year.bytes().all(|b| b.is_ascii_digit())
                && (year.len() > 4 || unsigned.len() < s.len())
        });
        if expanded {
            return out_of_range(&format!("\"{s}\""));
        }
        format!(
            "unparsable time `{}`: {e} (expected RFC 3339 like `2026-01-05T10:00:00Z`, or epoch milliseconds)",
            json::clip(s)
        )
    })
}

/// Reads one declared field's value out of the token buffer.
pub(super) struct ValueReader<'a> {
    pub text: &'a str,
    pub toks: &'a [Tok],
    /// Whether to materialise strings (intern them); unread fields are only checked.
    pub used: bool,
}

impl ValueReader<'_> {
    /// The value `tok` (token `i` of the buffer, for arrays) as type `ty`; `Err`
    /// completes "field `f` of E: ...".
    pub fn read(
        &self,
        i: usize,
        tok: Tok,
        ty: &Ty,
        interner: &mut Interner,
        scratch: &mut String,
    ) -> Result<Value, String> {
        let mismatch = || format!("expected {}, found {}", ty_name(ty), tok.token.describe());
        let value = match (ty, tok.token) {
            (Ty::Optional(_), Token::Null) => Value::None,
            (Ty::Optional(inner), _) => return self.read(i, tok, inner, interner, scratch),
            (_, Token::Null) => return Err(mismatch()),
            (Ty::Bool, Token::True) => Value::Bool(true),
            (Ty::Bool, Token::False) => Value::Bool(false),
            (Ty::Int, Token::Int) => Value::Int(tok.text(self.text).parse().map_err(|_| {
                format!("integer out of range: {}", json::clip(tok.text(self.text)))
            })?),
            (Ty::Float, Token::Int | Token::Float) => {
                let f: f64 = tok.text(self.text).parse().map_err(|_| mismatch())?;
                if !f.is_finite() {
                    return Err(format!(
                        "number out of range: {}",
                        json::clip(tok.text(self.text))
                    ));
                }
                if self.used {
                    Value::Float(f)
                } else {
                    Value::None
                }
            }
            (Ty::Str, Token::Str) if self.used => {
                Value::Str(interner.intern(tok.str_body(self.text)))
            }
            (Ty::Str, Token::StrEscaped) if self.used => {
                scratch.clear();
                json::unescape(tok.str_body(self.text), scratch);
                Value::Str(interner.intern(scratch))
            }
            (Ty::Str, Token::Str | Token::StrEscaped) => Value::None,
            (Ty::Time, Token::Int | Token::Str | Token::StrEscaped) => Value::Time(read_time(
                self.text,
                tok,
                scratch,
                &mut DateCache::default(),
            )?),
            (Ty::Duration, Token::Int) => {
                Value::Duration(tok.text(self.text).parse().map_err(|_| {
                    format!("duration out of range: {}", json::clip(tok.text(self.text)))
                })?)
            }
            (Ty::Duration, Token::Str | Token::StrEscaped) => {
                let s = if tok.token == Token::Str {
                    tok.str_body(self.text)
                } else {
                    scratch.clear();
                    json::unescape(tok.str_body(self.text), scratch);
                    scratch.as_str()
                };
                let ms = parse_duration(s)
                    .map_err(|e| format!("unparsable duration `{}`: {e}", json::clip(s)))?;
                Value::Duration(ms)
            }
            (Ty::Set(elem), Token::ArrOpen) => {
                let mut members = self.read_array(i, elem, interner, scratch)?;
                if !self.used {
                    return Ok(Value::None);
                }
                members.sort_by(set_order);
                members.dedup();
                Value::Set(Arc::new(members))
            }
            (Ty::List(elem), Token::ArrOpen) => {
                let items = self.read_array(i, elem, interner, scratch)?;
                if !self.used {
                    return Ok(Value::None);
                }
                Value::List(Arc::new(items))
            }
            _ => return Err(mismatch()),
        };
        Ok(value)
    }

    fn read_array(
        &self,
        open: usize,
        elem: &Ty,
        interner: &mut Interner,
        scratch: &mut String,
    ) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        let mut i = open + 1;
        if json::kind(self.toks, i) == Some(Token::ArrClose) {
            return Ok(items);
        }
        loop {
            let Some(&tok) = self.toks.get(i) else {
                return Err("internal: token index out of range".into());
            };
            let item = self
                .read(i, tok, elem, interner, scratch)
                .map_err(|what| format!("element {}: {what}", items.len() + 1))?;
            items.push(item);
            i = json::value_end(self.toks, i);
            match json::kind(self.toks, i) {
                Some(Token::Comma) => i += 1,
                _ => return Ok(items),
            }
        }
    }
}

/// The order sets are kept in: by variant, then strings by symbol, numbers by value.
fn set_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::None => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::Str(_) => 4,
            Value::Time(_) => 5,
            Value::Duration(_) => 6,
            Value::Set(_) => 7,
            Value::List(_) => 8,
            Value::Object(_) => 9,
            Value::Event(_) => 10,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y))
        | (Value::Time(x), Value::Time(y))
        | (Value::Duration(x), Value::Duration(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.total_cmp(y),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// How a declared type reads in messages ("expected float").
fn ty_name(ty: &Ty) -> String {
    match ty {
        Ty::Bool => "bool".into(),
        Ty::Int => "int".into(),
        Ty::Float => "float".into(),
        Ty::Str => "string".into(),
        Ty::Time => "time (RFC 3339 string or epoch milliseconds)".into(),
        Ty::Duration => "duration (milliseconds or a string like \"30m\")".into(),
        Ty::Set(t) => format!("set<{}> (an array)", ty_name(t)),
        Ty::List(t) => format!("list<{}> (an array)", ty_name(t)),
        Ty::Optional(t) => format!("{}?", ty_name(t)),
        Ty::Event(_) => "event".into(),
        Ty::Object => "object".into(),
    }
}
