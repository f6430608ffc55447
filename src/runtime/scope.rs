//! The evaluation environment the runtime gives an engine: one key's data, the bound
//! events and the time ([`Scope`], an [`Env`]), and the same for reducer and
//! aggregate filters during ingest ([`IngestEval`], a [`FilterEval`]).

use super::agg_memo::MemoRef;
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

    /// [`Context::eval`] with the aggregate reads going through `memo`, armed for
    /// the key whose `data` this is.
    #[expect(
        clippy::too_many_arguments,
        reason = "one evaluation's whole environment, borrowed piecewise"
    )]
    pub fn eval_memo(
        &self,
        interner: &mut Interner,
        data: &KeyData,
        key: &str,
        now: i64,
        start: Bound<'_>,
        current: Bound<'_>,
        expr: ExprId,
        memo: MemoRef<'_>,
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
        eval_memo(self.engine, self.program, expr, &mut scope, memo)
    }
}

/// An evaluation whose aggregate reads go through `memo`. Out of line, and the
/// scope reached only through `dyn Env`, so that the plain path (every evaluation
/// of a program without shared aggregates) keeps the code it had before the memo:
/// no second direct caller of `Scope`'s reads makes LLVM inline them differently.
#[inline(never)]
fn eval_memo(
    engine: &dyn Engine,
    program: &Program,
    expr: ExprId,
    scope: &mut Scope<'_>,
    memo: MemoRef<'_>,
) -> Result<Value, EvalError> {
    let now = scope.now;
    let mut env = MemoScope {
        inner: scope,
        now,
        memo,
    };
    engine.eval(program, expr, &mut env)
}

/// An [`Env`] whose aggregate reads go through the memo; every other read goes to
/// the plain scope.
struct MemoScope<'e> {
    inner: &'e mut dyn Env,
    now: i64,
    memo: MemoRef<'e>,
}

impl Env for MemoScope<'_> {
    fn key(&self) -> Sym {
        self.inner.key()
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn event(&self, binding: Binding) -> Option<(EventId, i64, &[Value])> {
        self.inner.event(binding)
    }
    fn state(&self, id: StateId) -> Value {
        self.inner.state(id)
    }
    fn state_len(&self, id: StateId) -> Option<usize> {
        self.inner.state_len(id)
    }
    fn profile(&self, id: ProfileFieldId) -> Value {
        self.inner.profile(id)
    }
    fn aggregate(&self, id: AggId) -> Value {
        self.memo
            .aggregate(id, self.now, || self.inner.aggregate(id))
    }
    fn aggregate_time(&self, id: AggId) -> Option<i64> {
        self.inner.aggregate_time(id)
    }
    fn interner(&mut self) -> &mut Interner {
        self.inner.interner()
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
        // Never the memo: the data is half way through taking the event in.
        self.cx
            .eval(self.interner, data, self.key, event.ts, None, current, expr)
    }

    fn interner(&mut self) -> &mut Interner {
        self.interner
    }
}
