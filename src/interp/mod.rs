//! The reference interpreter: evaluates IR expressions over a runtime environment.
//! It is the oracle the JIT is checked against; expression evaluation is the only
//! thing the two engines do differently, and [`Env`] is the seam between an engine
//! and the runtime's state.

pub mod dirty;
pub mod engine;
pub mod eval;
pub mod value;

pub use engine::{Engine, EngineError, Interp};
pub use eval::{bound_field, compare_ints, eval};

pub use value::{HoldsSyms, Interner, StoredEvent, Sym, SymMarks, Value, compare, equal, is_true};

use crate::ir::{AggId, Binding, EventId, ExprId, ProfileFieldId, StateId};

/// What an expression can read. The runtime implements this over one key's state;
/// engines never see runtime types.
pub trait Env {
    /// `key`: the customer id.
    fn key(&self) -> Sym;
    /// `now`: current event time, or the fire time in a step (ms since epoch).
    fn now(&self) -> i64;
    /// The event bound to `binding` (type, time, fields by `FieldIdx`), if any.
    fn event(&self, binding: Binding) -> Option<(EventId, i64, &[Value])>;
    /// A state's current value.
    fn state(&self, id: StateId) -> Value;
    /// The number of members of a set or list state (`None` for other states):
    /// what `len(s)` and `s.empty` need, without building the whole value.
    fn state_len(&self, id: StateId) -> Option<usize> {
        match self.state(id) {
            Value::Set(items) | Value::List(items) => Some(items.len()),
            _ => None,
        }
    }
    /// A profile attribute (`Value::None` when unset).
    fn profile(&self, id: ProfileFieldId) -> Value;
    /// An aggregate's value at `now()`.
    fn aggregate(&self, id: AggId) -> Value;
    /// The time of the event a `last`/`first` aggregate holds at `now()`: what
    /// `last(E).ts` reads, without copying the event (the only read of a `last` the
    /// runtime stores as a time alone).
    fn aggregate_time(&self, id: AggId) -> Option<i64> {
        match self.aggregate(id) {
            Value::Event(e) => Some(e.ts),
            _ => None,
        }
    }
    /// The string table (`lower(s)` interns its result).
    fn interner(&mut self) -> &mut Interner;
    /// What a compiled evaluation reads before it starts, in one call rather than
    /// three through `dyn Env` (the JIT calls it per evaluation).
    fn frame(&mut self) -> Frame<'_> {
        let generation = self.interner().generation();
        Frame {
            generation,
            current: self.event(Binding::Current),
            start: self.event(Binding::Start),
        }
    }
}

/// [`Env::frame`]: the string table's generation and both bound events.
pub struct Frame<'a> {
    pub generation: u64,
    pub current: Option<(EventId, i64, &'a [Value])>,
    pub start: Option<(EventId, i64, &'a [Value])>,
}

/// Why an evaluation failed. Carries the expression so the message can point at source
/// through `Program::expr_spans`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    pub expr: ExprId,
    pub kind: EvalErrorKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalErrorKind {
    DivisionByZero,
    IntegerOverflow,
}

impl std::fmt::Display for EvalErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EvalErrorKind::DivisionByZero => "division by zero",
            EvalErrorKind::IntegerOverflow => "integer overflow",
        })
    }
}
