//! A small read-only map from short byte strings (JSON member names, event type
//! names) to values, built once per program and probed for every member of every
//! line.
//!
//! Why not a `HashMap<Box<[u8]>, V>`: profiling the decoder showed the general map
//! spending most of its time in hashing and in a `memcmp` call per hit. Here a name
//! is summarised by its length and its first and last 8 bytes; for names of up to 16
//! bytes (nearly all of them) that summary *is* the name, so a hit costs two loads,
//! a multiply and three integer compares. Longer names also compare their bytes.

/// Open addressing, at most half full. Built once per program, so construction
/// searches for a multiplier under which every name lands in its own slot (a perfect
/// hash; for a schema's dozen or two names one is found within a few tries): a
/// lookup is then one summary, one multiply, one slot and one compare, with no probe
/// loop whose length the branch predictor would have to guess. Should no multiplier
/// work (names whose summaries collide, or thousands of them), the table falls back
/// to linear probing.
#[derive(Clone, Debug)]
pub struct NameTable<V> {
    /// Empty slots hold [`Entry::EMPTY_LEN`] as their length, which no name has.
    slots: Vec<Entry<V>>,
    mask: usize,
    /// `64 - log2(slots.len())`: the hash's high bits are the well-mixed ones.
    shift: u32,
    seed: u64,
    /// Every name sits in its home slot (no probing needed).
    perfect: bool,
}

#[derive(Clone, Debug)]
struct Entry<V> {
    summary: Summary,
    /// Only consulted for names longer than 16 bytes.
    bytes: Box<[u8]>,
    value: Option<V>,
}

impl<V> Entry<V> {
    const EMPTY_LEN: usize = usize::MAX;

    fn empty() -> Entry<V> {
        Entry {
            summary: Summary {
                len: Self::EMPTY_LEN,
                head: 0,
                tail: 0,
            },
            bytes: Box::default(),
            value: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.summary.len == Self::EMPTY_LEN
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Summary {
    len: usize,
    head: u64,
    tail: u64,
}

impl Summary {
    #[inline]
    fn of(b: &[u8]) -> Summary {
        let len = b.len();
        let (head, tail) = match (b.first_chunk::<8>(), b.last_chunk::<8>()) {
            (Some(h), Some(t)) => (u64::from_le_bytes(*h), u64::from_le_bytes(*t)),
            _ => {
                let mut w = 0u64;
                for (i, &byte) in b.iter().enumerate() {
                    w |= u64::from(byte) << (8 * i);
                }
                (w, w)
            }
        };
        Summary { len, head, tail }
    }

    /// The summary of `buf[start..start + len]`, reading whole words from `buf` where
    /// it extends far enough past the name (it does for names inside a JSON line),
    /// instead of assembling short names byte by byte.
    #[inline(always)]
    fn of_within(buf: &[u8], start: usize, len: usize) -> Summary {
        if len < 8
            && let Some(word) = buf.get(start..).and_then(<[u8]>::first_chunk::<8>)
        {
            let w = u64::from_le_bytes(*word) & ((1u64 << (8 * len)) - 1);
            return Summary {
                len,
                head: w,
                tail: w,
            };
        }
        Summary::of(buf.get(start..start + len).unwrap_or_default())
    }

    #[inline(always)]
    fn hash(self, seed: u64) -> u64 {
        (self.head ^ self.tail.rotate_left(29) ^ self.len as u64).wrapping_mul(seed)
    }
}

impl<V: Copy> NameTable<V> {
    /// The table of `names`; with a name given twice, the first value is kept.
    pub fn new<'a>(names: impl IntoIterator<Item = (&'a [u8], V)>) -> NameTable<V> {
        let mut unique: Vec<(Summary, &[u8], V)> = Vec::new();
        for (name, value) in names {
            if !unique.iter().any(|(_, n, _)| *n == name) {
                unique.push((Summary::of(name), name, value));
            }
        }
        let min_bits = (unique.len() * 2)
            .next_power_of_two()
            .max(8)
            .trailing_zeros();
        // Deterministic candidate multipliers (odd, from a SplitMix64 sequence).
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next_seed = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) | 1
        };
        for bits in min_bits..min_bits + 3 {
            for _ in 0..64 {
                let seed = next_seed();
                if let Some(table) = Self::build(&unique, bits, seed, true) {
                    return table;
                }
            }
        }
        Self::build(&unique, min_bits, 0x9E37_79B9_7F4A_7C15, false).unwrap_or_else(|| {
            // Unreachable: probing always places every name in a half-empty table.
            NameTable {
                slots: vec![Entry::empty()],
                mask: 0,
                shift: 63,
                seed: 1,
                perfect: true,
            }
        })
    }

    /// A table of `2^bits` slots; with `perfect`, `None` if two names share a home slot.
    fn build(
        names: &[(Summary, &[u8], V)],
        bits: u32,
        seed: u64,
        perfect: bool,
    ) -> Option<NameTable<V>> {
        let size = 1usize << bits;
        let mut table = NameTable {
            slots: (0..size).map(|_| Entry::empty()).collect(),
            mask: size - 1,
            shift: 64 - bits,
            seed,
            perfect,
        };
        for &(summary, name, value) in names {
            let mut i = table.start(summary);
            while !table.slots.get(i)?.is_empty() {
                if perfect {
                    return None;
                }
                i = (i + 1) & table.mask;
            }
            *table.slots.get_mut(i)? = Entry {
                summary,
                bytes: name.into(),
                value: Some(value),
            };
        }
        Some(table)
    }

    #[inline(always)]
    fn start(&self, summary: Summary) -> usize {
        (summary.hash(self.seed) >> self.shift) as usize & self.mask
    }

    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<V> {
        self.find(Summary::of(name), name)
    }

    /// `get(&buf[start..start + len])`, faster for short names inside a longer buffer.
    #[inline(always)]
    pub fn get_within(&self, buf: &[u8], start: usize, len: usize) -> Option<V> {
        let name = buf.get(start..start + len)?;
        self.find(Summary::of_within(buf, start, len), name)
    }

    #[inline(always)]
    fn find(&self, summary: Summary, name: &[u8]) -> Option<V> {
        let mut i = self.start(summary);
        loop {
            let entry = self.slots.get(i)?;
            if entry.summary == summary && (summary.len <= 16 || *entry.bytes == *name) {
                return entry.value;
            }
            if self.perfect || entry.is_empty() {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// A member name as it sits on a JSON line, followed by its closing quote, recognised
/// with one masked 16-byte compare: no scan for the quote, no hash. Names of 16 bytes
/// or more, not ASCII, or holding a byte that would end or escape a JSON string, are
/// never recognised (every such compare fails).
#[derive(Clone, Copy, Debug)]
pub struct QuotedName {
    want: u128,
    mask: u128,
    len: usize,
}

impl QuotedName {
    /// Matches nothing.
    pub const NEVER: QuotedName = QuotedName {
        want: 1,
        mask: 0,
        len: 0,
    };

    pub fn new(name: &[u8]) -> QuotedName {
        let len = name.len();
        let special = |c: &u8| *c == b'"' || *c == b'\\' || *c < 0x20;
        if len >= 16 || !name.is_ascii() || name.iter().any(special) {
            return Self::NEVER;
        }
        let mut bytes = [0u8; 16];
        let Some(text) = bytes.get_mut(..len) else {
            return Self::NEVER;
        };
        text.copy_from_slice(name);
        let Some(quote) = bytes.get_mut(len) else {
            return Self::NEVER;
        };
        *quote = b'"';
        QuotedName {
            want: u128::from_le_bytes(bytes),
            mask: u128::MAX >> (8 * (15 - len)),
            len,
        }
    }

    /// The index of the closing quote, if the string whose text starts at `start`
    /// of `line` is this name.
    #[inline(always)]
    pub fn end_in(&self, line: &[u8], start: usize) -> Option<usize> {
        let rest = line.get(start..)?;
        let word = match rest.first_chunk::<16>() {
            Some(chunk) => u128::from_le_bytes(*chunk),
            // Near the end of the line: its last 16 bytes, shifted so that `rest`
            // comes first and zeros (never a name byte or the quote) follow.
            None => {
                let last = u128::from_le_bytes(*line.last_chunk::<16>()?);
                let missing = u32::try_from(16 - rest.len()).ok()?;
                last.checked_shr(8 * missing)?
            }
        };
        (word & self.mask == self.want).then_some(start + self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::{NameTable, QuotedName};

    #[test]
    fn finds_exactly_the_names_it_holds() {
        let names: Vec<String> = [
            "",
            "a",
            "ts",
            "user",
            "product",
            "old_price",
            "a_rather_long_field_name_x",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain((0..100).map(|i| format!("field_{i}")))
        .collect();
        let table = NameTable::new(names.iter().enumerate().map(|(i, n)| (n.as_bytes(), i)));
        for (i, n) in names.iter().enumerate() {
            assert_eq!(table.get(n.as_bytes()), Some(i), "{n}");
        }
        let line = br#"{"user":"u","produc":1,"field_9":"x"}"#;
        assert_eq!(table.get_within(line, 2, 4), Some(3));
        assert_eq!(table.get_within(line, 13, 6), None);
        assert_eq!(table.get_within(line, 24, 7), Some(16));
        assert_eq!(table.get_within(line, 24, 70), None);
        for miss in [
            "b",
            "t",
            "users",
            "produc",
            "a_rather_long_field_name_y",
            "a_rather_long_fiald_name_x",
            "field_100",
        ] {
            assert_eq!(table.get(miss.as_bytes()), None, "{miss}");
        }
    }

    #[test]
    fn quoted_names_match_exactly_the_name_and_its_quote() {
        let line = br#"{"user":"u1","users":2,"us":3,"ts":"x"}"#;
        let user = QuotedName::new(b"user");
        assert_eq!(user.end_in(line, 2), Some(6));
        assert_eq!(user.end_in(line, 14), None);
        assert_eq!(user.end_in(line, 25), None);
        let ts = QuotedName::new(b"ts");
        // Fewer than 16 bytes left on the line.
        assert_eq!(ts.end_in(line, 31), Some(33));
        assert_eq!(ts.end_in(line, line.len()), None);
        assert_eq!(
            ts.end_in(b"ts\"", 0),
            None,
            "lines under 16 bytes are scanned"
        );
        let fifteen = QuotedName::new(b"abcdefghijklmno");
        assert_eq!(fifteen.end_in(b"abcdefghijklmno\":1}", 0), Some(15));
        for never in [
            &b"abcdefghijklmnop"[..],
            b"a\"b",
            b"a\\b",
            b"a\nb",
            "é".as_bytes(),
        ] {
            let mut line = never.to_vec();
            line.extend_from_slice(b"\":1,\"padding\":2}");
            assert_eq!(QuotedName::new(never).end_in(&line, 0), None);
        }
    }

    #[test]
    fn a_schema_sized_table_is_perfect_and_colliding_summaries_fall_back_to_probing() {
        let shop = [
            "user",
            "type",
            "ts",
            "product",
            "price",
            "qty",
            "order",
            "amount",
            "page",
            "category",
            "old_price",
            "new_price",
            "email",
            "tier",
            "campaign",
        ];
        let table = NameTable::new(shop.iter().enumerate().map(|(i, n)| (n.as_bytes(), i)));
        assert!(table.perfect);
        for (i, n) in shop.iter().enumerate() {
            assert_eq!(table.get(n.as_bytes()), Some(i), "{n}");
        }
        assert_eq!(table.get(b"users"), None);

        // Same length, first 8 and last 8 bytes: one summary, so no perfect hash.
        let twins = ["aaaaaaaaXbbbbbbbb", "aaaaaaaaYbbbbbbbb", "x"];
        let table = NameTable::new(twins.iter().enumerate().map(|(i, n)| (n.as_bytes(), i)));
        assert!(!table.perfect);
        for (i, n) in twins.iter().enumerate() {
            assert_eq!(table.get(n.as_bytes()), Some(i), "{n}");
        }
        assert_eq!(table.get(b"aaaaaaaaZbbbbbbbb"), None);
    }
}
