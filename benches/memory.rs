//! Memory figures, measured with `dhat`'s heap statistics: the live bytes per pending
//! timer of `TimerHeap` after a steady-state run of one million
//! events (the workloads of `benches/timers.rs`), and the live bytes per customer
//! holding a 10-item cart set and three window aggregates (the shape of
//! `benches/state.rs`), and what a trigger and a customer cost at 1,000 generated
//! triggers (`trigc gen --rules 1000`, issue #17). Its own binary because `dhat::Alloc` slows every allocation:
//! the timing benches run on the system allocator. The budgets themselves are
//! asserted by `tests/memory.rs`.
//!
//! Run: `cargo bench --bench memory`.

#[path = "fixtures/cart.rs"]
mod cart;
#[path = "common/programs.rs"]
#[expect(
    dead_code,
    reason = "each bench binary uses part of the shared helpers"
)]
mod programs;
#[path = "fixtures/schema.rs"]
mod schema;
#[path = "fixtures/timer_workload.rs"]
mod timer_workload;

use cart::{Customers, MINUTE, VISIT, add_to_cart, cart_program, event};
use programs::{NullOutput, compile, prepared};
use timer_workload::{Delay, EVENTS, PENDING, T0, Workload, workload};
use trigc::cli::gen_rules::rule_set;
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::interp::Value;
use trigc::runtime::Interp;
use trigc::runtime::state::KeyData;
use trigc::runtime::timers::{Tie, TimerHeap};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Bytes live now, counted from the start of the profiler.
fn live_bytes() -> isize {
    dhat::HeapStats::get().curr_bytes as isize
}

fn main() {
    // Testing mode: statistics on demand and no `dhat-heap.json` written at the end.
    // Short backtraces: only the totals are read, and each allocation records one.
    let _profiler = dhat::Profiler::builder()
        .testing()
        .trim_backtraces(Some(4))
        .build();
    println!(
        "live bytes per pending timer, u64 payload (entry = 24 bytes), after {EVENTS} steady events:"
    );
    for delay in Delay::ALL {
        let w = workload(delay);
        let heap = steady_bytes(&w);
        println!("  {delay:?}: heap {heap:.1}");
    }
    let customers = 10_000;
    let (bytes, heap) = bytes_per_customer(customers);
    println!(
        "state: {bytes:.1} bytes per customer ({heap:.1} heap + {} inline KeyData) for a 10-item cart set + count within 1h + sum within 1d + exists within 7d ({customers} customers)",
        std::mem::size_of::<KeyData>()
    );
    many_triggers();
}

// ---------------------------------------------------------------------------
// Many triggers (issue #17): `trigc gen --rules N --seed 1` over `trigc gen`'s events.

/// Live bytes per trigger (the compiled program and a fresh runtime, 1,000
/// triggers against 10) and per customer held after 100k events at 1,000 triggers.
fn many_triggers() {
    let fixed = |triggers: u32| {
        let before = live_bytes();
        let program = compile(&[("generated.trig", rule_set(triggers, 200, 1))]);
        let runtime = prepared(&program, b"", Box::new(Interp));
        let bytes = live_bytes() - before;
        drop(runtime);
        bytes
    };
    let (ten, thousand) = (fixed(10), fixed(1_000));
    println!(
        "1,000 generated triggers: program + fresh runtime {thousand} bytes ({ten} at 10 triggers): {:.0} bytes per trigger",
        (thousand - ten) as f64 / 990.0
    );
    let config = GenConfig {
        events: 100_000,
        customers: 10_000,
        products: 200,
        seed: 1,
        start: 1_767_225_600_000,
    };
    let mut lines = Vec::new();
    let _ = write_stream(&config, &mut lines);
    let program = compile(&[("generated.trig", rule_set(1_000, 200, 1))]);
    let (mut rt, events) = prepared(&program, &lines, Box::new(Interp));
    drop(lines);
    let before = live_bytes();
    let mut out = NullOutput::new();
    for e in &events {
        rt.push(e, &mut out);
    }
    let grown = live_bytes() - before;
    let held = rt.customers().max(1);
    println!(
        "  after 100k events (10k customers): {held} customers held, {} instances pending; the runtime grew {grown} bytes: {:.0} bytes per customer held",
        rt.pending_timers(),
        grown as f64 / held as f64
    );
}

// ---------------------------------------------------------------------------
// Timers: the steady-state workload of benches/timers.rs.

/// Live bytes per pending timer after the steady-state run (prefill + 1M events),
/// the queue first popped at `T0` as in a running runtime.
fn steady_bytes(w: &Workload) -> f64 {
    let before = live_bytes();
    let mut q = TimerHeap::new();
    q.pop_due(T0);
    for (i, due) in w.pending.iter().enumerate() {
        q.insert(*due, i as Tie, i as u64);
    }
    for (i, (ts, due)) in w.events.iter().enumerate() {
        while q.pop_due(*ts).is_some() {}
        let tie = (PENDING + i) as Tie;
        q.insert(*due, tie, tie);
    }
    let per = (live_bytes() - before) as f64 / q.len() as f64;
    drop(q);
    per
}

// ---------------------------------------------------------------------------
// Per-customer state: the shape of benches/state.rs.

/// `(total, heap)` bytes per customer after `n` customers each add ten of 1,000
/// products a minute apart and then visit.
fn bytes_per_customer(n: usize) -> (f64, f64) {
    let mut customers = Customers::new(cart_program(), n, 1000);
    let mut add = add_to_cart(Value::None, 0);
    let visit = event(VISIT, T0 + 10 * MINUTE, vec![Value::None]);
    let before = live_bytes();
    for c in 0..n {
        for i in 0..10 {
            add.ts = T0 + i as i64 * MINUTE;
            add.fields[0] = customers.products[(c + i) % customers.products.len()].clone();
            customers.ingest(c, &add);
        }
        customers.ingest(c, &visit);
    }
    let heap = (live_bytes() - before) as f64 / n as f64;
    drop(customers);
    (heap + std::mem::size_of::<KeyData>() as f64, heap)
}
