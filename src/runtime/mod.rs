//! The event-time runtime: per-key state, trigger instances, timers and the watermark.
//! It is engine-agnostic: expressions are evaluated through one seam ([`Engine`]),
//! and all per-key state is plain data that serialises (for checkpoints).
//!
//! One event, in order (docs/LANGUAGE-GUIDE.md "Order of processing"): fire every
//! timer due at or before the event's time (a timer due at `t` fires before an event
//! at `t`: the wait window is half-open); (1) the key's profile, states and
//! aggregates take the event in; (2) for every trigger concerned, by descending
//! priority then name, fire the steps without `wait` that the triggers before it
//! started, then end the instances whose `exit on` or current `unless` matches, then
//! start per `reentry`; (3) fire the timers due at or before that time again (the
//! remaining steps without `wait`).
//! Timers fire in (due, priority desc, trigger name, creation sequence) order.
//!
//! **Architecture invariant:** the runtime does no IO and reads no clock. Three
//! things come in: events ([`Runtime::push`]), the passing of time
//! ([`Runtime::advance_to`], which a service calls from a wall clock; batch input
//! never needs it) and the end of input ([`Runtime::finish`]). Action records and
//! notices go out through an [`Output`]. Time in the semantics is event time only:
//! a timer fired by `advance_to` carries its due instant as `at`. The same input gives
//! the same output, byte for byte.

mod actions;
mod agg_memo;
pub mod carry;
pub mod customer;
mod direct_guard;
pub mod entries;
mod evaluate;
pub mod event;
mod event_path;
pub mod fanout;
mod firing;
pub mod gate;
pub mod ids;
pub mod instance;
mod lifecycle;
pub mod member;
mod ne_index;
pub mod output;
pub mod plan;
pub mod rows;
pub mod schedule;
mod scheduled;
pub mod scope;
pub mod start_index;
pub mod state;
pub mod stats;
mod strings;
pub mod timers;
mod validate;
pub mod watermark;
pub mod window;

pub use crate::interp::{Engine, EngineError, Interp};
pub use event::Event;
pub use output::{ActionBody, ActionRecord, Notice, Output, Recipient};
pub use stats::RunStats;
pub use strings::COLLECT_FLOOR;
pub use validate::MAX_COUNT;

use serde::{Deserialize, Serialize};

use customer::Customers;
use instance::{Instances, TimerRef};
use plan::Plan;
use state::{FanOutIndex, IngestPlan, IngestReport, KeyData};
use timers::TimerHeap;
use watermark::Clock;

use crate::interp::Interner;
use crate::ir::Program;

/// What to do with an event older than the watermark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LatePolicy {
    /// Count and report it, then drop it.
    #[default]
    Drop,
    /// Count and report it, then process it at its own time (its aggregates see
    /// it; a step it starts that is already due fires at once).
    Process,
}

/// How a run treats time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// Allowed lateness in ms (`--lateness`).
    pub lateness: i64,
    pub late: LatePolicy,
    /// `--until`: the final watermark at the end of input (ms since epoch).
    pub until: Option<i64>,
    /// When step (2) goes through the start index (`--no-index`: never; the
    /// differential tests compare `Always` with `Never`).
    #[serde(default)]
    pub start_index: StartIndexUse,
    /// Keep marks of the rows each change touches, for incremental checkpoints
    /// (`trigc run --state`; [`rows`]). Off, marking costs a test per change and
    /// every checkpoint of the state writes every row. Not part of a checkpoint.
    #[serde(skip)]
    pub track_changes: bool,
}

/// When an event finds the triggers it may start through the start index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartIndexUse {
    /// For event types that start at least [`INDEX_MIN_STARTERS`] triggers: below
    /// that, visiting each trigger in firing order costs less than the index's
    /// lookups and bitsets (measured on `rules/`, see BENCHMARKS.md).
    #[default]
    Auto,
    Always,
    /// Evaluate every start pattern and walk every instance list.
    Never,
}

/// The fewest triggers starting on one event type for which [`StartIndexUse::Auto`]
/// uses the index.
pub const INDEX_MIN_STARTERS: u32 = 16;

/// Everything a run has built up: plain data, serialisable as a whole (a checkpoint
/// is this state; the program and the engine are supplied again on restore).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RuntimeState {
    pub interner: Interner,
    pub customers: Customers,
    pub instances: Instances,
    /// Pending step and schedule timers.
    pub timers: TimerHeap<TimerRef>,
    pub fanout: FanOutIndex,
    pub clock: Clock,
    /// Instance sequence numbers handed out (ids derive from them).
    pub next_instance: u64,
    /// Timer creation sequence numbers handed out (same-instant order).
    pub next_timer: u64,
    /// Whether schedule instants have been queued (from the first watermark on).
    pub schedules_started: bool,
    /// `enroll` starts per customer at the current instant (see
    /// [`ENROLL_BOUND`]).
    #[serde(default)]
    pub enrolls: EnrollCount,
    pub stats: RunStats,
    /// Strings the interner kept at its last collection (see
    /// [`Runtime::collect_strings_if_due`]).
    #[serde(default)]
    pub strings_kept: usize,
}

/// The most chained `enroll`s one customer may make at one instant: enrolls by
/// instances that an `enroll` (or a schedule) started at that same instant. `on
/// enroll` triggers that enroll each other (or themselves) without a `wait` would
/// otherwise loop forever there; past the bound the `enroll` action is dropped (no
/// record, no start), counted and reported. Enrolls by event-started instances (a
/// backfill of many purchases at one instant) are not chained and never counted.
pub const ENROLL_BOUND: u32 = 100;

/// Chained `enroll`s by (instant, customer key): by key, not `CustomerId`, as an id
/// freed at an instant may be reused by another customer; by instant, so that a late
/// event's instant has counts of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollCount {
    /// The latest instant counted; older entries are dropped when it moves on.
    pub at: i64,
    /// Serialised as a list of `[[instant, key], count]`: a JSON object (what serde
    /// makes of a map) needs string keys, and a checkpoint taken with counts pending
    /// failed to write.
    #[serde(with = "pairs")]
    pub by_key: std::collections::BTreeMap<(i64, String), u32>,
}

/// A map serialised as the list of its entries (for keys that are not strings).
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<(i64, String), u32>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(i64, String), u32>, D::Error> {
        Ok(Vec::<((i64, String), u32)>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

impl EnrollCount {
    /// Count one more chained enroll of customer `key` at `at`; `false` past the
    /// bound.
    pub fn admit(&mut self, key: &str, at: i64) -> bool {
        if at > self.at {
            self.at = at;
            self.by_key.clear();
        }
        let n = self.by_key.entry((at, key.to_owned())).or_insert(0);
        *n += 1;
        *n <= ENROLL_BOUND
    }
}

/// Why [`Runtime::restore`] could not continue from a state.
#[derive(Debug)]
pub enum RestoreError {
    /// The engine cannot run the program.
    Engine(EngineError),
    /// The state is not one the runtime can use (what is wrong, in words).
    Invalid(String),
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::Engine(e) => e.fmt(f),
            RestoreError::Invalid(what) => write!(f, "not a usable state: {what}"),
        }
    }
}

impl std::error::Error for RestoreError {}

/// The runtime of one program.
pub struct Runtime<'p> {
    program: &'p Program,
    engine: Box<dyn Engine + 'p>,
    plan: Plan,
    /// What each event type feeds in a key's data.
    ingest: IngestPlan,
    config: RuntimeConfig,
    state: RuntimeState,
    /// A key's data when an expression has no key (a fan-out value).
    empty: KeyData,
    report: IngestReport,
    /// Scratch event for releasing held events.
    scratch: Event,
    /// No queued timer is due before this (a lower bound: lowered by every insert,
    /// raised when the queue has been drained up to a time). Saves asking the queue
    /// twice per event when nothing is due. Not serialised: `i64::MIN` (unknown)
    /// after a restore.
    quiet_until: i64,
    /// The customer whose event step (2) is handling: not freed until it is done
    /// (a step fired between two triggers may leave it empty for a moment).
    in_process: state::CustomerId,
    /// The first instance sequence number handed out while step (2) handles the
    /// current event: instances from it on were started by the event itself.
    event_first_seq: u64,
    /// During a fan-out that fires at once: the payloads built so far that do not
    /// read the customer, by payload expression (`usize::MAX`: the starting event).
    shared_payloads: Option<Vec<(usize, crate::interp::Value)>>,
    /// Scratch bitsets over trigger ranks for step (2): the triggers the event may
    /// start, and those with an instance of the key it may end (all clear between
    /// events).
    start_bits: Vec<u64>,
    end_bits: Vec<u64>,
    /// Aggregate values read by two or more triggers, shared by the evaluations of
    /// one key at one instant; `None` when no aggregate is shared. Never
    /// serialised: a restored runtime starts empty.
    agg_memo: Option<Box<agg_memo::AggMemo>>,
}

impl<'p> Runtime<'p> {
    /// A runtime with no state yet. The engine is prepared for `program` here
    /// ([`Engine::prepare`]): an engine that cannot run it is an error, never a
    /// silent fallback.
    pub fn new(
        program: &'p Program,
        engine: Box<dyn Engine + 'p>,
        config: RuntimeConfig,
    ) -> Result<Self, EngineError> {
        let mut interner = Interner::default();
        // KeyData's initial `string` state value is symbol 0.
        interner.intern("");
        let state = RuntimeState {
            interner,
            customers: Customers::default(),
            instances: Instances::new(),
            timers: TimerHeap::new(),
            fanout: FanOutIndex::default(),
            clock: Clock::default(),
            next_instance: 0,
            next_timer: 0,
            schedules_started: false,
            enrolls: EnrollCount::default(),
            stats: RunStats {
                actions: vec![0; program.triggers.len()],
                ..RunStats::default()
            },
            strings_kept: 0,
        };
        Self::build(program, engine, config, state)
    }

    /// Continue from a saved state (of the same program; any engine: the state holds
    /// no engine data). The state is validated first
    /// ([`RuntimeState::validate_for`]): one the runtime could not use safely is
    /// refused, never run. The engine is prepared as by [`Runtime::new`].
    pub fn restore(
        program: &'p Program,
        engine: Box<dyn Engine + 'p>,
        config: RuntimeConfig,
        state: RuntimeState,
    ) -> Result<Self, RestoreError> {
        state
            .validate_for(program, &config)
            .map_err(RestoreError::Invalid)?;
        Self::build(program, engine, config, state).map_err(RestoreError::Engine)
    }

    /// A runtime over `state`, which is valid for `program`.
    fn build(
        program: &'p Program,
        mut engine: Box<dyn Engine + 'p>,
        config: RuntimeConfig,
        mut state: RuntimeState,
    ) -> Result<Self, EngineError> {
        let plan = Plan::new(program, &mut state.interner);
        let ingest = IngestPlan::new(program);
        engine.prepare(
            program,
            &entries::entries(program, &plan, &ingest, config.start_index),
        )?;
        if config.track_changes {
            state.track_changes();
        }
        state.customers.rebuild_index();
        state.customers.rebuild_active(&state.instances);
        state.stats.actions.resize(program.triggers.len(), 0);
        let words = plan.index.words();
        Ok(Runtime {
            program,
            engine,
            plan,
            ingest,
            config,
            state,
            empty: KeyData::default(),
            report: IngestReport::default(),
            scratch: Event::default(),
            quiet_until: i64::MIN,
            in_process: state::CustomerId(instance::NIL),
            event_first_seq: u64::MAX,
            shared_payloads: None,
            start_bits: vec![0; words],
            end_bits: vec![0; words],
            agg_memo: agg_memo::AggMemo::new(program),
        })
    }

    pub fn state(&self) -> &RuntimeState {
        &self.state
    }

    /// What changed since the last call (see [`rows`]; all of it, the first time
    /// and when changes were not tracked); marks are kept from now on.
    pub fn take_changes(&mut self) -> rows::Changes {
        self.state.track_changes();
        self.config.track_changes = true;
        self.state.take_changes()
    }

    pub fn into_state(self) -> RuntimeState {
        self.state
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// The string table events must be decoded into.
    pub fn interner_mut(&mut self) -> &mut Interner {
        &mut self.state.interner
    }

    pub fn interner(&self) -> &Interner {
        &self.state.interner
    }

    pub fn stats(&self) -> &RunStats {
        &self.state.stats
    }

    /// The engine evaluating this runtime's expressions.
    pub fn engine(&self) -> &dyn Engine {
        &*self.engine
    }

    /// Steps waiting for their timer (one per live instance).
    pub fn pending_timers(&self) -> usize {
        self.state.instances.live()
    }

    /// Keys currently holding an entry.
    pub fn customers(&self) -> usize {
        self.state.customers.len()
    }

    pub fn watermark(&self) -> Option<i64> {
        self.state.clock.watermark
    }

    /// Take one decoded event in. Inlined into the read loop, which calls it once
    /// per line (see BENCHMARKS.md).
    #[inline(always)]
    pub fn push(&mut self, event: &Event, out: &mut dyn Output) {
        if let Some(wm) = self.state.clock.watermark
            && event.ts < wm
        {
            self.state.stats.events += 1;
            self.push_late(event, wm, out);
            return;
        }
        if self.config.lateness <= 0 && self.state.clock.held.is_empty() {
            self.state.clock.see(event.ts);
            self.advance_watermark(event.ts, out);
            // Counted after the timers due by now fired and right before the event
            // is taken in: the aggregate memo's generation (`agg_memo`) is this
            // count, so values the timers read at this instant go stale here.
            self.state.stats.events += 1;
            self.process_event(event, out);
            self.fire_due(event.ts, out);
        } else {
            // Taken in later by `release`, which bumps the memo itself.
            self.state.stats.events += 1;
            let candidate = self.state.clock.hold(event, self.config.lateness.max(0));
            self.release(candidate, out);
        }
    }

    /// An event older than the watermark `wm`: reported, then dropped or processed
    /// at its own time (`--late`). Cold: most inputs have none.
    #[cold]
    #[inline(never)]
    fn push_late(&mut self, event: &Event, wm: i64, out: &mut dyn Output) {
        let dropped = self.config.late == LatePolicy::Drop;
        self.state.stats.late += 1;
        out.notice(&Notice::Late {
            line: event.line,
            ts: event.ts,
            watermark: wm,
            dropped,
        });
        if dropped {
            self.state.stats.late_dropped += 1;
        } else {
            self.process_event(event, out);
            self.fire_due(wm, out);
        }
    }

    /// Time has passed to `t` with no event: move the watermark to `t` (never back)
    /// and do everything due at or before it, in the order an event at `t` would
    /// see it done: held events up to `t` are processed in time order, and every
    /// timer and schedule tick due at or before `t` fires, in (due, priority, trigger
    /// name, creation) order, each with its due instant as `at`.
    ///
    /// An event then older than `t` is late (`--late` decides). With no lateness,
    /// advancing to at most the next event's time changes nothing in the output: the
    /// event would have fired the same timers first.
    pub fn advance_to(&mut self, t: i64, out: &mut dyn Output) {
        self.release(t, out);
    }

    /// The earliest instant at which [`Self::advance_to`] may do something: the
    /// first queued timer or schedule tick, or the first held event. A lower bound:
    /// a queued timer whose instance has since ended or re-armed does nothing when
    /// reached. `None` when nothing is queued or held.
    pub fn next_due(&self) -> Option<i64> {
        let timer = self.state.timers.next_due();
        let held = self.state.clock.held.front().map(|h| h.ts);
        match (timer, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// End of input, and only that: advance to the final watermark, the largest
    /// event time seen (`--until` when given and later; the watermark itself when
    /// time was advanced past every event). Held events are processed, timers due
    /// by then fire; timers due later stay pending (see [`Self::pending_timers`]).
    pub fn finish(&mut self, out: &mut dyn Output) {
        let clock = &self.state.clock;
        let last = clock.max_ts.or(clock.watermark);
        let final_wm = match (self.config.until, last) {
            (Some(until), last) => Some(last.map_or(until, |l| l.max(until))),
            (None, last) => last,
        };
        if let Some(final_wm) = final_wm {
            self.advance_to(final_wm, out);
        }
    }

    /// Move the watermark to `to` (never backwards) and fire what is due.
    fn advance_watermark(&mut self, to: i64, out: &mut dyn Output) {
        let wm = self.state.clock.watermark.map_or(to, |w| w.max(to));
        self.state.clock.watermark = Some(wm);
        if !self.state.schedules_started {
            self.state.schedules_started = true;
            self.start_schedules(wm);
        }
        self.fire_due(wm, out);
    }

    /// Release held events the watermark `candidate` has reached, in time order,
    /// then move the watermark to `candidate`.
    fn release(&mut self, candidate: i64, out: &mut dyn Output) {
        while let Some(front) = self.state.clock.held.front() {
            if front.ts > candidate {
                break;
            }
            let Some(held) = self.state.clock.held.pop_front() else {
                break;
            };
            self.advance_watermark(held.ts, out);
            // No push counts this event: aggregate values kept go stale here.
            if let Some(memo) = self.agg_memo.as_deref_mut() {
                memo.invalidate();
            }
            held.load_into(&mut self.scratch);
            let event = std::mem::take(&mut self.scratch);
            self.process_event(&event, out);
            self.scratch = event;
            self.fire_due(held.ts, out);
        }
        // Before the first event is released there is no time to speak of: a
        // watermark `--lateness` before the first event would only start schedules
        // there (and a huge lateness would tick them from the distant past without
        // end).
        if self.state.clock.watermark.is_none()
            && self
                .state
                .clock
                .held
                .front()
                .is_some_and(|first| first.ts > candidate)
        {
            return;
        }
        self.advance_watermark(candidate, out);
    }
}

#[cfg(test)]
mod tests;
