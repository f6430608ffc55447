//! The engine task: the one owner of the [`Session`]. It takes [`Submission`]s
//! from the channel in arrival order, passes each through the [`Accept`] step,
//! then feeds its lines to the session, reports rejects, flushes the records and
//! answers the submission's [`Ack`]. Under the wall clock it also sleeps until the
//! next due timer (one `sleep_until`, reset as the queue changes) and then calls
//! `advance_to(now - lateness)`; a fired record keeps its due instant as `at`, and
//! its lateness (wall time minus due) goes to the metrics.
//!
//! It ends when every sender is gone: after a stop request the sources stop
//! accepting and reading and drop their senders, so the engine drains exactly
//! what was read.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::clock::{self, ClockKind};
use super::metrics::{ServiceMetrics, Tally};
use super::{Ack, Frame, Numbered, QUEUE, ServiceConfig, Submission};
use crate::driver::stray::MAX_SUSPECTS;
use crate::driver::{LineOutcome, Session, TimeBounds};
use crate::durable::Entry;
use crate::interp::Interner;
use crate::io::Reject;
use crate::io::lines::{Line, is_blank};
use crate::ir::Program;
use crate::runtime::{ActionRecord, Notice, Output};
use crate::syntax::SourceMap;

/// The step every submission goes through on the engine task before any of its
/// lines is processed: the one place the durable state journals what a socket or
/// an HTTP request delivered. The engine takes every submission waiting in its
/// queue at once (up to [`QUEUE`](super::QUEUE)) and passes them here together
/// (group commit: one journal write for all), then processes them in order. An
/// HTTP request is answered `202` only after this step and the processing that
/// follows it returned, so with `--state` (which journals here, kill -9 safe
/// when it returns) a `202` means "journaled".
///
/// An `Err` refuses the whole group: none of its lines is processed, and each
/// HTTP request is answered `503` with the reason (a raw socket connection cannot
/// be told; its lines are dropped and counted as rejected).
pub trait Accept {
    /// Lines accepted before a restart and not processed since (the journal after
    /// the last checkpoint): the engine processes them, batch by batch at the
    /// wall-clock time each was first processed at, before any source opens.
    /// Nothing by default.
    fn replay(&mut self) -> Vec<Entry> {
        Vec::new()
    }

    /// Take `group` before its lines are processed, at the wall-clock time `wall_ms`
    /// the engine processes them at (`None` under the event clock).
    fn accept(&mut self, group: &[Submission], wall_ms: Option<i64>) -> Result<(), String>;

    /// After each group was processed and each wall-clock firing, before the
    /// next one (records flushed, metrics synced, nothing accepted left
    /// unprocessed): where a durable state can checkpoint on its own cadence.
    /// Nothing by default.
    fn processed(&mut self, _session: &mut Session<'_>) {}

    /// The session now runs other rules (a SIGHUP reload, between two groups,
    /// every group before it processed and flushed): a durable state records the
    /// new program with its checkpoints from now on. Nothing by default.
    fn rules_changed(&mut self, _session: &mut Session<'_>) {}
}

/// What SIGHUP asks of a service: its rules read and compiled again, and the
/// session carried over to them. The engine calls it on its own task between two
/// groups (never within one), so every line is processed by one program.
pub trait Rules {
    /// Move `session` to the rules as they are now; `None` keeps the running
    /// program (rules that do not check, unchanged rules, a state that cannot be
    /// carried over: the implementation tells why on stderr).
    fn reload(&mut self, session: &mut Session<'_>) -> Option<Reloaded>;
}

/// The program a reload moved the session to. Kept until the process ends (the
/// session and the output borrow it, and may outlive any scope of the engine's;
/// a reload is rare and a program is a few kilobytes), hence `'static`.
#[derive(Clone, Copy)]
pub struct Reloaded {
    pub program: &'static Program,
    pub sources: &'static SourceMap,
}

/// Accept everything, journal nothing (no `--state`): what was accepted and not yet
/// processed dies with the process.
pub struct ProcessOnly;

impl Accept for ProcessOnly {
    fn accept(&mut self, _: &[Submission], _: Option<i64>) -> Result<(), String> {
        Ok(())
    }
}

/// Where the engine's records, notices and rejects go.
pub trait EngineOutput: Output {
    /// A rejected line, from `origin` (`tcp 127.0.0.1:40312#3`), with its bytes
    /// when they were kept.
    fn reject(&mut self, origin: &str, reject: &Reject, bytes: Option<&[u8]>);
    /// Hand everything decided so far to its readers (after each submission and
    /// each firing of timers).
    fn flush(&mut self);
    /// Whether the reader of the records went away: the service then stops.
    fn gone(&self) -> bool;
    /// Name triggers and expressions after these rules from now on (a reload: the
    /// session's trigger and action numbers now index `program`).
    fn set_program(&mut self, program: &'static Program, sources: &'static SourceMap);
}

/// Where to answer a submission, and the answer.
type Answer = (oneshot::Sender<Ack>, Ack);

/// How a service ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceEnd {
    /// The signal that stopped it (`SIGTERM`, `SIGINT`).
    pub signal: Option<&'static str>,
    /// The reader of the records went away first.
    pub reader_gone: bool,
    /// The records timers fired on the wall clock, and how late.
    pub fired: Lateness,
}

/// Records fired on the wall clock and their lateness (wall time minus due).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lateness {
    pub records: u64,
    pub total_ms: i64,
    pub max_ms: i64,
}

/// The engine task's parts.
pub struct Engine<'s, 'p> {
    pub session: &'s mut Session<'p>,
    pub config: &'s ServiceConfig,
    pub metrics: &'s ServiceMetrics,
    pub output: &'s mut dyn EngineOutput,
    pub accept: &'s mut dyn Accept,
    pub rules: &'s mut dyn Rules,
    pub fired: Lateness,
    /// Where the lines held as stray times came from (line number, origin), the
    /// latest last: a held line rejected later is told with its connection.
    /// Bounded like the session's suspects.
    pub held: VecDeque<(u64, Arc<str>)>,
}

/// The engine's view of the output: under the wall clock, the lateness of each
/// record a firing brings is measured on its way through, and late events
/// processed at their own time are counted but not told one by one (the wall
/// clock moves the watermark past events still in flight all the time: one line
/// each would flood stderr; dropped ones are still told).
struct Timed<'a> {
    out: &'a mut dyn EngineOutput,
    /// The wall clock of this firing, ms (`None`: not a wall-clock firing).
    now: Option<i64>,
    metrics: &'a ServiceMetrics,
    wall: bool,
    fired: &'a mut Lateness,
}

impl Output for Timed<'_> {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        if let Some(now) = self.now {
            let late = now.saturating_sub(record.at).max(0);
            self.metrics.timer_fired(late);
            self.fired.records += 1;
            self.fired.total_ms = self.fired.total_ms.saturating_add(late);
            self.fired.max_ms = self.fired.max_ms.max(late);
        }
        self.out.action(record, program, interner);
    }

    fn notice(&mut self, notice: &Notice) {
        if self.wall && matches!(notice, Notice::Late { dropped: false, .. }) {
            return;
        }
        self.out.notice(notice);
    }
}

impl Engine<'_, '_> {
    /// Run until every source is gone (after `stop`) or the records' reader is;
    /// reload the rules when `reload` is notified (SIGHUP), between two groups.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Submission>,
        stop: CancellationToken,
        reload: Arc<Notify>,
    ) -> ServiceEnd {
        let wall = self.config.clock == ClockKind::Wall;
        let mut tally = self.metrics.tally(self.session.runtime.program());
        let mut end = ServiceEnd::default();
        if wall {
            // Schedules start from now, and the watermark is the wall clock. After a
            // restart, timers that came due meanwhile fire here: their records go
            // out now, not with the next input.
            self.advance_wall(clock::wall_ms(), true);
            self.output.flush();
        }
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        let mut stopping = false;
        // The answers to the group just processed, sent once its records are
        // flushed, the metrics count it and the accept step has seen it processed.
        let mut answers = Vec::new();
        loop {
            let deadline = if wall { self.deadline() } else { None };
            if let Some(at) = deadline {
                sleep.as_mut().reset(at);
            }
            tokio::select! {
                biased;
                () = stop.cancelled(), if !stopping => stopping = true,
                // Before the queue: a SIGHUP waits for the group in hand only.
                () = reload.notified() => self.reload(&mut tally),
                () = &mut sleep, if deadline.is_some() => {
                    self.advance_wall(clock::wall_ms(), false);
                }
                got = rx.recv() => match got {
                    Some(first) => {
                        let mut group = vec![first];
                        while group.len() < QUEUE
                            && let Ok(next) = rx.try_recv()
                        {
                            group.push(next);
                        }
                        answers = self.group(group, wall);
                    }
                    None => break,
                },
            }
            self.output.flush();
            self.metrics.sync(self.session, &mut tally);
            self.accept.processed(self.session);
            // Answered last: a client that has its 202 finds its records on stdout
            // and its lines in the metrics.
            for (tx, ack) in answers.drain(..) {
                // The requester may have gone: its lines were processed all the same.
                let _ = tx.send(ack);
            }
            if self.output.gone() {
                end.reader_gone = true;
                stop.cancel();
                break;
            }
        }
        end.fired = self.fired;
        end
    }

    /// SIGHUP: the rules again ([`Rules::reload`]), and what knows the program
    /// told of the new one: the output, the metrics (action counters by trigger
    /// name), the accept step (a durable state). The loop recomputes the next
    /// deadline afterwards, so wall-clock schedules of added triggers start.
    fn reload(&mut self, tally: &mut Tally) {
        // What the old program decided goes out, and is counted, first.
        self.output.flush();
        self.metrics.sync(self.session, tally);
        let Some(new) = self.rules.reload(self.session) else {
            return;
        };
        self.output.set_program(new.program, new.sources);
        self.metrics.rules_changed(self.session, tally);
        self.accept.rules_changed(self.session);
    }

    /// When the next timer (or held event) is due on the wall clock.
    fn deadline(&self) -> Option<Instant> {
        let due = self.session.next_due()?;
        let at = due.saturating_add(self.config.lateness.max(0));
        Some(clock::instant_at(at, Instant::now(), clock::wall_ms()))
    }

    /// Move the session to the wall clock `now` minus the lateness, if something is
    /// due by then (or `always`).
    fn advance_wall(&mut self, now: i64, always: bool) {
        let to = now.saturating_sub(self.config.lateness.max(0));
        if always || self.session.next_due().is_some_and(|due| due <= to) {
            let mut out = Timed {
                out: &mut *self.output,
                now: Some(now),
                metrics: self.metrics,
                wall: true,
                fired: &mut self.fired,
            };
            self.session.advance_to(to, &mut out);
        }
    }

    /// What was accepted before a restart and not processed since
    /// ([`Accept::replay`]), processed as it was then: each batch after the wall
    /// clock reached its time, within the event-time bounds of that time. Called
    /// before the sources open.
    pub fn replay(&mut self) {
        let batches = self.accept.replay();
        if batches.is_empty() {
            return;
        }
        let lines: u64 = batches.iter().map(Entry::len).sum();
        let origin: Arc<str> = Arc::from("journal");
        for batch in batches {
            let submission = Submission {
                origin: Arc::clone(&origin),
                lines: (1..)
                    .zip(batch.lines())
                    .map(|(number, bytes)| Numbered {
                        number,
                        frame: Frame::Line(bytes),
                    })
                    .collect(),
                ack: None,
            };
            self.submission(submission, batch.wall_ms);
        }
        // Back to the bounds of the clock in use: a wall-clock service sets them
        // again before each batch.
        self.session.set_time_bounds(TimeBounds::UNBOUNDED);
        // The metrics count these lines at the engine's first sync.
        self.output.flush();
        self.accept.processed(self.session);
        eprintln!("trigc: replayed {lines} journaled lines accepted before the restart");
    }

    /// A group of submissions taken from the queue at once: the accept step for
    /// all, then each one's lines in order; the answers to those that asked.
    fn group(&mut self, group: Vec<Submission>, wall: bool) -> Vec<Answer> {
        let now = wall.then(clock::wall_ms);
        if let Err(why) = self.accept.accept(&group, now) {
            return group
                .into_iter()
                .filter_map(|s| self.refuse(s, why.clone()))
                .collect();
        }
        group
            .into_iter()
            .filter_map(|s| self.submission(s, now))
            .collect()
    }

    /// One accepted submission, processed at the wall-clock time `now` (`None`:
    /// under the event clock): its lines in order; its answer, if it asked for one.
    fn submission(&mut self, submission: Submission, now: Option<i64>) -> Option<Answer> {
        let wall = self.config.clock == ClockKind::Wall;
        if let Some(now) = now {
            self.advance_wall(now, false);
            let bounds = clock::bounds(now, self.config.max_future, self.config.max_past);
            self.session.set_time_bounds(bounds);
        }
        let answer = submission.ack.is_some();
        let mut ack = Ack::default();
        let origin = &*submission.origin;
        for numbered in &submission.lines {
            let reject = match &numbered.frame {
                Frame::Line(bytes) if is_blank(bytes) => {
                    self.session.input.blank += 1;
                    continue;
                }
                Frame::Line(bytes) => {
                    let line = Line {
                        number: numbered.number,
                        bytes,
                        terminated: true,
                    };
                    let mut out = Timed {
                        out: &mut *self.output,
                        now: None,
                        metrics: self.metrics,
                        wall,
                        fired: &mut self.fired,
                    };
                    let outcome = self.session.line(line, &mut out);
                    if outcome == LineOutcome::Held {
                        self.note_held(numbered.number, &submission.origin);
                    }
                    if self.session.has_rejects() {
                        self.later_rejects();
                    }
                    match outcome {
                        LineOutcome::Rejected(reject) => {
                            self.output.reject(origin, &reject, Some(bytes));
                            reject
                        }
                        _ => {
                            ack.accepted += 1;
                            continue;
                        }
                    }
                }
                Frame::TooLong { bytes } => {
                    let reject = self
                        .session
                        .reject_too_long(numbered.number, self.config.max_line_bytes);
                    let reject = Reject {
                        reason: format!("{} ({bytes} bytes)", reject.reason),
                        ..reject
                    };
                    self.output.reject(origin, &reject, None);
                    reject
                }
            };
            if answer {
                ack.rejected.push((reject.line, reject.reason));
            }
        }
        submission.ack.map(|tx| (tx, ack))
    }

    /// A line was held as a stray time (`--clock event` only).
    #[cold]
    fn note_held(&mut self, number: u64, origin: &Arc<str>) {
        if self.held.len() >= MAX_SUSPECTS {
            self.held.pop_front();
        }
        self.held.push_back((number, Arc::clone(origin)));
    }

    /// Held events rejected after the fact (stray times refuted by later events),
    /// told with the connection that sent them (the latest held line of that
    /// number: the session keeps only the number).
    #[cold]
    fn later_rejects(&mut self) {
        for (reject, bytes) in self.session.take_rejects() {
            let at = self.held.iter().rposition(|(n, _)| *n == reject.line);
            let origin = match at.and_then(|at| self.held.remove(at)) {
                Some((_, origin)) => origin,
                None => Arc::from("(held)"),
            };
            self.output.reject(&origin, &reject, Some(&bytes));
        }
    }

    /// The accept step refused a submission: nothing of it is processed; its
    /// lines count as rejected.
    #[cold]
    fn refuse(&mut self, submission: Submission, why: String) -> Option<Answer> {
        let lines = submission.line_bytes().count() as u64;
        self.session.input.read += lines;
        self.session.input.rejected += lines;
        let reject = Reject {
            line: submission.lines.first().map_or(0, |n| n.number),
            reason: format!("{lines} lines not accepted: {why}"),
        };
        self.output.reject(&submission.origin, &reject, None);
        let ack = Ack {
            refused: Some(why),
            ..Ack::default()
        };
        submission.ack.map(|tx| (tx, ack))
    }
}
