//! The event-line decoder (`trigc::io::decode`): one test per wire rule, the line
//! reader, and a property test checking the logos decoder against a plain reference
//! decoder built on serde_json.

use std::io::Cursor;

use proptest::prelude::*;
use serde_json::json;
use trigc::interp::{Interner, Value};
use trigc::io::lines::Line;
use trigc::io::{Decoded, Decoder, Lines, Reject};
use trigc::ir::{EventDef, EventId, FieldDef, FieldIdx, Program, Ty, WireSchema};
use trigc::runtime::Event;
use trigc::syntax::Span;

// ---------------------------------------------------------------------------------
// The test program, built by hand (it is plain data).

fn field(name: &str, ty: Ty, optional: bool) -> FieldDef {
    FieldDef { name: name.into(), span: Span::default(), ty, optional, used: true }
}

fn unused(mut f: FieldDef) -> FieldDef {
    f.used = false;
    f
}

fn event(name: &str, fields: Vec<FieldDef>) -> EventDef {
    EventDef {
        name: name.into(),
        span: Span::default(),
        profile: false,
        keyed_by: None,
        fields,
        profile_fields: Vec::new(),
    }
}

fn set(t: Ty) -> Ty {
    Ty::Set(Box::new(t))
}

fn list(t: Ty) -> Ty {
    Ty::List(Box::new(t))
}

/// The example shop schema plus one event with every wire type.
fn program() -> Program {
    let mut price_change = event(
        "PRICE_CHANGE",
        vec![
            field("product", Ty::Str, false),
            field("old_price", Ty::Float, false),
            field("new_price", Ty::Float, false),
        ],
    );
    price_change.keyed_by = Some(FieldIdx(0));
    Program {
        schema: WireSchema::default(),
        events: vec![
            event(
                "ADD_TO_CART",
                vec![
                    field("product", Ty::Str, false),
                    field("price", Ty::Float, false),
                    field("qty", Ty::Int, true),
                ],
            ),
            price_change,
            event("VISIT", vec![field("page", Ty::Str, true)]),
            event(
                "RICH",
                vec![
                    field("flag", Ty::Bool, false),
                    field("at", Ty::Time, false),
                    field("wait", Ty::Duration, false),
                    field("tags", set(Ty::Str), false),
                    field("nums", list(Ty::Int), false),
                    field("ids", set(Ty::Int), true),
                    field("when", Ty::Time, true),
                    unused(field("note", Ty::Str, false)),
                    unused(field("labels", set(Ty::Str), true)),
                ],
            ),
        ],
        ..Program::default()
    }
}

const ADD: EventId = EventId(0);
const PRICE: EventId = EventId(1);

struct Fixture {
    decoder: Decoder,
    interner: Interner,
    out: Event,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(&program())
    }

    fn with(program: &Program) -> Fixture {
        Fixture { decoder: Decoder::new(program), interner: Interner::default(), out: Event::default() }
    }

    fn decode(&mut self, line: &str) -> Decoded {
        self.decode_bytes(line.as_bytes())
    }

    fn decode_bytes(&mut self, line: &[u8]) -> Decoded {
        self.decoder.decode(line, 7, &mut self.interner, &mut self.out)
    }

    /// Decode a line that must be accepted.
    fn ok(&mut self, line: &str) -> &Event {
        match self.decode(line) {
            Decoded::Event => &self.out,
            other => panic!("expected an event from {line}, got {other:?}"),
        }
    }

    /// Decode a line that must be rejected; its reason.
    fn reject(&mut self, line: &str) -> String {
        match self.decode(line) {
            Decoded::Rejected(Reject { line: 7, reason }) => reason,
            other => panic!("expected a reject for {line}, got {other:?}"),
        }
    }

    fn str(&self, v: &Value) -> String {
        match v {
            Value::Str(sym) => self.interner.resolve(*sym).to_owned(),
            other => panic!("not a string: {other:?}"),
        }
    }
}

const T0: i64 = 1_767_607_200_000; // 2026-01-05T10:00:00Z

// ---------------------------------------------------------------------------------
// Accepting lines.

#[test]
fn decodes_the_spec_example_line() {
    let mut f = Fixture::new();
    let line = r#"{"type":"ADD_TO_CART","user":"u1","ts":"2026-01-05T10:00:00Z","product":"p1","price":19.9}"#;
    let ev = f.ok(line).clone();
    assert_eq!(ev.kind, ADD);
    assert_eq!(ev.key, "u1");
    assert_eq!(ev.ts, T0);
    assert_eq!(ev.line, 7);
    assert_eq!(f.str(&ev.fields[0]), "p1");
    assert_eq!(ev.fields[1], Value::Float(19.9));
    assert_eq!(ev.fields[2], Value::None, "absent optional qty");
}

#[test]
fn members_may_come_in_any_order_with_whitespace() {
    let mut f = Fixture::new();
    let line = "  { \"price\" : 5 , \"product\":\"p\", \"qty\": 2,\t\"ts\": 1767607200000, \"user\": \"u\" ,\"type\":\"ADD_TO_CART\" }\r";
    let ev = f.ok(line).clone();
    assert_eq!((ev.kind, ev.key.as_str(), ev.ts), (ADD, "u", T0));
    assert_eq!(ev.fields[1], Value::Float(5.0), "an integer is accepted for a float field");
    assert_eq!(ev.fields[2], Value::Int(2));
}

#[test]
fn unknown_members_are_ignored_whatever_they_hold() {
    let mut f = Fixture::new();
    let line = r#"{"type":"VISIT","user":"u","ts":0,"junk":{"a":[1,{"b":[[],{}]},"x\n"],"c":null},"more":[true,false,-1.5e3],"z":"\ud83d\ude00"}"#;
    let ev = f.ok(line);
    assert_eq!(ev.fields, vec![Value::None]);
}

#[test]
fn optional_fields_may_be_absent_or_null() {
    let mut f = Fixture::new();
    let ev = f.ok(r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p","price":1.5,"qty":null}"#);
    assert_eq!(ev.fields[2], Value::None);
    let ev = f.ok(r#"{"type":"VISIT","user":"u","ts":0,"page":"/home"}"#).clone();
    assert_eq!(f.str(&ev.fields[0]), "/home");
}

#[test]
fn duplicate_members_last_wins() {
    let mut f = Fixture::new();
    let line = r#"{"type":"ADD_TO_CART","user":"a","user":"b","ts":0,"product":"p","price":"bad","price":2}"#;
    let ev = f.ok(line);
    assert_eq!(ev.key, "b");
    assert_eq!(ev.fields[1], Value::Float(2.0));
}

#[test]
fn escapes_in_names_and_values_are_decoded() {
    let mut f = Fixture::new();
    let line = r#"{"ty\u0070e":"ADD_\u0054O_CART","user":"\u00e9l\u00e8ve\n","ts":"2026-01-05T10:00:00Z","product":"a\"b\\c\/d \ud83d\ude00","price":1}"#;
    let ev = f.ok(line).clone();
    assert_eq!(ev.key, "élève\n");
    assert_eq!(f.str(&ev.fields[0]), "a\"b\\c/d 😀");
}

#[test]
fn integer_keys_use_their_decimal_text() {
    let mut f = Fixture::new();
    assert_eq!(f.ok(r#"{"type":"VISIT","user":42,"ts":0}"#).key, "42");
    assert_eq!(f.ok(r#"{"type":"VISIT","user":-7,"ts":0}"#).key, "-7");
    assert_eq!(f.ok(r#"{"type":"VISIT","user":18446744073709551615,"ts":0}"#).key, "18446744073709551615");
    let why = f.reject(r#"{"type":"VISIT","user":18446744073709551616,"ts":0}"#);
    assert!(why.contains("out of the 64-bit range"), "{why}");
}

#[test]
fn keyed_by_events_take_their_key_from_the_field() {
    let mut f = Fixture::new();
    let line = r#"{"type":"PRICE_CHANGE","ts":"2026-01-05T10:00:00Z","product":"p9","old_price":10,"new_price":8.5}"#;
    let ev = f.ok(line).clone();
    assert_eq!((ev.kind, ev.key.as_str()), (PRICE, "p9"));
    assert_eq!(f.str(&ev.fields[0]), "p9");
    // The customer key member, when present anyway, does not route it.
    let ev = f.ok(r#"{"type":"PRICE_CHANGE","user":"u1","ts":0,"product":"p9","old_price":1,"new_price":2}"#);
    assert_eq!(ev.key, "p9");
    assert_eq!(
        f.reject(r#"{"type":"PRICE_CHANGE","user":"u1","ts":0,"old_price":1,"new_price":2}"#),
        "`product` (the key of PRICE_CHANGE, keyed by product) is missing"
    );
    assert_eq!(
        f.reject(r#"{"type":"PRICE_CHANGE","ts":0,"product":null,"old_price":1,"new_price":2}"#),
        "`product` (the key of PRICE_CHANGE, keyed by product) is missing"
    );
    let why = f.reject(r#"{"type":"PRICE_CHANGE","ts":0,"product":1.5,"old_price":1,"new_price":2}"#);
    assert!(why.contains("must be a string or an integer, found float"), "{why}");
}

#[test]
fn times_are_rfc3339_with_any_offset_or_epoch_millis() {
    let mut f = Fixture::new();
    let at = |f: &mut Fixture, ts: &str| f.ok(&format!(r#"{{"type":"VISIT","user":"u","ts":{ts}}}"#)).ts;
    assert_eq!(at(&mut f, r#""2026-01-05T10:00:00Z""#), T0);
    assert_eq!(at(&mut f, r#""2026-01-05T11:30:00+01:30""#), T0);
    assert_eq!(at(&mut f, r#""2026-01-05T10:00:00.250Z""#), T0 + 250);
    assert_eq!(at(&mut f, r#""2026-01-05T10:00:00.2509Z""#), T0 + 250, "sub-ms digits truncate");
    assert_eq!(at(&mut f, r#""2026-01-05t10:00:00z""#), T0);
    assert_eq!(at(&mut f, "1767607200000"), T0);
    assert_eq!(at(&mut f, "-1"), -1);
    assert_eq!(
        f.reject(r#"{"type":"VISIT","user":"u","ts":"2026-13-01T00:00:00Z"}"#),
        "field `ts`: unparsable time `2026-13-01T00:00:00Z`: input is out of range"
    );
    assert_eq!(
        f.reject(r#"{"type":"VISIT","user":"u","ts":"2026-01-05"}"#),
        "field `ts`: unparsable time `2026-01-05`: premature end of input"
    );
    assert!(f.reject(r#"{"type":"VISIT","user":"u","ts":"2026-02-30T00:00:00Z"}"#).contains("unparsable time"));
    assert!(f.reject(r#"{"type":"VISIT","user":"u","ts":"yesterday"}"#).contains("unparsable time `yesterday`"));
    let why = f.reject(r#"{"type":"VISIT","user":"u","ts":1.7e12}"#);
    assert_eq!(why, "field `ts`: expected a time (RFC 3339 string or epoch milliseconds), found float");
}

fn rich(extra: &str) -> String {
    let base = r#""type":"RICH","user":"u","ts":0,"flag":true,"at":"2026-01-05T10:00:00Z","wait":"1h30m","tags":["b","a","b"],"nums":[3,1,3],"note":"n""#;
    format!("{{{base}{extra}}}")
}

#[test]
fn typed_fields_of_every_kind() {
    let mut f = Fixture::new();
    let ev = f.ok(&rich(r#","ids":[3,-1,3,2],"when":1000"#)).clone();
    assert_eq!(ev.fields[0], Value::Bool(true));
    assert_eq!(ev.fields[1], Value::Time(T0));
    assert_eq!(ev.fields[2], Value::Duration(5_400_000));
    let Value::Set(tags) = &ev.fields[3] else { panic!("tags: {:?}", ev.fields[3]) };
    let tags: Vec<String> = tags.iter().map(|v| f.str(v)).collect();
    // Sorted by symbol (interning order: "b" first), without duplicates.
    assert_eq!(tags, ["b", "a"]);
    assert_eq!(ev.fields[4], Value::List(vec![Value::Int(3), Value::Int(1), Value::Int(3)].into()));
    assert_eq!(ev.fields[5], Value::Set(vec![Value::Int(-1), Value::Int(2), Value::Int(3)].into()));
    assert_eq!(ev.fields[6], Value::Time(1000));
    assert_eq!(ev.fields[7], Value::None, "unused field is not materialised");
    let ev = f.ok(&rich(r#","wait":90000"#));
    assert_eq!(ev.fields[2], Value::Duration(90_000), "duration as integer ms; last member wins");
}

#[test]
fn wrong_types_are_rejected_with_the_field_named() {
    let mut f = Fixture::new();
    let add = |extra: &str| format!(r#"{{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p","price":1{extra}}}"#);
    assert_eq!(f.reject(&add(r#","price":"12""#)), "field `price` of ADD_TO_CART: expected float, found string");
    assert_eq!(f.reject(&add(r#","qty":1.5"#)), "field `qty` of ADD_TO_CART: expected int, found float");
    assert_eq!(f.reject(&add(r#","qty":1e2"#)), "field `qty` of ADD_TO_CART: expected int, found float");
    assert_eq!(f.reject(&add(r#","product":7"#)), "field `product` of ADD_TO_CART: expected string, found int");
    assert_eq!(f.reject(&add(r#","product":["p"]"#)), "field `product` of ADD_TO_CART: expected string, found array");
    assert_eq!(f.reject(&add(r#","qty":{}"#)), "field `qty` of ADD_TO_CART: expected int, found object");
    assert!(f.reject(&add(r#","qty":9223372036854775808"#)).contains("integer out of range"));
    assert_eq!(
        f.reject(&rich(r#","tags":["a",1]"#)),
        "field `tags` of RICH: element 2: expected string, found int"
    );
    assert!(f.reject(&rich(r#","tags":"a""#)).contains("expected set<string> (an array), found string"));
    assert!(f.reject(&rich(r#","tags":[null]"#)).contains("element 1: expected string, found null"));
    assert!(f.reject(&rich(r#","wait":"30""#)).contains("unparsable duration `30`"));
    assert!(f.reject(&rich(r#","wait":1.5"#)).contains("field `wait` of RICH: expected duration"));
    assert!(f.reject(&rich(r#","flag":"true""#)).contains("expected bool, found string"));
    assert!(f.reject(&rich(r#","at":"noon""#)).contains("field `at` of RICH: unparsable time `noon`"));
    // Unused fields are still type-checked.
    assert_eq!(f.reject(&rich(r#","note":5"#)), "field `note` of RICH: expected string, found int");
    assert!(f.reject(&rich(r#","labels":[1]"#)).contains("field `labels` of RICH: element 1"));
}

#[test]
fn missing_or_null_required_fields_are_rejected() {
    let mut f = Fixture::new();
    assert_eq!(f.reject(r#"{"type":"VISIT","ts":0}"#), "missing field `user`");
    assert_eq!(f.reject(r#"{"type":"VISIT","user":null,"ts":0}"#), "missing field `user`");
    assert_eq!(f.reject(r#"{"type":"VISIT","user":"u"}"#), "missing field `ts`");
    assert_eq!(f.reject(r#"{"user":"u","ts":0}"#), "missing field `type`");
    assert_eq!(f.reject(r#"{"type":3,"user":"u","ts":0}"#), "field `type` must be a string, found int");
    assert_eq!(f.reject(r#"{"type":"VISIT","user":"","ts":0}"#), "field `user` (the customer key) is an empty string");
    assert_eq!(
        f.reject(r#"{"type":"VISIT","user":true,"ts":0}"#),
        "field `user` (the customer key) must be a string or an integer, found bool"
    );
    assert_eq!(
        f.reject(r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p"}"#),
        "missing field `price` of ADD_TO_CART"
    );
    assert_eq!(
        f.reject(r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p","price":null}"#),
        "field `price` of ADD_TO_CART is null, but it is required"
    );
}

#[test]
fn undeclared_event_types_are_ignored() {
    let mut f = Fixture::new();
    assert_eq!(
        f.decode(r#"{"type":"LOGIN","user":"u","ts":0}"#),
        Decoded::Ignored { event_type: "LOGIN".into() }
    );
    // Its shape is unknown, so nothing else about it is checked...
    assert_eq!(f.decode(r#"{"type":"LOG\u0049N"}"#), Decoded::Ignored { event_type: "LOGIN".into() });
    // ... but it must still be JSON.
    assert!(matches!(f.decode(r#"{"type":"LOGIN",}"#), Decoded::Rejected(_)));
}

#[test]
fn only_read_fields_are_interned() {
    let mut f = Fixture::new();
    f.ok(&rich(r#","note":"a very unique note","labels":["unique label"]"#));
    assert_eq!(f.interner.get("a very unique note"), None);
    assert_eq!(f.interner.get("unique label"), None);
    assert!(f.interner.get("a").is_some(), "used set members are interned");
    // Nor are the key, the type, or unknown members.
    f.ok(r#"{"type":"VISIT","user":"customer-123","ts":0,"other":"zzz"}"#);
    assert_eq!(f.interner.get("customer-123"), None);
    assert_eq!(f.interner.get("VISIT"), None);
    assert_eq!(f.interner.get("zzz"), None);
}

#[test]
fn a_custom_wire_schema_names_the_envelope() {
    let mut p = program();
    p.schema = WireSchema { key: "customer_id".into(), type_: "event".into(), time: "at".into() };
    let mut f = Fixture::with(&p);
    let ev = f.ok(r#"{"event":"VISIT","customer_id":"c","at":"2026-01-05T10:00:00Z","user":5,"ts":"x","type":1}"#);
    assert_eq!((ev.key.as_str(), ev.ts), ("c", T0));
    assert_eq!(f.reject(r#"{"event":"VISIT","at":0}"#), "missing field `customer_id`");
    // `at` is both the envelope time and a RICH field: one member serves both.
    let ev = f.ok(r#"{"event":"RICH","customer_id":"c","at":5,"flag":false,"wait":0,"tags":[],"nums":[],"note":""}"#);
    assert_eq!((ev.ts, &ev.fields[1]), (5, &Value::Time(5)));
}

#[test]
fn the_event_buffers_are_reused_across_lines() {
    let mut f = Fixture::new();
    f.ok(&rich(""));
    let ev = f.ok(r#"{"type":"VISIT","user":"u2","ts":1}"#);
    assert_eq!((ev.key.as_str(), ev.fields.len()), ("u2", 1), "no leftovers from the previous line");
}

// ---------------------------------------------------------------------------------
// Malformed JSON.

#[test]
fn malformed_lines_are_rejected_with_a_reason() {
    let mut f = Fixture::new();
    let cases: &[(&str, &str)] = &[
        ("", "not a JSON object (empty line)"),
        (r#"["type","VISIT"]"#, "not a JSON object (found array)"),
        ("\"VISIT\"", "not a JSON object (found string)"),
        ("42", "not a JSON object (found int)"),
        (r#"{"type":"VISIT","user":"u","ts":0"#, "expected `,` or `}`, found the end of the line"),
        (r#"{"type":"VISIT","user":"u","ts":0}}"#, "trailing characters after the object"),
        (r#"{"type":"VISIT","user":"u","ts":0} x"#, "unexpected word `x`"),
        (r#"{"type":"VISIT","user":"u","ts":0}{}"#, "trailing characters after the object"),
        (r#"{"type":"VISIT","user":"u\q","ts":0}"#, "invalid escape `\\q` in string"),
        (r#"{"type":"VISIT","user":"\ud800","ts":0}"#, "unpaired UTF-16 surrogate escape in string"),
        (r#"{"type":"VISIT","user":"\udc00x","ts":0}"#, "unpaired UTF-16 surrogate escape in string"),
        (r#"{"type":"VISIT","user":"\u12","ts":0}"#, "invalid `\\u` escape in string"),
        ("{\"type\":\"VISIT\",\"user\":\"a\tb\",\"ts\":0}", "control character '\\t' in string (escape it)"),
        (r#"{"type":"VISIT","user":"u","ts":0,"x":"abc}"#, "unterminated string"),
        (r#"{"type":"VISIT","user":"u","ts":01}"#, "expected `,` or `}`, found `1`"),
        (r#"{"type":"VISIT","user":"u","ts":1.}"#, "unexpected character `.`"),
        (r#"{"type":"VISIT","user":"u","ts":-}"#, "malformed number `-`"),
        (r#"{"type":"VISIT","user":"u","ts":0,"x":1e400}"#, "number out of range `1e400`"),
        (r#"{"type":"VISIT","user":"u","ts":0,}"#, "expected a member name (a string), found `}`"),
        (r#"{"type":"VISIT","user":"u","ts":0,"x":[1,]}"#, "expected a value, found `]`"),
        (r#"{"type":"VISIT","user":"u","ts":0,"x":[1 2]}"#, "expected `,` or `]`, found `2`"),
        (r#"{'type':'VISIT'}"#, "unexpected character `'`"),
        (r#"{"type" "VISIT"}"#, "expected `:`, found `\"VISIT\"`"),
        (r#"{"type":TRUE}"#, "unexpected word `TRUE`"),
        (r#"{"type":"VISIT","user":"u","ts":0,"x":{1:2}}"#, "expected a member name (a string), found `1`"),
        ("{\"type\":\"VISIT\"}\u{c}", "unexpected character `\\u{c}`"),
    ];
    for (line, want) in cases {
        let why = f.reject(line);
        assert!(why.starts_with("invalid JSON at column ") || why.starts_with("not a JSON object"), "{line}: {why}");
        assert!(why.ends_with(want), "{line}:\n  got  {why}\n  want …{want}");
    }
    assert_eq!(f.reject(r#"{"a":1,}"#), "invalid JSON at column 8: expected a member name (a string), found `}`");
}

#[test]
fn invalid_utf8_is_rejected() {
    let mut f = Fixture::new();
    let line = b"{\"type\":\"VISIT\",\"user\":\"\xff\",\"ts\":0}";
    match f.decode_bytes(line) {
        Decoded::Rejected(r) => assert_eq!(r.reason, "not valid UTF-8 (byte 25)"),
        other => panic!("{other:?}"),
    }
}

fn nested(depth: usize) -> String {
    format!(r#"{{"type":"VISIT","user":"u","ts":0,"x":{}1{}}}"#, "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn nesting_is_bounded() {
    let mut f = Fixture::new();
    // The line's own object is level 1.
    f.ok(&nested(63));
    assert!(f.reject(&nested(64)).ends_with("nested deeper than 64 levels"));
    assert!(f.reject(&nested(100_000)).ends_with("nested deeper than 64 levels"));
}

#[test]
fn reject_displays_with_its_line_number() {
    let r = Reject { line: 17, reason: "not a JSON object (found array)".into() };
    assert_eq!(r.to_string(), "line 17: not a JSON object (found array)");
}

// ---------------------------------------------------------------------------------
// The line reader.

fn read_all(input: &[u8]) -> (Vec<(u64, Vec<u8>)>, u64, u64) {
    let mut lines = Lines::new(Cursor::new(input.to_vec()));
    let mut got = Vec::new();
    while let Some(Line { number, bytes }) = lines.next_line().expect("in-memory read") {
        got.push((number, bytes.to_vec()));
    }
    (got, lines.blank(), lines.lines_read())
}

#[test]
fn lines_are_numbered_and_blank_ones_counted() {
    let (got, blank, read) = read_all(b"a\r\n\n  \t\r\nb\nc\r\n\xff\xfe\nlast");
    let want: Vec<(u64, Vec<u8>)> = vec![
        (1, b"a".to_vec()),
        (4, b"b".to_vec()),
        (5, b"c".to_vec()),
        (6, b"\xff\xfe".to_vec()),
        (7, b"last".to_vec()),
    ];
    assert_eq!(got, want);
    assert_eq!((blank, read), (2, 7));
    let (got, blank, read) = read_all(b"");
    assert_eq!((got.len(), blank, read), (0, 0, 0));
    let (got, _, read) = read_all(b"x\n");
    assert_eq!((got.len(), read), (1, 1), "a final newline does not make an extra line");
}

#[test]
fn lines_feed_the_decoder() {
    let input = b"{\"type\":\"VISIT\",\"user\":\"u\",\"ts\":0}\r\n\n{\"type\":1}\n";
    let mut lines = Lines::new(Cursor::new(input.to_vec()));
    let mut f = Fixture::new();
    let mut results = Vec::new();
    while let Some(line) = lines.next_line().expect("read") {
        results.push(f.decoder.decode(line.bytes, line.number, &mut f.interner, &mut f.out));
    }
    assert_eq!(results[0], Decoded::Event);
    assert_eq!(
        results[1],
        Decoded::Rejected(Reject { line: 3, reason: "field `type` must be a string, found int".into() })
    );
}

// ---------------------------------------------------------------------------------
// The reference decoder: the same rules, written plainly over serde_json.

/// A decoded value with strings resolved, comparable across the two decoders.
#[derive(Clone, Debug, PartialEq)]
enum V {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Time(i64),
    Duration(i64),
    Set(Vec<V>),
    List(Vec<V>),
}

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Event { kind: u32, key: String, ts: i64, fields: Vec<V> },
    Ignored(String),
    Rejected,
}

fn to_v(v: &Value, interner: &Interner) -> V {
    match v {
        Value::None => V::None,
        Value::Bool(b) => V::Bool(*b),
        Value::Int(i) => V::Int(*i),
        Value::Float(x) => V::Float(*x),
        Value::Str(s) => V::Str(interner.resolve(*s).to_owned()),
        Value::Time(t) => V::Time(*t),
        Value::Duration(d) => V::Duration(*d),
        Value::Set(items) => V::Set(sorted(items.iter().map(|v| to_v(v, interner)).collect())),
        Value::List(items) => V::List(items.iter().map(|v| to_v(v, interner)).collect()),
        other => panic!("the decoder does not make {other:?}"),
    }
}

/// Sets compared as sorted by text / number (symbol order depends on interning order).
fn sorted(mut items: Vec<V>) -> Vec<V> {
    items.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    items.dedup();
    items
}

fn ours(decoder: &mut Decoder, line: &str) -> Outcome {
    let mut interner = Interner::default();
    let mut out = Event::default();
    match decoder.decode(line.as_bytes(), 1, &mut interner, &mut out) {
        Decoded::Event => Outcome::Event {
            kind: out.kind.0,
            key: out.key.clone(),
            ts: out.ts,
            fields: out.fields.iter().map(|v| to_v(v, &interner)).collect(),
        },
        Decoded::Ignored { event_type } => Outcome::Ignored(event_type),
        Decoded::Rejected(_) => Outcome::Rejected,
    }
}

fn reference(program: &Program, line: &str) -> Outcome {
    use serde_json::Value as J;
    let Ok(J::Object(obj)) = serde_json::from_str::<J>(line) else { return Outcome::Rejected };
    let get = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let Some(J::String(kind)) = get(&program.schema.type_) else { return Outcome::Rejected };
    let Some(id) = program.events.iter().position(|e| &e.name == kind) else {
        return Outcome::Ignored(kind.clone());
    };
    let def = &program.events[id];
    let key_member = match def.keyed_by {
        Some(f) => def.fields[f.index()].name.as_str(),
        None => program.schema.key.as_str(),
    };
    let key = match get(key_member) {
        Some(J::String(s)) if !s.is_empty() => s.clone(),
        Some(J::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return Outcome::Rejected,
    };
    let Some(ts) = get(&program.schema.time).and_then(ref_time) else { return Outcome::Rejected };
    let mut fields = Vec::new();
    for f in &def.fields {
        let v = match get(&f.name) {
            None if f.optional => V::None,
            None => return Outcome::Rejected,
            Some(j) => match ref_value(j, &f.ty) {
                Some(_) if !f.used => V::None,
                Some(v) => v,
                None => return Outcome::Rejected,
            },
        };
        fields.push(v);
    }
    Outcome::Event { kind: u32::try_from(id).unwrap_or(u32::MAX), key, ts, fields }
}

fn ref_time(j: &serde_json::Value) -> Option<i64> {
    match j {
        serde_json::Value::String(s) => {
            chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
        }
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn ref_duration(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.chars().next()? {
                's' => (1_000, 1),
                'm' => (60_000, 1),
                'h' => (3_600_000, 1),
                'd' => (86_400_000, 1),
                'w' => (604_800_000, 1),
                _ => return None,
            }
        };
        rest = &rest[len..];
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
}

fn ref_value(j: &serde_json::Value, ty: &Ty) -> Option<V> {
    use serde_json::Value as J;
    Some(match (ty, j) {
        (Ty::Optional(_), J::Null) => V::None,
        (Ty::Optional(t), j) => ref_value(j, t)?,
        (Ty::Bool, J::Bool(b)) => V::Bool(*b),
        (Ty::Int, J::Number(n)) => V::Int(n.as_i64()?),
        (Ty::Float, J::Number(n)) => V::Float(n.as_f64()?),
        (Ty::Str, J::String(s)) => V::Str(s.clone()),
        (Ty::Time, j) => V::Time(ref_time(j)?),
        (Ty::Duration, J::Number(n)) => V::Duration(n.as_i64()?),
        (Ty::Duration, J::String(s)) => V::Duration(ref_duration(s)?),
        (Ty::Set(t), J::Array(items)) => {
            V::Set(sorted(items.iter().map(|j| ref_value(j, t)).collect::<Option<Vec<_>>>()?))
        }
        (Ty::List(t), J::Array(items)) => {
            V::List(items.iter().map(|j| ref_value(j, t)).collect::<Option<Vec<_>>>()?)
        }
        _ => return None,
    })
}

/// Equal, with floats compared to 1e-12 relative (serde_json's default float parser
/// may differ from the correctly rounded std one in the last bit).
fn same(a: &Outcome, b: &Outcome) -> bool {
    fn v_same(a: &V, b: &V) -> bool {
        match (a, b) {
            (V::Float(x), V::Float(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
            (V::Set(x), V::Set(y)) | (V::List(x), V::List(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| v_same(a, b))
            }
            _ => a == b,
        }
    }
    match (a, b) {
        (
            Outcome::Event { kind, key, ts, fields },
            Outcome::Event { kind: k2, key: key2, ts: ts2, fields: f2 },
        ) => {
            kind == k2
                && key == key2
                && ts == ts2
                && fields.len() == f2.len()
                && fields.iter().zip(f2).all(|(a, b)| v_same(a, b))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------
// Generated lines.

fn arb_junk() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1e6f64..1e6).prop_map(serde_json::Value::from),
        "[a-z\"\\\\/\u{e9}\u{1F600}\n]{0,6}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_time() -> impl Strategy<Value = serde_json::Value> {
    // Mostly in range; sometimes any two digits (month 13, February 30, hour 24).
    let parts = prop_oneof![
        4 => (1960i32..2100, 1u32..13, 1u32..29, 0u32..24, 0u32..60, 0u32..60),
        1 => (0i32..10000, 0u32..100, 0u32..100, 0u32..100, 0u32..100, 0u32..100),
    ];
    let text = (parts, 0usize..5, 0u32..4)
        .prop_map(|((y, mo, d, h, mi, s), frac, zone)| {
            let frac = match frac {
                0 => String::new(),
                n => format!(".{}", "123456789".get(..n * 2).unwrap_or("5")),
            };
            let zone = ["Z", "+01:00", "-05:30", "z"][zone as usize];
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
        });
    prop_oneof![
        20 => text.prop_map(serde_json::Value::from),
        6 => (-1i64 << 42..1i64 << 42).prop_map(serde_json::Value::from),
        1 => Just(json!("2026-01-05")),
        1 => Just(json!(1.5e12)),
    ]
}

/// A value of type `ty`, usually well-typed, sometimes not.
fn arb_typed(ty: &Ty) -> BoxedStrategy<serde_json::Value> {
    let good: BoxedStrategy<serde_json::Value> = match ty {
        Ty::Bool => any::<bool>().prop_map(serde_json::Value::from).boxed(),
        Ty::Int => prop_oneof![any::<i64>(), -5i64..5].prop_map(serde_json::Value::from).boxed(),
        Ty::Float => prop_oneof![
            (-1e9f64..1e9).prop_map(serde_json::Value::from),
            (-1000i64..1000).prop_map(serde_json::Value::from),
        ]
        .boxed(),
        Ty::Str => "[a-z0-9\\-\"\\\\\u{e9}]{0,8}".prop_map(serde_json::Value::from).boxed(),
        Ty::Time => arb_time().boxed(),
        Ty::Duration => prop_oneof![
            (0i64..1 << 40).prop_map(serde_json::Value::from),
            "([0-9]{1,3}(ms|s|m|h|d|w)){1,3}".prop_map(serde_json::Value::from),
            "[0-9a-z]{0,4}".prop_map(serde_json::Value::from),
        ]
        .boxed(),
        Ty::Set(t) | Ty::List(t) => {
            prop::collection::vec(arb_typed(t), 0..5).prop_map(serde_json::Value::from).boxed()
        }
        Ty::Optional(t) => arb_typed(t),
        other => panic!("no wire values for {other:?}"),
    };
    prop_oneof![40 => good, 1 => Just(serde_json::Value::Null), 1 => arb_junk()].boxed()
}

/// One line's members (in order, names possibly repeated) before serialisation.
fn arb_members(program: &Program) -> impl Strategy<Value = Vec<(String, serde_json::Value)>> {
    let names: Vec<String> = program.events.iter().map(|e| e.name.clone()).collect();
    let program = program.clone();
    let kind = prop_oneof![
        16 => prop::sample::select(names).prop_map(serde_json::Value::from),
        1 => Just(json!("UNDECLARED")),
        1 => arb_junk(),
    ];
    let key = prop_oneof![
        24 => "[a-z0-9]{1,6}".prop_map(serde_json::Value::from),
        1 => Just(json!("")),
        4 => any::<i64>().prop_map(serde_json::Value::from),
        1 => Just(json!(u64::MAX)),
        1 => arb_junk(),
    ];
    // Usually the whole envelope; sometimes one member is left out.
    let keep = prop_oneof![
        24 => Just([true; 3]),
        1 => Just([false, true, true]),
        1 => Just([true, false, true]),
        1 => Just([true, true, false]),
    ];
    (kind, key, arb_time(), keep).prop_flat_map(move |(kind, key, ts, keep)| {
        let def = kind.as_str().and_then(|k| program.events.iter().find(|e| e.name == k)).cloned();
        let mut envelope = Vec::new();
        for (keep, name, value) in [
            (keep[0], "type", kind.clone()),
            (keep[1], "user", key.clone()),
            (keep[2], "ts", ts.clone()),
        ] {
            if keep {
                envelope.push((name.to_owned(), value));
            }
        }
        let fields: Vec<BoxedStrategy<Option<(String, serde_json::Value)>>> = def
            .iter()
            .flat_map(|d| d.fields.iter())
            .map(|f| {
                let name = f.name.clone();
                let present = arb_typed(&f.ty).prop_map(move |v| Some((name.clone(), v)));
                let absent = if f.optional { 3 } else { 1 };
                prop_oneof![10 => present, absent => Just(None)].boxed()
            })
            .collect();
        let junk = prop::collection::vec(("[a-z]{1,6}", arb_junk()), 0..3);
        (Just(envelope), fields, junk, any::<prop::sample::Index>(), any::<u64>())
    })
    .prop_map(|(envelope, fields, junk, _at, seed)| {
        let mut members: Vec<(String, serde_json::Value)> = envelope;
        members.extend(fields.into_iter().flatten());
        members.extend(junk);
        // Shuffle deterministically from the generated seed: the member order must
        // not matter, and the `type` member often comes last.
        let mut s = seed;
        for i in (1..members.len()).rev() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            members.swap(i, (s >> 33) as usize % (i + 1));
        }
        members
    })
}

fn render(members: &[(String, serde_json::Value)], spaced: bool) -> String {
    let sep = if spaced { " , " } else { "," };
    let colon = if spaced { " : " } else { ":" };
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}{colon}{}", serde_json::Value::from(k.as_str()), v))
        .collect();
    format!("{{{}}}", body.join(sep))
}

/// A line damaged the way real streams damage lines.
#[derive(Clone, Debug)]
enum Damage {
    None,
    Truncate(prop::sample::Index),
    Append(&'static str),
    Duplicate(prop::sample::Index),
}

fn arb_damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        20 => Just(Damage::None),
        2 => any::<prop::sample::Index>().prop_map(Damage::Truncate),
        1 => prop::sample::select(vec!["}", " x", ",", "{}", " \t", "\"", "]"]).prop_map(Damage::Append),
        1 => any::<prop::sample::Index>().prop_map(Damage::Duplicate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn logos_decoder_agrees_with_the_serde_json_reference(
        mut members in arb_members(&program()),
        damage in arb_damage(),
        spaced in any::<bool>(),
    ) {
        if let Damage::Duplicate(i) = &damage
            && !members.is_empty()
        {
            let (name, _) = members[i.index(members.len())].clone();
            members.push((name, json!(null)));
        }
        let mut line = render(&members, spaced);
        match &damage {
            Damage::Truncate(i) => {
                let mut at = i.index(line.len());
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                line.truncate(at);
            }
            Damage::Append(s) => line.push_str(s),
            Damage::None | Damage::Duplicate(_) => {}
        }
        let program = program();
        let mut decoder = Decoder::new(&program);
        let got = ours(&mut decoder, &line);
        let want = reference(&program, &line);
        if std::env::var("PROBE").is_ok() { eprintln!("PROBE {}", match &got { Outcome::Event{..} => "event", Outcome::Ignored(_) => "ignored", Outcome::Rejected => "rejected" }); }
        prop_assert!(same(&got, &want), "line: {line}\n ours: {got:?}\n  ref: {want:?}");
    }

    /// Arbitrary near-JSON text: never a panic, and the same verdict as the reference.
    #[test]
    fn arbitrary_text_gets_the_reference_verdict(
        line in r#"\{("(type|user|ts|page|x)"|[ :,\[\]{}0-9.eE+\-"\\ntrufalsVISIT])*\}?"#,
    ) {
        let program = program();
        let mut decoder = Decoder::new(&program);
        let got = ours(&mut decoder, &line);
        let want = reference(&program, &line);
        if std::env::var("PROBE").is_ok() { eprintln!("PROBE2 {}", match &got { Outcome::Event{..} => "event", Outcome::Ignored(_) => "ignored", Outcome::Rejected => "rejected" }); }
        prop_assert!(same(&got, &want), "line: {line}\n ours: {got:?}\n  ref: {want:?}");
    }
}
