//! Timers at work: arming an instance's next step, compacting the queue of
//! superseded entries, popping what is due in (due, tie) order, and firing a step
//! (guard, cooldown/limit, actions, then the next step or the end).

use super::instance::{TimerRef, TimerTarget, next_generation, tie};
use super::state::CustomerId;
use super::timers::Tie;
use super::{Output, Runtime};
use crate::interp::{EvalError, Value, is_true};
use crate::ir::{ExprId, TriggerId};

/// What of a step's conditions [`Runtime::fire_step`] still checks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Checks {
    /// The guard, then the cooldown and limit.
    Pending,
    /// Both passed just before the instance was set up, at the same instant with the
    /// same bindings, and the firing is recorded in the gate
    /// ([`Runtime::check_first_step`]).
    Passed,
}

/// Queue entries beyond twice the live ones (plus this slack) trigger a compaction.
const COMPACT_SLACK: usize = 4096;

impl Runtime<'_> {
    /// Set the instance in `slot` waiting for its current step, due at `due`.
    pub(super) fn arm(&mut self, slot: u32, due: i64) {
        let st = &mut self.state;
        let seq = st.next_timer;
        st.next_timer += 1;
        let Some(inst) = st.instances.get_mut(slot) else {
            return;
        };
        let tie = tie(self.plan.rank(inst.trigger), seq);
        if inst.has_entry && (due, tie) >= (inst.due, inst.tie) {
            // The live entry pops first; it is re-queued then at the real due.
            inst.due = due;
            inst.tie = tie;
            st.instances.mark(slot);
            return;
        }
        if inst.has_entry {
            inst.generation = next_generation(inst.generation);
        }
        inst.due = due;
        inst.tie = tie;
        inst.has_entry = true;
        st.timers
            .insert(due, tie, TimerRef::step(slot, inst.generation));
        st.instances.mark(slot);
        self.quiet_until = self.quiet_until.min(due);
        if st.timers.len() > 2 * (st.instances.live() + self.plan.schedules.len()) + COMPACT_SLACK {
            self.compact_timers();
        }
    }

    /// Drop superseded and orphaned queue entries (rebuilding the queue).
    #[cold]
    #[inline(never)]
    fn compact_timers(&mut self) {
        self.quiet_until = i64::MIN;
        let st = &mut self.state;
        let mut old = std::mem::take(&mut st.timers);
        while let Some(d) = old.pop_due(i64::MAX) {
            match d.value.target() {
                TimerTarget::Schedule(_) => st.timers.insert(d.due, d.tie, d.value),
                TimerTarget::Step { slot, generation } => {
                    if let Some(inst) = st.instances.get_mut(slot)
                        && inst.generation == generation
                        && inst.has_entry
                    {
                        if inst.live {
                            st.timers.insert(d.due, d.tie, d.value);
                        } else {
                            inst.has_entry = false;
                            st.instances.mark(slot);
                        }
                    }
                }
            }
        }
    }

    /// Fire every timer due at or before `limit`, in (due, tie) order.
    pub(super) fn fire_due(&mut self, limit: i64, out: &mut dyn Output) {
        if limit < self.quiet_until {
            return;
        }
        self.fire_queued(limit, Tie::MAX, out);
        // Everything due by `limit` has fired (including what firing armed).
        self.quiet_until = self
            .state
            .timers
            .next_due()
            .unwrap_or(i64::MAX)
            .max(limit.saturating_add(1));
    }

    /// Fire, in (due, tie) order, the timers due before `limit` or at it with a tie
    /// below `before`.
    pub(super) fn fire_queued(&mut self, limit: i64, before: Tie, out: &mut dyn Output) {
        while let Some(d) = self.state.timers.pop_due_before(limit, before) {
            match d.value.target() {
                TimerTarget::Schedule(t) => self.run_schedule(t, d.due, out),
                TimerTarget::Step { slot, generation } => {
                    let Some(inst) = self.state.instances.get_mut(slot) else {
                        continue;
                    };
                    if inst.generation != generation || !inst.has_entry {
                        continue; // superseded by an earlier entry
                    }
                    inst.has_entry = false;
                    if !inst.live {
                        self.state.instances.mark(slot);
                        continue; // the instance ended while waiting
                    }
                    // A live slot is marked where firing changes it (arming the
                    // next step, ending it), or keeps its entry (re-queued below).
                    if (inst.due, inst.tie) != (d.due, d.tie) {
                        // Re-armed (restart) after this entry was queued.
                        inst.has_entry = true;
                        let (due, tie) = (inst.due, inst.tie);
                        self.state.timers.insert(due, tie, d.value);
                        self.quiet_until = self.quiet_until.min(due);
                        continue;
                    }
                    self.fire_step(slot, d.due, Checks::Pending, out);
                }
            }
        }
    }

    /// The current step of the instance in `slot` is due at `at` (docs/LANGUAGE.md §5.2).
    pub(super) fn fire_step(&mut self, slot: u32, at: i64, checks: Checks, out: &mut dyn Output) {
        let program = self.program;
        let Some(inst) = self.state.instances.get(slot) else {
            return;
        };
        let (t, c, step_ix, seq) = (inst.trigger, inst.customer, inst.step as usize, inst.seq);
        let def = program.trigger(t);
        let Some(step) = def.steps.get(step_ix) else {
            self.end_instance(slot);
            return;
        };
        if let (Checks::Pending, Some(guard)) = (checks, step.guard) {
            match self.eval_instance(slot, guard, at, None) {
                Ok(v) if is_true(&v) => {}
                Ok(_) => {
                    self.end_instance(slot);
                    self.maybe_free(c, at);
                    return;
                }
                Err(err) => {
                    self.report_error(Some(t), err, c, at, out);
                    self.end_instance(slot);
                    self.maybe_free(c, at);
                    return;
                }
            }
        }
        if checks == Checks::Pending && !self.admit(t, c, at) {
            self.end_instance(slot);
            self.maybe_free(c, at);
            return;
        }
        for (index, action) in step.actions.iter().enumerate() {
            if let Err(err) = self.run_action(slot, step_ix, index, &action.kind, at, out) {
                self.report_error(Some(t), err, c, at, out);
                self.end_instance(slot);
                self.maybe_free(c, at);
                return;
            }
            // An `enroll` of this very trigger restarts this instance: stop here.
            if !self
                .state
                .instances
                .get(slot)
                .is_some_and(|i| i.live && i.seq == seq)
            {
                return;
            }
        }
        match def.steps.get(step_ix + 1) {
            Some(next) => {
                if let Some(inst) = self.state.instances.get_mut(slot) {
                    inst.step += 1;
                }
                self.arm(slot, at.saturating_add(next.wait));
            }
            None => {
                self.end_instance(slot);
                self.maybe_free(c, at);
            }
        }
    }

    /// Whether `t`'s cooldown and limit let a step fire for `c` at `at` (recording
    /// the firing if so; counting a suppression if not).
    fn admit(&mut self, t: TriggerId, c: CustomerId, at: i64) -> bool {
        let def = self.program.trigger(t);
        if def.cooldown.is_none() && def.limit.is_none() {
            return true;
        }
        let st = &mut self.state;
        let admitted = st
            .customers
            .get_mut(c)
            .is_none_or(|cust| cust.data.admit(t, def.cooldown, def.limit, at));
        if !admitted {
            st.stats.suppressed += 1;
        }
        admitted
    }

    /// Decide the first step of `t` for `c` at `at` before its instance is set up,
    /// for a caller that fires that step as the instance starts; `eval` evaluates the
    /// guard as the instance would. Most such starts fail the guard or the gate (a
    /// broad `on ADD_TO_CART` with `if count(...) >= 3`, a `cooldown 24h`), and
    /// setting an instance up only to end it again is most of what they cost
    /// (BENCHMARKS.md, "Figures behind choices"). Only when `c` holds no instance of
    /// `t`: then a new one would be set up whatever the `reentry`; with one held,
    /// `reentry` decides first (a `skip` never evaluates the guard, a `restart` ends
    /// the held instance when it fails). `None`: the start ends here, counted as it
    /// would have been; otherwise what `fire_step` still checks.
    pub(super) fn check_first_step(
        &mut self,
        t: TriggerId,
        c: CustomerId,
        at: i64,
        eval: impl FnOnce(&mut Self, ExprId) -> Result<Value, EvalError>,
        out: &mut dyn Output,
    ) -> Option<Checks> {
        let def = self.program.trigger(t);
        let guard = def.steps.first().and_then(|s| s.guard);
        let gated = def.cooldown.is_some() || def.limit.is_some();
        if !(guard.is_some() || gated) || self.holds_instance(c, t) {
            return Some(Checks::Pending);
        }
        let passed = match guard {
            None => true,
            Some(g) => match self.direct_guard(t, c, at) {
                Some(verdict) => verdict,
                None => match eval(self, g) {
                    Ok(v) => is_true(&v),
                    Err(err) => {
                        self.report_error(Some(t), err, c, at, out);
                        false
                    }
                },
            },
        };
        if !passed || !self.admit(t, c, at) {
            // Counted as the instance set up and ended at once would have been.
            self.state.stats.instances_started += 1;
            return None;
        }
        Some(Checks::Passed)
    }
}
