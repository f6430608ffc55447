//! The "not equal" part of the start index (issue #17): start patterns whose access
//! conjunct is `field != c`, `not (field == c)` or `not (field in [c, …])`.
//!
//! Such a pattern holds for every present value but its constants, so an event
//! value `v` may start all of the field's ne triggers except those whose patterns
//! all exclude `v`. The rules of [`super::start_index`] apply: the result is a
//! superset. An absent field, NaN or a kind the index does not key yields every ne
//! trigger; and a constant is excluded only where a matching key proves the
//! interpreter's `!=` false. Keys follow `interp::equal` except for two `int`s
//! beyond 2^53, which the interpreter compares exactly but which may share an `f64`
//! key: such an `int` constant excludes nothing (see [`ne_key`]).

use rustc_hash::{FxHashMap, FxHashSet};

use super::start_index::{Key, num_key};
use crate::interp::{Interner, Sym};
use crate::ir::Const;

/// A bitset over ranks kept sparse: `(word, bits)` with `bits != 0`, by word.
type Sparse = Vec<(u32, u64)>;

/// The ne index of one field.
#[derive(Clone, Debug, Default)]
pub(super) struct NeIndex {
    pub(super) field: usize,
    /// The ranks of every trigger with a ne pattern on the field.
    all: Sparse,
    /// Per value, the ranks all of whose ne patterns on the field exclude it (a
    /// subset of `all`).
    excluded: FxHashMap<Key, Sparse>,
}

/// The ne patterns on one field while the index is built.
#[derive(Debug, Default)]
pub(super) struct NeBuilder {
    pub(super) field: usize,
    /// Per trigger rank, the keys each of its patterns excludes.
    patterns: Vec<(u32, Vec<Key>)>,
}

impl NeBuilder {
    pub(super) fn new(field: usize) -> NeBuilder {
        NeBuilder {
            field,
            patterns: Vec::new(),
        }
    }

    /// A pattern of the trigger of rank `r` that excludes `keys`.
    pub(super) fn add(&mut self, r: u32, keys: Vec<Key>) {
        self.patterns.push((r, keys));
    }

    pub(super) fn build(mut self) -> NeIndex {
        // A trigger with several ne patterns on the field is left out for a value
        // only if each of them excludes it (any one that holds may start it).
        self.patterns.sort_by_key(|(r, _)| *r);
        let mut excluded: FxHashMap<Key, Vec<u32>> = FxHashMap::default();
        let mut ranks = Vec::new();
        let mut i = 0;
        while let Some(&(r, ref first)) = self.patterns.get(i) {
            let mut common: FxHashSet<Key> = first.iter().copied().collect();
            i += 1;
            while let Some((next, keys)) = self.patterns.get(i) {
                if *next != r {
                    break;
                }
                common.retain(|k| keys.contains(k));
                i += 1;
            }
            ranks.push(r);
            for k in common {
                excluded.entry(k).or_default().push(r);
            }
        }
        NeIndex {
            field: self.field,
            all: sparse(&ranks),
            excluded: excluded
                .into_iter()
                .map(|(k, mut rs)| {
                    rs.sort_unstable();
                    (k, sparse(&rs))
                })
                .collect(),
        }
    }
}

/// Ranks (ascending) as a sparse bitset.
fn sparse(ranks: &[u32]) -> Sparse {
    let mut out: Sparse = Vec::new();
    for &r in ranks {
        let (w, bit) = (r / 64, 1u64 << (r % 64));
        match out.last_mut() {
            Some((last, bits)) if *last == w => *bits |= bit,
            _ => out.push((w, bit)),
        }
    }
    out
}

impl NeIndex {
    /// Set in `bits` the ranks an event whose field has key `key` (`None`: absent,
    /// NaN or not keyed) may start.
    pub(super) fn candidates(&self, key: Option<Key>, bits: &mut [u64]) {
        let excluded = key.and_then(|k| self.excluded.get(&k));
        let Some(excluded) = excluded else {
            for &(w, m) in &self.all {
                if let Some(b) = bits.get_mut(w as usize) {
                    *b |= m;
                }
            }
            return;
        };
        // Both lists are by word, and `excluded`'s words are among `all`'s.
        let mut ex = excluded.iter().peekable();
        for &(w, m) in &self.all {
            let drop = match ex.peek() {
                Some(&&(xw, xm)) if xw == w => {
                    ex.next();
                    xm
                }
                _ => 0,
            };
            if let Some(b) = bits.get_mut(w as usize) {
                *b |= m & !drop;
            }
        }
    }

    /// Distinct excluded values.
    pub(super) fn values(&self) -> usize {
        self.excluded.len()
    }

    pub(super) fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        for k in self.excluded.keys() {
            if let Key::Str(s) = k {
                mark(*s);
            }
        }
    }
}

/// What a ne pattern's constant `c` lets the index exclude: `None` when the
/// constant cannot be indexed at all (times, durations: the pattern is then not an
/// access conjunct), `Some(None)` when no value may be excluded for it (NaN, which
/// nothing equals; an `int` of magnitude 2^53 or more, whose `f64` key other `int`s
/// share while the interpreter compares two `int`s exactly), `Some(Some(key))`
/// otherwise. Below 2^53 an `int` is exact in `f64` and only itself converts to it,
/// so a shared key means equal under `interp::equal`.
pub(super) fn ne_key(c: &Const, interner: &mut Interner) -> Option<Option<Key>> {
    match c {
        Const::Int(i) if i.unsigned_abs() >= 1u64 << 53 => Some(None),
        Const::Int(i) => Some(num_key(*i as f64)),
        Const::Float(f) => Some(num_key(*f)),
        Const::Str(s) => Some(Some(Key::Str(interner.intern(s)))),
        Const::Bool(b) => Some(Some(Key::Bool(*b))),
        Const::Duration(_) | Const::Time(_) => None,
    }
}
