//! First-step guards the runtime decides itself: `aggregate OP int` (the common
//! `if count(ADD_TO_CART within 10m) >= 3`), read from the key's data (through the
//! aggregate memo) and compared, without a call into the engine. A broad trigger
//! with such a guard is evaluated for every event of its type, and most fail; the
//! call into the engine costs several times the read (BENCHMARKS.md, "Figures
//! behind choices"). The comparison is the interpreter's own for two ints
//! ([`crate::interp::compare_ints`]); any other value (an absent
//! aggregate, a float `sum`) leaves the guard to the engine.

use super::Runtime;
use super::state::CustomerId;
use crate::interp::{Value, compare_ints};
use crate::ir::{AggId, BinaryOp, Const, Expr, Program, TriggerId};

/// A guard `aggregate OP constant`.
#[derive(Clone, Copy, Debug)]
pub struct DirectGuard {
    agg: AggId,
    op: BinaryOp,
    k: i64,
}

/// Per trigger: its first step's guard, when it has the direct shape.
pub fn direct_guards(program: &Program) -> Vec<Option<DirectGuard>> {
    program
        .triggers
        .iter()
        .map(|def| {
            let guard = def.steps.first()?.guard?;
            let Some(Expr::Binary { op, lhs, rhs }) = program.exprs.get(guard.index()) else {
                return None;
            };
            let comparison = matches!(
                op,
                BinaryOp::Eq
                    | BinaryOp::Ne
                    | BinaryOp::Lt
                    | BinaryOp::Le
                    | BinaryOp::Gt
                    | BinaryOp::Ge
            );
            match (
                program.exprs.get(lhs.index()),
                program.exprs.get(rhs.index()),
            ) {
                (Some(Expr::Agg(agg)), Some(Expr::Const(Const::Int(k)))) if comparison => {
                    Some(DirectGuard {
                        agg: *agg,
                        op: *op,
                        k: *k,
                    })
                }
                _ => None,
            }
        })
        .collect()
}

impl Runtime<'_> {
    /// `t`'s first-step guard for `c` at `at`, when the runtime decides it (see the
    /// module doc); `None`: the engine evaluates it.
    pub(super) fn direct_guard(&self, t: TriggerId, c: CustomerId, at: i64) -> Option<bool> {
        let g = self.plan.direct_guards.get(t.index()).copied().flatten()?;
        let Value::Int(x) = self.read_aggregate(c, g.agg, at) else {
            return None;
        };
        Some(compare_ints(g.op, x, g.k))
    }

    /// Aggregate `agg` of `c` at `at`, as an evaluation reads it: through the
    /// aggregate memo when there is one.
    pub(super) fn read_aggregate(&self, c: CustomerId, agg: AggId, at: i64) -> Value {
        let data = self
            .state
            .customers
            .get(c)
            .map_or(&self.empty, |cust| &cust.data);
        let read = || data.aggregate(self.program, agg, at);
        match self.agg_memo.as_deref() {
            // The generation every evaluation of this key's data uses (`evaluate.rs`).
            Some(memo) => memo
                .arm(c, self.state.stats.events)
                .aggregate(agg, at, read),
            None => read(),
        }
    }
}
