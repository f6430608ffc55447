//! Writing action records as NDJSON (docs/LANGUAGE.md §8): one JSON object per action,
//! members in a fixed order — `trigger, step, action, key, at, id`, then `url,
//! payload` (webhook), `template, to, payload` (email), `name, payload` (emit),
//! `field, value` (set) or `trigger_started` (enroll).
//!
//! Values: times as RFC 3339 UTC (`2026-01-05T10:30:00Z`, `.SSS` only when the
//! milliseconds are not zero), durations as Trig duration strings (`"1h30m"`), sets
//! as arrays sorted (strings by text, numbers numerically), NaN and infinities as
//! `null`, a stored event (`last(E)`) as the object of its present fields. The id is
//! 32 lowercase hex digits. Output is deterministic: the same records give the same
//! bytes.

use std::io::{self, Write};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::interp::compare;
use crate::interp::{Interner, Value};
use crate::ir::{Program, TriggerId};
use crate::runtime::{ActionBody, ActionRecord, Recipient};
use crate::time::format::{DateText, write_time, write_time_cached};
use crate::time::format_duration;

/// Records are handed to `W` in blocks of about this many bytes.
const FLUSH_AT: usize = 1 << 14;

/// Writes records to `W` through a buffer. IO errors are kept (the first one) and
/// stop further writes; the caller checks [`NdjsonSink::finish`].
pub struct NdjsonSink<W: Write> {
    out: W,
    /// Whole records not yet handed to `out`. Records are formatted straight into it
    /// (no per-record line copied into a `BufWriter`).
    pending: Vec<u8>,
    error: Option<io::Error>,
    written: u64,
    /// Per action (trigger, step, index within the step): the constant parts of its
    /// records, formatted by its first record.
    templates: FxHashMap<(TriggerId, u32, u32), RecordTemplate>,
    /// The date of the last record's `at`.
    last_date: Option<DateText>,
    /// The last shared payload object written, with its JSON: the records of one
    /// fan-out share one payload (the same `Arc`), written once and copied after.
    /// Holding the value keeps its allocation alive, so a pointer match is the same
    /// object, which is immutable.
    last_payload: Option<(Value, Vec<u8>)>,
}

/// The members of a record that are the same for every record of its action (see
/// [`ActionRecord::action_index`]): everything before the key's value, and the
/// action's constant member after the id up to the name of its first value member.
struct RecordTemplate {
    /// `{"trigger":…,"step":…,"action":…,"key":`
    head: Box<[u8]>,
    /// `,"url":"…","payload":` and the like.
    tail: Box<[u8]>,
}

impl RecordTemplate {
    fn of(record: &ActionRecord<'_>) -> RecordTemplate {
        let mut head = Vec::new();
        write_head(&mut head, record);
        let mut tail = Vec::new();
        write_constant_member(&mut tail, &record.body);
        RecordTemplate {
            head: head.into(),
            tail: tail.into(),
        }
    }
}

impl<W: Write> NdjsonSink<W> {
    pub fn new(out: W) -> NdjsonSink<W> {
        NdjsonSink {
            out,
            pending: Vec::with_capacity(FLUSH_AT + 4096),
            error: None,
            written: 0,
            templates: FxHashMap::default(),
            last_date: None,
            last_payload: None,
        }
    }

    pub fn write(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        if self.error.is_some() {
            return;
        }
        let buf = &mut self.pending;
        let template = self
            .templates
            .entry((record.trigger_id, record.step, record.action_index))
            .or_insert_with(|| RecordTemplate::of(record));
        buf.extend_from_slice(&template.head);
        write_instance_members(buf, record, &mut self.last_date);
        buf.extend_from_slice(&template.tail);
        let last = &mut self.last_payload;
        write_value_members(buf, &record.body, program, interner, &mut |buf, payload| {
            let Value::Object(members) = payload else {
                return write_value(buf, payload, program, interner);
            };
            if let Some((Value::Object(seen), json)) = last.as_ref()
                && Arc::ptr_eq(seen, members)
            {
                buf.extend_from_slice(json);
                return;
            }
            let start = buf.len();
            write_value(buf, payload, program, interner);
            // Only a payload held elsewhere too can come again.
            if Arc::strong_count(members) > 1 {
                let json = buf.get(start..).unwrap_or_default();
                match last {
                    Some((seen, bytes)) => {
                        *seen = payload.clone();
                        bytes.clear();
                        bytes.extend_from_slice(json);
                    }
                    None => *last = Some((payload.clone(), json.to_vec())),
                }
            }
        });
        buf.extend_from_slice(b"}\n");
        self.written += 1;
        if buf.len() >= FLUSH_AT {
            self.flush_pending();
        }
    }

    /// Forget the formatted constant parts of every action: the program changed
    /// (a reload), and its action numbers now name other actions.
    pub fn forget_templates(&mut self) {
        self.templates.clear();
        self.last_payload = None;
    }

    /// Hand the pending records to `out`; keep the first error.
    fn flush_pending(&mut self) {
        if let Err(e) = self.out.write_all(&self.pending) {
            self.error = Some(e);
        }
        self.pending.clear();
    }

    /// Hand every record accepted so far to `out` and flush it: before input that
    /// may stall, so decided actions do not wait in the buffer for more input.
    pub fn flush(&mut self) {
        if self.error.is_some() {
            return;
        }
        if !self.pending.is_empty() {
            self.flush_pending();
        }
        if let Err(e) = self.out.flush() {
            self.error = Some(e);
        }
    }

    /// Whether the reader of the output has gone (`trigc run ... | head`): nothing
    /// more can be written, so the run may stop.
    pub fn reader_gone(&self) -> bool {
        self.error
            .as_ref()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flush; the first IO error of the run, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.error.is_none() && !self.pending.is_empty() {
            self.flush_pending();
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

impl<W: Write> Drop for NdjsonSink<W> {
    /// Pending records are written (errors ignored) as a `BufWriter` would: a sink
    /// dropped without [`NdjsonSink::finish`] still delivers what it accepted.
    fn drop(&mut self) {
        if self.error.is_none() && !self.pending.is_empty() {
            let _ = self.out.write_all(&self.pending);
        }
    }
}

/// One record as a JSON object (no newline).
pub fn write_record(
    buf: &mut Vec<u8>,
    record: &ActionRecord<'_>,
    program: &Program,
    interner: &Interner,
) {
    write_head(buf, record);
    write_instance_members(buf, record, &mut None);
    write_constant_member(buf, &record.body);
    write_value_members(buf, &record.body, program, interner, &mut |buf, payload| {
        write_value(buf, payload, program, interner);
    });
    buf.push(b'}');
}

// A record in four parts (docs/LANGUAGE.md §8): the head and the constant member are the
// same for every record of an action, so `NdjsonSink` formats them once
// (`RecordTemplate`); the instance members and the value members vary.

/// `{"trigger":…,"step":…,"action":…,"key":`
fn write_head(buf: &mut Vec<u8>, record: &ActionRecord<'_>) {
    buf.extend_from_slice(b"{\"trigger\":");
    write_str(buf, record.trigger);
    buf.extend_from_slice(b",\"step\":");
    write_int(buf, i64::from(record.step));
    buf.extend_from_slice(b",\"action\":");
    write_str(buf, record.body.name());
    buf.extend_from_slice(b",\"key\":");
}

/// The key's value, `at` (its date from `last_date` when the same) and `id`.
fn write_instance_members(
    buf: &mut Vec<u8>,
    record: &ActionRecord<'_>,
    last_date: &mut Option<DateText>,
) {
    write_str(buf, record.key);
    buf.extend_from_slice(b",\"at\":\"");
    write_time_cached(buf, record.at, last_date);
    buf.extend_from_slice(b"\",\"id\":\"");
    write_hex128(buf, record.id);
    buf.push(b'"');
}

/// The action's constant member, up to the name of the first value member:
/// `,"url":"…","payload":`, `,"template":"…","to":`, `,"name":"…","payload":`,
/// `,"field":"…","value":` or `,"trigger_started":"…"`.
fn write_constant_member(buf: &mut Vec<u8>, body: &ActionBody<'_>) {
    let (name, text, next) = match body {
        ActionBody::Webhook { url, .. } => ("url", *url, "payload"),
        ActionBody::Email { template, .. } => ("template", *template, "to"),
        ActionBody::Emit { name, .. } => ("name", *name, "payload"),
        ActionBody::Set { field, .. } => ("field", *field, "value"),
        ActionBody::Enroll { trigger_started } => ("trigger_started", *trigger_started, ""),
    };
    // Member names are fixed and need no escaping: written as they are.
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\":");
    write_str(buf, text);
    if !next.is_empty() {
        buf.extend_from_slice(b",\"");
        buf.extend_from_slice(next.as_bytes());
        buf.extend_from_slice(b"\":");
    }
}

/// The values after [`write_constant_member`], with the `payload` member written by
/// `write_payload`.
fn write_value_members(
    buf: &mut Vec<u8>,
    body: &ActionBody<'_>,
    program: &Program,
    interner: &Interner,
    write_payload: &mut dyn FnMut(&mut Vec<u8>, &Value),
) {
    match body {
        ActionBody::Webhook { payload, .. } | ActionBody::Emit { payload, .. } => {
            write_payload(buf, payload);
        }
        ActionBody::Email { to, payload, .. } => {
            match to {
                Recipient::Value(v) => write_value(buf, v, program, interner),
                Recipient::Key(k) => write_str(buf, k),
            }
            buf.extend_from_slice(b",\"payload\":");
            write_payload(buf, payload);
        }
        ActionBody::Set { value, .. } => write_value(buf, value, program, interner),
        ActionBody::Enroll { .. } => {}
    }
}

/// A value as JSON.
pub fn write_value(buf: &mut Vec<u8>, value: &Value, program: &Program, interner: &Interner) {
    match value {
        Value::None => buf.extend_from_slice(b"null"),
        Value::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => write_int(buf, *i),
        Value::Float(f) => write_float(buf, *f),
        Value::Str(s) => write_str(buf, interner.resolve(*s)),
        Value::Time(t) => {
            buf.push(b'"');
            write_time(buf, *t);
            buf.push(b'"');
        }
        Value::Duration(d) => write_str(buf, &format_duration(*d)),
        Value::Set(items) => write_set(buf, items, program, interner),
        Value::List(items) => write_array(buf, items.iter(), program, interner),
        Value::Object(members) => {
            buf.push(b'{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write_str(buf, interner.resolve(*k));
                buf.push(b':');
                write_value(buf, v, program, interner);
            }
            buf.push(b'}');
        }
        Value::Event(stored) => {
            buf.push(b'{');
            let fields = program
                .events
                .get(stored.kind.index())
                .map_or(&[][..], |e| &e.fields[..]);
            let mut first = true;
            for (def, v) in fields.iter().zip(stored.fields.iter()) {
                if *v == Value::None {
                    continue;
                }
                if !first {
                    buf.push(b',');
                }
                first = false;
                write_str(buf, &def.name);
                buf.push(b':');
                write_value(buf, v, program, interner);
            }
            buf.push(b'}');
        }
    }
}

/// A set as an array sorted by [`compare`] (strings by text, numbers numerically).
fn write_set(buf: &mut Vec<u8>, items: &[Value], program: &Program, interner: &Interner) {
    // Sets are usually a few strings: their texts sorted on the stack. Equal texts
    // are the same bytes, so an unstable sort writes what the stable one would.
    const ON_STACK: usize = 16;
    if items.len() <= ON_STACK {
        let mut on_stack = [""; ON_STACK];
        let texts = on_stack.get_mut(..items.len()).unwrap_or_default();
        let mut all_strings = true;
        for (text, item) in texts.iter_mut().zip(items) {
            let Value::Str(s) = item else {
                all_strings = false;
                break;
            };
            *text = interner.resolve(*s);
        }
        if all_strings {
            texts.sort_unstable();
            buf.push(b'[');
            for (i, text) in texts.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write_str(buf, text);
            }
            buf.push(b']');
            return;
        }
    }
    let mut sorted: Vec<&Value> = items.iter().collect();
    sorted.sort_by(|a, b| compare(a, b, interner).unwrap_or(std::cmp::Ordering::Equal));
    write_array(buf, sorted.into_iter(), program, interner);
}

fn write_array<'v>(
    buf: &mut Vec<u8>,
    items: impl Iterator<Item = &'v Value>,
    program: &Program,
    interner: &Interner,
) {
    buf.push(b'[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_value(buf, v, program, interner);
    }
    buf.push(b']');
}

fn write_float(buf: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        // serde_json prints the shortest representation that reads back exactly.
        if serde_json::to_writer(&mut *buf, &f).is_err() {
            buf.extend_from_slice(b"null");
        }
    } else {
        buf.extend_from_slice(b"null");
    }
}

/// A JSON string literal.
pub fn write_str(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most strings (names, keys, templates, URLs) need no escape: one check, one copy.
    if needs_escape(bytes) {
        return write_escaped(buf, bytes);
    }
    buf.push(b'"');
    buf.extend_from_slice(bytes);
    buf.push(b'"');
}

/// [`write_str`] of a string that needs escapes (kept out of line: rare).
#[cold]
#[inline(never)]
fn write_escaped(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        buf.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            buf.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            buf.extend_from_slice(escape);
        }
        start = i + 1;
    }
    buf.extend_from_slice(bytes.get(start..).unwrap_or_default());
    buf.push(b'"');
}

/// Whether any byte is a control character, `"` or `\\`: eight bytes at a time (the
/// classic "has a zero byte" bit trick: exact as a yes/no answer for the whole word).
/// Words may overlap (a byte checked twice gives the same answer), so a string of
/// four bytes or more needs no byte-at-a-time tail.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let special = |x: u64| {
        below(x, 0x20)
            | below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            != 0
    };
    if let Some(last) = bytes.last_chunk::<8>() {
        let (words, _) = bytes.as_chunks::<8>();
        return words.iter().any(|w| special(u64::from_le_bytes(*w)))
            || special(u64::from_le_bytes(*last));
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        return special(
            u64::from(u32::from_le_bytes(*first)) | u64::from(u32::from_le_bytes(*last)) << 32,
        );
    }
    bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// A decimal integer, without going through `fmt`.
fn write_int(buf: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    if v < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(digits.get(at..).unwrap_or_default());
}

/// `HEX_PAIRS[b]`: the two lowercase hex digits of the byte `b`.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut b = 0;
    while b < 256 {
        pairs[b] = [HEX[b >> 4], HEX[b & 0xf]];
        b += 1;
    }
    pairs
};

/// 32 lowercase hex digits (`{:032x}`), a byte at a time.
fn write_hex128(buf: &mut Vec<u8>, id: u128) {
    let mut text = [[0u8; 2]; 16];
    for (pair, byte) in text.iter_mut().zip(id.to_be_bytes()) {
        *pair = HEX_PAIRS[usize::from(byte)];
    }
    buf.extend_from_slice(text.as_flattened());
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn values() {
        let program = Program::default();
        let mut interner = Interner::default();
        let (b, a) = (interner.intern("b"), interner.intern("a\"q"));
        let set = Value::Set(Arc::new(vec![Value::Str(b), Value::Str(a)]));
        let nums = Value::Set(Arc::new(vec![Value::Int(10), Value::Int(9)]));
        let obj = Value::Object(Arc::new(vec![
            (b, set),
            (a, nums),
            (b, Value::Float(f64::NAN)),
            (b, Value::Float(19.9)),
            (b, Value::Duration(1_800_000)),
            (b, Value::None),
        ]));
        let mut buf = Vec::new();
        write_value(&mut buf, &obj, &program, &interner);
        assert_eq!(
            String::from_utf8_lossy(&buf),
            r#"{"b":["a\"q","b"],"a\"q":[9,10],"b":null,"b":19.9,"b":"30m","b":null}"#
        );
    }

    #[test]
    fn hand_written_numbers_agree_with_fmt() {
        for v in [0i64, 1, 9, 10, 42, -7, 1_000_000, i64::MAX, i64::MIN] {
            let mut buf = Vec::new();
            write_int(&mut buf, v);
            assert_eq!(String::from_utf8_lossy(&buf), v.to_string());
        }
        for id in [
            0u128,
            1,
            0xdead_beef,
            u128::MAX,
            0x0123_4567_89ab_cdef_u128 << 60,
        ] {
            let mut buf = Vec::new();
            write_hex128(&mut buf, id);
            assert_eq!(String::from_utf8_lossy(&buf), format!("{id:032x}"));
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        // The word-at-a-time check agrees with a byte-by-byte one, wherever the byte is.
        for special in [0u8, 0x1f, b'"', b'\\', 0x7f, 0xc3, b' '] {
            for len in 0..20 {
                for at in 0..=len {
                    let mut bytes = vec![b'a'; len];
                    if let Some(b) = bytes.get_mut(at) {
                        *b = special;
                    }
                    let slow = bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                    assert_eq!(needs_escape(&bytes), slow, "{special:#x} at {at} of {len}");
                }
            }
        }
        let mut buf = Vec::new();
        write_str(&mut buf, "a\u{1}\n");
        assert_eq!(String::from_utf8_lossy(&buf), r#""a\u0001\n""#);
    }
}
