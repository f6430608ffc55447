//! Decoding one NDJSON event line into an [`Event`], driven by the program's wire
//! schema and event declarations.
//!
//! ```text
//! let mut decoder = Decoder::new(&program);
//! match decoder.decode(line, line_no, &mut interner, &mut event) {
//!     Decoded::Event => runtime.push(&event, &mut out),
//!     Decoded::Ignored { event_type } => stats.ignored(event_type),
//!     Decoded::Rejected(reject) => eprintln!("{reject}"),   // "line 17: missing field `user`"
//! }
//! ```
//!
//! The rules (docs/LANGUAGE.md §3 and §8, with the decisions recorded there):
//! - The line must be exactly one JSON object (RFC 8259; whitespace around it is
//!   fine), valid UTF-8, nested at most [`MAX_DEPTH`] levels. Anything else is rejected.
//! - Members not declared for the event type (and not the envelope) are ignored,
//!   whatever JSON they hold. A member name may appear once: a line naming one twice
//!   (declared or not, read or not) is rejected, `duplicate member "type"`
//!   ([`super::repeats`]). Inside nested objects, only names on a read path are
//!   held to this (`decode/wire.rs`, `member_of`).
//! - `type` must be a string. A type no `event` declares gives [`Decoded::Ignored`]
//!   (the rest of such a line is not checked beyond being JSON: its shape is unknown).
//! - Time (`ts`) and `time` fields: an RFC 3339 string (any offset, converted to UTC
//!   milliseconds) or a JSON integer of epoch milliseconds, in
//!   [`crate::time::TIME_RANGE`] (epoch milliseconds [`crate::time::MIN_TIME`]`..=`[`crate::time::MAX_TIME`]).
//! - The key is the customer key member (`user`), or, for an event `keyed by F`,
//!   field `F` (the customer key member may then be absent). A key is a non-empty
//!   string, or an integer (the key is then its decimal text as written, `42` → "42";
//!   it must fit 64 bits).
//! - Declared fields: a required field must be present and not `null`; an optional
//!   one may be absent or `null` (→ [`Value::None`]). `float` accepts integers; `int`
//!   accepts only integers that fit `i64`; `duration` is integer milliseconds or a
//!   Trig duration string (`"1h30m"`); `set<T>` / `list<T>` are JSON arrays of `T`
//!   (sets come out sorted by symbol / number and without duplicates).
//! - Strings are interned only for fields some rule reads ([`FieldDef::used`]); unread
//!   fields are type-checked and stored as [`Value::None`], so the interner does not
//!   grow with values nobody looks at (and unread floats are not even converted).
//!
//! Cost: no allocation per line in the steady state (the token buffer, the member
//! slots and `out`'s buffers are reused); strings are copied only when they are
//! interned or have escapes. Flat lines (scalars, no escapes) are scanned in one pass
//! straight into the member slots ([`json::walk_flat_with`]); the rest take the general
//! two-pass path, which alone words errors. On the flat path the member name that
//! followed the previous one last time is recognised with one compare (no quote scan,
//! no hash), and a canonical time is parsed where it stands; plain strings, short
//! numbers and the key are then read inline, everything else by `ValueReader`.
//! Programs with a wire mapping (nested paths like `properties.price`) walk every line
//! once instead ([`json::walk_nested`], driven by the trie of `paths`): into the
//! objects some path reads, over the rest with a check that it is JSON but no tokens;
//! a line that walk declines takes the same general path.

mod paths;
mod wire;

use std::fmt;

use rustc_hash::FxHashMap;

pub use super::json::MAX_DEPTH;

use super::json::{self, FlatMembers, Tok, Token};
use super::name_table::{NameTable, QuotedName};
use super::repeats::UnknownNames;
use super::value::{ValueReader, read_key, read_keyed_by, read_time};
use crate::diag::quote;
use crate::interp::{Interner, Value};
use crate::ir::{EventId, FieldDef, FieldIdx, Program, Ty, WireValue};
use crate::runtime::Event;
use crate::time::rfc3339::{DateCache, parse_canonical_utc};

/// What became of one line.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// `out` holds the event.
    Event,
    /// A well-formed line of an event type no `event` declares; count it.
    Ignored {
        event_type: String,
    },
    Rejected(Reject),
}

/// A line that could not be decoded, and why. Displays as `line 17: <reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// 1-based input line number.
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for Reject {}

/// Index of a member name the schema knows (envelope or any event's field).
type NameId = u16;

/// Where the routing key of an event type comes from.
#[derive(Clone, Copy, Debug)]
enum KeySource {
    /// The schema's customer key member.
    Customer,
    /// `keyed by F`.
    Field(FieldIdx),
}

#[derive(Clone, Debug)]
struct FieldShape {
    name_id: NameId,
    name: String,
    ty: Ty,
    /// `ty` without its `?`s, when a flat value of it can be read inline.
    scalar: Scalar,
    optional: bool,
    used: bool,
}

impl FieldShape {
    /// The common values of a wire-mapped field read inline, giving what
    /// `ValueReader::read` would; `None` for the rest. The flat path has its own copy
    /// of this match (see there why).
    #[inline]
    fn read_inline(&self, tok: Tok, text: &str, interner: &mut Interner) -> Option<Value> {
        let bytes = || tok.bytes(text.as_bytes());
        match (self.scalar, tok.token) {
            (Scalar::Str, Token::Str) if self.used => {
                Some(Value::Str(interner.intern(tok.str_body(text))))
            }
            (Scalar::Str, Token::Str) => Some(Value::None),
            // Every number token is a finite `f64` (both scanners check): that is the
            // whole type check of a float nobody reads.
            (Scalar::Float, Token::Int | Token::Float) if !self.used => Some(Value::None),
            (Scalar::Float, Token::Int | Token::Float) => json::fast_f64(bytes()).map(Value::Float),
            (Scalar::Int, Token::Int) => json::fast_i64(bytes()).map(Value::Int),
            _ => None,
        }
    }
}

/// The field types whose common values are read inline (the rest, and every value
/// that does not fit the fast reading, go through [`ValueReader::read`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalar {
    Str,
    Int,
    Float,
    Other,
}

impl Scalar {
    fn of(ty: &Ty) -> Scalar {
        match ty {
            Ty::Optional(inner) => Scalar::of(inner),
            Ty::Str => Scalar::Str,
            Ty::Int => Scalar::Int,
            Ty::Float => Scalar::Float,
            _ => Scalar::Other,
        }
    }
}

#[derive(Clone, Debug)]
struct EventShape {
    name: String,
    key: KeySource,
    fields: Vec<FieldShape>,
}

/// The member seen for one name on the current line: `line` is the line's generation
/// (so slots need no clearing between lines), `tok` the value's first token and
/// `index` its index in the token buffer (only meaningful after the general path's
/// scan; the flat path has no buffer, and no arrays that would need it).
#[derive(Clone, Copy, Debug)]
struct Slot {
    line: u32,
    index: u32,
    tok: Tok,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            line: 0,
            index: 0,
            tok: Tok {
                token: Token::Null,
                start: 0,
                end: 0,
            },
        }
    }
}

/// A decoder for one program's events. Reuse it for every line: it keeps its scratch
/// buffers between calls.
#[derive(Clone, Debug)]
pub struct Decoder {
    names: NameTable<NameId>,
    key_name: NameId,
    type_name: NameId,
    time_name: NameId,
    key_member: String,
    type_member: String,
    time_member: String,
    kinds: NameTable<EventId>,
    /// By [`NameId`]: the name as the flat walk recognises it at sight.
    quoted: Vec<QuotedName>,
    /// By event type (row 0: not known yet), then by the previous member's name (0:
    /// none yet, `1 + id`: a known name, the last entry: an unknown one): the name
    /// that followed it last time. Producers write the members of an event type in
    /// one order, so once `type` has been seen this is nearly always the next.
    successors: Vec<NameId>,
    /// The length of a row of `successors`.
    successors_row: usize,
    /// Whether `successors` has a row per event type (not for huge programs).
    kind_rows: bool,
    events: Vec<EventShape>,
    /// By event type: whether some trigger starts on it, i.e. whether its
    /// [`Event::origin`] (a hash of the whole line) is ever read.
    starts: Vec<bool>,
    toks: Vec<Tok>,
    slots: Vec<Slot>,
    generation: u32,
    scratch: String,
    /// The date of the last time-member parsed: consecutive events share a day.
    dates: DateCache,
    /// The time member the flat walk parsed on this line (its token's start, and its
    /// milliseconds), if it did.
    flat_time: Option<(u32, i64)>,
    /// The plain string `type` member the flat walk looked up on this line (its
    /// token's start and end, and the event type), if it did.
    flat_kind: Option<(u32, u32, Option<EventId>)>,
    /// By [`NameId`]: the name, for messages.
    name_texts: Vec<String>,
    /// The first member on this line repeating a known name: where its name starts,
    /// and the name.
    repeat: Option<(u32, NameId)>,
    /// The other names on this line.
    unknown: UnknownNames,
    /// The wire mapping, when the program needs more than flat top-level members
    /// (nested paths, key alternatives, a time format, integer type values); decided
    /// once in [`Decoder::new`], so programs without it keep the flat fast path.
    wire: Option<Box<wire::WireMap>>,
    /// Whether a line without the type member is ignored rather than rejected: in
    /// programs that map wire names (docs/LANGUAGE.md §3, "Wire mapping").
    untyped_ignored: bool,
    /// The line just decoded had its time as an integer of epoch milliseconds
    /// ([`Decoder::time_was_int`]).
    int_time: bool,
    /// Tests only ([`Decoder::decode_general`]): no one-pass walk of nested lines.
    general_only: bool,
}

impl Decoder {
    pub fn new(program: &Program) -> Decoder {
        let mut names: FxHashMap<String, NameId> = FxHashMap::default();
        let mut name_id = |name: &str| -> NameId {
            let next = NameId::try_from(names.len()).unwrap_or(NameId::MAX);
            *names.entry(name.to_owned()).or_insert(next)
        };
        let key_name = name_id(wire::first_segment(&program.schema.key));
        let type_name = name_id(wire::first_segment(&program.schema.type_));
        let time_name = name_id(wire::first_segment(&program.schema.time));
        let events: Vec<EventShape> = program
            .events
            .iter()
            .map(|e| EventShape {
                name: e.name.clone(),
                key: e.keyed_by.map_or(KeySource::Customer, KeySource::Field),
                fields: e
                    .fields
                    .iter()
                    .map(|f: &FieldDef| FieldShape {
                        name_id: name_id(wire::first_segment(f.path.as_deref().unwrap_or(&f.name))),
                        name: f.name.clone(),
                        ty: f.ty.clone(),
                        scalar: Scalar::of(&f.ty),
                        optional: f.optional || f.ty.is_optional(),
                        used: f.used,
                    })
                    .collect(),
            })
            .collect();
        // The wire names of the type member: an event's `from` strings, or its name.
        let kinds = NameTable::new(program.events.iter().enumerate().flat_map(|(i, e)| {
            let id = EventId::from_index(i);
            let own = e.wire.is_empty().then_some((e.name.as_bytes(), id));
            let from = e.wire.iter().filter_map(move |w| match w {
                WireValue::Str(s) => Some((s.as_bytes(), id)),
                WireValue::Int(_) => None,
            });
            own.into_iter().chain(from)
        }));
        let wire = wire::WireMap::new(program, &mut name_id).map(Box::new);
        let untyped_ignored = wire.is_some() || program.events.iter().any(|e| !e.wire.is_empty());
        let slots = vec![Slot::default(); names.len()];
        let mut starts = vec![false; program.events.len()];
        for t in &program.triggers {
            if let crate::ir::StartIr::On(patterns) = &t.start {
                for p in patterns {
                    if let Some(s) = starts.get_mut(p.event.index()) {
                        *s = true;
                    }
                }
            }
        }
        // A row of predictions per event type, unless that would be large.
        let successors_row = names.len() + 2;
        let rows = match successors_row * (program.events.len() + 1) {
            0..=65_536 => program.events.len() + 1,
            _ => 1,
        };
        let mut quoted = vec![QuotedName::NEVER; names.len()];
        let mut name_texts = vec![String::new(); names.len()];
        for (name, &id) in &names {
            if let Some(q) = quoted.get_mut(usize::from(id)) {
                *q = QuotedName::new(name.as_bytes());
            }
            if let Some(t) = name_texts.get_mut(usize::from(id)) {
                t.clone_from(name);
            }
        }
        Decoder {
            names: NameTable::new(names.iter().map(|(name, &id)| (name.as_bytes(), id))),
            quoted,
            successors: vec![NameId::MAX; successors_row * rows],
            successors_row,
            kind_rows: rows > 1,
            key_name,
            type_name,
            time_name,
            key_member: program.schema.key.clone(),
            type_member: program.schema.type_.clone(),
            time_member: program.schema.time.clone(),
            kinds,
            events,
            starts,
            toks: Vec::with_capacity(64),
            slots,
            generation: 0,
            scratch: String::new(),
            dates: DateCache::default(),
            flat_time: None,
            flat_kind: None,
            name_texts,
            repeat: None,
            unknown: UnknownNames::default(),
            wire,
            untyped_ignored,
            int_time: false,
            general_only: false,
        }
    }

    /// Whether the event just decoded had its time as an integer of epoch
    /// milliseconds (the default time format, or `epoch millis`): the session
    /// watches those for epoch seconds in disguise.
    #[inline(always)]
    pub fn time_was_int(&self) -> bool {
        self.int_time
    }

    /// Decode `line` (without its line terminator) into `out`. `out` is fully
    /// overwritten on [`Decoded::Event`] and left in an unspecified (but valid) state
    /// otherwise.
    pub fn decode(
        &mut self,
        line: &[u8],
        line_no: u64,
        interner: &mut Interner,
        out: &mut Event,
    ) -> Decoded {
        self.int_time = false;
        match self.decode_line(line, interner, out) {
            Ok(None) => {
                out.line = line_no;
                out.origin = match self.starts.get(out.kind.index()) {
                    Some(true) => xxhash_rust::xxh3::xxh3_64(line),
                    _ => 0,
                };
                Decoded::Event
            }
            Ok(Some(event_type)) => Decoded::Ignored { event_type },
            Err(reason) => Decoded::Rejected(Reject {
                line: line_no,
                reason,
            }),
        }
    }

    /// [`Decoder::decode`] without the wire mapping's one-pass walk, every wire-mapped
    /// line through the general path: for tests that check the walk changes no answer.
    #[doc(hidden)]
    pub fn decode_general(
        &mut self,
        line: &[u8],
        line_no: u64,
        interner: &mut Interner,
        out: &mut Event,
    ) -> Decoded {
        self.general_only = true;
        let decoded = self.decode(line, line_no, interner, out);
        self.general_only = false;
        decoded
    }

    /// `Ok(None)`: decoded; `Ok(Some(type))`: undeclared type.
    fn decode_line(
        &mut self,
        line: &[u8],
        interner: &mut Interner,
        out: &mut Event,
    ) -> Result<Option<String>, String> {
        // simdutf8 checks a line far faster than std (BENCHMARKS.md); on an invalid
        // line std says where.
        let text = match simdutf8::basic::from_utf8(line).or_else(|_| std::str::from_utf8(line)) {
            Ok(text) => text,
            Err(e) => return Err(format!("not valid UTF-8 (byte {})", e.valid_up_to() + 1)),
        };
        if u32::try_from(text.len()).is_err() {
            return Err("line longer than 4 GiB".into());
        }
        if self.wire.is_some() {
            return self.decode_wire(text, interner, out);
        }
        self.scan(text)?;

        let type_tok = self
            .member(self.type_name)
            .filter(|t| t.token != Token::Null);
        let Some(type_tok) = type_tok else {
            if self.untyped_ignored {
                return Ok(Some(self.untyped()));
            }
            return Err(format!("missing field `{}`", self.type_member));
        };
        if !type_tok.token.is_str() {
            return Err(format!(
                "field `{}` must be a string, found {}",
                self.type_member,
                type_tok.token.describe()
            ));
        }
        let kind = match (type_tok.token, self.flat_kind) {
            (Token::Str, Some((start, end, kind)))
                if start == type_tok.start && end == type_tok.end =>
            {
                kind
            }
            (Token::Str, _) => self.kinds.get_within(
                text.as_bytes(),
                type_tok.start as usize + 1,
                type_tok.str_body(text).len(),
            ),
            _ => {
                self.scratch.clear();
                json::unescape(type_tok.str_body(text), &mut self.scratch);
                self.kinds.get(self.scratch.as_bytes())
            }
        };
        let Some(kind) = kind else {
            self.scratch.clear();
            json::unescape(type_tok.str_body(text), &mut self.scratch);
            return Ok(Some(self.scratch.clone()));
        };
        let Some(shape) = self.events.get(kind.index()) else {
            return Err("internal: event table out of step with the program".into());
        };
        out.kind = kind;

        // The key first: a missing key is the most useful thing to say about a line.
        out.key.clear();
        match shape.key {
            KeySource::Customer => {
                let tok = self
                    .member(self.key_name)
                    .filter(|t| t.token != Token::Null);
                let Some(tok) = tok else {
                    return Err(format!("missing field `{}`", self.key_member));
                };
                // A plain non-empty string inline; `read_key` does the rest.
                let body = tok.str_body(text);
                if tok.token == Token::Str && !body.is_empty() {
                    out.key.push_str(body);
                } else {
                    read_key(text, tok, &mut out.key).map_err(|what| {
                        format!("field `{}` (the customer key) {what}", self.key_member)
                    })?;
                }
            }
            KeySource::Field(idx) => {
                let Some(field) = shape.fields.get(idx.index()) else {
                    return Err("internal: `keyed by` field out of range".into());
                };
                let tok = self
                    .member(field.name_id)
                    .filter(|t| t.token != Token::Null);
                read_keyed_by(text, tok, &mut out.key, &field.name, &shape.name)?;
            }
        }

        let time = self
            .member(self.time_name)
            .filter(|t| t.token != Token::Null);
        let Some(time) = time else {
            return Err(format!("missing field `{}`", self.time_member));
        };
        // The canonical UTC spelling inline; everything else (and every error) through
        // `read_time`, which tries that spelling again first, so the answer is the same.
        let canonical = match (time.token, self.flat_time) {
            (Token::Str, Some((start, ms))) if start == time.start => Some(ms),
            (Token::Str, _) => {
                parse_canonical_utc(time.str_bytes(text.as_bytes()), &mut self.dates)
            }
            _ => None,
        };
        // `parse_canonical_utc` gives only times in range; `read_time` checks the rest.
        out.ts = match canonical {
            Some(ms) => ms,
            None => {
                self.int_time = time.token == Token::Int;
                read_time(text, time, &mut self.scratch, &mut self.dates)
                    .map_err(|what| format!("field `{}`: {what}", self.time_member))?
            }
        };

        // Pushed one by one (the buffer's capacity is kept across lines), rather than
        // filled with `None` first and then overwritten.
        out.fields.clear();
        for field in &shape.fields {
            let tok = match self.member_slot(field.name_id) {
                Some(slot) if slot.tok.token != Token::Null => slot,
                _ if field.optional => {
                    out.fields.push(Value::None);
                    continue;
                }
                Some(_) => {
                    return Err(format!(
                        "field `{}` of {} is null, but it is required",
                        field.name, shape.name
                    ));
                }
                None => return Err(format!("missing field `{}` of {}", field.name, shape.name)),
            };
            // The common values inline, giving what `ValueReader::read` would. Not
            // through `FieldShape::read_inline` (the wire path's): as a call, even one
            // always inlined, the flat path cost 3.4M more instructions on `rules/`'s
            // first 300k events (BENCHMARKS.md).
            let bytes = || tok.tok.bytes(text.as_bytes());
            let inline = match (field.scalar, tok.tok.token) {
                (Scalar::Str, Token::Str) if field.used => {
                    Some(Value::Str(interner.intern(tok.tok.str_body(text))))
                }
                (Scalar::Str, Token::Str) => Some(Value::None),
                // Every number token is a finite `f64` (both scanners check): that is
                // the whole type check of a float nobody reads.
                (Scalar::Float, Token::Int | Token::Float) if !field.used => Some(Value::None),
                (Scalar::Float, Token::Int | Token::Float) => {
                    json::fast_f64(bytes()).map(Value::Float)
                }
                (Scalar::Int, Token::Int) => json::fast_i64(bytes()).map(Value::Int),
                _ => None,
            };
            let value = match inline {
                Some(value) => value,
                None => ValueReader {
                    text,
                    toks: &self.toks,
                    used: field.used,
                }
                .read(
                    tok.index as usize,
                    tok.tok,
                    &field.ty,
                    interner,
                    &mut self.scratch,
                )
                .map_err(|what| format!("field `{}` of {}: {what}", field.name, shape.name))?,
            };
            out.fields.push(value);
        }
        Ok(None)
    }

    /// Start a new line's generation of slots.
    fn next_generation(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // After 2^32 lines, stale slots could look current: clear them once.
            self.slots.iter_mut().for_each(|s| *s = Slot::default());
            self.generation = 1;
        }
        self.generation
    }

    /// Scan and walk the line, recording the value of every member the schema knows.
    /// A flat line (scalars, no escapes) takes one pass with no token buffer; any other
    /// line, and every malformed one, takes the general two-pass path, which alone
    /// words errors (so messages do not depend on which path saw the line first).
    fn scan(&mut self, text: &str) -> Result<(), String> {
        let generation = self.next_generation();
        let unknown = self.successors_row.saturating_sub(1);
        self.flat_time = None;
        self.flat_kind = None;
        self.unknown.clear();
        let mut scan = FlatScan {
            names: &self.names,
            quoted: &self.quoted,
            successors: &mut self.successors,
            slots: &mut self.slots,
            generation,
            previous: 0,
            unknown,
            row: 0,
            kind_row_len: if self.kind_rows {
                self.successors_row
            } else {
                0
            },
            kinds: &self.kinds,
            type_name: self.type_name,
            kind: &mut self.flat_kind,
            recognised: None,
            time_name: self.time_name,
            dates: &mut self.dates,
            time: &mut self.flat_time,
            repeated: false,
            others: &mut self.unknown,
        };
        let flat = json::walk_flat_with(text, &mut scan);
        // A repeated name: the general path finds which one first and words it.
        let repeated = scan.repeated;
        if flat && !repeated && !self.unknown.may_repeat() {
            return Ok(());
        }
        if flat && !repeated && self.unknown.first_repeat(text).is_none() {
            return Ok(());
        }
        self.lex_members(text)
    }

    /// The general two-pass path alone, for a line the wire mapping's one-pass walk
    /// declined. The wire path calls this, never `scan`: with two callers `scan` (and
    /// the flat walk in it) stayed out of line, and `rules/` cost 0.65% more
    /// instructions even with only the general part shared (BENCHMARKS.md).
    #[inline(never)]
    fn scan_general(&mut self, text: &str) -> Result<(), String> {
        self.lex_members(text)
    }

    /// The general two-pass path of [`Decoder::scan`]: every token lexed, then the
    /// top-level members put in their slots. Always inlined, so `scan` compiles as one
    /// piece as it did before the wire path shared this.
    #[inline(always)]
    fn lex_members(&mut self, text: &str) -> Result<(), String> {
        json::lex(text, &mut self.toks).map_err(|e| e.message())?;
        let generation = self.next_generation();
        self.repeat = None;
        self.unknown.clear();
        let names = &self.names;
        let slots = &mut self.slots;
        let scratch = &mut self.scratch;
        let toks = &self.toks;
        let repeat = &mut self.repeat;
        let unknown = &mut self.unknown;
        json::walk_object(text, toks, |name, value| {
            let id = match name.token {
                Token::Str => {
                    let len = (name.end - name.start).saturating_sub(2) as usize;
                    names.get_within(text.as_bytes(), name.start as usize + 1, len)
                }
                _ => {
                    scratch.clear();
                    json::unescape(name.str_body(text), scratch);
                    names.get(scratch.as_bytes())
                }
            };
            let name_start = name.start as usize + 1;
            let Some(id) = id else {
                match name.token {
                    Token::Str => unknown.push_plain(name_start, name.str_body(text).len()),
                    _ => unknown.push_unescaped(name_start, scratch),
                }
                return;
            };
            if let (Some(slot), Some(&tok)) = (slots.get_mut(usize::from(id)), toks.get(value)) {
                if slot.line == generation {
                    note_repeat(repeat, name_start, id);
                }
                *slot = Slot {
                    line: generation,
                    index: u32::try_from(value).unwrap_or(u32::MAX),
                    tok,
                };
            }
        })
        .map_err(|e| e.message())?;
        self.check_repeats(text)
    }

    /// `Err` when a member name on this line repeats an earlier one.
    #[inline]
    fn check_repeats(&mut self, text: &str) -> Result<(), String> {
        if self.repeat.is_none() && !self.unknown.may_repeat() {
            return Ok(());
        }
        self.repeat_error(text)
    }

    /// The first repeated name in line order, known or not.
    #[cold]
    fn repeat_error(&mut self, text: &str) -> Result<(), String> {
        let known = self.repeat.map(|(at, id)| {
            let name = self.name_texts.get(usize::from(id));
            (at, name.map_or("", String::as_str))
        });
        let other = self.unknown.first_repeat(text);
        let first = match (known, other) {
            (Some(k), Some(o)) => Some(if k.0 <= o.0 { k } else { o }),
            (k, o) => k.or(o),
        };
        match first {
            Some((_, name)) => Err(format!("duplicate member \"{}\"", quote(name))),
            None => Ok(()),
        }
    }

    /// The value of member `name` on this line, if present.
    #[inline]
    fn member_slot(&self, name: NameId) -> Option<Slot> {
        let slot = self.slots.get(usize::from(name))?;
        (slot.line == self.generation).then_some(*slot)
    }

    #[inline]
    fn member(&self, name: NameId) -> Option<Tok> {
        self.member_slot(name).map(|slot| slot.tok)
    }
}

/// The flat walk's view of a [`Decoder`]: it records each member's value token in
/// its name's slot, and recognises the name it expects next at sight.
struct FlatScan<'a> {
    names: &'a NameTable<NameId>,
    quoted: &'a [QuotedName],
    successors: &'a mut [NameId],
    slots: &'a mut [Slot],
    generation: u32,
    /// Index into `successors` of the member before, within the row.
    previous: usize,
    /// Where the row of this line's event type starts in `successors`.
    row: usize,
    /// The length of a row, or 0 when there is one row for all event types.
    kind_row_len: usize,
    kinds: &'a NameTable<EventId>,
    type_name: NameId,
    /// The `type` member's token range and event type.
    kind: &'a mut Option<(u32, u32, Option<EventId>)>,
    /// That index after a name the schema does not know.
    unknown: usize,
    /// The name recognised by the last `name_end`, and where it ends.
    recognised: Option<(NameId, usize)>,
    time_name: NameId,
    dates: &'a mut DateCache,
    /// Where the time member's value starts, and its milliseconds.
    time: &'a mut Option<(u32, i64)>,
    /// Whether a known name came twice (where and which, the general path finds).
    repeated: bool,
    /// The names the schema does not know.
    others: &'a mut UnknownNames,
}

impl FlatMembers for FlatScan<'_> {
    #[inline(always)]
    fn name_end(&mut self, line: &[u8], start: usize) -> Option<usize> {
        let expected = *self.successors.get(self.row + self.previous)?;
        let end = self
            .quoted
            .get(usize::from(expected))?
            .end_in(line, start)?;
        self.recognised = Some((expected, end));
        Some(end)
    }

    /// A time member in the canonical form with milliseconds (24 bytes, the form
    /// `trigc gen` and most producers write) is parsed here, which also shows it is
    /// plain (digits and separators): scanning it for its closing quote would cost
    /// more than parsing it.
    #[inline(always)]
    fn value_end(&mut self, line: &[u8], open: usize) -> Option<usize> {
        const LEN: usize = "2026-01-05T10:00:00.000Z".len();
        if !matches!(self.recognised, Some((id, _)) if id == self.time_name) {
            return None;
        }
        let close = open + 1 + LEN;
        let body = line.get(open + 1..close)?;
        if line.get(close) != Some(&b'"') {
            return None;
        }
        let ms = parse_canonical_utc(body, self.dates)?;
        *self.time = Some((u32::try_from(open).ok()?, ms));
        Some(close)
    }

    #[inline(always)]
    fn member(&mut self, line: &[u8], name_start: usize, name_len: usize, tok: Tok) {
        let id = match self.recognised.take() {
            Some((id, end)) if end == name_start + name_len => Some(id),
            _ => self.names.get_within(line, name_start, name_len),
        };
        if let Some(next) = self.successors.get_mut(self.row + self.previous) {
            *next = id.unwrap_or(NameId::MAX);
        }
        self.previous = id.map_or(self.unknown, |id| usize::from(id) + 1);
        // The event type, looked up once here (`decode_line` reuses it), picks the
        // row of predictions for the members after it.
        if id == Some(self.type_name) && tok.token == Token::Str {
            let len = tok.end.saturating_sub(tok.start).saturating_sub(2) as usize;
            let kind = self.kinds.get_within(line, tok.start as usize + 1, len);
            *self.kind = Some((tok.start, tok.end, kind));
            self.row = kind.map_or(0, |kind| (kind.index() + 1) * self.kind_row_len);
        }
        match id {
            Some(id) => {
                if let Some(slot) = self.slots.get_mut(usize::from(id)) {
                    self.repeated |= slot.line == self.generation;
                    *slot = Slot {
                        line: self.generation,
                        index: 0,
                        tok,
                    };
                }
            }
            None => self.others.push_plain(name_start, name_len),
        }
    }
}

/// Remember the first repeated known name of a line (the walks go in line order).
#[cold]
fn note_repeat(repeat: &mut Option<(u32, NameId)>, name_start: usize, id: NameId) {
    if repeat.is_none() {
        *repeat = Some((u32::try_from(name_start).unwrap_or(u32::MAX), id));
    }
}
