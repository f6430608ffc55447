//! The `Value` layout compiled code assumes, and inline reads of the bound events
//! against the interpreter on the cases the random expressions of
//! tests/jit_props.rs reach rarely or never (a prefix of the fields, several
//! event types, a start binding, a value of another kind than the type says).

use super::Jit;
use super::abi::{ScalarKind, scalar_bits, value_layout};
use crate::interp::{Engine, Env, Interner, Interp, Sym, Value};
use crate::ir::{AggId, Binding, EventId, Expr, ExprId, FieldIdx, ProfileFieldId, Program};
use crate::ir::{StateId, Ty};
use crate::source::Span;

/// The bytes of `value` as it lies in memory.
fn bytes(value: &Value) -> Vec<u8> {
    let start = std::ptr::from_ref(value).cast::<u8>();
    // `value` is a live, initialised `Value` of `size_of::<Value>()` bytes; a
    // `Value` of a scalar variant has no padding before or inside its payload's
    // bytes, the only ones read.
    // SAFETY: so reading them as `u8`s for the borrow's length is sound.
    unsafe { std::slice::from_raw_parts(start, size_of::<Value>()) }.to_vec()
}

#[test]
fn jit_value_layout_is_what_compiled_code_reads() {
    assert_eq!(size_of::<Value>() as i64, value_layout::SIZE);
    assert_eq!(
        size_of::<Value>(),
        16,
        "a bigger Value costs memory everywhere"
    );
    assert_eq!(size_of::<Option<Value>>(), 16);
    let tag = value_layout::TAG as usize;
    assert_eq!(bytes(&Value::None)[tag], value_layout::TAG_NONE);
    let cases = [
        (Value::Bool(true), ScalarKind::Bool),
        (Value::Int(0x0102_0304_0506_0708), ScalarKind::Int),
        (Value::Float(-1.5e300), ScalarKind::Float),
        (Value::Str(Sym(0xA1B2_C3D4)), ScalarKind::Str),
        (Value::Time(-0x1122_3344_5566_7788), ScalarKind::Time),
        (Value::Duration(i64::MIN + 3), ScalarKind::Duration),
    ];
    for (value, kind) in cases {
        let b = bytes(&value);
        assert_eq!(b[tag], value_layout::tag(kind), "{value:?}");
        let Some(bits) = scalar_bits(&value) else {
            panic!("{value:?} is a scalar");
        };
        let at = value_layout::payload(kind) as usize;
        let width = match kind {
            ScalarKind::Bool => 1,
            ScalarKind::Str => 4,
            _ => 8,
        };
        assert_eq!(
            b[at..at + width],
            bits.to_le_bytes()[..width],
            "{value:?}: payload at {at}"
        );
    }
}

/// Two bound events: `Current` of type 0 with a field of every kind, `Start` (when
/// bound) of type 2 stored as a one-field prefix.
struct Bound {
    interner: Interner,
    current: Vec<Value>,
    start: Option<Vec<Value>>,
}

impl Env for Bound {
    fn key(&self) -> Sym {
        Sym(0)
    }
    fn now(&self) -> i64 {
        0
    }
    fn event(&self, binding: Binding) -> Option<(EventId, i64, &[Value])> {
        match binding {
            Binding::Current => Some((EventId(0), 1_000, &self.current[..])),
            Binding::Start => self.start.as_ref().map(|f| (EventId(2), 500, f.as_slice())),
        }
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

fn push(program: &mut Program, expr: Expr, ty: Ty) -> ExprId {
    program.exprs.push(expr);
    program.expr_types.push(ty);
    program.expr_spans.push(Span::default());
    ExprId::from_index(program.exprs.len() - 1)
}

fn field(binding: Binding, choices: &[(u32, u32)]) -> Expr {
    Expr::Field {
        binding,
        choices: choices
            .iter()
            .map(|&(e, f)| (EventId(e), FieldIdx(f)))
            .collect(),
    }
}

fn optional(ty: Ty) -> Ty {
    Ty::Optional(Box::new(ty))
}

#[test]
fn jit_inline_event_reads_agree_with_the_interpreter() {
    let mut interner = Interner::default();
    // A symbol other than 0, which stray zero bytes would pass for.
    for s in ["a", "b", "c"] {
        interner.intern(s);
    }
    let hi = interner.intern("hi");
    let current = vec![
        Value::Int(-7),
        Value::Float(f64::NAN),
        Value::Bool(true),
        Value::Str(hi),
        Value::Time(i64::MIN),
        Value::Duration(60_000),
        Value::None,
        Value::Bool(false),
    ];
    let mut program = Program::default();
    let c = Binding::Current;
    let s = Binding::Start;
    let mut roots = vec![
        push(&mut program, field(c, &[(0, 0)]), Ty::Int),
        push(&mut program, field(c, &[(0, 1)]), Ty::Float),
        push(&mut program, field(c, &[(0, 2)]), Ty::Bool),
        push(&mut program, field(c, &[(0, 3)]), Ty::Str),
        push(&mut program, field(c, &[(0, 4)]), Ty::Time),
        push(&mut program, field(c, &[(0, 5)]), Ty::Duration),
        // An absent optional of each kind.
        push(&mut program, field(c, &[(0, 6)]), optional(Ty::Int)),
        push(&mut program, field(c, &[(0, 6)]), optional(Ty::Float)),
        push(&mut program, field(c, &[(0, 6)]), optional(Ty::Str)),
        push(&mut program, field(c, &[(0, 6)]), optional(Ty::Bool)),
        push(&mut program, field(c, &[(0, 7)]), Ty::Bool),
        // Several event types: the bound one's slot; none of them: none.
        push(&mut program, field(c, &[(1, 0), (0, 3), (0, 0)]), Ty::Str),
        push(&mut program, field(c, &[(1, 3), (3, 3)]), optional(Ty::Str)),
        // Past the end of the fields.
        push(&mut program, field(c, &[(0, 8)]), optional(Ty::Int)),
        push(&mut program, field(c, &[(0, u32::MAX)]), optional(Ty::Int)),
        // The start binding: a prefix of its fields.
        push(&mut program, field(s, &[(2, 0)]), Ty::Int),
        push(&mut program, field(s, &[(2, 1)]), optional(Ty::Int)),
        push(&mut program, field(s, &[(0, 0)]), optional(Ty::Int)),
    ];
    for (binding, of) in [
        (c, None),
        (c, Some(0)),
        (c, Some(2)),
        (s, None),
        (s, Some(2)),
    ] {
        let of = of.map(EventId);
        let e = Expr::EventTime { binding, of };
        roots.push(push(&mut program, e, optional(Ty::Time)));
    }
    let mut jit = Jit::default();
    if let Err(e) = jit.prepare(&program, &roots) {
        panic!("{e}");
    }
    for start in [Some(vec![Value::Int(11)]), None] {
        let mut env = Bound {
            interner: interner.clone(),
            current: current.clone(),
            start,
        };
        for &root in &roots {
            let want = Interp.eval(&program, root, &mut env);
            let got = jit.eval(&program, root, &mut env);
            let text = crate::ir::print::expr(&program, root);
            // NaN != NaN: compare floats by their bits.
            match (&want, &got) {
                (Ok(Value::Float(a)), Ok(Value::Float(b))) => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{text}");
                }
                _ => assert_eq!(want, got, "{text}, start bound: {}", env.start.is_some()),
            }
        }
    }
}

/// A slot holding another kind than the expression's type (which a well-typed
/// program never meets) is not read inline: the helper hands over its bits, as
/// before inline reads.
#[test]
fn jit_inline_reads_leave_other_kinds_to_the_helper() {
    let mut program = Program::default();
    let as_float = push(&mut program, field(Binding::Current, &[(0, 0)]), Ty::Float);
    let as_int = push(&mut program, field(Binding::Current, &[(0, 1)]), Ty::Int);
    let as_bool = push(&mut program, field(Binding::Current, &[(0, 2)]), Ty::Bool);
    let mut jit = Jit::default();
    if let Err(e) = jit.prepare(&program, &[as_float, as_int, as_bool]) {
        panic!("{e}");
    }
    let mut interner = Interner::default();
    let sym = interner.intern("x");
    let mut env = Bound {
        interner,
        current: vec![Value::Int(9), Value::Str(sym), Value::Int(7)],
        start: None,
    };
    let got = |root, env: &mut Bound| jit.eval(&program, root, env);
    assert_eq!(
        got(as_float, &mut env).map(|v| scalar_bits(&v)),
        Ok(Some(9))
    );
    assert_eq!(got(as_int, &mut env), Ok(Value::Int(i64::from(sym.0))));
    // The helper's bits of an `Int(7)` as a bool: non-zero, so `true`.
    assert_eq!(got(as_bool, &mut env), Ok(Value::Bool(true)));
}
