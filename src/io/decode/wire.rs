//! The decoder's wire mapping (docs/LANGUAGE.md §3, "Wire mapping"): for programs
//! whose declarations say where things sit on the wire. Paths into nested objects
//! (`properties.product_id`), `[]` gathering a member of every array element into a
//! list, key alternatives (`userId ?? anonymousId`), integer type values (`from 2`)
//! and time formats (`format "..."`, `epoch seconds`).
//!
//! [`WireMap::new`] decides once per program whether any of this is needed; when it
//! is not, the decoder never comes here and flat lines keep their fast path. When it
//! is, [`Decoder::decode_wire`] first walks the line once ([`super::paths`]), which
//! leaves each path's value at its node of a trie; a line the walk declines is scanned
//! by [`Decoder::scan`] (top-level members in their slots, the same verdicts on
//! malformed JSON and repeated names), and paths are followed from those slots through
//! the token buffer. A path that leads nowhere is an absent member. On a flat line the
//! slots hold scalars only, so a path going deeper finds nothing, without reading the
//! buffer.

use std::sync::Arc;

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use super::paths::PathTrie;
use super::{Decoder, KeySource, NameId, json, read_key};
use crate::diag::quote;
use crate::interp::{Interner, Value};
use crate::io::json::{Tok, Token};
use crate::io::value::{ValueReader, out_of_range, read_keyed_by, read_time};
use crate::ir::{EventId, Program, TimeFormat, Ty, WireValue};
use crate::runtime::Event;
use crate::time::in_range;
use crate::time::rfc3339::parse_canonical_utc;
use crate::time::strftime::{StrftimeError, parse_strftime};

/// The first member name of a dotted wire path (`properties` of
/// `properties.products[].sku`): the top-level member the scan records.
pub(super) fn first_segment(path: &str) -> &str {
    let first = path.split('.').next().unwrap_or(path);
    first.strip_suffix("[]").unwrap_or(first)
}

/// A wire path, resolved against the decoder's member names.
#[derive(Clone, Debug)]
struct Path {
    /// The top-level member.
    first: NameId,
    /// The member names after it, into nested objects.
    rest: Vec<String>,
    /// With `[]`: how many of `rest` lead to the array (the others are read in each
    /// element). `Some(0)` when the top-level member is the array.
    gather: Option<usize>,
    /// As written, for messages.
    text: String,
    /// Its node in the wire map's [`PathTrie`].
    node: u32,
}

impl Path {
    fn new(text: &str, name_id: &mut impl FnMut(&str) -> NameId, trie: &mut PathTrie) -> Path {
        let mut first = None;
        let mut rest = Vec::new();
        let mut gather = None;
        for (i, seg) in text.split('.').enumerate() {
            let (name, each) = match seg.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (seg, false),
            };
            if i == 0 {
                first = Some(name_id(name));
            } else {
                rest.push(name.to_owned());
            }
            if each && gather.is_none() {
                gather = Some(rest.len());
            }
        }
        let first = first.unwrap_or_else(|| name_id(text));
        Path {
            node: trie.insert(first, &rest, gather),
            first,
            rest,
            gather,
            text: text.to_owned(),
        }
    }
}

/// What the wire mapping adds to a [`Decoder`].
#[derive(Clone, Debug)]
pub(super) struct WireMap {
    /// `key A ?? B`: tried in order.
    keys: Vec<Path>,
    type_: Path,
    time: Path,
    time_format: TimeFormat,
    /// The zone of `format "..." in "ZONE"` (checked by `check`).
    time_zone: Option<Tz>,
    /// Integer values of the type member (`event VIEW from 1`).
    ints: FxHashMap<i64, EventId>,
    /// By event, by field: its path (a plain field name is a path of one member).
    fields: Vec<Vec<Path>>,
    /// Every path above, for the one-pass walk.
    trie: PathTrie,
    /// Whether the current line was read by that walk (else by [`Decoder::scan`]).
    walked: bool,
}

impl WireMap {
    /// `None` when the program needs nothing beyond flat top-level members and string
    /// type values (which the decoder's name table handles).
    pub(super) fn new(
        program: &Program,
        name_id: &mut impl FnMut(&str) -> NameId,
    ) -> Option<WireMap> {
        let needed = program.schema.is_extended()
            || program.events.iter().any(crate::ir::EventDef::is_extended);
        if !needed {
            return None;
        }
        let s = &program.schema;
        let mut trie = PathTrie::new();
        let keys = std::iter::once(&s.key)
            .chain(&s.key_alternatives)
            .map(|k| Path::new(k, name_id, &mut trie))
            .collect();
        let mut ints = FxHashMap::default();
        for (i, e) in program.events.iter().enumerate() {
            for w in &e.wire {
                if let WireValue::Int(n) = w {
                    ints.entry(*n).or_insert(EventId::from_index(i));
                }
            }
        }
        let fields = program
            .events
            .iter()
            .map(|e| {
                e.fields
                    .iter()
                    .map(|f| Path::new(f.path.as_deref().unwrap_or(&f.name), name_id, &mut trie))
                    .collect()
            })
            .collect();
        Some(WireMap {
            keys,
            type_: Path::new(&s.type_, name_id, &mut trie),
            time: Path::new(&s.time, name_id, &mut trie),
            time_format: s.time_format.clone(),
            time_zone: match &s.time_format {
                TimeFormat::Strftime { zone: Some(z), .. } => z.parse().ok(),
                _ => None,
            },
            ints,
            fields,
            trie,
            walked: false,
        })
    }
}

/// The value of member `name` of the object opening at token `obj`, if present; an
/// error when the object names it twice (a field reading through it would have to
/// pick one of two values). The buffer holds a line [`json::walk_object`] accepted.
fn member_of(text: &str, toks: &[Tok], obj: usize, name: &str) -> Result<Option<usize>, String> {
    let mut i = obj + 1;
    let mut unescaped = String::new();
    let mut found = None;
    loop {
        let Some(tok) = toks.get(i) else {
            return Ok(found);
        };
        let matches = match tok.token {
            Token::Str => tok.str_body(text) == name,
            Token::StrEscaped => {
                unescaped.clear();
                json::unescape(tok.str_body(text), &mut unescaped);
                unescaped == name
            }
            _ => return Ok(found),
        };
        let value = i + 2;
        if matches {
            if found.is_some() {
                return Err(format!("duplicate member \"{}\"", quote(name)));
            }
            found = Some(value);
        }
        i = json::value_end(toks, value);
        if json::kind(toks, i) != Some(Token::Comma) {
            return Ok(found);
        }
        i += 1;
    }
}

/// The elements of the array opening at token `arr`.
fn elements(toks: &[Tok], arr: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = arr + 1;
    if json::kind(toks, i) == Some(Token::ArrClose) {
        return out;
    }
    while toks.get(i).is_some() {
        out.push(i);
        i = json::value_end(toks, i);
        if json::kind(toks, i) != Some(Token::Comma) {
            break;
        }
        i += 1;
    }
    out
}

/// Follow `names` from the value at token `i`; `None` where the path leads nowhere
/// (a member missing, or a value that is not an object).
fn follow(
    text: &str,
    toks: &[Tok],
    mut i: usize,
    mut tok: Tok,
    names: &[String],
) -> Result<Option<(usize, Tok)>, String> {
    for name in names {
        if tok.token != Token::ObjOpen {
            return Ok(None);
        }
        let Some(at) = member_of(text, toks, i, name)? else {
            return Ok(None);
        };
        let Some(&at_tok) = toks.get(at) else {
            return Ok(None);
        };
        (i, tok) = (at, at_tok);
    }
    Ok(Some((i, tok)))
}

/// What a path found on a line.
enum Found {
    Absent,
    Value(usize, Tok),
    /// `[]`: the array's elements' values (the element itself when the path ends at
    /// `[]`), elements without the member left out, each with its position in the
    /// array (for messages).
    Gathered(Vec<(usize, usize, Tok)>),
}

impl Decoder {
    /// The line's value at `path` (after the walk, or after [`Decoder::scan`] when the
    /// walk declined the line).
    #[inline]
    fn find(&self, wire: &WireMap, text: &str, path: &Path) -> Result<Found, String> {
        if wire.walked {
            return Ok(match walked_value(wire, path) {
                Some(tok) => Found::Value(0, tok),
                None => Found::Absent,
            });
        }
        self.find_scanned(text, path)
    }

    /// [`Decoder::find`] on a line the walk declined.
    fn find_scanned(&self, text: &str, path: &Path) -> Result<Found, String> {
        let Some(slot) = self.member_slot(path.first) else {
            return Ok(Found::Absent);
        };
        let toks = &self.toks;
        let lead = path.gather.unwrap_or(path.rest.len());
        let Some((i, tok)) = follow(
            text,
            toks,
            slot.index as usize,
            slot.tok,
            &path.rest[..lead],
        )?
        else {
            return Ok(Found::Absent);
        };
        if path.gather.is_none() {
            return Ok(Found::Value(i, tok));
        }
        match tok.token {
            Token::Null => Ok(Found::Absent),
            Token::ArrOpen => {
                let tail = &path.rest[lead..];
                let mut items = Vec::new();
                for (at, e) in elements(toks, i).into_iter().enumerate() {
                    let Some(&etok) = toks.get(e) else { continue };
                    if let Some((v, vtok)) = follow(text, toks, e, etok, tail)?
                        && vtok.token != Token::Null
                    {
                        items.push((at, v, vtok));
                    }
                }
                Ok(Found::Gathered(items))
            }
            other => Err(format!(
                "`{}` must lead to an array (for `[]`), found {}",
                path.text,
                other.describe()
            )),
        }
    }

    /// The token at `path` when present and not `null`. (A declined line whose
    /// envelope path meets a repeated name was rejected before this:
    /// [`Decoder::envelope_repeats`].)
    #[inline]
    fn find_value(&self, wire: &WireMap, text: &str, path: &Path) -> Option<(usize, Tok)> {
        if wire.walked {
            return walked_value(wire, path)
                .filter(|tok| tok.token != Token::Null)
                .map(|tok| (0, tok));
        }
        match self.find_scanned(text, path) {
            Ok(Found::Value(i, tok)) if tok.token != Token::Null => Some((i, tok)),
            _ => None,
        }
    }

    /// On a line the walk declined (the walk itself declines a line that repeats a
    /// name it reads): an error when a nested object on the way to the type, time or
    /// a key names a member twice. Fields' paths say so as they are read.
    #[cold]
    fn envelope_repeats(&self, wire: &WireMap, text: &str) -> Result<(), String> {
        for path in [&wire.type_, &wire.time].into_iter().chain(&wire.keys) {
            self.find_scanned(text, path)?;
        }
        Ok(())
    }

    /// What an ignored line without the type member counts as.
    #[cold]
    pub(super) fn untyped(&self) -> String {
        format!("(no {})", self.type_member)
    }

    /// [`Decoder::decode_line`] after the scan, for programs with a wire mapping.
    /// Kept out of line, so `decode_line` stays as small as before for the others.
    #[inline(never)]
    pub(super) fn decode_wire(
        &mut self,
        text: &str,
        interner: &mut Interner,
        out: &mut Event,
    ) -> Result<Option<String>, String> {
        let Some(mut wire) = self.wire.take() else {
            return Err("internal: no wire mapping".into());
        };
        wire.walked = !self.general_only && wire.trie.walk(text, &self.names, &mut self.unknown);
        let res = if wire.walked {
            Ok(())
        } else {
            self.scan_general(text)
                .and_then(|()| self.envelope_repeats(&wire, text))
        };
        let res = res.and_then(|()| self.decode_mapped(&wire, text, interner, out));
        // Put back where nothing is: an assignment would call the drop of the `None`
        // there, out of line, on every line.
        if let slot @ None = &mut self.wire {
            *slot = Some(wire);
        }
        res
    }

    fn decode_mapped(
        &mut self,
        wire: &WireMap,
        text: &str,
        interner: &mut Interner,
        out: &mut Event,
    ) -> Result<Option<String>, String> {
        // The event type: a string (the name table) or an integer.
        let Some((_, type_tok)) = self.find_value(wire, text, &wire.type_) else {
            return Ok(Some(self.untyped()));
        };
        let kind = match type_tok.token {
            Token::Str | Token::StrEscaped => {
                // A plain name is looked up where it stands, with no copy.
                let plain = (type_tok.token == Token::Str)
                    .then(|| self.kinds.get(type_tok.str_bytes(text.as_bytes())))
                    .flatten();
                match plain {
                    Some(kind) => kind,
                    None => {
                        std::hint::cold_path();
                        self.scratch.clear();
                        json::unescape(type_tok.str_body(text), &mut self.scratch);
                        match self.kinds.get(self.scratch.as_bytes()) {
                            Some(kind) => kind,
                            None => return Ok(Some(self.scratch.clone())),
                        }
                    }
                }
            }
            Token::Int => {
                let digits = type_tok.text(text);
                match digits.parse::<i64>().ok().and_then(|n| wire.ints.get(&n)) {
                    Some(&kind) => kind,
                    None => return Ok(Some(json::clip(digits))),
                }
            }
            other => {
                std::hint::cold_path();
                return Err(format!(
                    "field `{}` must be a string or an integer, found {}",
                    wire.type_.text,
                    other.describe()
                ));
            }
        };
        let Some(shape) = self.events.get(kind.index()) else {
            return Err("internal: event table out of step with the program".into());
        };
        let Some(paths) = wire.fields.get(kind.index()) else {
            return Err("internal: wire table out of step with the program".into());
        };
        out.kind = kind;

        // The key: the first present key path, or the `keyed by` field.
        out.key.clear();
        match shape.key {
            KeySource::Customer => {
                let found = wire
                    .keys
                    .iter()
                    .find_map(|p| self.find_value(wire, text, p).map(|(_, tok)| (p, tok)));
                let Some((path, tok)) = found else {
                    std::hint::cold_path();
                    let names: Vec<&str> = wire.keys.iter().map(|p| p.text.as_str()).collect();
                    return Err(format!("missing field `{}`", names.join(" ?? ")));
                };
                read_key(text, tok, &mut out.key)
                    .map_err(|what| format!("field `{}` (the customer key) {what}", path.text))?;
            }
            KeySource::Field(idx) => {
                let (Some(field), Some(path)) =
                    (shape.fields.get(idx.index()), paths.get(idx.index()))
                else {
                    return Err("internal: `keyed by` field out of range".into());
                };
                let tok = self.find_value(wire, text, path).map(|(_, tok)| tok);
                read_keyed_by(text, tok, &mut out.key, &field.name, &shape.name)?;
            }
        }

        let Some((_, time)) = self.find_value(wire, text, &wire.time) else {
            std::hint::cold_path();
            return Err(format!("missing field `{}`", wire.time.text));
        };
        self.int_time = time.token == Token::Int
            && matches!(
                wire.time_format,
                TimeFormat::Default | TimeFormat::EpochMillis
            );
        // The canonical UTC spelling where it stands, as on the flat path; `read_time`
        // tries it first too, so the answer (and every error) is the same.
        let canonical = match (&wire.time_format, time.token) {
            (TimeFormat::Default, Token::Str) => {
                parse_canonical_utc(time.str_bytes(text.as_bytes()), &mut self.dates)
            }
            _ => None,
        };
        out.ts = match (&wire.time_format, canonical) {
            (_, Some(ms)) => Ok(ms),
            (TimeFormat::Default, None) => {
                read_time(text, time, &mut self.scratch, &mut self.dates)
            }
            (format, None) => read_formatted(text, time, format, wire.time_zone, &mut self.scratch),
        }
        .map_err(|what| format!("field `{}`: {what}", wire.time.text))?;

        out.fields.clear();
        for (field, path) in shape.fields.iter().zip(paths) {
            let reader = ValueReader {
                text,
                toks: &self.toks,
                used: field.used,
            };
            let err = |what: String| format!("field `{}` of {}: {what}", field.name, shape.name);
            let value = match self.find(wire, text, path).map_err(err)? {
                Found::Value(i, tok) if tok.token != Token::Null => {
                    match field.read_inline(tok, text, interner) {
                        Some(value) => value,
                        None => reader
                            .read(i, tok, &field.ty, interner, &mut self.scratch)
                            .map_err(err)?,
                    }
                }
                Found::Gathered(items) => {
                    let elem = match field.ty.strip_optional() {
                        Ty::List(elem) => elem.as_ref(),
                        _ => return Err(err("internal: `[]` on a field that is no list".into())),
                    };
                    let mut values = Vec::with_capacity(items.len());
                    for (at, i, tok) in items {
                        let v = reader
                            .read(i, tok, elem, interner, &mut self.scratch)
                            .map_err(|what| err(format!("element {}: {what}", at + 1)))?;
                        values.push(v);
                    }
                    if field.used {
                        Value::List(Arc::new(values))
                    } else {
                        Value::None
                    }
                }
                Found::Value(..) | Found::Absent if field.optional => Value::None,
                Found::Value(..) => {
                    std::hint::cold_path();
                    return Err(format!(
                        "field `{}` of {} is null, but it is required",
                        path.text, shape.name
                    ));
                }
                Found::Absent => {
                    std::hint::cold_path();
                    return Err(format!("missing field `{}` of {}", path.text, shape.name));
                }
            };
            out.fields.push(value);
        }
        Ok(None)
    }
}

/// The value the one-pass walk found at `path` (a gather the walk saw would have made
/// it decline the line).
#[inline(always)]
fn walked_value(wire: &WireMap, path: &Path) -> Option<Tok> {
    wire.trie.value(path.node).filter(|_| path.gather.is_none())
}

/// The schema's time member in its declared format: a strftime string (a time without
/// an offset is in `zone`, else UTC; midnight when the format has no time of day) or
/// an integer in an epoch unit.
fn read_formatted(
    text: &str,
    tok: Tok,
    format: &TimeFormat,
    zone: Option<Tz>,
    scratch: &mut String,
) -> Result<i64, String> {
    let ms = match format {
        TimeFormat::Strftime { format: fmt, .. } => {
            if !tok.token.is_str() {
                return Err(format!(
                    "expected a time string like the format \"{fmt}\", found {}",
                    tok.token.describe()
                ));
            }
            scratch.clear();
            json::unescape(tok.str_body(text), scratch);
            let s = scratch.as_str();
            match parse_strftime(s, fmt, zone) {
                Ok(ms) => ms,
                Err(StrftimeError::Skipped) => {
                    let zone = zone.map_or("UTC", |z| z.name());
                    return Err(format!(
                        "time `{}` does not exist in {zone} (skipped by a daylight-saving change)",
                        json::clip(s)
                    ));
                }
                Err(StrftimeError::Mismatch(e)) => {
                    return Err(format!(
                        "time `{}` does not match the format \"{fmt}\": {e}",
                        json::clip(s)
                    ));
                }
            }
        }
        TimeFormat::EpochSeconds | TimeFormat::EpochMillis | TimeFormat::EpochMicros => {
            epoch(text, tok, format)?
        }
        TimeFormat::Default => return Err("internal: default time format".into()),
    };
    in_range(ms).ok_or_else(|| out_of_range(tok.text(text)))
}

/// An epoch number in `unit` as milliseconds: an integer (also as a string of
/// digits), or for seconds a number with a fraction.
fn epoch(text: &str, tok: Tok, unit: &TimeFormat) -> Result<i64, String> {
    let (name, per_ms) = match unit {
        TimeFormat::EpochSeconds => ("seconds", 0),
        TimeFormat::EpochMicros => ("microseconds", 1),
        _ => ("milliseconds", 2),
    };
    let raw = match tok.token {
        Token::Int | Token::Float => tok.text(text),
        Token::Str => tok.str_body(text),
        other => {
            return Err(format!(
                "expected a time in epoch {name}, found {}",
                other.describe()
            ));
        }
    };
    let bad = || {
        format!(
            "expected a time in epoch {name}, found `{}`",
            json::clip(raw)
        )
    };
    let ms = match (per_ms, raw.parse::<i64>()) {
        (0, Ok(s)) => s.checked_mul(1000),
        (1, Ok(us)) => Some(us.div_euclid(1000)),
        (_, Ok(ms)) => Some(ms),
        (0, Err(_)) => {
            let s: f64 = raw.parse().map_err(|_| bad())?;
            let ms = (s * 1000.0).round();
            // In range of i64 (and of times, checked after) when finite and small.
            (ms.is_finite() && ms.abs() < 9.0e18).then_some(ms as i64)
        }
        (_, Err(_)) => return Err(bad()),
    };
    ms.ok_or_else(|| out_of_range(raw))
}
