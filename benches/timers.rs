//! The timer queue, `TimerHeap` (4-ary heap), with one million pending timers, as
//! the runtime would hold them for a million waiting customers. (A hierarchical
//! timing wheel was measured beside it until it was removed: see BENCHMARKS.md.)
//!
//! - `steady`: the runtime's loop. The queue starts with 1M pending timers spread as
//!   in steady state; then 1M events each pop whatever is due at their time and set
//!   one timer `delay` later. Counted per event (one insert and, on average, one pop).
//! - `restart`: the abandoned-cart pattern. Most events come from a customer who was
//!   active a moment ago, so their new timer makes the earlier one stale; stale timers
//!   are skipped when popped by comparing a per-customer generation, as the runtime does.
//! - `insert_1m` / `drain_1m`: the two halves alone.
//!
//! Their live bytes per pending timer are printed by `cargo bench --bench memory`,
//! which runs under dhat's allocator so these timings do not.
//!
//! Run: `cargo bench --bench timers` (one filter: `cargo bench --bench timers -- steady`).

use std::sync::OnceLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use trigc::runtime::timers::{Tie, TimerHeap};

#[path = "fixtures/timer_workload.rs"]
mod timer_workload;

use timer_workload::{Delay, EVENTS, HOUR, MINUTE, PENDING, Rng, T0, Workload};

/// The shared workload of `delay`, built once per process.
fn workload(delay: Delay) -> &'static Workload {
    static CACHE: [OnceLock<Workload>; 4] = [const { OnceLock::new() }; 4];
    let slot = Delay::ALL.iter().position(|d| *d == delay).unwrap_or(0);
    CACHE[slot].get_or_init(|| timer_workload::workload(delay))
}

/// A queue holding the workload's pending timers, popped at `T0` as in a running
/// runtime (which has popped at every event).
fn prefilled(w: &Workload) -> TimerHeap<u64> {
    let mut q = TimerHeap::new();
    q.pop_due(T0);
    for (i, due) in w.pending.iter().enumerate() {
        q.insert(*due, i as Tie, i as u64);
    }
    q
}

#[divan::bench(args = Delay::ALL, sample_count = 8, sample_size = 1)]
fn steady(bencher: Bencher, delay: Delay) {
    let w = workload(delay);
    bencher
        .counter(ItemsCount::new(EVENTS))
        .with_inputs(|| prefilled(w))
        .bench_local_values(|mut q| {
            for (i, (ts, due)) in w.events.iter().enumerate() {
                while let Some(d) = q.pop_due(*ts) {
                    divan::black_box(d);
                }
                let tie = (PENDING + i) as Tie;
                q.insert(*due, tie, tie);
            }
            q
        });
}

/// Events for the restart pattern: `(time, customer)`. 70% of events come from one of
/// the 4096 most recent customers (a cart being edited), the rest from anyone.
fn restart_events() -> &'static Vec<(i64, u32)> {
    static EVENTS_: OnceLock<Vec<(i64, u32)>> = OnceLock::new();
    EVENTS_.get_or_init(|| {
        let mut rng = Rng(0xCA27);
        let mut recent = vec![0u32; 4096];
        let max_gap = (2.0 * Delay::M30.mean_gap()) as u64;
        let mut ts = T0 - 30 * MINUTE;
        (0..2 * EVENTS)
            .map(|i| {
                ts += rng.below(max_gap + 1) as i64;
                let customer = if rng.below(10) < 7 {
                    recent[rng.below(4096) as usize]
                } else {
                    rng.below(CUSTOMERS as u64) as u32
                };
                recent[i % 4096] = customer;
                (ts, customer)
            })
            .collect()
    })
}

const CUSTOMERS: usize = 4_000_000;

/// The runtime's side of lazy cancellation: a generation per customer, bumped on
/// every restart; a popped timer whose generation is older is stale and skipped.
struct Restarts {
    queue: TimerHeap<u64>,
    generation: Vec<u32>,
    fired: u64,
    stale: u64,
    tie: Tie,
}

impl Restarts {
    fn event(&mut self, ts: i64, customer: u32) {
        while let Some(d) = self.queue.pop_due(ts) {
            let (c, g) = ((d.value >> 32) as usize, d.value as u32);
            if self.generation.get(c) == Some(&g) {
                self.fired += 1;
            } else {
                self.stale += 1;
            }
        }
        let Some(g) = self.generation.get_mut(customer as usize) else {
            return;
        };
        *g += 1;
        self.queue.insert(
            ts + 30 * MINUTE,
            self.tie,
            (u64::from(customer) << 32) | u64::from(*g),
        );
        self.tie += 1;
    }
}

fn restarts_warmed() -> Restarts {
    let mut r = Restarts {
        queue: TimerHeap::new(),
        generation: vec![0; CUSTOMERS],
        fired: 0,
        stale: 0,
        tie: 0,
    };
    // The first half warms up (the queue fills to 30 minutes of events, ~1M timers).
    for (ts, c) in &restart_events()[..EVENTS] {
        r.event(*ts, *c);
    }
    r
}

#[divan::bench(sample_count = 8, sample_size = 1)]
fn restart(bencher: Bencher) {
    bencher
        .counter(ItemsCount::new(EVENTS))
        .with_inputs(restarts_warmed)
        .bench_local_values(|mut r| {
            for (ts, c) in &restart_events()[EVENTS..] {
                r.event(*ts, *c);
            }
            r
        });
}

#[divan::bench(args = [Delay::M30, Delay::D30], sample_count = 8, sample_size = 1)]
fn insert_1m(bencher: Bencher, delay: Delay) {
    let w = workload(delay);
    bencher
        .counter(ItemsCount::new(PENDING))
        .with_inputs(|| {
            let mut q = TimerHeap::new();
            q.pop_due(T0);
            q
        })
        .bench_local_values(|mut q| {
            for (i, due) in w.pending.iter().enumerate() {
                q.insert(*due, i as Tie, i as u64);
            }
            q
        });
}

#[divan::bench(args = [Delay::M30, Delay::D30], sample_count = 8, sample_size = 1)]
fn drain_1m(bencher: Bencher, delay: Delay) {
    let w = workload(delay);
    // Watermark steps of ~1 minute's worth of timers' spacing: many small pops.
    let step = (delay.choices().iter().max().copied().unwrap_or(HOUR) / 100_000).max(1);
    bencher
        .counter(ItemsCount::new(PENDING))
        .with_inputs(|| prefilled(w))
        .bench_local_values(|mut q| {
            let mut watermark = T0;
            while !q.is_empty() {
                watermark += step;
                while let Some(d) = q.pop_due(watermark) {
                    divan::black_box(d);
                }
            }
            q
        });
}

fn main() {
    divan::main();
}
