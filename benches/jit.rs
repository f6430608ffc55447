//! The JIT against the interpreter (issue #18), side by side in one run:
//!
//! - `predicate`: the condition-heavy guard `amount > 1000 and country in ["DE",
//!   "AT", "CH"] and not starts_with(sku, "GIFT")` over 10k events, under the
//!   interpreter, the JIT and the same predicate written in Rust over the same
//!   decoded fields (the floor: what an engine could at best do per call).
//! - `replay`: `rules/` over 100k generated events (10k customers), decoded
//!   beforehand, records formatted into `io::sink()`, under each engine.
//! - `compile`: JIT-compiling a generated 1,000- and 10,000-trigger program
//!   (`trigc gen --rules N`), the whole `prepare` (targets: 250 ms and 2 s).
//!
//! Run: `cargo bench --bench jit`.

use divan::Bencher;
use divan::counter::ItemsCount;
use trigc::cli::gen_rules::rule_set;
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::driver::EngineKind;
use trigc::interp::Engine;
use trigc::jit::Jit;
use trigc::runtime::RuntimeConfig;
use trigc::runtime::entries::engine_entries;

#[path = "common/programs.rs"]
#[expect(
    dead_code,
    reason = "each bench binary uses part of the shared helpers"
)]
mod programs;

#[path = "common/predicate.rs"]
mod predicate;

use programs::{NullOutput, compile, prepared, rules_program};

fn main() {
    divan::main();
}

// ------------------------------------------------------------ predicate

#[divan::bench]
fn predicate_interp(bencher: Bencher) {
    predicate::bench_interp(bencher);
}

#[divan::bench]
fn predicate_jit(bencher: Bencher) {
    predicate::bench_jit(bencher);
}

/// The predicate in Rust over the same fields.
#[divan::bench]
fn predicate_rust(bencher: Bencher) {
    predicate::bench_rust(bencher);
}

// ------------------------------------------------------------ replay

const REPLAY_EVENTS: u64 = 100_000;

#[divan::bench(args = [EngineKind::Interp, EngineKind::Jit], sample_count = 5, sample_size = 1)]
fn replay_rules(bencher: Bencher, kind: EngineKind) {
    let program = rules_program();
    let config = GenConfig {
        events: REPLAY_EVENTS,
        customers: 10_000,
        products: 200,
        seed: 7,
        start: 1_767_225_600_000,
    };
    let mut lines = Vec::new();
    let _ = write_stream(&config, &mut lines);
    bencher
        .counter(ItemsCount::new(REPLAY_EVENTS))
        .with_inputs(|| {
            prepared(
                &program,
                &lines,
                kind.build().expect("the engine runs here"),
            )
        })
        .bench_local_values(|(mut rt, events)| {
            let mut out = NullOutput::new();
            for e in &events {
                rt.push(e, &mut out);
            }
            rt.finish(&mut out);
            rt
        });
}

// ------------------------------------------------------------ compile time

#[divan::bench(args = [1_000, 10_000], sample_count = 3, sample_size = 1)]
fn compile_generated(bencher: Bencher, triggers: u32) {
    let program = compile(&[("generated.trig", rule_set(triggers, 200, 1))]);
    // What `trigc run` compiles with its default options.
    let entries = engine_entries(&program, &RuntimeConfig::default());
    bencher.bench_local(|| {
        let mut jit = Jit::new().expect("a JIT on this host");
        jit.prepare(&program, &entries).expect("compiles");
        jit.functions()
    });
}
