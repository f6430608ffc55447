//! Many triggers (issue #17), side by side in one run: the same 100k generated
//! events (10k customers, `trigc gen` with seed 1) through generated rule sets of
//! 10, 100, 1,000 and 10,000 triggers (`trigc gen --rules N --seed 1`), decoded
//! beforehand, records formatted into `io::sink()`, under each engine. The start
//! index is what keeps the 1,000-trigger rate near the 10-trigger one; `no_index`
//! runs 1,000 triggers with it turned off, the cost it saves.
//! The memory a trigger and a customer cost at 1,000 triggers is in
//! `benches/memory.rs` (dhat would slow these timings).
//!
//! Run: `cargo bench --bench triggers`.

use divan::Bencher;
use divan::counter::ItemsCount;
use trigc::cli::gen_rules::rule_set;
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::driver::EngineKind;
use trigc::ir::Program;
use trigc::runtime::{RuntimeConfig, StartIndexUse};

#[path = "common/programs.rs"]
#[expect(
    dead_code,
    reason = "each bench binary uses part of the shared helpers"
)]
mod programs;

use programs::{compile, prepared, prepared_with, replay};

const EVENTS: u64 = 100_000;
const CUSTOMERS: u32 = 10_000;

fn events() -> Vec<u8> {
    let config = GenConfig {
        events: EVENTS,
        customers: CUSTOMERS,
        products: 200,
        seed: 1,
        start: 1_767_225_600_000,
    };
    let mut out = Vec::new();
    let _ = write_stream(&config, &mut out);
    out
}

fn generated(triggers: u32) -> Program {
    compile(&[("generated.trig", rule_set(triggers, 200, 1))])
}

fn main() {
    divan::main();
}

#[divan::bench(
    args = [(10, EngineKind::Interp), (100, EngineKind::Interp), (1_000, EngineKind::Interp), (10_000, EngineKind::Interp),
            (10, EngineKind::Jit), (100, EngineKind::Jit), (1_000, EngineKind::Jit)],
    sample_count = 5,
    sample_size = 1
)]
fn rule_set_of(bencher: Bencher, (triggers, engine): (u32, EngineKind)) {
    let program = generated(triggers);
    let lines = events();
    bencher
        .counter(ItemsCount::new(EVENTS))
        .with_inputs(|| {
            prepared(
                &program,
                &lines,
                engine.build().expect("the engine runs here"),
            )
        })
        .bench_local_values(|(mut rt, events)| {
            replay(&mut rt, &events);
            rt
        });
}

/// 1,000 triggers with the start index off (`--no-index`), interpreter.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn no_index(bencher: Bencher) {
    let program = generated(1_000);
    let lines = events();
    let config = RuntimeConfig {
        start_index: StartIndexUse::Never,
        ..RuntimeConfig::default()
    };
    bencher
        .counter(ItemsCount::new(EVENTS))
        .with_inputs(|| {
            prepared_with(
                &program,
                &lines,
                EngineKind::Interp.build().expect("interp"),
                config,
            )
        })
        .bench_local_values(|(mut rt, events)| {
            replay(&mut rt, &events);
            rt
        });
}
