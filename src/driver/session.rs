//! A replay session: decoder, runtime and input counts. [`Session::line`] takes one
//! input line at a time, so the caller owns reading (a file, stdin, a socket) and
//! decides when time passes without input ([`Session::advance_to`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::checkpoint::{CHECKPOINT_FORMAT, Checkpoint, program_fingerprint};
use crate::interp::{Engine, EngineError};
use crate::io::lines::Line;
use crate::io::{Decoded, Decoder, Reject};
use crate::ir::Program;
use crate::runtime::{Event, Output, Runtime, RuntimeConfig};

/// Input-side counts of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStats {
    /// Non-blank lines read.
    pub read: u64,
    pub rejected: u64,
    /// Lines of event types no rule declares, by type.
    pub ignored: BTreeMap<String, u64>,
    pub blank: u64,
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
}

/// One replay: decoder, runtime and counts.
pub struct Session<'p> {
    program: &'p Program,
    pub runtime: Runtime<'p>,
    decoder: Decoder,
    event: Event,
    pub input: InputStats,
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
        Ok(Session {
            program,
            runtime,
            decoder: Decoder::new(program),
            event: Event::default(),
            input: InputStats::default(),
        })
    }

    /// Continue from a checkpoint of a session of the same program, under any
    /// engine (a checkpoint holds no engine data).
    pub fn resume(
        program: &'p Program,
        engine: Box<dyn Engine + 'p>,
        config: RuntimeConfig,
        checkpoint: Checkpoint,
    ) -> Result<Session<'p>, EngineError> {
        let runtime = Runtime::restore(program, engine, config, checkpoint.runtime)?;
        Ok(Session {
            program,
            runtime,
            decoder: Decoder::new(program),
            event: Event::default(),
            input: checkpoint.input,
        })
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            format: CHECKPOINT_FORMAT,
            program: program_fingerprint(self.program),
            config: Some(*self.runtime.config()),
            runtime: self.runtime.state().clone(),
            input: self.input.clone(),
        }
    }

    /// Decode and process one non-blank line.
    pub fn line(&mut self, line: Line<'_>, out: &mut dyn Output) -> LineOutcome {
        self.input.read += 1;
        match self.decoder.decode(
            line.bytes,
            line.number,
            self.runtime.interner_mut(),
            &mut self.event,
        ) {
            Decoded::Event => {
                self.runtime.push(&self.event, out);
                LineOutcome::Processed
            }
            Decoded::Ignored { event_type } => {
                *self.input.ignored.entry(event_type).or_default() += 1;
                LineOutcome::Ignored
            }
            Decoded::Rejected(reject) => {
                self.input.rejected += 1;
                LineOutcome::Rejected(reject)
            }
        }
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

    /// Time has passed to `t` with no line ([`Runtime::advance_to`]).
    pub fn advance_to(&mut self, t: i64, out: &mut dyn Output) {
        self.runtime.advance_to(t, out);
    }

    /// When [`Self::advance_to`] may next have something to do
    /// ([`Runtime::next_due`]).
    pub fn next_due(&self) -> Option<i64> {
        self.runtime.next_due()
    }

    /// End of input.
    pub fn finish(&mut self, out: &mut dyn Output) {
        self.runtime.finish(out);
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
