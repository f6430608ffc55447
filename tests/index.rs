//! The start index (issue #17) changes the work, never the output: generated rule
//! sets (`trigc gen --rules`) over generated streams (`trigc gen`) give byte-identical
//! records and notices with the index on and off, for many seeds and sizes, and the
//! index does spare evaluations (so the comparison is not between two unindexed
//! runs). Half the rule sets hold negated shapes (`trigc gen --rules --negations`),
//! which the index keeps by `!=`/`not in`.

use proptest::prelude::*;

use trigc::cli::gen_rules::{rule_set, rule_set_negated};
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::driver::{EngineKind, Session, describe_notice};
use trigc::interp::Interner;
use trigc::io::Lines;
use trigc::io::sink::write_record;
use trigc::ir::{EventId, Program};
use trigc::runtime::start_index::StartIndex;
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

/// Patterns the start index of `program` keeps by `!=`/`not in`, over all event types.
fn ne_patterns(program: &Program) -> u32 {
    let rank: Vec<u32> = (0..program.triggers.len() as u32).collect();
    let index = StartIndex::new(program, &rank, &mut Interner::default());
    (0..program.events.len())
        .map(|e| index.summary(EventId::from_index(e)).ne_patterns)
        .sum()
}

/// Runs the rule set with and without the index; returns how many patterns the
/// index keeps by `!=`/`not in`.
fn check(
    triggers: u32,
    products: u32,
    customers: u32,
    events: u64,
    seed: u64,
    negations: bool,
) -> u32 {
    let mut sources = SourceMap::default();
    let rules = if negations {
        rule_set_negated(triggers, products, seed)
    } else {
        rule_set(triggers, products, seed)
    };
    sources.add("rules.trig", rules);
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
    ne_patterns(&program)
}

#[test]
fn generated_rules_same_output_with_and_without_index() {
    assert_eq!(check(300, 200, 300, 20_000, 1, false), 0);
}

#[test]
fn generated_negated_rules_same_output_with_and_without_index() {
    let ne = check(300, 200, 300, 20_000, 1, true);
    assert!(ne >= 20, "the index keeps {ne} patterns by !=");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn any_seed_and_size(seed in 0u64..10_000, triggers in 20u32..400, products in 1u32..60, customers in 1u32..200, negations: bool) {
        check(triggers, products, customers, 3_000, seed, negations);
    }
}
