//! Caps, memory per customer and serialisation of key data.

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
// Memory.

#[test]
fn empty_key_data_allocates_nothing_and_a_cart_customer_stays_small() {
    let before = live_bytes();
    let empty = KeyData::default();
    assert!(empty.is_empty());
    assert_eq!(live_bytes(), before);
    assert!(std::mem::size_of::<KeyData>() <= 48);

    let (p, adds) = memory_program();
    let mut w = World::new(&p);
    for i in 0..10 {
        w.s(&format!("product-{i}"));
    }
    let n = 200;
    w.keys.reserve(n as usize + 1);
    w.report.filter_errors.reserve(16);
    let before = live_bytes();
    for c in 0..n {
        feed_memory_scenario(&mut w, c, adds);
    }
    let per_customer = (live_bytes() - before) as f64 / f64::from(n);
    let total = per_customer + std::mem::size_of::<KeyData>() as f64;
    eprintln!("bytes per customer (10-item cart + 3 windows): {total:.0} ({per_customer:.0} heap)");
    // 324 bytes when written (issue #4 asks for at most 400).
    assert!(total <= 340.0, "{total} bytes per customer");
}

/// cart: set<string>; count(ADD_TO_CART within 1h), sum(ADD_TO_CART.price within 1d),
/// exists(VISIT within 7d). Not indexed (the index is measured apart).
fn memory_program() -> (Program, [EventId; 2]) {
    let mut b = Builder::default();
    let add = b.event(
        "ADD_TO_CART",
        vec![
            field("product", Ty::Str, false),
            field("price", Ty::Float, false),
        ],
    );
    let visit = b.event("VISIT", vec![field("page", Ty::Str, true)]);
    let product = b.field(add, 0);
    b.state(
        "cart",
        Ty::Set(Box::new(Ty::Str)),
        false,
        vec![(add, None, ReducerOp::Insert(product))],
    );
    b.agg(AggKind::Count, add, None, None, Some(HOUR));
    b.agg(AggKind::Sum, add, Some(1), None, Some(DAY));
    b.agg(AggKind::Exists, visit, None, None, Some(7 * DAY));
    (b.p, [add, visit])
}

/// Ten adds of distinct products a minute apart, then one visit.
fn feed_memory_scenario(w: &mut World, c: u32, [add, visit]: [EventId; 2]) {
    for i in 0..10 {
        let p = w.s(&format!("product-{i}"));
        w.feed(c, add, T0 + i * MIN, vec![p, Value::Float(9.5)]);
    }
    w.feed(c, visit, T0 + 10 * MIN, vec![Value::None]);
}

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
