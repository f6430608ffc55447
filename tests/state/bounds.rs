//! Caps and serialisation of key data.

use super::*;

#[test]
fn caps_bound_sets_windows_and_lists_and_are_counted() {
    let mut b = Builder::default();
    let e = b.event("E", vec![field("n", Ty::Int, false)]);
    let n = b.field(e, 0);
    let set = b.state(
        "seen",
        Ty::Set(Box::new(Ty::Int)),
        true,
        vec![(e, None, ReducerOp::Insert(n))],
    );
    let list = b.state(
        "ns",
        Ty::List(Box::new(Ty::Int)),
        false,
        vec![(
            e,
            None,
            ReducerOp::Push {
                value: n,
                max: 1_000_000,
            },
        )],
    );
    let count = b.agg(AggKind::Count, e, None, None, Some(DAY));
    let distinct = b.agg(AggKind::Distinct, e, Some(0), None, None);
    let mut w = World::new(&b.p);
    let extra = 5;
    for i in 0..(SET_CAP.max(WINDOW_CAP).max(LIST_CAP) + extra) as i64 {
        w.feed(1, e, T0 + i, vec![Value::Int(i)]);
    }
    // One hit per dropped insert, window entry, list entry and distinct value.
    assert_eq!(w.report.cap_hits, 4 * extra as u64);
    let Value::Set(s) = w.state(1, set) else {
        panic!()
    };
    assert_eq!(s.len(), SET_CAP);
    assert_eq!(
        s.last(),
        Some(&Value::Int(SET_CAP as i64 - 1)),
        "a full set refuses new members"
    );
    let Value::List(l) = w.state(1, list) else {
        panic!()
    };
    assert_eq!(
        (l.len(), l.first()),
        (LIST_CAP, Some(&Value::Int(extra as i64)))
    );
    assert_eq!(w.agg(1, count, T0 + DAY / 2), Value::Int(WINDOW_CAP as i64));
    let Value::Set(d) = w.agg(1, distinct, T0) else {
        panic!()
    };
    assert_eq!(d.len(), WINDOW_CAP);
    assert_eq!(w.index.len(), SET_CAP);
}

// ---------------------------------------------------------------------------
// Serialisation. (Bytes per customer are measured in tests/memory.rs, under dhat.)

#[test]
fn key_data_and_index_round_trip_through_serde() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    for i in 0..4 {
        let f = add_fields(&mut w, &format!("p{i}"), 1.5, Some(i));
        w.feed(1, shop.add, T0 + i * MIN, f);
        let page = w.s("home");
        w.feed(1, shop.visit, T0 + i * MIN, vec![page]);
    }
    let gold = w.s("gold");
    w.keys[1].set_profile(ProfileFieldId(1), gold);
    let json = serde_json::to_string(w.key(1)).unwrap();
    let back: KeyData = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, w.key(1));
    let json = serde_json::to_string(&w.index).unwrap();
    let back: FanOutIndex = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.index);
}
