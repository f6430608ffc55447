//! Trigger instances: one running copy of a trigger for one customer (docs/LANGUAGE.md
//! §5), stored in a slab of compact fixed-size slots, and the [`TimerRef`] that a
//! pending step's timer carries.
//!
//! Every live instance is waiting for exactly one step timer (a step without `wait`
//! is due at once), so "timers pending" is the number of live instances.
//!
//! Cancellation is lazy (the timer queue never searches): a slot owns at most one
//! live queue entry (`has_entry`), queued at or before the slot's `(due, tie)`. Re-arming an instance for a due at or
//! after its live entry keeps that entry (when it pops early the runtime re-inserts
//! it at the real due), so a `reentry restart` debounce that re-arms on every event
//! adds nothing to the queue. Only re-arming for an EARLIER due supersedes the entry
//! (the slot's `generation` moves on and the old entry is skipped when it pops); the
//! runtime compacts the queue when such dead entries pile up.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::interp::dirty::Dirty;
use crate::interp::{HoldsSyms, Sym, Value};
use crate::ir::{EventId, TriggerId};
use crate::runtime::state::CustomerId;

/// "No slot" in the slab's intrusive lists.
pub const NIL: u32 = u32::MAX;
/// One trigger instance. 80 bytes; the starting event's fields are kept only up to
/// the last one the trigger reads after the start (often none).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Instance {
    pub customer: CustomerId,
    /// Next instance of the same customer (creation order), or next free slot.
    pub next: u32,
    /// Identifies this slot's live queue entry; moves on when the entry is superseded.
    pub generation: u32,
    pub trigger: TriggerId,
    /// Index of the step being waited for (0-based; output numbers steps from 1).
    pub step: u16,
    pub live: bool,
    /// The slot has a live queue entry (with this `generation`), due at or before
    /// `(due, tie)`. It survives the slot being vacated: the next occupant adopts it.
    pub has_entry: bool,
    /// The starting event's type; `EventId(NIL)` for schedule and enroll starts
    /// (see [`Instance::start_kind`]; a plain id keeps the slot small).
    pub kind: EventId,
    /// Instance start time (the starting event's time, the schedule instant, or the
    /// enroll instant).
    pub start_ts: i64,
    /// Instance sequence number, in input order (same-instant order; tells a
    /// restarted instance from the one before).
    pub seq: u64,
    /// What started the instance, for its action ids: the starting event's
    /// [`Event::origin`](crate::runtime::Event::origin), the enrolling action's id
    /// (folded to 64 bits), or 0 for a schedule instant.
    #[serde(default)]
    pub origin: u64,
    /// When the current step is due, and its place among timers due at that instant.
    pub due: i64,
    pub tie: u64,
    /// The starting event's fields by `FieldIdx`, truncated after the last one read
    /// and without trailing absent ones (a missing slot reads as absent); `None`
    /// when that leaves nothing. Shared by the instances of one fan-out.
    pub fields: Option<Arc<[Value]>>,
}

impl Instance {
    /// The starting event's type, if it started on an event.
    pub fn start_kind(&self) -> Option<EventId> {
        (self.kind.0 != NIL).then_some(self.kind)
    }

    /// The kept fields of the starting event (a prefix; see [`Instance::fields`]).
    pub fn fields(&self) -> &[Value] {
        self.fields.as_deref().unwrap_or_default()
    }

    fn vacant(next: u32) -> Instance {
        Instance {
            customer: CustomerId(NIL),
            next,
            generation: 0,
            trigger: TriggerId(NIL),
            step: 0,
            live: false,
            has_entry: false,
            kind: EventId(NIL),
            start_ts: 0,
            seq: 0,
            origin: 0,
            due: 0,
            tie: 0,
            fields: None,
        }
    }
}

/// Kept-field lengths with a spare copy ([`Instances::keep_fields`]).
const SPARE_LENGTHS: usize = 8;

/// The slab of instance slots with a free list (LIFO, so a slot just freed by an
/// `unless` is the one the following restart reuses, together with its queue entry).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Instances {
    slots: Vec<Instance>,
    free: u32,
    live: usize,
    /// By length, the kept fields of the last slot freed with that many, when
    /// nothing else holds them: the next instance keeping as many overwrites them
    /// instead of allocating (a trigger whose step fires at once sets up and ends an
    /// instance per start event: 0.4 allocations and frees per event on the rules/
    /// examples). A cache: not serialised.
    #[serde(skip)]
    spares: [Option<Arc<[Value]>>; SPARE_LENGTHS],
    /// Slots changed since the last incremental checkpoint. Not serialised.
    #[serde(skip)]
    changed: Dirty,
}

impl Instances {
    pub fn new() -> Instances {
        Instances {
            slots: Vec::new(),
            free: NIL,
            live: 0,
            spares: Default::default(),
            changed: Dirty::default(),
        }
    }

    /// A slab of `slots` whose free list starts at `free`, as a checkpoint wrote
    /// them.
    pub fn from_rows(slots: Vec<Instance>, free: u32) -> Instances {
        let live = slots.iter().filter(|i| i.live).count();
        Instances {
            slots,
            free,
            live,
            spares: Default::default(),
            changed: Dirty::default(),
        }
    }

    /// The slots changed since the marks were last taken (see [`Dirty`]).
    pub fn changed(&mut self) -> &mut Dirty {
        &mut self.changed
    }

    /// Make `slot` keep a copy of `fields` (`None` when empty), reusing its own copy
    /// or the spare in place when no one else holds them.
    pub fn keep_fields(&mut self, slot: u32, fields: &[Value]) {
        let Some(inst) = self.slots.get_mut(slot as usize) else {
            return;
        };
        if fields.is_empty() {
            inst.fields = None;
            return;
        }
        if let Some(own) = inst.fields.as_mut().and_then(Arc::get_mut)
            && own.len() == fields.len()
        {
            own.clone_from_slice(fields);
            return;
        }
        let mut spare = self.spares.get_mut(fields.len() - 1).and_then(Option::take);
        if let Some(copy) = spare.as_mut().and_then(Arc::get_mut)
            && copy.len() == fields.len()
        {
            copy.clone_from_slice(fields);
            inst.fields = spare;
        } else {
            inst.fields = Some(fields.into());
        }
    }

    /// Number of live instances (= pending step timers).
    pub fn live(&self) -> usize {
        self.live
    }

    pub fn get(&self, slot: u32) -> Option<&Instance> {
        self.slots.get(slot as usize)
    }

    /// The slot, to change: the caller marks it changed ([`Instances::mark`]).
    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Instance> {
        self.slots.get_mut(slot as usize)
    }

    /// Mark `slot` changed (for incremental checkpoints): the runtime calls it
    /// once where it changes a slot through [`Instances::get_mut`],
    /// [`Instances::alloc`], [`Instances::keep_fields`] or [`Instances::free`]
    /// (arming, ending, relinking), not in those methods: they run several times
    /// per event, and each mark costs a test even in a run that keeps none.
    #[inline(always)]
    pub fn mark(&mut self, slot: u32) {
        self.changed.mark(slot as usize);
    }

    /// A vacant slot, made live for `trigger` and `customer` (the caller marks
    /// it changed). Its queue entry (if the previous occupant left one) is
    /// inherited.
    pub fn alloc(&mut self, trigger: TriggerId, customer: CustomerId) -> u32 {
        let slot = if self.free != NIL {
            let slot = self.free;
            self.free = self.slots.get(slot as usize).map_or(NIL, |s| s.next);
            slot
        } else {
            self.slots.push(Instance::vacant(NIL));
            u32::try_from(self.slots.len() - 1).unwrap_or(NIL)
        };
        if let Some(inst) = self.slots.get_mut(slot as usize) {
            inst.trigger = trigger;
            inst.customer = customer;
            inst.next = NIL;
            inst.live = true;
            self.live += 1;
        }
        slot
    }

    /// Vacate `slot` (already unlinked from its customer's list; the caller marks
    /// it changed). Its queue entry stays valid for a later occupant.
    pub fn free(&mut self, slot: u32) {
        let free = self.free;
        if let Some(inst) = self.slots.get_mut(slot as usize)
            && inst.live
        {
            inst.live = false;
            inst.trigger = TriggerId(NIL);
            inst.customer = CustomerId(NIL);
            inst.kind = EventId(NIL);
            if let Some(mut fields) = inst.fields.take()
                && Arc::get_mut(&mut fields).is_some()
                && let Some(spare) = self.spares.get_mut(fields.len().wrapping_sub(1))
            {
                *spare = Some(fields);
            }
            inst.next = free;
            self.free = slot;
            self.live -= 1;
        }
    }

    /// Shows `mark` every symbol the live instances keep (their starting events'
    /// fields; a vacant slot keeps none).
    pub fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        for inst in self.slots.iter().filter(|i| i.live) {
            inst.fields().visit_syms(mark);
        }
    }

    /// The first free slot (its `next` links the rest), or `NIL`.
    pub fn free_head(&self) -> u32 {
        self.free
    }

    pub fn slots(&self) -> &[Instance] {
        &self.slots
    }

    /// Every slot, to change (all marked changed).
    pub fn slots_mut(&mut self) -> &mut [Instance] {
        self.changed.mark_all();
        &mut self.slots
    }
}

/// What a queued timer refers to, packed into one `u64` so a queue entry stays 24
/// bytes: a step of the instance in a slab slot (with the slot's generation), or the
/// next instant of a scheduled trigger.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerRef(pub u64);

/// A decoded [`TimerRef`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerTarget {
    Step { slot: u32, generation: u32 },
    Schedule(TriggerId),
}

/// Generation value reserved for schedule instants.
const SCHEDULE: u32 = u32::MAX;

impl TimerRef {
    pub fn step(slot: u32, generation: u32) -> TimerRef {
        TimerRef((u64::from(slot) << 32) | u64::from(generation))
    }

    pub fn schedule(trigger: TriggerId) -> TimerRef {
        TimerRef((u64::from(trigger.0) << 32) | u64::from(SCHEDULE))
    }

    pub fn target(self) -> TimerTarget {
        let high = (self.0 >> 32) as u32;
        let low = self.0 as u32;
        if low == SCHEDULE {
            TimerTarget::Schedule(TriggerId(high))
        } else {
            TimerTarget::Step {
                slot: high,
                generation: low,
            }
        }
    }
}

/// The generation after `g`, skipping the value reserved for schedules.
pub fn next_generation(g: u32) -> u32 {
    let n = g.wrapping_add(1);
    if n == SCHEDULE { 0 } else { n }
}

/// Orders timers due at the same instant: `rank` is the trigger's position in
/// (priority desc, name) order, `seq` the timer's creation sequence.
pub fn tie(rank: u32, seq: u64) -> u64 {
    (u64::from(rank) << 40) | (seq & ((1 << 40) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_refs_round_trip() {
        assert_eq!(
            TimerRef::step(7, 3).target(),
            TimerTarget::Step {
                slot: 7,
                generation: 3
            }
        );
        assert_eq!(
            TimerRef::schedule(TriggerId(2)).target(),
            TimerTarget::Schedule(TriggerId(2))
        );
        assert_ne!(next_generation(SCHEDULE - 1), SCHEDULE);
    }

    #[test]
    fn slots_are_reused_last_in_first_out() {
        let mut slab = Instances::new();
        let a = slab.alloc(TriggerId(0), CustomerId(0));
        let b = slab.alloc(TriggerId(0), CustomerId(1));
        slab.free(a);
        slab.free(b);
        assert_eq!(slab.alloc(TriggerId(1), CustomerId(2)), b);
        assert_eq!(slab.alloc(TriggerId(1), CustomerId(2)), a);
        assert_eq!(slab.live(), 2);
    }

    #[test]
    fn instance_stays_compact() {
        // 72 before `origin` (8 bytes for ids that do not depend on other customers).
        assert!(
            std::mem::size_of::<Instance>() <= 80,
            "{}",
            std::mem::size_of::<Instance>()
        );
    }
}
