//! Per-key state: ingest cost per event with a cart set and three window aggregates
//! against a program with no state (programs carry the layout `check::layout`
//! derives, as compiled ones do), the fan-out lookup of a value held by 100,000
//! customers. (Bytes per customer are printed by `cargo bench --bench memory`, which
//! runs under dhat's allocator so these timings do not.)
//! Run: `cargo bench --bench state`.

use trigc::interp::{EvalError, Interner, Value};
use trigc::ir::*;
use trigc::runtime::Event;
use trigc::runtime::state::{CustomerId, FanOutIndex, FilterEval, IngestReport, KeyData};
use trigc::syntax::Span;

const MIN: i64 = 60_000;
const T0: i64 = 1_767_571_200_000;

fn main() {
    divan::main();
}

fn field(name: &str, ty: Ty, optional: bool) -> FieldDef {
    FieldDef {
        name: name.into(),
        span: Span::default(),
        ty,
        optional,
        used: true,
    }
}

/// `ADD_TO_CART { product, price }`, `VISIT { page? }`; with `state`: a cart set
/// (`indexed` as asked), `count(ADD_TO_CART within 1h)`,
/// `sum(ADD_TO_CART.price within 1d)`, `exists(VISIT within 7d)`.
fn program(state: bool, indexed: bool) -> Program {
    let mut p = Program::default();
    for (name, fields) in [
        (
            "ADD_TO_CART",
            vec![
                field("product", Ty::Str, false),
                field("price", Ty::Float, false),
            ],
        ),
        ("VISIT", vec![field("page", Ty::Str, true)]),
    ] {
        p.events.push(EventDef {
            name: name.into(),
            span: Span::default(),
            profile: false,
            keyed_by: None,
            fields,
            profile_fields: Vec::new(),
        });
    }
    if !state {
        return p;
    }
    p.exprs.push(Expr::Field {
        binding: Binding::Current,
        choices: vec![(EventId(0), FieldIdx(0))],
    });
    p.expr_types.push(Ty::Str);
    p.expr_spans.push(Span::default());
    p.states.push(StateDef {
        name: "cart".into(),
        span: Span::default(),
        ty: Ty::Set(Box::new(Ty::Str)),
        rules: vec![ReducerRule {
            event: EventId(0),
            filter: None,
            op: ReducerOp::Insert(ExprId(0)),
            span: Span::default(),
        }],
        indexed,
    });
    for (kind, event, field, within) in [
        (AggKind::Count, 0, None, 60 * MIN),
        (AggKind::Sum, 0, Some(FieldIdx(1)), 24 * 60 * MIN),
        (AggKind::Exists, 1, None, 7 * 24 * 60 * MIN),
    ] {
        p.aggregates.push(AggDef {
            kind,
            event: EventId(event),
            field,
            filter: None,
            within: Some(within),
            ty: Ty::Int,
            span: Span::default(),
        });
    }
    // As the checker leaves it: storage and per-event feeds decided once.
    trigc::check::layout::assign(&mut p);
    p
}

/// Reads bare fields of the ingested event, the only expressions these programs have.
struct Fields {
    interner: Interner,
}

impl FilterEval for Fields {
    fn eval_filter(&mut self, _: ExprId, event: &Event, _: &KeyData) -> Result<Value, EvalError> {
        Ok(event.fields.first().cloned().unwrap_or(Value::None))
    }
    fn interner(&mut self) -> &mut Interner {
        &mut self.interner
    }
}

struct World {
    program: Program,
    keys: Vec<KeyData>,
    index: FanOutIndex,
    eval: Fields,
    report: IngestReport,
    products: Vec<Value>,
}

impl World {
    fn new(program: Program, customers: usize) -> World {
        let mut interner = Interner::default();
        interner.intern("");
        let products = (0..1000)
            .map(|i| Value::Str(interner.intern(&format!("product-{i}"))))
            .collect();
        let keys = (0..customers).map(|_| KeyData::default()).collect();
        World {
            program,
            keys,
            index: FanOutIndex::default(),
            eval: Fields { interner },
            report: IngestReport::default(),
            products,
        }
    }

    fn ingest(&mut self, customer: usize, event: &Event) {
        if let Some(data) = self.keys.get_mut(customer) {
            data.ingest(
                &self.program,
                CustomerId(customer as u32),
                event,
                &mut self.index,
                &mut self.eval,
                &mut self.report,
            );
        }
    }
}

fn add_event(product: Value, ts: i64) -> Event {
    Event {
        kind: EventId(0),
        key: String::new(),
        ts,
        fields: vec![product, Value::Float(9.5)],
        line: 0,
    }
}

/// One event per iteration over 1,000 customers round robin, time moving forward a
/// second per event; the cart is capped at 10 distinct products per customer.
#[divan::bench(args = ["no state", "cart + 3 windows"])]
fn ingest_per_event(bencher: divan::Bencher, shape: &str) {
    let mut w = World::new(program(shape != "no state", true), 1000);
    let mut event = add_event(Value::None, T0);
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

fn hundred_thousand_holders() -> World {
    let n = 100_000;
    let mut w = World::new(program(true, true), n);
    let event = add_event(w.products[0].clone(), T0);
    // Add holders in a scattered order, as customers come and go.
    for i in 0..n {
        w.ingest((i * 7919) % n, &event);
    }
    w
}
