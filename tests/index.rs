//! The start index (issue #17) changes the work, never the output: generated rule
//! sets (`trigc gen --rules`) over generated streams (`trigc gen`) give byte-identical
//! records and notices with the index on and off, for many seeds and sizes, and the
//! index does spare evaluations (so the comparison is not between two unindexed
//! runs).

use proptest::prelude::*;

use trigc::cli::gen_rules::rule_set;
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::driver::{EngineKind, Session, describe_notice};
use trigc::interp::Interner;
use trigc::io::Lines;
use trigc::io::sink::write_record;
use trigc::ir::Program;
use trigc::runtime::{ActionRecord, Notice, Output, RunStats, RuntimeConfig, StartIndexUse};
use trigc::syntax::SourceMap;

struct Collect<'a> {
    program: &'a Program,
    sources: &'a SourceMap,
    text: Vec<u8>,
}

impl Output for Collect<'_> {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        write_record(&mut self.text, record, program, interner);
        self.text.push(b'\n');
    }

    fn notice(&mut self, notice: &Notice) {
        let line = describe_notice(notice, self.program, self.sources);
        self.text.extend_from_slice(line.as_bytes());
        self.text.push(b'\n');
    }
}

fn run(
    sources: &SourceMap,
    program: &Program,
    events: &[u8],
    no_index: bool,
) -> (Vec<u8>, RunStats) {
    let engine = EngineKind::Interp.build().expect("the interpreter builds");
    let config = RuntimeConfig {
        start_index: if no_index {
            StartIndexUse::Never
        } else {
            StartIndexUse::Always
        },
        ..RuntimeConfig::default()
    };
    let mut out = Collect {
        program,
        sources,
        text: Vec::new(),
    };
    let mut session = Session::new(program, engine, config).expect("engine prepares");
    let mut lines = Lines::new(events);
    while let Some(line) = lines.next_line().expect("reading from memory") {
        session.line(line, &mut out);
    }
    session.finish(&mut out);
    let stats = session.runtime.stats().clone();
    (out.text, stats)
}

fn check(triggers: u32, products: u32, customers: u32, events: u64, seed: u64) {
    let mut sources = SourceMap::default();
    sources.add("rules.trig", rule_set(triggers, products, seed));
    let compiled = trigc::compile(&sources);
    assert!(
        compiled.errors_text(&sources).is_empty(),
        "generated rules compile"
    );
    let program = compiled.program.expect("a program");
    let config = GenConfig {
        events,
        customers,
        products,
        seed,
        start: 1_767_571_200_000,
    };
    let mut stream = Vec::new();
    write_stream(&config, &mut stream).expect("writing to memory");
    let (indexed, stats) = run(&sources, &program, &stream, false);
    let (plain, plain_stats) = run(&sources, &program, &stream, true);
    assert!(
        indexed == plain,
        "output differs with the index (seed {seed})"
    );
    assert!(stats.total_actions() > 0, "the rules fire");
    assert!(stats.index_skipped > 0, "the index spares evaluations");
    assert_eq!(plain_stats.index_skipped, 0);
    assert_eq!(
        RunStats {
            index_candidates: 0,
            index_skipped: 0,
            ..stats
        },
        plain_stats,
        "only the index counters differ"
    );
}

#[test]
fn generated_rules_same_output_with_and_without_index() {
    check(300, 200, 300, 20_000, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn any_seed_and_size(seed in 0u64..10_000, triggers in 20u32..400, products in 1u32..60, customers in 1u32..200) {
        check(triggers, products, customers, 3_000, seed);
    }
}
