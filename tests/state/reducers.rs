//! State reducers, filters and the profile merge.

use super::*;

#[test]
fn removing_an_absent_member_does_nothing() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    let p = w.s("p1");
    w.feed(1, shop.remove, T0, vec![p]);
    assert!(
        w.key(1).is_empty(),
        "removing from an empty cart allocates nothing"
    );
    let f = add_fields(&mut w, "p1", 1.0, None);
    w.feed(1, shop.add, T0, f);
    let other = w.s("p2");
    w.feed(1, shop.remove, T0, vec![other]);
    let expect = w.set(&["p1"]);
    assert_eq!(w.state(1, shop.cart), expect);
    assert_eq!(w.customers(shop.cart, "p1"), vec![1]);
    let p = w.s("p1");
    w.feed(1, shop.remove, T0, vec![p.clone()]);
    w.feed(1, shop.remove, T0, vec![p]);
    let expect = w.set(&[]);
    assert_eq!(w.state(1, shop.cart), expect);
    assert_eq!(w.customers(shop.cart, "p1"), Vec::<u32>::new());
    assert_eq!(w.report.cap_hits, 0);
}

#[test]
fn clear_resets_states_and_the_index() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    for p in ["a", "b"] {
        let f = add_fields(&mut w, p, 1.0, None);
        w.feed(1, shop.add, T0, f);
    }
    assert_eq!(w.index.len(), 2);
    let o = w.s("o1");
    w.feed(
        1,
        shop.purchase,
        T0 + MIN,
        vec![o.clone(), Value::Float(2.5)],
    );
    let empty = w.set(&[]);
    assert_eq!(w.state(1, shop.cart), empty);
    assert_eq!(w.index.len(), 0);
    assert_eq!(w.state(1, shop.spent), Value::Float(2.5));
    assert_eq!(w.state(1, shop.last_order), o);
}

#[test]
fn initial_values_follow_the_declared_type() {
    let shop = shop();
    let w = World::new(&shop.p);
    let data = KeyData::default();
    assert_eq!(data.state(&shop.p, shop.cart), Value::Set(Arc::new(vec![])));
    assert_eq!(
        data.state(&shop.p, shop.pages),
        Value::List(Arc::new(vec![]))
    );
    assert_eq!(data.state(&shop.p, shop.spent), Value::Float(0.0));
    assert_eq!(data.state(&shop.p, shop.big_adds), Value::Int(0));
    assert_eq!(data.state(&shop.p, shop.last_order), Value::None);
    assert_eq!(
        w.mini.interner.resolve(trigc::runtime::state::EMPTY_STR),
        ""
    );
    assert_eq!(
        trigc::runtime::state::initial_value(&Ty::Str),
        Value::Str(Sym(0))
    );
}

#[test]
fn sets_are_equal_values_whatever_the_insertion_order() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    for p in ["b", "a", "c"] {
        w.s(p);
    }
    for (c, order) in [(1, ["b", "a", "c"]), (2, ["c", "b", "a"])] {
        for p in order {
            let f = add_fields(&mut w, p, 1.0, None);
            w.feed(c, shop.add, T0, f);
        }
    }
    assert_eq!(w.state(1, shop.cart), w.state(2, shop.cart));
    let Value::Set(members) = w.state(1, shop.cart) else {
        panic!("not a set")
    };
    let syms: Vec<Sym> = members
        .iter()
        .map(|m| if let Value::Str(s) = m { *s } else { panic!() })
        .collect();
    assert!(syms.windows(2).all(|p| p[0] < p[1]), "{syms:?}");
    let (Some(a), Some(b)) = (
        serde_json::to_value(w.key(1)).ok(),
        serde_json::to_value(w.key(2)).ok(),
    ) else {
        panic!()
    };
    assert_eq!(a["states"], b["states"], "the stored form is canonical too");
}

#[test]
fn push_keeps_the_newest_max_entries() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    for i in 0..5 {
        let p = w.s(&format!("page{i}"));
        w.feed(1, shop.visit, T0 + i, vec![p]);
    }
    let expect: Vec<Value> = (2..5).map(|i| w.s(&format!("page{i}"))).collect();
    assert_eq!(w.state(1, shop.pages), Value::List(Arc::new(expect)));
    assert_eq!(
        w.report.cap_hits, 0,
        "trimming to `max` is the semantics, not a cap"
    );
}

#[test]
fn reducer_filters_see_the_state_before_the_event_and_none_is_false() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    for (p, qty) in [("a", Some(3)), ("b", None), ("c", Some(1)), ("d", Some(5))] {
        let f = add_fields(&mut w, p, 1.0, qty);
        w.feed(1, shop.add, T0, f);
    }
    assert_eq!(w.state(1, shop.big_adds), Value::Int(2));
    // Only the first add found the cart empty, although `cart` (state 0) took the
    // event in before `adds_to_empty_cart` (state 4) did.
    assert_eq!(w.state(1, shop.adds_to_empty_cart), Value::Int(1));
}

#[test]
fn filter_errors_skip_the_rule_and_are_reported() {
    let mut b = Builder::default();
    let e = b.event("E", vec![field("n", Ty::Int, false)]);
    let n = b.field(e, 0);
    let zero = b.int(0);
    let div = b.expr(
        Expr::Binary {
            op: BinaryOp::Div,
            lhs: n,
            rhs: zero,
        },
        Ty::Int,
    );
    let one = b.int(1);
    let filter = b.binary(BinaryOp::Gt, div, one);
    let s = b.state(
        "hits",
        Ty::Int,
        false,
        vec![(e, Some(filter), ReducerOp::Add(n))],
    );
    let total = b.state("total", Ty::Int, false, vec![(e, None, ReducerOp::Add(n))]);
    let counted = b.agg(AggKind::Count, e, None, Some(filter), None);
    let mut w = World::new(&b.p);
    w.feed(1, e, T0, vec![Value::Int(7)]);
    assert_eq!(w.report.filter_errors.len(), 2);
    assert_eq!(
        w.report.filter_errors[0],
        EvalError {
            expr: div,
            kind: EvalErrorKind::DivisionByZero
        }
    );
    assert_eq!(w.state(1, s), Value::Int(0));
    assert_eq!(w.agg(1, counted, T0), Value::Int(0));
    assert_eq!(w.state(1, total), Value::Int(7), "other rules still apply");

    w.feed(1, e, T0, vec![Value::Int(i64::MAX)]);
    let last = w.report.filter_errors.last().cloned();
    assert_eq!(
        last,
        Some(EvalError {
            expr: n,
            kind: EvalErrorKind::IntegerOverflow
        })
    );
    assert_eq!(
        w.state(1, total),
        Value::Int(7),
        "an overflowing add leaves the state"
    );
}

#[test]
fn profile_events_merge_present_fields_only() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    let (email, tier) = (ProfileFieldId(0), ProfileFieldId(1));
    assert_eq!(KeyData::default().profile(email), Value::None);
    let a = w.s("a@x.io");
    let gold = w.s("gold");
    w.feed(1, shop.profile_update, T0, vec![a.clone(), gold.clone()]);
    let b = w.s("b@x.io");
    w.feed(1, shop.profile_update, T0 + 1, vec![b.clone(), Value::None]);
    assert_eq!(w.key(1).profile(email), b);
    assert_eq!(
        w.key(1).profile(tier),
        gold,
        "an absent field keeps the old value"
    );
    let silver = w.s("silver");
    w.keys[1].set_profile(tier, silver.clone());
    assert_eq!(w.key(1).profile(tier), silver);
    w.keys[1].set_profile(tier, Value::None);
    assert_eq!(w.key(1).profile(tier), Value::None);
}
