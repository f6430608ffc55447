//! Runtime values of Trig expressions, and the string interner they point into.
//!
//! Strings are interned ([`Sym`], a `u32`): equality is an integer compare, sets of
//! strings are arrays of `u32`, and the JIT can pass strings as plain integers. The
//! [`Interner`] is owned by the runtime and is part of its serialisable state.

use std::cmp::Ordering;
use std::hash::Hasher;
use std::sync::Arc;

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::dirty::Dirty;
use crate::ir::EventId;

/// An interned string. `repr(transparent)`: the JIT reads one inside a
/// [`Value::Str`] as a plain `u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(transparent)]
pub struct Sym(pub u32);

/// The string table. It grows with the distinct string values the decoder and the
/// program meet (product ids, campaigns, order ids), and shrinks when its owner
/// sweeps it ([`Interner::sweep`]): strings no live state holds are freed, and their
/// symbols are handed out again, lowest first.
///
/// The index is a `HashTable` of symbols keyed by the text they resolve to, so each
/// string is stored once and a lookup hashes the probe once (the decoder interns up
/// to a few strings per event line, so this is on the hot path).
pub struct Interner {
    ids: HashTable<Sym>,
    /// By symbol; `None`: a free slot.
    strs: Vec<Option<Arc<str>>>,
    /// The free slots, highest first (so `intern` reuses the lowest): always every
    /// `None` of `strs`, in that order, so a checkpoint rebuilds it exactly.
    free: Vec<u32>,
    /// The symbols of recently interned short strings, by hash: a hit answers without
    /// touching the table or the text (four dependent loads into a table that order
    /// ids and emails make large), and a short string's two words and length are its
    /// whole text, so a hit needs no text comparison. A cache: not serialised.
    recent: RecentSyms,
    /// Which symbol-to-text mapping this is: a symbol interned under one
    /// generation names the same text for as long as the generation lasts. A new
    /// interner, a clone and every sweep take a fresh one (from a process-wide
    /// counter), so a cache of symbols (the JIT's interned string constants) knows
    /// when it must intern again. Not serialised.
    generation: u64,
    /// Chunks of [`STRING_CHUNK`] symbols changed since the last incremental
    /// checkpoint (an intern into a free or new slot, a sweep). Not serialised.
    changed: Dirty,
}

/// Symbols per row of an incremental checkpoint ([`Interner::chunk`]).
pub const STRING_CHUNK: usize = 1024;

/// The next [`Interner::generation`].
static NEXT_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn fresh_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Default for Interner {
    fn default() -> Interner {
        Interner {
            ids: HashTable::default(),
            strs: Vec::new(),
            free: Vec::new(),
            recent: RecentSyms::default(),
            generation: fresh_generation(),
            changed: Dirty::default(),
        }
    }
}

/// A clone starts its own generation: the two interners go on interning apart, so
/// the same new symbol may name different strings in each.
impl Clone for Interner {
    fn clone(&self) -> Interner {
        Interner {
            ids: self.ids.clone(),
            strs: self.strs.clone(),
            free: self.free.clone(),
            recent: self.recent.clone(),
            generation: fresh_generation(),
            changed: Dirty::default(),
        }
    }
}

/// Entries of [`Interner::recent`] (a power of two). Only the entries of the
/// strings in use are touched: product ids, categories, pages, campaigns.
const RECENT: usize = 1024;

/// A direct-mapped cache from a short string's `(len, head, tail)` to its symbol.
#[derive(Clone)]
struct RecentSyms(Box<[RecentSym; RECENT]>);

#[derive(Clone, Copy)]
struct RecentSym {
    head: u64,
    tail: u64,
    /// `u32::MAX`: empty (no string is that long and short at once).
    len: u32,
    sym: Sym,
}

impl Default for RecentSyms {
    fn default() -> RecentSyms {
        RecentSyms(Box::new(
            [RecentSym {
                head: 0,
                tail: 0,
                len: u32::MAX,
                sym: Sym(0),
            }; RECENT],
        ))
    }
}

/// Two words that, with the length, are the whole text of a string of up to 16
/// bytes (which most interned values, product ids and campaigns, are): its first and
/// last 8 bytes; under 8 bytes, overlapping 4-byte halves (or, under 4, the first,
/// middle and last bytes), which cover every byte without a byte loop.
#[inline(always)]
fn head_tail(b: &[u8]) -> (u64, u64) {
    if let (Some(h), Some(t)) = (b.first_chunk::<8>(), b.last_chunk::<8>()) {
        return (u64::from_le_bytes(*h), u64::from_le_bytes(*t));
    }
    if let (Some(h), Some(t)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        let w = u64::from(u32::from_le_bytes(*h)) | u64::from(u32::from_le_bytes(*t)) << 32;
        return (w, w);
    }
    let byte = |i: usize| u64::from(b.get(i).copied().unwrap_or(0));
    let w = byte(0) | byte(b.len() / 2) << 8 | byte(b.len().wrapping_sub(1)) << 16;
    (w, w)
}

/// The hash of an interned string's text. Short strings are hashed from their two
/// words with one multiply (FxHasher's byte loop costs more per decoded line: see
/// BENCHMARKS.md, "Figures behind choices in the code"); longer ones go through
/// FxHasher.
#[inline]
fn text_hash(s: &str) -> u64 {
    let b = s.as_bytes();
    if b.len() <= 16 {
        let (head, tail) = head_tail(b);
        return short_hash(head, tail, b.len());
    }
    let mut hasher = FxHasher::default();
    hasher.write(b);
    hasher.finish()
}

/// [`text_hash`] of a string of up to 16 bytes, from [`head_tail`] and its length.
#[inline(always)]
fn short_hash(head: u64, tail: u64, len: usize) -> u64 {
    // Folded so the high bits (hashbrown's tag) and low bits (its index) both mix.
    let x = (head ^ tail.rotate_left(29) ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 32)
}

/// `a == b`, without a `memcmp` call for strings of up to 16 bytes.
#[inline(always)]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 16 {
        return head_tail(a) == head_tail(b);
    }
    a == b
}

impl Interner {
    /// See the field: equal generations mean every symbol interned under it still
    /// names the same text.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn intern(&mut self, s: &str) -> Sym {
        let b = s.as_bytes();
        if b.len() > 16 {
            return self.intern_hashed(s, text_hash(s));
        }
        let (head, tail) = head_tail(b);
        let len = b.len() as u32;
        let hash = short_hash(head, tail, b.len());
        // The top bits: hashbrown picks buckets with the low ones.
        let at = (hash >> (64 - RECENT.trailing_zeros())) as usize;
        if let Some(e) = self.recent.0.get(at)
            && (e.head, e.tail, e.len) == (head, tail, len)
        {
            return e.sym;
        }
        let sym = self.intern_hashed(s, hash);
        if let Some(e) = self.recent.0.get_mut(at) {
            *e = RecentSym {
                head,
                tail,
                len,
                sym,
            };
        }
        sym
    }

    /// [`Interner::intern`] through the table, `hash` being `s`'s [`text_hash`].
    fn intern_hashed(&mut self, s: &str, hash: u64) -> Sym {
        let strs = &self.strs;
        if let Some(&sym) = self.ids.find(hash, |sym| {
            text_of(strs, *sym).is_some_and(|t| same_text(t, s))
        }) {
            return sym;
        }
        let text = Some(Arc::from(s));
        let sym = self.insert_text(text);
        let strs = &self.strs;
        self.ids
            .insert_unique(hash, sym, |sym| text_of(strs, *sym).map_or(0, text_hash));
        sym
    }

    /// Put `text` in the lowest free slot (or a new one at the end).
    fn insert_text(&mut self, text: Option<Arc<str>>) -> Sym {
        let sym = match self.free.pop() {
            Some(slot) => {
                if let Some(free) = self.strs.get_mut(slot as usize) {
                    *free = text;
                }
                Sym(slot)
            }
            None => {
                self.strs.push(text);
                Sym(u32::try_from(self.strs.len() - 1).unwrap_or(u32::MAX))
            }
        };
        self.changed.mark(sym.0 as usize / STRING_CHUNK);
        sym
    }

    /// The symbol of `s` if it is interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        let strs = &self.strs;
        self.ids
            .find(text_hash(s), |sym| {
                text_of(strs, *sym).is_some_and(|t| same_text(t, s))
            })
            .copied()
    }

    /// The text of `sym` (`""` for a symbol that is not interned).
    pub fn resolve(&self, sym: Sym) -> &str {
        text_of(&self.strs, sym).unwrap_or("")
    }

    /// Whether `sym` names an interned string (below [`Interner::slots`] and not a
    /// freed slot).
    pub fn holds(&self, sym: Sym) -> bool {
        text_of(&self.strs, sym).is_some()
    }

    /// Strings interned now.
    pub fn len(&self) -> usize {
        self.strs.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past the highest symbol in use: the size of a [`SymMarks`] for a sweep.
    pub fn slots(&self) -> usize {
        self.strs.len()
    }

    /// Free every string whose symbol `keep` does not mark: its symbol is handed out
    /// again by a later [`Interner::intern`] (the lowest free one first). The caller
    /// must have marked every symbol anything still holds.
    pub fn sweep(&mut self, keep: &SymMarks) {
        for (i, slot) in self.strs.iter_mut().enumerate() {
            let Some(text) = slot else { continue };
            let sym = Sym(u32::try_from(i).unwrap_or(u32::MAX));
            if keep.is_marked(sym) {
                continue;
            }
            if let Ok(entry) = self.ids.find_entry(text_hash(text), |s| *s == sym) {
                entry.remove();
            }
            *slot = None;
            self.changed.mark(i / STRING_CHUNK);
        }
        while let Some(None) = self.strs.last() {
            self.strs.pop();
        }
        self.strs.shrink_to(self.strs.len().max(16) * 2);
        self.rebuild_free();
        // The cache may name freed symbols.
        self.recent = RecentSyms::default();
        self.generation = fresh_generation();
    }

    /// An interner of `strs` by symbol (`None`: a free slot), as a checkpoint
    /// wrote them; every chunk counts as changed.
    pub fn from_strings(strs: Vec<Option<String>>) -> Interner {
        let mut interner = Interner::default();
        for (i, text) in strs.into_iter().enumerate() {
            let Some(text) = text else {
                interner.strs.push(None);
                continue;
            };
            let hash = text_hash(&text);
            let sym = Sym(u32::try_from(i).unwrap_or(u32::MAX));
            interner.strs.push(Some(Arc::from(text)));
            let strs = &interner.strs;
            interner
                .ids
                .insert_unique(hash, sym, |sym| text_of(strs, *sym).map_or(0, text_hash));
        }
        interner.rebuild_free();
        interner
    }

    /// Chunk `n` of [`STRING_CHUNK`] symbols, by symbol (`None`: a free slot).
    pub fn chunk(&self, n: usize) -> &[Option<Arc<str>>] {
        let start = n.saturating_mul(STRING_CHUNK).min(self.strs.len());
        let end = start.saturating_add(STRING_CHUNK).min(self.strs.len());
        self.strs.get(start..end).unwrap_or_default()
    }

    /// Number of chunks of [`STRING_CHUNK`] symbols.
    pub fn chunks(&self) -> usize {
        self.strs.len().div_ceil(STRING_CHUNK)
    }

    /// The chunks changed since the marks were last taken (see [`Dirty`]).
    pub fn changed(&mut self) -> &mut Dirty {
        &mut self.changed
    }

    /// [`Interner::free`] from `strs`.
    fn rebuild_free(&mut self) {
        self.free.clear();
        self.free.extend(
            (0..self.strs.len())
                .rev()
                .filter(|&i| self.strs.get(i).is_some_and(Option::is_none))
                .filter_map(|i| u32::try_from(i).ok()),
        );
    }
}

/// The text of `sym` in `strs`, if interned.
#[inline(always)]
fn text_of(strs: &[Option<Arc<str>>], sym: Sym) -> Option<&str> {
    strs.get(sym.0 as usize).and_then(|s| s.as_deref())
}

/// The symbols a sweep keeps: one bit per symbol.
#[derive(Clone, Debug, Default)]
pub struct SymMarks {
    bits: Vec<u64>,
}

impl SymMarks {
    /// Room for the symbols of `interner` (others are ignored when marked).
    pub fn for_interner(interner: &Interner) -> SymMarks {
        SymMarks {
            bits: vec![0; interner.slots().div_ceil(64)],
        }
    }

    pub fn mark(&mut self, sym: Sym) {
        if let Some(w) = self.bits.get_mut(sym.0 as usize / 64) {
            *w |= 1 << (sym.0 % 64);
        }
    }

    pub fn is_marked(&self, sym: Sym) -> bool {
        self.bits
            .get(sym.0 as usize / 64)
            .is_some_and(|w| w & (1 << (sym.0 % 64)) != 0)
    }
}

/// Serialised as the list of strings by symbol, `null` for a free slot (a
/// checkpoint written before sweeps has no `null`s and reads the same).
impl Serialize for Interner {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.strs.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Interner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Interner, D::Error> {
        let strs: Vec<Option<String>> = Vec::deserialize(d)?;
        Ok(Interner::from_strings(strs))
    }
}

/// Something that may hold interned strings: it shows every [`Sym`] it holds to
/// `mark`, so that a sweep of the interner keeps them.
pub trait HoldsSyms {
    fn visit_syms(&self, mark: &mut dyn FnMut(Sym));
}

impl HoldsSyms for Value {
    fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        match self {
            Value::Str(s) => mark(*s),
            Value::Set(items) | Value::List(items) => items.visit_syms(mark),
            Value::Object(members) => {
                for (k, v) in members.iter() {
                    mark(*k);
                    v.visit_syms(mark);
                }
            }
            Value::Event(e) => e.visit_syms(mark),
            Value::None
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Time(_)
            | Value::Duration(_) => {}
        }
    }
}

impl HoldsSyms for [Value] {
    fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        for v in self {
            v.visit_syms(mark);
        }
    }
}

impl HoldsSyms for StoredEvent {
    fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        self.fields.visit_syms(mark);
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
///
/// `repr(u8)` gives it a defined layout (a `u8` tag, the variants' discriminants in
/// order, first; each payload at its natural alignment after it): the JIT reads
/// scalar fields of the bound events straight from memory (`jit::abi::value_layout`,
/// whose test pins the offsets). It is the layout rustc chose anyway: still 16
/// bytes, and `Option<Value>` still uses the tag's niche.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[repr(u8)]
pub enum Value {
    /// An absent optional.
    #[default]
    None,
    Bool(bool),
    Int(i64),
    /// Serialised as a JSON number, or `"NaN"`, `"inf"`, `"-inf"` ([`float_serde`]).
    Float(#[serde(with = "float_serde")] f64),
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

/// Serde for a float that may be NaN or infinite. JSON has no spelling for those:
/// serde_json writes `null`, which does not read back as a float, so a checkpoint or
/// a `--state` directory holding one (a float state that overflowed to infinity, a
/// `0.0 / 0.0` profile attribute) could not be restored ("damaged"). A finite float
/// stays a number; the others are the strings `"NaN"`, `"inf"` and `"-inf"`.
mod float_serde {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &f64, s: S) -> Result<S::Ok, S::Error> {
        match *f {
            f if f.is_finite() => s.serialize_f64(f),
            f if f.is_nan() => s.serialize_str("NaN"),
            f if f > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }

    struct Float;

    impl Visitor<'_> for Float {
        type Value = f64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a number, or \"NaN\", \"inf\" or \"-inf\"")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(Float)
    }
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .finish()
    }
}

// ------------------------------------------------------------ value semantics
// What every engine, the runtime and the sink share about values.

/// Whether a guard or `where` value lets things through: only `true` does (`none`
/// counts as false).
pub fn is_true(value: &Value) -> bool {
    matches!(value, Value::Bool(true))
}

/// Value equality as Trig defines it: sets compare as sets (any order), floats by
/// IEEE (`NaN != NaN`), strings by symbol (the interner makes that text equality).
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Set(x), Value::Set(y)) => {
            x.len() == y.len() && x.iter().all(|m| y.iter().any(|n| equal(m, n)))
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(m, n)| equal(m, n))
        }
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => *x as f64 == *y,
        _ => a == b,
    }
}

/// Ordering of two comparable values; `None` when they are not comparable (NaN,
/// different kinds).
pub fn compare(a: &Value, b: &Value, interner: &Interner) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y))
        | (Value::Time(x), Value::Time(y))
        | (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Str(x), Value::Str(y)) => {
            if x == y {
                Some(Ordering::Equal)
            } else {
                Some(interner.resolve(*x).cmp(interner.resolve(*y)))
            }
        }
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Interner;

    #[test]
    fn non_finite_floats_read_back_from_json() {
        use super::Value;
        for f in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.5,
            -0.0,
            1e308,
            3.0,
        ] {
            let json = serde_json::to_string(&Value::Float(f)).expect("serialises");
            let back: Value = serde_json::from_str(&json).expect("reads back");
            let Value::Float(g) = back else {
                panic!("{json} read back as {back:?}")
            };
            assert_eq!(f.to_bits(), g.to_bits(), "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Value::Float(f64::NEG_INFINITY)).expect("serialises"),
            r#"{"Float":"-inf"}"#
        );
        assert!(serde_json::from_str::<Value>(r#"{"Float":"nan"}"#).is_err());
        assert!(serde_json::from_str::<Value>(r#"{"Float":null}"#).is_err());
    }

    #[test]
    fn interning_tells_apart_strings_of_every_short_length() {
        let mut texts: Vec<String> = vec![String::new()];
        for len in 1..=20 {
            for fill in ['a', 'b'] {
                for at in 0..len {
                    let mut t: Vec<char> = vec![fill; len];
                    if let Some(c) = t.get_mut(at) {
                        *c = 'z';
                    }
                    texts.push(t.into_iter().collect());
                }
            }
        }
        texts.sort();
        texts.dedup();
        let mut interner = Interner::default();
        let syms: Vec<_> = texts.iter().map(|t| interner.intern(t)).collect();
        assert_eq!(interner.len(), texts.len());
        for (t, &sym) in texts.iter().zip(&syms) {
            assert_eq!(interner.intern(t), sym, "{t:?}");
            assert_eq!(interner.get(t), Some(sym), "{t:?}");
            assert_eq!(interner.resolve(sym), t);
        }
        assert_eq!(interner.get("zz_not_there"), None);
    }

    /// The recent-symbols cache answers exactly as the table: interleaved repeats
    /// of many strings (so that cache entries collide and are replaced) always get
    /// their first symbol back, numbered in first-seen order.
    #[test]
    fn recent_symbols_agree_with_the_table() {
        let texts: Vec<String> = (0..5000)
            .map(|i| match i % 3 {
                0 => format!("p{i}"),
                1 => format!("category-{i}"),
                _ => format!("u{i}@example.com"),
            })
            .collect();
        let mut interner = Interner::default();
        let mut first = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            first.push(interner.intern(t));
            // Re-intern a few earlier strings between new ones.
            for back in [1, 7, 100, 1000] {
                if let (Some(old), Some(&sym)) =
                    (i.checked_sub(back), first.get(i.wrapping_sub(back)))
                {
                    assert_eq!(interner.intern(&texts[old]), sym, "{}", texts[old]);
                }
            }
        }
        for (i, (t, sym)) in texts.iter().zip(&first).enumerate() {
            assert_eq!(sym.0 as usize, i, "first-seen order");
            assert_eq!(interner.resolve(*sym), t);
        }
    }
}

#[cfg(test)]
mod sweep_tests {
    use super::{Interner, Sym, SymMarks};

    /// A sweep frees what is not marked, keeps the numbers of what is, hands the
    /// lowest free symbols out first, and a serialised interner with free slots
    /// comes back the same (and goes on numbering the same).
    #[test]
    fn sweep_frees_unmarked_and_reuses_lowest_first() {
        let mut interner = Interner::default();
        let syms: Vec<Sym> = (0..10).map(|i| interner.intern(&format!("s{i}"))).collect();
        let long = interner.intern("a string longer than sixteen bytes");
        let mut keep = SymMarks::for_interner(&interner);
        for &i in &[0usize, 3, 4, 9] {
            keep.mark(syms[i]);
        }
        keep.mark(long);
        interner.sweep(&keep);
        assert_eq!(interner.len(), 5);
        assert_eq!(interner.resolve(syms[3]), "s3");
        assert_eq!(interner.resolve(long), "a string longer than sixteen bytes");
        assert_eq!(interner.get("s1"), None);
        assert_eq!(interner.resolve(syms[1]), "");
        // Re-interning a kept string gives its symbol; a freed one a reused slot.
        assert_eq!(interner.intern("s9"), syms[9]);
        let json = serde_json::to_string(&interner).unwrap_or_default();
        let mut back: Interner = serde_json::from_str(&json).unwrap_or_default();
        for (a, b) in [(&mut interner, "x"), (&mut back, "x")] {
            assert_eq!(a.intern(b), Sym(1));
        }
        assert_eq!(interner.intern("s1"), Sym(2));
        assert_eq!(back.intern("s1"), Sym(2));
        assert_eq!(back.resolve(syms[4]), "s4");
        assert_eq!(back.len(), interner.len());
    }
}
