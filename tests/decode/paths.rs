//! What a decoder learns from earlier lines only saves work, and the flat walk and
//! the logos path decode a line alike: property tests over lines glued from pieces.

use trigc::interp::{Interner, Value};
use trigc::io::Decoded;
use trigc::runtime::Event;

use super::Fixture;

/// An outcome with strings resolved, comparable across interners.
fn rendered(decoded: Decoded, out: &Event, interner: &Interner) -> String {
    match decoded {
        Decoded::Event => {
            let fields: Vec<String> = out
                .fields
                .iter()
                .map(|v| match v {
                    Value::Str(sym) => format!("{:?}", interner.resolve(*sym)),
                    other => format!("{other:?}"),
                })
                .collect();
            format!("{:?} {} {} {:?}", out.kind, out.key, out.ts, fields)
        }
        other => format!("{other:?}"),
    }
}

fn member_piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        r#""type":"ADD_TO_CART""#,
        r#""type":"VISIT""#,
        r#""type":"PRICE_CHANGE""#,
        r#""type":"NOPE""#,
        r#""type":"VISIT ""#,
        r#""user":"u1""#,
        r#""user":42"#,
        r#""user":"""#,
        r#""ts":"2026-01-05T10:00:00.123Z""#,
        r#""ts":"2026-01-06T23:59:59.999Z""#,
        r#""ts":"2026-01-05T10:00:00Z""#,
        r#""ts":"2026-02-30T10:00:00.000Z""#,
        r#""ts":1767607200000"#,
        r#""product":"p1""#,
        r#""product":7"#,
        r#""price":9.99"#,
        r#""price":1e3"#,
        r#""price":12345678901234567890"#,
        r#""qty":2"#,
        r#""qty":null"#,
        r#""page":"/cart""#,
        r#""old_price":3.5"#,
        r#""new_price":-0.0"#,
        r#""users":"x""#,
        r#""t":"VISIT""#,
        r#""ts ":1"#,
        r#""extra":[1,{"a":"\n"}]"#,
        r#""extra":1"#,
        r#""ex\u0074ra":2"#,
        r#""p\u0061ge":"/""#,
    ])
}

proptest::proptest! {
    #[test]
    fn a_warm_decoder_decodes_each_line_like_a_fresh_one(
        lines in proptest::collection::vec(
            proptest::collection::vec(member_piece(), 0..8),
            1..40,
        ),
    ) {
        let mut warm = Fixture::new();
        for (i, members) in lines.iter().enumerate() {
            let line = format!("{{{}}}", members.join(","));
            let mut fresh = Fixture::new();
            let expected = fresh.decode(&line);
            let expected = rendered(expected, &fresh.out, &fresh.interner);
            let got = warm.decode(&line);
            let got = rendered(got, &warm.out, &warm.interner);
            proptest::prop_assert_eq!(got, expected, "line {} {}", i, line);
        }
    }

    /// The flat walk and the logos path decode a line alike, repeated names
    /// included: the same line with one more member that is not flat (an array)
    /// takes the logos path.
    #[test]
    fn the_flat_and_general_paths_decode_alike(
        members in proptest::collection::vec(member_piece(), 0..10),
    ) {
        let line = format!("{{{}}}", members.join(","));
        let general = format!("{{{}}}", members.iter().copied().chain([r#""zz_general":[0]"#]).collect::<Vec<_>>().join(","));
        let mut f = Fixture::new();
        let flat = f.decode(&line);
        let flat = rendered(flat, &f.out, &f.interner);
        let mut g = Fixture::new();
        let got = g.decode(&general);
        let got = rendered(got, &g.out, &g.interner);
        proptest::prop_assert_eq!(got, flat, "line {}", line);
    }
}
