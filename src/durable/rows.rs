//! The rows of an incremental checkpoint ([`crate::runtime::rows`]): one per
//! customer entry, instance slot and chunk of interned strings, keyed by table and
//! index (`c`, `i`, `s`, then the index as a big-endian `u32`), each value its JSON
//! behind the XXH3-64 of key and JSON. A checkpoint writes the rows the runtime
//! marked changed and removes those past a table's end.
//!
//! Integrity: a row that does not match its own hash is refused, naming it; and the
//! meta carries the wrapping sum of every row's hash (`digest`), kept up to date
//! here from the hash of each row as it was last written ([`Stored`]), so a row
//! missing, left over, or from another checkpoint is refused too.

use serde::{Deserialize, Serialize};

use crate::runtime::RuntimeState;
use crate::runtime::rows::{Changes, Rows, STRING_CHUNK};

/// The tables, by their key's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Customers,
    Instances,
    Strings,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Customers, Table::Instances, Table::Strings];

    pub fn tag(self) -> u8 {
        match self {
            Table::Customers => b'c',
            Table::Instances => b'i',
            Table::Strings => b's',
        }
    }

    fn name(self) -> &'static str {
        match self {
            Table::Customers => "customer",
            Table::Instances => "instance slot",
            Table::Strings => "string chunk",
        }
    }

    fn rows(self, state: &RuntimeState) -> usize {
        match self {
            Table::Customers => state.customer_rows(),
            Table::Instances => state.instance_rows(),
            Table::Strings => state.strings_rows(),
        }
    }

    fn index(self) -> usize {
        match self {
            Table::Customers => 0,
            Table::Instances => 1,
            Table::Strings => 2,
        }
    }
}

/// Row `index` of `table`'s key.
pub fn key(table: Table, index: u32) -> [u8; 5] {
    let [a, b, c, d] = index.to_be_bytes();
    [table.tag(), a, b, c, d]
}

/// What the meta says of the rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsMeta {
    pub customers: u64,
    pub instances: u64,
    pub strings: u64,
    /// The wrapping sum of every row's hash, in hex.
    pub digest: String,
}

/// The hash of each row as the store holds it, by table, and their sum.
#[derive(Clone, Debug, Default)]
pub struct Stored {
    hashes: [Vec<u64>; 3],
    digest: u64,
}

impl Stored {
    fn meta(&self) -> RowsMeta {
        let n = |t: Table| self.hashes[t.index()].len() as u64;
        RowsMeta {
            customers: n(Table::Customers),
            instances: n(Table::Instances),
            strings: n(Table::Strings),
            digest: format!("{:016x}", self.digest),
        }
    }
}

/// The writes of one checkpoint's rows.
#[derive(Default)]
pub struct RowWrites {
    pub put: Vec<([u8; 5], Vec<u8>)>,
    pub remove: Vec<[u8; 5]>,
    /// A full checkpoint: also remove any row past each table's end.
    pub full: Option<[u64; 3]>,
    pub meta: RowsMeta,
    /// Bytes of the rows written.
    pub bytes: u64,
}

fn row_hash(key: &[u8], json: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(key);
    h.update(json);
    h.digest()
}

/// Row `i` of `table` as JSON.
fn row_json(state: &RuntimeState, table: Table, i: usize) -> Result<Vec<u8>, String> {
    let json = match table {
        Table::Customers => serde_json::to_vec(&state.customer_row(i)),
        Table::Instances => serde_json::to_vec(&state.instance_row(i)),
        Table::Strings => serde_json::to_vec(state.strings_row(i)),
    };
    json.map_err(|e| format!("cannot write the state: {e}"))
}

/// The rows of `state` to write: those `changes` marks (every row when it marks
/// all, or when `stored` is `None`: the store's rows are unknown), and the removal
/// of rows past each table's end. `stored` is updated to what the store holds once
/// the writes are committed (on a failed commit, drop it: the next checkpoint is
/// then full).
pub fn changed(
    state: &RuntimeState,
    changes: &Changes,
    stored: &mut Option<Stored>,
) -> Result<RowWrites, String> {
    let full = stored.is_none() || changes.is_all();
    let stored = stored.get_or_insert_with(Stored::default);
    let mut writes = RowWrites::default();
    let mut lens = [0u64; 3];
    for table in Table::ALL {
        let rows = table.rows(state);
        lens[table.index()] = rows as u64;
        let marks = match table {
            Table::Customers => &changes.customers,
            Table::Instances => &changes.instances,
            Table::Strings => &changes.strings,
        };
        let hashes = &mut stored.hashes[table.index()];
        while hashes.len() > rows {
            if let Some(old) = hashes.pop() {
                stored.digest = stored.digest.wrapping_sub(old);
                let index = u32::try_from(hashes.len()).unwrap_or(u32::MAX);
                writes.remove.push(key(table, index));
            }
        }
        let fresh = hashes.len();
        hashes.resize(rows, 0);
        let mut write = |i: usize, hashes: &mut Vec<u64>| -> Result<(), String> {
            let index = u32::try_from(i).map_err(|_| "a table has too many rows".to_owned())?;
            let k = key(table, index);
            let json = row_json(state, table, i)?;
            let hash = row_hash(&k, &json);
            if let Some(old) = hashes.get_mut(i) {
                stored.digest = stored.digest.wrapping_sub(*old).wrapping_add(hash);
                *old = hash;
            }
            let mut value = Vec::with_capacity(8 + json.len());
            value.extend_from_slice(&hash.to_le_bytes());
            value.extend_from_slice(&json);
            writes.bytes += value.len() as u64;
            writes.put.push((k, value));
            Ok(())
        };
        if full {
            for i in 0..rows {
                write(i, hashes)?;
            }
        } else {
            // Rows new since the last checkpoint, and those marked.
            for i in marks.rows(fresh) {
                write(i, hashes)?;
            }
            for i in fresh..rows {
                write(i, hashes)?;
            }
        }
    }
    writes.full = full.then_some(lens);
    writes.meta = stored.meta();
    Ok(writes)
}

/// Rows read back from the store, checked.
#[derive(Default)]
pub struct Reader {
    stored: Stored,
    customers: Vec<crate::runtime::customer::Customer>,
    instances: Vec<crate::runtime::instance::Instance>,
    strings: Vec<Option<String>>,
    /// A chunk of strings shorter than [`STRING_CHUNK`] was read: it must be the
    /// last.
    short_chunk: bool,
}

impl Reader {
    /// Take one row (in key order); the error says what is wrong with it.
    pub fn row(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        let (table, index) = match key {
            [tag, a, b, c, d] => {
                let table = Table::ALL.into_iter().find(|t| t.tag() == *tag);
                let Some(table) = table else {
                    return Err(format!("a row of an unknown table ({tag})"));
                };
                (table, u32::from_be_bytes([*a, *b, *c, *d]) as usize)
            }
            _ => return Err("a row with a malformed key".into()),
        };
        let hashes = &mut self.stored.hashes[table.index()];
        if index != hashes.len() {
            return Err(format!(
                "{} {} is missing",
                table.name(),
                hashes.len().min(index)
            ));
        }
        let (hash, json) = match value.split_first_chunk::<8>() {
            Some((hash, json)) => (u64::from_le_bytes(*hash), json),
            None => return Err(format!("{} {index} is cut short", table.name())),
        };
        if row_hash(key, json) != hash {
            return Err(format!(
                "{} {index} does not match its checksum",
                table.name()
            ));
        }
        let bad = |e: serde_json::Error| format!("{} {index}: {e}", table.name());
        match table {
            Table::Customers => self
                .customers
                .push(serde_json::from_slice(json).map_err(bad)?),
            Table::Instances => self
                .instances
                .push(serde_json::from_slice(json).map_err(bad)?),
            Table::Strings => {
                let chunk: Vec<Option<String>> = serde_json::from_slice(json).map_err(bad)?;
                if self.short_chunk || chunk.is_empty() || chunk.len() > STRING_CHUNK {
                    return Err(format!("string chunk {index} is not where it belongs"));
                }
                self.short_chunk = chunk.len() < STRING_CHUNK;
                self.strings.extend(chunk);
            }
        }
        hashes.push(hash);
        self.stored.digest = self.stored.digest.wrapping_add(hash);
        Ok(())
    }

    /// The rows read, if they are the ones `meta` describes.
    pub fn finish(self, meta: &RowsMeta) -> Result<(Rows, Stored), String> {
        let found = self.stored.meta();
        if found.customers != meta.customers
            || found.instances != meta.instances
            || found.strings != meta.strings
        {
            return Err(format!(
                "the checkpoint has {} customers, {} instance slots and {} string chunks, \
                 the store holds {}, {} and {}",
                meta.customers,
                meta.instances,
                meta.strings,
                found.customers,
                found.instances,
                found.strings
            ));
        }
        if found.digest != meta.digest {
            return Err("the rows are not those of the checkpoint (digest)".into());
        }
        let rows = Rows {
            customers: self.customers,
            instances: self.instances,
            strings: self.strings,
        };
        Ok((rows, self.stored))
    }
}
