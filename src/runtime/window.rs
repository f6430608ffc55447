//! Per-key storage of one aggregate (`count`, `sum`, `min`, `max`, `avg`, `exists`,
//! `distinct`, `last`, `first`), keeping only what that aggregate needs to answer
//! for any `now` at or after its newest entry.
//!
//! | aggregate            | `within D`                                  | all time            |
//! |----------------------|---------------------------------------------|---------------------|
//! | count                | event times (or another aggregate's)        | a counter           |
//! | exists               | the newest event time                       | a counter           |
//! | sum, avg             | `(ts, value)` pairs                         | a running sum + n   |
//! | min, max             | a monotonic deque of `(ts, value)`          | the extreme so far  |
//! | distinct             | `(value, newest ts)` sorted by value        | same, never expired |
//! | last                 | the newest event                            | the newest event    |
//! | last, read as `.ts`  | the newest time                             | the newest time     |
//! | first                | matching events                             | the oldest event    |
//!
//! Windowed `count` and `sum` keep their entries in a [`Series`] (times as `u32`
//! offsets when the window allows). A windowed `count` stores nothing of its own when
//! a windowed `sum` or `count` over the same event and filter (the same filter
//! expression, or none) has a window at least as long: it counts that one's entries
//! over its own window ([`Storage`]). Such a `sum` then also keeps an entry, valued
//! 0, for an event whose field is absent, so that every counted event is there.
//!
//! The window is `(now − D, now]`: reading drops entries at or before `now − D`, so a
//! read at a timer's fire time (later than the newest event) is right without any
//! expiry having run. Entries are never read at a `now` before the newest entry,
//! except for an event processed late (`--late process`), which then sees the windows
//! as of the newest event (a `count` reading a longer aggregate's entries then also
//! sees entries its own window would have pruned). Entries are pruned when they fall out of the window relative
//! to the newest entry, and by [`AggSlot::expire`], in time proportional to what it
//! drops (amortised, for `distinct`); at most [`WINDOW_CAP`] entries are kept per
//! aggregate and key (the oldest go first), so no input exhausts memory.
//!
//! `min`/`max` over strings compare by text (not by symbol number), which is why
//! taking an event in needs the [`Interner`].

mod series;

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use self::series::{NARROW_WITHIN, Series, Word2};
use self::series::{drain, reserve_one};
use super::member::{self, ScalarKind};
use crate::interp::{HoldsSyms, Interner, StoredEvent, Sym, Value};
use crate::ir::{AggDef, AggId, AggKind, Program};
use crate::runtime::Event;

/// Most entries one aggregate keeps for one key (window entries, distinct values,
/// min/max candidates, stored events). Past it the oldest entry is dropped (a new
/// distinct value is dropped for all-time `distinct`) and a cap hit is counted.
pub const WINDOW_CAP: usize = 10_000;

/// The storage of one aggregate for one key. Created by the first event it takes in.
/// Everything longer than 16 bytes is boxed so that a slot stays small.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AggSlot {
    /// `count within D`: matching event times.
    Times(Box<Series<()>>),
    /// `sum`/`avg within D`: `(ts, value)`.
    Pairs(Box<Series<Word2>>),
    /// `min`/`max within D`: ascending `ts`, each value strictly better than every
    /// later one, so the first entry inside the window is the window's extreme.
    Extremes(Box<VecDeque<(i64, i64)>>),
    /// `distinct`.
    Distinct(Box<DistinctSet>),
    /// `exists within D`: the newest matching time.
    Latest(i64),
    /// `count` / `exists` over all time.
    Count(u64),
    /// `sum` / `avg` over all time: number of values and their sum (`f64` bits for
    /// float fields, an `i64` otherwise).
    Running { n: u64, acc: i64 },
    /// `sum` / `avg` over all time of integers whose sum once left the `i64` range:
    /// the exact sum, which a read saturates (boxed: rare, and a slot stays small).
    RunningWide(Box<(u64, i128)>),
    /// `min` / `max` over all time.
    Extreme(i64),
    /// `last` (any window), `first` over all time.
    Event(Arc<StoredEvent>),
    /// `first within D`: matching events, ascending time.
    Events(Box<VecDeque<Arc<StoredEvent>>>),
}

/// `distinct`: `(value, newest ts with it)` sorted by value. Expiry scans the values
/// only once `now − D` has passed `scan_at`, the median time at the previous scan, so
/// that each scan drops at least half of what it saw (or what pushes since paid for).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistinctSet {
    scan_at: i64,
    entries: Vec<(i64, i64)>,
}

/// Where an aggregate's entries live: decided once per program by the compiler's
/// layout pass and read from [`crate::ir::Layout`] (see [`crate::ir::AggStorage`]).
pub use crate::ir::AggStorage as Storage;

/// What the slot of one [`AggDef`] looks like: derived from the program on use.
#[derive(Clone, Copy, Debug)]
pub struct AggShape {
    pub kind: AggKind,
    pub within: Option<i64>,
    /// The aggregated field's kind (`None` for count/exists/last/first).
    pub value: Option<ScalarKind>,
    pub storage: Storage,
}

impl AggShape {
    /// The shape of aggregate `id`, with where its entries live, as the program's
    /// layout says (its own slot when the layout does not cover it).
    pub fn of(program: &Program, id: AggId, agg: &AggDef) -> AggShape {
        let storage = program
            .layout
            .storage
            .get(id.index())
            .copied()
            .unwrap_or(Storage::Own);
        AggShape {
            storage,
            ..AggShape::stored(program, agg)
        }
    }

    /// The shape of a slot `agg` holds itself, without looking for sharing (what
    /// expiry needs: it is the same for every storage).
    pub fn stored(program: &Program, agg: &AggDef) -> AggShape {
        let value = agg.field.and_then(|f| {
            let fields = &program.events.get(agg.event.index())?.fields;
            ScalarKind::of(&fields.get(f.index())?.ty)
        });
        AggShape {
            kind: agg.kind,
            within: agg.within,
            value,
            storage: Storage::Own,
        }
    }

    fn needs_value(&self) -> bool {
        !matches!(
            self.kind,
            AggKind::Count | AggKind::Exists | AggKind::Last | AggKind::First
        )
    }

    /// Whether a time `ts` is still inside the window ending at `now`.
    fn live(&self, ts: i64, now: i64) -> bool {
        self.within.is_none_or(|d| ts > now.saturating_sub(d))
    }

    /// Is `max`-like: a larger value is better.
    fn prefers_larger(&self) -> bool {
        self.kind == AggKind::Max
    }
}

/// One event as an aggregate takes it in.
pub struct Input<'a> {
    pub event: &'a Event,
    /// The aggregated field, encoded; `None` when the aggregate reads no field.
    pub value: Option<i64>,
}

impl<'a> Input<'a> {
    /// The input for `shape`, or `None` when the aggregate skips the event (the
    /// aggregated field is absent, unless counts read this aggregate's entries).
    /// `field`: the aggregated field's index in the event.
    pub fn new(shape: &AggShape, field: Option<usize>, event: &'a Event) -> Option<Input<'a>> {
        if !shape.needs_value() {
            return Some(Input { event, value: None });
        }
        let value = field
            .and_then(|f| event.fields.get(f))
            .and_then(member::encode);
        match (value, shape.storage) {
            (Some(v), _) => Some(Input {
                event,
                value: Some(v),
            }),
            // 0 is the encoding of both `0` and `0.0`: adds nothing to the sum.
            (None, Storage::Hosts) => Some(Input {
                event,
                value: Some(0),
            }),
            (None, _) => None,
        }
    }
}

fn stored(event: &Event) -> Arc<StoredEvent> {
    Arc::new(StoredEvent {
        kind: event.kind,
        ts: event.ts,
        fields: event.fields.clone().into_boxed_slice(),
    })
}

/// Replace the stored event by `event`, in place when no one else holds it (a
/// `last` over a frequent event would otherwise allocate and free at each one).
fn restore(e: &mut Arc<StoredEvent>, event: &Event) {
    match Arc::get_mut(e) {
        Some(s) if s.fields.len() == event.fields.len() => {
            s.kind = event.kind;
            s.ts = event.ts;
            s.fields.clone_from_slice(&event.fields);
        }
        _ => *e = stored(event),
    }
}

/// Float sums are kept as `f64` bits; other numbers as saturating integers.
fn add(kind: Option<ScalarKind>, acc: i64, m: i64) -> i64 {
    if kind == Some(ScalarKind::Float) {
        (f64::from_bits(acc as u64) + as_f64(kind, m)).to_bits() as i64
    } else {
        acc.saturating_add(m)
    }
}

fn zero(kind: Option<ScalarKind>) -> i64 {
    if kind == Some(ScalarKind::Float) {
        0.0f64.to_bits() as i64
    } else {
        0
    }
}

fn as_f64(kind: Option<ScalarKind>, m: i64) -> f64 {
    match kind.map(|k| k.decode(m)) {
        Some(Value::Float(f)) => f,
        _ => m as f64,
    }
}

fn sum_value(kind: Option<ScalarKind>, acc: i64) -> Value {
    match kind {
        Some(ScalarKind::Float) => Value::Float(f64::from_bits(acc as u64)),
        Some(ScalarKind::Duration) => Value::Duration(acc),
        _ => Value::Int(acc),
    }
}

fn avg_value(kind: Option<ScalarKind>, n: u64, acc: i64) -> Value {
    if n == 0 {
        return Value::None;
    }
    let total = match kind {
        Some(ScalarKind::Float) => f64::from_bits(acc as u64),
        _ => acc as f64,
    };
    Value::Float(total / n as f64)
}

/// The sum (saturated to the `i64` range) or average of `n` integer or duration
/// values whose exact sum is `sum`.
fn wide_value(shape: &AggShape, n: u64, sum: i128) -> Value {
    if shape.kind == AggKind::Avg {
        return if n == 0 {
            Value::None
        } else {
            Value::Float(sum as f64 / n as f64)
        };
    }
    let saturated = i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX });
    sum_value(shape.value, saturated)
}

/// Appends `x` keeping the deque sorted by `ts` (a late event goes before newer
/// entries, after equal ones); drops the oldest past the cap.
fn insert_sorted<T>(q: &mut VecDeque<T>, x: T, ts: impl Fn(&T) -> i64) -> bool {
    let t = ts(&x);
    reserve_one(q);
    if q.back().is_none_or(|b| ts(b) <= t) {
        q.push_back(x);
    } else {
        let at = q.partition_point(|e| ts(e) <= t);
        q.insert(at, x);
    }
    if q.len() > WINDOW_CAP {
        q.pop_front();
        return true;
    }
    false
}

/// Drops entries that fell out of the window relative to the newest entry.
fn prune<T>(q: &mut VecDeque<T>, within: Option<i64>, ts: impl Fn(&T) -> i64) {
    let (Some(d), Some(newest)) = (within, q.back().map(&ts)) else {
        return;
    };
    let cut = newest.saturating_sub(d);
    while q.front().is_some_and(|e| ts(e) <= cut) {
        q.pop_front();
    }
}

/// Entries of an ascending deque at or before the start of the window ending at `now`.
fn live_from<T>(q: &VecDeque<T>, shape: &AggShape, now: i64, ts: impl Fn(&T) -> i64) -> usize {
    match shape.within {
        Some(d) => {
            let cut = now.saturating_sub(d);
            q.partition_point(|e| ts(e) <= cut)
        }
        None => 0,
    }
}

/// Entries of a series at or before the start of the window ending at `now`.
fn series_live_from<V: Copy>(s: &Series<V>, shape: &AggShape, now: i64) -> usize {
    shape
        .within
        .map_or(0, |d| s.count_at_or_before(now.saturating_sub(d)))
}

fn count_value(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

impl AggSlot {
    /// A slot holding just `input`.
    pub fn start(shape: &AggShape, input: &Input) -> AggSlot {
        let ts = input.event.ts;
        let v = input.value.unwrap_or(0);
        let within = shape.within;
        match (shape.kind, within) {
            (AggKind::Count, Some(_)) => AggSlot::Times(Box::new(Series::new(within, ts, ()))),
            (AggKind::Count | AggKind::Exists, None) => AggSlot::Count(1),
            (AggKind::Exists, Some(_)) => AggSlot::Latest(ts),
            (AggKind::Sum | AggKind::Avg, Some(_)) => {
                AggSlot::Pairs(Box::new(Series::new(within, ts, Word2::from(v))))
            }
            (AggKind::Sum | AggKind::Avg, None) => AggSlot::Running {
                n: 1,
                acc: add(shape.value, zero(shape.value), v),
            },
            (AggKind::Min | AggKind::Max, Some(_)) => {
                AggSlot::Extremes(Box::new(VecDeque::from([(ts, v)])))
            }
            (AggKind::Min | AggKind::Max, None) => AggSlot::Extreme(v),
            (AggKind::Distinct, _) => AggSlot::Distinct(Box::new(DistinctSet {
                scan_at: ts,
                entries: vec![(v, ts)],
            })),
            (AggKind::First, Some(_)) => {
                AggSlot::Events(Box::new(VecDeque::from([stored(input.event)])))
            }
            (AggKind::Last, _) if shape.storage == Storage::TimeOnly => AggSlot::Latest(ts),
            (AggKind::Last | AggKind::First, _) => AggSlot::Event(stored(input.event)),
        }
    }

    /// Take one more event in. Returns whether a cap dropped something. `strings`
    /// orders string values for `min`/`max`.
    pub fn push(&mut self, shape: &AggShape, input: &Input, strings: &Interner) -> bool {
        let ts = input.event.ts;
        let v = input.value.unwrap_or(0);
        match self {
            AggSlot::Times(s) => s.push(shape.within, ts, ()),
            AggSlot::Pairs(s) => s.push(shape.within, ts, Word2::from(v)),
            AggSlot::Extremes(q) => push_extreme(q, shape, strings, ts, v),
            AggSlot::Distinct(d) => push_distinct(&mut d.entries, shape, ts, v),
            AggSlot::Latest(t) => {
                *t = (*t).max(ts);
                false
            }
            AggSlot::Count(n) => {
                *n = n.saturating_add(1);
                false
            }
            AggSlot::Running { n, acc } => {
                let count = n.saturating_add(1);
                if shape.value == Some(ScalarKind::Float) {
                    *n = count;
                    *acc = add(shape.value, *acc, v);
                } else if let Some(sum) = acc.checked_add(v) {
                    *n = count;
                    *acc = sum;
                } else {
                    *self =
                        AggSlot::RunningWide(Box::new((count, i128::from(*acc) + i128::from(v))));
                }
                false
            }
            AggSlot::RunningWide(wide) => {
                wide.0 = wide.0.saturating_add(1);
                wide.1 += i128::from(v);
                false
            }
            AggSlot::Extreme(best) => {
                if better(shape, strings, v, *best) {
                    *best = v;
                }
                false
            }
            AggSlot::Event(e) => {
                // `last`: the newest wins, the later-ingested on a tie; `first`: the
                // oldest wins, the earlier-ingested on a tie.
                let replace = match shape.kind {
                    AggKind::First => ts < e.ts,
                    _ => ts >= e.ts,
                };
                if replace {
                    restore(e, input.event);
                }
                false
            }
            AggSlot::Events(q) => {
                let hit = insert_sorted(q, stored(input.event), |e| e.ts);
                prune(q, shape.within, |e| e.ts);
                hit
            }
        }
    }

    /// The aggregate's value over the window ending at `now`. `slot` is the slot
    /// holding the aggregate's entries (another aggregate's for
    /// [`Storage::ReadsFrom`]).
    pub fn read(slot: Option<&AggSlot>, shape: &AggShape, now: i64) -> Value {
        let Some(slot) = slot else {
            return empty_value(shape);
        };
        match slot {
            AggSlot::Times(s) => count_value(s.len() - series_live_from(s, shape, now)),
            AggSlot::Pairs(s) if shape.kind == AggKind::Count => {
                count_value(s.len() - series_live_from(s, shape, now))
            }
            AggSlot::Pairs(s) => {
                let from = series_live_from(s, shape, now);
                let n = (s.len() - from) as u64;
                let values = s.values_from(from).map(i64::from);
                if shape.value == Some(ScalarKind::Float) {
                    let acc = values.fold(zero(shape.value), |acc, v| add(shape.value, acc, v));
                    return match shape.kind {
                        AggKind::Avg => avg_value(shape.value, n, acc),
                        _ => sum_value(shape.value, acc),
                    };
                }
                // Integers and durations: summed wide, saturated once at the end.
                wide_value(shape, n, values.map(i128::from).sum())
            }
            AggSlot::Extremes(q) => match q.get(live_from(q, shape, now, |e| e.0)) {
                Some(&(_, v)) => decode(shape, v),
                None => Value::None,
            },
            AggSlot::Distinct(d) => {
                let members: Vec<Value> = d
                    .entries
                    .iter()
                    .filter(|(_, ts)| shape.live(*ts, now))
                    .map(|&(v, _)| decode(shape, v))
                    .collect();
                Value::Set(Arc::new(members))
            }
            // `exists within` (a time-only `last` is read by `read_time` alone).
            AggSlot::Latest(t) if shape.kind == AggKind::Exists => Value::Bool(shape.live(*t, now)),
            AggSlot::Latest(_) => Value::None,
            AggSlot::Count(n) => match shape.kind {
                AggKind::Exists => Value::Bool(*n > 0),
                _ => Value::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
            },
            AggSlot::Running { n, acc } => match shape.kind {
                AggKind::Avg => avg_value(shape.value, *n, *acc),
                _ => sum_value(shape.value, *acc),
            },
            AggSlot::RunningWide(wide) => wide_value(shape, wide.0, wide.1),
            AggSlot::Extreme(v) => decode(shape, *v),
            AggSlot::Event(e) if shape.live(e.ts, now) => Value::Event(e.clone()),
            AggSlot::Event(_) => Value::None,
            AggSlot::Events(q) => match q.get(live_from(q, shape, now, |e| e.ts)) {
                Some(e) => Value::Event(e.clone()),
                None => Value::None,
            },
        }
    }

    /// The time of the event a `last`/`first` aggregate holds at `now` (what
    /// `last(E).ts` reads), without copying the event out; `None` when it holds none
    /// or for other aggregates.
    pub fn read_time(slot: Option<&AggSlot>, shape: &AggShape, now: i64) -> Option<i64> {
        if !matches!(shape.kind, AggKind::Last | AggKind::First) {
            return None;
        }
        let ts = match slot? {
            AggSlot::Latest(t) => *t,
            AggSlot::Event(e) => e.ts,
            AggSlot::Events(q) => q.get(live_from(q, shape, now, |e| e.ts))?.ts,
            _ => return None,
        };
        shape.live(ts, now).then_some(ts)
    }

    /// Drop what no read at or after `now` can see, in time proportional to what is
    /// dropped (amortised for `distinct`); `false` when nothing is left (the caller
    /// frees the slot).
    pub fn expire(&mut self, shape: &AggShape, now: i64) -> bool {
        let Some(d) = shape.within else {
            return true;
        };
        let cut = now.saturating_sub(d);
        match self {
            AggSlot::Times(s) => {
                let n = s.count_at_or_before(cut);
                s.drain_front(n)
            }
            AggSlot::Pairs(s) => {
                let n = s.count_at_or_before(cut);
                s.drain_front(n)
            }
            AggSlot::Extremes(q) => {
                let n = q.partition_point(|e| e.0 <= cut);
                drain(q, n)
            }
            AggSlot::Events(q) => {
                let n = q.partition_point(|e| e.ts <= cut);
                drain(q, n)
            }
            AggSlot::Distinct(set) => set.expire(cut),
            AggSlot::Latest(t) => *t > cut,
            AggSlot::Event(e) => e.ts > cut,
            AggSlot::Count(_)
            | AggSlot::Running { .. }
            | AggSlot::RunningWide(_)
            | AggSlot::Extreme(_) => true,
        }
    }
}

impl AggSlot {
    /// Whether the slot (from a checkpoint) can be used: a wide sum leaves room for
    /// more values, a windowed slot holds at most [`WINDOW_CAP`] entries more than
    /// any push leaves. The error says what is wrong.
    pub fn check(&self, within: Option<i64>) -> Result<(), String> {
        let entries = match self {
            AggSlot::RunningWide(wide) if wide.1.unsigned_abs() > (i128::MAX as u128) / 2 => {
                return Err("an aggregate's sum is beyond any sum of its values".into());
            }
            AggSlot::Times(s) => s.len(),
            AggSlot::Pairs(s) => s.len(),
            AggSlot::Extremes(q) => q.len(),
            AggSlot::Distinct(d) => d.entries.len(),
            AggSlot::Events(q) => q.len(),
            _ => 0,
        };
        if entries > WINDOW_CAP && within.is_some() {
            return Err(format!(
                "an aggregate holds {entries} entries, more than {WINDOW_CAP}"
            ));
        }
        Ok(())
    }

    /// Shows `mark` every symbol the slot holds: stored events' fields, and the
    /// values of `min`/`max`/`distinct` when they are strings (`strings`: the
    /// aggregated field is a string, so values are symbol numbers).
    pub fn visit_syms(&self, strings: bool, mark: &mut dyn FnMut(Sym)) {
        let mut value = |m: i64| {
            if let Ok(s) = u32::try_from(m) {
                mark(Sym(s));
            }
        };
        match self {
            AggSlot::Extremes(q) if strings => q.iter().for_each(|e| value(e.1)),
            AggSlot::Extreme(v) if strings => value(*v),
            AggSlot::Distinct(d) if strings => d.entries.iter().for_each(|e| value(e.0)),
            AggSlot::Event(e) => e.visit_syms(mark),
            AggSlot::Events(q) => q.iter().for_each(|e| e.visit_syms(mark)),
            AggSlot::Extremes(_)
            | AggSlot::Extreme(_)
            | AggSlot::Distinct(_)
            | AggSlot::Times(_)
            | AggSlot::Pairs(_)
            | AggSlot::Latest(_)
            | AggSlot::Count(_)
            | AggSlot::Running { .. }
            | AggSlot::RunningWide(_) => {}
        }
    }

    /// The earliest `now` at which [`AggSlot::expire`] with window `within` can drop
    /// anything (or change anything); `None` when it never will.
    pub fn expires_at(&self, within: Option<i64>) -> Option<i64> {
        let d = within?;
        let oldest = match self {
            AggSlot::Times(s) => s.oldest(),
            AggSlot::Pairs(s) => s.oldest(),
            AggSlot::Extremes(q) => q.front().map(|e| e.0),
            AggSlot::Events(q) => q.front().map(|e| e.ts),
            // A scan runs once `now − D` reaches `scan_at`.
            AggSlot::Distinct(set) => Some(set.scan_at),
            AggSlot::Latest(t) => Some(*t),
            AggSlot::Event(e) => Some(e.ts),
            AggSlot::Count(_)
            | AggSlot::Running { .. }
            | AggSlot::RunningWide(_)
            | AggSlot::Extreme(_) => None,
        };
        // An empty slot is freed by the next expiry.
        Some(oldest.map_or(i64::MIN, |t| t.saturating_add(d)))
    }
}

impl DistinctSet {
    /// Drops values last seen at or before `cut`, scanning only when at least half of
    /// the values seen at the previous scan are due; `false` when none is left.
    fn expire(&mut self, cut: i64) -> bool {
        if cut < self.scan_at || self.entries.is_empty() {
            return !self.entries.is_empty();
        }
        self.entries.retain(|e| e.1 > cut);
        if self.entries.capacity() > 8 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to_fit();
        }
        let mut times: Vec<i64> = self.entries.iter().map(|e| e.1).collect();
        let mid = times.len() / 2;
        if mid < times.len() {
            let (_, median, _) = times.select_nth_unstable(mid);
            self.scan_at = *median;
        }
        !self.entries.is_empty()
    }
}

/// The value of an aggregate that never took an event in.
pub fn empty_value(shape: &AggShape) -> Value {
    match shape.kind {
        AggKind::Count => Value::Int(0),
        AggKind::Exists => Value::Bool(false),
        AggKind::Sum => sum_value(shape.value, zero(shape.value)),
        AggKind::Distinct => Value::Set(Arc::new(Vec::new())),
        AggKind::Min | AggKind::Max | AggKind::Avg | AggKind::Last | AggKind::First => Value::None,
    }
}

fn decode(shape: &AggShape, v: i64) -> Value {
    shape.value.map_or(Value::Int(v), |k| k.decode(v))
}

/// Whether `a` beats `b` for min/max (ties keep the incumbent). Strings compare by
/// text: their encoding is a symbol number, whose order means nothing.
fn better(shape: &AggShape, strings: &Interner, a: i64, b: i64) -> bool {
    let order = if shape.value == Some(ScalarKind::Str) {
        let text = |m: i64| strings.resolve(Sym(u32::try_from(m).unwrap_or(u32::MAX)));
        text(a).cmp(text(b))
    } else {
        a.cmp(&b)
    };
    if shape.prefers_larger() {
        order.is_gt()
    } else {
        order.is_lt()
    }
}

/// Monotonic-deque insert. An entry is useless once some entry at the same or a
/// later time is at least as good: every window holding the first holds the second.
fn push_extreme(
    q: &mut VecDeque<(i64, i64)>,
    shape: &AggShape,
    strings: &Interner,
    ts: i64,
    v: i64,
) -> bool {
    let at_least_as_good = |x: i64| !better(shape, strings, v, x);
    // The best entry at or after `ts` is the first one there (values get worse).
    let from = q.partition_point(|e| e.0 < ts);
    if q.get(from).is_some_and(|e| at_least_as_good(e.1)) {
        return false;
    }
    let mut at = q.partition_point(|e| e.0 <= ts);
    while at > 0
        && q.get(at - 1)
            .is_some_and(|e| !better(shape, strings, e.1, v))
    {
        q.remove(at - 1);
        at -= 1;
    }
    reserve_one(q);
    q.insert(at, (ts, v));
    prune(q, shape.within, |e| e.0);
    if q.len() > WINDOW_CAP {
        q.pop_front();
        return true;
    }
    false
}

fn push_distinct(entries: &mut Vec<(i64, i64)>, shape: &AggShape, ts: i64, v: i64) -> bool {
    match entries.binary_search_by_key(&v, |e| e.0) {
        Ok(i) => {
            if let Some(e) = entries.get_mut(i) {
                e.1 = e.1.max(ts);
            }
            false
        }
        Err(i) => {
            let mut hit = false;
            if entries.len() >= WINDOW_CAP {
                // Make room: first drop what fell out of the window, then (windowed)
                // the value seen longest ago; all-time distinct keeps what it has.
                if let Some(d) = shape.within {
                    let cut = ts.saturating_sub(d);
                    entries.retain(|e| e.1 > cut);
                }
                if entries.len() >= WINDOW_CAP {
                    hit = true;
                    if shape.within.is_none() {
                        return true;
                    }
                    let oldest = entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| e.1)
                        .map(|(i, _)| i);
                    if let Some(o) = oldest {
                        entries.remove(o);
                    }
                }
                let i = entries.partition_point(|e| e.0 < v);
                entries.insert(i, (v, ts));
                return hit;
            }
            entries.insert(i, (v, ts));
            // Amortised pruning: a scan each time the vector doubles.
            if let Some(d) = shape.within
                && entries.len() >= 16
                && entries.len().is_power_of_two()
            {
                let cut = ts.saturating_sub(d);
                entries.retain(|e| e.1 > cut);
            }
            hit
        }
    }
}
