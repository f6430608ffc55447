//! A replay session: decoder, runtime and input counts. [`Session::line`] takes one
//! input line at a time, so the caller owns reading (a file, stdin, a socket) and
//! decides when time passes without input ([`Session::advance_to`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::checkpoint::{CHECKPOINT_FORMAT, Checkpoint, CheckpointHead, program_fingerprint};
use super::stray::{DEFAULT_MAX_JUMP, StrayGuard, Suspect};
use crate::interp::{Engine, EngineError};
use crate::io::lines::Line;
use crate::io::{Decoded, Decoder, Reject};
use crate::ir::Program;
use crate::runtime::{Event, MAX_COUNT, Output, RestoreError, Runtime, RuntimeConfig};

/// Input-side counts of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStats {
    /// Non-blank lines read.
    pub read: u64,
    pub rejected: u64,
    /// Lines of event types no rule declares, by type.
    pub ignored: BTreeMap<String, u64>,
    pub blank: u64,
    /// Lines rejected as stray times (counted in `rejected` too).
    #[serde(default)]
    pub strays: u64,
    /// The first integer times, watched for epoch seconds read as milliseconds.
    #[serde(default)]
    pub int_times: IntTimes,
    /// Lines rejected for a time outside [`TimeBounds`] (`--clock wall`): dated too
    /// far ahead of the wall clock, or too far behind it (counted in `rejected` too).
    #[serde(default)]
    pub ahead: u64,
    #[serde(default)]
    pub behind: u64,
}

/// Integer epoch-millisecond times are watched until [`IntTimes::SAMPLE`] have been
/// seen: if every one of them lies before 2000, the stream very likely writes epoch
/// seconds (1.7e9 read as milliseconds is January 1970), and the run says so once
/// (docs/LANGUAGE.md §8). Kept with the input counts, so a checkpoint carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntTimes {
    pub seen: u32,
    /// The line of the first one, while all were before 2000.
    pub first_early: Option<u64>,
    /// The verdict is in (and was said, if it was a warning).
    pub decided: bool,
}

impl IntTimes {
    const SAMPLE: u32 = 100;
    /// 2000-01-01T00:00:00Z in epoch milliseconds.
    const Y2000: i64 = 946_684_800_000;

    /// One more integer time; `Some(line)` when the verdict is a warning.
    fn note(&mut self, ts: i64, line: u64) -> Option<u64> {
        if self.decided {
            return None;
        }
        self.seen = self.seen.saturating_add(1);
        if ts >= Self::Y2000 {
            self.decided = true;
            return None;
        }
        self.first_early.get_or_insert(line);
        if self.seen >= Self::SAMPLE {
            return self.decide();
        }
        None
    }

    /// Judge on what was seen (the end of the input).
    fn decide(&mut self) -> Option<u64> {
        if self.decided {
            return None;
        }
        self.decided = true;
        self.first_early
    }
}

/// The event times a session accepts (`--clock wall`: a window around the wall
/// clock, moved by the caller as time passes); an event dated outside is rejected
/// with a reason. Unbounded by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeBounds {
    /// Earliest accepted time, ms.
    pub earliest: i64,
    /// Latest accepted time, ms.
    pub latest: i64,
    /// What the window is around (the wall clock), for the reason of a reject.
    pub now: i64,
}

impl TimeBounds {
    pub const UNBOUNDED: TimeBounds = TimeBounds {
        earliest: i64::MIN,
        latest: i64::MAX,
        now: 0,
    };
}

/// Whether a checkpoint's input counts leave room to count on (and to be summed).
fn check_input(input: &InputStats) -> Result<(), String> {
    let ignored = input
        .ignored
        .values()
        .fold(0u64, |a, &n| a.saturating_add(n));
    let counts = [
        ("input.read", input.read),
        ("input.rejected", input.rejected),
        ("input.blank", input.blank),
        ("input.strays", input.strays),
        ("input.ahead", input.ahead),
        ("input.behind", input.behind),
        ("the ignored lines' total", ignored),
    ];
    match counts.iter().find(|(_, n)| *n > MAX_COUNT) {
        Some((name, n)) => Err(format!("{name} is {n}, more than any run counts")),
        None => Ok(()),
    }
}

/// The end-of-run summary (the deterministic part: no timings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub events_read: u64,
    pub rejected: u64,
    pub ignored: u64,
    pub ignored_types: BTreeMap<String, u64>,
    pub late: u64,
    pub late_dropped: u64,
    pub blank: u64,
    pub actions: BTreeMap<String, u64>,
    pub timers_pending: u64,
    pub runtime_errors: u64,
    pub suppressed: u64,
    pub skipped: u64,
    pub parallel_dropped: u64,
    pub customers: u64,
}

/// What became of one input line.
#[derive(Clone, Debug, PartialEq)]
pub enum LineOutcome {
    Processed,
    Ignored,
    Rejected(Reject),
    /// Kept for the next part of the input (see [`Session::line_or_hold`]).
    Held,
}

/// How many distinct ignored event types are counted by name; the rest are counted
/// together under [`OTHER_TYPES`], so a stream of made-up type names cannot grow the
/// summary without bound.
pub const MAX_IGNORED_TYPES: usize = 100;

/// The name ignored types past [`MAX_IGNORED_TYPES`] are counted under (not a valid
/// event name, so it cannot be confused with one).
pub const OTHER_TYPES: &str = "(other types)";

/// What becomes of an unparsable last line that has no line end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unterminated {
    /// Rejected like any other line.
    #[default]
    Reject,
    /// Held for the next part of the input (a checkpoint follows).
    Hold,
}

/// One replay: decoder, runtime and counts.
pub struct Session<'p> {
    program: &'p Program,
    pub runtime: Runtime<'p>,
    decoder: Decoder,
    event: Event,
    pub input: InputStats,
    /// The unterminated last line held back ([`Self::line_or_hold`]), or the one a
    /// checkpoint brought (until [`Self::take_tail`]).
    tail: Vec<u8>,
    /// Events dated far ahead of the stream, held until later events confirm or
    /// refute them (`super::stray`).
    strays: StrayGuard,
    unterminated: Unterminated,
    /// `--max-jump` in ms (0: no guard).
    max_jump: i64,
    /// The latest event time processed (`i64::MIN`: none yet), and the time past
    /// which an event is a suspect (`latest + max_jump`; `i64::MAX`: none is).
    latest: i64,
    jump_limit: i64,
    /// Held events rejected since the caller last asked ([`Self::take_rejects`]).
    rejected_later: Vec<(Reject, Vec<u8>)>,
    /// Scratch event for confirmed suspects.
    released: Event,
    /// Times outside are rejected ([`Self::set_time_bounds`]).
    bounds: TimeBounds,
    /// An event dated in `plain.0..=plain.1` needs none of the guards (stray
    /// times, time bounds): one range check on the hot path. Kept by
    /// [`Self::refresh_plain`] (and by `note_time` for the jump limit).
    plain: (i64, i64),
    /// The upper end of `plain` but for the jump limit: `bounds.latest`, or
    /// `i64::MIN` while suspects are held (every event is then weighed).
    plain_cap: i64,
}

impl<'p> Session<'p> {
    /// A session from the start of the input, evaluating with `engine` (prepared
    /// here for `program`).
    pub fn new(
        program: &'p Program,
        engine: Box<dyn Engine + 'p>,
        config: RuntimeConfig,
    ) -> Result<Session<'p>, EngineError> {
        let runtime = Runtime::new(program, engine, config)?;
        Ok(Session::assemble(
            program,
            runtime,
            InputStats::default(),
            Vec::new(),
            StrayGuard::default(),
        ))
    }

    /// Continue from a checkpoint of a session of the same program, under any
    /// engine (a checkpoint holds no engine data). A checkpoint the session could
    /// not use safely is refused ([`RestoreError::Invalid`]), never run: its input
    /// counts and stray suspects are checked here, its runtime state by
    /// [`Runtime::restore`].
    pub fn resume(
        program: &'p Program,
        engine: Box<dyn Engine + 'p>,
        config: RuntimeConfig,
        checkpoint: Checkpoint,
    ) -> Result<Session<'p>, RestoreError> {
        check_input(&checkpoint.input).map_err(RestoreError::Invalid)?;
        checkpoint.strays.check().map_err(RestoreError::Invalid)?;
        let runtime = Runtime::restore(program, engine, config, checkpoint.runtime)?;
        Ok(Session::assemble(
            program,
            runtime,
            checkpoint.input,
            checkpoint.tail,
            checkpoint.strays,
        ))
    }

    /// A session around `runtime`, with what a checkpoint carries besides it.
    fn assemble(
        program: &'p Program,
        runtime: Runtime<'p>,
        input: InputStats,
        tail: Vec<u8>,
        strays: StrayGuard,
    ) -> Session<'p> {
        let mut session = Session {
            program,
            runtime,
            decoder: Decoder::new(program),
            event: Event::default(),
            input,
            tail,
            strays,
            unterminated: Unterminated::Reject,
            max_jump: DEFAULT_MAX_JUMP,
            latest: i64::MIN,
            jump_limit: i64::MAX,
            rejected_later: Vec::new(),
            released: Event::default(),
            bounds: TimeBounds::UNBOUNDED,
            plain: (i64::MIN, i64::MAX),
            plain_cap: i64::MAX,
        };
        session.refresh_limits();
        session
    }

    pub fn checkpoint(&self) -> Checkpoint {
        self.checkpoint_head()
            .with_runtime(self.runtime.state().clone())
    }

    /// The checkpoint but for the runtime state (which an incremental checkpoint
    /// writes by rows: `durable`).
    pub fn checkpoint_head(&self) -> CheckpointHead {
        CheckpointHead {
            format: CHECKPOINT_FORMAT,
            program: program_fingerprint(self.program),
            config: Some(*self.runtime.config()),
            input: self.input.clone(),
            tail: self.tail.clone(),
            strays: self.strays.clone(),
        }
    }

    /// What becomes of an unparsable last line without a line end: with
    /// [`Unterminated::Hold`] (a checkpoint ends this part of the input) it is held
    /// in the checkpoint, neither read nor rejected yet, since the next part of the
    /// input most likely starts with its rest.
    pub fn set_unterminated(&mut self, policy: Unterminated) {
        self.unterminated = policy;
    }

    /// The line a checkpoint held back, to read again in front of the input that
    /// follows (empty when none).
    pub fn take_tail(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.tail)
    }

    /// Decode and process one non-blank line. Inlined into the read loop: it is
    /// most of the work per line, and a call here costs more than its body's
    /// dispatch (see BENCHMARKS.md).
    #[inline(always)]
    pub fn line(&mut self, line: Line<'_>, out: &mut dyn Output) -> LineOutcome {
        self.line_as(line, None, out)
    }

    /// [`Self::line`] for a line that is not the input as written (a CSV row turned
    /// into JSON): its events' [`Event::origin`] is `origin`, the hash of the input
    /// as written, so action ids do not depend on how the row was read.
    pub fn line_with_origin(
        &mut self,
        line: Line<'_>,
        origin: u64,
        out: &mut dyn Output,
    ) -> LineOutcome {
        self.line_as(line, Some(origin), out)
    }

    #[inline(always)]
    fn line_as(
        &mut self,
        line: Line<'_>,
        origin: Option<u64>,
        out: &mut dyn Output,
    ) -> LineOutcome {
        let outcome = self.decode_and_process(line, origin, out);
        if self.decoder.time_was_int() {
            self.note_int_time(&outcome, line.number, out);
        }
        // Between lines (no decoded event is held): strings no state holds any more
        // may be reclaimed.
        self.runtime.collect_strings_if_due();
        outcome
    }

    #[inline(always)]
    fn decode_and_process(
        &mut self,
        line: Line<'_>,
        origin: Option<u64>,
        out: &mut dyn Output,
    ) -> LineOutcome {
        let decoded = self.decoder.decode(
            line.bytes,
            line.number,
            self.runtime.interner_mut(),
            &mut self.event,
        );
        match decoded {
            Decoded::Event => {
                self.input.read += 1;
                if let Some(origin) = origin {
                    set_origin(&mut self.event, origin);
                }
                if self.guards(self.event.ts) {
                    return self.event_among_strays(line, origin, out);
                }
                self.runtime.push(&self.event, out);
                self.note_time(self.event.ts);
                LineOutcome::Processed
            }
            Decoded::Ignored { event_type } => {
                self.input.read += 1;
                self.count_ignored(event_type);
                LineOutcome::Ignored
            }
            Decoded::Rejected(_) if !line.terminated && self.unterminated == Unterminated::Hold => {
                self.tail = line.bytes.to_vec();
                LineOutcome::Held
            }
            Decoded::Rejected(reject) => {
                self.input.read += 1;
                self.input.rejected += 1;
                LineOutcome::Rejected(reject)
            }
        }
    }

    /// The event just decoded from line `number` had an integer time: watch it
    /// for epoch seconds ([`IntTimes`]).
    #[cold]
    fn note_int_time(&mut self, outcome: &LineOutcome, number: u64, out: &mut dyn Output) {
        if *outcome != LineOutcome::Processed {
            return;
        }
        if let Some(line) = self.input.int_times.note(self.event.ts, number) {
            out.notice(&crate::runtime::Notice::TimesLookLikeSeconds { line });
        }
    }

    /// The latest event time processed is at least `ts`: move the jump limit.
    #[inline]
    fn note_time(&mut self, ts: i64) {
        if ts > self.latest {
            self.latest = ts;
            if self.max_jump > 0 {
                self.jump_limit = ts.saturating_add(self.max_jump);
                self.plain.1 = self.jump_limit.min(self.plain_cap);
            }
        }
    }

    /// Derive `plain` and `plain_cap` after the limits, bounds or suspects changed.
    fn refresh_plain(&mut self) {
        self.plain_cap = if self.strays.is_empty() {
            self.bounds.latest
        } else {
            i64::MIN
        };
        self.plain = (self.bounds.earliest, self.jump_limit.min(self.plain_cap));
    }

    /// The current event when suspects are held or it jumps past the limit: weigh
    /// the suspects against it, then hold it or process it.
    #[cold]
    #[inline(never)]
    fn event_among_strays(
        &mut self,
        line: Line<'_>,
        origin: Option<u64>,
        out: &mut dyn Output,
    ) -> LineOutcome {
        let outcome = self.weigh_event(line, origin, out);
        self.refresh_plain();
        outcome
    }

    fn weigh_event(
        &mut self,
        line: Line<'_>,
        origin: Option<u64>,
        out: &mut dyn Output,
    ) -> LineOutcome {
        if let Some(reject) = self.out_of_bounds(line.number) {
            return LineOutcome::Rejected(reject);
        }
        if !self.strays.is_empty() {
            let verdicts = self
                .strays
                .weigh(&self.event.key, self.event.ts, self.max_jump);
            self.settle(verdicts, out);
        }
        if self.event.ts > self.jump_limit {
            self.hold_stray(line, origin);
            return LineOutcome::Held;
        }
        self.runtime.push(&self.event, out);
        self.note_time(self.event.ts);
        LineOutcome::Processed
    }

    /// The reject of the current event when its time lies outside the bounds.
    fn out_of_bounds(&mut self, number: u64) -> Option<Reject> {
        let TimeBounds {
            earliest,
            latest,
            now,
        } = self.bounds;
        let ts = self.event.ts;
        let (how, by) = if ts > latest {
            self.input.ahead += 1;
            ("ahead of", ts.saturating_sub(now))
        } else if ts < earliest {
            self.input.behind += 1;
            ("behind", now.saturating_sub(ts))
        } else {
            return None;
        };
        self.input.rejected += 1;
        let limit = if ts > latest {
            format!(
                "--max-future {}",
                crate::time::format_duration(latest.saturating_sub(now))
            )
        } else {
            format!(
                "--max-past {}",
                crate::time::format_duration(now.saturating_sub(earliest))
            )
        };
        Some(Reject {
            line: number,
            reason: format!(
                "time {} is {} {} the wall clock (more than {limit})",
                crate::time::format_time(ts),
                crate::time::format_duration(by),
                how,
            ),
        })
    }

    /// `--clock wall`: the window of event times accepted from now on
    /// ([`TimeBounds`]; [`TimeBounds::UNBOUNDED`] by default).
    pub fn set_time_bounds(&mut self, bounds: TimeBounds) {
        self.bounds = bounds;
        self.refresh_plain();
    }

    fn count_ignored(&mut self, event_type: String) {
        let ignored = &mut self.input.ignored;
        let name = if ignored.len() < MAX_IGNORED_TYPES || ignored.contains_key(&event_type) {
            event_type
        } else {
            OTHER_TYPES.to_owned()
        };
        *ignored.entry(name).or_default() += 1;
    }

    /// For an input format that decodes its rows itself ([`crate::io::csv_rows`]):
    /// the interner and the event to decode into, then [`Self::push_decoded`].
    pub fn event_slot(&mut self) -> (&mut crate::interp::Interner, &mut Event) {
        (self.runtime.interner_mut(), &mut self.event)
    }

    /// Whether an event dated `ts` must go through the stray-time guard, which
    /// holds events as their line: then the row goes through [`Self::line_with_origin`]
    /// instead of [`Self::push_decoded`].
    #[inline]
    pub fn guards(&self, ts: i64) -> bool {
        ts < self.plain.0 || ts > self.plain.1
    }

    /// Process the event decoded into [`Self::event_slot`], for which
    /// [`Self::guards`] said no. `int_time`: its time was an integer of epoch
    /// milliseconds (watched for epoch seconds, as [`Self::line`] does).
    #[inline]
    pub fn push_decoded(&mut self, int_time: bool, out: &mut dyn Output) -> LineOutcome {
        self.input.read += 1;
        self.runtime.push(&self.event, out);
        self.note_time(self.event.ts);
        if int_time {
            self.note_int_time(&LineOutcome::Processed, self.event.line, out);
        }
        self.runtime.collect_strings_if_due();
        LineOutcome::Processed
    }

    /// A line longer than `max_bytes` was skipped unread ([`crate::io::Poll::TooLong`]):
    /// counted as read and rejected, like a line the decoder rejects. The reject
    /// names the `--max-line-bytes` limit of `trigc run`.
    pub fn reject_too_long(&mut self, number: u64, max_bytes: usize) -> Reject {
        self.input.read += 1;
        self.input.rejected += 1;
        Reject {
            line: number,
            reason: format!("line longer than --max-line-bytes ({max_bytes} bytes)"),
        }
    }

    /// A row the input format refused before decoding (a CSV cell that cannot be its
    /// field's type): counted as read and rejected, like a line the decoder rejects.
    pub fn reject_row(&mut self, number: u64, reason: String) -> Reject {
        self.input.read += 1;
        self.input.rejected += 1;
        Reject {
            line: number,
            reason,
        }
    }

    /// Time has passed to `t` with no line ([`Runtime::advance_to`]). An event held
    /// as a stray time and confirmed later than `t` is then late.
    pub fn advance_to(&mut self, t: i64, out: &mut dyn Output) {
        self.runtime.advance_to(t, out);
    }

    /// When [`Self::advance_to`] may next have something to do
    /// ([`Runtime::next_due`]).
    pub fn next_due(&self) -> Option<i64> {
        self.runtime.next_due()
    }

    /// End of input: suspects nothing refuted are processed, the others rejected,
    /// then the runtime's end of input.
    pub fn finish(&mut self, out: &mut dyn Output) {
        if let Some(line) = self.input.int_times.decide() {
            out.notice(&crate::runtime::Notice::TimesLookLikeSeconds { line });
        }
        let verdicts = self.strays.finish();
        self.settle(verdicts, out);
        self.refresh_plain();
        self.runtime.finish(out);
    }

    /// `--max-jump`: how far past the latest event time an event may be dated before
    /// it is held as a suspect (0: never).
    pub fn set_max_jump(&mut self, ms: i64) {
        self.max_jump = ms.max(0);
        self.refresh_limits();
    }

    /// `latest` and `jump_limit` from the runtime's latest event time (a resumed
    /// session continues from its checkpoint's) and `max_jump`.
    fn refresh_limits(&mut self) {
        let latest = self.runtime.state().clock.max_ts;
        self.latest = latest.unwrap_or(i64::MIN);
        self.jump_limit = match latest {
            Some(t) if self.max_jump > 0 => t.saturating_add(self.max_jump),
            _ => i64::MAX,
        };
        self.refresh_plain();
    }

    /// Lines rejected after they were read (held suspects refuted by later events),
    /// with their bytes, since the last call.
    #[inline]
    pub fn take_rejects(&mut self) -> Vec<(Reject, Vec<u8>)> {
        if self.rejected_later.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut self.rejected_later)
    }

    /// Whether lines were rejected after they were read ([`Self::take_rejects`]).
    #[inline]
    pub fn has_rejects(&self) -> bool {
        !self.rejected_later.is_empty()
    }

    /// Hold the current event (read from `line`) as a suspect.
    #[cold]
    fn hold_stray(&mut self, line: Line<'_>, origin: Option<u64>) {
        let suspect = Suspect {
            line: line.number,
            bytes: line.bytes.to_vec(),
            origin,
            key: self.event.key.clone(),
            ts: self.event.ts,
            refuted: 0,
        };
        if let Some(evicted) = self.strays.hold(suspect) {
            self.reject_stray(evicted);
        }
    }

    /// Process confirmed suspects (decoded again from their line) and reject
    /// refuted ones.
    #[cold]
    fn settle(&mut self, verdicts: super::stray::Verdicts, out: &mut dyn Output) {
        for suspect in verdicts.confirmed {
            let decoded = self.decoder.decode(
                &suspect.bytes,
                suspect.line,
                self.runtime.interner_mut(),
                &mut self.released,
            );
            // It decoded once; the same bytes decode the same way.
            if let Decoded::Event = decoded {
                if let Some(origin) = suspect.origin {
                    set_origin(&mut self.released, origin);
                }
                self.runtime.push(&self.released, out);
                self.note_time(self.released.ts);
            }
        }
        for suspect in verdicts.refuted {
            self.reject_stray(suspect);
        }
    }

    fn reject_stray(&mut self, suspect: Suspect) {
        self.input.rejected += 1;
        self.input.strays += 1;
        let reason = format!(
            "time {} is more than --max-jump ({}) after the stream's other events, and the \
             events after it did not confirm it",
            crate::time::format_time(suspect.ts),
            crate::time::format_duration(self.max_jump),
        );
        let reject = Reject {
            line: suspect.line,
            reason,
        };
        self.rejected_later.push((reject, suspect.bytes));
    }

    pub fn summary(&self) -> Summary {
        let stats = self.runtime.stats();
        let actions = self
            .program
            .triggers
            .iter()
            .zip(stats.actions.iter())
            .map(|(t, n)| (t.name.clone(), *n))
            .collect();
        Summary {
            events_read: self.input.read,
            rejected: self.input.rejected,
            ignored: self.input.ignored.values().sum(),
            ignored_types: self.input.ignored.clone(),
            late: stats.late,
            late_dropped: stats.late_dropped,
            blank: self.input.blank,
            actions,
            timers_pending: self.runtime.pending_timers() as u64,
            runtime_errors: stats.runtime_errors,
            suppressed: stats.suppressed,
            skipped: stats.skipped,
            parallel_dropped: stats.parallel_dropped,
            customers: self.runtime.customers() as u64,
        }
    }
}

/// Give `event` the origin of the input as written, unless no trigger starts on its
/// type (the decoder then leaves the origin 0: nothing reads it).
fn set_origin(event: &mut Event, origin: u64) {
    if event.origin != 0 {
        event.origin = origin;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::{Interner, Interp};
    use crate::io::Lines;
    use crate::runtime::{ActionRecord, Notice};
    use crate::source::SourceMap;

    /// The `at` of every record.
    #[derive(Default)]
    struct Fired(Vec<i64>);

    impl Output for Fired {
        fn action(&mut self, record: &ActionRecord<'_>, _: &Program, _: &Interner) {
            self.0.push(record.at);
        }
        fn notice(&mut self, _: &Notice) {}
    }

    fn program(rules: &str) -> Program {
        let mut sources = SourceMap::default();
        sources.add("t.trig", rules);
        let compiled = crate::compile(&sources);
        let errors = compiled.errors_text(&sources);
        compiled.program.unwrap_or_else(|| panic!("{errors}"))
    }

    const T: i64 = 1_767_571_200_000; // 2026-01-05T00:00:00Z
    const MINUTE: i64 = 60_000;

    #[test]
    fn a_session_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<Session<'static>>();
    }

    #[test]
    fn advancing_time_fires_a_timer_at_its_due_instant_and_never_goes_back() {
        let program = program(
            "event VISIT { page: string? }\n\
             trigger later\n  cooldown 1d\n  on VISIT\n  wait 30m\n  then emit \"x\"\n",
        );
        let mut session = Session::new(&program, Box::new(Interp), RuntimeConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Fired::default();
        assert_eq!(session.next_due(), None, "nothing queued before any input");
        let mut lines =
            Lines::new(&b"{\"type\":\"VISIT\",\"user\":\"u1\",\"ts\":1767571200000}\n"[..]);
        while let Ok(Some(line)) = lines.next_line() {
            assert_eq!(session.line(line, &mut out), LineOutcome::Processed);
        }
        assert_eq!(session.next_due(), Some(T + 30 * MINUTE));
        session.advance_to(T + 10 * MINUTE, &mut out);
        assert!(out.0.is_empty(), "not due yet");
        assert_eq!(session.runtime.watermark(), Some(T + 10 * MINUTE));
        session.advance_to(T, &mut out);
        assert_eq!(
            session.runtime.watermark(),
            Some(T + 10 * MINUTE),
            "never back"
        );
        // Far past the due instant: the record still carries its due instant.
        session.advance_to(T + 90 * MINUTE, &mut out);
        assert_eq!(out.0, [T + 30 * MINUTE]);
        assert_eq!(session.next_due(), None);
        // End of input moves nothing back either.
        session.finish(&mut out);
        assert_eq!(out.0, [T + 30 * MINUTE]);
        assert_eq!(session.runtime.watermark(), Some(T + 90 * MINUTE));
    }

    #[test]
    fn schedules_tick_from_advanced_time_alone() {
        let program = program(
            "event VISIT { page: string? }\n\
             trigger tick\n  every 1h\n  then emit \"tick\"\n",
        );
        let mut session = Session::new(&program, Box::new(Interp), RuntimeConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Fired::default();
        // No event ever: time alone starts the schedule.
        session.advance_to(T + 30 * MINUTE, &mut out);
        assert_eq!(session.next_due(), Some(T + 60 * MINUTE));
        session.advance_to(T + 150 * MINUTE, &mut out);
        assert_eq!(session.next_due(), Some(T + 180 * MINUTE));
        assert_eq!(session.summary().timers_pending, 0);
        // A schedule with no customer yet fires no record: it visits every key.
        assert!(out.0.is_empty());
    }
}
