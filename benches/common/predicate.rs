//! Issue #18's condition-heavy predicate and its events, shared by
//! `benches/jit.rs` and `benches/compare/` (included in each as
//! `#[path = ".../common/predicate.rs"] mod predicate;`), so every engine in both
//! benches sees the same 10k events.

use divan::Bencher;
use divan::counter::ItemsCount;
use trigc::interp::{Engine, Env, Interner, Interp, Sym, Value};
use trigc::ir::{AggId, Binding, EventId, ExprId, ProfileFieldId, Program, StartIr, StateId};
use trigc::jit::Jit;
use trigc::syntax::SourceMap;

pub const RULES: &str = r#"
event ORDER { amount: int  country: string  sku: string }
trigger big_order
  on ORDER where amount > 1000 and country in ["DE", "AT", "CH"] and not starts_with(sku, "GIFT")
  then emit "big"
"#;

pub const EVENTS: usize = 10_000;

/// How many of the events pass (a little under a quarter).
pub const PASSING: u32 = 2_287;

/// One event as plain data, before any engine's conversion.
pub struct Order {
    pub amount: i64,
    pub country: &'static str,
    pub sku: String,
}

/// The events: amount `i * 7919 % 3000`, country cycling over seven codes, every
/// fifth sku a `GIFT-` one.
pub fn orders() -> Vec<Order> {
    let countries = ["DE", "AT", "CH", "FR", "US", "NL", "PL"];
    (0..EVENTS)
        .map(|i| Order {
            amount: (i as i64 * 7919) % 3000,
            country: countries[i % countries.len()],
            sku: if i % 5 == 0 {
                format!("GIFT-{i}")
            } else {
                format!("SKU-{i}")
            },
        })
        .collect()
}

/// One event bound as `Binding::Current`, nothing else.
pub struct OneEvent {
    pub interner: Interner,
    pub fields: Vec<Value>,
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

/// The predicate program, its filter, and the events' fields interned into
/// `interner`.
pub fn predicate_inputs(interner: &mut Interner) -> (Program, ExprId, Vec<Vec<Value>>) {
    let mut sources = SourceMap::default();
    sources.add("bench.trig", RULES.to_string());
    let compiled = trigc::compile(&sources);
    let Some(program) = compiled.program else {
        panic!("the predicate does not compile: {:?}", compiled.diagnostics);
    };
    let filter = match &program.triggers[0].start {
        StartIr::On(patterns) => patterns[0].filter.expect("a where filter"),
        _ => panic!("the bench trigger starts on ORDER"),
    };
    let events = orders()
        .iter()
        .map(|o| {
            vec![
                Value::Int(o.amount),
                Value::Str(interner.intern(o.country)),
                Value::Str(interner.intern(&o.sku)),
            ]
        })
        .collect();
    (program, filter, events)
}

/// Evaluates the filter over every event (fields copied into the environment's
/// slots, one `Engine::eval` each) and counts the passes.
pub fn count_passing(
    engine: &dyn Engine,
    program: &Program,
    filter: ExprId,
    events: &[Vec<Value>],
    env: &mut OneEvent,
) -> u32 {
    let mut passed = 0u32;
    for fields in events {
        env.fields.clone_from(fields);
        if let Ok(Value::Bool(true)) = engine.eval(program, filter, env) {
            passed += 1;
        }
    }
    passed
}

/// The predicate in Rust over the same fields: strings compared by symbol
/// (`wanted` holds the three countries' symbols), the prefix test on the text.
pub fn count_passing_rust(
    events: &[Vec<Value>],
    wanted: &[Sym; 3],
    interner: &Interner,
    fields: &mut Vec<Value>,
) -> u32 {
    let mut passed = 0u32;
    for event in events {
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
}

/// Times `engine` over the events (its pass count checked first).
pub fn bench_engine(bencher: Bencher, engine: &dyn Engine) {
    let mut env = OneEvent {
        interner: Interner::default(),
        fields: Vec::new(),
    };
    let (program, filter, events) = predicate_inputs(&mut env.interner);
    let passed = count_passing(engine, &program, filter, &events, &mut env);
    assert_eq!(passed, PASSING);
    bencher
        .counter(ItemsCount::new(events.len()))
        .bench_local(|| count_passing(engine, &program, filter, &events, &mut env));
}

/// The interpreter.
pub fn bench_interp(bencher: Bencher) {
    bench_engine(bencher, &Interp);
}

/// The JIT, its code compiled before timing.
pub fn bench_jit(bencher: Bencher) {
    let mut interner = Interner::default();
    let (program, filter, _) = predicate_inputs(&mut interner);
    let mut jit = Jit::new().expect("a JIT on this host");
    jit.prepare(&program, &[filter])
        .expect("the predicate compiles");
    bench_engine(bencher, &jit);
}

/// The predicate hand-written in Rust.
pub fn bench_rust(bencher: Bencher) {
    let mut interner = Interner::default();
    let (_, _, events) = predicate_inputs(&mut interner);
    let wanted = ["DE", "AT", "CH"].map(|c| interner.intern(c));
    let mut fields = Vec::new();
    let passed = count_passing_rust(&events, &wanted, &interner, &mut fields);
    assert_eq!(passed, PASSING);
    bencher
        .counter(ItemsCount::new(events.len()))
        .bench_local(|| count_passing_rust(&events, &wanted, &interner, &mut fields));
}
