//! The fan-out index: for each `indexed` set state, member value → the customers
//! whose set holds it, so `for each key where wishlist contains product` visits
//! exactly those customers without scanning everyone.
//!
//! It is kept up to date incrementally by the set reducers (insert, remove, clear,
//! cap), one index update per member change. Holders of one value are sorted chunks
//! of at most [`CHUNK`] customers: adding the 100,000th holder of a popular product
//! shifts one chunk, not the whole list, and a lookup copies whole slices.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::customer::Customers;
use super::member::{self, ScalarKind};
use super::state::{CustomerId, KeyData};
use crate::interp::{Sym, Value};
use crate::ir::{Program, StateId};

/// Largest chunk of a value's holder list; a full chunk splits in two.
pub const CHUNK: usize = 1024;

/// Inverted index for fan-out: per indexed state, member value → customers whose
/// set holds it. Serialises deterministically (ordered maps); it can also be
/// rebuilt from the key data with [`FanOutIndex::insert_customer`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FanOutIndex {
    states: BTreeMap<StateId, BTreeMap<i64, Holders>>,
}

/// Customers holding one value: ascending, split into sorted chunks of at most
/// [`CHUNK`] so an insert shifts at most one chunk and a lookup copies whole slices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Holders {
    /// Non-empty, each ascending, every chunk below the next.
    chunks: Vec<Vec<CustomerId>>,
    len: usize,
}

impl Holders {
    /// The chunk that holds or would hold `c`.
    fn chunk_for(&self, c: CustomerId) -> usize {
        let i = self
            .chunks
            .partition_point(|ch| ch.last().is_some_and(|&last| last < c));
        i.min(self.chunks.len().saturating_sub(1))
    }

    fn insert(&mut self, c: CustomerId) {
        if self.chunks.is_empty() {
            self.chunks.push(vec![c]);
            self.len = 1;
            return;
        }
        let i = self.chunk_for(c);
        let Some(chunk) = self.chunks.get_mut(i) else {
            return;
        };
        let Err(at) = chunk.binary_search(&c) else {
            return;
        };
        chunk.insert(at, c);
        self.len += 1;
        if chunk.len() > CHUNK {
            let upper = chunk.split_off(CHUNK / 2);
            self.chunks.insert(i + 1, upper);
        }
    }

    fn remove(&mut self, c: CustomerId) {
        let i = self.chunk_for(c);
        let Some(chunk) = self.chunks.get_mut(i) else {
            return;
        };
        let Ok(at) = chunk.binary_search(&c) else {
            return;
        };
        chunk.remove(at);
        self.len -= 1;
        if chunk.is_empty() {
            self.chunks.remove(i);
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn iter(&self) -> impl Iterator<Item = CustomerId> + '_ {
        self.chunks.iter().flatten().copied()
    }
}

impl FanOutIndex {
    /// Customers whose state `state` currently contains `value`, in ascending
    /// `CustomerId` order.
    pub fn customers(&self, state: StateId, value: &Value) -> Vec<CustomerId> {
        let Some(holders) = self.holders(state, value) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(holders.len);
        for chunk in &holders.chunks {
            out.extend_from_slice(chunk);
        }
        out
    }

    /// Calls `visit` for each customer [`FanOutIndex::customers`] would return, in
    /// the same order, without collecting them.
    pub fn for_each_customer(
        &self,
        state: StateId,
        value: &Value,
        mut visit: impl FnMut(CustomerId),
    ) {
        if let Some(holders) = self.holders(state, value) {
            holders.iter().for_each(&mut visit);
        }
    }

    /// How many customers hold `value` in `state`.
    pub fn count(&self, state: StateId, value: &Value) -> usize {
        self.holders(state, value).map_or(0, |h| h.len)
    }

    fn holders(&self, state: StateId, value: &Value) -> Option<&Holders> {
        self.states.get(&state)?.get(&member::encode(value)?)
    }

    /// `customer`'s set `state` gained `member` (encoded).
    pub(crate) fn add(&mut self, state: StateId, member: i64, customer: CustomerId) {
        self.states
            .entry(state)
            .or_default()
            .entry(member)
            .or_default()
            .insert(customer);
    }

    /// `customer`'s set `state` lost `member` (encoded).
    pub(crate) fn remove(&mut self, state: StateId, member: i64, customer: CustomerId) {
        let Some(values) = self.states.get_mut(&state) else {
            return;
        };
        if let Some(holders) = values.get_mut(&member) {
            holders.remove(customer);
            if holders.is_empty() {
                values.remove(&member);
            }
        }
    }

    /// Forget `customer` entirely (its key data is being freed): one removal per
    /// member of its indexed sets.
    pub fn remove_customer(&mut self, program: &Program, customer: CustomerId, data: &KeyData) {
        for (id, def) in program.states.iter().enumerate() {
            if def.indexed {
                let id = StateId::from_index(id);
                for m in data.set_members(id) {
                    self.remove(id, m, customer);
                }
            }
        }
    }

    /// Index `customer`'s current indexed sets (after restoring key data from a
    /// checkpoint that did not carry the index).
    pub fn insert_customer(&mut self, program: &Program, customer: CustomerId, data: &KeyData) {
        for (id, def) in program.states.iter().enumerate() {
            if def.indexed {
                let id = StateId::from_index(id);
                for m in data.set_members(id) {
                    self.add(id, m, customer);
                }
            }
        }
    }

    /// Shows `mark` the members of string sets the index is keyed by (the sets of
    /// the key data hold them too; the index must not outlive them).
    pub fn visit_syms(&self, program: &Program, mark: &mut dyn FnMut(Sym)) {
        for (state, values) in &self.states {
            let strings = program
                .states
                .get(state.index())
                .is_some_and(|def| ScalarKind::element_of(&def.ty) == Some(ScalarKind::Str));
            if strings {
                for m in values.keys() {
                    if let Ok(s) = u32::try_from(*m) {
                        mark(Sym(s));
                    }
                }
            }
        }
    }

    /// Whether the index (from a checkpoint) fits `program` and `customers`: every
    /// state exists and is `indexed`, every holder list is non-empty, ascending,
    /// counted right and names occupied customers. The error says what is wrong.
    pub fn check(&self, program: &Program, customers: &Customers) -> Result<(), String> {
        for (state, values) in &self.states {
            if !program
                .states
                .get(state.index())
                .is_some_and(|def| def.indexed)
            {
                return Err(format!(
                    "the fan-out index names state {}, which is not an indexed set",
                    state.0
                ));
            }
            for (member, holders) in values {
                let n: usize = holders.chunks.iter().map(Vec::len).sum();
                let ascending = holders
                    .iter()
                    .zip(holders.iter().skip(1))
                    .all(|(a, b)| a < b);
                if n == 0 || n != holders.len || !ascending {
                    return Err(format!(
                        "the fan-out index's holders of value {member} of state {} are not an \
                         ascending list of the length it gives",
                        state.0
                    ));
                }
                if holders.chunks.iter().any(Vec::is_empty) {
                    return Err("the fan-out index holds an empty chunk".into());
                }
                if let Some(c) = holders.iter().find(|&c| customers.get(c).is_none()) {
                    return Err(format!(
                        "the fan-out index names customer {}, which does not exist",
                        c.0
                    ));
                }
            }
        }
        Ok(())
    }

    /// Number of (state, value) entries: for tests and stats.
    pub fn len(&self) -> usize {
        self.states.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
