//! Unit tests of the expression semantics over hand-built IR.

use super::*;
use crate::interp::StoredEvent;
use crate::ir::{AggId, Binding, EventId, FieldIdx, ProfileFieldId, StateId};
use crate::source::Span;

/// A program holding only an expression arena.
#[derive(Default)]
struct Arena {
    program: Program,
}

impl Arena {
    fn push(&mut self, expr: Expr, ty: Ty) -> ExprId {
        self.program.exprs.push(expr);
        self.program.expr_types.push(ty);
        self.program.expr_spans.push(Span::default());
        ExprId::from_index(self.program.exprs.len() - 1)
    }
    fn int(&mut self, i: i64) -> ExprId {
        self.push(Expr::Const(Const::Int(i)), Ty::Int)
    }
    fn str(&mut self, s: &str) -> ExprId {
        self.push(Expr::Const(Const::Str(s.into())), Ty::Str)
    }
    fn bin(&mut self, op: BinaryOp, lhs: ExprId, rhs: ExprId) -> ExprId {
        self.push(Expr::Binary { op, lhs, rhs }, Ty::Bool)
    }
    fn none(&mut self) -> ExprId {
        // A profile read with nothing set is `none`.
        self.push(
            Expr::Profile(ProfileFieldId(0)),
            Ty::Optional(Box::new(Ty::Bool)),
        )
    }
    fn bool(&mut self, b: bool) -> ExprId {
        self.push(Expr::Const(Const::Bool(b)), Ty::Bool)
    }
}

struct TestEnv {
    interner: Interner,
    fields: Vec<Value>,
    state: Value,
}

impl TestEnv {
    fn new() -> TestEnv {
        TestEnv {
            interner: Interner::default(),
            fields: Vec::new(),
            state: Value::None,
        }
    }
}

impl Env for TestEnv {
    fn key(&self) -> Sym {
        Sym(0)
    }
    fn now(&self) -> i64 {
        1_000
    }
    fn event(&self, binding: Binding) -> Option<(EventId, i64, &[Value])> {
        (binding == Binding::Current).then_some((EventId(1), 500, &self.fields[..]))
    }
    fn state(&self, _: StateId) -> Value {
        self.state.clone()
    }
    fn profile(&self, _: ProfileFieldId) -> Value {
        Value::None
    }
    fn aggregate(&self, _: AggId) -> Value {
        Value::Int(7)
    }
    fn interner(&mut self) -> &mut Interner {
        &mut self.interner
    }
}

fn run(arena: &Arena, expr: ExprId) -> Result<Value, EvalError> {
    eval(&arena.program, expr, &mut TestEnv::new())
}

#[test]
fn kleene_and_or() {
    let mut a = Arena::default();
    let (t, f, n) = (a.bool(true), a.bool(false), a.none());
    let cases = [
        (BinaryOp::And, t, n, Value::None),
        (BinaryOp::And, f, n, Value::Bool(false)),
        (BinaryOp::And, n, f, Value::Bool(false)),
        (BinaryOp::And, t, t, Value::Bool(true)),
        (BinaryOp::Or, t, n, Value::Bool(true)),
        (BinaryOp::Or, n, t, Value::Bool(true)),
        (BinaryOp::Or, f, n, Value::None),
        (BinaryOp::Or, f, f, Value::Bool(false)),
    ];
    for (op, l, r, want) in cases {
        let e = a.bin(op, l, r);
        assert_eq!(run(&a, e), Ok(want), "{op:?}");
    }
}

#[test]
fn short_circuit_skips_errors() {
    let mut a = Arena::default();
    let (one, zero) = (a.int(1), a.int(0));
    let div = a.bin(BinaryOp::Div, one, zero);
    let cmp = a.bin(BinaryOp::Eq, div, one);
    let f = a.bool(false);
    let and = a.bin(BinaryOp::And, f, cmp);
    assert_eq!(run(&a, and), Ok(Value::Bool(false)));
    assert_eq!(
        run(&a, cmp),
        Err(EvalError {
            expr: div,
            kind: EvalErrorKind::DivisionByZero
        })
    );
}

#[test]
fn int_overflow_and_remainder_by_zero_are_errors() {
    let mut a = Arena::default();
    let (max, one, zero) = (a.int(i64::MAX), a.int(1), a.int(0));
    let add = a.bin(BinaryOp::Add, max, one);
    assert_eq!(
        run(&a, add).map_err(|e| e.kind),
        Err(EvalErrorKind::IntegerOverflow)
    );
    let rem = a.bin(BinaryOp::Rem, one, zero);
    assert_eq!(
        run(&a, rem).map_err(|e| e.kind),
        Err(EvalErrorKind::DivisionByZero)
    );
    let min = a.int(i64::MIN);
    let neg_one = a.int(-1);
    let div = a.bin(BinaryOp::Div, min, neg_one);
    assert_eq!(
        run(&a, div).map_err(|e| e.kind),
        Err(EvalErrorKind::IntegerOverflow)
    );
}

#[test]
fn none_propagates_and_coalesces() {
    let mut a = Arena::default();
    let (n, one) = (a.none(), a.int(1));
    let add = a.bin(BinaryOp::Add, n, one);
    assert_eq!(run(&a, add), Ok(Value::None));
    let eq = a.bin(BinaryOp::Eq, n, one);
    assert_eq!(run(&a, eq), Ok(Value::None));
    let co = a.bin(BinaryOp::Coalesce, n, one);
    assert_eq!(run(&a, co), Ok(Value::Int(1)));
    let not = a.push(
        Expr::Unary {
            op: UnaryOp::Not,
            operand: n,
        },
        Ty::Bool,
    );
    assert_eq!(run(&a, not), Ok(Value::None));
}

#[test]
fn time_and_duration_arithmetic() {
    let mut a = Arena::default();
    let t = a.push(Expr::Now, Ty::Time);
    let d = a.push(Expr::Const(Const::Duration(300)), Ty::Duration);
    let plus = a.bin(BinaryOp::Add, t, d);
    assert_eq!(run(&a, plus), Ok(Value::Time(1_300)));
    let ts = a.push(
        Expr::EventTime {
            binding: Binding::Current,
            of: None,
        },
        Ty::Time,
    );
    let diff = a.bin(BinaryOp::Sub, t, ts);
    assert_eq!(run(&a, diff), Ok(Value::Duration(500)));
    let two = a.int(2);
    let twice = a.bin(BinaryOp::Mul, d, two);
    assert_eq!(run(&a, twice), Ok(Value::Duration(600)));
    let half = a.push(Expr::Const(Const::Float(0.5)), Ty::Float);
    let scaled = a.bin(BinaryOp::Mul, d, half);
    assert_eq!(run(&a, scaled), Ok(Value::Duration(150)));
    let start = a.push(
        Expr::EventTime {
            binding: Binding::Start,
            of: None,
        },
        Ty::Optional(Box::new(Ty::Time)),
    );
    let unbound = a.bin(BinaryOp::Sub, t, start);
    assert_eq!(run(&a, unbound), Ok(Value::None));
}

#[test]
fn strings_compare_by_text_and_concatenate() {
    let mut a = Arena::default();
    // Intern "b" before "a" so symbol order differs from text order.
    let (b, x) = (a.str("b"), a.str("a"));
    let lt = a.bin(BinaryOp::Lt, x, b);
    let mut env = TestEnv::new();
    env.interner.intern("b");
    assert_eq!(eval(&a.program, lt, &mut env), Ok(Value::Bool(true)));
    let cat = a.push(
        Expr::Binary {
            op: BinaryOp::Add,
            lhs: x,
            rhs: b,
        },
        Ty::Str,
    );
    let got = eval(&a.program, cat, &mut env);
    assert_eq!(got, Ok(Value::Str(env.interner.intern("ab"))));
    let eq = a.bin(BinaryOp::Eq, x, x);
    assert_eq!(eval(&a.program, eq, &mut env), Ok(Value::Bool(true)));
}

#[test]
fn builtins() {
    let mut a = Arena::default();
    let s = a.str("Hello World");
    let call = |a: &mut Arena, func, args: Vec<ExprId>| a.push(Expr::Call { func, args }, Ty::Bool);
    let mut env = TestEnv::new();
    let lower = call(&mut a, Builtin::Lower, vec![s]);
    let got = eval(&a.program, lower, &mut env).ok();
    assert_eq!(got, Some(Value::Str(env.interner.intern("hello world"))));
    let upper = call(&mut a, Builtin::Upper, vec![s]);
    let got = eval(&a.program, upper, &mut env).ok();
    assert_eq!(got, Some(Value::Str(env.interner.intern("HELLO WORLD"))));
    let len = call(&mut a, Builtin::Len, vec![s]);
    assert_eq!(eval(&a.program, len, &mut env), Ok(Value::Int(11)));
    let p = a.str("Hell");
    let sw = call(&mut a, Builtin::StartsWith, vec![s, p]);
    assert_eq!(eval(&a.program, sw, &mut env), Ok(Value::Bool(true)));
    let ew = call(&mut a, Builtin::EndsWith, vec![s, p]);
    assert_eq!(eval(&a.program, ew, &mut env), Ok(Value::Bool(false)));
    let w = a.str("o W");
    let sub = call(&mut a, Builtin::Contains, vec![s, w]);
    assert_eq!(eval(&a.program, sub, &mut env), Ok(Value::Bool(true)));
    let m = a.int(-4);
    let abs = call(&mut a, Builtin::Abs, vec![m]);
    assert_eq!(eval(&a.program, abs, &mut env), Ok(Value::Int(4)));
    let min = a.int(i64::MIN);
    let abs_min = call(&mut a, Builtin::Abs, vec![min]);
    assert_eq!(
        eval(&a.program, abs_min, &mut env).map_err(|e| e.kind),
        Err(EvalErrorKind::IntegerOverflow)
    );
}

#[test]
fn membership_in_sets_lists_and_empty() {
    let mut a = Arena::default();
    let cart = a.push(Expr::State(StateId(0)), Ty::Set(Box::new(Ty::Str)));
    let p1 = a.str("p1");
    let p2 = a.str("p2");
    let is_in = a.bin(BinaryOp::In, p1, cart);
    let not_in = a.bin(BinaryOp::In, p2, cart);
    let empty = a.push(
        Expr::Call {
            func: Builtin::Empty,
            args: vec![cart],
        },
        Ty::Bool,
    );
    let mut env = TestEnv::new();
    let sym = env.interner.intern("p1");
    env.state = Value::Set(Arc::new(vec![Value::Str(sym)]));
    assert_eq!(eval(&a.program, is_in, &mut env), Ok(Value::Bool(true)));
    assert_eq!(eval(&a.program, not_in, &mut env), Ok(Value::Bool(false)));
    assert_eq!(eval(&a.program, empty, &mut env), Ok(Value::Bool(false)));
    let list = a.push(Expr::List(vec![p1, p2]), Ty::List(Box::new(Ty::Str)));
    let in_list = a.bin(BinaryOp::In, p2, list);
    assert_eq!(eval(&a.program, in_list, &mut env), Ok(Value::Bool(true)));
}

#[test]
fn fields_objects_and_stored_events() {
    let mut a = Arena::default();
    let f1 = a.push(
        Expr::Field {
            binding: Binding::Current,
            choices: vec![(EventId(0), FieldIdx(0)), (EventId(1), FieldIdx(1))],
        },
        Ty::Int,
    );
    let far = a.push(
        Expr::Field {
            binding: Binding::Current,
            choices: vec![(EventId(1), FieldIdx(9))],
        },
        Ty::Int,
    );
    let obj = a.push(Expr::Object(vec![("n".into(), f1)]), Ty::Object);
    let mut env = TestEnv::new();
    env.fields = vec![Value::Int(1), Value::Int(2)];
    assert_eq!(eval(&a.program, f1, &mut env), Ok(Value::Int(2)));
    assert_eq!(eval(&a.program, far, &mut env), Ok(Value::None));
    let n = env.interner.intern("n");
    assert_eq!(
        eval(&a.program, obj, &mut env),
        Ok(Value::Object(Arc::new(vec![(n, Value::Int(2))])))
    );

    let last = a.push(
        Expr::Agg(AggId(0)),
        Ty::Optional(Box::new(Ty::Event(EventId(3)))),
    );
    let field = a.push(
        Expr::EventField {
            base: last,
            event: EventId(3),
            field: FieldIdx(0),
        },
        Ty::Int,
    );
    let ts = a.push(Expr::StoredEventTime { base: last }, Ty::Time);
    // The test env's aggregate is Int(7), not an event: both reads are none.
    assert_eq!(eval(&a.program, field, &mut env), Ok(Value::None));
    assert_eq!(eval(&a.program, ts, &mut env), Ok(Value::None));
    let stored = Value::Event(Arc::new(StoredEvent {
        kind: EventId(3),
        ts: 42,
        fields: vec![Value::Int(5)].into(),
    }));
    // Evaluate against an env whose aggregate returns the stored event.
    struct Stored(TestEnv, Value);
    impl Env for Stored {
        fn key(&self) -> Sym {
            self.0.key()
        }
        fn now(&self) -> i64 {
            self.0.now()
        }
        fn event(&self, b: Binding) -> Option<(EventId, i64, &[Value])> {
            self.0.event(b)
        }
        fn state(&self, id: StateId) -> Value {
            self.0.state(id)
        }
        fn profile(&self, id: ProfileFieldId) -> Value {
            self.0.profile(id)
        }
        fn aggregate(&self, _: AggId) -> Value {
            self.1.clone()
        }
        fn interner(&mut self) -> &mut Interner {
            self.0.interner()
        }
    }
    let mut env = Stored(TestEnv::new(), stored);
    assert_eq!(eval(&a.program, field, &mut env), Ok(Value::Int(5)));
    assert_eq!(eval(&a.program, ts, &mut env), Ok(Value::Time(42)));
}
