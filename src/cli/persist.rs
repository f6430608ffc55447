//! What the two loops of `trigc run --state DIR`/`--deliver` share: the read loop
//! of a file or stdin (`service.rs`) and the socket service (`serve.rs`, with
//! `journaled.rs`). [`open`] opens the state directory and the delivery and
//! resumes the session from the last checkpoint (its outbox restored, actions
//! settled since not sent again); [`Durable`] writes checkpoints on the
//! `--checkpoint-every` cadence and at the end, and times them for `--stats`.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::time::Instant;

use super::run::RunArgs;
use super::service::{Every, secret};
use crate::deliver::{
    AttemptConfig, Backoff, Delivery, Outbox, OutboxConfig, OutboxState, parse_id,
};
use crate::driver::Session;
use crate::durable::{Beside, Entry, InputPosition, Restored, StateDir};
use crate::ir::Program;
use crate::runtime::carry::{CarryReport, ProgramPrint, program_print};
use crate::runtime::{RestoreError, RuntimeConfig};
use crate::service::Source;

/// When the next checkpoint is due.
pub(super) struct Cadence {
    every: Every,
    /// Events since the last checkpoint.
    pub events: u64,
    since: Instant,
}

impl Cadence {
    pub fn new(every: Every) -> Cadence {
        Cadence {
            every,
            events: 0,
            since: Instant::now(),
        }
    }

    fn due(&self) -> bool {
        match self.every {
            Every::Events(n) => self.events >= n,
            Every::Time(d) => self.events > 0 && self.since.elapsed() >= d,
        }
    }

    fn reset(&mut self) {
        self.events = 0;
        self.since = Instant::now();
    }
}

/// How long checkpoints took (`--stats`: `checkpoints`).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub(super) struct CheckpointTiming {
    count: u64,
    /// Checkpoints that wrote every row (the first, after a change of rules).
    full: u64,
    /// The last one's size (the head and the rows it wrote), rows and time.
    last_bytes: u64,
    last_rows: u64,
    /// The most rows one checkpoint wrote (a full one, usually).
    max_rows: u64,
    last_ms: u64,
    max_ms: u64,
    total_ms: u64,
}

/// An open state directory and when to checkpoint it.
pub(super) struct Durable {
    pub dir: StateDir,
    /// The input, as the checkpoint records it.
    pub source: String,
    /// Whether lines are journaled (stdin and sockets: they cannot be read again).
    pub journaling: bool,
    /// The program's declarations and triggers, kept with each checkpoint.
    pub print: ProgramPrint,
    pub cadence: Cadence,
    pub timing: CheckpointTiming,
}

impl Durable {
    /// Whether `--checkpoint-every` says a checkpoint is due. The caller flushes
    /// the records decided so far first (a checkpoint must never be ahead of
    /// stdout), and takes it only when every journaled line has been processed.
    pub fn due(&self) -> bool {
        self.cadence.due()
    }

    /// Write a checkpoint of `session` (the rows it changed since the last one; its
    /// change marks are taken), the outbox and the input position (`lines`: lines
    /// read and bytes of a file consumed), synced when `sync`.
    pub fn checkpoint(
        &mut self,
        session: &mut Session<'_>,
        outbox: Option<&Outbox>,
        lines: (u64, u64),
        sync: bool,
    ) -> Result<(), String> {
        let started = Instant::now();
        let (outbox, generation) = match outbox {
            Some(outbox) => outbox.snapshot(),
            None => (OutboxState::default(), self.dir.generation() + 1),
        };
        let input = InputPosition {
            source: self.source.clone(),
            offset: lines.1,
            line: lines.0,
        };
        let beside = Beside {
            print: &self.print,
            outbox: &outbox,
            input: &input,
        };
        let journal_from = self.dir.journal_next();
        let written =
            self.dir
                .checkpoint_session(session, beside, generation, journal_from, sync)?;
        self.cadence.reset();
        let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let timing = &mut self.timing;
        timing.count += 1;
        timing.full += u64::from(written.full);
        timing.last_bytes = written.bytes;
        timing.last_rows = written.rows;
        timing.max_rows = timing.max_rows.max(written.rows);
        timing.last_ms = took;
        timing.max_ms = timing.max_ms.max(took);
        timing.total_ms = timing.total_ms.saturating_add(took);
        Ok(())
    }

    /// The `checkpoints` member of the `--stats` summary.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::to_value(self.timing).unwrap_or_default()
    }
}

/// A run's session resumed from its state, with what goes with it.
pub(super) struct Opened<'p> {
    pub session: Session<'p>,
    pub durable: Option<Durable>,
    pub delivery: Option<Delivery>,
    /// Actions settled since the checkpoint: printed again by the replay, not sent.
    pub done: HashSet<u128>,
    /// Journaled batches to process first.
    pub journal: Vec<Entry>,
    /// Where the input was at the checkpoint.
    pub position: InputPosition,
    pub carried: Option<CarryReport>,
}

/// Whether a state that was reading `was` may go on reading `now`: the same file,
/// or stdin again, or any socket (a service may move to another address; what it
/// had accepted is in the journal).
fn same_input(was: &str, now: &str) -> bool {
    was == now || (is_socket(was) && is_socket(now))
}

/// Whether an input names a socket (`tcp://`, `unix:`, `http://`).
fn is_socket(input: &str) -> bool {
    matches!(Source::parse(input), Some(Ok(_)))
}

/// Open `--state` (if given) and `--deliver` (if asked) for a run reading
/// `source`, and the session: resumed from the last checkpoint, or new.
pub(super) fn open<'p>(
    args: &RunArgs,
    program: &'p Program,
    source: String,
) -> Result<Opened<'p>, String> {
    let svc = &args.service;
    // Change marks only where a checkpoint will take them.
    let config = RuntimeConfig {
        track_changes: svc.state.is_some(),
        ..args.config()
    };
    let secret = secret(svc)?;
    let (dir, restored) = match &svc.state {
        Some(path) => {
            let (dir, restored) = StateDir::open(path, program, &config)?;
            (Some(dir), restored)
        }
        None => (None, Restored::fresh()),
    };
    let Restored {
        saved,
        done,
        generation,
        journal,
        carried,
        added,
    } = restored;
    if let Some(report) = &carried
        && report.changed()
    {
        eprintln!("trigc: {}", describe_carry(report));
    }
    let position = saved.as_ref().map(|s| s.input.clone()).unwrap_or_default();
    if saved.is_some() && !same_input(&position.source, &source) {
        return Err(format!(
            "the state in `{}` was reading `{}`, not `{source}`: give that input, or move the \
             directory away to start afresh",
            svc.state
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display(),
            position.source
        ));
    }
    let delivery = if svc.deliver {
        let dead_letters = match &svc.dead_letter {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("cannot open `{}`: {e}", path.display()))?,
            ),
            None => None,
        };
        let outbox = OutboxConfig {
            capacity: usize::try_from(svc.outbox_capacity).unwrap_or(usize::MAX),
            per_endpoint: usize::try_from(svc.max_in_flight).unwrap_or(16),
            settled: dir.as_ref().map(StateDir::settled),
            dead_letters,
        };
        let attempts = AttemptConfig {
            secret,
            timeout: svc.delivery_timeout,
            max_attempts: svc.max_attempts,
            backoff: Backoff {
                base: svc.retry_base,
                cap: svc.retry_cap,
            },
        };
        Some(Delivery::start(outbox, attempts)?)
    } else {
        None
    };
    let engine = super::run::build_engine(args.engine)?;
    let mut session = match saved {
        None => Session::new(program, engine, config).map_err(RestoreError::Engine),
        Some(saved) => {
            if let Some(d) = &delivery {
                let mut outbox = saved.outbox;
                outbox
                    .jobs
                    .retain(|j| parse_id(&j.id).is_none_or(|id| !done.contains(&id)));
                d.outbox.restore(outbox, generation);
            }
            Session::resume(program, engine, config, saved.session)
        }
    }
    .map_err(|e| match e {
        RestoreError::Engine(e) => e.to_string(),
        RestoreError::Invalid(what) => format!("the state is not usable: {what}"),
    })?;
    session.set_max_jump(args.max_jump);
    session.runtime.start_added_schedules(&added);
    let _ = session.take_tail();
    let journaling = dir.is_some() && (source == "-" || is_socket(&source));
    let durable = dir.map(|dir| Durable {
        dir,
        source,
        journaling,
        print: program_print(program),
        cadence: Cadence::new(svc.checkpoint_every),
        timing: CheckpointTiming::default(),
    });
    Ok(Opened {
        session,
        durable,
        delivery,
        done,
        journal,
        position,
        carried,
    })
}

/// What the summary of a run with `--state` or `--deliver` tells besides the
/// session's.
pub(super) struct Parts<'a> {
    pub durable: Option<&'a Durable>,
    pub carried: Option<&'a CarryReport>,
    pub delivery: Option<&'a Delivery>,
}

/// Add the checkpoints, the carry-over to changed rules and the deliveries to the
/// summary (`--stats`: members of its object), and warn of actions lost.
pub(super) fn summarize(end_text: &mut String, stats: bool, parts: &Parts<'_>) {
    if stats && let Some(d) = parts.durable {
        add_member(end_text, "checkpoints", d.stats());
    }
    if stats && let Some(report) = parts.carried {
        let value = serde_json::to_value(report).unwrap_or_default();
        add_member(end_text, "rules_changed", value);
    }
    let Some(d) = parts.delivery else {
        return;
    };
    let left = d.outbox.len();
    let counts = d.outbox.stats();
    if stats {
        let mut value = serde_json::to_value(&counts).unwrap_or_default();
        if let Some(v) = value.as_object_mut() {
            v.insert("pending".into(), serde_json::json!(left));
        }
        add_member(end_text, "delivery", value);
    } else {
        end_text.push_str(&format!(
            "delivered: {}, retries: {}, dead letters: {}, endpoints gone: {}, not sent again: {}, pending: {left}\n",
            counts.delivered, counts.retries, counts.dead_letters, counts.endpoints_gone, counts.skipped_done
        ));
    }
    if left > 0 && parts.durable.is_none() {
        end_text.push_str(&format!(
            "warning: {left} actions were not delivered and are lost (no --state to keep them)\n"
        ));
    }
}

/// Add a member to the `--stats` summary object.
fn add_member(summary: &mut String, name: &str, value: serde_json::Value) {
    if let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_str(summary) {
        obj.insert(name.into(), value);
        *summary = format!("{}\n", serde_json::Value::Object(obj));
    }
}

/// The notice of a carry-over to changed rules.
pub(super) fn describe_carry(report: &CarryReport) -> String {
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    format!(
        "rules changed: {} triggers kept with their state, new: {}; changed or removed, \
         their state dropped: {} ({} pending instances)",
        report.kept.len(),
        list(&report.added),
        list(&report.dropped),
        report.instances_dropped
    )
}
