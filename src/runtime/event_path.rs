//! The event path (docs/LANGUAGE.md §5): what one event does to a key. Its profile,
//! states and aggregates take it in, then every trigger it concerns, in firing
//! order, ends the instances whose `exit on` or `unless` matches and starts new ones
//! (fanning out over the customers of an indexed set when asked), firing a first
//! step without `wait` at once when nothing queued could come before it.

use std::sync::Arc;

use super::customer::REAL;
use super::firing::Checks;
use super::instance::{NIL, tie};
use super::lifecycle::{Start, StartEvent, kept_fields};
use super::plan::{ENDS, STARTS};
use super::scope::{Context, IngestEval};
use super::state::CustomerId;
use super::{Event, Output, Runtime};
use crate::interp::Value;
use crate::interp::is_true;
use crate::ir::{ActionKind, ExprId, StartIr, TriggerId};

/// Whether a trigger's turn in step (2) may start it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Starts {
    No,
    /// If one of its patterns on the event holds.
    IfPatternHolds,
    /// The start index decided its pattern's access conjunct holds: if the rest
    /// of the `where` holds ([`super::start_index::StartIndex::decided`]).
    IfRestHolds(Option<ExprId>),
}

impl Runtime<'_> {
    /// Steps (1) and (2) of the processing order for one event.
    pub(super) fn process_event(&mut self, e: &Event, out: &mut dyn Output) {
        let program = self.program;
        let Some(edef) = program.events.get(e.kind.index()) else {
            return;
        };
        // Marked changed by the `get_mut` below.
        let c = self.state.customers.lookup_or_insert(&e.key);

        // (1) profile, states and aggregates take the event in. Aggregate values
        // kept before are stale from here: `push` counted the event, `release`
        // bumped the memo (`agg_memo`). The filters evaluated meanwhile see the data
        // half updated, so `IngestEval` never uses the memo.
        {
            let cx = Context {
                program,
                engine: &*self.engine,
                plan: &self.plan,
            };
            let st = &mut self.state;
            if let Some(cust) = st.customers.get_mut(c) {
                if edef.keyed_by.is_none() {
                    cust.flags |= REAL;
                }
                // No `expire` here: every window prunes itself when it takes an
                // event in, and reads count only live entries, so expiry only frees
                // memory; `maybe_free` runs it when the key might become empty.
                let super::customer::Customer { key, data, .. } = cust;
                let mut filters = IngestEval {
                    cx,
                    interner: &mut st.interner,
                    key,
                };
                data.ingest_planned(
                    program,
                    &self.ingest,
                    c,
                    e,
                    &mut st.fanout,
                    &mut filters,
                    &mut self.report,
                );
            }
        }
        self.state.stats.cap_hits += std::mem::take(&mut self.report.cap_hits);
        if !self.report.filter_errors.is_empty() {
            for err in std::mem::take(&mut self.report.filter_errors) {
                self.report_error(None, err, c, e.ts, out);
            }
        }

        // (2) every trigger concerned, in firing order: ends, then starts.
        self.in_process = c;
        self.event_first_seq = self.state.next_instance;
        if super::entries::uses_index(&self.plan, self.config.start_index, e.kind) {
            self.triggers_indexed(c, e, out);
        } else {
            self.triggers_all(c, e, out);
        }
        self.in_process = CustomerId(NIL);
        self.maybe_free(c, e.ts);
    }

    /// Step (2) over every trigger the event type concerns, in firing order (few
    /// triggers, or `--no-index`).
    #[inline(always)]
    fn triggers_all(&mut self, c: CustomerId, e: &Event, out: &mut dyn Output) {
        let n = self.plan.by_event.get(e.kind.index()).map_or(0, Vec::len);
        for i in 0..n {
            let Some(&(t, roles)) = self
                .plan
                .by_event
                .get(e.kind.index())
                .and_then(|l| l.get(i))
            else {
                break;
            };
            let starts = if roles & STARTS != 0 {
                Starts::IfPatternHolds
            } else {
                Starts::No
            };
            self.visit_trigger(t, roles & ENDS != 0, starts, c, e, out);
        }
    }

    /// Step (2) over the triggers that can do something: those the start index names
    /// for the event, and those with an instance of `c` that the event type may end.
    /// Visited in firing order (a bitset over ranks, scanned upward). Instances the
    /// event itself starts are never ended by it, so the key's instances found before
    /// the first trigger runs are all step (2) may end.
    ///
    /// Kept out of line: it serves rule sets large enough that a call is nothing
    /// next to the work, and inlined it made LLVM stop inlining the small-set path.
    #[inline(never)]
    fn triggers_indexed(&mut self, c: CustomerId, e: &Event, out: &mut dyn Output) {
        let mut starts = std::mem::take(&mut self.start_bits);
        let mut ends = std::mem::take(&mut self.end_bits);
        self.plan.index.candidates(e.kind, &e.fields, &mut starts);
        let mut cur = self.state.customers.get(c).map_or(NIL, |x| x.instances);
        while let Some(inst) = self.state.instances.get(cur) {
            if self.plan.role(inst.trigger, e.kind) & ENDS != 0
                && let Some(w) = ends.get_mut(self.plan.rank(inst.trigger) as usize / 64)
            {
                *w |= 1u64 << (self.plan.rank(inst.trigger) % 64);
            }
            cur = inst.next;
        }
        let named: u32 = starts.iter().map(|w| w.count_ones()).sum();
        let stats = &mut self.state.stats;
        stats.index_candidates += u64::from(named);
        stats.index_skipped += u64::from(self.plan.index.starters(e.kind).saturating_sub(named));
        for w in 0..starts.len() {
            let (sw, ew) = match (starts.get_mut(w), ends.get_mut(w)) {
                (Some(s), Some(x)) => (std::mem::take(s), std::mem::take(x)),
                _ => break,
            };
            let decided = self.plan.index.decided(e.kind, w);
            let mut bits = sw | ew;
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                let Some(&t) = self.plan.order.get(w * 64 + b as usize) else {
                    break;
                };
                let bit = 1u64 << b;
                let starts = match (sw & bit != 0, decided & bit != 0) {
                    (false, _) => Starts::No,
                    (true, false) => Starts::IfPatternHolds,
                    (true, true) => {
                        Starts::IfRestHolds(self.plan.index.rest(e.kind, w * 64 + b as usize))
                    }
                };
                self.visit_trigger(t, ew & bit != 0, starts, c, e, out);
            }
        }
        self.start_bits = starts;
        self.end_bits = ends;
    }

    /// Trigger `t`'s turn in step (2): fire what comes before it, then end and start.
    #[inline(always)]
    fn visit_trigger(
        &mut self,
        t: TriggerId,
        ends: bool,
        starts: Starts,
        c: CustomerId,
        e: &Event,
        out: &mut dyn Output,
    ) {
        // What triggers before `t` at this instant started without a `wait`
        // fires before `t` matches (docs/LANGUAGE.md §5: the same instant runs by
        // priority, then name), so `t`'s patterns see their actions.
        if self.quiet_until <= e.ts {
            self.fire_queued(e.ts, tie(self.plan.rank(t), 0), out);
        }
        if ends {
            self.end_matching(t, c, e, out);
        }
        if starts != Starts::No {
            self.start_on_event(t, c, e, starts, out);
        }
    }

    /// End `c`'s instances of `t` whose `exit on` or current-step `unless` matches `e`.
    /// Inlined into both walks of step (2), as it was into the one walk before the
    /// start index (see BENCHMARKS.md, "Figures behind choices").
    #[inline(always)]
    fn end_matching(&mut self, t: TriggerId, c: CustomerId, e: &Event, out: &mut dyn Output) {
        let program = self.program;
        let def = program.trigger(t);
        let current = Some((e.kind, e.ts, &e.fields[..]));
        let mut cur = match self.state.customers.get(c) {
            Some(x) if x.may_have(t) => x.instances,
            _ => NIL,
        };
        while cur != NIL {
            let Some(inst) = self.state.instances.get(cur) else {
                break;
            };
            let (next, trigger, step) = (inst.next, inst.trigger, inst.step as usize);
            // An instance this very event started (an `enroll` fired by a trigger
            // before `t`) is not ended by it: the event is its cause, not news.
            if trigger == t && inst.seq < self.event_first_seq {
                let unless = def
                    .steps
                    .get(step)
                    .map(|s| s.unless.as_slice())
                    .unwrap_or_default();
                for p in def
                    .exit_on
                    .iter()
                    .chain(unless)
                    .filter(|p| p.event == e.kind)
                {
                    let hit = match p.filter {
                        None => true,
                        Some(f) => match self.eval_instance(cur, f, e.ts, current) {
                            Ok(v) => is_true(&v),
                            Err(err) => {
                                self.report_error(Some(t), err, c, e.ts, out);
                                false
                            }
                        },
                    };
                    if hit {
                        self.end_instance(cur);
                        break;
                    }
                }
            }
            cur = next;
        }
    }

    /// Start `t` if `e` matches one of its start patterns (fanning out when asked).
    /// Inlined into both walks of step (2), like [`Self::end_matching`].
    #[inline(always)]
    fn start_on_event(
        &mut self,
        t: TriggerId,
        c: CustomerId,
        e: &Event,
        starts: Starts,
        out: &mut dyn Output,
    ) {
        let program = self.program;
        let def = program.trigger(t);
        let StartIr::On(patterns) = &def.start else {
            return;
        };
        let matched = match starts {
            Starts::IfRestHolds(rest) => self.holds(t, c, e, rest, out),
            _ => patterns
                .iter()
                .filter(|p| p.event == e.kind)
                .any(|p| self.holds(t, c, e, p.filter, out)),
        };
        if !matched {
            return;
        }
        match &def.fan_out {
            None if self.fires_at_once(t, e.ts) => self.start_at_once(t, c, e, out),
            None => self.start_instance(t, c, e.ts, Start::Event(StartEvent::new(e))),
            Some(fan) => {
                let value = match self.eval_event(c, fan.value, e) {
                    Ok(v) => v,
                    Err(err) => {
                        self.report_error(Some(t), err, c, e.ts, out);
                        return;
                    }
                };
                // One copy of the kept fields for every fanned-out instance.
                let kept = kept_fields(&self.plan, t, e);
                let shared: Option<Arc<[Value]>> = (!kept.is_empty()).then(|| kept.into());
                let customers = self.state.fanout.customers(fan.state, &value);
                if self.fans_out_at_once(t, c, e.ts, &customers) {
                    // Payloads that do not read the customer are built once and
                    // shared by every record of this fan-out.
                    self.shared_payloads = Some(Vec::new());
                    for customer in customers {
                        let start = StartEvent {
                            event: e,
                            shared: shared.as_ref(),
                        };
                        if let Some(slot) =
                            self.begin_instance(t, customer, e.ts, Start::Event(start))
                        {
                            self.fire_step(slot, e.ts, Checks::Pending, out);
                        }
                    }
                    self.shared_payloads = None;
                } else {
                    for customer in customers {
                        let start = StartEvent {
                            event: e,
                            shared: shared.as_ref(),
                        };
                        self.start_instance(t, customer, e.ts, Start::Event(start));
                    }
                }
            }
        }
    }

    /// Whether an instance of `t` started at `at` may fire its first step right away
    /// instead of through the queue: the step has no `wait`, and no queued timer is
    /// due by `at`. Queued, it would be the first timer to pop, at the next
    /// `fire_queued` (before the next trigger in firing order matches, or after the
    /// event), and nothing of this event happens in between; firing it now skips a
    /// queue insert and pop (`cart_burst`, `big_spender`: one in eight events).
    fn fires_at_once(&self, t: TriggerId, at: i64) -> bool {
        self.program
            .trigger(t)
            .steps
            .first()
            .is_some_and(|s| s.wait == 0)
            && self.state.timers.next_due().is_none_or(|due| due > at)
    }

    /// Start `t` for `c` on `e` and fire its first step now ([`Self::fires_at_once`]).
    /// The step's guard and gate are decided before the instance is set up
    /// ([`Self::check_first_step`]).
    fn start_at_once(&mut self, t: TriggerId, c: CustomerId, e: &Event, out: &mut dyn Output) {
        let Some(checks) = self.check_first_step(t, c, e.ts, |rt, g| rt.eval_started(c, g, e), out)
        else {
            return;
        };
        if let Some(slot) = self.begin_instance(t, c, e.ts, Start::Event(StartEvent::new(e))) {
            self.fire_step(slot, e.ts, checks, out);
        }
    }

    /// Whether the `where` `filter` of a start pattern of `t` holds for `e` (an error
    /// is reported and does not hold).
    #[inline(always)]
    fn holds(
        &mut self,
        t: TriggerId,
        c: CustomerId,
        e: &Event,
        filter: Option<ExprId>,
        out: &mut dyn Output,
    ) -> bool {
        match filter {
            None => true,
            Some(f) => match self.eval_event(c, f, e) {
                Ok(v) => is_true(&v),
                Err(err) => {
                    self.report_error(Some(t), err, c, e.ts, out);
                    false
                }
            },
        }
    }

    /// Whether the instances a fan-out of `t` at `at` starts (from an event of the
    /// key `c`, for `customers`) may fire right away instead of through the queue.
    ///
    /// They would all be due at `at`, and fire in step (3) one after the other in
    /// fan-out order. Firing them during step (2) gives the same output when nothing
    /// else can come between or before them: no queued timer is due by `at` (so no
    /// trigger firing earlier in this instant has armed one), the trigger has one
    /// step without `wait` whose actions only hand out records (no `set profile`, no
    /// `enroll`: nothing the triggers after it in step (2) could see), and the
    /// event's own key is not among the customers (its entry is still in use).
    fn fans_out_at_once(
        &self,
        t: TriggerId,
        c: CustomerId,
        at: i64,
        customers: &[CustomerId],
    ) -> bool {
        let one_step = match self.program.trigger(t).steps.as_slice() {
            [step] => {
                step.wait == 0
                    && step.actions.iter().all(|a| {
                        matches!(
                            a.kind,
                            ActionKind::Webhook { .. }
                                | ActionKind::Email { .. }
                                | ActionKind::Emit { .. }
                        )
                    })
            }
            _ => false,
        };
        one_step
            && self.state.timers.next_due().is_none_or(|due| due > at)
            && !customers.contains(&c)
    }
}
