//! Evaluating an expression for an instance, a scheduled start or a matching
//! event (the runtime's calls into the [`super::Engine`]), and reporting an
//! evaluation error as a notice.

use super::scope::{Bound, Context};
use super::state::CustomerId;
use super::{Event, Notice, Output, Runtime};
use crate::interp::{EvalError, Value};
use crate::ir::TriggerId;

impl Runtime<'_> {
    /// Evaluate `expr` for the instance in `slot` (its starting event bound).
    pub(super) fn eval_instance(
        &mut self,
        slot: u32,
        expr: crate::ir::ExprId,
        now: i64,
        current: Bound<'_>,
    ) -> Result<Value, EvalError> {
        // One test here, and the memo path out of line, so that a program without
        // shared aggregates runs the code it ran before the memo.
        if self.agg_memo.is_some() {
            return self.eval_instance_memo(slot, expr, now, current);
        }
        let cx = Context {
            program: self.program,
            engine: &*self.engine,
            plan: &self.plan,
        };
        let st = &mut self.state;
        let Some(inst) = st.instances.get(slot) else {
            return Ok(Value::None);
        };
        let (data, key) = match st.customers.get(inst.customer) {
            Some(cust) => (&cust.data, cust.key.as_str()),
            None => (&self.empty, ""),
        };
        let start = inst.start_kind().map(|k| (k, inst.start_ts, inst.fields()));
        cx.eval(&mut st.interner, data, key, now, start, current, expr)
    }

    /// Evaluate `expr` for `c` as an instance a schedule starts at `at` would (no
    /// starting event, `now` = `at`), without setting the instance up.
    pub(super) fn eval_scheduled(
        &mut self,
        c: CustomerId,
        expr: crate::ir::ExprId,
        at: i64,
    ) -> Result<Value, EvalError> {
        self.eval_for(c, expr, at, None, None)
    }

    /// Evaluate `expr` for `c` as the instance of a trigger `e` starts would, before
    /// it is set up: `e` is the starting event, nothing is the matched one, `now` is
    /// `e`'s time. An instance keeps a prefix of `e`'s fields holding every field read
    /// after the start (`plan::keep_fields`), so the full fields read the same.
    pub(super) fn eval_started(
        &mut self,
        c: CustomerId,
        expr: crate::ir::ExprId,
        e: &Event,
    ) -> Result<Value, EvalError> {
        self.eval_for(c, expr, e.ts, Some((e.kind, e.ts, &e.fields[..])), None)
    }

    /// Evaluate `expr` with `e` bound both as the matched and the starting event.
    pub(super) fn eval_event(
        &mut self,
        c: CustomerId,
        expr: crate::ir::ExprId,
        e: &Event,
    ) -> Result<Value, EvalError> {
        let bound = Some((e.kind, e.ts, &e.fields[..]));
        self.eval_for(c, expr, e.ts, bound, bound)
    }

    /// Evaluate `expr` for `c` at `now` with `start` and `current` bound.
    fn eval_for(
        &mut self,
        c: CustomerId,
        expr: crate::ir::ExprId,
        now: i64,
        start: Bound<'_>,
        current: Bound<'_>,
    ) -> Result<Value, EvalError> {
        if self.agg_memo.is_some() {
            return self.eval_for_memo(c, expr, now, start, current);
        }
        let cx = Context {
            program: self.program,
            engine: &*self.engine,
            plan: &self.plan,
        };
        let st = &mut self.state;
        let (data, key) = match st.customers.get(c) {
            Some(cust) => (&cust.data, cust.key.as_str()),
            None => (&self.empty, ""),
        };
        cx.eval(&mut st.interner, data, key, now, start, current, expr)
    }

    /// [`Self::eval_instance`] through the aggregate memo.
    #[inline(never)]
    fn eval_instance_memo(
        &mut self,
        slot: u32,
        expr: crate::ir::ExprId,
        now: i64,
        current: Bound<'_>,
    ) -> Result<Value, EvalError> {
        let cx = Context {
            program: self.program,
            engine: &*self.engine,
            plan: &self.plan,
        };
        let st = &mut self.state;
        let Some(inst) = st.instances.get(slot) else {
            return Ok(Value::None);
        };
        let (data, key) = match st.customers.get(inst.customer) {
            Some(cust) => (&cust.data, cust.key.as_str()),
            None => (&self.empty, ""),
        };
        let start = inst.start_kind().map(|k| (k, inst.start_ts, inst.fields()));
        match self.agg_memo.as_deref() {
            Some(memo) => {
                let memo = memo.arm(inst.customer, st.stats.events);
                cx.eval_memo(&mut st.interner, data, key, now, start, current, expr, memo)
            }
            None => cx.eval(&mut st.interner, data, key, now, start, current, expr),
        }
    }

    /// [`Self::eval_for`] through the aggregate memo.
    #[inline(never)]
    fn eval_for_memo(
        &mut self,
        c: CustomerId,
        expr: crate::ir::ExprId,
        now: i64,
        start: Bound<'_>,
        current: Bound<'_>,
    ) -> Result<Value, EvalError> {
        let cx = Context {
            program: self.program,
            engine: &*self.engine,
            plan: &self.plan,
        };
        let st = &mut self.state;
        let (data, key) = match st.customers.get(c) {
            Some(cust) => (&cust.data, cust.key.as_str()),
            None => (&self.empty, ""),
        };
        match self.agg_memo.as_deref() {
            Some(memo) => {
                let memo = memo.arm(c, st.stats.events);
                cx.eval_memo(&mut st.interner, data, key, now, start, current, expr, memo)
            }
            None => cx.eval(&mut st.interner, data, key, now, start, current, expr),
        }
    }

    // Cold: kept out of the hot functions' instruction stream (every caller is a
    // rare error branch).
    #[cold]
    #[inline(never)]
    pub(super) fn report_error(
        &mut self,
        trigger: Option<TriggerId>,
        err: EvalError,
        c: CustomerId,
        at: i64,
        out: &mut dyn Output,
    ) {
        self.state.stats.runtime_errors += 1;
        let key = self.state.customers.key(c).to_string();
        out.notice(&Notice::EvalError {
            trigger,
            expr: err.expr,
            kind: err.kind,
            key,
            at,
        });
    }
}
