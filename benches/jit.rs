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

use std::io;

use divan::Bencher;
use divan::counter::ItemsCount;
use trigc::cli::gen_rules::rule_set;
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::driver::EngineKind;
use trigc::interp::{Engine, Env, Interner, Interp, Sym, Value};
use trigc::io::sink::NdjsonSink;
use trigc::ir::{AggId, Binding, EventId, ExprId, ProfileFieldId, Program, StartIr, StateId};
use trigc::jit::Jit;
use trigc::runtime::{ActionRecord, Notice, Output};

#[path = "common/programs.rs"]
mod programs;

use programs::{compile, prepared, rules_program};

fn main() {
    divan::main();
}

// ------------------------------------------------------------ predicate

const PREDICATE_RULES: &str = r#"
event ORDER { amount: int  country: string  sku: string }
trigger big_order
  on ORDER where amount > 1000 and country in ["DE", "AT", "CH"] and not starts_with(sku, "GIFT")
  then emit "big"
"#;

const PREDICATE_EVENTS: usize = 10_000;

/// One event bound as `Binding::Current`, nothing else.
struct OneEvent {
    interner: Interner,
    fields: Vec<Value>,
}

impl Env for OneEvent {
    fn key(&self) -> Sym {
        Sym(0)
    }
    fn now(&self) -> i64 {
        0
    }
    fn event(&self, binding: Binding) -> Option<(EventId, i64, &[Value])> {
        (binding == Binding::Current).then_some((EventId(0), 0, &self.fields[..]))
    }
    fn state(&self, _: StateId) -> Value {
        Value::None
    }
    fn profile(&self, _: ProfileFieldId) -> Value {
        Value::None
    }
    fn aggregate(&self, _: AggId) -> Value {
        Value::None
    }
    fn interner(&mut self) -> &mut Interner {
        &mut self.interner
    }
}

/// The predicate program, its filter, and the events' fields (a quarter of them
/// pass) interned into `interner`.
fn predicate_inputs(interner: &mut Interner) -> (Program, ExprId, Vec<Vec<Value>>) {
    let program = compile(&[("bench.trig", PREDICATE_RULES.into())]);
    let filter = match &program.triggers[0].start {
        StartIr::On(patterns) => patterns[0].filter.expect("a where filter"),
        _ => panic!("the bench trigger starts on ORDER"),
    };
    let countries = ["DE", "AT", "CH", "FR", "US", "NL", "PL"];
    let events = (0..PREDICATE_EVENTS)
        .map(|i| {
            let amount = (i as i64 * 7919) % 3000;
            let country = interner.intern(countries[i % countries.len()]);
            let sku = if i % 5 == 0 {
                format!("GIFT-{i}")
            } else {
                format!("SKU-{i}")
            };
            let sku = interner.intern(&sku);
            vec![Value::Int(amount), Value::Str(country), Value::Str(sku)]
        })
        .collect();
    (program, filter, events)
}

fn bench_predicate(bencher: Bencher, engine: &dyn Engine) {
    let mut env = OneEvent {
        interner: Interner::default(),
        fields: Vec::new(),
    };
    let (program, filter, events) = predicate_inputs(&mut env.interner);
    bencher
        .counter(ItemsCount::new(events.len()))
        .bench_local(|| {
            let mut passed = 0u32;
            for fields in &events {
                env.fields.clone_from(fields);
                if let Ok(Value::Bool(true)) = engine.eval(&program, filter, &mut env) {
                    passed += 1;
                }
            }
            passed
        });
}

#[divan::bench]
fn predicate_interp(bencher: Bencher) {
    bench_predicate(bencher, &Interp);
}

#[divan::bench]
fn predicate_jit(bencher: Bencher) {
    let mut interner = Interner::default();
    let (program, _, _) = predicate_inputs(&mut interner);
    let mut jit = Jit::new().expect("a JIT on this host");
    jit.prepare(&program).expect("the predicate compiles");
    bench_predicate(bencher, &jit);
}

/// The predicate in Rust over the same fields: strings compared by symbol, the
/// prefix test on the text.
#[divan::bench]
fn predicate_rust(bencher: Bencher) {
    let mut interner = Interner::default();
    let (_, _, events) = predicate_inputs(&mut interner);
    let wanted = ["DE", "AT", "CH"].map(|c| interner.intern(c));
    let mut fields = Vec::new();
    bencher
        .counter(ItemsCount::new(events.len()))
        .bench_local(|| {
            let mut passed = 0u32;
            for event in &events {
                fields.clone_from(event);
                let hit = matches!(
                    (&fields[0], &fields[1], &fields[2]),
                    (Value::Int(amount), Value::Str(country), Value::Str(sku))
                        if *amount > 1000
                            && wanted.contains(country)
                            && !interner.resolve(*sku).starts_with("GIFT")
                );
                passed += u32::from(hit);
            }
            passed
        });
}

// ------------------------------------------------------------ replay

struct NullOutput(NdjsonSink<io::Sink>);

impl Output for NullOutput {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        self.0.write(record, program, interner);
    }
    fn notice(&mut self, _: &Notice) {}
}

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
            let mut out = NullOutput(NdjsonSink::new(io::sink()));
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
    bencher.bench_local(|| {
        let mut jit = Jit::new().expect("a JIT on this host");
        jit.prepare(&program).expect("compiles");
        jit.functions()
    });
}
