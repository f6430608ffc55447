//! JIT == interpreter on random well-typed expressions over random environments.
//!
//! A seed drives a small generator of typed IR (every operator and built-in, over
//! every scalar type, sets, lists and payload objects), biased towards the values
//! where engines disagree if anything is off: absent optionals, `i64::MIN`/`MAX`,
//! `-1` and `0` divisors, NaN, ±inf and -0.0, empty sets and strings, non-ASCII
//! text. Each expression is compiled by the JIT and evaluated by both engines in
//! two identical environments; the results (values with strings resolved, or the
//! error with its expression) must be equal, twice in a row (the second time
//! through the JIT's constant cache). Counts of the edge paths taken are checked
//! at the end so the generator cannot quietly stop reaching them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use trigc::interp::{Engine, Env, EvalError, EvalErrorKind, Interner, Interp, Sym, Value};
use trigc::ir::{
    AggId, BinaryOp, Binding, Builtin, Const, EventId, Expr, ExprId, FieldIdx, ProfileFieldId,
    Program, StateId, Ty, UnaryOp,
};
use trigc::jit::Jit;
use trigc::source::Span;

/// A 64-bit PCG-like generator: the tests own their randomness so a seed replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let x = self.0;
        (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd) ^ (x >> 29)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const INTS: [i64; 9] = [
    0,
    1,
    -1,
    2,
    7,
    1000,
    i64::MAX,
    i64::MIN,
    -4611686018427387904,
];
const FLOATS: [f64; 9] = [
    0.0,
    -0.0,
    1.5,
    -2.25,
    1e300,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1000.5,
];
const STRS: [&str; 8] = [
    "",
    "DE",
    "AT",
    "GIFT-7",
    "Ünïcödé",
    "日本語",
    "straße",
    "de",
];
/// Field types of the one event type, by field index.
const FIELDS: [Ty; 6] = [
    Ty::Int,
    Ty::Float,
    Ty::Str,
    Ty::Time,
    Ty::Duration,
    Ty::Bool,
];

struct Gen {
    rng: Rng,
    program: Program,
}

impl Gen {
    fn push(&mut self, expr: Expr, ty: Ty) -> ExprId {
        self.program.exprs.push(expr);
        self.program.expr_types.push(ty);
        self.program.expr_spans.push(Span::default());
        ExprId::from_index(self.program.exprs.len() - 1)
    }

    fn int(&mut self) -> i64 {
        if self.rng.chance(70) {
            self.rng.pick(&INTS)
        } else {
            (self.rng.next() % 2001) as i64 - 1000
        }
    }

    fn constant(&mut self, ty: &Ty) -> ExprId {
        let c = match ty {
            Ty::Bool => Const::Bool(self.rng.chance(50)),
            Ty::Int => Const::Int(self.int()),
            Ty::Float => Const::Float(self.rng.pick(&FLOATS)),
            Ty::Str => Const::Str(self.rng.pick(&STRS).to_string()),
            Ty::Time => Const::Time(self.rng.pick(&[0, 1_000, 86_400_000, i64::MAX, i64::MIN])),
            _ => Const::Duration(self.rng.pick(&[0, 1, -1, 60_000, i64::MAX, i64::MIN, 3])),
        };
        self.push(Expr::Const(c), ty.clone())
    }

    /// A leaf of type `ty` reading the environment, or a constant.
    fn leaf(&mut self, ty: &Ty) -> ExprId {
        let field = FIELDS.iter().position(|f| f == ty);
        match self.rng.below(6) {
            0 | 1 if field.is_some() => {
                let f = field.unwrap_or(0);
                // Sometimes a choice of an event type the env does not bind: none.
                let event = if self.rng.chance(10) { 1 } else { 0 };
                let binding = if self.rng.chance(80) {
                    Binding::Current
                } else {
                    Binding::Start
                };
                self.push(
                    Expr::Field {
                        binding,
                        choices: vec![(EventId(event), FieldIdx(f as u32))],
                    },
                    ty.clone(),
                )
            }
            2 if field.is_some() => {
                let f = field.unwrap_or(0);
                self.push(
                    Expr::Profile(ProfileFieldId(f as u32)),
                    ty.clone().optional(),
                )
            }
            3 if *ty == Ty::Time => self.push(Expr::Now, Ty::Time),
            3 if *ty == Ty::Str => self.push(Expr::Key, Ty::Str),
            3 if *ty == Ty::Int => self.push(Expr::Agg(AggId(0)), Ty::Int),
            4 if *ty == Ty::Time => self.push(
                Expr::EventTime {
                    binding: Binding::Current,
                    of: None,
                },
                Ty::Time,
            ),
            _ => self.constant(ty),
        }
    }

    fn set(&mut self) -> ExprId {
        let id = self.rng.below(2) as u32;
        self.push(Expr::State(StateId(id)), Ty::Set(Box::new(Ty::Str)))
    }

    fn list(&mut self, elem: &Ty, depth: u32) -> ExprId {
        let n = self.rng.below(4);
        let items = (0..n).map(|_| self.expr(elem, depth + 1)).collect();
        self.push(Expr::List(items), Ty::List(Box::new(elem.clone())))
    }

    fn bin(&mut self, op: BinaryOp, lhs: ExprId, rhs: ExprId, ty: Ty) -> ExprId {
        self.push(Expr::Binary { op, lhs, rhs }, ty)
    }

    fn call(&mut self, func: Builtin, args: Vec<ExprId>, ty: Ty) -> ExprId {
        self.push(Expr::Call { func, args }, ty)
    }

    /// An expression of scalar type `ty`.
    fn expr(&mut self, ty: &Ty, depth: u32) -> ExprId {
        if depth > 4 || self.rng.chance(25) {
            return self.leaf(ty);
        }
        let d = depth + 1;
        if self.rng.chance(8) {
            let a = self.expr(ty, d);
            let b = self.expr(ty, d);
            return self.bin(BinaryOp::Coalesce, a, b, ty.clone());
        }
        match ty {
            Ty::Bool => self.boolean(d),
            Ty::Int => match self.rng.below(7) {
                0..=2 => {
                    let op = self.rng.pick(&[
                        BinaryOp::Add,
                        BinaryOp::Sub,
                        BinaryOp::Mul,
                        BinaryOp::Div,
                        BinaryOp::Rem,
                    ]);
                    let (a, b) = (self.expr(ty, d), self.expr(ty, d));
                    self.bin(op, a, b, Ty::Int)
                }
                3 => {
                    let a = self.expr(ty, d);
                    self.push(
                        Expr::Unary {
                            op: UnaryOp::Neg,
                            operand: a,
                        },
                        Ty::Int,
                    )
                }
                4 => {
                    let a = self.expr(ty, d);
                    self.call(Builtin::Abs, vec![a], Ty::Int)
                }
                5 => {
                    let a = if self.rng.chance(50) {
                        self.expr(&Ty::Str, d)
                    } else if self.rng.chance(50) {
                        self.set()
                    } else {
                        self.list(&Ty::Int, d)
                    };
                    self.call(Builtin::Len, vec![a], Ty::Int)
                }
                _ => {
                    let (a, b) = (self.expr(&Ty::Duration, d), self.expr(&Ty::Duration, d));
                    self.bin(BinaryOp::Div, a, b, Ty::Int)
                }
            },
            Ty::Float => match self.rng.below(5) {
                0 | 1 => {
                    let op = self.rng.pick(&[
                        BinaryOp::Add,
                        BinaryOp::Sub,
                        BinaryOp::Mul,
                        BinaryOp::Div,
                        BinaryOp::Rem,
                    ]);
                    let (a, b) = (self.expr(ty, d), self.expr(ty, d));
                    self.bin(op, a, b, Ty::Float)
                }
                2 => {
                    let a = self.expr(&Ty::Int, d);
                    self.push(Expr::ToFloat(a), Ty::Float)
                }
                3 => {
                    let a = self.expr(ty, d);
                    let op = if self.rng.chance(50) {
                        return self.call(Builtin::Abs, vec![a], Ty::Float);
                    } else {
                        UnaryOp::Neg
                    };
                    self.push(Expr::Unary { op, operand: a }, Ty::Float)
                }
                _ => {
                    let (a, b) = (self.expr(&Ty::Duration, d), self.expr(&Ty::Duration, d));
                    self.bin(BinaryOp::Div, a, b, Ty::Float)
                }
            },
            Ty::Str => match self.rng.below(3) {
                0 => {
                    let (a, b) = (self.expr(ty, d), self.expr(ty, d));
                    self.bin(BinaryOp::Add, a, b, Ty::Str)
                }
                _ => {
                    let a = self.expr(ty, d);
                    let f = self.rng.pick(&[Builtin::Lower, Builtin::Upper]);
                    self.call(f, vec![a], Ty::Str)
                }
            },
            Ty::Time => {
                let (a, b) = (self.expr(&Ty::Time, d), self.expr(&Ty::Duration, d));
                let op = self.rng.pick(&[BinaryOp::Add, BinaryOp::Sub]);
                if op == BinaryOp::Add && self.rng.chance(30) {
                    return self.bin(op, b, a, Ty::Time);
                }
                self.bin(op, a, b, Ty::Time)
            }
            _ => self.duration(d),
        }
    }

    fn duration(&mut self, d: u32) -> ExprId {
        let dur = Ty::Duration;
        match self.rng.below(6) {
            0 => {
                let (a, b) = (self.expr(&Ty::Time, d), self.expr(&Ty::Time, d));
                self.bin(BinaryOp::Sub, a, b, dur)
            }
            1 => {
                let (a, b) = (self.expr(&dur, d), self.expr(&Ty::Int, d));
                let op = self.rng.pick(&[BinaryOp::Mul, BinaryOp::Div]);
                self.bin(op, a, b, dur)
            }
            2 => {
                let (a, b) = (self.expr(&dur, d), self.expr(&Ty::Float, d));
                let op = self.rng.pick(&[BinaryOp::Mul, BinaryOp::Div]);
                if op == BinaryOp::Mul && self.rng.chance(30) {
                    return self.bin(op, b, a, dur);
                }
                self.bin(op, a, b, dur)
            }
            3 => {
                let (a, b) = (self.expr(&dur, d), self.expr(&dur, d));
                let op = self
                    .rng
                    .pick(&[BinaryOp::Add, BinaryOp::Sub, BinaryOp::Rem]);
                self.bin(op, a, b, dur)
            }
            4 => {
                let a = self.expr(&dur, d);
                self.call(Builtin::Abs, vec![a], dur)
            }
            _ => {
                let a = self.expr(&dur, d);
                self.push(
                    Expr::Unary {
                        op: UnaryOp::Neg,
                        operand: a,
                    },
                    dur,
                )
            }
        }
    }

    fn boolean(&mut self, d: u32) -> ExprId {
        let scalar = [
            Ty::Int,
            Ty::Float,
            Ty::Str,
            Ty::Time,
            Ty::Duration,
            Ty::Bool,
        ];
        match self.rng.below(9) {
            0 => {
                let a = self.expr(&Ty::Bool, d);
                self.push(
                    Expr::Unary {
                        op: UnaryOp::Not,
                        operand: a,
                    },
                    Ty::Bool,
                )
            }
            1 | 2 => {
                let (a, b) = (self.expr(&Ty::Bool, d), self.expr(&Ty::Bool, d));
                let op = self.rng.pick(&[BinaryOp::And, BinaryOp::Or]);
                self.bin(op, a, b, Ty::Bool)
            }
            3 | 4 => {
                let t = self.rng.pick(&scalar);
                let (a, b) = (self.expr(&t, d), self.expr(&t, d));
                let op = self.rng.pick(&[
                    BinaryOp::Eq,
                    BinaryOp::Ne,
                    BinaryOp::Lt,
                    BinaryOp::Le,
                    BinaryOp::Gt,
                    BinaryOp::Ge,
                ]);
                self.bin(op, a, b, Ty::Bool)
            }
            5 => {
                let t = self.rng.pick(&scalar);
                let a = self.expr(&t, d);
                let b = self.list(&t, d);
                self.bin(BinaryOp::In, a, b, Ty::Bool)
            }
            6 => {
                let a = self.expr(&Ty::Str, d);
                let b = if self.rng.chance(50) {
                    self.set()
                } else {
                    self.expr(&Ty::Str, d)
                };
                self.bin(BinaryOp::In, a, b, Ty::Bool)
            }
            7 => {
                let f = self
                    .rng
                    .pick(&[Builtin::StartsWith, Builtin::EndsWith, Builtin::Contains]);
                let a = if f == Builtin::Contains && self.rng.chance(40) {
                    self.set()
                } else {
                    self.expr(&Ty::Str, d)
                };
                let b = self.expr(&Ty::Str, d);
                self.call(f, vec![a, b], Ty::Bool)
            }
            _ => {
                let a = if self.rng.chance(50) {
                    self.set()
                } else {
                    self.expr(&Ty::Str, d)
                };
                self.call(Builtin::Empty, vec![a], Ty::Bool)
            }
        }
    }

    /// A root: a scalar of a random type, a list, or a payload object.
    fn root(&mut self) -> ExprId {
        let scalar = [
            Ty::Bool,
            Ty::Bool,
            Ty::Int,
            Ty::Float,
            Ty::Str,
            Ty::Time,
            Ty::Duration,
        ];
        match self.rng.below(10) {
            0 => {
                let t = self.rng.pick(&scalar);
                self.list(&t, 1)
            }
            1 => {
                let n = 1 + self.rng.below(3);
                let members = (0..n)
                    .map(|i| {
                        let t = self.rng.pick(&scalar);
                        let v = if self.rng.chance(20) {
                            self.set()
                        } else {
                            self.expr(&t, 1)
                        };
                        (format!("k{i}"), v)
                    })
                    .collect();
                self.push(Expr::Object(members), Ty::Object)
            }
            _ => {
                let t = self.rng.pick(&scalar);
                self.expr(&t, 0)
            }
        }
    }
}

/// An environment: one current event of type 0 with the six fields (some absent),
/// no start event, two string-set states, profile values, one count aggregate.
struct TestEnv {
    interner: Interner,
    fields: Vec<Value>,
    states: Vec<Value>,
    profile: Vec<Value>,
    agg: Value,
    key: Sym,
}

impl Env for TestEnv {
    fn key(&self) -> Sym {
        self.key
    }
    fn now(&self) -> i64 {
        86_400_000
    }
    fn event(&self, binding: Binding) -> Option<(EventId, i64, &[Value])> {
        (binding == Binding::Current).then_some((EventId(0), 3_600_000, &self.fields[..]))
    }
    fn state(&self, id: StateId) -> Value {
        self.states.get(id.index()).cloned().unwrap_or_default()
    }
    fn profile(&self, id: ProfileFieldId) -> Value {
        self.profile.get(id.index()).cloned().unwrap_or_default()
    }
    fn aggregate(&self, _: AggId) -> Value {
        self.agg.clone()
    }
    fn interner(&mut self) -> &mut Interner {
        &mut self.interner
    }
}

fn random_value(rng: &mut Rng, ty: &Ty, interner: &mut Interner) -> Value {
    if rng.chance(20) {
        return Value::None;
    }
    let mut g = Gen {
        rng: Rng(rng.next()),
        program: Program::default(),
    };
    match ty {
        Ty::Bool => Value::Bool(rng.chance(50)),
        Ty::Int => Value::Int(g.int()),
        Ty::Float => Value::Float(rng.pick(&FLOATS)),
        Ty::Str => Value::Str(interner.intern(rng.pick(&STRS))),
        Ty::Time => Value::Time(rng.pick(&[0, 7_200_000, i64::MAX, i64::MIN])),
        _ => Value::Duration(rng.pick(&[0, -1, 60_000, i64::MAX, i64::MIN])),
    }
}

fn random_env(rng: &mut Rng) -> TestEnv {
    let mut interner = Interner::default();
    let fields = FIELDS
        .iter()
        .map(|t| random_value(rng, t, &mut interner))
        .collect();
    let profile = FIELDS
        .iter()
        .map(|t| random_value(rng, t, &mut interner))
        .collect();
    let states = (0..2)
        .map(|_| {
            let n = rng.below(4);
            let mut members: Vec<Value> = Vec::new();
            for _ in 0..n {
                let s = Value::Str(interner.intern(rng.pick(&STRS)));
                if !members.contains(&s) {
                    members.push(s);
                }
            }
            Value::Set(Arc::new(members))
        })
        .collect();
    let key = interner.intern(rng.pick(&["u1", "ü-7", ""]));
    TestEnv {
        interner,
        fields,
        states,
        profile,
        agg: Value::Int(rng.pick(&[0, 3, i64::MAX])),
        key,
    }
}

impl TestEnv {
    fn copy(&self) -> TestEnv {
        TestEnv {
            interner: self.interner.clone(),
            fields: self.fields.clone(),
            states: self.states.clone(),
            profile: self.profile.clone(),
            agg: self.agg.clone(),
            key: self.key,
        }
    }
}

/// A value with its strings resolved and floats by their bits, for comparing
/// across two interners.
fn render(value: &Value, interner: &Interner) -> String {
    match value {
        Value::Str(s) => format!("{:?}", interner.resolve(*s)),
        Value::Float(f) => format!("Float({f:?}/{:x})", f.to_bits()),
        Value::Set(items) | Value::List(items) => {
            let inner: Vec<_> = items.iter().map(|v| render(v, interner)).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(members) => {
            let inner: Vec<_> = members
                .iter()
                .map(|(k, v)| format!("{}: {}", interner.resolve(*k), render(v, interner)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => format!("{other:?}"),
    }
}

fn outcome(result: &Result<Value, EvalError>, interner: &Interner) -> String {
    match result {
        Ok(v) => render(v, interner),
        Err(e) => format!("error {:?} at {}", e.kind, e.expr.index()),
    }
}

static ERRORS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static NONES: AtomicUsize = AtomicUsize::new(0);
static CASES: AtomicUsize = AtomicUsize::new(0);

fn check_seed(seed: u64) -> Result<(), TestCaseError> {
    let mut g = Gen {
        rng: Rng(seed),
        program: Program::default(),
    };
    let root = g.root();
    let program = g.program;
    let mut jit = Jit::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
    jit.prepare(&program).map_err(|e| {
        TestCaseError::fail(format!("{e}\n{}", trigc::ir::print::expr(&program, root)))
    })?;
    let mut rng = Rng(seed ^ 0x9e37_79b9);
    for _ in 0..3 {
        let mut interp_env = random_env(&mut rng);
        let mut jit_env = interp_env.copy();
        for round in 0..2 {
            let want = Interp.eval(&program, root, &mut interp_env);
            let got = jit.eval(&program, root, &mut jit_env);
            let (want, got) = (
                outcome(&want, &interp_env.interner),
                outcome(&got, &jit_env.interner),
            );
            prop_assert_eq!(
                &want,
                &got,
                "round {} of {}",
                round,
                trigc::ir::print::expr(&program, root)
            );
            match interp_env_result_kind(&want) {
                Some(EvalErrorKind::DivisionByZero) => ERRORS[0].fetch_add(1, Ordering::Relaxed),
                Some(EvalErrorKind::IntegerOverflow) => ERRORS[1].fetch_add(1, Ordering::Relaxed),
                None if want == "None" => NONES.fetch_add(1, Ordering::Relaxed),
                None => 0,
            };
        }
        // The same strings interned, in the same order.
        prop_assert_eq!(interp_env.interner.len(), jit_env.interner.len());
    }
    CASES.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn interp_env_result_kind(outcome: &str) -> Option<EvalErrorKind> {
    if outcome.starts_with("error DivisionByZero") {
        Some(EvalErrorKind::DivisionByZero)
    } else if outcome.starts_with("error IntegerOverflow") {
        Some(EvalErrorKind::IntegerOverflow)
    } else {
        None
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn jit_agrees_with_the_interpreter(seed in any::<u64>()) {
        check_seed(seed)?;
    }
}

/// The edge paths the generator must keep reaching (run after the property).
#[test]
fn generated_cases_reach_errors_and_absent_values() {
    for seed in 0..400u64 {
        if let Err(e) = check_seed(seed.wrapping_mul(0x2545_f491_4f6c_dd1d)) {
            panic!("seed {seed}: {e}");
        }
    }
    eprintln!(
        "{} cases: {} divisions by zero, {} overflows, {} absent results",
        CASES.load(Ordering::Relaxed),
        ERRORS[0].load(Ordering::Relaxed),
        ERRORS[1].load(Ordering::Relaxed),
        NONES.load(Ordering::Relaxed)
    );
    assert!(ERRORS[0].load(Ordering::Relaxed) > 0, "no division by zero");
    assert!(ERRORS[1].load(Ordering::Relaxed) > 0, "no integer overflow");
    assert!(NONES.load(Ordering::Relaxed) > 0, "no absent result");
}

/// A string constant cached under one interner generation is interned again
/// after a sweep frees it: the JIT's symbol must follow.
#[test]
fn string_constants_survive_an_interner_sweep() {
    let mut g = Gen {
        rng: Rng(1),
        program: Program::default(),
    };
    let de = g.push(Expr::Const(Const::Str("DE".into())), Ty::Str);
    let key = g.push(Expr::Key, Ty::Str);
    let eq = g.bin(BinaryOp::Eq, de, key, Ty::Bool);
    let program = g.program;
    let mut jit = Jit::new().expect("a JIT on the test host");
    jit.prepare(&program).expect("compiles");
    let mut env = random_env(&mut Rng(3));
    env.key = env.interner.intern("DE");
    assert_eq!(jit.eval(&program, eq, &mut env), Ok(Value::Bool(true)));
    // Free everything, then make "DE" come back under a different symbol.
    env.interner.sweep(&trigc::interp::SymMarks::default());
    env.interner.intern("filler");
    env.key = env.interner.intern("DE");
    assert_eq!(jit.eval(&program, eq, &mut env), Ok(Value::Bool(true)));
    assert_eq!(Interp.eval(&program, eq, &mut env), Ok(Value::Bool(true)));
}
