//! Durable state (`trigc run --state DIR`): the whole state of a run kept in an
//! embedded store ([`store`], fjall) so that a restart after kill -9 loses nothing.
//! A checkpoint ([`Saved`]) is the session's checkpoint (runtime state, input
//! counts, held lines: `driver::Checkpoint`), the outbox of undelivered actions and
//! how far the input was read; it is written in one atomic batch, and checked
//! against its checksums before it is used (a damaged one is refused, never run).
//!
//! Checkpoints are incremental ([`StateDir::checkpoint_session`]): the runtime's
//! tables that grow with the customers (customer entries, instance slots, interned
//! strings) are rows ([`rows`]), and a checkpoint writes only the rows the runtime
//! marked changed since the last one, with the small rest of the state (the head:
//! clock, counters, schedule timers, input counts, outbox, input position) whole.
//! Its cost follows what changed, not the number of customers. The runtime keeps
//! the marks of what changed only when asked (`RuntimeConfig::track_changes`,
//! which `--state` sets; the first checkpoint turns them on anyway). Every row is
//! written (a full checkpoint) the first time, after a carry-over to changed rules,
//! after a failed write, when the state was handed over whole
//! ([`StateDir::checkpoint`]) and on demand ([`StateDir::write_all_next`]).
//!
//! What a restart after kill -9 guarantees: the state is the last checkpoint's;
//! a file input is read again from the offset that checkpoint reached, and lines
//! from stdin (or a socket) accepted since are in the journal, read again first; so
//! every action after the checkpoint is made again, with the same id. Actions
//! delivered or dead-lettered since the checkpoint were marked done as they
//! settled ([`deliver::Settled`](crate::deliver::Settled)), so they are printed
//! again but not sent again: only deliveries in flight at the crash (sent, the
//! answer not yet recorded) are sent twice, with the same `webhook-id`.
//!
//! ## API for a service loop
//!
//! The engine task that owns the [`Session`](crate::driver::Session) calls:
//! - [`StateDir::open`] once: the [`Restored`] state to resume from (session
//!   checkpoint, outbox, input position), the ids settled since, and the journal
//!   lines accepted but not covered by the checkpoint, to process again first;
//! - [`StateDir::journal`] with batches of lines read from a source that cannot
//!   replay them (stdin, a socket, an HTTP request), before processing them and
//!   before acknowledging them (an HTTP `202` means journaled): one entry per
//!   batch ([`journal`]), all batches of one call in one write, and they survive
//!   kill -9 when it returns;
//! - [`StateDir::checkpoint_session`] every `--checkpoint-every` events or seconds
//!   and at shutdown (with `sync`), with the session (its changes are taken), the
//!   outbox snapshot ([`Outbox::snapshot`](crate::deliver::Outbox::snapshot), whose
//!   generation it passes on) and the journal position reached
//!   ([`StateDir::journal_next`] when every journaled line has been processed);
//!   [`StateDir::checkpoint`] does the same from a [`Saved`] (a copy of the whole
//!   state: every row is written);
//! - [`StateDir::settled`] once, to hand the outbox its marker of settled jobs.
//!
//! All calls are blocking and short (a journal write is one `write` call; a
//! checkpoint serialises what changed): from async code, call them from the one
//! task that owns the session, or `spawn_blocking`.

pub mod journal;
pub mod rows;
pub mod store;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::deliver::{Job, OutboxState, Outcome, Settled, parse_id};
use crate::driver::{CHECKPOINT_FORMAT, Checkpoint, CheckpointHead, Session, program_fingerprint};
use crate::ir::Program;
use crate::ir::TriggerId;
use crate::runtime::carry::{CarryReport, ProgramPrint, carry_over, program_print};
use crate::runtime::rows::{Changes, Head};
use crate::runtime::{RuntimeConfig, RuntimeState};
pub use journal::Entry;
use rows::Stored;
use store::{Commit, Meta, Store};

/// Where the input was when a checkpoint was taken.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputPosition {
    /// The input's path (`-`: stdin; a socket source names itself).
    pub source: String,
    /// Bytes of a file input consumed (whole lines).
    pub offset: u64,
    /// Lines read, blank ones included (line numbers go on from it).
    pub line: u64,
}

/// One checkpoint.
#[derive(Serialize, Deserialize)]
pub struct Saved {
    pub session: Checkpoint,
    /// The program's declarations and triggers, to carry the state over to changed
    /// rules ([`crate::runtime::carry`]).
    #[serde(default)]
    pub print: ProgramPrint,
    #[serde(default)]
    pub outbox: OutboxState,
    pub input: InputPosition,
}

/// What a checkpoint keeps beside the session (see [`Saved`]).
#[derive(Clone, Copy)]
pub struct Beside<'a> {
    pub print: &'a ProgramPrint,
    pub outbox: &'a OutboxState,
    pub input: &'a InputPosition,
}

/// The body of a checkpoint of format 2: everything but the rows.
#[derive(Serialize)]
struct BodyOut<'a> {
    session: &'a CheckpointHead,
    runtime: &'a Head,
    print: &'a ProgramPrint,
    outbox: &'a OutboxState,
    input: &'a InputPosition,
}

/// [`BodyOut`], read back.
#[derive(Deserialize)]
struct BodyIn {
    session: CheckpointHead,
    runtime: Head,
    print: ProgramPrint,
    outbox: OutboxState,
    input: InputPosition,
}

/// What one checkpoint wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    /// Bytes of the head and of the rows written.
    pub bytes: u64,
    /// Rows written (and removed).
    pub rows: u64,
    /// Every row was written.
    pub full: bool,
}

/// What [`StateDir::open`] found.
pub struct Restored {
    /// The last checkpoint (none: the run starts from the beginning).
    pub saved: Option<Saved>,
    /// Outbox jobs settled since the checkpoint: not sent again.
    pub done: HashSet<u128>,
    /// The generation the checkpoint was written under (for
    /// [`Outbox::restore`](crate::deliver::Outbox::restore)).
    pub generation: u64,
    /// Journaled batches not in the checkpoint, in order: process them first.
    pub journal: Vec<Entry>,
    /// When the rules changed since the checkpoint: what was kept and dropped.
    pub carried: Option<CarryReport>,
    /// Triggers the new rules added (their schedules start on resume:
    /// [`crate::runtime::Runtime::start_added_schedules`]).
    pub added: Vec<TriggerId>,
}

impl Restored {
    /// Nothing to restore: a run from the start.
    pub fn fresh() -> Restored {
        Restored {
            saved: None,
            done: HashSet::new(),
            generation: 0,
            journal: Vec::new(),
            carried: None,
            added: Vec::new(),
        }
    }
}

/// An open `--state` directory.
pub struct StateDir {
    store: Arc<Store>,
    meta: Option<Meta>,
    /// The sequence number of the next journal line.
    next_journal: u64,
    /// The hash of each row the store holds (`None`: not known, the next
    /// checkpoint writes every row).
    stored: Option<Stored>,
}

impl StateDir {
    /// Open `dir` (created when missing) and read its last checkpoint, refusing a
    /// damaged one and one of another program, format or `--lateness`/`--late`.
    pub fn open(
        dir: &Path,
        program: &Program,
        config: &RuntimeConfig,
    ) -> Result<(StateDir, Restored), String> {
        let store = Store::open(dir)?;
        let Some(loaded) = store.load()? else {
            // No checkpoint yet: a run from the start, with any lines journaled
            // before the crash.
            let (journal, next_journal) = read_journal(&store, 0)?;
            let done = store
                .done_since(0)?
                .iter()
                .filter_map(|id| parse_id(id))
                .collect();
            let restored = Restored {
                done,
                journal,
                ..Restored::fresh()
            };
            let state = StateDir {
                store: Arc::new(store),
                meta: None,
                next_journal,
                stored: None,
            };
            return Ok((state, restored));
        };
        let shown = dir.display();
        let (mut saved, stored) = match &loaded.meta.rows {
            None => {
                let saved: Saved = serde_json::from_slice(&loaded.body).map_err(|e| {
                    format!("the state in `{shown}` is damaged ({e}): refusing to use it")
                })?;
                (saved, None)
            }
            Some(meta) => {
                let (saved, stored) = read_rows(&store, &loaded.body, meta, program)?;
                (saved, Some(stored))
            }
        };
        let checkpoint = &saved.session;
        if checkpoint.format != CHECKPOINT_FORMAT {
            return Err(format!(
                "the state in `{shown}` was written by another version of trigc \
                 (checkpoint format {}, this one reads {CHECKPOINT_FORMAT})",
                checkpoint.format
            ));
        }
        let mut carried = None;
        let mut added = Vec::new();
        if checkpoint.program != program_fingerprint(program) {
            let (report, new) = carry_over(&mut saved.session.runtime, &saved.print, program)
                .map_err(|why| {
                    format!(
                        "the state in `{shown}` was written by other rules and cannot be carried \
                     over: {why}; run with the rules that wrote it, or move the directory away \
                     to start afresh"
                    )
                })?;
            saved.session.program = program_fingerprint(program);
            saved.print = program_print(program);
            // The carry-over renumbered and dropped what the marks do not follow.
            saved.session.runtime.mark_all_changed();
            carried = Some(report);
            added = new;
        }
        let checkpoint = &saved.session;
        if let Some(was) = &checkpoint.config
            && (was.lateness, was.late) != (config.lateness, config.late)
        {
            return Err(format!(
                "the state in `{shown}` was written with other `--lateness`/`--late`: run with \
                 the same ones"
            ));
        }
        let generation = loaded.meta.generation;
        let done = store
            .done_since(generation)?
            .iter()
            .filter_map(|id| parse_id(id))
            .collect();
        let (journal, next_journal) = read_journal(&store, loaded.meta.journal_from)?;
        let restored = Restored {
            saved: Some(saved),
            done,
            generation,
            journal,
            carried,
            added,
        };
        Ok((
            StateDir {
                store: Arc::new(store),
                meta: Some(loaded.meta),
                next_journal,
                stored,
            },
            restored,
        ))
    }

    /// The generation of the last checkpoint (0: none yet).
    pub fn generation(&self) -> u64 {
        self.meta.as_ref().map_or(0, |m| m.generation)
    }

    /// Journal `batches` of lines, each as one entry (an empty batch is skipped),
    /// all in one write (see the module docs): `wall_ms` is the wall-clock time the
    /// service processes them at (`None` under the event clock), which their replay
    /// uses. The sequence number of the first line.
    pub fn journal(&mut self, wall_ms: Option<i64>, batches: &[Vec<&[u8]>]) -> Result<u64, String> {
        let first = self.next_journal;
        let mut next = first;
        let entries: Vec<(u64, Vec<u8>)> = batches
            .iter()
            .filter(|lines| !lines.is_empty())
            .map(|lines| {
                let seq = next;
                next += lines.len() as u64;
                (seq, journal::encode(wall_ms, lines))
            })
            .collect();
        if !entries.is_empty() {
            self.store.journal(&entries)?;
        }
        self.next_journal = next;
        Ok(first)
    }

    /// The sequence number the next journaled line gets: a checkpoint taken once
    /// every line before it was processed covers them all.
    pub fn journal_next(&self) -> u64 {
        self.next_journal
    }

    /// Write a checkpoint of `session` under `generation` (greater than the last),
    /// covering the journal up to `journal_from`, synced to disk when `sync` (at
    /// shutdown): the rows changed since the last checkpoint and the head. The
    /// session's changes are taken (on an error the next checkpoint writes every
    /// row).
    pub fn checkpoint_session(
        &mut self,
        session: &mut Session<'_>,
        beside: Beside<'_>,
        generation: u64,
        journal_from: u64,
        sync: bool,
    ) -> Result<Written, String> {
        let changes = session.runtime.take_changes();
        let head = session.checkpoint_head();
        self.write(
            &head,
            session.runtime.state(),
            &changes,
            beside,
            (generation, journal_from, sync),
        )
    }

    /// Write a checkpoint from a copy of the whole state (every row), as
    /// [`StateDir::checkpoint_session`] does; its size in bytes.
    pub fn checkpoint(
        &mut self,
        saved: &Saved,
        generation: u64,
        journal_from: u64,
        sync: bool,
    ) -> Result<u64, String> {
        let head = saved.session.head();
        let changes = Changes::all();
        let beside = Beside {
            print: &saved.print,
            outbox: &saved.outbox,
            input: &saved.input,
        };
        let written = self.write(
            &head,
            &saved.session.runtime,
            &changes,
            beside,
            (generation, journal_from, sync),
        )?;
        Ok(written.bytes)
    }

    /// The next checkpoint writes every row (a full checkpoint).
    pub fn write_all_next(&mut self) {
        self.stored = None;
    }

    /// Write the head and the rows `changes` marks (all, when the store's rows are
    /// unknown).
    fn write(
        &mut self,
        head: &CheckpointHead,
        state: &RuntimeState,
        changes: &Changes,
        beside: Beside<'_>,
        (generation, journal_from, sync): (u64, u64, bool),
    ) -> Result<Written, String> {
        let failed = |dir: &mut StateDir, e: String| {
            dir.stored = None;
            e
        };
        let rows = match rows::changed(state, changes, &mut self.stored) {
            Ok(rows) => rows,
            Err(e) => return Err(failed(self, e)),
        };
        let runtime = state.head();
        let body = BodyOut {
            session: head,
            runtime: &runtime,
            print: beside.print,
            outbox: beside.outbox,
            input: beside.input,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => return Err(failed(self, format!("cannot write the state: {e}"))),
        };
        let written = Written {
            bytes: body.len() as u64 + rows.bytes,
            rows: (rows.put.len() + rows.remove.len()) as u64,
            full: rows.full.is_some(),
        };
        let generation = generation.max(self.generation() + 1);
        let commit = Commit {
            generation,
            body: &body,
            rows,
            journal_from,
            sync,
        };
        match self.store.commit(self.meta.as_ref(), commit) {
            Ok(meta) => {
                self.meta = Some(meta);
                Ok(written)
            }
            Err(e) => Err(failed(self, e)),
        }
    }

    /// The outbox's marker of settled jobs (see [`Settled`]).
    pub fn settled(&self) -> Box<dyn Settled> {
        Box::new(DoneMarks {
            store: Arc::clone(&self.store),
        })
    }

    /// Sync everything written to disk.
    pub fn sync(&self) -> Result<(), String> {
        self.store.sync()
    }
}

/// The journal entries from `seq` on, and the sequence number the next line gets.
fn read_journal(store: &Store, seq: u64) -> Result<(Vec<Entry>, u64), String> {
    let mut next = seq;
    let mut entries = Vec::new();
    for (first, value) in store.journal_from(seq)? {
        let entry = journal::decode(value)
            .map_err(|why| format!("the state's journal is damaged ({why}): refusing to use it"))?;
        next = first + entry.len();
        entries.push(entry);
    }
    Ok((entries, next))
}

/// The checkpoint of format 2 in `store`: its `body` (checked) and its rows,
/// checked against their hashes and `meta`, with the hashes of the rows.
fn read_rows(
    store: &Store,
    body: &[u8],
    meta: &rows::RowsMeta,
    program: &Program,
) -> Result<(Saved, Stored), String> {
    let body: BodyIn = serde_json::from_slice(body)
        .map_err(|e| store.damaged(format!("the head of the checkpoint: {e}")))?;
    let mut reader = rows::Reader::default();
    store.read_rows(|k, v| reader.row(k, v))?;
    let (rows, stored) = reader.finish(meta).map_err(|e| store.damaged(e))?;
    let head = &body.runtime;
    if (head.customers, head.instances, head.strings)
        != (
            rows.customers.len(),
            rows.instances.len(),
            rows.strings
                .len()
                .div_ceil(crate::runtime::rows::STRING_CHUNK),
        )
    {
        return Err(store.damaged("the head and the rows disagree on the tables' sizes"));
    }
    // The fan-out index is rebuilt from the sets, laid out by the declarations.
    let same = body.print.declarations == program_print(program).declarations;
    let runtime = RuntimeState::from_rows(same.then_some(program), body.runtime, rows);
    let saved = Saved {
        session: body.session.with_runtime(runtime),
        print: body.print,
        outbox: body.outbox,
        input: body.input,
    };
    Ok((saved, stored))
}

/// Marks settled jobs in the store.
struct DoneMarks {
    store: Arc<Store>,
}

impl Settled for DoneMarks {
    fn settled(&self, generation: u64, job: &Job, _outcome: &Outcome) {
        if let Err(e) = self.store.mark_done(generation, &job.id) {
            eprintln!("trigc: {e}");
        }
    }
}
