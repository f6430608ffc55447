//! Trigger instances at work (LANGUAGE.md §5): what one event does to a key
//! (ingest, end, start), what a due timer does (guard, cooldown/limit, actions, next
//! step), schedules, fan-out and enrollment, and freeing keys that hold nothing.

use std::sync::Arc;

use super::customer::REAL;
use super::ids::{ActionIdParts, action_id};
use super::instance::{NIL, TimerRef, TimerTarget, next_generation, tie};
use super::plan::{ENDS, PARALLEL_BOUND, STARTS};
use super::scope::{Bound, Context, IngestEval};
use super::state::CustomerId;
use super::timers::{Tie, TimerQueue};
use super::{ActionBody, ActionRecord, Event, Notice, Output, Recipient, Runtime};
use crate::interp::is_true;
use crate::interp::{EvalError, Value};
use crate::ir::{ActionKind, EventId, Expr, Payload, Reentry, StartIr, TriggerId};

/// Queue entries beyond twice the live ones (plus this slack) trigger a compaction.
const COMPACT_SLACK: usize = 4096;

impl<Q> Runtime<'_, Q>
where
    Q: TimerQueue<TimerRef> + Default,
{
    /// Steps (1) and (2) of the processing order for one event.
    pub(super) fn process_event(&mut self, e: &Event, out: &mut dyn Output) {
        let program = self.program;
        let Some(edef) = program.events.get(e.kind.index()) else {
            return;
        };
        let c = self.state.customers.lookup_or_insert(&e.key);

        // (1) profile, states and aggregates take the event in.
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
            // What triggers before `t` at this instant started without a `wait`
            // fires before `t` matches (LANGUAGE.md §5: the same instant runs by
            // priority, then name), so `t`'s patterns see their actions.
            if self.quiet_until <= e.ts {
                self.fire_queued(e.ts, tie(self.plan.rank(t), 0), out);
            }
            if roles & ENDS != 0 {
                self.end_matching(t, c, e, out);
            }
            if roles & STARTS != 0 {
                self.start_on_event(t, c, e, out);
            }
        }
        self.in_process = CustomerId(NIL);
        self.maybe_free(c, e.ts);
    }

    /// End `c`'s instances of `t` whose `exit on` or current-step `unless` matches `e`.
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
    fn start_on_event(&mut self, t: TriggerId, c: CustomerId, e: &Event, out: &mut dyn Output) {
        let program = self.program;
        let def = program.trigger(t);
        let StartIr::On(patterns) = &def.start else {
            return;
        };
        let mut matched = false;
        for p in patterns.iter().filter(|p| p.event == e.kind) {
            matched = match p.filter {
                None => true,
                Some(f) => match self.eval_event(c, f, e) {
                    Ok(v) => is_true(&v),
                    Err(err) => {
                        self.report_error(Some(t), err, c, e.ts, out);
                        false
                    }
                },
            };
            if matched {
                break;
            }
        }
        if !matched {
            return;
        }
        match &def.fan_out {
            None if self.fires_at_once(t, e.ts) => {
                let start = Start::Event(StartEvent::new(e));
                if let Some(slot) = self.begin_instance(t, c, e.ts, start) {
                    self.fire_step(slot, e.ts, out);
                }
            }
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
                            self.fire_step(slot, e.ts, out);
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
            && self
                .state
                .timers
                .due_lower_bound()
                .is_none_or(|due| due > at)
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
            && self
                .state
                .timers
                .due_lower_bound()
                .is_none_or(|due| due > at)
            && !customers.contains(&c)
    }

    /// Start an instance of `t` for `c` at `at`, per the trigger's `reentry`, and
    /// arm its first step.
    fn start_instance(&mut self, t: TriggerId, c: CustomerId, at: i64, start: Start<'_>) {
        if let Some(slot) = self.begin_instance(t, c, at, start) {
            let wait = self.program.trigger(t).steps.first().map_or(0, |s| s.wait);
            self.arm(slot, at.saturating_add(wait));
        }
    }

    /// Set up an instance of `t` for `c` at step 1 (per `reentry`), without arming
    /// it; `None` when `reentry` says no.
    fn begin_instance(
        &mut self,
        t: TriggerId,
        c: CustomerId,
        at: i64,
        start: Start<'_>,
    ) -> Option<u32> {
        let program = self.program;
        let def = program.trigger(t);
        let st = &mut self.state;
        let cust = st.customers.get(c)?;
        // Only `parallel` needs the count: `restart` and `skip` stop at the first
        // instance of `t` (the tail is needed only when a new slot is linked in).
        let counts = matches!(def.reentry, Reentry::Parallel);
        let (mut count, mut first, mut last) = (0usize, NIL, NIL);
        // Not in `t` yet (the common start): no walk, and the new instance goes first
        // in the list. Only the order among one trigger's instances means anything
        // (`parallel` ones end in creation order), and that is kept: later ones of
        // `t` are appended behind it.
        let at_head = !cust.may_have(t);
        let mut cur = if at_head { NIL } else { cust.instances };
        while let Some(inst) = st.instances.get(cur) {
            if inst.trigger == t {
                count += 1;
                if first == NIL {
                    first = cur;
                    if !counts {
                        break;
                    }
                }
            }
            last = cur;
            cur = inst.next;
        }
        let slot = match def.reentry {
            Reentry::Restart if first != NIL => first,
            Reentry::Skip if count > 0 => {
                st.stats.skipped += 1;
                return None;
            }
            Reentry::Parallel if count >= PARALLEL_BOUND => {
                st.stats.parallel_dropped += 1;
                return None;
            }
            _ => {
                let slot = st.instances.alloc(t, c);
                let cust = st.customers.get_mut(c)?;
                cust.note_active(t);
                if at_head || last == NIL {
                    let head = std::mem::replace(&mut cust.instances, slot);
                    if let Some(inst) = st.instances.get_mut(slot) {
                        inst.next = head;
                    }
                } else if let Some(prev) = st.instances.get_mut(last) {
                    prev.next = slot;
                }
                slot
            }
        };
        let seq = st.next_instance;
        st.next_instance += 1;
        st.stats.instances_started += 1;
        let inst = st.instances.get_mut(slot)?;
        inst.seq = seq;
        inst.step = 0;
        inst.start_ts = at;
        inst.origin = start.origin();
        let start = match start {
            Start::Event(s) => Some(s),
            Start::Schedule | Start::Enroll { .. } => None,
        };
        inst.kind = start.map_or(EventId(NIL), |s| s.event.kind);
        let fields = start.map_or(&[][..], |s| kept_fields(&self.plan, t, s.event));
        match start.and_then(|s| s.shared) {
            Some(shared) if shared.len() == fields.len() => inst.fields = Some(Arc::clone(shared)),
            // A restart reuses the slot: its own copy is overwritten in place.
            _ => st.instances.keep_fields(slot, fields),
        }
        Some(slot)
    }

    /// Set the instance in `slot` waiting for its current step, due at `due`.
    fn arm(&mut self, slot: u32, due: i64) {
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
            .due_lower_bound()
            .unwrap_or(i64::MAX)
            .max(limit.saturating_add(1));
    }

    /// Fire, in (due, tie) order, the timers due before `limit` or at it with a tie
    /// below `before`.
    fn fire_queued(&mut self, limit: i64, before: Tie, out: &mut dyn Output) {
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
                        continue; // the instance ended while waiting
                    }
                    if (inst.due, inst.tie) != (d.due, d.tie) {
                        // Re-armed (restart) after this entry was queued.
                        inst.has_entry = true;
                        let (due, tie) = (inst.due, inst.tie);
                        self.state.timers.insert(due, tie, d.value);
                        self.quiet_until = self.quiet_until.min(due);
                        continue;
                    }
                    self.fire_step(slot, d.due, out);
                }
            }
        }
    }

    /// Queue each scheduled trigger's first instant after `watermark`.
    pub(super) fn start_schedules(&mut self, watermark: i64) {
        for i in 0..self.plan.schedules.len() {
            let Some((t, schedule)) = self.plan.schedules.get(i) else {
                break;
            };
            if let Some(next) = schedule.next_after(watermark) {
                let tie = tie(self.plan.rank(*t), self.state.next_timer);
                self.state.next_timer += 1;
                self.state.timers.insert(next, tie, TimerRef::schedule(*t));
                self.quiet_until = self.quiet_until.min(next);
            }
        }
    }

    /// A schedule instant: start the trigger for every customer seen so far (first
    /// seen first), then queue the next instant.
    ///
    /// A one-step trigger without `wait` and without `enroll` fires each customer's
    /// instance right away instead of queueing a timer per customer: nothing can run
    /// between those timers (they are due now, with this trigger's priority, and an
    /// action touches only its own key), so the output is the same, without
    /// 100k queue operations per nightly instant.
    fn run_schedule(&mut self, t: TriggerId, at: i64, out: &mut dyn Output) {
        let def = self.program.trigger(t);
        let at_once = match def.steps.as_slice() {
            [step] => {
                step.wait == 0
                    && !step
                        .actions
                        .iter()
                        .any(|a| matches!(a.kind, ActionKind::Enroll { .. }))
            }
            _ => false,
        };
        let customers: Vec<CustomerId> = self
            .state
            .customers
            .ids()
            .filter(|&c| {
                self.state
                    .customers
                    .get(c)
                    .is_some_and(|x| x.flags & REAL != 0)
            })
            .collect();
        let guard = def.steps.first().and_then(|s| s.guard).filter(|_| at_once);
        for c in customers {
            if at_once {
                // Most customers fail a schedule's guard (`nightly_win_back` visits
                // everyone every night): then the instance would only be set up to be
                // dropped again, so skip it. An error goes the full way, which
                // reports it.
                if let Some(guard) = guard
                    && self
                        .eval_scheduled(c, guard, at)
                        .is_ok_and(|v| !is_true(&v))
                {
                    self.state.stats.instances_started += 1;
                    continue;
                }
                if let Some(slot) = self.begin_instance(t, c, at, Start::Schedule) {
                    self.fire_step(slot, at, out);
                }
            } else {
                self.start_instance(t, c, at, Start::Schedule);
            }
        }
        let next = self
            .plan
            .schedules
            .iter()
            .find(|(s, _)| *s == t)
            .and_then(|(_, s)| s.next_after(at));
        if let Some(next) = next {
            let tie = tie(self.plan.rank(t), self.state.next_timer);
            self.state.next_timer += 1;
            self.state.timers.insert(next, tie, TimerRef::schedule(t));
            self.quiet_until = self.quiet_until.min(next);
        }
    }

    /// The current step of the instance in `slot` is due at `at` (LANGUAGE.md §5.3).
    fn fire_step(&mut self, slot: u32, at: i64, out: &mut dyn Output) {
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
        if let Some(guard) = step.guard {
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
        if def.cooldown.is_some() || def.limit.is_some() {
            let st = &mut self.state;
            let admitted = st
                .customers
                .get_mut(c)
                .is_none_or(|cust| cust.data.admit(t, def.cooldown, def.limit, at));
            if !admitted {
                st.stats.suppressed += 1;
                self.end_instance(slot);
                self.maybe_free(c, at);
                return;
            }
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

    /// Run one action of the instance in `slot` and hand its record out.
    fn run_action(
        &mut self,
        slot: u32,
        step_ix: usize,
        index: usize,
        action: &ActionKind,
        at: i64,
        out: &mut dyn Output,
    ) -> Result<(), EvalError> {
        let program = self.program;
        let Some(inst) = self.state.instances.get(slot) else {
            return Ok(());
        };
        let c = inst.customer;
        let body = match action {
            ActionKind::Webhook { url, payload } => ActionBody::Webhook {
                url,
                payload: self.payload(slot, payload, at)?,
            },
            ActionKind::Emit { name, payload } => ActionBody::Emit {
                name,
                payload: self.payload(slot, payload, at)?,
            },
            ActionKind::Email {
                template,
                to,
                payload,
            } => {
                let to = match (to, self.plan.email) {
                    (Some(e), _) => Recipient::Value(self.eval_instance(slot, *e, at, None)?),
                    (None, Some(field)) => Recipient::Value(
                        self.state
                            .customers
                            .get(c)
                            .map_or(Value::None, |x| x.data.profile(field)),
                    ),
                    // Filled in with the key by `emit`.
                    (None, None) => Recipient::Key(""),
                };
                ActionBody::Email {
                    template,
                    to,
                    payload: self.payload(slot, payload, at)?,
                }
            }
            ActionKind::SetProfile { field, value } => {
                let value = self.eval_instance(slot, *value, at, None)?;
                if let Some(cust) = self.state.customers.get_mut(c) {
                    cust.data.set_profile(*field, value.clone());
                }
                let name = program
                    .profile
                    .get(field.index())
                    .map_or("", |f| f.name.as_str());
                ActionBody::Set { field: name, value }
            }
            ActionKind::Enroll { trigger } => {
                let st = &mut self.state;
                let chained = st
                    .instances
                    .get(slot)
                    .is_some_and(|i| i.start_kind().is_none() && i.start_ts == at);
                if chained && !st.enrolls.admit(st.customers.key(c), at) {
                    st.stats.enrolls_dropped += 1;
                    return Ok(());
                }
                ActionBody::Enroll {
                    trigger_started: program
                        .triggers
                        .get(trigger.index())
                        .map_or("", |d| &d.name),
                }
            }
        };
        let id = self.emit(slot, step_ix, index, at, body, out);
        if let ActionKind::Enroll { trigger } = action
            && matches!(
                program.triggers.get(trigger.index()).map(|d| &d.start),
                Some(StartIr::Enroll)
            )
        {
            self.start_instance(*trigger, c, at, Start::Enroll { by: id });
        }
        Ok(())
    }

    /// A payload: the `with` object, or the starting event's present fields in
    /// declaration order (`{}` without a starting event).
    fn payload(&mut self, slot: u32, payload: &Payload, at: i64) -> Result<Value, EvalError> {
        // Within a fan-out, a payload that does not read the customer is the same
        // for every record: built by the first, shared (one `Arc`) by the rest. An
        // error is not kept: each record meets it again, as without sharing.
        let shared_as = match payload {
            Payload::Object(e) if !self.plan.reads_customer(*e) => Some(e.index()),
            Payload::Object(_) => None,
            Payload::StartEvent => Some(usize::MAX),
        };
        if let (Some(id), Some(shared)) = (shared_as, &self.shared_payloads)
            && let Some((_, v)) = shared.iter().find(|(x, _)| *x == id)
        {
            return Ok(v.clone());
        }
        let value = self.build_payload(slot, payload, at)?;
        if let (Some(id), Some(shared)) = (shared_as, &mut self.shared_payloads) {
            shared.push((id, value.clone()));
        }
        Ok(value)
    }

    fn build_payload(&mut self, slot: u32, payload: &Payload, at: i64) -> Result<Value, EvalError> {
        let program = self.program;
        match payload {
            Payload::Object(e) => {
                match (program.exprs.get(e.index()), self.plan.object_keys(*e)) {
                    // The object built here with its keys interned once (by the plan),
                    // not on every record; values are evaluated in order as the
                    // evaluator would, and the first error ends it the same way.
                    (Some(Expr::Object(entries)), Some(keys)) if keys.len() == entries.len() => {
                        let mut members = Vec::with_capacity(entries.len());
                        for ((_, value), key) in entries.iter().zip(keys.iter()) {
                            members.push((*key, self.eval_instance(slot, *value, at, None)?));
                        }
                        Ok(Value::Object(Arc::new(members)))
                    }
                    _ => self.eval_instance(slot, *e, at, None),
                }
            }
            Payload::StartEvent => {
                let Some(inst) = self.state.instances.get(slot) else {
                    return Ok(Value::None);
                };
                let names = inst
                    .start_kind()
                    .and_then(|k| self.plan.field_names.get(k.index()));
                let members = match names {
                    Some(names) => names
                        .iter()
                        .zip(inst.fields().iter())
                        .filter(|(_, v)| **v != Value::None)
                        .map(|(n, v)| (*n, v.clone()))
                        .collect(),
                    None => Vec::new(),
                };
                Ok(Value::Object(Arc::new(members)))
            }
        }
    }

    /// Hand one record to `out` and count it; its id.
    fn emit(
        &mut self,
        slot: u32,
        step_ix: usize,
        index: usize,
        at: i64,
        body: ActionBody<'_>,
        out: &mut dyn Output,
    ) -> u128 {
        let program = self.program;
        let st = &mut self.state;
        let Some(inst) = st.instances.get(slot) else {
            return 0;
        };
        let t = inst.trigger;
        let key = st.customers.key(inst.customer);
        let name = program.trigger(t).name.as_str();
        let step = u32::try_from(step_ix + 1).unwrap_or(u32::MAX);
        let action_index = u32::try_from(index).unwrap_or(u32::MAX);
        let id = action_id(ActionIdParts {
            trigger: name,
            key,
            start_ts: inst.start_ts,
            origin: inst.origin,
            step,
            action: action_index,
        });
        let body = match body {
            ActionBody::Email {
                template,
                to: Recipient::Key(_),
                payload,
            } => ActionBody::Email {
                template,
                to: Recipient::Key(key),
                payload,
            },
            body => body,
        };
        let record = ActionRecord {
            trigger: name,
            step,
            trigger_id: t,
            action_index,
            key,
            at,
            id,
            body,
        };
        out.action(&record, program, &st.interner);
        if let Some(n) = st.stats.actions.get_mut(t.index()) {
            *n += 1;
        }
        id
    }

    /// Unlink the instance in `slot` from its customer and vacate the slot.
    fn end_instance(&mut self, slot: u32) {
        let st = &mut self.state;
        let Some(inst) = st.instances.get(slot) else {
            return;
        };
        if !inst.live {
            return;
        }
        let (c, next, t) = (inst.customer, inst.next, inst.trigger);
        let parallel = matches!(self.program.trigger(t).reentry, Reentry::Parallel);
        if let Some(cust) = st.customers.get_mut(c) {
            if !parallel {
                cust.note_inactive(t);
            }
            if cust.instances == slot {
                cust.instances = next;
            } else {
                let mut cur = cust.instances;
                while let Some(prev) = st.instances.get_mut(cur) {
                    if prev.next == slot {
                        prev.next = next;
                        break;
                    }
                    cur = prev.next;
                }
            }
        }
        st.instances.free(slot);
    }

    /// Free `c`'s entry if it holds nothing any more (LANGUAGE.md: a key with no
    /// pending work and no state costs no memory). With schedules, real customers
    /// are kept: a schedule visits every customer seen so far.
    fn maybe_free(&mut self, c: CustomerId, now: i64) {
        if c == self.in_process {
            // Its event is still being handled; `process_event` frees it at the end.
            return;
        }
        let program = self.program;
        let keep_real = !self.plan.schedules.is_empty();
        let st = &mut self.state;
        let Some(cust) = st.customers.get_mut(c) else {
            return;
        };
        if cust.instances != NIL || (keep_real && cust.flags & REAL != 0) {
            return;
        }
        cust.data.expire(program, now);
        if !cust.data.holds_only_gates() || cust.data.prune_gates(program, now) {
            return;
        }
        st.customers.remove(c);
    }

    /// Evaluate `expr` for the instance in `slot` (its starting event bound).
    fn eval_instance(
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
        cx.eval(&mut st.interner, data, key, now, start, current, expr)
    }

    /// Evaluate `expr` for `c` as an instance a schedule starts at `at` would (no
    /// starting event, `now` = `at`), without setting the instance up.
    fn eval_scheduled(
        &mut self,
        c: CustomerId,
        expr: crate::ir::ExprId,
        at: i64,
    ) -> Result<Value, EvalError> {
        self.eval_for(c, expr, at, None)
    }

    /// Evaluate `expr` with `e` bound both as the matched and the starting event.
    fn eval_event(
        &mut self,
        c: CustomerId,
        expr: crate::ir::ExprId,
        e: &Event,
    ) -> Result<Value, EvalError> {
        self.eval_for(c, expr, e.ts, Some((e.kind, e.ts, &e.fields[..])))
    }

    /// Evaluate `expr` for `c` at `now`, `bound` being both the starting and the
    /// matched event.
    fn eval_for(
        &mut self,
        c: CustomerId,
        expr: crate::ir::ExprId,
        now: i64,
        bound: Bound<'_>,
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
        cx.eval(&mut st.interner, data, key, now, bound, bound, expr)
    }

    // Cold: kept out of the hot functions' instruction stream (every caller is a
    // rare error branch).
    #[cold]
    #[inline(never)]
    fn report_error(
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

/// The event an instance starts on, with the fields it keeps when they are already
/// shared (a fan-out starts many instances on one event).
#[derive(Clone, Copy)]
pub(super) struct StartEvent<'e> {
    event: &'e Event,
    shared: Option<&'e Arc<[Value]>>,
}

impl<'e> StartEvent<'e> {
    fn new(event: &'e Event) -> StartEvent<'e> {
        StartEvent {
            event,
            shared: None,
        }
    }
}

/// What starts an instance.
#[derive(Clone, Copy)]
pub(super) enum Start<'e> {
    Event(StartEvent<'e>),
    /// A schedule instant (`every`, `cron`): no starting event.
    Schedule,
    /// `enroll`, by the action with id `by`.
    Enroll {
        by: u128,
    },
}

impl Start<'_> {
    /// The instance's [`Instance::origin`](super::instance::Instance::origin).
    fn origin(self) -> u64 {
        match self {
            Start::Event(s) => s.event.origin,
            Start::Schedule => 0,
            Start::Enroll { by } => (by as u64) ^ ((by >> 64) as u64),
        }
    }
}

/// The fields of `e` an instance of `t` keeps: up to the last one read after the
/// start, without trailing absent ones (a missing slot reads as absent).
fn kept_fields<'e>(plan: &super::plan::Plan, t: TriggerId, e: &'e Event) -> &'e [Value] {
    let keep = plan
        .keep
        .get(t.index())
        .and_then(|k| k.get(e.kind.index()))
        .copied()
        .unwrap_or(0);
    let mut fields = e.fields.get(..keep.min(e.fields.len())).unwrap_or_default();
    while let [rest @ .., Value::None] = fields {
        fields = rest;
    }
    fields
}
