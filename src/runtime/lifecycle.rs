//! The life of a trigger instance: starting one per the trigger's `reentry`
//! (reusing, skipping or adding a slot, keeping the starting event's fields it will
//! read), ending it, and freeing a key that then holds nothing.

use std::sync::Arc;

use super::customer::REAL;
use super::instance::NIL;
use super::plan::PARALLEL_BOUND;
use super::state::CustomerId;
use super::{Event, Runtime};
use crate::interp::Value;
use crate::ir::{EventId, Reentry, TriggerId};

impl Runtime<'_> {
    /// Start an instance of `t` for `c` at `at`, per the trigger's `reentry`, and
    /// arm its first step.
    pub(super) fn start_instance(
        &mut self,
        t: TriggerId,
        c: CustomerId,
        at: i64,
        start: Start<'_>,
    ) {
        if let Some(slot) = self.begin_instance(t, c, at, start) {
            let wait = self.program.trigger(t).steps.first().map_or(0, |s| s.wait);
            self.arm(slot, at.saturating_add(wait));
        }
    }

    /// Set up an instance of `t` for `c` at step 1 (per `reentry`), without arming
    /// it; `None` when `reentry` says no. The slot is marked changed by what the
    /// caller does next, always: arming it ([`Self::arm`]) or firing its step at
    /// once ([`Self::fire_step`], which arms the next step or ends the instance).
    pub(super) fn begin_instance(
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
        let mut head = None;
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
                    // The new slot links to the old head (below).
                    head = Some(std::mem::replace(&mut cust.instances, slot));
                } else if let Some(prev) = st.instances.get_mut(last) {
                    prev.next = slot;
                    st.instances.mark(last);
                }
                slot
            }
        };
        let seq = st.next_instance;
        st.next_instance += 1;
        st.stats.instances_started += 1;
        let inst = st.instances.get_mut(slot)?;
        if let Some(head) = head {
            inst.next = head;
        }
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

    /// Whether `c`'s list holds an instance of `t`.
    pub(super) fn holds_instance(&self, c: CustomerId, t: TriggerId) -> bool {
        let st = &self.state;
        let mut cur = match st.customers.get(c) {
            Some(cust) if cust.may_have(t) => cust.instances,
            _ => return false,
        };
        while let Some(inst) = st.instances.get(cur) {
            if inst.trigger == t {
                return true;
            }
            cur = inst.next;
        }
        false
    }

    /// Unlink the instance in `slot` from its customer and vacate the slot.
    pub(super) fn end_instance(&mut self, slot: u32) {
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
                let mut relinked = None;
                while let Some(prev) = st.instances.get_mut(cur) {
                    if prev.next == slot {
                        prev.next = next;
                        relinked = Some(cur);
                        break;
                    }
                    cur = prev.next;
                }
                if let Some(prev) = relinked {
                    st.instances.mark(prev);
                }
            }
        }
        st.instances.free(slot);
        st.instances.mark(slot);
    }

    /// Free `c`'s entry if it holds nothing any more (docs/LANGUAGE.md: a key with no
    /// pending work and no state costs no memory). With schedules, real customers
    /// are kept: a schedule visits every customer seen so far.
    #[inline(always)]
    pub(super) fn maybe_free(&mut self, c: CustomerId, now: i64) {
        if c == self.in_process {
            // Its event is still being handled; `process_event` frees it at the end.
            return;
        }
        let keep_real = !self.plan.schedules.is_empty();
        let Some(cust) = self.state.customers.get(c) else {
            return;
        };
        if cust.instances != NIL || (keep_real && cust.flags & REAL != 0) {
            return;
        }
        self.free_if_empty(c, now);
    }

    /// [`Self::maybe_free`] of a customer with no instance (and not kept for
    /// schedules): free it unless its state or gates hold something.
    fn free_if_empty(&mut self, c: CustomerId, now: i64) {
        let program = self.program;
        let st = &mut self.state;
        let Some(cust) = st.customers.get_mut(c) else {
            return;
        };
        cust.data.expire(program, now);
        if !cust.data.holds_only_gates() || cust.data.prune_gates(program, now) {
            return;
        }
        // The id may go to another key: no value kept for this one may outlive it.
        if let Some(memo) = self.agg_memo.as_deref_mut() {
            memo.invalidate();
        }
        st.customers.remove(c);
    }
}

/// The event an instance starts on, with the fields it keeps when they are already
/// shared (a fan-out starts many instances on one event).
#[derive(Clone, Copy)]
pub(super) struct StartEvent<'e> {
    pub(super) event: &'e Event,
    pub(super) shared: Option<&'e Arc<[Value]>>,
}

impl<'e> StartEvent<'e> {
    pub(super) fn new(event: &'e Event) -> StartEvent<'e> {
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
pub(super) fn kept_fields<'e>(plan: &super::plan::Plan, t: TriggerId, e: &'e Event) -> &'e [Value] {
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
