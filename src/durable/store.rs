//! The state directory: a fjall database with five keyspaces. `meta` holds one row,
//! the [`Meta`] of the last checkpoint; `state` that checkpoint's body in chunks
//! (keyed by generation and chunk number, so the new chunks, the new meta and the
//! removal of the old ones are one atomic batch); `rows` the rows of the runtime's
//! large tables ([`super::rows`]), rewritten by each checkpoint only where they
//! changed, in the same batch; `done` one row per outbox job settled since (keyed
//! by generation and id); `journal` batches of input lines accepted but not yet
//! covered by a checkpoint (keyed by the sequence number of their first line,
//! [`super::journal`]).
//!
//! Beside the database, `DIR/checkpoint.json` names the last checkpoint's
//! generation and checksum (written after each commit, renamed into place): the
//! store's journal cuts a torn tail silently on recovery, as it must after kill -9,
//! but a store that has lost a checkpoint this file names (a truncated or older
//! copy) is refused.
//!
//! Every write is flushed to the operating system before it returns
//! (`PersistMode::Buffer`: it survives kill -9, not a power cut); the last checkpoint
//! of a run is synced (`SyncAll`). The body is checked against the length and XXH3
//! the meta gives before anything in it is used, and the rows against their own
//! hashes and the digest the meta gives ([`super::rows`]).

use std::path::{Path, PathBuf};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use serde::{Deserialize, Serialize};

use super::rows::{RowWrites, RowsMeta, Table, key};

/// The layout of the state directory this trigc writes: 2, the body is the head
/// of the state and the large tables are in `rows`. It reads 1 as well (the body is
/// the whole state); another is refused.
pub const STATE_FORMAT: u32 = 2;

/// The layout before rows (read, never written).
pub const WHOLE_BODY_FORMAT: u32 = 1;

/// The body is stored in chunks of this many bytes (the store handles values of
/// megabytes better than one value of gigabytes).
const CHUNK: usize = 1 << 20;

/// What the `meta` row says of the last checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    pub format: u32,
    /// Checkpoints written so far (the first is 1).
    pub generation: u64,
    pub chunks: u32,
    pub bytes: u64,
    pub xxh3_128: String,
    /// Journal lines from this sequence number on are not in the checkpoint.
    pub journal_from: u64,
    /// The rows of the checkpoint (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowsMeta>,
}

/// One checkpoint to commit.
pub struct Commit<'a> {
    pub generation: u64,
    /// The body (format 2: the head of the state).
    pub body: &'a [u8],
    pub rows: RowWrites,
    pub journal_from: u64,
    /// Synced to disk before returning.
    pub sync: bool,
}

/// `DIR/checkpoint.json`.
#[derive(Serialize, Deserialize)]
struct Pointer {
    generation: u64,
    xxh3_128: String,
}

const POINTER: &str = "checkpoint.json";

/// An open state directory.
pub struct Store {
    db: Database,
    meta: Keyspace,
    state: Keyspace,
    rows: Keyspace,
    done: Keyspace,
    journal: Keyspace,
    path: PathBuf,
}

/// What the directory held when opened.
pub struct Loaded {
    pub meta: Meta,
    /// The checkpoint body, whole and unchanged.
    pub body: Vec<u8>,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> String {
    format!("the state in `{}`: {e}", path.display())
}

fn gen_key(generation: u64, rest: &[u8]) -> Vec<u8> {
    let mut key = generation.to_be_bytes().to_vec();
    key.extend_from_slice(rest);
    key
}

impl Store {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let unreadable = |e: fjall::Error| {
            io_error(
                dir,
                format!(
                    "is damaged or unreadable ({e}): refusing to use it; move the directory \
                     away to start afresh"
                ),
            )
        };
        let db = Database::builder(dir).open().map_err(unreadable)?;
        let keyspace = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(unreadable)
        };
        Ok(Store {
            meta: keyspace("meta")?,
            state: keyspace("state")?,
            rows: keyspace("rows")?,
            done: keyspace("done")?,
            journal: keyspace("journal")?,
            db,
            path: dir.to_path_buf(),
        })
    }

    pub fn damaged(&self, what: impl std::fmt::Display) -> String {
        io_error(
            &self.path,
            format!(
                "is damaged ({what}): refusing to use it; move the directory away to start afresh"
            ),
        )
    }

    /// The last checkpoint, checked whole, if there is one.
    pub fn load(&self) -> Result<Option<Loaded>, String> {
        let read = |e: fjall::Error| self.damaged(e);
        let pointer = match std::fs::read(self.path.join(POINTER)) {
            Ok(bytes) => Some(
                serde_json::from_slice::<Pointer>(&bytes)
                    .map_err(|e| self.damaged(format!("`{POINTER}`: {e}")))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(&self.path, e)),
        };
        let meta = self.meta.get(b"meta").map_err(read)?;
        let meta: Option<Meta> = match meta {
            Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| self.damaged(e))?),
            None => None,
        };
        if let Some(pointer) = &pointer {
            let has = meta.as_ref().map_or(0, |m| m.generation);
            if has < pointer.generation {
                return Err(self.damaged(format!(
                    "checkpoint {} was written, the store holds {}: a truncated or older copy",
                    pointer.generation,
                    if has == 0 {
                        "none".to_owned()
                    } else {
                        has.to_string()
                    }
                )));
            }
            if let Some(m) = &meta
                && m.generation == pointer.generation
                && m.xxh3_128 != pointer.xxh3_128
            {
                return Err(self.damaged("the checkpoint is not the one written last"));
            }
        }
        let Some(meta) = meta else {
            return Ok(None);
        };
        if meta.format != STATE_FORMAT && meta.format != WHOLE_BODY_FORMAT {
            return Err(io_error(
                &self.path,
                format!(
                    "was written by another version of trigc (state format {}, this one \
                     reads {STATE_FORMAT})",
                    meta.format
                ),
            ));
        }
        let mut body = Vec::with_capacity(usize::try_from(meta.bytes).unwrap_or(0).min(1 << 30));
        for chunk in 0..meta.chunks {
            let key = gen_key(meta.generation, &chunk.to_be_bytes());
            let Some(piece) = self.state.get(&key).map_err(read)? else {
                return Err(self.damaged(format!("chunk {chunk} of the checkpoint is missing")));
            };
            body.extend_from_slice(&piece);
        }
        if body.len() as u64 != meta.bytes {
            return Err(self.damaged(format!(
                "the checkpoint should hold {} bytes, it holds {}",
                meta.bytes,
                body.len()
            )));
        }
        if checksum(&body) != meta.xxh3_128 {
            return Err(self.damaged("the checkpoint does not match its checksum"));
        }
        Ok(Some(Loaded { meta, body }))
    }

    /// Write a checkpoint: its body as generation `generation` with its rows (the
    /// previous body's chunks, and done marks of earlier generations, go in the same
    /// batch), then sync it to disk when `sync`.
    pub fn commit(&self, previous: Option<&Meta>, c: Commit<'_>) -> Result<Meta, String> {
        let write = |e: fjall::Error| io_error(&self.path, format!("cannot be written: {e}"));
        let Commit {
            generation,
            body,
            rows,
            journal_from,
            sync,
        } = c;
        let mut batch = self.db.batch().durability(Some(PersistMode::Buffer));
        let mut chunks = 0u32;
        for piece in body.chunks(CHUNK) {
            batch.insert(
                &self.state,
                gen_key(generation, &chunks.to_be_bytes()),
                piece,
            );
            chunks += 1;
        }
        if let Some(old) = previous
            && old.generation != generation
        {
            for chunk in 0..old.chunks {
                batch.remove(&self.state, gen_key(old.generation, &chunk.to_be_bytes()));
            }
        }
        if let Some(lens) = rows.full {
            // Rows past a table's end, which a full checkpoint does not know of.
            for (table, len) in Table::ALL.into_iter().zip(lens) {
                let from = u32::try_from(len).unwrap_or(u32::MAX);
                for kv in self.rows.range(key(table, from)..=key(table, u32::MAX)) {
                    let k = kv.key().map_err(write)?;
                    batch.remove(&self.rows, k);
                }
            }
        }
        for k in &rows.remove {
            batch.remove(&self.rows, k.as_slice());
        }
        for (k, v) in rows.put {
            batch.insert(&self.rows, k.as_slice(), v);
        }
        for kv in self.done.range(..gen_key(generation, &[])) {
            let key = kv.key().map_err(write)?;
            batch.remove(&self.done, key);
        }
        for kv in self.journal.range(..journal_from.to_be_bytes()) {
            let key = kv.key().map_err(write)?;
            batch.remove(&self.journal, key);
        }
        let meta = Meta {
            format: STATE_FORMAT,
            generation,
            chunks,
            bytes: body.len() as u64,
            xxh3_128: checksum(body),
            journal_from,
            rows: Some(rows.meta),
        };
        let text = serde_json::to_vec(&meta).map_err(|e| io_error(&self.path, e))?;
        batch.insert(&self.meta, b"meta", text);
        batch.commit().map_err(write)?;
        if sync {
            self.db.persist(PersistMode::SyncAll).map_err(write)?;
        }
        self.point_at(&meta, sync)
            .map_err(|e| io_error(&self.path.join(POINTER), format!("cannot be written: {e}")))?;
        Ok(meta)
    }

    /// Every row, in key order, to `take` (its error is the store's damage).
    pub fn read_rows(
        &self,
        mut take: impl FnMut(&[u8], &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        for kv in self.rows.iter() {
            let (k, v) = kv.into_inner().map_err(|e| self.damaged(e))?;
            take(&k, &v).map_err(|e| self.damaged(e))?;
        }
        Ok(())
    }

    /// Write `checkpoint.json` for `meta` (a temporary file renamed into place).
    fn point_at(&self, meta: &Meta, sync: bool) -> std::io::Result<()> {
        let pointer = Pointer {
            generation: meta.generation,
            xxh3_128: meta.xxh3_128.clone(),
        };
        let tmp = self.path.join("checkpoint.json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut file, &serde_json::to_vec(&pointer)?)?;
        if sync {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, self.path.join(POINTER))
    }

    /// Mark the job `id` settled under `generation` (see the module docs).
    pub fn mark_done(&self, generation: u64, id: &str) -> Result<(), String> {
        self.done
            .insert(gen_key(generation, id.as_bytes()), b"")
            .map_err(|e| io_error(&self.path, format!("cannot be written: {e}")))
    }

    /// The ids marked done under `generation` or later.
    pub fn done_since(&self, generation: u64) -> Result<Vec<String>, String> {
        let mut ids = Vec::new();
        for kv in self.done.range(gen_key(generation, &[])..) {
            let key = kv.key().map_err(|e| self.damaged(e))?;
            let id = key.get(8..).unwrap_or_default();
            ids.push(String::from_utf8_lossy(id).into_owned());
        }
        Ok(ids)
    }

    /// Append journal entries (each keyed by the sequence number of its first line,
    /// see [`super::journal`]) in one batch; they are on their way to disk (kill -9
    /// safe) when this returns.
    pub fn journal(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), String> {
        let mut batch = self.db.batch().durability(Some(PersistMode::Buffer));
        for (seq, value) in entries {
            batch.insert(&self.journal, seq.to_be_bytes(), value.as_slice());
        }
        batch
            .commit()
            .map_err(|e| io_error(&self.path, format!("cannot be written: {e}")))
    }

    /// The journal entries from `seq` on, in order, with the sequence numbers of
    /// their first lines.
    pub fn journal_from(&self, seq: u64) -> Result<Vec<(u64, Vec<u8>)>, String> {
        let mut lines = Vec::new();
        for kv in self.journal.range(seq.to_be_bytes()..) {
            let (key, value) = kv.into_inner().map_err(|e| self.damaged(e))?;
            let n = key
                .get(..8)
                .and_then(|k| <[u8; 8]>::try_from(k).ok())
                .map_or(0, u64::from_be_bytes);
            lines.push((n, value.to_vec()));
        }
        Ok(lines)
    }

    /// Sync everything written to disk.
    pub fn sync(&self) -> Result<(), String> {
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(|e| io_error(&self.path, format!("cannot be written: {e}")))
    }
}

fn checksum(body: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(body))
}
