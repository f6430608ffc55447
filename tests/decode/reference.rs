//! The reference decoder, the same wire rules written plainly over serde_json, and
//! property tests that generate lines (well-formed or not, well-typed or not) and
//! check the logos decoder reaches the same verdict and the same values.

use proptest::prelude::*;
use serde_json::json;
use trigc::interp::{Interner, Value};
use trigc::io::{Decoded, Decoder};
use trigc::ir::{Program, Ty};
use trigc::runtime::Event;

use super::program;

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
    Event {
        kind: u32,
        key: String,
        ts: i64,
        fields: Vec<V>,
    },
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
    let Ok(J::Object(obj)) = serde_json::from_str::<J>(line) else {
        return Outcome::Rejected;
    };
    // serde_json keeps the last of repeated names; the wire rules reject the line.
    match serde_json::from_str::<Names>(line) {
        Ok(Names(names)) if names.len() == obj.len() => {}
        _ => return Outcome::Rejected,
    }
    let get = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let Some(J::String(kind)) = get(&program.schema.type_) else {
        return Outcome::Rejected;
    };
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
    let Some(ts) = get(&program.schema.time).and_then(ref_time) else {
        return Outcome::Rejected;
    };
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
    Outcome::Event {
        kind: u32::try_from(id).unwrap_or(u32::MAX),
        key,
        ts,
        fields,
    }
}

/// The top-level member names of an object, every one (repeats included).
struct Names(Vec<String>);

impl<'de> serde::Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Names;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Names, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    names.push(name);
                }
                Ok(Names(names))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A time in the accepted range (1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z).
fn ref_time(j: &serde_json::Value) -> Option<i64> {
    let ms = match j {
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }?;
    (0..=253_402_300_799_999).contains(&ms).then_some(ms)
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
        (Ty::Set(t), J::Array(items)) => V::Set(sorted(
            items
                .iter()
                .map(|j| ref_value(j, t))
                .collect::<Option<Vec<_>>>()?,
        )),
        (Ty::List(t), J::Array(items)) => V::List(
            items
                .iter()
                .map(|j| ref_value(j, t))
                .collect::<Option<Vec<_>>>()?,
        ),
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
            Outcome::Event {
                kind,
                key,
                ts,
                fields,
            },
            Outcome::Event {
                kind: k2,
                key: key2,
                ts: ts2,
                fields: f2,
            },
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
    let text = (parts, 0usize..5, 0u32..4).prop_map(|((y, mo, d, h, mi, s), frac, zone)| {
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
        Ty::Int => prop_oneof![any::<i64>(), -5i64..5]
            .prop_map(serde_json::Value::from)
            .boxed(),
        Ty::Float => prop_oneof![
            (-1e9f64..1e9).prop_map(serde_json::Value::from),
            (-1000i64..1000).prop_map(serde_json::Value::from),
        ]
        .boxed(),
        Ty::Str => "[a-z0-9\\-\"\\\\\u{e9}]{0,8}"
            .prop_map(serde_json::Value::from)
            .boxed(),
        Ty::Time => arb_time().boxed(),
        Ty::Duration => prop_oneof![
            (0i64..1 << 40).prop_map(serde_json::Value::from),
            "([0-9]{1,3}(ms|s|m|h|d|w)){1,3}".prop_map(serde_json::Value::from),
            "[0-9a-z]{0,4}".prop_map(serde_json::Value::from),
        ]
        .boxed(),
        Ty::Set(t) | Ty::List(t) => prop::collection::vec(arb_typed(t), 0..5)
            .prop_map(serde_json::Value::from)
            .boxed(),
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
    (kind, key, arb_time(), keep)
        .prop_flat_map(move |(kind, key, ts, keep)| {
            let def = kind
                .as_str()
                .and_then(|k| program.events.iter().find(|e| e.name == k))
                .cloned();
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
            (
                Just(envelope),
                fields,
                junk,
                any::<prop::sample::Index>(),
                any::<u64>(),
            )
        })
        .prop_map(|(envelope, fields, junk, _at, seed)| {
            let mut members: Vec<(String, serde_json::Value)> = envelope;
            members.extend(fields.into_iter().flatten());
            members.extend(junk);
            // Shuffle deterministically from the generated seed: the member order must
            // not matter, and the `type` member often comes last.
            let mut s = seed;
            for i in (1..members.len()).rev() {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
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
        prop_assert!(same(&got, &want), "line: {line}\n ours: {got:?}\n  ref: {want:?}");
    }
}

/// Lines at the edges of the decoder's flat (one-pass) path: it must reach the same
/// verdict and values as the reference wherever it takes a line or hands it on.
#[test]
fn flat_path_edges_agree_with_the_reference() {
    let lines = [
        r#"{"type":"VISIT","user":"u","ts":0}"#,
        r#" { "type" : "VISIT" , "user" :"u",	"ts": 0 , "page" : "/é" } "#,
        r#"{"type":"VISIT","user":"u","ts":0,"page":null}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"page":true}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":false,"y":null,"z":true}"#,
        r#"{"type":"VISIT","user":12345678901234567890,"ts":0}"#,
        r#"{"type":"VISIT","user":"u","ts":1e3}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":1.5E+3}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":1e400}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":1.}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":1e}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":1.5e}"#,
        r#"{"type":"VISIT","user":"u","ts":01}"#,
        r#"{"type":"VISIT","user":"u","ts":-}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":truex}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":nul}"#,
        r#"{"type":"VISIT","user":"u\n","ts":0}"#,
        r#"{"type":"VI\u0053IT","user":"u","ts":0}"#,
        r#"{"ty\u0070e":"VISIT","user":"u","ts":0}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":[1,{"a":"b"}]}"#,
        r#"{"type":"VISIT","user":"u","ts":0,"x":{}}"#,
        r#"{"type":"VISIT","user":"u","ts":0,}"#,
        r#"{"type":"VISIT","user":"u","ts":0 "x":1}"#,
        r#"{"type":"VISIT","user":"u","ts":0}}"#,
        r#"{"type":"VISIT","user":"u","ts":0}x"#,
        r#"{"type":"VISIT","user":"u","ts":0,"page":"a"b"}"#,
        r#"{"type":"VISIT","user":"u" "ts":0}"#,
        r#"{"type":"VISIT","user":"u","ts":"2026-01-05T10:30:00.5Z"}"#,
        r#"{"type":"VISIT","user":"u","ts":"2026-01-05T11:30:00+01:00"}"#,
        r#"{"type":"VISIT","user":"u","ts":"2026-01-05T10:30:00.Z"}"#,
        r#"{"type":"VISIT","user":"u","user":"v","ts":0}"#,
        r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p","price":3,"qty":2}"#,
        r#"{"type":"ADD_TO_CART","user":"u","ts":0,"product":"p","price":3.5,"qty":2.0}"#,
        r#"{"type":"NOPE","user":"u","ts":0}"#,
        r#"{}"#,
        r#"{"#,
        r#"{"type""#,
        r#"{"type":"#,
        r#","type":"VISIT"}"#,
        "{\"type\":\"VISIT\",\"user\":\"a\tb\",\"ts\":0}",
    ];
    let program = program();
    let mut decoder = Decoder::new(&program);
    for line in lines {
        let got = ours(&mut decoder, line);
        let want = reference(&program, line);
        assert!(
            same(&got, &want),
            "line: {line}\n ours: {got:?}\n  ref: {want:?}"
        );
    }
}
