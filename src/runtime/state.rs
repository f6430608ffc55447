//! Per-key derived data: declared states (folded by reducers), aggregates (windows,
//! `last`/`first`) and the profile. Plain data that serialises. This file owns the
//! slot storage and its reads; taking an event in is [`ingest`], what a reducer
//! rule does to a state is [`reducer`].
//!
//! [`KeyData`] is one sparse slot list sorted by (states, aggregates, profile
//! attributes; then id), 32 bytes a slot: a key holds a slot only for what it has
//! taken in, a state at its initial value holds none, a windowed `count` that counts
//! another aggregate's entries holds none, and an empty `KeyData` allocates nothing.
//! Set members and window values are stored in their compact `i64`/[`Sym`] form
//! (see [`super::member`]); how each aggregate is stored is in [`super::window`].
//!
//! Memory is bounded per key whatever the input: a set holds at most [`SET_CAP`]
//! members (inserting past it is dropped), a list at most [`LIST_CAP`] entries, an
//! aggregate at most [`super::window::WINDOW_CAP`] entries; each hit is counted in
//! [`IngestReport::cap_hits`].

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use super::gate::Gate;
use super::member::{self, ScalarKind};
use super::window::{AggShape, AggSlot, Input, Storage};
use crate::interp::{HoldsSyms, Sym, Value};
use crate::ir::{AggId, Limit, ProfileFieldId, Program, StateId, TriggerId, Ty};

pub use super::fanout::FanOutIndex;
pub use ingest::{FilterEval, IngestPlan, IngestReport};

mod ingest;
mod reducer;

/// Most members one set state holds for one key; an insert of a new member into a
/// full set is dropped and counted.
pub const SET_CAP: usize = 10_000;

/// Most entries one list state holds for one key, whatever `push(x, N)` asks for;
/// dropping an entry that `N` would have kept is counted.
pub const LIST_CAP: usize = 10_000;

/// The symbol of `""`, the initial value of `string` states. The runtime's interner
/// must intern `""` first so that this holds.
pub const EMPTY_STR: Sym = Sym(0);

/// A dense per-process customer number (index into the runtime's customer table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerId(pub u32);

/// Everything the program derives for one key. Empty (and allocation-free) until
/// the key's first event that a state, aggregate or profile cares about.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyData {
    /// Sorted by [`Slot::key`]: states away from their initial value, aggregates
    /// that took at least one event in (and still hold something), profile
    /// attributes that are set.
    slots: Box<[Slot]>,
    /// No [`KeyData::expire`] before this time can drop anything: a lower bound of
    /// every windowed slot's [`AggSlot::expires_at`], so that the common call (at
    /// every event of a key without pending work) is one comparison. A cache: not
    /// serialised (a restored key rescans once) and not compared.
    #[serde(skip, default = "expire_now")]
    quiet_until: i64,
}

/// A [`KeyData::quiet_until`] that promises nothing.
fn expire_now() -> i64 {
    i64::MIN
}

impl Default for KeyData {
    fn default() -> KeyData {
        KeyData {
            slots: Box::default(),
            quiet_until: expire_now(),
        }
    }
}

impl PartialEq for KeyData {
    fn eq(&self, other: &KeyData) -> bool {
        self.slots == other.slots
    }
}

/// One entry of [`KeyData`]. The id sits in each variant (not in a wrapper struct)
/// so that it shares the first word with the tag: 32 bytes a slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Slot {
    /// `set<string>`: ascending symbols.
    Syms(StateId, Vec<Sym>),
    /// Any other set: ascending encoded members.
    Members(StateId, Vec<i64>),
    /// `list<T>`, oldest first.
    #[expect(
        clippy::box_collection,
        reason = "lists are rare; boxing keeps every slot 8 bytes smaller"
    )]
    List(StateId, Box<VecDeque<Value>>),
    Scalar(StateId, Value),
    Agg(AggId, AggSlot),
    Profile(ProfileFieldId, Value),
    /// Cooldown/limit bookkeeping of a trigger that fired for this key.
    Gate(TriggerId, Gate),
}

/// Which list a slot belongs to, in slot order.
const STATE: u8 = 0;
const AGG: u8 = 1;
const PROFILE: u8 = 2;
const GATE: u8 = 3;

/// A slot's place in the sorted list.
type SlotKey = (u8, u32);

fn state_key(id: StateId) -> SlotKey {
    (STATE, id.0)
}

fn agg_key(id: AggId) -> SlotKey {
    (AGG, id.0)
}

fn profile_key(id: ProfileFieldId) -> SlotKey {
    (PROFILE, id.0)
}

fn gate_key(id: TriggerId) -> SlotKey {
    (GATE, id.0)
}

impl Slot {
    fn key(&self) -> SlotKey {
        match self {
            Slot::Syms(id, _) | Slot::Members(id, _) | Slot::List(id, _) | Slot::Scalar(id, _) => {
                state_key(*id)
            }
            Slot::Agg(id, _) => agg_key(*id),
            Slot::Profile(id, _) => profile_key(*id),
            Slot::Gate(id, _) => gate_key(*id),
        }
    }
}

static EMPTY_COLLECTION: LazyLock<Arc<Vec<Value>>> = LazyLock::new(|| Arc::new(Vec::new()));

/// A state's value before any reducer touched it.
pub fn initial_value(ty: &Ty) -> Value {
    match ty {
        Ty::Set(_) => Value::Set(EMPTY_COLLECTION.clone()),
        Ty::List(_) => Value::List(EMPTY_COLLECTION.clone()),
        Ty::Int => Value::Int(0),
        Ty::Float => Value::Float(0.0),
        Ty::Bool => Value::Bool(false),
        Ty::Str => Value::Str(EMPTY_STR),
        Ty::Duration => Value::Duration(0),
        _ => Value::None,
    }
}

fn position(slots: &[Slot], k: SlotKey) -> Result<usize, usize> {
    slots.binary_search_by_key(&k, Slot::key)
}

fn find(slots: &[Slot], k: SlotKey) -> Option<&Slot> {
    position(slots, k).ok().and_then(|i| slots.get(i))
}

/// The slot for `k`, created with `init` when absent. Adding a slot reallocates the
/// list: slots appear once per key and state, not per event.
fn slot_mut(slots: &mut Box<[Slot]>, k: SlotKey, init: impl FnOnce() -> Slot) -> Option<&mut Slot> {
    let i = match position(slots, k) {
        Ok(i) => i,
        Err(i) => {
            insert_slot(slots, i, init());
            i
        }
    };
    slots.get_mut(i)
}

/// Inserts `slot` at `i`, reallocating the list to exactly one more slot.
fn insert_slot(slots: &mut Box<[Slot]>, i: usize, slot: Slot) {
    let mut v = Vec::with_capacity(slots.len() + 1);
    v.extend(std::mem::take(slots).into_vec());
    v.insert(i.min(v.len()), slot);
    *slots = v.into_boxed_slice();
}

fn find_mut(slots: &mut [Slot], k: SlotKey) -> Option<&mut Slot> {
    let i = position(slots, k).ok()?;
    slots.get_mut(i)
}

fn remove_slot(slots: &mut Box<[Slot]>, k: SlotKey) -> Option<Slot> {
    let i = position(slots, k).ok()?;
    let mut v = std::mem::take(slots).into_vec();
    let old = v.remove(i);
    *slots = v.into_boxed_slice();
    Some(old)
}

impl KeyData {
    /// Shows `mark` every symbol this key's data holds (set members, list entries,
    /// scalar states, profile attributes, stored events, string window values).
    pub fn visit_syms(&self, program: &Program, mark: &mut dyn FnMut(Sym)) {
        for slot in &self.slots {
            match slot {
                Slot::Syms(_, syms) => syms.iter().for_each(|s| mark(*s)),
                Slot::List(_, list) => list.iter().for_each(|v| v.visit_syms(mark)),
                Slot::Scalar(_, v) | Slot::Profile(_, v) => v.visit_syms(mark),
                Slot::Agg(id, agg) => {
                    let strings = program.aggregates.get(id.index()).is_some_and(|def| {
                        AggShape::stored(program, def).value == Some(ScalarKind::Str)
                    });
                    agg.visit_syms(strings, mark);
                }
                // Non-string members; gates hold times and counts.
                Slot::Members(..) | Slot::Gate(..) => {}
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether this data (from a checkpoint) fits `program`: slots in order, each
    /// naming a state, aggregate, profile attribute or trigger the program has, in
    /// the shape of its type. The error says what is wrong.
    pub fn check(&self, program: &Program) -> Result<(), String> {
        let mut prev: Option<SlotKey> = None;
        for slot in &self.slots {
            let key = slot.key();
            if prev.is_some_and(|p| p >= key) {
                return Err("its slots are out of order or repeated".into());
            }
            prev = Some(key);
            match slot {
                Slot::Syms(id, _)
                | Slot::Members(id, _)
                | Slot::List(id, _)
                | Slot::Scalar(id, _) => {
                    let Some(def) = program.states.get(id.index()) else {
                        return Err(format!("state {} does not exist", id.0));
                    };
                    let element = ScalarKind::element_of(&def.ty);
                    let fits = match (slot, def.ty.strip_optional()) {
                        (Slot::Syms(_, syms), Ty::Set(_)) => {
                            element == Some(ScalarKind::Str) && syms.is_sorted_by(|a, b| a < b)
                        }
                        (Slot::Members(_, ms), Ty::Set(_)) => {
                            element.is_some_and(|k| k != ScalarKind::Str)
                                && ms.is_sorted_by(|a, b| a < b)
                        }
                        (Slot::List(..), Ty::List(_)) => true,
                        (Slot::Scalar(..), Ty::Set(_) | Ty::List(_)) => false,
                        (Slot::Scalar(..), _) => true,
                        _ => false,
                    };
                    if !fits {
                        return Err(format!(
                            "state `{}` holds a value not of its type",
                            def.name
                        ));
                    }
                }
                Slot::Agg(id, agg) => {
                    let Some(def) = program.aggregates.get(id.index()) else {
                        return Err(format!("aggregate {} does not exist", id.0));
                    };
                    agg.check(def.within)?;
                }
                Slot::Profile(id, _) => {
                    if program.profile.get(id.index()).is_none() {
                        return Err(format!("profile attribute {} does not exist", id.0));
                    }
                }
                Slot::Gate(id, _) => {
                    if program.triggers.get(id.index()).is_none() {
                        return Err(format!(
                            "a gate names trigger {}, which does not exist",
                            id.0
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Nothing but cooldown/limit gates (they sort last).
    /// Renumber the cooldown/limit gates by `map` (a trigger of the old program to
    /// its id in the new one), dropping those of triggers it maps to nothing.
    pub fn remap_gates(&mut self, map: &dyn Fn(TriggerId) -> Option<TriggerId>) {
        if !self.slots.iter().any(|s| matches!(s, Slot::Gate(..))) {
            return;
        }
        let mut slots: Vec<Slot> = std::mem::take(&mut self.slots)
            .into_vec()
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Gate(t, gate) => map(t).map(|t| Slot::Gate(t, gate)),
                other => Some(other),
            })
            .collect();
        slots.sort_by_key(Slot::key);
        self.slots = slots.into_boxed_slice();
    }

    pub fn holds_only_gates(&self) -> bool {
        self.slots
            .first()
            .is_none_or(|s| matches!(s, Slot::Gate(..)))
    }

    /// Whether trigger `t`'s cooldown and limit let a step fire at `at`; if so, the
    /// firing is recorded. One search of the slot list: a key without a gate for `t`
    /// is suppressed by nothing.
    pub fn admit(
        &mut self,
        t: TriggerId,
        cooldown: Option<i64>,
        limit: Option<Limit>,
        at: i64,
    ) -> bool {
        match position(&self.slots, gate_key(t)) {
            Ok(i) => match self.slots.get_mut(i) {
                Some(Slot::Gate(_, gate)) if gate.suppresses(cooldown, limit, at) => false,
                Some(Slot::Gate(_, gate)) => {
                    gate.record(limit, at);
                    true
                }
                _ => true,
            },
            Err(i) => {
                let mut gate = Gate::default();
                gate.record(limit, at);
                insert_slot(&mut self.slots, i, Slot::Gate(t, gate));
                true
            }
        }
    }

    /// Drop the gates that can no longer suppress anything at or after `now`;
    /// returns whether any remain.
    pub fn prune_gates(&mut self, program: &Program, now: i64) -> bool {
        let spent = |s: &Slot| match s {
            Slot::Gate(t, gate) => program
                .triggers
                .get(t.index())
                .is_none_or(|def| gate.is_spent(def.cooldown, def.limit, now)),
            _ => false,
        };
        if self.slots.iter().any(spent) {
            let mut v = std::mem::take(&mut self.slots).into_vec();
            v.retain(|s| !spent(s));
            self.slots = v.into_boxed_slice();
        }
        self.slots.iter().any(|s| matches!(s, Slot::Gate(..)))
    }

    /// The encoded members of set state `id` (empty for other states).
    pub(crate) fn set_members(&self, id: StateId) -> Vec<i64> {
        match find(&self.slots, state_key(id)) {
            Some(Slot::Syms(_, syms)) => syms.iter().map(|s| i64::from(s.0)).collect(),
            Some(Slot::Members(_, ms)) => ms.clone(),
            _ => Vec::new(),
        }
    }

    /// A state's current value. Sets come out as `Value::Set` with members in
    /// ascending stored order (strings by symbol number), so equal sets are equal
    /// values; lists oldest first.
    pub fn state(&self, program: &Program, id: StateId) -> Value {
        let Some(def) = program.states.get(id.index()) else {
            return Value::None;
        };
        match find(&self.slots, state_key(id)) {
            None | Some(Slot::Agg(..) | Slot::Profile(..) | Slot::Gate(..)) => {
                initial_value(&def.ty)
            }
            Some(Slot::Syms(_, syms)) => {
                Value::Set(Arc::new(syms.iter().map(|&s| Value::Str(s)).collect()))
            }
            Some(Slot::Members(_, ms)) => {
                let Some(kind) = ScalarKind::element_of(&def.ty) else {
                    return Value::None;
                };
                Value::Set(Arc::new(ms.iter().map(|&m| kind.decode(m)).collect()))
            }
            Some(Slot::List(_, list)) => Value::List(Arc::new(list.iter().cloned().collect())),
            Some(Slot::Scalar(_, v)) => v.clone(),
        }
    }

    /// What [`KeyData::state`] would hold as members, counted in place: `Some` for
    /// exactly the states whose value is a set or a list.
    pub fn state_len(&self, program: &Program, id: StateId) -> Option<usize> {
        let def = program.states.get(id.index())?;
        match find(&self.slots, state_key(id)) {
            Some(Slot::Syms(_, syms)) => Some(syms.len()),
            Some(Slot::Members(_, ms)) => ScalarKind::element_of(&def.ty).map(|_| ms.len()),
            Some(Slot::List(_, list)) => Some(list.len()),
            Some(Slot::Scalar(..)) => None,
            None | Some(Slot::Agg(..) | Slot::Profile(..) | Slot::Gate(..)) => {
                match initial_value(&def.ty) {
                    Value::Set(items) | Value::List(items) => Some(items.len()),
                    _ => None,
                }
            }
        }
    }

    /// The aggregate's value over the window ending at `now` (inclusive).
    pub fn aggregate(&self, program: &Program, id: AggId, now: i64) -> Value {
        let Some(agg) = program.aggregates.get(id.index()) else {
            return Value::None;
        };
        let shape = AggShape::of(program, id, agg);
        AggSlot::read(self.agg_slot(id, &shape), &shape, now)
    }

    /// The time of the event aggregate `id` (a `last` or `first`) holds at `now`.
    pub fn aggregate_time(&self, program: &Program, id: AggId, now: i64) -> Option<i64> {
        let agg = program.aggregates.get(id.index())?;
        let shape = AggShape::of(program, id, agg);
        AggSlot::read_time(self.agg_slot(id, &shape), &shape, now)
    }

    /// The slot holding aggregate `id`'s entries (another aggregate's for
    /// [`Storage::ReadsFrom`]).
    fn agg_slot(&self, id: AggId, shape: &AggShape) -> Option<&AggSlot> {
        let holder = match shape.storage {
            Storage::ReadsFrom(host) => host,
            Storage::Own | Storage::Hosts | Storage::TimeOnly => id,
        };
        match find(&self.slots, agg_key(holder)) {
            Some(Slot::Agg(_, slot)) => Some(slot),
            _ => None,
        }
    }

    /// A profile attribute; `Value::None` when unset.
    pub fn profile(&self, id: ProfileFieldId) -> Value {
        match find(&self.slots, profile_key(id)) {
            Some(Slot::Profile(_, v)) => v.clone(),
            _ => Value::None,
        }
    }

    /// `set profile.x = v`; setting `none` unsets it.
    pub fn set_profile(&mut self, id: ProfileFieldId, value: Value) {
        if value == Value::None {
            remove_slot(&mut self.slots, profile_key(id));
        } else if let Some(slot) = slot_mut(&mut self.slots, profile_key(id), || {
            Slot::Profile(id, Value::None)
        }) {
            *slot = Slot::Profile(id, value);
        }
    }

    /// Drop window entries that can no longer be read at or after `now`, and
    /// aggregates left with nothing (so an idle key's data can become empty). Costs
    /// a look at each aggregate slot plus time proportional to what is dropped
    /// (amortised; see [`AggSlot::expire`]).
    pub fn expire(&mut self, program: &Program, now: i64) {
        if now < self.quiet_until {
            return;
        }
        let mut emptied = false;
        let mut quiet_until = i64::MAX;
        for slot in self.slots.iter_mut() {
            let Slot::Agg(id, agg_slot) = slot else {
                continue;
            };
            let keep = match program.aggregates.get(id.index()) {
                Some(agg) if agg.within.is_none() => true,
                // A slot whose oldest entry is still live (pushes prune windows
                // themselves) is skipped without building its shape.
                Some(agg) => match agg_slot.expires_at(agg.within) {
                    Some(t) if now < t => {
                        quiet_until = quiet_until.min(t);
                        true
                    }
                    _ => {
                        let keep = agg_slot.expire(&AggShape::stored(program, agg), now);
                        if let Some(t) = agg_slot.expires_at(agg.within) {
                            quiet_until = quiet_until.min(t);
                        }
                        keep
                    }
                },
                None => false,
            };
            if !keep {
                // Mark for removal: an all-time counter is never left at zero.
                *agg_slot = AggSlot::Count(0);
                emptied = true;
            }
        }
        self.quiet_until = quiet_until;
        if emptied {
            let mut v = std::mem::take(&mut self.slots).into_vec();
            v.retain(|s| !matches!(s, Slot::Agg(_, AggSlot::Count(0))));
            self.slots = v.into_boxed_slice();
        }
    }
}
