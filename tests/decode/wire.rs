//! The wire mapping (docs/LANGUAGE.md §3, "Wire mapping"): programs compiled from
//! source, lines decoded through nested paths, key alternatives, integer type values
//! and time formats.

use trigc::interp::Value;
use trigc::io::Decoded;
use trigc::ir::{EventId, Program};
use trigc::syntax::{self, SourceMap};

use super::{Fixture, T0};

fn compiled(source: &str) -> Program {
    let mut sources = SourceMap::default();
    let _ = syntax::add_file(&mut sources, "wire.trig", source.as_bytes());
    let compiled = trigc::compile(&sources);
    let errors = compiled.errors_text(&sources);
    compiled
        .program
        .unwrap_or_else(|| panic!("does not compile:\n{errors}"))
}

const SEGMENT: &str = r#"
schema { key userId ?? anonymousId ?? context.traits.email, type event, time timestamp }
event ADD from "Product Added", "Cart Updated" {
  product: string from properties.product_id
  qty: int? from properties.item.qty
  skus: list<int> from properties.products[].n
}
event VIEW from 7 { page: string? from context.page.path }
trigger t on ADD or VIEW then emit "x" with { p: product, q: qty, s: skus, g: page }
"#;

#[test]
fn nested_paths_alternatives_and_gathering() {
    let mut f = Fixture::with(&compiled(SEGMENT));
    let ev = f.ok(
        r#"{"event":"Cart Updated","userId":null,"anonymousId":"a-9","timestamp":"2026-01-05T10:00:00Z","properties":{"product_id":"p1","item":{"qty":3},"products":[{"n":1},{},{"n":null},5,{"n":2}]}}"#,
    );
    assert_eq!((ev.kind, ev.key.as_str(), ev.ts), (EventId(0), "a-9", T0));
    let fields = ev.fields.clone();
    assert_eq!(f.str(&fields[0]), "p1");
    assert_eq!(fields[1], Value::Int(3));
    assert_eq!(
        fields[2],
        Value::List(std::sync::Arc::new(vec![Value::Int(1), Value::Int(2)]))
    );
    // Escaped member names are names like any other; the third key path is nested.
    let ev = f.ok(
        r#"{"event":"Product Added","timestamp":"2026-01-05T10:00:00Z","context":{"traits":{"em\u0061il":"e@x"}},"properties":{"product_id":"p2","products":[]}}"#,
    );
    assert_eq!(ev.key, "e@x");
    assert_eq!(ev.fields[1], Value::None);
}

#[test]
fn integer_type_values_and_untyped_lines() {
    let mut f = Fixture::with(&compiled(SEGMENT));
    let ev = f
        .ok(r#"{"event":7,"userId":42,"timestamp":1767607200000,"context":{"page":{"path":"/"}}}"#);
    assert_eq!((ev.kind, ev.key.as_str()), (EventId(1), "42"));
    assert_eq!(
        f.decode(r#"{"event":8,"userId":"u","timestamp":1}"#),
        Decoded::Ignored {
            event_type: "8".into()
        }
    );
    assert_eq!(
        f.decode(r#"{"type":"identify","userId":"u","timestamp":1}"#),
        Decoded::Ignored {
            event_type: "(no event)".into()
        }
    );
    // A flat line: `properties` is a scalar, so the path into it finds nothing.
    assert_eq!(
        f.reject(r#"{"event":"Product Added","userId":"u","timestamp":1,"properties":"p"}"#),
        "missing field `properties.product_id` of ADD"
    );
    assert_eq!(
        f.reject(r#"{"event":"Product Added","timestamp":1,"properties":{"product_id":"p"}}"#),
        "missing field `userId ?? anonymousId ?? context.traits.email`"
    );
    assert_eq!(
        f.reject(r#"{"event":"Product Added","userId":"u","timestamp":1,"properties":{"product_id":"p","products":[{"n":"x"}]}}"#),
        "field `skus` of ADD: element 1: expected int, found string"
    );
    // The element is counted by its place in the array, those without the member
    // (or with `null`) included.
    assert_eq!(
        f.reject(r#"{"event":"Product Added","userId":"u","timestamp":1,"properties":{"product_id":"p","products":[{"n":1},{"n":null},{"m":2},{"n":"x"}]}}"#),
        "field `skus` of ADD: element 4: expected int, found string"
    );
    // A repeated top-level name still rejects the line.
    assert_eq!(
        f.reject(r#"{"event":7,"event":7,"userId":"u","timestamp":1}"#),
        "duplicate member \"event\""
    );
    // Inside a nested object, a name a field reads through may appear once too
    // (a repeat would leave the field two values to pick from); one nothing reads may
    // repeat, as anywhere JSON allows it.
    assert_eq!(
        f.reject(r#"{"event":"Product Added","userId":"u","timestamp":1,"properties":{"product_id":"p","products":[],"product_id":"q"}}"#),
        "field `product` of ADD: duplicate member \"product_id\""
    );
    assert_eq!(
        f.reject(r#"{"event":"Product Added","userId":"u","timestamp":1,"properties":{"product_id":"p","item":{"qty":1},"products":[],"item":{"qty":2}}}"#),
        "field `qty` of ADD: duplicate member \"item\""
    );
    assert_eq!(
        f.reject(r#"{"event":"Product Added","timestamp":1,"context":{"traits":{"email":"a@b","email":"c@d"}},"properties":{"product_id":"p","products":[]}}"#),
        "duplicate member \"email\""
    );
    assert_eq!(
        f.reject(r#"{"event":"Product Added","userId":"u","timestamp":1,"properties":{"product_id":"p","products":[{"n":1,"n":2}]}}"#),
        "field `skus` of ADD: duplicate member \"n\""
    );
    let product = f
        .ok(r#"{"event":"Product Added","userId":"u","timestamp":1,"properties":{"product_id":"p","products":[],"note":1,"note":2},"context":{"a":1,"a":2}}"#)
        .fields[0]
        .clone();
    assert_eq!(f.str(&product), "p");
}

#[test]
fn time_formats_and_epoch_units() {
    let mut f = Fixture::with(&compiled(
        r#"schema { time at format "%Y-%m-%d %H:%M:%S%.f %z" }
        event A { x: int? }
        trigger t on A then emit "x""#,
    ));
    assert_eq!(
        f.ok(r#"{"type":"A","user":"u","at":"2026-01-05 11:00:00.5 +0100"}"#)
            .ts,
        T0 + 500
    );
    let mut f = Fixture::with(&compiled(
        r#"schema { time at format "%d/%m/%Y" }
        event A { x: int? }
        trigger t on A then emit "x""#,
    ));
    assert_eq!(
        f.ok(r#"{"type":"A","user":"u","at":"05/01/2026"}"#).ts,
        T0 - 10 * 3_600_000
    );
    assert!(
        f.reject(r#"{"type":"A","user":"u","at":"2026-01-05"}"#)
            .contains("does not match the format")
    );
    let mut f = Fixture::with(&compiled(
        r#"schema { time at format "%Y-%m-%d %H:%M:%S" in "Europe/Berlin" }
        event A { x: int? }
        trigger t on A then emit "x""#,
    ));
    assert_eq!(
        f.ok(r#"{"type":"A","user":"u","at":"2026-01-05 11:00:00"}"#)
            .ts,
        T0
    );
    // Repeated by the end of summer time: the earlier instant (CEST, UTC+2).
    let autumn = f
        .ok(r#"{"type":"A","user":"u","at":"2026-10-25 02:30:00"}"#)
        .ts;
    assert_eq!(autumn, 1_792_888_200_000);
    assert!(
        f.reject(r#"{"type":"A","user":"u","at":"2026-03-29 02:30:00"}"#)
            .contains("does not exist in Europe/Berlin")
    );
    // `%Z` reads UTC or an offset; chrono alone would skip `+0100` and read UTC.
    let mut f = Fixture::with(&compiled(
        r#"schema { time at format "%Y-%m-%d %H:%M:%S %Z" }
        event A { x: int? }
        trigger t on A then emit "x""#,
    ));
    assert_eq!(
        f.ok(r#"{"type":"A","user":"u","at":"2026-01-05 10:00:00 UTC"}"#)
            .ts,
        T0
    );
    assert_eq!(
        f.ok(r#"{"type":"A","user":"u","at":"2026-01-05 11:00:00 +0100"}"#)
            .ts,
        T0
    );
    assert_eq!(
        f.reject(r#"{"type":"A","user":"u","at":"2026-01-05 11:00:00 CET"}"#),
        "field `at`: time `2026-01-05 11:00:00 CET` does not match the format \
         \"%Y-%m-%d %H:%M:%S %Z\": `%Z` reads UTC, GMT or an offset like +01:00, not `CET`"
    );
    for (unit, raw, ms) in [
        ("seconds", "1767607200", T0),
        ("seconds", "1767607200.25", T0 + 250),
        ("millis", "1767607200000", T0),
        ("micros", "1767607200000999", T0),
    ] {
        let mut f = Fixture::with(&compiled(&format!(
            r#"schema {{ time at epoch {unit} }}
            event A {{ x: int? }}
            trigger t on A then emit "x""#
        )));
        assert_eq!(
            f.ok(&format!(r#"{{"type":"A","user":"u","at":{raw}}}"#)).ts,
            ms,
            "{unit} {raw}"
        );
    }
    let mut f = Fixture::with(&compiled(
        r#"schema { time at epoch seconds }
        event A { x: int? }
        trigger t on A then emit "x""#,
    ));
    assert!(
        f.reject(r#"{"type":"A","user":"u","at":-1}"#)
            .contains("time out of range")
    );
    assert!(
        f.reject(r#"{"type":"A","user":"u","at":true}"#)
            .contains("epoch seconds")
    );
}

/// Members of Segment-shaped lines, right and wrong, nested or not.
fn piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        r#""event":"Product Added""#,
        r#""event":"Cart Updated""#,
        r#""event":7"#,
        r#""event":8"#,
        r#""event":99999999999999999999"#,
        r#""event":{"a":1}"#,
        r#""userId":"u1""#,
        r#""userId":null"#,
        r#""userId":3"#,
        r#""anonymousId":"a-9""#,
        r#""anonymousId":"""#,
        r#""context":{"traits":{"email":"e@x"},"page":{"path":"/"}}"#,
        r#""context":{"traits":null}"#,
        r#""context":[{"traits":{"email":1}}]"#,
        r#""context":"x""#,
        r#""timestamp":"2026-01-05T10:00:00.123Z""#,
        r#""timestamp":1767607200000"#,
        r#""timestamp":-5"#,
        r#""timestamp":"nope""#,
        r#""properties":{"product_id":"p1","item":{"qty":2},"products":[{"n":1},{"n":2}]}"#,
        r#""properties":{"product_id":"p\u0031","products":[1,[2],{"n":null},{"n":"x"}]}"#,
        r#""properties":{"product_id":5,"products":{"n":1}}"#,
        r#""properties":{"products":[],"item":{"qty":1.5}}"#,
        r#""properties":{"product_id":"p","products":null,"item":[]}"#,
        r#""properties":null"#,
        r#""properties":"p""#,
        r#""extra":[1,{"a":"\n"}]"#,
    ])
}

proptest::proptest! {
    /// Whatever the pieces, a line is decoded, ignored or rejected (never a panic),
    /// the same way by a fresh decoder (earlier lines change nothing), and an accepted
    /// event has a key, a time in range and every field.
    #[test]
    fn wire_mapped_lines_never_panic(
        lines in proptest::collection::vec(proptest::collection::vec(piece(), 0..8), 1..12)
    ) {
        let program = compiled(SEGMENT);
        let mut f = Fixture::with(&program);
        for members in lines {
            let line = format!("{{{}}}", members.join(","));
            let a = f.decode(&line);
            let b = Fixture::with(&program).decode(&line);
            proptest::prop_assert_eq!(&a, &b, "{}", line);
            if a == Decoded::Event {
                proptest::prop_assert!(!f.out.key.is_empty());
                proptest::prop_assert!((trigc::time::MIN_TIME..=trigc::time::MAX_TIME).contains(&f.out.ts));
                proptest::prop_assert_eq!(f.out.fields.len(), program.event(f.out.kind).fields.len());
            }
        }
    }
}
