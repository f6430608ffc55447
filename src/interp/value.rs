//! Runtime values of Trig expressions, and the string interner they point into.
//!
//! Strings are interned ([`Sym`], a `u32`): equality is an integer compare, sets of
//! strings are arrays of `u32`, and the JIT can pass strings as plain integers. The
//! [`Interner`] is owned by the runtime and is part of its serialisable state.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ir::EventId;

/// An interned string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Sym(pub u32);

/// Append-only string table. It grows with the number of distinct string values the
/// program stores or compares (product ids, campaigns), not with the event count.
#[derive(Default, Clone)]
pub struct Interner {
    ids: FxHashMap<Arc<str>, Sym>,
    strs: Vec<Arc<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.ids.get(s) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.strs.len()).unwrap_or(u32::MAX));
        let s: Arc<str> = Arc::from(s);
        self.strs.push(s.clone());
        self.ids.insert(s, sym);
        sym
    }

    /// The symbol of `s` if it was ever interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
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
