//! A runtime state in rows, for incremental checkpoints (`durable`): the three
//! tables that grow with the customers (customer entries by id, instance slots,
//! the interner's strings in chunks of [`STRING_CHUNK`]) are written row by row,
//! only the rows changed since the last checkpoint ([`RuntimeState::take_changes`]:
//! the tables mark what they change); everything else is the small [`Head`],
//! written whole each time.
//!
//! Two parts of the state are not stored but derived on restore
//! ([`RuntimeState::from_rows`]): the fan-out index, from the customers' sets, and
//! the timer queue's step entries, one per slot that has one, at the slot's own
//! `(due, tie)`. A live entry is queued at or before its slot's `(due, tie)` and
//! does nothing when it pops earlier but re-queue itself there, and a superseded
//! entry does nothing when it pops; so the rebuilt queue fires the same steps in the
//! same order (`tests/run.rs` replays every case through rows after each line).
//! Only schedule entries, one per scheduled trigger, are in the head.

use serde::{Deserialize, Serialize};

use super::customer::{Customer, Customers};
use super::instance::{Instance, Instances, TimerRef, TimerTarget};
use super::stats::RunStats;
use super::timers::{Tie, TimerHeap};
use super::watermark::Clock;
use super::{EnrollCount, RuntimeState};
use crate::interp::Interner;
use crate::interp::dirty::Dirty;
pub use crate::interp::value::STRING_CHUNK;
use crate::ir::Program;

/// What changed since the last checkpoint, by table.
pub struct Changes {
    pub customers: Dirty,
    pub instances: Dirty,
    /// By chunk of [`STRING_CHUNK`] symbols.
    pub strings: Dirty,
}

impl Changes {
    /// Everything changed.
    pub fn all() -> Changes {
        Changes {
            customers: Dirty::default(),
            instances: Dirty::default(),
            strings: Dirty::default(),
        }
    }

    /// Whether everything counts as changed (a full checkpoint).
    pub fn is_all(&self) -> bool {
        self.customers.is_all() || self.instances.is_all() || self.strings.is_all()
    }
}

/// Everything of a [`RuntimeState`] but its rows and what is derived on restore.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Head {
    /// Rows in each table.
    pub customers: usize,
    pub instances: usize,
    pub strings: usize,
    /// The customers' free ids, the next to reuse last.
    pub customers_free: Vec<u32>,
    /// The first free instance slot (the slots' `next` link the rest).
    pub instances_free: u32,
    /// Queued schedule instants (step entries are rebuilt from the slots).
    pub schedules: Vec<(i64, Tie, TimerRef)>,
    pub clock: Clock,
    pub next_instance: u64,
    pub next_timer: u64,
    pub schedules_started: bool,
    pub enrolls: EnrollCount,
    pub stats: RunStats,
    pub strings_kept: usize,
}

/// The rows of one table, read back.
pub struct Rows {
    pub customers: Vec<Customer>,
    pub instances: Vec<Instance>,
    /// The interner's strings by symbol (`None`: a free slot), all chunks joined.
    pub strings: Vec<Option<String>>,
}

impl RuntimeState {
    /// The marks of what changed since they were last taken; the tables start
    /// marking afresh.
    pub fn take_changes(&mut self) -> Changes {
        Changes {
            customers: self.customers.changed().take(),
            instances: self.instances.changed().take(),
            strings: self.interner.changed().take(),
        }
    }

    /// Keep marks of what changes from now on ([`Dirty::track`]): until then every
    /// checkpoint writes every row, and the first after writes every row too.
    pub fn track_changes(&mut self) {
        self.customers.changed().track();
        self.instances.changed().track();
        self.interner.changed().track();
    }

    /// Nothing changed: the store holds this state as it is (just restored from
    /// its rows).
    pub fn mark_stored(&mut self) {
        self.customers.changed().clear();
        self.instances.changed().clear();
        self.interner.changed().clear();
    }

    /// Everything changed: the next checkpoint writes every row (after a change the
    /// marks do not follow, such as a carry-over to changed rules).
    pub fn mark_all_changed(&mut self) {
        self.customers.changed().mark_all();
        self.instances.changed().mark_all();
        self.interner.changed().mark_all();
    }

    /// The head: everything but the rows.
    pub fn head(&self) -> Head {
        let schedules = self
            .timers
            .iter()
            .filter(|(_, _, r)| matches!(r.target(), TimerTarget::Schedule(_)))
            .map(|(due, tie, r)| (due, tie, *r))
            .collect();
        Head {
            customers: self.customers.slots().len(),
            instances: self.instances.slots().len(),
            strings: self.interner.chunks(),
            customers_free: self.customers.free_ids().to_vec(),
            instances_free: self.instances.free_head(),
            schedules,
            clock: self.clock.clone(),
            next_instance: self.next_instance,
            next_timer: self.next_timer,
            schedules_started: self.schedules_started,
            enrolls: self.enrolls.clone(),
            stats: self.stats.clone(),
            strings_kept: self.strings_kept,
        }
    }

    /// Rows of the customer table (entries, vacant ones included).
    pub fn customer_rows(&self) -> usize {
        self.customers.slots().len()
    }

    /// Rows of the instance table (slots, vacant ones included).
    pub fn instance_rows(&self) -> usize {
        self.instances.slots().len()
    }

    /// Rows of the strings table (chunks of [`STRING_CHUNK`] symbols).
    pub fn strings_rows(&self) -> usize {
        self.interner.chunks()
    }

    /// Customer entry `id` (vacant entries included), if below the table's length.
    pub fn customer_row(&self, id: usize) -> Option<&Customer> {
        self.customers.slots().get(id)
    }

    /// Instance slot `slot`, if below the slab's length.
    pub fn instance_row(&self, slot: usize) -> Option<&Instance> {
        self.instances.slots().get(slot)
    }

    /// Chunk `n` of the interner's strings.
    pub fn strings_row(&self, n: usize) -> &[Option<std::sync::Arc<str>>] {
        self.interner.chunk(n)
    }

    /// The state `head` and `rows` describe, marked as stored (nothing changed),
    /// keeping marks of what changes from now on.
    /// Not validated: [`super::Runtime::restore`] does that, as for a deserialised
    /// state. The fan-out index is rebuilt for `program`, which must have the
    /// declarations of the program that wrote the state (`None`: they differ, the
    /// index is left empty and the state is for a carry-over to refuse).
    pub fn from_rows(program: Option<&Program>, head: Head, rows: Rows) -> RuntimeState {
        let mut timers = TimerHeap::new();
        let mut entries: Vec<(i64, Tie, TimerRef)> = head.schedules;
        for (slot, inst) in rows.instances.iter().enumerate() {
            if inst.has_entry
                && let Ok(slot) = u32::try_from(slot)
            {
                entries.push((inst.due, inst.tie, TimerRef::step(slot, inst.generation)));
            }
        }
        // In order, each insert stays where it is put.
        entries.sort_unstable_by_key(|&(due, tie, r)| (due, tie, r.0));
        for (due, tie, r) in entries {
            timers.insert(due, tie, r);
        }
        let customers = Customers::from_rows(rows.customers, head.customers_free);
        let mut fanout = super::state::FanOutIndex::default();
        if let Some(program) = program {
            for c in customers.ids() {
                if let Some(entry) = customers.get(c) {
                    fanout.insert_customer(program, c, &entry.data);
                }
            }
        }
        let mut state = RuntimeState {
            interner: Interner::from_strings(rows.strings),
            customers,
            instances: Instances::from_rows(rows.instances, head.instances_free),
            timers,
            fanout,
            clock: head.clock,
            next_instance: head.next_instance,
            next_timer: head.next_timer,
            schedules_started: head.schedules_started,
            enrolls: head.enrolls,
            stats: head.stats,
            strings_kept: head.strings_kept,
        };
        // Marks are kept from here on: the rows are what the store holds.
        state.track_changes();
        state.mark_stored();
        state
    }
}
