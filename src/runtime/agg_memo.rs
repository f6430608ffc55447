//! Aggregate values shared by the triggers that read the same aggregate (issue #17,
//! "shared work"): the one `count(ADD_TO_CART within 10m)` that 80 generated
//! triggers guard on is read from the customer's window once per event, then from
//! here.
//!
//! Only aggregates that expressions of two or more triggers read are memoised
//! ([`AggMemo::new`] decides once, from the program): a read of any other aggregate
//! takes the plain path, and a program without shared aggregates has no memo at all
//! (the runtime holds `None`), so it pays for none of this but a null test.
//!
//! An aggregate's value depends only on the customer's data and the instant read,
//! and the data changes only when an event is taken in. Each entry is stamped with
//! the customer, the instant and a generation; an entry whose stamp differs is
//! stale and read again (lazy: nothing is cleared per event). The generation is the
//! runtime's count of events pushed (`RunStats::events`, which `Runtime::push` moves
//! on right before a pushed event is taken in, after the timers due by then fired,
//! so the common path adds no work per event) plus
//! [`AggMemo::bumps`], moved on where an event is taken in without a push of its
//! own (held events released later) and where a customer is freed (its id may go
//! to another key). Both only grow, so their sum never repeats. Evaluations during
//! the intake itself (filters, reducer arguments) see the data half updated, so
//! they never use the memo. A restored runtime builds a fresh memo.

use std::cell::RefCell;

use super::state::CustomerId;
use crate::interp::Value;
use crate::ir::{AggId, Expr, ExprId, Payload, Program, StartIr};

/// [`AggMemo::slot_of`] of an aggregate read by at most one trigger.
const NOT_SHARED: u32 = u32::MAX;

/// See the module documentation. Interior mutability: the engines read aggregates
/// through `&Env`.
#[derive(Debug)]
pub struct AggMemo {
    /// By [`AggId`]: the aggregate's index in `entries`, or [`NOT_SHARED`].
    slot_of: Box<[u32]>,
    /// Added to the runtime's event count to stamp entries; see the module
    /// documentation.
    bumps: u64,
    /// One per shared aggregate: the last value read, with its stamp.
    entries: RefCell<Box<[Entry]>>,
}

#[derive(Debug)]
struct Entry {
    customer: CustomerId,
    now: i64,
    generation: u64,
    value: Value,
}

/// The memo armed for one evaluation: whose data the [`super::scope::Scope`] reads,
/// and the generation it is read in.
#[derive(Clone, Copy, Debug)]
pub struct MemoRef<'a> {
    memo: &'a AggMemo,
    customer: CustomerId,
    generation: u64,
}

impl AggMemo {
    /// The memo for `program`: one entry per aggregate that expressions of two or
    /// more triggers read; `None` when there is none.
    pub fn new(program: &Program) -> Option<Box<AggMemo>> {
        let readers = readers(program);
        let mut next = 0u32;
        let slot_of: Box<[u32]> = readers
            .iter()
            .map(|&n| {
                if n >= 2 {
                    next += 1;
                    next - 1
                } else {
                    NOT_SHARED
                }
            })
            .collect();
        if next == 0 {
            return None;
        }
        let entries = (0..next)
            .map(|_| Entry {
                // Matches no customer, so the first read of each entry misses.
                customer: CustomerId(u32::MAX),
                now: i64::MIN,
                generation: 0,
                value: Value::None,
            })
            .collect();
        Some(Box::new(AggMemo {
            slot_of,
            bumps: 0,
            entries: RefCell::new(entries),
        }))
    }

    /// Every entry becomes stale: an event is taken in without a push of its own, or
    /// an id may go to another key.
    pub fn invalidate(&mut self) {
        self.bumps = self.bumps.wrapping_add(1);
    }

    /// The memo for an evaluation of `customer`'s data, `events` being the runtime's
    /// count of events pushed.
    #[inline]
    pub fn arm(&self, customer: CustomerId, events: u64) -> MemoRef<'_> {
        MemoRef {
            memo: self,
            customer,
            generation: events.wrapping_add(self.bumps),
        }
    }

    /// Number of shared aggregates (for tests).
    #[cfg(test)]
    fn shared(&self) -> usize {
        self.entries.borrow().len()
    }
}

impl MemoRef<'_> {
    /// The value of aggregate `id` at `now`: kept from an earlier read of the same
    /// customer at the same instant and generation, or `read` now (and kept when the
    /// aggregate is shared).
    #[inline]
    pub fn aggregate(self, id: AggId, now: i64, read: impl FnOnce() -> Value) -> Value {
        let memo = self.memo;
        let Some(&i) = memo.slot_of.get(id.index()) else {
            return read();
        };
        if i == NOT_SHARED {
            return read();
        }
        let i = i as usize;
        let generation = self.generation;
        if let Ok(entries) = memo.entries.try_borrow()
            && let Some(e) = entries.get(i)
            && e.generation == generation
            && e.now == now
            && e.customer == self.customer
        {
            return e.value.clone();
        }
        let value = read();
        if let Ok(mut entries) = memo.entries.try_borrow_mut()
            && let Some(e) = entries.get_mut(i)
        {
            *e = Entry {
                customer: self.customer,
                now,
                generation,
                value: value.clone(),
            };
        }
        value
    }
}

/// By aggregate: how many triggers have an expression that reads it.
fn readers(program: &Program) -> Vec<u32> {
    let mut readers = vec![0u32; program.aggregates.len()];
    // By aggregate: the last trigger counted, so each trigger counts once.
    let mut last = vec![usize::MAX; program.aggregates.len()];
    let mut seen = vec![usize::MAX; program.exprs.len()];
    for (t, def) in program.triggers.iter().enumerate() {
        let mut roots: Vec<ExprId> = Vec::new();
        let patterns = def
            .exit_on
            .iter()
            .chain(def.steps.iter().flat_map(|s| s.unless.iter()));
        let starts = match &def.start {
            StartIr::On(patterns) => patterns.as_slice(),
            StartIr::Enroll | StartIr::Schedule(_) => &[],
        };
        roots.extend(patterns.chain(starts).filter_map(|p| p.filter));
        roots.extend(def.fan_out.as_ref().map(|f| f.value));
        for step in &def.steps {
            roots.extend(step.guard);
            for action in &step.actions {
                match &action.kind {
                    crate::ir::ActionKind::Webhook { payload, .. }
                    | crate::ir::ActionKind::Emit { payload, .. } => {
                        roots.extend(payload_expr(payload));
                    }
                    crate::ir::ActionKind::Email { to, payload, .. } => {
                        roots.extend(*to);
                        roots.extend(payload_expr(payload));
                    }
                    crate::ir::ActionKind::SetProfile { value, .. } => roots.push(*value),
                    crate::ir::ActionKind::Enroll { .. } => {}
                }
            }
        }
        while let Some(id) = roots.pop() {
            let Some(s) = seen.get_mut(id.index()) else {
                continue;
            };
            if std::mem::replace(s, t) == t {
                continue;
            }
            let Some(expr) = program.exprs.get(id.index()) else {
                continue;
            };
            if let Expr::Agg(a) = expr
                && let (Some(n), Some(l)) = (readers.get_mut(a.index()), last.get_mut(a.index()))
                && std::mem::replace(l, t) != t
            {
                *n += 1;
            }
            roots.extend(expr.operands());
        }
    }
    readers
}

fn payload_expr(payload: &Payload) -> Option<ExprId> {
    match payload {
        Payload::Object(e) => Some(*e),
        Payload::StartEvent => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(src: &str) -> Program {
        let mut sources = crate::syntax::SourceMap::default();
        sources.add("t.trig", src);
        let compiled = crate::compile(&sources);
        assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
        compiled.program.unwrap_or_default()
    }

    const EVENTS: &str = "event A { n: int }\nevent B { n: int }\n";

    #[test]
    fn only_aggregates_of_two_triggers_are_shared() {
        let src = format!(
            "{EVENTS}trigger t1\n  on B\n  if count(A within 10m) >= 2 and count(B) > 1\n  \
             then emit \"x\" with {{ c: count(B) }}\n\
             trigger t2\n  on B\n  if count(A within 10m) >= 3\n  then emit \"y\"\n"
        );
        let memo = AggMemo::new(&program(&src));
        assert_eq!(memo.map(|m| m.shared()), Some(1));
    }

    #[test]
    fn a_value_is_read_once_per_customer_instant_and_generation() {
        let src = format!(
            "{EVENTS}trigger t1\n  on B\n  if count(A within 10m) >= 2\n  then emit \"x\"\n\
             trigger t2\n  on B\n  if count(A within 10m) >= 3\n  then emit \"y\"\n"
        );
        let Some(mut memo) = AggMemo::new(&program(&src)) else {
            panic!("count(A within 10m) is shared");
        };
        let reads = std::cell::Cell::new(0);
        let read = |v: i64| {
            reads.set(reads.get() + 1);
            Value::Int(v)
        };
        let (a, b, id) = (CustomerId(1), CustomerId(2), AggId::from_index(0));
        let get =
            |memo: &AggMemo, c, events, now, v| memo.arm(c, events).aggregate(id, now, || read(v));
        assert_eq!(get(&memo, a, 1, 10, 7), Value::Int(7));
        assert_eq!(get(&memo, a, 1, 10, 8), Value::Int(7));
        assert_eq!(reads.get(), 1);
        // Another customer, another instant, another event or a bump: read again.
        assert_eq!(get(&memo, b, 1, 10, 8), Value::Int(8));
        assert_eq!(get(&memo, b, 1, 11, 9), Value::Int(9));
        assert_eq!(get(&memo, b, 2, 11, 10), Value::Int(10));
        memo.invalidate();
        assert_eq!(get(&memo, b, 2, 11, 11), Value::Int(11));
        assert_eq!(get(&memo, b, 2, 11, 12), Value::Int(11));
        assert_eq!(reads.get(), 5);
    }

    #[test]
    fn a_program_without_shared_aggregates_never_arms() {
        let src = format!(
            "{EVENTS}trigger t1\n  on B\n  if count(A within 10m) >= 2\n  \
             then emit \"x\" with {{ c: count(A within 10m) }}\n"
        );
        assert!(AggMemo::new(&program(&src)).is_none());
    }
}
