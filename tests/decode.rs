//! The event-line decoder (`trigc::io::decode`): one test per wire rule, the line
//! reader, and (in `decode/reference.rs`) property tests checking the logos decoder
//! against a plain reference decoder built on serde_json.

#[path = "decode/lines.rs"]
mod lines;
#[path = "decode/paths.rs"]
mod paths;
#[path = "decode/reference.rs"]
mod reference;
#[path = "../benches/fixtures/schema.rs"]
mod schema;
#[path = "../benches/fixtures/shop.rs"]
mod shop;
#[path = "decode/wire.rs"]
mod wire;

use std::io::Cursor;

use schema::{event, field};
use shop::shop_event;
use trigc::interp::{Interner, Value};
use trigc::io::{Decoded, Decoder, Lines, Reject};
use trigc::ir::{EventId, FieldDef, Program, Ty, WireSchema};
use trigc::runtime::Event;

// ---------------------------------------------------------------------------------
// The test program, built by hand (it is plain data).

fn unused(mut f: FieldDef) -> FieldDef {
    f.used = false;
    f
}

fn set(t: Ty) -> Ty {
    Ty::Set(Box::new(t))
}

fn list(t: Ty) -> Ty {
    Ty::List(Box::new(t))
}

/// The example shop schema plus one event with every wire type.
fn program() -> Program {
    Program {
        schema: WireSchema::default(),
        events: vec![
            shop_event("ADD_TO_CART"),
            shop_event("PRICE_CHANGE"),
            shop_event("VISIT"),
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
                    unused(field("score", Ty::Float, true)),
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
        Fixture {
            decoder: Decoder::new(program),
            interner: Interner::default(),
            out: Event::default(),
        }
    }

    fn decode(&mut self, line: &str) -> Decoded {
        self.decode_bytes(line.as_bytes())
    }

    fn decode_bytes(&mut self, line: &[u8]) -> Decoded {
        self.decoder
            .decode(line, 7, &mut self.interner, &mut self.out)
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
    assert_eq!(
        ev.fields[1],
        Value::Float(5.0),
        "an integer is accepted for a float field"
    );
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
    let ev =
        f.ok(r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p","price":1.5,"qty":null}"#);
    assert_eq!(ev.fields[2], Value::None);
    let ev = f
        .ok(r#"{"type":"VISIT","user":"u","ts":0,"page":"/home"}"#)
        .clone();
    assert_eq!(f.str(&ev.fields[0]), "/home");
}

#[test]
fn a_repeated_member_name_is_rejected_whatever_the_name() {
    let mut f = Fixture::new();
    let line = |members: &str| format!(r#"{{"type":"ADD_TO_CART","user":"a",{members}}}"#);
    for (members, name) in [
        // The envelope, a declared field, an undeclared one, another event's field.
        (r#""ts":0,"product":"p","price":2,"ts":1"#, "ts"),
        (r#""ts":0,"product":"p","price":"bad","price":2"#, "price"),
        (r#""ts":0,"product":"p","price":2,"x":1,"x":[1]"#, "x"),
        (
            r#""ts":0,"product":"p","price":2,"page":"/","page":"/""#,
            "page",
        ),
        // Escapes spell the same name.
        (r#""ts":0,"product":"p","price":2,"x":1,"x":2"#, "x"),
        (r#""ts":0,"product":"p","price":2,"product":"q""#, "product"),
        // The first repeat in line order is named.
        (r#""x":0,"ts":0,"x":1,"product":"p","price":2,"ts":1"#, "x"),
        (r#""ts":0,"x":0,"ts":1,"product":"p","price":2,"x":1"#, "ts"),
    ] {
        assert_eq!(
            f.reject(&line(members)),
            format!("duplicate member \"{name}\""),
            "{members}"
        );
    }
    // The type decides which parser sees what: a second one is never picked.
    assert_eq!(
        f.reject(r#"{"type":"PURCHASE","user":"a","ts":0,"type":"VISIT"}"#),
        r#"duplicate member "type""#
    );
    // Undeclared types too (their line is otherwise only checked to be JSON).
    assert_eq!(
        f.reject(r#"{"type":"NOPE","user":"a","user":"b"}"#),
        r#"duplicate member "user""#
    );
    // Many undeclared names, one repeated far apart.
    let many: Vec<String> = (0..50).map(|i| format!(r#""n{i}":{i}"#)).collect();
    let members = format!(
        r#""ts":0,"product":"p","price":2,{},"n3":0"#,
        many.join(",")
    );
    assert_eq!(f.reject(&line(&members)), r#"duplicate member "n3""#);
    // A name in a nested object is not a member of the line.
    f.ok(&line(
        r#""ts":0,"product":"p","price":2,"x":{"ts":1,"a":1,"a":2}"#,
    ));
    // A control character in the repeated name is escaped in the reason.
    assert_eq!(
        f.reject(&line(
            r#""ts":0,"product":"p","price":2,"\u001b[2J":1,"\u001b[2J":1"#
        )),
        r#"duplicate member "\u{1b}[2J""#
    );
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
    assert_eq!(
        f.ok(r#"{"type":"VISIT","user":18446744073709551615,"ts":0}"#)
            .key,
        "18446744073709551615"
    );
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
    let ev = f.ok(
        r#"{"type":"PRICE_CHANGE","user":"u1","ts":0,"product":"p9","old_price":1,"new_price":2}"#,
    );
    assert_eq!(ev.key, "p9");
    assert_eq!(
        f.reject(r#"{"type":"PRICE_CHANGE","user":"u1","ts":0,"old_price":1,"new_price":2}"#),
        "`product` (the key of PRICE_CHANGE, keyed by product) is missing"
    );
    assert_eq!(
        f.reject(r#"{"type":"PRICE_CHANGE","ts":0,"product":null,"old_price":1,"new_price":2}"#),
        "`product` (the key of PRICE_CHANGE, keyed by product) is missing"
    );
    let why =
        f.reject(r#"{"type":"PRICE_CHANGE","ts":0,"product":1.5,"old_price":1,"new_price":2}"#);
    assert!(
        why.contains("must be a string or an integer, found float"),
        "{why}"
    );
}

#[test]
fn times_are_rfc3339_with_any_offset_or_epoch_millis() {
    let mut f = Fixture::new();
    let at = |f: &mut Fixture, ts: &str| {
        f.ok(&format!(r#"{{"type":"VISIT","user":"u","ts":{ts}}}"#))
            .ts
    };
    assert_eq!(at(&mut f, r#""2026-01-05T10:00:00Z""#), T0);
    assert_eq!(at(&mut f, r#""2026-01-05T11:30:00+01:30""#), T0);
    assert_eq!(at(&mut f, r#""2026-01-05T10:00:00.250Z""#), T0 + 250);
    assert_eq!(
        at(&mut f, r#""2026-01-05T10:00:00.2509Z""#),
        T0 + 250,
        "sub-ms digits truncate"
    );
    assert_eq!(at(&mut f, r#""2026-01-05t10:00:00z""#), T0);
    assert_eq!(at(&mut f, "1767607200000"), T0);
    assert_eq!(at(&mut f, "0"), 0);
    assert_eq!(at(&mut f, r#""1970-01-01T00:00:00Z""#), 0);
    assert_eq!(
        at(&mut f, r#""9999-12-31T23:59:59.999Z""#),
        253_402_300_799_999
    );
    assert_eq!(at(&mut f, "253402300799999"), 253_402_300_799_999);
    assert_eq!(
        f.reject(r#"{"type":"VISIT","user":"u","ts":"2026-13-01T00:00:00Z"}"#),
        "field `ts`: unparsable time `2026-13-01T00:00:00Z`: input is out of range (expected RFC 3339 like `2026-01-05T10:00:00Z`, or epoch milliseconds)"
    );
    assert_eq!(
        f.reject(r#"{"type":"VISIT","user":"u","ts":"2026-01-05"}"#),
        "field `ts`: unparsable time `2026-01-05`: premature end of input (expected RFC 3339 like `2026-01-05T10:00:00Z`, or epoch milliseconds)"
    );
    assert!(
        f.reject(r#"{"type":"VISIT","user":"u","ts":"2026-02-30T00:00:00Z"}"#)
            .contains("unparsable time")
    );
    // The two usual producer mistakes are named.
    assert!(
        f.reject(r#"{"type":"VISIT","user":"u","ts":"1767607200000"}"#)
            .contains("epoch milliseconds must be a JSON number, not a string")
    );
    assert!(
        f.reject(r#"{"type":"VISIT","user":"u","ts":"2026-01-05T10:00:00.250"}"#)
            .contains("no UTC offset (add `Z` for UTC")
    );
    assert!(
        f.reject(r#"{"type":"VISIT","user":"u","ts":"yesterday"}"#)
            .contains("unparsable time `yesterday`")
    );
    let why = f.reject(r#"{"type":"VISIT","user":"u","ts":1.7e12}"#);
    assert_eq!(
        why,
        "field `ts`: expected a time (RFC 3339 string or epoch milliseconds), found float"
    );
}

/// A RICH line: every required member, then `extra` (`,"name":value,...`), which
/// replaces the base members it names (a name may appear once on a line).
fn rich(extra: &str) -> String {
    let base = [
        (r#""type""#, r#""RICH""#),
        (r#""user""#, r#""u""#),
        (r#""ts""#, "0"),
        (r#""flag""#, "true"),
        (r#""at""#, r#""2026-01-05T10:00:00Z""#),
        (r#""wait""#, r#""1h30m""#),
        (r#""tags""#, r#"["b","a","b"]"#),
        (r#""nums""#, "[3,1,3]"),
        (r#""note""#, r#""n""#),
    ];
    let kept: Vec<String> = base
        .iter()
        .filter(|(name, _)| !extra.contains(&format!("{name}:")))
        .map(|(name, value)| format!("{name}:{value}"))
        .collect();
    format!("{{{}{extra}}}", kept.join(","))
}

#[test]
fn times_outside_the_documented_range_are_rejected() {
    let mut f = Fixture::new();
    let range = "(times must lie in 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z, epoch milliseconds 0 ..= 253402300799999)";
    for ts in [
        "-1",
        "253402300800000",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        r#""0000-01-01T00:00:00Z""#,
        r#""1969-12-31T23:59:59.999Z""#,
        r#""1969-12-31T23:59:59Z""#,
        r#""1970-01-01T00:30:00+01:00""#,
        r#""9999-12-31T23:59:59-01:00""#,
        r#""+10000-01-01T00:00:00Z""#,
        r#""10000-01-01T00:00:00Z""#,
        r#""-0001-01-01T00:00:00Z""#,
    ] {
        let why = f.reject(&format!(r#"{{"type":"VISIT","user":"u","ts":{ts}}}"#));
        assert_eq!(
            why,
            format!("field `ts`: time out of range: {ts} {range}"),
            "{ts}"
        );
        // A `time` field too.
        let why = f.reject(&rich(&format!(r#","when":{ts}"#)));
        assert!(
            why.starts_with("field `when` of RICH: time out of range"),
            "{why}"
        );
        assert!(why.ends_with(range), "{why}");
    }
}

#[test]
fn typed_fields_of_every_kind() {
    let mut f = Fixture::new();
    let ev = f.ok(&rich(r#","ids":[3,-1,3,2],"when":1000"#)).clone();
    assert_eq!(ev.fields[0], Value::Bool(true));
    assert_eq!(ev.fields[1], Value::Time(T0));
    assert_eq!(ev.fields[2], Value::Duration(5_400_000));
    let Value::Set(tags) = &ev.fields[3] else {
        panic!("tags: {:?}", ev.fields[3])
    };
    let tags: Vec<String> = tags.iter().map(|v| f.str(v)).collect();
    // Sorted by symbol (interning order: "b" first), without duplicates.
    assert_eq!(tags, ["b", "a"]);
    assert_eq!(
        ev.fields[4],
        Value::List(vec![Value::Int(3), Value::Int(1), Value::Int(3)].into())
    );
    assert_eq!(
        ev.fields[5],
        Value::Set(vec![Value::Int(-1), Value::Int(2), Value::Int(3)].into())
    );
    assert_eq!(ev.fields[6], Value::Time(1000));
    assert_eq!(
        ev.fields[7],
        Value::None,
        "unused field is not materialised"
    );
    let ev = f.ok(&rich(r#","wait":90000"#));
    assert_eq!(
        ev.fields[2],
        Value::Duration(90_000),
        "duration as integer ms"
    );
}

#[test]
fn wrong_types_are_rejected_with_the_field_named() {
    let mut f = Fixture::new();
    let add = |extra: &str| {
        format!(r#"{{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p","price":1{extra}}}"#)
    };
    assert_eq!(
        f.reject(r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p","price":"12"}"#),
        "field `price` of ADD_TO_CART: expected float, found string"
    );
    assert_eq!(
        f.reject(&add(r#","qty":1.5"#)),
        "field `qty` of ADD_TO_CART: expected int, found float"
    );
    assert_eq!(
        f.reject(&add(r#","qty":1e2"#)),
        "field `qty` of ADD_TO_CART: expected int, found float"
    );
    assert_eq!(
        f.reject(r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":7,"price":1}"#),
        "field `product` of ADD_TO_CART: expected string, found int"
    );
    assert_eq!(
        f.reject(r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":["p"],"price":1}"#),
        "field `product` of ADD_TO_CART: expected string, found array"
    );
    assert_eq!(
        f.reject(&add(r#","qty":{}"#)),
        "field `qty` of ADD_TO_CART: expected int, found object"
    );
    assert!(
        f.reject(&add(r#","qty":9223372036854775808"#))
            .contains("integer out of range")
    );
    assert_eq!(
        f.reject(&rich(r#","tags":["a",1]"#)),
        "field `tags` of RICH: element 2: expected string, found int"
    );
    assert!(
        f.reject(&rich(r#","tags":"a""#))
            .contains("expected set<string> (an array), found string")
    );
    assert!(
        f.reject(&rich(r#","tags":[null]"#))
            .contains("element 1: expected string, found null")
    );
    assert!(
        f.reject(&rich(r#","wait":"30""#))
            .contains("unparsable duration `30`")
    );
    assert!(
        f.reject(&rich(r#","wait":1.5"#))
            .contains("field `wait` of RICH: expected duration")
    );
    assert!(
        f.reject(&rich(r#","flag":"true""#))
            .contains("expected bool, found string")
    );
    assert!(
        f.reject(&rich(r#","at":"noon""#))
            .contains("field `at` of RICH: unparsable time `noon`")
    );
    // Unused fields are still type-checked.
    assert_eq!(
        f.reject(&rich(r#","note":5"#)),
        "field `note` of RICH: expected string, found int"
    );
    assert!(
        f.reject(&rich(r#","labels":[1]"#))
            .contains("field `labels` of RICH: element 1")
    );
}

#[test]
fn missing_or_null_required_fields_are_rejected() {
    let mut f = Fixture::new();
    assert_eq!(
        f.reject(r#"{"type":"VISIT","ts":0}"#),
        "missing field `user`"
    );
    assert_eq!(
        f.reject(r#"{"type":"VISIT","user":null,"ts":0}"#),
        "missing field `user`"
    );
    assert_eq!(
        f.reject(r#"{"type":"VISIT","user":"u"}"#),
        "missing field `ts`"
    );
    assert_eq!(f.reject(r#"{"user":"u","ts":0}"#), "missing field `type`");
    assert_eq!(
        f.reject(r#"{"type":3,"user":"u","ts":0}"#),
        "field `type` must be a string, found int"
    );
    assert_eq!(
        f.reject(r#"{"type":"VISIT","user":"","ts":0}"#),
        "field `user` (the customer key) is an empty string"
    );
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
        Decoded::Ignored {
            event_type: "LOGIN".into()
        }
    );
    // Its shape is unknown, so nothing else about it is checked...
    assert_eq!(
        f.decode(r#"{"type":"LOG\u0049N"}"#),
        Decoded::Ignored {
            event_type: "LOGIN".into()
        }
    );
    // ... but it must still be JSON.
    assert!(matches!(
        f.decode(r#"{"type":"LOGIN",}"#),
        Decoded::Rejected(_)
    ));
}

/// A float no rule reads is stored as none but still type-checked, on the flat path
/// and on the general one (an escape in another member sends a line there).
#[test]
fn unread_floats_are_checked_not_converted() {
    let mut f = Fixture::new();
    for extra in [
        r#","score":2.5"#,
        r#","score":7"#,
        r#","score":2.5,"x":"\u0041""#,
    ] {
        let ev = f.ok(&rich(extra));
        assert_eq!(ev.fields[9], Value::None, "{extra}");
    }
    for extra in [r#","score":"2.5""#, r#","score":"2.5","x":"\u0041""#] {
        assert_eq!(
            f.reject(&rich(extra)),
            "field `score` of RICH: expected float, found string",
            "{extra}"
        );
    }
    assert!(
        f.reject(&rich(r#","score":1e400"#))
            .ends_with("number out of range `1e400`"),
        "out of range"
    );
}

#[test]
fn only_read_fields_are_interned() {
    let mut f = Fixture::new();
    f.ok(&rich(
        r#","note":"a very unique note","labels":["unique label"]"#,
    ));
    assert_eq!(f.interner.get("a very unique note"), None);
    assert_eq!(f.interner.get("unique label"), None);
    assert!(
        f.interner.get("a").is_some(),
        "used set members are interned"
    );
    // Nor are the key, the type, or unknown members.
    f.ok(r#"{"type":"VISIT","user":"customer-123","ts":0,"other":"zzz"}"#);
    assert_eq!(f.interner.get("customer-123"), None);
    assert_eq!(f.interner.get("VISIT"), None);
    assert_eq!(f.interner.get("zzz"), None);
}

#[test]
fn a_custom_wire_schema_names_the_envelope() {
    let mut p = program();
    p.schema = WireSchema {
        key: "customer_id".into(),
        type_: "event".into(),
        time: "at".into(),
        ..WireSchema::default()
    };
    let mut f = Fixture::with(&p);
    let ev = f.ok(r#"{"event":"VISIT","customer_id":"c","at":"2026-01-05T10:00:00Z","user":5,"ts":"x","type":1}"#);
    assert_eq!((ev.key.as_str(), ev.ts), ("c", T0));
    assert_eq!(
        f.reject(r#"{"event":"VISIT","at":0}"#),
        "missing field `customer_id`"
    );
    // `at` is both the envelope time and a RICH field: one member serves both.
    let ev = f.ok(r#"{"event":"RICH","customer_id":"c","at":5,"flag":false,"wait":0,"tags":[],"nums":[],"note":""}"#);
    assert_eq!((ev.ts, &ev.fields[1]), (5, &Value::Time(5)));
}

#[test]
fn the_event_buffers_are_reused_across_lines() {
    let mut f = Fixture::new();
    f.ok(&rich(""));
    let ev = f.ok(r#"{"type":"VISIT","user":"u2","ts":1}"#);
    assert_eq!(
        (ev.key.as_str(), ev.fields.len()),
        ("u2", 1),
        "no leftovers from the previous line"
    );
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
        (
            r#"{"type":"VISIT","user":"u","ts":0"#,
            "expected `,` or `}`, found the end of the line",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":0}}"#,
            "trailing characters after the object",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":0} x"#,
            "unexpected word `x`",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":0}{}"#,
            "trailing characters after the object",
        ),
        (
            r#"{"type":"VISIT","user":"u\q","ts":0}"#,
            "invalid escape `\\q` in string",
        ),
        (
            r#"{"type":"VISIT","user":"\ud800","ts":0}"#,
            "unpaired UTF-16 surrogate escape in string",
        ),
        (
            r#"{"type":"VISIT","user":"\udc00x","ts":0}"#,
            "unpaired UTF-16 surrogate escape in string",
        ),
        (
            r#"{"type":"VISIT","user":"\u12","ts":0}"#,
            "invalid `\\u` escape in string",
        ),
        (
            "{\"type\":\"VISIT\",\"user\":\"a\tb\",\"ts\":0}",
            "control character '\\t' in string (escape it)",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":0,"x":"abc}"#,
            "unterminated string",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":01}"#,
            "expected `,` or `}`, found `1`",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":1.}"#,
            "unexpected character `.`",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":-}"#,
            "malformed number `-`",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":0,"x":1e400}"#,
            "number out of range `1e400`",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":0,}"#,
            "expected a member name (a string), found `}`",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":0,"x":[1,]}"#,
            "expected a value, found `]`",
        ),
        (
            r#"{"type":"VISIT","user":"u","ts":0,"x":[1 2]}"#,
            "expected `,` or `]`, found `2`",
        ),
        (r#"{'type':'VISIT'}"#, "unexpected character `'`"),
        (r#"{"type" "VISIT"}"#, "expected `:`, found `\"VISIT\"`"),
        (r#"{"type":"VISIT":1}"#, "expected `,` or `}`, found `:`"),
        (
            r#"{"type":"VISIT","user":"u","ts":0,"x":["a":1]}"#,
            "expected `,` or `]`, found `:`",
        ),
        (r#"{:1}"#, "expected a member name (a string), found `:`"),
        (
            r#"{,"a":1}"#,
            "expected a member name (a string), found `,`",
        ),
        (
            r#"{"a":1,,"b":2}"#,
            "expected a member name (a string), found `,`",
        ),
        (
            r#"{"a":1 , "b" : 2 , }"#,
            "expected a member name (a string), found `}`",
        ),
        (r#"{"a":[1, "b"]]}"#, "expected `,` or `}`, found `]`"),
        (r#"{"type":TRUE}"#, "unexpected word `TRUE`"),
        (
            r#"{"type":"VISIT","user":"u","ts":0,"x":{1:2}}"#,
            "expected a member name (a string), found `1`",
        ),
        ("{\"type\":\"VISIT\"}\u{c}", "unexpected character `\\u{c}`"),
    ];
    for (line, want) in cases {
        let why = f.reject(line);
        assert!(
            why.starts_with("invalid JSON at column ") || why.starts_with("not a JSON object"),
            "{line}: {why}"
        );
        assert!(why.ends_with(want), "{line}:\n  got  {why}\n  want …{want}");
    }
    assert_eq!(
        f.reject(r#"{"a":1,}"#),
        "invalid JSON at column 8: expected a member name (a string), found `}`"
    );
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
    format!(
        r#"{{"type":"VISIT","user":"u","ts":0,"x":{}1{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[test]
fn nesting_is_bounded() {
    let mut f = Fixture::new();
    // The line's own object is level 1.
    f.ok(&nested(63));
    assert!(
        f.reject(&nested(64))
            .ends_with("nested deeper than 64 levels")
    );
    assert!(
        f.reject(&nested(100_000))
            .ends_with("nested deeper than 64 levels")
    );
}

#[test]
fn reject_displays_with_its_line_number() {
    let r = Reject {
        line: 17,
        reason: "not a JSON object (found array)".into(),
    };
    assert_eq!(r.to_string(), "line 17: not a JSON object (found array)");
}

// ---------------------------------------------------------------------------------
// End to end: `trigc gen` output against the declarations it is written for.

#[test]
fn generated_streams_decode_against_rules_events_trig() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/events.trig");
    let mut sources = trigc::syntax::SourceMap::default();
    sources.add(
        "events.trig",
        std::fs::read_to_string(path).unwrap_or_default(),
    );
    let compiled = trigc::compile(&sources);
    let Some(program) = compiled.program else {
        panic!(
            "rules/events.trig does not compile: {:#?}",
            compiled.diagnostics
        )
    };
    let config = trigc::cli::generate::GenConfig {
        events: 3000,
        customers: 100,
        products: 50,
        seed: 11,
        start: T0,
    };
    let mut text = Vec::new();
    trigc::cli::generate::write_stream(&config, &mut text).expect("writing to memory");
    let mut f = Fixture::with(&program);
    let mut lines = Lines::new(Cursor::new(text));
    let mut kinds = std::collections::BTreeSet::new();
    while let Some(line) = lines.next_line().expect("in-memory read") {
        let res = f
            .decoder
            .decode(line.bytes, line.number, &mut f.interner, &mut f.out);
        assert_eq!(
            res,
            Decoded::Event,
            "{}",
            String::from_utf8_lossy(line.bytes)
        );
        let kind = &program.events[f.out.kind.index()].name;
        let routed_by_product = kind == "PRICE_CHANGE";
        assert_eq!(
            f.out.key.starts_with('p'),
            routed_by_product,
            "key {} of {kind}",
            f.out.key
        );
        assert!(f.out.ts >= T0);
        kinds.insert(kind.clone());
    }
    assert_eq!(lines.lines_read(), 3000);
    assert_eq!(
        kinds.len(),
        program.events.len(),
        "every declared event type is generated"
    );
}
