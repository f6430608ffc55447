//! The evaluation environment the runtime gives an engine: one key's data, the bound
//! events and the time ([`Scope`], an [`Env`]), and the same for reducer and
//! aggregate filters during ingest ([`IngestEval`], a [`FilterEval`]).

use super::plan::Plan;
use super::state::{FilterEval, KeyData};
use crate::interp::Engine;
use crate::interp::{Env, EvalError, Frame, Interner, Sym, Value};
use crate::ir::{AggId, Binding, EventId, ExprId, ProfileFieldId, Program, StateId};
use crate::runtime::Event;

/// A bound event: type, time, fields by `FieldIdx` (possibly a prefix).
pub type Bound<'a> = Option<(EventId, i64, &'a [Value])>;

/// `key` of an expression that does not read it (never interned).
const UNREAD_KEY: Sym = Sym(u32::MAX);

/// What one evaluation sees.
pub struct Scope<'a> {
    pub program: &'a Program,
    pub data: &'a KeyData,
    pub interner: &'a mut Interner,
    pub key: Sym,
    pub now: i64,
    pub start: Bound<'a>,
    pub current: Bound<'a>,
}

impl Env for Scope<'_> {
    fn key(&self) -> Sym {
        self.key
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn event(&self, binding: Binding) -> Option<(EventId, i64, &[Value])> {
        match binding {
            Binding::Current => self.current,
            Binding::Start => self.start,
        }
    }
    fn state(&self, id: StateId) -> Value {
        self.data.state(self.program, id)
    }
    fn state_len(&self, id: StateId) -> Option<usize> {
        self.data.state_len(self.program, id)
    }
    fn profile(&self, id: ProfileFieldId) -> Value {
        self.data.profile(id)
    }
    fn aggregate(&self, id: AggId) -> Value {
        self.data.aggregate(self.program, id, self.now)
    }
    fn aggregate_time(&self, id: AggId) -> Option<i64> {
        self.data.aggregate_time(self.program, id, self.now)
    }
    fn interner(&mut self) -> &mut Interner {
        self.interner
    }
    fn frame(&mut self) -> Frame<'_> {
        Frame {
            generation: self.interner.generation(),
            current: self.current,
            start: self.start,
        }
    }
}

/// Everything but the bindings, borrowed from the runtime.
pub struct Context<'a> {
    pub program: &'a Program,
    pub engine: &'a dyn Engine,
    pub plan: &'a Plan,
}

impl Context<'_> {
    /// Evaluate `expr` for the key `key` (interned only when `expr` reads it).
    #[expect(
        clippy::too_many_arguments,
        reason = "one evaluation's whole environment, borrowed piecewise"
    )]
    pub fn eval(
        &self,
        interner: &mut Interner,
        data: &KeyData,
        key: &str,
        now: i64,
        start: Bound<'_>,
        current: Bound<'_>,
        expr: ExprId,
    ) -> Result<Value, EvalError> {
        let key = if self.plan.reads_key(expr) {
            interner.intern(key)
        } else {
            UNREAD_KEY
        };
        let mut scope = Scope {
            program: self.program,
            data,
            interner,
            key,
            now,
            start,
            current,
        };
        self.engine.eval(self.program, expr, &mut scope)
    }
}

/// Filters and reducer arguments during ingest: the ingested event is
/// `Binding::Current` and `now` is its time.
pub struct IngestEval<'a> {
    pub cx: Context<'a>,
    pub interner: &'a mut Interner,
    pub key: &'a str,
}

impl FilterEval for IngestEval<'_> {
    fn eval_filter(
        &mut self,
        expr: ExprId,
        event: &Event,
        data: &KeyData,
    ) -> Result<Value, EvalError> {
        let current = Some((event.kind, event.ts, &event.fields[..]));
        self.cx
            .eval(self.interner, data, self.key, event.ts, None, current, expr)
    }

    fn interner(&mut self) -> &mut Interner {
        self.interner
    }
}
