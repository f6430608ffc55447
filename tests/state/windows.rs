//! Window aggregates: boundaries, empty windows, distinct, last/first, expiry.

use super::*;

#[test]
fn window_is_half_open_at_exactly_d() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    let f = add_fields(&mut w, "p1", 10.0, None);
    w.feed(1, shop.add, T0, f);
    let f = add_fields(&mut w, "p2", 20.0, None);
    w.feed(1, shop.add, T0 + 5 * MIN, f);

    // The current event is included.
    assert_eq!(w.agg(1, shop.adds_10m, T0 + 5 * MIN), Value::Int(2));
    assert_eq!(w.agg(1, shop.adds_10m, T0 + 10 * MIN - 1), Value::Int(2));
    // An entry at exactly now − D is out.
    assert_eq!(w.agg(1, shop.adds_10m, T0 + 10 * MIN), Value::Int(1));
    assert_eq!(w.agg(1, shop.adds_10m, T0 + 15 * MIN - 1), Value::Int(1));
    assert_eq!(w.agg(1, shop.adds_10m, T0 + 15 * MIN), Value::Int(0));
    // Read at a timer's fire time, long after the newest event, without expiry.
    assert_eq!(
        w.agg(1, shop.price_sum_1h, T0 + 30 * MIN),
        Value::Float(30.0)
    );
    assert_eq!(w.agg(1, shop.price_sum_1h, T0 + HOUR), Value::Float(20.0));
    assert_eq!(
        w.agg(1, shop.price_sum_1h, T0 + HOUR + 5 * MIN),
        Value::Float(0.0)
    );
}

#[test]
fn exists_within_d_and_all_time_counters() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    assert_eq!(w.agg(1, shop.visited_1d, T0), Value::Bool(false));
    w.feed(1, shop.visit, T0, vec![Value::None]);
    assert_eq!(w.agg(1, shop.visited_1d, T0), Value::Bool(true));
    assert_eq!(w.agg(1, shop.visited_1d, T0 + DAY - 1), Value::Bool(true));
    assert_eq!(w.agg(1, shop.visited_1d, T0 + DAY), Value::Bool(false));

    assert_eq!(w.agg(1, shop.purchases, T0), Value::Int(0));
    assert_eq!(w.agg(1, shop.amount_total, T0), Value::Float(0.0));
    let o = w.s("o1");
    w.feed(1, shop.purchase, T0, vec![o.clone(), Value::Float(5.5)]);
    w.feed(1, shop.purchase, T0 + 400 * DAY, vec![o, Value::Float(4.5)]);
    assert_eq!(w.agg(1, shop.purchases, T0 + 1000 * DAY), Value::Int(2));
    assert_eq!(
        w.agg(1, shop.amount_total, T0 + 1000 * DAY),
        Value::Float(10.0)
    );
}

#[test]
fn avg_min_max_are_none_on_empty_windows() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    w.feed(1, shop.visit, T0, vec![Value::None]); // key data exists, but no prices
    for agg in [
        shop.price_avg_1h,
        shop.price_min_1h,
        shop.price_max_1h,
        shop.last_add,
        shop.first_add,
    ] {
        assert_eq!(w.agg(1, agg, T0), Value::None);
    }
    for (i, price) in [30.0, 10.0, 20.0].into_iter().enumerate() {
        let f = add_fields(&mut w, &format!("p{i}"), price, None);
        w.feed(1, shop.add, T0 + i as i64 * MIN, f);
    }
    let now = T0 + 2 * MIN;
    assert_eq!(w.agg(1, shop.price_avg_1h, now), Value::Float(20.0));
    assert_eq!(w.agg(1, shop.price_min_1h, now), Value::Float(10.0));
    assert_eq!(w.agg(1, shop.price_max_1h, now), Value::Float(30.0));
    // The 30.0 (at T0) leaves first, then the 10.0.
    assert_eq!(w.agg(1, shop.price_max_1h, T0 + HOUR), Value::Float(20.0));
    assert_eq!(
        w.agg(1, shop.price_min_1h, T0 + HOUR + MIN),
        Value::Float(20.0)
    );
    let later = T0 + HOUR + 2 * MIN;
    for agg in [shop.price_avg_1h, shop.price_min_1h, shop.price_max_1h] {
        assert_eq!(w.agg(1, agg, later), Value::None);
    }
}

#[test]
fn distinct_counts_each_value_once_while_any_copy_is_in_the_window() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    for (i, p) in ["b", "a", "b", "c"].into_iter().enumerate() {
        let f = add_fields(&mut w, p, 1.0, None);
        w.feed(1, shop.add, T0 + i as i64 * 20 * MIN, f);
    }
    // at T0 + 60m: the first "b" (T0) is out, the second (T0 + 40m) is in.
    let expect = w.set(&["a", "b", "c"]);
    assert_eq!(w.agg(1, shop.products_1h, T0 + 60 * MIN), expect);
    let expect = w.set(&["b", "c"]);
    assert_eq!(w.agg(1, shop.products_1h, T0 + 80 * MIN), expect);
    let expect = w.set(&[]);
    assert_eq!(w.agg(1, shop.products_1h, T0 + 200 * MIN), expect);
}

#[test]
fn last_and_first_store_whole_events_with_absent_fields() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    let f1 = add_fields(&mut w, "p1", 1.0, Some(3));
    w.feed(1, shop.add, T0, f1.clone());
    let f2 = add_fields(&mut w, "p2", 2.0, None);
    w.feed(1, shop.add, T0 + MIN, f2.clone());

    let Value::Event(last) = w.agg(1, shop.last_add, T0 + DAY) else {
        panic!("last(ADD_TO_CART) is none")
    };
    assert_eq!(
        (last.kind, last.ts, &*last.fields),
        (shop.add, T0 + MIN, &f2[..])
    );
    assert_eq!(last.fields[2], Value::None, "qty was absent");
    let Value::Event(first) = w.agg(1, shop.first_add, T0 + DAY) else {
        panic!("first(ADD_TO_CART) is none")
    };
    assert_eq!((first.ts, &*first.fields), (T0, &f1[..]));
    // `last within 1h` disappears once the newest is an hour old.
    assert!(matches!(
        w.agg(1, shop.last_add_1h, T0 + MIN + HOUR - 1),
        Value::Event(_)
    ));
    assert_eq!(w.agg(1, shop.last_add_1h, T0 + MIN + HOUR), Value::None);
}

#[test]
fn expire_drops_only_unreadable_entries_and_empties_idle_keys() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    for i in 0..5 {
        let f = add_fields(&mut w, "p", 1.0 + i as f64, None);
        w.feed(1, shop.add, T0 + i * 10 * MIN, f);
    }
    let rm = w.s("p");
    w.feed(1, shop.remove, T0 + 41 * MIN, vec![rm]);
    let aggs = [
        shop.adds_10m,
        shop.price_sum_1h,
        shop.price_min_1h,
        shop.price_max_1h,
        shop.products_1h,
        shop.last_add_1h,
    ];
    for now in [T0 + 45 * MIN, T0 + HOUR, T0 + 2 * HOUR] {
        let before: Vec<Value> = aggs.iter().map(|&a| w.agg(1, a, now)).collect();
        w.keys[1].expire(&shop.p, now);
        let after: Vec<Value> = aggs.iter().map(|&a| w.agg(1, a, now)).collect();
        assert_eq!(before, after, "expire at {now} changed a value");
    }
    // All-time last/first stay, windows went away.
    assert!(!w.key(1).is_empty());
    let mut only_windows = shop.p.clone();
    only_windows.aggregates.retain(|a| a.within.is_some());
    only_windows.states.clear();
    let mut w2 = World::new(&only_windows);
    let f = add_fields(&mut w2, "p", 1.0, None);
    w2.feed(1, shop.add, T0, f);
    assert!(!w2.key(1).is_empty());
    w2.keys[1].expire(&only_windows, T0 + DAY);
    assert!(w2.key(1).is_empty(), "{:?}", w2.key(1));
}

#[test]
fn min_and_max_of_strings_compare_by_text_not_intern_order() {
    let mut b = Builder::default();
    let e = b.event("E", vec![field("s", Ty::Str, false)]);
    let min_1h = b.agg(AggKind::Min, e, Some(0), None, Some(HOUR));
    let max_1h = b.agg(AggKind::Max, e, Some(0), None, Some(HOUR));
    let min_all = b.agg(AggKind::Min, e, Some(0), None, None);
    let max_all = b.agg(AggKind::Max, e, Some(0), None, None);
    let mut w = World::new(&b.p);
    // Interned in an order unlike the alphabet.
    let (pear, apple, zoo) = (w.s("pear"), w.s("apple"), w.s("zoo"));
    w.feed(1, e, T0, vec![pear.clone()]);
    w.feed(1, e, T0 + MIN, vec![zoo.clone()]);
    w.feed(1, e, T0 + 2 * MIN, vec![apple.clone()]);
    assert_eq!(w.agg(1, min_1h, T0 + 2 * MIN), apple);
    assert_eq!(w.agg(1, max_1h, T0 + 2 * MIN), zoo);
    assert_eq!(w.agg(1, min_all, T0 + 2 * MIN), apple);
    assert_eq!(w.agg(1, max_all, T0 + 2 * MIN), zoo);
    // `pear` leaves the window, then `zoo`.
    assert_eq!(w.agg(1, max_1h, T0 + HOUR), zoo);
    assert_eq!(w.agg(1, max_1h, T0 + HOUR + MIN), apple);
    assert_eq!(w.agg(1, min_1h, T0 + HOUR + MIN), apple);
}

#[test]
fn a_count_reads_a_longer_sum_over_the_same_event_and_filter() {
    let mut b = Builder::default();
    let e = b.event(
        "E",
        vec![field("v", Ty::Int, true), field("w", Ty::Int, false)],
    );
    let w_field = b.field(e, 1);
    let zero = b.int(0);
    let positive = b.binary(BinaryOp::Gt, w_field, zero);
    let count_1h = b.agg(AggKind::Count, e, None, None, Some(HOUR));
    let sum_1d = b.agg(AggKind::Sum, e, Some(0), None, Some(DAY));
    let avg_1d = b.agg(AggKind::Avg, e, Some(0), None, Some(DAY));
    // Another filter: stores its own times.
    let count_pos_1h = b.agg(AggKind::Count, e, None, Some(positive), Some(HOUR));
    let mut w = World::new(&b.p);
    let events = [
        (0, Some(5), 1),
        (10 * MIN, None, -1),
        (50 * MIN, Some(7), 1),
        (70 * MIN, None, 1),
    ];
    for (t, v, wv) in events {
        w.feed(
            1,
            e,
            T0 + t,
            vec![v.map_or(Value::None, Value::Int), Value::Int(wv)],
        );
    }
    let now = T0 + 70 * MIN;
    // (10min, 70min]: the absent `v` at 70min counts, the one at 10min is out.
    assert_eq!(w.agg(1, count_1h, now), Value::Int(2));
    assert_eq!(w.agg(1, count_pos_1h, now), Value::Int(2));
    assert_eq!(w.agg(1, sum_1d, now), Value::Int(12));
    assert_eq!(w.agg(1, avg_1d, now), Value::Float(6.0));
    assert_eq!(w.agg(1, count_1h, T0 + DAY), Value::Int(0));
    assert_eq!(w.agg(1, sum_1d, T0 + DAY), Value::Int(7));
    // Expiry by the sum's (longer) window keeps what the count can still read.
    w.keys[1].expire(&b.p, now);
    assert_eq!(w.agg(1, count_1h, now), Value::Int(2));
    w.keys[1].expire(&b.p, T0 + 70 * MIN + DAY);
    assert!(w.key(1).is_empty());
    assert_eq!(w.agg(1, count_1h, now + DAY), Value::Int(0));
}

#[test]
fn windows_hold_at_the_ends_of_time_and_with_long_windows() {
    let mut b = Builder::default();
    let e = b.event("E", vec![field("v", Ty::Int, false)]);
    let count_1h = b.agg(AggKind::Count, e, None, None, Some(HOUR));
    let sum_400d = b.agg(AggKind::Sum, e, Some(0), None, Some(400 * DAY));
    let mut w = World::new(&b.p);
    let times = [
        i64::MIN + 1,
        i64::MIN + 2,
        -5,
        0,
        20 * DAY,
        400 * DAY,
        i64::MAX - HOUR,
        i64::MAX - 1,
        i64::MAX,
    ];
    let mut seen = Vec::new();
    for (i, &t) in times.iter().enumerate() {
        w.feed(1, e, t, vec![Value::Int(i as i64 + 1)]);
        seen.push((t, i as i64 + 1));
        let count = seen.iter().filter(|s| s.0 > t.saturating_sub(HOUR)).count();
        let sum: i64 = seen
            .iter()
            .filter(|s| s.0 > t.saturating_sub(400 * DAY))
            .map(|s| s.1)
            .sum();
        assert_eq!(w.agg(1, count_1h, t), Value::Int(count as i64), "at {t}");
        assert_eq!(w.agg(1, sum_400d, t), Value::Int(sum), "at {t}");
    }
}

#[test]
fn distinct_expiry_empties_an_idle_key() {
    let mut b = Builder::default();
    let e = b.event("E", vec![field("v", Ty::Int, false)]);
    let distinct = b.agg(AggKind::Distinct, e, Some(0), None, Some(HOUR));
    let mut w = World::new(&b.p);
    for i in 0..1000i64 {
        w.feed(1, e, T0 + i * 1000, vec![Value::Int(i % 300)]);
        w.keys[1].expire(&b.p, T0 + i * 1000);
    }
    let Value::Set(s) = w.agg(1, distinct, T0 + 999_000) else {
        panic!()
    };
    assert_eq!(s.len(), 300);
    let last = T0 + 999_000;
    w.keys[1].expire(&b.p, last + HOUR - 1);
    assert!(!w.key(1).is_empty());
    w.keys[1].expire(&b.p, last + HOUR);
    assert!(w.key(1).is_empty());
}

/// The layout `check::layout` derives (shared and time-only storage) answers like
/// a layout that gives every aggregate its own slot: the same reads, before and
/// after expiry (with its cached "nothing expires before"); and the storage it
/// decides for all aggregates at once is what it decides for each alone.
#[test]
fn derived_layout_answers_like_own_storage() {
    let shop = shop();
    let derived = shop.p.clone();
    for i in 0..shop.p.aggregates.len() {
        let id = AggId::from_index(i);
        assert_eq!(
            derived.layout.storage.get(i).copied(),
            Some(trigc::check::layout::storage(&shop.p, id)),
            "a{i}"
        );
    }
    let mut own = shop.p.clone();
    own.layout.storage = vec![AggStorage::Own; own.aggregates.len()];
    for feeds in &mut own.layout.feeds {
        feeds.retain(|f| matches!(f, Feed::Rule { .. }));
    }
    for (i, agg) in own.aggregates.iter().enumerate() {
        if let Some(feeds) = own.layout.feeds.get_mut(agg.event.index()) {
            feeds.push(Feed::Agg(AggId::from_index(i)));
        }
    }
    assert!(derived.layout.storage.contains(&AggStorage::Hosts));
    let mut own_slots = World::new(&own);
    let mut indexed = World::new(&derived);
    for (i, w) in [&mut own_slots, &mut indexed].into_iter().enumerate() {
        for k in 0..12i64 {
            let f = add_fields(w, &format!("p{}", k % 5), 10.0 + k as f64, Some(k));
            w.feed(1, shop.add, T0 + k * 7 * MIN, f);
            w.feed(1, shop.visit, T0 + k * 7 * MIN + 1, vec![Value::None]);
        }
        if i == 0 {
            assert!(!w.key(1).is_empty());
        }
    }
    for now in [T0 + 80 * MIN, T0 + 3 * HOUR, T0 + 2 * DAY, T0 + 30 * DAY] {
        for i in 0..shop.p.aggregates.len() {
            let id = AggId::from_index(i);
            assert_eq!(
                own_slots.agg(1, id, now),
                indexed.agg(1, id, now),
                "a{i} at {now}"
            );
        }
        for (p, w) in [(&own, &mut own_slots), (&derived, &mut indexed)] {
            if let Some(k) = w.keys.get_mut(1) {
                // Twice: the second call is the cached no-op.
                k.expire(p, now);
                k.expire(p, now);
            }
        }
        for i in 0..shop.p.aggregates.len() {
            let id = AggId::from_index(i);
            assert_eq!(
                own_slots.agg(1, id, now),
                indexed.agg(1, id, now),
                "a{i} after expiry at {now}"
            );
        }
    }
}
