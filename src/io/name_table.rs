//! A small read-only map from short byte strings (JSON member names, event type
//! names) to values, built once per program and probed for every member of every
//! line.
//!
//! Why not a `HashMap<Box<[u8]>, V>`: profiling the decoder showed the general map
//! spending most of its time in hashing and in a `memcmp` call per hit. Here a name
//! is summarised by its length and its first and last 8 bytes; for names of up to 16
//! bytes (nearly all of them) that summary *is* the name, so a hit costs two loads,
//! a multiply and three integer compares. Longer names also compare their bytes.

/// Open addressing, linear probing, at most half full.
#[derive(Clone, Debug)]
pub struct NameTable<V> {
    slots: Vec<Option<Entry<V>>>,
    mask: usize,
}

#[derive(Clone, Debug)]
struct Entry<V> {
    summary: Summary,
    /// Only consulted for names longer than 16 bytes.
    bytes: Box<[u8]>,
    value: V,
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
    fn hash(self) -> u64 {
        (self.head ^ self.tail.rotate_left(29) ^ self.len as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl<V: Copy> NameTable<V> {
    /// The table of `names`; with a name given twice, the first value is kept.
    pub fn new<'a>(names: impl IntoIterator<Item = (&'a [u8], V)>) -> NameTable<V> {
        let names: Vec<(&[u8], V)> = names.into_iter().collect();
        let size = (names.len() * 2).next_power_of_two().max(8);
        let mut table = NameTable {
            slots: vec![None; size],
            mask: size - 1,
        };
        for (name, value) in names {
            if table.get(name).is_some() {
                continue;
            }
            let summary = Summary::of(name);
            let mut i = table.start(summary);
            while table.slots.get(i).is_some_and(Option::is_some) {
                i = (i + 1) & table.mask;
            }
            if let Some(slot) = table.slots.get_mut(i) {
                *slot = Some(Entry {
                    summary,
                    bytes: name.into(),
                    value,
                });
            }
        }
        table
    }

    #[inline(always)]
    fn start(&self, summary: Summary) -> usize {
        // The high bits of the product are the well-mixed ones.
        (summary.hash() >> 40) as usize & self.mask
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
            let entry = self.slots.get(i)?.as_ref()?;
            if entry.summary == summary && (summary.len <= 16 || *entry.bytes == *name) {
                return Some(entry.value);
            }
            i = (i + 1) & self.mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NameTable;

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
}
