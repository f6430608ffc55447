//! The wire mapping's one-pass walk (src/io/decode/paths.rs) changes no answer: every
//! line decodes to the same result (the same event, the same ignored type, the same
//! reject reason, word for word) whether the walk reads it or the decoder is made to
//! take the general path (`Decoder::decode_general`). Lines are Segment-like track
//! calls with members in any order, extra nested objects and arrays, escapes in names
//! and values, nulls, repeated names at every level, missing paths, wrong types and
//! broken tails.

#[path = "common/compile.rs"]
mod compile;

use compile::program;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use trigc::interp::Interner;
use trigc::io::{Decoded, Decoder};
use trigc::runtime::Event;

/// Nested paths two levels deep, key alternatives (one nested), `[]` gathering, a list
/// read whole, an integer type value, an event `keyed by` a nested field.
const SEGMENT: &str = r#"
schema { key userId ?? anonymousId ?? context.traits.email, type event, time timestamp }
event ADD from "Product Added" {
  product: string from properties.product
  price: float from properties.price
  qty: int? from properties.item.qty
}
event VIEW from "Product Viewed", 7 {
  product: string from properties.product
  page: string? from context.page.path
  ok: bool? from properties.ok
}
event GATHER from "Cart" { skus: list<int> from properties.products[].n, tags: list<string>? from properties.tags }
event PRICE from "Price Changed" keyed by product { product: string from properties.item.sku, p: float? from properties.price }
trigger t on ADD or VIEW or GATHER or PRICE then emit "x" with { p: product, q: qty, g: page, s: skus }
"#;

/// The Segment fixture of benches/shapes.rs, as it stands (times in their default
/// format, every field under `properties`).
const FIXTURE: &str = r#"
schema { key userId ?? anonymousId, type event, time timestamp }
event ADD_TO_CART from "Product Added" { product: string from properties.product, price: float from properties.price, qty: int? from properties.qty }
event PURCHASE from "Order Completed" { order: string from properties.order, amount: float from properties.amount }
event VISIT from "Page Visited" { page: string? from properties.page }
trigger t on ADD_TO_CART or PURCHASE or VISIT then emit "x" with { p: product }
"#;

/// Scalars, mostly well-formed, with escapes, edges and a few broken ones.
fn scalar() -> impl Strategy<Value = String> {
    select(
        &[
            r#""p1""#,
            r#""p2""#,
            r#""""#,
            r#""a\"b\\c\u00e9\n""#,
            r#""\ud83d\ude00""#,
            r#""Product Added""#,
            r#""/home""#,
            "19.9",
            "3",
            "-0",
            "1e3",
            "2.5E-3",
            "1e400",
            "12345678901234567890",
            "true",
            "false",
            "null",
            // Broken: the walk must decline them and the general path word them.
            r#""bad\x""#,
            r#""\ud800""#,
            "01",
            "1.",
            "-",
            "nul",
            "\"ctl\u{1}\"",
            // Longer than a word, with the quote, an escape or a control byte on
            // either side of a word's edge (the walk scans strings a word at a time).
            r#""Mozilla/5.0 (X11; Linux x86_64)""#,
            r#""1234567""#,
            r#""12345678""#,
            r#""123456789""#,
            r#""1234567\n""#,
            r#""123456\u00e9xyz""#,
            r#""12345678\\""#,
            "\"1234567\u{1f}8\"",
            "\"12345678\u{0}\"",
            r#""1234567\q""#,
        ][..],
    )
    .prop_map(str::to_owned)
}

/// Member names inside nested objects: the paths' own, others, escaped, spaced.
fn inner_name() -> impl Strategy<Value = String> {
    select(
        &[
            "product",
            "price",
            "qty",
            "item",
            "products",
            "n",
            "sku",
            "tags",
            "ok",
            "page",
            "path",
            "traits",
            "email",
            "library",
            "name",
            "version",
            "ip",
            r"pr\u006fduct",
            r"it\u0065m",
            "a b",
            r#"q\"q"#,
        ][..],
    )
    .prop_map(str::to_owned)
}

fn object_of(members: Vec<(String, String)>, space: &str) -> String {
    let inner: Vec<String> = members
        .into_iter()
        .map(|(n, v)| format!("\"{n}\"{space}:{space}{v}"))
        .collect();
    format!("{{{}}}", inner.join(&format!(",{space}")))
}

/// Any JSON value (and a few broken ones), nested.
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            (
                prop::collection::vec((inner_name(), inner), 0..5),
                select(&["", " ", "\t", "\r\n"][..])
            )
                .prop_map(|(m, s)| object_of(m, s)),
        ]
    })
}

/// A top-level member: the envelope and the nested objects mostly right.
fn member() -> impl Strategy<Value = (String, String)> {
    let event = select(
        &[
            r#""Product Added""#,
            r#""Product Viewed""#,
            r#""Order Completed""#,
            r#""Page Visited""#,
            r#""Cart""#,
            r#""Price Changed""#,
            r#""Product\u0020Added""#,
            r#""Unknown""#,
            "7",
            "8",
            "null",
            "[]",
        ][..],
    );
    let user = select(&[r#""u1""#, r#""u\n2""#, "42", r#""""#, "null", "1.5", "{}"][..]);
    let time = select(
        &[
            r#""2026-01-05T10:00:00.123Z""#,
            r#""2026-01-05T10:00:00Z""#,
            r#""2026-01-05T11:00:00+01:00""#,
            "1767607200000",
            r#""soon""#,
            "null",
        ][..],
    );
    let properties = (
        prop::collection::vec((inner_name(), value()), 0..7),
        select(&["", " "][..]),
    )
        .prop_map(|(m, s)| object_of(m, s));
    prop_oneof![
        3 => event.prop_map(|v| ("event".to_owned(), v.to_owned())),
        2 => user.clone().prop_map(|v| ("userId".to_owned(), v.to_owned())),
        1 => user.prop_map(|v| ("anonymousId".to_owned(), v.to_owned())),
        3 => time.prop_map(|v| ("timestamp".to_owned(), v.to_owned())),
        4 => properties.prop_map(|v| ("properties".to_owned(), v)),
        2 => value().prop_map(|v| ("context".to_owned(), v)),
        1 => value().prop_map(|v| ("properties".to_owned(), v)),
        1 => (select(&["type", "messageId", "ev\\u0065nt", "x", "y"][..]), value())
            .prop_map(|(n, v)| (n.to_owned(), v)),
    ]
}

/// A line: the envelope first (so most lines get as far as the fields), the rest in
/// any order, then sometimes broken.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let envelope = vec![
        ("event".to_owned(), r#""Product Added""#.to_owned()),
        ("userId".to_owned(), r#""u1""#.to_owned()),
        (
            "timestamp".to_owned(),
            r#""2026-01-05T10:00:00.123Z""#.to_owned(),
        ),
    ];
    (
        prop::collection::vec(member(), 0..6),
        prop::bool::weighted(0.8),
        any::<Index>(),
        prop_oneof![8 => Just(None), 1 => select(&["x", ",}", "}", " ", "\"", "{", "]", "\\"][..]).prop_map(Some)],
        prop::bool::weighted(0.1),
    )
        .prop_flat_map(move |(extra, with_envelope, at, insert, cut)| {
            let mut members = if with_envelope {
                envelope.clone()
            } else {
                Vec::new()
            };
            // Later members replace the envelope's of their name, unless they repeat it.
            for (n, v) in extra {
                match members.iter_mut().find(|(m, _)| *m == n) {
                    Some(m) if n.len() % 3 != 0 => m.1 = v,
                    _ => members.push((n, v)),
                }
            }
            Just(members)
                .prop_shuffle()
                .prop_map(move |members| {
                    let mut line = object_of(members, "").into_bytes();
                    let i = at.index(line.len() + 1);
                    if let Some(s) = insert {
                        line.splice(i..i, s.bytes());
                    } else if cut {
                        line.truncate(i);
                    }
                    line
                })
        })
}

/// Decode `line` both ways and compare everything a caller can see.
fn same(walked: &mut Decoder, general: &mut Decoder, line: &[u8]) -> Result<(), TestCaseError> {
    let mut interner = Interner::default();
    let (mut a, mut b) = (Event::default(), Event::default());
    let fast = walked.decode(line, 3, &mut interner, &mut a);
    let slow = general.decode_general(line, 3, &mut interner, &mut b);
    let text = String::from_utf8_lossy(line);
    prop_assert_eq!(&fast, &slow, "{}", text);
    if fast == Decoded::Event {
        prop_assert_eq!(
            (a.kind, &a.key, a.ts, a.line, a.origin, &a.fields),
            (b.kind, &b.key, b.ts, b.line, b.origin, &b.fields),
            "{}",
            text
        );
        prop_assert_eq!(walked.time_was_int(), general.time_was_int(), "{}", text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn the_walk_agrees_with_the_general_path(line in line()) {
        for src in [SEGMENT, FIXTURE] {
            let p = program(src);
            same(&mut Decoder::new(&p), &mut Decoder::new(&p), &line)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// One decoder reads a stream, as `trigc run` does: the top-level names it learns
    /// from a line, to recognise them on the next at sight, change no answer, whether
    /// the next line has the same names, fewer, more, others or repeats.
    #[test]
    fn a_stream_agrees_with_the_general_path(
        lines in prop::collection::vec(line(), 1..4),
        picks in prop::collection::vec(any::<Index>(), 1..10),
    ) {
        for src in [SEGMENT, FIXTURE] {
            let p = program(src);
            let (mut walked, mut general) = (Decoder::new(&p), Decoder::new(&p));
            for pick in &picks {
                let line: &Vec<u8> = pick.get(&lines);
                same(&mut walked, &mut general, line)?;
            }
        }
    }
}

/// Hand-picked lines at the edges of what the walk reads, read in order by one
/// decoder (so some lines come after one with the same top-level names).
#[test]
fn edge_lines_agree() {
    let lines = [
        r#"{"type":"track","event":"Product Added","messageId":"ajs-1","timestamp":"2026-01-05T10:00:00.123Z","properties":{"product":"p1","price":19.9},"context":{"library":{"name":"analytics.js","version":"4.1.0"},"ip":"203.0.113.7","locale":"en-US"},"userId":"u1"}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p1","price":1,"product":"p2"}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p1","price":1,"x":1,"x":2}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p1","price":1},"x":1,"x":2}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":{"a":1},"price":1}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1,"item":[{"qty":1}]}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1,"item":{"qty":2}}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1,"item":"x"}}"#,
        r#"{"event":"Cart","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"products":[{"n":1},{"n":2}],"tags":["a"]}}"#,
        r#"{"event":"Cart","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"products":null}}"#,
        r#"{"event":"Cart","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{}}"#,
        r#"{"event":"Price Changed","timestamp":"2026-01-05T10:00:00Z","properties":{"item":{"sku":"s"}}}"#,
        r#"{"event":"Product Viewed","timestamp":"2026-01-05T10:00:00Z","context":{"traits":{"email":"e@x"}},"properties":{"product":"p"}}"#,
        r#"{"event":"Product Viewed","timestamp":"2026-01-05T10:00:00Z","context":{"traits":{"em\u0061il":"e@x"}},"properties":{"product":"p"}}"#,
        r#"{"event":"Product Viewed","userId":"u","timestamp":"2026-01-05T10:00:00Z","context":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"properties":{"product":"p"}}"#,
        r#"{"event":"Product Viewed","userId":"u","timestamp":"2026-01-05T10:00:00Z","context":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"properties":{"product":"p"}}"#,
        "{\"event\":\"Product Viewed\",\n\"userId\":\"u\",\t\"timestamp\":\"2026-01-05T10:00:00Z\",\r\"properties\":{ \"product\" : \"p\" } }",
        r#"{"event":"Product Viewed","userId":"u","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p"}} x"#,
        r#"{"event":"Product Viewed","userId":"u","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p"},"c":{"a":1,}}"#,
        r#"{"event":"Product Viewed","userId":"u","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p"},"c":{"a" 1}}"#,
        // A member read whose value is an object or array, repeated: the walk marks
        // it seen when it meets the object or array (not when it meets the name).
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p1","price":1},"properties":{"product":"p2","price":2}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":[1],"properties":{"product":"p2","price":2}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p2","price":2},"properties":[]}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1,"item":{"qty":2},"item":{"qty":3}}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1,"item":[],"item":{"qty":3}}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1,"item":{"qty":3},"item":7}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1,"item":7,"item":{"qty":3}}}"#,
        r#"{"event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{},"properties":null}"#,
        r#"[1]"#,
        "",
        // The same top-level names as the line before, then a repeat of an unread
        // one in the same number of members, then more and fewer members.
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"y":2}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"y":2}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"x":2}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"x":2}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"y":2}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"y":2,"x":3}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1}}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"userId":"u2"}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"y":2}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"y":2,}"#,
        r#"{"context":{},"event":"Product Added","x":1,"userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1},"y":2}"#,
    ];
    for src in [SEGMENT, FIXTURE] {
        let p = program(src);
        let (mut walked, mut general) = (Decoder::new(&p), Decoder::new(&p));
        for line in lines {
            if let Err(e) = same(&mut walked, &mut general, line.as_bytes()) {
                panic!("{e}");
            }
        }
    }
}

/// Unread nested values (`context`, an unknown member) the walk only checks: strings
/// holding structure, escapes and quotes, strings of every length around a word's
/// and a 64-byte block's edge, nesting up to and past the limit in objects and
/// arrays, and malformed content deep inside, each in a line that is otherwise
/// right, so that only the check of the unread value decides (BENCHMARKS.md "Event
/// shapes", twelfth session).
#[test]
fn unread_nested_values_agree() {
    let mut values: Vec<String> = [
        r#"{"a":"{[}]:,"}"#,
        r#"{"a":"\"}","b":["\\",{"c":"]\""}]}"#,
        r#"{"library":{"name":"analytics.js","version":"4.1.0"},"ip":"203.0.113.7","locale":"en-US","userAgent":"Mozilla/5.0 (X11; Linux x86_64)"}"#,
        r#"{"a":[1,-2.5e3,true,false,null,{},[],"x"],"b":{"c":[[[0]]]}}"#,
        r#"{ "a" : [ 1 , { "b" : "c" } ] , "d" : { } }"#,
        "{\"a\":\t{\"b\":\r\n[\"c\" ,\"d\"]\n}}",
        r#"{"a":"\ud83d\ude00\u00e9\/\b\f\n\r\t"}"#,
        // Malformed inside.
        r#"{"a":{"b":[1,2,{"c":"d"},]}}"#,
        r#"{"a":{"b":[1,2,{"c":"d",}]}}"#,
        r#"{"a":{"b":[1,2,{"c" "d"}]}}"#,
        r#"{"a":{"b":[1,2,{"c":}]}}"#,
        r#"{"a":{"b":[1,2,{"c":"d"]}}"#,
        r#"{"a":{"b":[1,2,{"c":"d"}}}"#,
        r#"{"a":{"b":[01]}}"#,
        r#"{"a":{"b":[1.]}}"#,
        r#"{"a":{"b":[1e400]}}"#,
        r#"{"a":{"b":[-]}}"#,
        r#"{"a":{"b":[tru]}}"#,
        r#"{"a":{"b":[nulll]}}"#,
        r#"{"a":{"b":"\x"}}"#,
        r#"{"a":{"b":"\ud800"}}"#,
        r#"{"a":{"b":"\u12"}}"#,
        "{\"a\":{\"b\":\"c\u{1}\"}}",
        r#"{"a":{b:1}}"#,
        r#"{"a":{"b":1}"#,
        r#"{"a":{"b":1}}}"#,
        r#"{"a":{"b\":1}}"#,
        r#"{,"a":1}"#,
        r#"{"a":1,}"#,
        r#"[,1]"#,
        r#"[1,]"#,
        r#"[1 2]"#,
        r#"{"a":[}"#,
        r#""open"#,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Strings of every length from 0 to 140, ending plainly, with an escape, with a
    // control byte, or unclosed, so that the byte that ends the scan falls on every
    // position of a word and of a 64-byte block.
    for len in 0..140 {
        let body = "x".repeat(len);
        for end in ["", r#"\""#, "\u{1f}", r#"\u00e9"#] {
            values.push(format!(r#"{{"k":"{body}{end}","l":["{body}"]}}"#));
        }
        values.push(format!(r#"{{"k":"{body}"#));
    }
    // Compact members (`,"name":"value"`, taken whole by the skip) with the byte that
    // ends a name or a value at every position of a word, and broken just after.
    for len in 0..20 {
        let body = "x".repeat(len);
        for end in ["", r#"\""#, "\u{1f}", r#"\u00e9"#, r#"\"#] {
            values.push(format!(r#"{{"a":"b","k":"{body}{end}","m":"n"}}"#));
            values.push(format!(r#"{{"a":"b","{body}{end}":"v","m":{{"n":"o"}}}}"#));
            values.push(format!(r#"{{"{body}{end}":"v"}}"#));
            values.push(format!(r#"[{{"a":"{body}{end}"}},"{body}"]"#));
        }
    }
    for broken in [
        r#"{"a":"b",}"#,
        r#"{"a":"b","c"}"#,
        r#"{"a":"b","c":}"#,
        r#"{"a":"b","c":"d""#,
        r#"{"a":"b","#,
        r#"{"a":"b",""#,
        r#"{"a":"b",":"}"#,
        r#"{"a":"b":"c"}"#,
        r#"{"a":"b","c":"d",,"e":"f"}"#,
        r#"{"a":"b" ,"c":"d"}"#,
        r#"{"a" :"b", "c": "d"}"#,
        r#"{"a":"b","c":"d"]"#,
        r#"["a","b":"c"]"#,
        r#"{"a":"b","c":["d","e"],"f":{"g":"h"}}"#,
        r#"{"":"","":""}"#,
    ] {
        values.push(broken.to_owned());
    }
    // Nesting at and past the limit, in objects, arrays and both.
    for depth in [60, 61, 62, 63, 64, 65, 70] {
        values.push(format!(
            "{}1{}",
            r#"{"a":"#.repeat(depth),
            "}".repeat(depth)
        ));
        values.push(format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
        values.push(format!(
            "{}{}",
            r#"{"a":["#.repeat(depth / 2),
            "]}".repeat(depth / 2)
        ));
    }
    let (mut events, mut rejected) = (0, 0);
    for src in [SEGMENT, FIXTURE] {
        let p = program(src);
        let (mut walked, mut general) = (Decoder::new(&p), Decoder::new(&p));
        for value in &values {
            for name in ["context", "x"] {
                for at_end in [false, true] {
                    let envelope = r#""event":"Product Added","userId":"u1","timestamp":"2026-01-05T10:00:00Z","properties":{"product":"p","price":1}"#;
                    let line = if at_end {
                        format!(r#"{{{envelope},"{name}":{value}}}"#)
                    } else {
                        format!(r#"{{"{name}":{value},{envelope}}}"#)
                    };
                    if let Err(e) = same(&mut walked, &mut general, line.as_bytes()) {
                        panic!("{e}");
                    }
                    let mut interner = Interner::default();
                    match walked.decode(line.as_bytes(), 1, &mut interner, &mut Event::default()) {
                        Decoded::Event => events += 1,
                        Decoded::Rejected(_) => rejected += 1,
                        Decoded::Ignored { .. } => {}
                    }
                }
            }
        }
    }
    // Both answers are exercised: the lines are right but for the unread value.
    assert!(
        events > 1000 && rejected > 1000,
        "{events} events, {rejected} rejected"
    );
}
