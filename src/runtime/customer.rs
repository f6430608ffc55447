//! The customer table: one entry per key with live state, dense [`CustomerId`]s, the
//! key string stored once (inline when short), and a hash index from key text to id
//! that stores only the 4-byte id (it hashes the key through the table).
//!
//! An entry is freed when its customer holds nothing: no instance, no state, no live
//! cooldown or limit. Its slot goes on a free list and is reused (last in, first
//! out, so reuse is deterministic). When the program has scheduled triggers, entries
//! of real customers are kept (with their key only) because a schedule visits "every
//! customer seen so far"; then ids are never reused and id order is first-seen order.

use std::hash::BuildHasher;

use compact_str::CompactString;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

use super::instance::{Instances, NIL};
use super::state::{CustomerId, KeyData};
use crate::interp::dirty::Dirty;
use crate::ir::TriggerId;

/// One key's entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Customer {
    pub key: CompactString,
    pub data: KeyData,
    /// Head of this customer's instance list (slab slots linked by `next`), or `NIL`.
    pub instances: u32,
    pub flags: u8,
    /// Which triggers may have an instance in the list: bit `t` for trigger `t`
    /// (every trigger from 64 on counts as maybe). A clear bit means none, so starting
    /// or ending on a trigger the customer is not in walks no list. Exact for
    /// `restart` and `skip` triggers; a `parallel` trigger's bit stays set. Not
    /// serialised: [`Customers::rebuild_active`] derives it on restore.
    #[serde(skip)]
    pub active: u64,
}

impl Customer {
    /// Whether the instance list may hold an instance of `t` (false: it does not).
    #[inline]
    pub fn may_have(&self, t: TriggerId) -> bool {
        1u64.checked_shl(t.0)
            .is_none_or(|bit| self.active & bit != 0)
    }

    /// Note an instance of `t` in the list.
    #[inline]
    pub fn note_active(&mut self, t: TriggerId) {
        self.active |= 1u64.checked_shl(t.0).unwrap_or(0);
    }

    /// Note that the list holds no instance of `t` any more.
    #[inline]
    pub fn note_inactive(&mut self, t: TriggerId) {
        self.active &= !1u64.checked_shl(t.0).unwrap_or(0);
    }
}

/// The entry is in use.
pub const OCCUPIED: u8 = 1;
/// The key was seen on an event routed by the customer key (not only through an
/// event `keyed by` another field): schedules visit it.
pub const REAL: u8 = 2;

/// All customers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Customers {
    slots: Vec<Customer>,
    free: Vec<u32>,
    /// Key text → id. Not serialised: rebuilt from `slots` on restore.
    #[serde(skip)]
    index: HashTable<u32>,
    len: usize,
    /// Entries changed since the last incremental checkpoint (by id). Not
    /// serialised.
    #[serde(skip)]
    changed: Dirty,
}

fn hash_key(key: &str) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl Customers {
    /// Number of occupied entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slots (occupied or free): ids are below this.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn get(&self, id: CustomerId) -> Option<&Customer> {
        self.slots
            .get(id.0 as usize)
            .filter(|c| c.flags & OCCUPIED != 0)
    }

    /// The entry `id`, to change (marked changed).
    pub fn get_mut(&mut self, id: CustomerId) -> Option<&mut Customer> {
        let entry = self
            .slots
            .get_mut(id.0 as usize)
            .filter(|c| c.flags & OCCUPIED != 0)?;
        self.changed.mark(id.0 as usize);
        Some(entry)
    }

    pub fn key(&self, id: CustomerId) -> &str {
        self.get(id).map_or("", |c| &c.key)
    }

    pub fn lookup(&self, key: &str) -> Option<CustomerId> {
        let slots = &self.slots;
        self.index
            .find(hash_key(key), |&id| {
                slots.get(id as usize).is_some_and(|c| c.key == key)
            })
            .map(|&id| CustomerId(id))
    }

    /// The id of `key`, creating the entry if needed (the caller changes it next,
    /// through [`Customers::get_mut`], which marks it changed).
    pub fn lookup_or_insert(&mut self, key: &str) -> CustomerId {
        let hash = hash_key(key);
        let slots = &self.slots;
        if let Some(&id) = self.index.find(hash, |&id| {
            slots.get(id as usize).is_some_and(|c| c.key == key)
        }) {
            return CustomerId(id);
        }
        let entry = Customer {
            key: CompactString::from(key),
            data: KeyData::default(),
            instances: NIL,
            flags: OCCUPIED,
            active: 0,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.slots.get_mut(id as usize) {
                    *slot = entry;
                }
                id
            }
            None => {
                self.slots.push(entry);
                u32::try_from(self.slots.len() - 1).unwrap_or(NIL)
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash, id, |&id| {
            slots.get(id as usize).map_or(0, |c| hash_key(&c.key))
        });
        self.len += 1;
        CustomerId(id)
    }

    /// Free `id`'s entry (the caller checked that it holds nothing).
    pub fn remove(&mut self, id: CustomerId) {
        let Some(entry) = self.slots.get_mut(id.0 as usize) else {
            return;
        };
        if entry.flags & OCCUPIED == 0 {
            return;
        }
        let hash = hash_key(&entry.key);
        *entry = Customer {
            instances: NIL,
            ..Customer::default()
        };
        if let Ok(found) = self.index.find_entry(hash, |&other| other == id.0) {
            found.remove();
        }
        self.free.push(id.0);
        self.len -= 1;
        self.changed.mark(id.0 as usize);
    }

    /// Occupied ids in ascending order.
    pub fn ids(&self) -> impl Iterator<Item = CustomerId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, c)| c.flags & OCCUPIED != 0)
            .map(|(i, _)| CustomerId::from_index(i))
    }

    /// Every slot, occupied or free, by id.
    pub fn slots(&self) -> &[Customer] {
        &self.slots
    }

    /// The free ids, the next to reuse last.
    pub fn free_ids(&self) -> &[u32] {
        &self.free
    }

    /// A table of `slots` by id with the free ids `free` (the next to reuse last),
    /// as a checkpoint wrote them; the key index and [`Customer::active`] are
    /// rebuilt on restore, as after deserialising.
    pub fn from_rows(slots: Vec<Customer>, free: Vec<u32>) -> Customers {
        let len = slots.iter().filter(|c| c.flags & OCCUPIED != 0).count();
        Customers {
            slots,
            free,
            index: HashTable::new(),
            len,
            changed: Dirty::default(),
        }
    }

    /// The entries changed since the marks were last taken (see [`Dirty`]).
    pub fn changed(&mut self) -> &mut Dirty {
        &mut self.changed
    }

    /// Rebuild the key index after deserialising.
    pub fn rebuild_index(&mut self) {
        let mut index = HashTable::with_capacity(self.len);
        for (i, c) in self.slots.iter().enumerate() {
            if c.flags & OCCUPIED != 0 {
                let slots = &self.slots;
                let id = u32::try_from(i).unwrap_or(NIL);
                index.insert_unique(hash_key(&c.key), id, |&id| {
                    slots.get(id as usize).map_or(0, |c| hash_key(&c.key))
                });
            }
        }
        self.index = index;
    }

    /// Derive every customer's [`Customer::active`] from the instance slab (after
    /// deserialising).
    pub fn rebuild_active(&mut self, instances: &Instances) {
        for c in &mut self.slots {
            c.active = 0;
        }
        for inst in instances.slots().iter().filter(|i| i.live) {
            if let Some(c) = self.slots.get_mut(inst.customer.0 as usize) {
                c.note_active(inst.trigger);
            }
        }
    }
}

impl CustomerId {
    pub fn from_index(i: usize) -> CustomerId {
        CustomerId(u32::try_from(i).unwrap_or(NIL))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_dense_ids_and_slots_are_reused() {
        let mut t = Customers::default();
        let a = t.lookup_or_insert("alice");
        let b = t.lookup_or_insert("bob");
        assert_eq!((a, b), (CustomerId(0), CustomerId(1)));
        assert_eq!(t.lookup_or_insert("alice"), a);
        t.remove(a);
        assert_eq!(t.lookup("alice"), None);
        assert_eq!(t.len(), 1);
        let c = t.lookup_or_insert("carol");
        assert_eq!(c, a, "the freed slot is reused");
        assert_eq!(t.key(c), "carol");
        assert_eq!(t.lookup("bob"), Some(b));
    }

    #[test]
    fn index_is_rebuilt_after_restore() {
        let mut t = Customers::default();
        for i in 0..100 {
            t.lookup_or_insert(&format!("k{i}"));
        }
        let json = serde_json::to_string(&t).unwrap_or_default();
        let mut back: Customers = serde_json::from_str(&json).unwrap_or_default();
        back.rebuild_index();
        assert_eq!(back.lookup("k42"), Some(CustomerId(42)));
        assert_eq!(back.len(), 100);
    }
}
