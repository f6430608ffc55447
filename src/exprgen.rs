//! Random well-typed IR expressions and evaluation environments, for checking the
//! JIT against the interpreter: `tests/jit_props.rs` drives it from a seed, the
//! fuzz target `jit_vs_interp` (fuzz/) from the fuzzer's bytes. Behind the cargo
//! feature `exprgen`, so the default build does not carry it.
//!
//! The generator covers every operator and built-in over every scalar type, sets,
//! lists and payload objects, biased towards the values where engines disagree if
//! anything is off: absent optionals, `i64::MIN`/`MAX`, `-1` and `0` divisors, NaN,
//! ±inf and -0.0, empty sets and strings, non-ASCII text. Every choice is drawn from
//! a [`Source`]: [`Rng`] (a seeded PRNG) or [`Bytes`] (fuzzer input, zeros once it
//! runs out, which always picks a leaf, so generation ends).

use std::sync::Arc;

use crate::interp::{Engine, Env, EvalError, Interner, Interp, Sym, Value};
use crate::ir::{
    AggId, BinaryOp, Binding, Builtin, Const, EventId, Expr, ExprId, FieldIdx, ProfileFieldId,
    Program, StateId, Ty, UnaryOp,
};
use crate::jit::Jit;
use crate::source::Span;

/// Where the generator's choices come from.
pub trait Source {
    /// 64 bits of choice.
    fn next(&mut self) -> u64;
    /// A choice in `0..n` (`n > 0`).
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

/// A 64-bit PCG-like generator: tests own their randomness so a seed replays.
pub struct Rng(pub u64);

impl Source for Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let x = self.0;
        (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd) ^ (x >> 29)
    }
}

/// Choices read from a byte string (a fuzzer's input): one byte for a small
/// choice, eight for a full one, zeros past the end.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
}

impl Source for Bytes<'_> {
    fn next(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| (acc << 8) | u64::from(self.byte()))
    }
    fn below(&mut self, n: usize) -> usize {
        if n <= 256 {
            usize::from(self.byte()) % n
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

pub const INTS: [i64; 9] = [
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
pub const FLOATS: [f64; 9] = [
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
pub const STRS: [&str; 8] = [
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
pub const FIELDS: [Ty; 6] = [
    Ty::Int,
    Ty::Float,
    Ty::Str,
    Ty::Time,
    Ty::Duration,
    Ty::Bool,
];

/// A program under construction: expressions are appended to `program`.
pub struct Gen<R> {
    pub rng: R,
    pub program: Program,
}

impl<R: Source> Gen<R> {
    pub fn new(rng: R) -> Self {
        Gen {
            rng,
            program: Program::default(),
        }
    }

    /// Appends `expr` of type `ty`.
    pub fn push(&mut self, expr: Expr, ty: Ty) -> ExprId {
        self.program.exprs.push(expr);
        self.program.expr_types.push(ty);
        self.program.expr_spans.push(Span::default());
        ExprId::from_index(self.program.exprs.len() - 1)
    }

    fn int(&mut self) -> i64 {
        int(&mut self.rng)
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

    pub fn bin(&mut self, op: BinaryOp, lhs: ExprId, rhs: ExprId, ty: Ty) -> ExprId {
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
    pub fn root(&mut self) -> ExprId {
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

fn int(rng: &mut impl Source) -> i64 {
    if rng.chance(70) {
        rng.pick(&INTS)
    } else {
        (rng.next() % 2001) as i64 - 1000
    }
}

/// An environment: one current event of type 0 with the six fields (some absent),
/// no start event, two string-set states, profile values, one count aggregate.
pub struct GenEnv {
    pub interner: Interner,
    pub fields: Vec<Value>,
    pub states: Vec<Value>,
    pub profile: Vec<Value>,
    pub agg: Value,
    pub key: Sym,
}

impl Env for GenEnv {
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

fn random_value(rng: &mut impl Source, ty: &Ty, interner: &mut Interner) -> Value {
    if rng.chance(20) {
        return Value::None;
    }
    // A sub-generator for integers, as the seeded tests have always drawn them.
    let mut sub = Rng(rng.next());
    match ty {
        Ty::Bool => Value::Bool(rng.chance(50)),
        Ty::Int => Value::Int(int(&mut sub)),
        Ty::Float => Value::Float(rng.pick(&FLOATS)),
        Ty::Str => Value::Str(interner.intern(rng.pick(&STRS))),
        Ty::Time => Value::Time(rng.pick(&[0, 7_200_000, i64::MAX, i64::MIN])),
        _ => Value::Duration(rng.pick(&[0, -1, 60_000, i64::MAX, i64::MIN])),
    }
}

/// A random environment for [`Gen`]'s expressions.
pub fn random_env(rng: &mut impl Source) -> GenEnv {
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
    GenEnv {
        interner,
        fields,
        states,
        profile,
        agg: Value::Int(rng.pick(&[0, 3, i64::MAX])),
        key,
    }
}

impl GenEnv {
    /// An equal environment with its own interner.
    pub fn copy(&self) -> GenEnv {
        GenEnv {
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
pub fn render(value: &Value, interner: &Interner) -> String {
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

/// A result, rendered for comparison across interners.
pub fn outcome(result: &Result<Value, EvalError>, interner: &Interner) -> String {
    match result {
        Ok(v) => render(v, interner),
        Err(e) => format!("error {:?} at {}", e.kind, e.expr.index()),
    }
}

/// Evaluates `root` under both engines in equal copies of `env`, twice in a row (the
/// second time through the JIT's constant cache), and returns the interpreter's
/// rendered outcome, or what differed. `jit` must have prepared `program`.
pub fn compare(program: &Program, root: ExprId, jit: &Jit, env: &GenEnv) -> Result<String, String> {
    let mut interp_env = env.copy();
    let mut jit_env = env.copy();
    let mut last = String::new();
    for round in 0..2 {
        let want = Interp.eval(program, root, &mut interp_env);
        let got = jit.eval(program, root, &mut jit_env);
        let (want, got) = (
            outcome(&want, &interp_env.interner),
            outcome(&got, &jit_env.interner),
        );
        if want != got {
            return Err(format!(
                "round {round}: interp {want}, jit {got}, for {}",
                crate::ir::print::expr(program, root)
            ));
        }
        last = want;
    }
    // The same strings interned, in the same order.
    if interp_env.interner.len() != jit_env.interner.len() {
        return Err(format!(
            "interned {} strings under the interpreter, {} under the JIT, for {}",
            interp_env.interner.len(),
            jit_env.interner.len(),
            crate::ir::print::expr(program, root)
        ));
    }
    Ok(last)
}
