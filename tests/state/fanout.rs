//! The fan-out index.

use super::*;

#[test]
fn fan_out_index_to_zero_one_and_many_customers() {
    let shop = shop();
    let mut w = World::new(&shop.p);
    assert_eq!(w.customers(shop.cart, "tv"), Vec::<u32>::new());
    let f = add_fields(&mut w, "radio", 1.0, None);
    w.feed(5, shop.add, T0, f);
    assert_eq!(w.customers(shop.cart, "radio"), vec![5]);
    // Customers arrive out of order; lookups come back ascending. 1,500 holders
    // split the holder list into chunks.
    let ids: Vec<u32> = (0..1500u32).map(|i| (i * 7919) % 1500).collect();
    for &c in &ids {
        let f = add_fields(&mut w, "tv", 1.0, None);
        w.feed(c, shop.add, T0, f);
    }
    let all = w.customers(shop.cart, "tv");
    assert_eq!(all, (0..1500).collect::<Vec<u32>>());
    for c in (0..1500).filter(|c| c % 3 != 0) {
        let tv = w.s("tv");
        if c % 2 == 0 {
            w.feed(c, shop.remove, T0, vec![tv]);
        } else {
            let o = w.s("o");
            w.feed(c, shop.purchase, T0, vec![o, Value::Float(1.0)]);
        }
    }
    assert_eq!(
        w.customers(shop.cart, "tv"),
        (0..1500).filter(|c| c % 3 == 0).collect::<Vec<u32>>()
    );
    let tv = w.s("tv");
    let mut visited = Vec::new();
    w.index
        .for_each_customer(shop.cart, &tv, |c| visited.push(c.0));
    assert_eq!(visited, w.customers(shop.cart, "tv"));
    assert_eq!(w.index.count(shop.cart, &tv), 500);
    let data = w.keys[3].clone();
    w.index.remove_customer(&shop.p, CustomerId(3), &data);
    assert!(!w.customers(shop.cart, "tv").contains(&3));
    w.index.insert_customer(&shop.p, CustomerId(3), &data);
    assert!(w.customers(shop.cart, "tv").contains(&3));
    // A state that is not indexed is not in the index.
    assert_eq!(w.index.customers(shop.pages, &tv), Vec::new());
}
