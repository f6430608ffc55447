//! The runtime ABI: what compiled code and Rust share. One [`Ctx`] per evaluation
//! (a `#[repr(C)]` block whose first fields compiled code reads at fixed offsets),
//! the status word every compiled function returns, and the `extern "C"` helpers
//! compiled code calls for what only the runtime knows (event fields, state,
//! aggregates, the string table) or what is not worth emitting inline (string
//! functions, set membership, collection building).
//!
//! Every helper is total: no indexing that can panic, no `unwrap`, errors come back
//! as values. A panic would reach an `extern "C"` boundary, which aborts the process
//! (and the release build aborts on panic anyway): a helper must not have one.
//!
//! Conventions: a scalar is a `present` flag and 64 bits (`i64`, `f64` bits, a
//! [`Sym`] or 0/1); helpers return the flag (or a tri-state: 0 false, 1 true,
//! [`ABSENT`] none) and leave the bits in [`Ctx::bits`]. Collections, objects and
//! stored events live in numbered temporaries ([`Ctx::temps`]) that only helpers
//! touch.

use std::cell::Cell;
use std::mem::offset_of;
use std::sync::Arc;

use crate::interp::eval::{
    change_case, concat, contains, event_time, field_value, len_i64, scale_duration,
};
use crate::interp::{Env, EvalError, EvalErrorKind, Sym, Value, compare, equal};
use crate::ir::{BinaryOp, Binding, EventId, Expr, ExprId, Program};

pub use crate::ir::ScalarKind;

/// How compiled code and helpers pass a scalar kind and its bits.
impl ScalarKind {
    /// The code helpers take for this kind.
    pub fn code(self) -> u32 {
        self as u32
    }

    fn from_code(code: u32) -> ScalarKind {
        match code {
            0 => ScalarKind::Bool,
            1 => ScalarKind::Int,
            2 => ScalarKind::Float,
            3 => ScalarKind::Str,
            4 => ScalarKind::Time,
            _ => ScalarKind::Duration,
        }
    }

    /// The value these bits are, as the interpreter would hold it.
    pub fn value(self, bits: i64) -> Value {
        match self {
            ScalarKind::Bool => Value::Bool(bits != 0),
            ScalarKind::Int => Value::Int(bits),
            ScalarKind::Float => Value::Float(f64::from_bits(bits as u64)),
            ScalarKind::Str => Value::Str(Sym(bits as u32)),
            ScalarKind::Time => Value::Time(bits),
            ScalarKind::Duration => Value::Duration(bits),
        }
    }
}

/// The bits of a scalar value; `None` for `none` (and for anything that is not a
/// scalar, which a well-typed program never hands a scalar read).
pub fn scalar_bits(value: &Value) -> Option<i64> {
    Some(match value {
        Value::Bool(b) => i64::from(*b),
        Value::Int(i) | Value::Time(i) | Value::Duration(i) => *i,
        Value::Float(f) => f.to_bits() as i64,
        Value::Str(s) => i64::from(s.0),
        _ => return None,
    })
}

/// The tri-state of a boolean helper result meaning `none`.
pub const ABSENT: u8 = 2;

fn tri(value: &Value) -> u8 {
    match value {
        Value::Bool(false) => 0,
        Value::Bool(true) => 1,
        _ => ABSENT,
    }
}

/// One interned string constant of the program, cached per interner generation:
/// compiled code uses `sym` while `generation` is the interner's, else calls
/// [`trigc_rt_intern_const`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ConstSym {
    pub generation: u64,
    pub sym: u64,
}

/// Offsets compiled code loads at.
pub const CONST_SYM_GENERATION: i32 = offset_of!(ConstSym, generation) as i32;
pub const CONST_SYM_SYM: i32 = offset_of!(ConstSym, sym) as i32;
pub const CONST_SYM_SIZE: i64 = size_of::<ConstSym>() as i64;
pub const CTX_GENERATION: i32 = offset_of!(Ctx<'static>, generation) as i32;
pub const CTX_CONST_SYMS: i32 = offset_of!(Ctx<'static>, const_syms) as i32;
pub const CTX_BITS: i32 = offset_of!(Ctx<'static>, bits) as i32;
pub const CTX_PRESENT: i32 = offset_of!(Ctx<'static>, present) as i32;
pub const CTX_EVENTS: i32 = offset_of!(Ctx<'static>, events) as i32;
pub const BOUND_FIELDS: i32 = offset_of!(BoundEvent, fields) as i32;
pub const BOUND_LEN: i32 = offset_of!(BoundEvent, len) as i32;
pub const BOUND_KIND: i32 = offset_of!(BoundEvent, kind) as i32;
pub const BOUND_TS: i32 = offset_of!(BoundEvent, ts) as i32;
pub const BOUND_SIZE: i32 = size_of::<BoundEvent>() as i32;

/// One evaluation's context. Compiled code reads and writes the first five fields
/// at the offsets above; the rest is for helpers only.
#[repr(C)]
pub struct Ctx<'a> {
    /// The interner's generation at the start of the evaluation.
    pub generation: u64,
    /// The engine's string-constant cache, indexed by text number.
    pub const_syms: *const Cell<ConstSym>,
    /// A scalar result: bits from helpers, and a root's result.
    pub bits: i64,
    /// A root's result flag (0 absent, 1 present).
    pub present: u64,
    /// The events bound to each [`Binding`] (by [`binding_slot`]), for compiled
    /// code to read fields from without a helper call: filled only for the
    /// bindings the entry reads inline ([`BoundEvent::NONE`] otherwise).
    pub events: [BoundEvent; 2],
    pub host: Host<'a>,
}

/// The slot of `binding` in [`Ctx::events`].
pub fn binding_slot(binding: Binding) -> usize {
    match binding {
        Binding::Current => 0,
        Binding::Start => 1,
    }
}

/// [`BoundEvent::kind`] when no event is bound (no `EventId`, a `u32`, is this).
pub const NO_EVENT: u64 = u64::MAX;

/// An event bound for one evaluation, as compiled code reads it: what
/// `Env::event` returned, taken apart. The field slice is borrowed from the
/// environment for the evaluation: `Env::event` hands out a shared borrow of
/// memory that no `Env` method changes while an evaluation runs (the runtime's
/// events are immutable once decoded; helpers only intern strings).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BoundEvent {
    /// Its fields by `FieldIdx` (possibly only a prefix); dangling when `len` is 0.
    pub fields: *const Value,
    pub len: u64,
    /// Its type (an `EventId`), or [`NO_EVENT`].
    pub kind: u64,
    pub ts: i64,
}

impl BoundEvent {
    /// Nothing bound: every field read is out of range, every type test fails.
    pub const NONE: BoundEvent = BoundEvent {
        fields: std::ptr::NonNull::dangling().as_ptr(),
        len: 0,
        kind: NO_EVENT,
        ts: 0,
    };

    pub fn of(bound: Option<(EventId, i64, &[Value])>) -> BoundEvent {
        match bound {
            Some((kind, ts, fields)) => BoundEvent {
                fields: fields.as_ptr(),
                len: fields.len() as u64,
                kind: u64::from(kind.0),
                ts,
            },
            None => BoundEvent::NONE,
        }
    }
}

/// Where compiled code finds a scalar inside a [`Value`]. `Value` is `repr(u8)`:
/// a `u8` tag holding the variant's discriminant (declaration order, from 0)
/// first, then the variant's payload at its own alignment (the layout of a
/// `repr(C)` struct `(u8, payload)`). The test `value_layout_is_what_compiled_code_reads`
/// checks every constant here against real values, so a change to `Value` fails a
/// test rather than have compiled code misread memory.
pub mod value_layout {
    use super::ScalarKind;
    use crate::interp::{Sym, Value};

    pub const SIZE: i64 = size_of::<Value>() as i64;
    pub const TAG: i32 = 0;
    pub const TAG_NONE: u8 = 0;

    /// The tag of a value holding a scalar of `kind`.
    pub fn tag(kind: ScalarKind) -> u8 {
        match kind {
            ScalarKind::Bool => 1,
            ScalarKind::Int => 2,
            ScalarKind::Float => 3,
            ScalarKind::Str => 4,
            ScalarKind::Time => 5,
            ScalarKind::Duration => 6,
        }
    }

    /// The offset of a `kind` payload: right after the 1-byte tag, rounded up to
    /// the payload's alignment (which is at least 1, so the alignment itself).
    pub fn payload(kind: ScalarKind) -> i32 {
        (match kind {
            ScalarKind::Bool => align_of::<bool>(),
            ScalarKind::Str => align_of::<Sym>(),
            ScalarKind::Float => align_of::<f64>(),
            ScalarKind::Int | ScalarKind::Time | ScalarKind::Duration => align_of::<i64>(),
        }) as i32
    }
}

/// What helpers reach through a [`Ctx`].
pub struct Host<'a> {
    pub program: &'a Program,
    pub env: &'a mut dyn Env,
    /// The program's string constants and object member names, by text number.
    pub texts: &'a [Box<str>],
    pub const_syms: &'a [Cell<ConstSym>],
    /// Boxed values of this evaluation, by temporary number.
    pub temps: &'a mut [Value],
}

// ------------------------------------------------------------ status word

/// What a compiled function returns: 0 for success, else the error's kind in the
/// high half and its expression in the low half.
pub type Status = u64;
pub const OK: Status = 0;

pub fn error_status(kind: EvalErrorKind, expr: ExprId) -> Status {
    let code: u64 = match kind {
        EvalErrorKind::DivisionByZero => 1,
        EvalErrorKind::IntegerOverflow => 2,
    };
    code << 32 | u64::from(u32::try_from(expr.index()).unwrap_or(u32::MAX))
}

/// The error a non-zero status stands for.
pub fn status_error(status: Status) -> EvalError {
    let kind = if status >> 32 == 1 {
        EvalErrorKind::DivisionByZero
    } else {
        EvalErrorKind::IntegerOverflow
    };
    EvalError {
        expr: ExprId::from_index((status & 0xFFFF_FFFF) as usize),
        kind,
    }
}

// ------------------------------------------------------------ helpers

/// The context behind `ctx`.
fn host<'c, 'a>(ctx: *mut Ctx<'a>) -> &'c mut Ctx<'a> {
    // SAFETY: compiled code is only ever entered by `Jit::eval` with a pointer to a
    // live `Ctx` it exclusively borrows for the call, and passes that same pointer to
    // every helper; no other reference to the `Ctx` is used while a helper runs.
    unsafe { &mut *ctx }
}

impl Host<'_> {
    fn temp(&self, slot: u32) -> &Value {
        self.temps.get(slot as usize).unwrap_or(&Value::None)
    }

    fn set_temp(&mut self, slot: u32, value: Value) {
        if let Some(t) = self.temps.get_mut(slot as usize) {
            *t = value;
        }
    }

    fn expr(&self, expr: u32) -> Option<&Expr> {
        self.program.exprs.get(expr as usize)
    }

    /// A leaf read (the IR forms that read the environment) as the interpreter
    /// evaluates it.
    fn read(&mut self, expr: u32) -> Value {
        let Some(e) = self.program.exprs.get(expr as usize) else {
            return Value::None;
        };
        match e {
            Expr::Field { binding, choices } => field_value(&*self.env, *binding, choices),
            Expr::EventTime { binding, of } => event_time(&*self.env, *binding, *of),
            Expr::Key => Value::Str(self.env.key()),
            Expr::Now => Value::Time(self.env.now()),
            Expr::State(id) => self.env.state(*id),
            Expr::Profile(id) => self.env.profile(*id),
            Expr::Agg(id) => self.env.aggregate(*id),
            Expr::StoredEventTime { base } => match self.program.exprs.get(base.index()) {
                Some(Expr::Agg(a)) => self.env.aggregate_time(*a).map_or(Value::None, Value::Time),
                _ => Value::None,
            },
            _ => Value::None,
        }
    }

    /// `EventField`/`StoredEventTime` of the stored event in temporary `base`.
    fn event_part(&self, expr: u32, base: u32) -> Value {
        let (Some(e), Value::Event(stored)) = (self.expr(expr), self.temp(base)) else {
            return Value::None;
        };
        match e {
            Expr::EventField { event, field, .. } if stored.kind == *event => stored
                .fields
                .get(field.index())
                .cloned()
                .unwrap_or(Value::None),
            Expr::StoredEventTime { .. } => Value::Time(stored.ts),
            _ => Value::None,
        }
    }
}

/// Hand a scalar value to compiled code: bits in `ctx.bits`, the flag returned.
fn give_scalar(ctx: &mut Ctx<'_>, value: &Value) -> u8 {
    match scalar_bits(value) {
        Some(bits) => {
            ctx.bits = bits;
            1
        }
        None => 0,
    }
}

/// A scalar leaf read (`Field`, `EventTime`, `Key`, `Now`, `State`, `Profile`,
/// `Agg`, `last(E).ts`) of expression `expr`.
pub extern "C" fn trigc_rt_read(ctx: *mut Ctx<'_>, expr: u32) -> u8 {
    let ctx = host(ctx);
    let value = ctx.host.read(expr);
    give_scalar(ctx, &value)
}

/// A boxed leaf read of expression `expr` into temporary `dst`.
pub extern "C" fn trigc_rt_read_boxed(ctx: *mut Ctx<'_>, expr: u32, dst: u32) {
    let ctx = host(ctx);
    let value = ctx.host.read(expr);
    ctx.host.set_temp(dst, value);
}

/// A scalar `last(E).f` / `.ts` of the stored event in temporary `base`.
pub extern "C" fn trigc_rt_event_part(ctx: *mut Ctx<'_>, expr: u32, base: u32) -> u8 {
    let ctx = host(ctx);
    let value = ctx.host.event_part(expr, base);
    give_scalar(ctx, &value)
}

/// A boxed `last(E).f` into temporary `dst`.
pub extern "C" fn trigc_rt_event_part_boxed(ctx: *mut Ctx<'_>, expr: u32, base: u32, dst: u32) {
    let ctx = host(ctx);
    let value = ctx.host.event_part(expr, base);
    ctx.host.set_temp(dst, value);
}

/// The symbol of string constant number `text` in this evaluation's interner,
/// interned now (as the interpreter interns a constant each time it evaluates it)
/// and cached for the interner's generation.
pub extern "C" fn trigc_rt_intern_const(ctx: *mut Ctx<'_>, text: u32) -> u64 {
    let ctx = host(ctx);
    let host = &mut ctx.host;
    let Some(s) = host.texts.get(text as usize) else {
        return 0;
    };
    let sym = u64::from(host.env.interner().intern(s).0);
    if let Some(cell) = host.const_syms.get(text as usize) {
        cell.set(ConstSym {
            generation: ctx.generation,
            sym,
        });
    }
    sym
}

/// Interns object member name number `text` (an object built for a payload).
fn intern_text(host: &mut Host<'_>, text: u32) -> Sym {
    let s = host.texts.get(text as usize).map_or("", |s| &**s);
    host.env.interner().intern(s)
}

/// The order of two strings by text: -1, 0 or 1.
pub extern "C" fn trigc_rt_str_cmp(ctx: *mut Ctx<'_>, a: u64, b: u64) -> i32 {
    let ctx = host(ctx);
    let (a, b) = (Value::Str(Sym(a as u32)), Value::Str(Sym(b as u32)));
    match compare(&a, &b, ctx.host.env.interner()) {
        Some(std::cmp::Ordering::Less) => -1,
        Some(std::cmp::Ordering::Greater) => 1,
        _ => 0,
    }
}

/// `a + b` on strings.
pub extern "C" fn trigc_rt_str_concat(ctx: *mut Ctx<'_>, a: u64, b: u64) -> u64 {
    let ctx = host(ctx);
    u64::from(concat(ctx.host.env.interner(), Sym(a as u32), Sym(b as u32)).0)
}

/// `lower(s)` (`upper` 0) or `upper(s)` (1).
pub extern "C" fn trigc_rt_str_case(ctx: *mut Ctx<'_>, s: u64, upper: u32) -> u64 {
    let ctx = host(ctx);
    u64::from(change_case(ctx.host.env.interner(), Sym(s as u32), upper != 0).0)
}

/// `len(s)` in characters.
pub extern "C" fn trigc_rt_str_len(ctx: *mut Ctx<'_>, s: u64) -> i64 {
    let ctx = host(ctx);
    len_i64(
        ctx.host
            .env
            .interner()
            .resolve(Sym(s as u32))
            .chars()
            .count(),
    )
}

/// `starts_with` (`op` 0), `ends_with` (1) or substring `contains` (2).
pub extern "C" fn trigc_rt_str_test(ctx: *mut Ctx<'_>, op: u32, s: u64, p: u64) -> u8 {
    let ctx = host(ctx);
    let interner = ctx.host.env.interner();
    let (s, p) = (
        interner.resolve(Sym(s as u32)),
        interner.resolve(Sym(p as u32)),
    );
    u8::from(match op {
        0 => s.starts_with(p),
        1 => s.ends_with(p),
        _ => s.contains(p),
    })
}

/// Members of a set or list state, counted where it lives; -1 when the runtime
/// does not count it there.
pub extern "C" fn trigc_rt_state_len(ctx: *mut Ctx<'_>, state: u32) -> i64 {
    let ctx = host(ctx);
    let id = crate::ir::StateId::from_index(state as usize);
    ctx.host.env.state_len(id).map_or(-1, len_i64)
}

/// `len(x)` (`empty` 0) or `x.empty` (1) of the collection in temporary `slot`.
pub extern "C" fn trigc_rt_boxed_len(ctx: *mut Ctx<'_>, slot: u32, empty: u32) -> u8 {
    let ctx = host(ctx);
    let n = match ctx.host.temp(slot) {
        Value::Set(items) | Value::List(items) => items.len(),
        _ => return 0,
    };
    ctx.bits = if empty != 0 {
        i64::from(n == 0)
    } else {
        len_i64(n)
    };
    1
}

/// Whether the scalar (`kind`, `bits`) is a member of the collection in temporary
/// `hay` (a tri-state: none when `hay` is not a collection).
pub extern "C" fn trigc_rt_boxed_contains(ctx: *mut Ctx<'_>, hay: u32, kind: u32, bits: i64) -> u8 {
    let ctx = host(ctx);
    let needle = ScalarKind::from_code(kind).value(bits);
    let interner = ctx.host.env.interner();
    let Some(hay) = ctx.host.temps.get(hay as usize) else {
        return ABSENT;
    };
    tri(&contains(hay, &needle, interner))
}

/// A comparison (`op` a [`BinaryOp`] code) or `in` on two boxed operands (a
/// tri-state).
pub extern "C" fn trigc_rt_boxed_binary(ctx: *mut Ctx<'_>, op: u32, a: u32, b: u32) -> u8 {
    let ctx = host(ctx);
    let host = &mut ctx.host;
    let (a, b) = (host.temp(a).clone(), host.temp(b).clone());
    if a == Value::None || b == Value::None {
        return ABSENT;
    }
    let op = binary_op_from_code(op);
    tri(&match op {
        Some(BinaryOp::Eq) => Value::Bool(equal(&a, &b)),
        Some(BinaryOp::Ne) => Value::Bool(!equal(&a, &b)),
        Some(BinaryOp::In) => contains(&b, &a, host.env.interner()),
        Some(op @ (BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)) => {
            use std::cmp::Ordering;
            Value::Bool(match compare(&a, &b, host.env.interner()) {
                Some(ord) => match op {
                    BinaryOp::Lt => ord == Ordering::Less,
                    BinaryOp::Le => ord != Ordering::Greater,
                    BinaryOp::Gt => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                },
                None => false,
            })
        }
        _ => Value::None,
    })
}

/// The code [`trigc_rt_boxed_binary`] takes for `op`.
pub fn binary_op_code(op: BinaryOp) -> u32 {
    BOXED_OPS.iter().position(|o| *o == op).unwrap_or(0) as u32
}

const BOXED_OPS: [BinaryOp; 7] = [
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::In,
];

fn binary_op_from_code(code: u32) -> Option<BinaryOp> {
    BOXED_OPS.get(code as usize).copied()
}

/// 1 when temporary `slot` holds `none`.
pub extern "C" fn trigc_rt_is_none(ctx: *mut Ctx<'_>, slot: u32) -> u8 {
    u8::from(*host(ctx).host.temp(slot) == Value::None)
}

/// Start a list in temporary `dst`.
pub extern "C" fn trigc_rt_list_new(ctx: *mut Ctx<'_>, dst: u32, capacity: u32) {
    let items = Vec::with_capacity(capacity as usize);
    host(ctx).host.set_temp(dst, Value::List(Arc::new(items)));
}

/// Append a value to the list in temporary `dst`.
fn list_push(host: &mut Host<'_>, dst: u32, value: Value) {
    if let Some(Value::List(items)) = host.temps.get_mut(dst as usize) {
        Arc::make_mut(items).push(value);
    }
}

/// Append a scalar (absent: `none`) to the list in temporary `dst`.
pub extern "C" fn trigc_rt_list_push(
    ctx: *mut Ctx<'_>,
    dst: u32,
    kind: u32,
    present: u8,
    bits: i64,
) {
    let value = scalar_value(kind, present, bits);
    list_push(&mut host(ctx).host, dst, value);
}

/// Append temporary `src` to the list in temporary `dst`.
pub extern "C" fn trigc_rt_list_push_boxed(ctx: *mut Ctx<'_>, dst: u32, src: u32) {
    let host = &mut host(ctx).host;
    let value = host.temp(src).clone();
    list_push(host, dst, value);
}

fn scalar_value(kind: u32, present: u8, bits: i64) -> Value {
    if present == 0 {
        Value::None
    } else {
        ScalarKind::from_code(kind).value(bits)
    }
}

/// Start an object in temporary `dst`.
pub extern "C" fn trigc_rt_object_new(ctx: *mut Ctx<'_>, dst: u32, capacity: u32) {
    let members = Vec::with_capacity(capacity as usize);
    host(ctx)
        .host
        .set_temp(dst, Value::Object(Arc::new(members)));
}

/// Append member `name` (a text number) to the object in temporary `dst`.
fn object_push(host: &mut Host<'_>, dst: u32, name: u32, value: Value) {
    let name = intern_text(host, name);
    if let Some(Value::Object(members)) = host.temps.get_mut(dst as usize) {
        Arc::make_mut(members).push((name, value));
    }
}

/// Append a scalar member to the object in temporary `dst`.
pub extern "C" fn trigc_rt_object_push(
    ctx: *mut Ctx<'_>,
    dst: u32,
    name: u32,
    kind: u32,
    present: u8,
    bits: i64,
) {
    let value = scalar_value(kind, present, bits);
    object_push(&mut host(ctx).host, dst, name, value);
}

/// Append temporary `src` as member `name` of the object in temporary `dst`.
pub extern "C" fn trigc_rt_object_push_boxed(ctx: *mut Ctx<'_>, dst: u32, name: u32, src: u32) {
    let host = &mut host(ctx).host;
    let value = host.temp(src).clone();
    object_push(host, dst, name, value);
}

/// `d * f` (`divide` 0) or `d / f` (1) in whole milliseconds: 1 and the result in
/// `ctx.bits`, or 0 when it does not fit (an integer overflow).
pub extern "C" fn trigc_rt_scale_duration(ctx: *mut Ctx<'_>, d: i64, f: f64, divide: u32) -> u8 {
    let f = if divide != 0 { 1.0 / f } else { f };
    match scale_duration(d, f) {
        Some(ms) => {
            host(ctx).bits = ms;
            1
        }
        None => 0,
    }
}

/// `a % b` on floats (Rust's, which Cranelift has no instruction for).
pub extern "C" fn trigc_rt_fmod(a: f64, b: f64) -> f64 {
    a % b
}
