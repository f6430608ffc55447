//! Durable state (`trigc run --state DIR`): the whole state of a run kept in an
//! embedded store ([`store`], fjall) so that a restart after kill -9 loses nothing.
//! A checkpoint ([`Saved`]) is the session's checkpoint (runtime state, input
//! counts, held lines: `driver::Checkpoint`), the outbox of undelivered actions and
//! how far the input was read; it is written whole in one atomic batch, and checked
//! against its checksum before it is used (a damaged one is refused, never run).
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
//! - [`StateDir::checkpoint`] every `--checkpoint-every` events or seconds and at
//!   shutdown (with `sync`), with the session's checkpoint, the outbox snapshot
//!   ([`Outbox::snapshot`](crate::deliver::Outbox::snapshot), whose generation it
//!   passes on) and the journal position reached ([`StateDir::journal_next`] when
//!   every journaled line has been processed);
//! - [`StateDir::settled`] once, to hand the outbox its marker of settled jobs.
//!
//! All calls are blocking and short (a journal write is one `write` call; a
//! checkpoint serialises the whole state): from async code, call them from the one
//! task that owns the session, or `spawn_blocking`.

pub mod journal;
pub mod store;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::deliver::{Job, OutboxState, Outcome, Settled, parse_id};
use crate::driver::{CHECKPOINT_FORMAT, Checkpoint, program_fingerprint};
use crate::ir::Program;
use crate::ir::TriggerId;
use crate::runtime::RuntimeConfig;
use crate::runtime::carry::{CarryReport, ProgramPrint, carry_over, program_print};
pub use journal::Entry;
use store::{Meta, Store};

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
            };
            return Ok((state, restored));
        };
        let shown = dir.display();
        let mut saved: Saved = serde_json::from_slice(&loaded.body)
            .map_err(|e| format!("the state in `{shown}` is damaged ({e}): refusing to use it"))?;
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

    /// Write a checkpoint under `generation` (greater than the last), covering the
    /// journal up to `journal_from`; synced to disk when `sync` (at shutdown). Its
    /// size in bytes.
    pub fn checkpoint(
        &mut self,
        saved: &Saved,
        generation: u64,
        journal_from: u64,
        sync: bool,
    ) -> Result<u64, String> {
        let body = serde_json::to_vec(saved).map_err(|e| format!("cannot write the state: {e}"))?;
        let generation = generation.max(self.generation() + 1);
        let meta = self
            .store
            .commit(self.meta.as_ref(), generation, &body, journal_from, sync)?;
        self.meta = Some(meta);
        Ok(body.len() as u64)
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
