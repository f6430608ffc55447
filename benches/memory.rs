//! Memory figures, measured with `dhat`'s heap statistics: the live bytes per pending
//! timer of `TimerHeap` and `TimerWheel` after a steady-state run of one million
//! events (the workloads of `benches/timers.rs`), and the live bytes per customer
//! holding a 10-item cart set and three window aggregates (the shape of
//! `benches/state.rs`). Its own binary because `dhat::Alloc` slows every allocation:
//! the timing benches run on the system allocator. The budgets themselves are
//! asserted by `tests/memory.rs`.
//!
//! Run: `cargo bench --bench memory`.

use trigc::interp::{EvalError, Interner, Value};
use trigc::ir::*;
use trigc::runtime::Event;
use trigc::runtime::state::{CustomerId, FanOutIndex, FilterEval, IngestReport, KeyData};
use trigc::runtime::timers::{Tie, TimerHeap, TimerQueue, TimerWheel};
use trigc::syntax::Span;

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
        let heap = steady_bytes::<TimerHeap<u64>>(&w);
        let wheel = steady_bytes::<TimerWheel<u64>>(&w);
        println!("  {delay:?}: heap {heap:.1}  wheel {wheel:.1}");
    }
    let customers = 10_000;
    let (bytes, heap) = bytes_per_customer(customers);
    println!(
        "state: {bytes:.1} bytes per customer ({heap:.1} heap + {} inline KeyData) for a 10-item cart set + count within 1h + sum within 1d + exists within 7d ({customers} customers)",
        std::mem::size_of::<KeyData>()
    );
}

// ---------------------------------------------------------------------------
// Timers: the steady-state workload of benches/timers.rs.

/// Pending timers at the start of the run.
const PENDING: usize = 1_000_000;
/// Events processed after the prefill, each popping what is due and setting a timer.
const EVENTS: usize = 1_000_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// How long the timers wait, i.e. which trigger sets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delay {
    /// `wait 30m` (abandoned cart).
    M30,
    /// `wait 48h` (email follow-up).
    H48,
    /// `wait 30d` (reactivation).
    D30,
    /// All three triggers at once, equally many events each.
    Mixed,
}

impl Delay {
    const ALL: [Delay; 4] = [Delay::M30, Delay::H48, Delay::D30, Delay::Mixed];

    fn choices(self) -> &'static [i64] {
        match self {
            Delay::M30 => &[30 * MINUTE],
            Delay::H48 => &[48 * HOUR],
            Delay::D30 => &[30 * DAY],
            Delay::Mixed => &[30 * MINUTE, 48 * HOUR, 30 * DAY],
        }
    }

    /// Mean gap between events that keeps `PENDING` timers pending: rate × mean delay.
    fn mean_gap(self) -> f64 {
        let c = self.choices();
        c.iter().sum::<i64>() as f64 / c.len() as f64 / PENDING as f64
    }
}

/// xorshift64*: deterministic, dependency-free, good enough for workloads.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick(&mut self, xs: &[i64]) -> i64 {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Timers pending at `T0` (due uniform over each delay's window, weighted by the
/// delay: longer waits have more timers outstanding) and the events that follow.
struct Workload {
    pending: Vec<i64>,
    /// `(event time, due time of the timer it sets)`, times increasing.
    events: Vec<(i64, i64)>,
}

/// The same seeds as benches/timers.rs, so the figures describe the timed runs.
fn workload(delay: Delay) -> Workload {
    let slot = Delay::ALL.iter().position(|d| *d == delay).unwrap_or(0);
    let mut rng = Rng(0x5EED ^ (slot as u64 + 1));
    let choices = delay.choices();
    let total: i64 = choices.iter().sum();
    let pending = (0..PENDING)
        .map(|_| {
            // Pick a delay with probability proportional to its length.
            let mut r = rng.below(total as u64) as i64;
            let d = choices.iter().copied().find(|d| {
                r -= d;
                r < 0
            });
            T0 + 1 + rng.below(d.unwrap_or(total) as u64) as i64
        })
        .collect();
    // Event gaps uniform in [0, 2 × mean): ms-level jitter on event times.
    let max_gap = (2.0 * delay.mean_gap()) as u64;
    let mut ts = T0;
    let events = (0..EVENTS)
        .map(|_| {
            ts += rng.below(max_gap + 1) as i64;
            (ts, ts + rng.pick(choices))
        })
        .collect();
    Workload { pending, events }
}

/// Live bytes per pending timer after the steady-state run (prefill + 1M events),
/// the queue's cursor starting at `T0` as in a running runtime.
fn steady_bytes<Q: TimerQueue<u64> + Default>(w: &Workload) -> f64 {
    let before = live_bytes();
    let mut q = Q::default();
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

const ADD: EventId = EventId(0);
const VISIT: EventId = EventId(1);

fn field(name: &str, ty: Ty, optional: bool) -> FieldDef {
    FieldDef {
        name: name.into(),
        span: Span::default(),
        ty,
        optional,
        used: true,
    }
}

/// `ADD_TO_CART { product, price }`, `VISIT { page? }`; `cart: set<string>` (not
/// indexed), `count(ADD_TO_CART within 1h)`, `sum(ADD_TO_CART.price within 1d)`,
/// `exists(VISIT within 7d)`.
fn cart_program() -> Program {
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
    p.exprs.push(Expr::Field {
        binding: Binding::Current,
        choices: vec![(ADD, FieldIdx(0))],
    });
    p.expr_types.push(Ty::Str);
    p.expr_spans.push(Span::default());
    p.states.push(StateDef {
        name: "cart".into(),
        span: Span::default(),
        ty: Ty::Set(Box::new(Ty::Str)),
        rules: vec![ReducerRule {
            event: ADD,
            filter: None,
            op: ReducerOp::Insert(ExprId(0)),
            span: Span::default(),
        }],
        indexed: false,
    });
    for (kind, event, field, within) in [
        (AggKind::Count, ADD, None, HOUR),
        (AggKind::Sum, ADD, Some(FieldIdx(1)), DAY),
        (AggKind::Exists, VISIT, None, 7 * DAY),
    ] {
        p.aggregates.push(AggDef {
            kind,
            event,
            field,
            filter: None,
            within: Some(within),
            ty: Ty::Int,
            span: Span::default(),
        });
    }
    p
}

/// Evaluates the program's only expression, `product` of the ingested event.
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

/// `(total, heap)` bytes per customer after `n` customers each add ten of 1,000
/// products a minute apart and then visit.
fn bytes_per_customer(n: usize) -> (f64, f64) {
    let program = cart_program();
    let mut interner = Interner::default();
    interner.intern("");
    let products: Vec<Value> = (0..1000)
        .map(|i| Value::Str(interner.intern(&format!("product-{i}"))))
        .collect();
    let mut fields = Fields { interner };
    let mut keys: Vec<KeyData> = (0..n).map(|_| KeyData::default()).collect();
    let mut index = FanOutIndex::default();
    let mut report = IngestReport::default();
    let mut add = Event {
        kind: ADD,
        key: String::new(),
        ts: 0,
        fields: vec![Value::None, Value::Float(9.5)],
        line: 0,
    };
    let visit = Event {
        kind: VISIT,
        key: String::new(),
        ts: T0 + 10 * MINUTE,
        fields: vec![Value::None],
        line: 0,
    };
    let before = live_bytes();
    for (c, data) in (0u32..).zip(keys.iter_mut()) {
        for i in 0..10 {
            add.ts = T0 + i as i64 * MINUTE;
            add.fields[0] = products[(c as usize + i) % products.len()].clone();
            data.ingest(
                &program,
                CustomerId(c),
                &add,
                &mut index,
                &mut fields,
                &mut report,
            );
        }
        data.ingest(
            &program,
            CustomerId(c),
            &visit,
            &mut index,
            &mut fields,
            &mut report,
        );
    }
    let heap = (live_bytes() - before) as f64 / n as f64;
    drop(keys);
    (heap + std::mem::size_of::<KeyData>() as f64, heap)
}
