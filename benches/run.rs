//! The runtime end to end (issues #3 and #4), side by side in one run:
//!
//! - `replay`: the `rules/` examples over 100k generated events (10k customers),
//!   decoded beforehand, action records written through the NDJSON sink into
//!   `io::sink()`.
//! - `guard`: the same one-step rule on 100k `ADD_TO_CART` events without and with
//!   `if count(ADD_TO_CART within 10m) >= 2` (dense enough that the guard is almost
//!   always true, so both produce about the same records): the guard's added cost per
//!   event is the ratio (target: under 20%).
//! - `fan_out`: one price drop fanned out to 100k customers who wish for the product,
//!   including the 100k action records (target: under 50 ms).
//!
//! Before the benchmarks, `main` prints the runtime memory per customer holding one
//! pending timer (target: at most 200 bytes): the RSS growth of a run with 101k customers over one with 1k,
//! each ending with one `wait 30d` step per customer.
//!
//! Run: `cargo bench --bench run`.

use divan::Bencher;
use divan::counter::ItemsCount;
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::ir::Program;
use trigc::runtime::{Event, Interp, Runtime};

#[path = "common/programs.rs"]
mod programs;

use programs::{NullOutput, compile, prepared, replay, rules_program};

fn main() {
    report_memory();
    divan::main();
}

const REPLAY_EVENTS: u64 = 100_000;

fn generated(events: u64, customers: u32) -> Vec<u8> {
    let config = GenConfig {
        events,
        customers,
        products: 200,
        seed: 7,
        start: 1_767_225_600_000,
    };
    let mut out = Vec::new();
    let _ = write_stream(&config, &mut out);
    out
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn replay_rules(bencher: Bencher) {
    let program = rules_program();
    let lines = generated(REPLAY_EVENTS, 10_000);
    bencher
        .counter(ItemsCount::new(REPLAY_EVENTS))
        .with_inputs(|| prepared(&program, &lines, Box::new(Interp)))
        .bench_local_values(|(mut rt, events)| {
            replay(&mut rt, &events);
            rt
        });
}

const GUARD_EVENTS: usize = 100_000;
const GUARD_DECL: &str = "event ADD_TO_CART { product: string }\n";

/// 100 customers in turn, one addition per second: each customer adds every 100 s,
/// so six additions fall in any 10-minute window and the guard is true from the
/// second one on.
fn cart_lines() -> Vec<u8> {
    let mut text = String::new();
    for i in 0..GUARD_EVENTS {
        let ts = 1_767_225_600_000i64 + 1000 * i as i64;
        text.push_str(&format!(
            "{{\"type\":\"ADD_TO_CART\",\"user\":\"u{}\",\"ts\":{ts},\"product\":\"p{}\"}}\n",
            i % 100,
            i % 7
        ));
    }
    text.into_bytes()
}

#[divan::bench(args = ["without", "with"], sample_count = 10, sample_size = 1)]
fn guard(bencher: Bencher, guard: &str) {
    let rule = match guard {
        "with" => {
            "trigger burst on ADD_TO_CART if count(ADD_TO_CART within 10m) >= 2 \
                   then webhook \"https://x\" with { p: product }\n"
        }
        _ => "trigger burst on ADD_TO_CART then webhook \"https://x\" with { p: product }\n",
    };
    let program = compile(&[("e.trig", GUARD_DECL.into()), ("r.trig", rule.into())]);
    let lines = cart_lines();
    bencher
        .counter(ItemsCount::new(GUARD_EVENTS))
        .with_inputs(|| prepared(&program, &lines, Box::new(Interp)))
        .bench_local_values(|(mut rt, events)| {
            replay(&mut rt, &events);
            rt
        });
}

const FAN_OUT: usize = 100_000;
const FAN_OUT_RULES: &str = "\
event WISHLIST_ADD { product: string }
event PRICE_CHANGE keyed by product { product: string, old_price: float, new_price: float }
state wishlist: set<string> { WISHLIST_ADD -> insert(product) }
trigger price_drop
  on PRICE_CHANGE where new_price < old_price
  for each key where wishlist contains product
  then email \"price-drop\" with { product: product, was: old_price, now: new_price }
";

#[divan::bench(sample_count = 10, sample_size = 1)]
fn fan_out(bencher: Bencher) {
    let program = compile(&[("f.trig", FAN_OUT_RULES.into())]);
    let mut text = String::new();
    for i in 0..FAN_OUT {
        text.push_str(&format!(
            "{{\"type\":\"WISHLIST_ADD\",\"user\":\"c{i}\",\"ts\":1767225600000,\"product\":\"lamp\"}}\n"
        ));
    }
    text.push_str(
        "{\"type\":\"PRICE_CHANGE\",\"ts\":1767225601000,\"product\":\"lamp\",\"old_price\":20.0,\"new_price\":15.0}\n",
    );
    let lines = text.into_bytes();
    bencher
        .counter(ItemsCount::new(FAN_OUT))
        .with_inputs(|| {
            let (mut rt, mut events) = prepared(&program, &lines, Box::new(Interp));
            let drop = events.pop().unwrap_or_default();
            let mut out = NullOutput::new();
            for e in &events {
                rt.push(e, &mut out);
            }
            (rt, drop, out)
        })
        .bench_local_values(|(mut rt, drop, mut out)| {
            price_drop(&mut rt, &drop, &mut out);
            assert_eq!(out.0.written(), FAN_OUT as u64);
            (rt, out)
        });
}

/// The measured part of [`fan_out`] (not inlined: profilers can single it out).
#[inline(never)]
fn price_drop(rt: &mut Runtime<'_>, drop: &Event, out: &mut NullOutput) {
    rt.push(drop, out);
    let _ = out.0.finish();
}

/// Resident set size in bytes (Linux; 0 elsewhere).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

const TIMER_RULES: &str = "\
event VISIT { page: string? }
trigger we_miss_you cooldown 30d on VISIT wait 30d then email \"x\"
";

/// RSS growth of holding `customers` customers with one pending timer each.
fn pending_timer_rss(program: &Program, customers: usize) -> (u64, usize) {
    let mut text = String::new();
    for i in 0..customers {
        text.push_str(&format!(
            "{{\"type\":\"VISIT\",\"user\":\"customer-{i}\",\"ts\":{}}}\n",
            1_767_225_600_000i64 + i as i64
        ));
    }
    let lines = text.into_bytes();
    let (mut rt, events) = prepared(program, &lines, Box::new(Interp));
    let before = rss();
    let mut out = NullOutput::new();
    for e in &events {
        rt.push(e, &mut out);
    }
    let after = rss();
    let pending = rt.pending_timers();
    drop(events);
    drop(rt);
    (after.saturating_sub(before), pending)
}

fn report_memory() {
    let program = compile(&[("t.trig", TIMER_RULES.into())]);
    let (small, n_small) = pending_timer_rss(&program, 1_000);
    let (large, n_large) = pending_timer_rss(&program, 101_000);
    let per = large.saturating_sub(small) as f64 / (n_large - n_small).max(1) as f64;
    println!(
        "memory: {per:.0} bytes of RSS per customer with one pending timer \
         ({n_large} vs {n_small} pending; {large} vs {small} bytes of growth)"
    );
}
