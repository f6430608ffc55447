//! Per-key state through the public API: reducers, window aggregates, last/first,
//! profile merge, the fan-out index, caps, expiry and schedules. Programs are built
//! by hand as `ir::Program` values (the shapes the checker lowers to; the builder
//! runs the compiler's layout pass after each addition, as the runtime reads only
//! the IR's layout), filters are evaluated by a small evaluator below, so these
//! tests depend on nothing but the state module and that pass.

mod bounds;
mod fanout;
mod oracle;
mod reducers;
mod schedules;
mod windows;

#[path = "../../benches/fixtures/schema.rs"]
mod schema;
#[path = "../../benches/fixtures/shop.rs"]
mod shop;

use std::sync::Arc;

use proptest::prelude::*;
use trigc::interp::{EvalError, EvalErrorKind, Interner, Sym, Value};
use trigc::ir::*;
use trigc::runtime::Event;
use trigc::runtime::schedule::{Schedule, next_after};
use trigc::runtime::state::{
    CustomerId, FanOutIndex, FilterEval, IngestReport, KeyData, LIST_CAP, SET_CAP,
};
use trigc::runtime::window::WINDOW_CAP;
use trigc::syntax::Span;

use schema::field;
use shop::shop_event;

// ---------------------------------------------------------------------------
// Building programs.

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2026-01-05T00:00:00Z
const T0: i64 = 1_767_571_200_000;

#[derive(Default)]
struct Builder {
    p: Program,
}

impl Builder {
    fn event(&mut self, name: &str, fields: Vec<FieldDef>) -> EventId {
        self.declare(schema::event(name, fields))
    }

    fn declare(&mut self, def: EventDef) -> EventId {
        self.p.events.push(def);
        trigc::check::layout::assign(&mut self.p);
        EventId::from_index(self.p.events.len() - 1)
    }

    fn expr(&mut self, e: Expr, ty: Ty) -> ExprId {
        self.p.exprs.push(e);
        self.p.expr_types.push(ty);
        self.p.expr_spans.push(Span::default());
        trigc::check::layout::assign(&mut self.p);
        ExprId::from_index(self.p.exprs.len() - 1)
    }

    /// A bare field of the current event.
    fn field(&mut self, ev: EventId, f: u32) -> ExprId {
        let def = &self.p.events[ev.index()].fields[f as usize];
        let ty = if def.optional {
            def.ty.clone().optional()
        } else {
            def.ty.clone()
        };
        self.expr(
            Expr::Field {
                binding: Binding::Current,
                choices: vec![(ev, FieldIdx(f))],
            },
            ty,
        )
    }

    fn int(&mut self, i: i64) -> ExprId {
        self.expr(Expr::Const(Const::Int(i)), Ty::Int)
    }

    fn binary(&mut self, op: BinaryOp, lhs: ExprId, rhs: ExprId) -> ExprId {
        self.expr(Expr::Binary { op, lhs, rhs }, Ty::Bool)
    }

    fn state(
        &mut self,
        name: &str,
        ty: Ty,
        indexed: bool,
        rules: Vec<(EventId, Option<ExprId>, ReducerOp)>,
    ) -> StateId {
        let rules = rules
            .into_iter()
            .map(|(event, filter, op)| ReducerRule {
                event,
                filter,
                op,
                span: Span::default(),
            })
            .collect();
        self.p.states.push(StateDef {
            name: name.into(),
            span: Span::default(),
            ty,
            rules,
            indexed,
        });
        trigc::check::layout::assign(&mut self.p);
        StateId::from_index(self.p.states.len() - 1)
    }

    fn agg(
        &mut self,
        kind: AggKind,
        event: EventId,
        field: Option<u32>,
        filter: Option<ExprId>,
        within: Option<i64>,
    ) -> AggId {
        self.p.aggregates.push(AggDef {
            kind,
            event,
            field: field.map(FieldIdx),
            filter,
            within,
            ty: Ty::Int,
            span: Span::default(),
        });
        trigc::check::layout::assign(&mut self.p);
        AggId::from_index(self.p.aggregates.len() - 1)
    }
}

/// The shop of docs/LANGUAGE.md §3.
struct Shop {
    p: Program,
    add: EventId,
    remove: EventId,
    purchase: EventId,
    visit: EventId,
    profile_update: EventId,
    cart: StateId,
    pages: StateId,
    spent: StateId,
    big_adds: StateId,
    adds_to_empty_cart: StateId,
    last_order: StateId,
    adds_10m: AggId,
    price_sum_1h: AggId,
    price_avg_1h: AggId,
    price_min_1h: AggId,
    price_max_1h: AggId,
    products_1h: AggId,
    visited_1d: AggId,
    last_add: AggId,
    first_add: AggId,
    last_add_1h: AggId,
    purchases: AggId,
    amount_total: AggId,
}

fn shop() -> Shop {
    let mut b = Builder::default();
    let add = b.declare(shop_event("ADD_TO_CART"));
    let remove = b.declare(shop_event("REMOVE_FROM_CART"));
    let purchase = b.declare(shop_event("PURCHASE"));
    let visit = b.declare(shop_event("VISIT"));
    let profile_update = b.declare(shop_event("PROFILE_UPDATE"));
    b.p.events[profile_update.index()].profile = true;
    b.p.events[profile_update.index()].profile_fields = vec![ProfileFieldId(0), ProfileFieldId(1)];
    b.p.profile = vec![
        ProfileField {
            name: "email".into(),
            ty: Ty::Str,
        },
        ProfileField {
            name: "tier".into(),
            ty: Ty::Str,
        },
    ];

    let add_product = b.field(add, 0);
    let remove_product = b.field(remove, 0);
    let cart = b.state(
        "cart",
        Ty::Set(Box::new(Ty::Str)),
        true,
        vec![
            (add, None, ReducerOp::Insert(add_product)),
            (remove, None, ReducerOp::Remove(remove_product)),
            (purchase, None, ReducerOp::Clear),
        ],
    );
    let page = b.field(visit, 0);
    let pages = b.state(
        "pages",
        Ty::List(Box::new(Ty::Str)),
        false,
        vec![(
            visit,
            None,
            ReducerOp::Push {
                value: page,
                max: 3,
            },
        )],
    );
    let amount = b.field(purchase, 1);
    let spent = b.state(
        "spent",
        Ty::Float,
        false,
        vec![(purchase, None, ReducerOp::Add(amount))],
    );
    let qty = b.field(add, 2);
    let two = b.int(2);
    let qty_gt_2 = b.binary(BinaryOp::Gt, qty, two);
    let one = b.int(1);
    let big_adds = b.state(
        "big_adds",
        Ty::Int,
        false,
        vec![(add, Some(qty_gt_2), ReducerOp::Add(one))],
    );
    // Reads `cart`, which an earlier rule changes on the same event: filters must see
    // the state as it was before the event.
    let cart_now = b_state(&mut b, cart);
    let cart_len = b.expr(
        Expr::Call {
            func: Builtin::Len,
            args: vec![cart_now],
        },
        Ty::Int,
    );
    let zero = b.int(0);
    let cart_was_empty = b.binary(BinaryOp::Eq, cart_len, zero);
    let one_more = b.int(1);
    let adds_to_empty_cart = b.state(
        "adds_to_empty_cart",
        Ty::Int,
        false,
        vec![(add, Some(cart_was_empty), ReducerOp::Add(one_more))],
    );
    let order = b.field(purchase, 0);
    let last_order = b.state(
        "last_order",
        Ty::Optional(Box::new(Ty::Str)),
        false,
        vec![(purchase, None, ReducerOp::Set(order))],
    );

    let adds_10m = b.agg(AggKind::Count, add, None, None, Some(10 * MIN));
    let price_sum_1h = b.agg(AggKind::Sum, add, Some(1), None, Some(HOUR));
    let price_avg_1h = b.agg(AggKind::Avg, add, Some(1), None, Some(HOUR));
    let price_min_1h = b.agg(AggKind::Min, add, Some(1), None, Some(HOUR));
    let price_max_1h = b.agg(AggKind::Max, add, Some(1), None, Some(HOUR));
    let products_1h = b.agg(AggKind::Distinct, add, Some(0), None, Some(HOUR));
    let visited_1d = b.agg(AggKind::Exists, visit, None, None, Some(DAY));
    let last_add = b.agg(AggKind::Last, add, None, None, None);
    let first_add = b.agg(AggKind::First, add, None, None, None);
    let last_add_1h = b.agg(AggKind::Last, add, None, None, Some(HOUR));
    let purchases = b.agg(AggKind::Count, purchase, None, None, None);
    let amount_total = b.agg(AggKind::Sum, purchase, Some(1), None, None);
    Shop {
        p: b.p,
        add,
        remove,
        purchase,
        visit,
        profile_update,
        cart,
        pages,
        spent,
        big_adds,
        adds_to_empty_cart,
        last_order,
        adds_10m,
        price_sum_1h,
        price_avg_1h,
        price_min_1h,
        price_max_1h,
        products_1h,
        visited_1d,
        last_add,
        first_add,
        last_add_1h,
        purchases,
        amount_total,
    }
}

fn b_state(b: &mut Builder, id: StateId) -> ExprId {
    let ty = b.p.states[id.index()].ty.clone();
    b.expr(Expr::State(id), ty)
}

// ---------------------------------------------------------------------------
// A small filter evaluator: constants, current-event fields, states, `len`,
// comparisons and division (for errors).

struct Mini<'p> {
    program: &'p Program,
    interner: Interner,
}

impl Mini<'_> {
    fn eval(&mut self, expr: ExprId, event: &Event, data: &KeyData) -> Result<Value, EvalError> {
        let program = self.program;
        Ok(match program.expr(expr) {
            Expr::Const(Const::Int(i)) => Value::Int(*i),
            Expr::Const(Const::Float(f)) => Value::Float(*f),
            Expr::Const(Const::Bool(b)) => Value::Bool(*b),
            Expr::Const(Const::Str(s)) => Value::Str(self.interner.intern(s)),
            Expr::Field { choices, .. } => choices
                .iter()
                .find(|(e, _)| *e == event.kind)
                .and_then(|(_, f)| event.fields.get(f.index()).cloned())
                .unwrap_or(Value::None),
            Expr::State(id) => data.state(program, *id),
            Expr::Call {
                func: Builtin::Len,
                args,
            } => match self.eval(args[0], event, data)? {
                Value::Set(s) | Value::List(s) => Value::Int(s.len() as i64),
                _ => Value::None,
            },
            Expr::Binary { op, lhs, rhs } => {
                let (a, b) = (self.eval(*lhs, event, data)?, self.eval(*rhs, event, data)?);
                match (op, a, b) {
                    (BinaryOp::Div, Value::Int(_), Value::Int(0)) => {
                        return Err(EvalError {
                            expr,
                            kind: EvalErrorKind::DivisionByZero,
                        });
                    }
                    (BinaryOp::Div, Value::Int(x), Value::Int(y)) => Value::Int(x / y),
                    (BinaryOp::Gt, Value::Int(x), Value::Int(y)) => Value::Bool(x > y),
                    (BinaryOp::Eq, x, y) if x != Value::None && y != Value::None => {
                        Value::Bool(x == y)
                    }
                    _ => Value::None,
                }
            }
            other => panic!("the test evaluator does not handle {other:?}"),
        })
    }
}

impl FilterEval for Mini<'_> {
    fn eval_filter(
        &mut self,
        expr: ExprId,
        event: &Event,
        data: &KeyData,
    ) -> Result<Value, EvalError> {
        self.eval(expr, event, data)
    }
    fn interner(&mut self) -> &mut Interner {
        &mut self.interner
    }
}

/// One program's runtime side, for tests: key data per customer, the index, the
/// interner and the accumulated report.
struct World<'p> {
    program: &'p Program,
    mini: Mini<'p>,
    keys: Vec<KeyData>,
    index: FanOutIndex,
    report: IngestReport,
}

impl<'p> World<'p> {
    fn new(program: &'p Program) -> World<'p> {
        let mut interner = Interner::default();
        interner.intern(""); // the runtime's convention: `""` is Sym(0)
        World {
            program,
            mini: Mini { program, interner },
            keys: Vec::new(),
            index: FanOutIndex::default(),
            report: IngestReport::default(),
        }
    }

    fn s(&mut self, text: &str) -> Value {
        Value::Str(self.mini.interner.intern(text))
    }

    fn feed(&mut self, customer: u32, kind: EventId, ts: i64, fields: Vec<Value>) {
        let c = customer as usize;
        if self.keys.len() <= c {
            self.keys.resize_with(c + 1, KeyData::default);
        }
        let event = Event {
            kind,
            key: format!("u{customer}"),
            ts,
            fields,
            line: 0,
            origin: 0,
        };
        self.keys[c].ingest(
            self.program,
            CustomerId(customer),
            &event,
            &mut self.index,
            &mut self.mini,
            &mut self.report,
        );
    }

    fn key(&self, customer: u32) -> &KeyData {
        static NOTHING: std::sync::LazyLock<KeyData> = std::sync::LazyLock::new(KeyData::default);
        self.keys.get(customer as usize).unwrap_or(&NOTHING)
    }

    /// The state's value; every read also checks that `state_len` (what `len(s)` and
    /// `s.empty` use) counts exactly the members of that value.
    fn state(&self, customer: u32, id: StateId) -> Value {
        let value = self.key(customer).state(self.program, id);
        let members = match &value {
            Value::Set(items) | Value::List(items) => Some(items.len()),
            _ => None,
        };
        assert_eq!(
            self.key(customer).state_len(self.program, id),
            members,
            "state_len of {id:?} for {value:?}"
        );
        value
    }

    fn agg(&self, customer: u32, id: AggId, now: i64) -> Value {
        self.key(customer).aggregate(self.program, id, now)
    }

    fn set(&mut self, members: &[&str]) -> Value {
        let mut syms: Vec<Sym> = members
            .iter()
            .map(|m| self.mini.interner.intern(m))
            .collect();
        syms.sort();
        Value::Set(Arc::new(syms.into_iter().map(Value::Str).collect()))
    }

    fn customers(&mut self, state: StateId, member: &str) -> Vec<u32> {
        let v = self.s(member);
        self.index
            .customers(state, &v)
            .into_iter()
            .map(|c| c.0)
            .collect()
    }
}

fn add_fields(w: &mut World, product: &str, price: f64, qty: Option<i64>) -> Vec<Value> {
    vec![
        w.s(product),
        Value::Float(price),
        qty.map_or(Value::None, Value::Int),
    ]
}
