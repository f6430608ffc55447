//! Per-key state: ingest cost per event with a cart set and three window aggregates
//! against a program with no state (programs carry the layout `check::layout`
//! derives, as compiled ones do), the fan-out lookup of a value held by 100,000
//! customers. (Bytes per customer are printed by `cargo bench --bench memory`, which
//! runs under dhat's allocator so these timings do not.)
//! Run: `cargo bench --bench state`.

#[path = "fixtures/cart.rs"]
mod cart;
#[path = "fixtures/schema.rs"]
mod schema;

use cart::{Customers, add_to_cart, cart_events, cart_program};
use trigc::interp::Value;
use trigc::ir::{Program, StateId};

const T0: i64 = 1_767_571_200_000;

fn main() {
    divan::main();
}

/// The cart shape of `fixtures/cart.rs` with its cart set indexed (for the fan-out
/// lookups) and laid out as the checker leaves a program (storage and per-event
/// feeds decided once); with `shape` "no state", its events alone, not laid out.
fn program(shape: &str) -> Program {
    if shape == "no state" {
        return cart_events();
    }
    let mut p = cart_program();
    for state in &mut p.states {
        state.indexed = true;
    }
    trigc::check::layout::assign(&mut p);
    p
}

/// One event per iteration over 1,000 customers round robin, time moving forward a
/// second per event; the cart is capped at 10 distinct products per customer.
#[divan::bench(args = ["no state", "cart + 3 windows"])]
fn ingest_per_event(bencher: divan::Bencher, shape: &str) {
    let mut w = Customers::new(program(shape), 1000, 1000);
    let mut event = add_to_cart(Value::None, T0);
    let mut n = 0usize;
    bencher.bench_local(|| {
        n += 1;
        event.ts = T0 + n as i64 * 1000;
        event.fields[0] = w.products[(n / 1000) % 10].clone();
        w.ingest(n % 1000, divan::black_box(&event));
    });
}

/// `customers(cart, "product-0")` when 100,000 customers hold it.
#[divan::bench]
fn fan_out_lookup_100k(bencher: divan::Bencher) {
    let w = hundred_thousand_holders();
    let p = w.products[0].clone();
    bencher.bench_local(|| w.index.customers(StateId(0), divan::black_box(&p)).len());
}

/// The same visit without collecting (`for_each_customer`).
#[divan::bench]
fn fan_out_visit_100k(bencher: divan::Bencher) {
    let w = hundred_thousand_holders();
    let p = w.products[0].clone();
    bencher.bench_local(|| {
        let mut sum = 0u64;
        w.index
            .for_each_customer(StateId(0), divan::black_box(&p), |c| sum += u64::from(c.0));
        sum
    });
}

fn hundred_thousand_holders() -> Customers {
    let n = 100_000;
    let mut w = Customers::new(program("cart + 3 windows"), n, 1000);
    let event = add_to_cart(w.products[0].clone(), T0);
    // Add holders in a scattered order, as customers come and go.
    for i in 0..n {
        w.ingest((i * 7919) % n, &event);
    }
    w
}
