//! Runtime values of Trig expressions, and the string interner they point into.
//!
//! Strings are interned ([`Sym`], a `u32`): equality is an integer compare, sets of
//! strings are arrays of `u32`, and the JIT can pass strings as plain integers. The
//! [`Interner`] is owned by the runtime and is part of its serialisable state.

use std::hash::Hasher;
use std::sync::Arc;

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ir::EventId;

/// An interned string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Sym(pub u32);

/// Append-only string table. It grows with the number of distinct string values the
/// program stores or compares (product ids, campaigns), not with the event count.
///
/// The index is a `HashTable` of symbols keyed by the text they resolve to, so each
/// string is stored once and a lookup hashes the probe once (the decoder interns up
/// to a few strings per event line, so this is on the hot path).
#[derive(Default, Clone)]
pub struct Interner {
    ids: HashTable<Sym>,
    strs: Vec<Arc<str>>,
}

/// The hash of an interned string's text.
#[inline]
fn text_hash(s: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(s.as_bytes());
    hasher.finish()
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        let hash = text_hash(s);
        let strs = &self.strs;
        if let Some(&sym) = self.ids.find(hash, |sym| {
            strs.get(sym.0 as usize).is_some_and(|t| **t == *s)
        }) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.strs.len()).unwrap_or(u32::MAX));
        self.strs.push(Arc::from(s));
        let strs = &self.strs;
        self.ids.insert_unique(hash, sym, |sym| {
            strs.get(sym.0 as usize).map_or(0, |t| text_hash(t))
        });
        sym
    }

    /// The symbol of `s` if it was ever interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        let strs = &self.strs;
        self.ids
            .find(text_hash(s), |sym| {
                strs.get(sym.0 as usize).is_some_and(|t| **t == *s)
            })
            .copied()
    }

    pub fn resolve(&self, sym: Sym) -> &str {
        self.strs.get(sym.0 as usize).map_or("", |s| s)
    }

    pub fn len(&self) -> usize {
        self.strs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strs.is_empty()
    }
}

impl Serialize for Interner {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.strs.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Interner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Interner, D::Error> {
        let strs: Vec<String> = Vec::deserialize(d)?;
        let mut interner = Interner::default();
        for s in strs {
            interner.intern(&s);
        }
        Ok(interner)
    }
}

/// A stored event (`last(E)`, an instance's starting event): type, time and the
/// declared fields by `FieldIdx` (`Value::None` where absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub kind: EventId,
    pub ts: i64,
    pub fields: Box<[Value]>,
}

/// A value. 16 bytes; collections are shared behind `Arc` so copying a value into a
/// payload never copies a cart.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub enum Value {
    /// An absent optional.
    #[default]
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Sym),
    /// Milliseconds since the Unix epoch, UTC.
    Time(i64),
    /// Milliseconds.
    Duration(i64),
    /// Members without duplicates; serialised sorted (strings by their text).
    Set(Arc<Vec<Value>>),
    List(Arc<Vec<Value>>),
    Object(Arc<Vec<(Sym, Value)>>),
    Event(Arc<StoredEvent>),
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner").field("len", &self.strs.len()).finish()
    }
}
