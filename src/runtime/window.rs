//! Per-key storage of one aggregate (`count`, `sum`, `min`, `max`, `avg`, `exists`,
//! `distinct`, `last`, `first`), keeping only what that aggregate needs to answer
//! for any `now` at or after its newest entry.
//!
//! | aggregate            | `within D`                                  | all time            |
//! |----------------------|---------------------------------------------|---------------------|
//! | count                | event times                                 | a counter           |
//! | exists               | the newest event time                       | a counter           |
//! | sum, avg             | `(ts, value)` pairs                         | a running sum + n   |
//! | min, max             | a monotonic deque of `(ts, value)`          | the extreme so far  |
//! | distinct             | `(value, newest ts)` sorted by value        | same, never expired |
//! | last                 | the newest event                            | the newest event    |
//! | first                | matching events                             | the oldest event    |
//!
//! The window is `(now − D, now]`: reading drops entries at or before `now − D`, so a
//! read at a timer's fire time (later than the newest event) is right without any
//! expiry having run. Entries are never read at a `now` before the newest entry,
//! except for an event processed late (`--late process`), which then sees the windows
//! as of the newest event. Entries are pruned when they fall out of the window relative
//! to the newest entry, and by [`AggSlot::expire`]; at most [`WINDOW_CAP`] entries are
//! kept per aggregate and key (the oldest go first), so no input exhausts memory.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::member::{self, ScalarKind};
use crate::interp::{StoredEvent, Value};
use crate::ir::{AggDef, AggKind, Program};
use crate::runtime::Event;

/// Most entries one aggregate keeps for one key (window entries, distinct values,
/// min/max candidates, stored events). Past it the oldest entry is dropped (a new
/// distinct value is dropped for all-time `distinct`) and a cap hit is counted.
pub const WINDOW_CAP: usize = 10_000;

/// The storage of one aggregate for one key. Created by the first event it takes in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AggSlot {
    /// `count within D`: matching event times, ascending.
    Times(VecDeque<i64>),
    /// `sum`/`avg within D`: `(ts, value)`, ascending `ts`.
    Pairs(VecDeque<(i64, i64)>),
    /// `min`/`max within D`: ascending `ts`, each value strictly better than every
    /// later one, so the first entry inside the window is the window's extreme.
    Extremes(VecDeque<(i64, i64)>),
    /// `distinct`: `(value, newest ts with it)`, sorted by value.
    Distinct(Vec<(i64, i64)>),
    /// `exists within D`: the newest matching time.
    Latest(i64),
    /// `count` / `exists` over all time.
    Count(u64),
    /// `sum` / `avg` over all time: number of values and their sum (`f64` bits for
    /// float fields, a saturating `i64` otherwise).
    Running { n: u64, acc: i64 },
    /// `min` / `max` over all time.
    Extreme(i64),
    /// `last` (any window), `first` over all time.
    Event(Arc<StoredEvent>),
    /// `first within D`: matching events, ascending time.
    Events(VecDeque<Arc<StoredEvent>>),
}

/// What the slot of one [`AggDef`] looks like: derived from the program on use.
#[derive(Clone, Copy, Debug)]
pub struct AggShape {
    pub kind: AggKind,
    pub within: Option<i64>,
    /// The aggregated field's kind (`None` for count/exists/last/first).
    pub value: Option<ScalarKind>,
}

impl AggShape {
    pub fn of(program: &Program, agg: &AggDef) -> AggShape {
        let value = agg.field.and_then(|f| {
            let fields = &program.events.get(agg.event.index())?.fields;
            ScalarKind::of(&fields.get(f.index())?.ty)
        });
        AggShape {
            kind: agg.kind,
            within: agg.within,
            value,
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

    /// Is `max`-like: a larger encoded value is better.
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
    /// aggregated field is absent).
    pub fn new(shape: &AggShape, agg: &AggDef, event: &'a Event) -> Option<Input<'a>> {
        if !shape.needs_value() {
            return Some(Input { event, value: None });
        }
        let field = event.fields.get(agg.field?.index())?;
        Some(Input {
            event,
            value: Some(member::encode(field)?),
        })
    }
}

fn stored(event: &Event) -> Arc<StoredEvent> {
    Arc::new(StoredEvent {
        kind: event.kind,
        ts: event.ts,
        fields: event.fields.clone().into_boxed_slice(),
    })
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

/// Entries of an ascending deque inside the window ending at `now`.
fn live_from<T>(q: &VecDeque<T>, shape: &AggShape, now: i64, ts: impl Fn(&T) -> i64) -> usize {
    match shape.within {
        Some(d) => {
            let cut = now.saturating_sub(d);
            q.partition_point(|e| ts(e) <= cut)
        }
        None => 0,
    }
}

impl AggSlot {
    /// A slot holding just `input`.
    pub fn start(shape: &AggShape, input: &Input) -> AggSlot {
        let ts = input.event.ts;
        let v = input.value.unwrap_or(0);
        match (shape.kind, shape.within) {
            (AggKind::Count, Some(_)) => AggSlot::Times(VecDeque::from([ts])),
            (AggKind::Count | AggKind::Exists, None) => AggSlot::Count(1),
            (AggKind::Exists, Some(_)) => AggSlot::Latest(ts),
            (AggKind::Sum | AggKind::Avg, Some(_)) => AggSlot::Pairs(VecDeque::from([(ts, v)])),
            (AggKind::Sum | AggKind::Avg, None) => AggSlot::Running {
                n: 1,
                acc: add(shape.value, zero(shape.value), v),
            },
            (AggKind::Min | AggKind::Max, Some(_)) => AggSlot::Extremes(VecDeque::from([(ts, v)])),
            (AggKind::Min | AggKind::Max, None) => AggSlot::Extreme(v),
            (AggKind::Distinct, _) => AggSlot::Distinct(vec![(v, ts)]),
            (AggKind::First, Some(_)) => AggSlot::Events(VecDeque::from([stored(input.event)])),
            (AggKind::Last | AggKind::First, _) => AggSlot::Event(stored(input.event)),
        }
    }

    /// Take one more event in. Returns whether a cap dropped something.
    pub fn push(&mut self, shape: &AggShape, input: &Input) -> bool {
        let ts = input.event.ts;
        let v = input.value.unwrap_or(0);
        match self {
            AggSlot::Times(q) => {
                let hit = insert_sorted(q, ts, |&t| t);
                prune(q, shape.within, |&t| t);
                hit
            }
            AggSlot::Pairs(q) => {
                let hit = insert_sorted(q, (ts, v), |e| e.0);
                prune(q, shape.within, |e| e.0);
                hit
            }
            AggSlot::Extremes(q) => push_extreme(q, shape, ts, v),
            AggSlot::Distinct(entries) => push_distinct(entries, shape, ts, v),
            AggSlot::Latest(t) => {
                *t = (*t).max(ts);
                false
            }
            AggSlot::Count(n) => {
                *n = n.saturating_add(1);
                false
            }
            AggSlot::Running { n, acc } => {
                *n = n.saturating_add(1);
                *acc = add(shape.value, *acc, v);
                false
            }
            AggSlot::Extreme(best) => {
                if better(shape, v, *best) {
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
                    *e = stored(input.event);
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

    /// The aggregate's value over the window ending at `now`.
    pub fn read(slot: Option<&AggSlot>, shape: &AggShape, now: i64) -> Value {
        let Some(slot) = slot else {
            return empty_value(shape);
        };
        match slot {
            AggSlot::Times(q) => {
                let n = q.len() - live_from(q, shape, now, |&t| t);
                Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
            }
            AggSlot::Pairs(q) => {
                let live = q.range(live_from(q, shape, now, |e| e.0)..);
                let n = live.len() as u64;
                let acc = live.fold(zero(shape.value), |acc, e| add(shape.value, acc, e.1));
                match shape.kind {
                    AggKind::Avg => avg_value(shape.value, n, acc),
                    _ => sum_value(shape.value, acc),
                }
            }
            AggSlot::Extremes(q) => match q.get(live_from(q, shape, now, |e| e.0)) {
                Some(&(_, v)) => decode(shape, v),
                None => Value::None,
            },
            AggSlot::Distinct(entries) => {
                let members: Vec<Value> = entries
                    .iter()
                    .filter(|(_, ts)| shape.live(*ts, now))
                    .map(|&(v, _)| decode(shape, v))
                    .collect();
                Value::Set(Arc::new(members))
            }
            AggSlot::Latest(t) => Value::Bool(shape.live(*t, now)),
            AggSlot::Count(n) => match shape.kind {
                AggKind::Exists => Value::Bool(*n > 0),
                _ => Value::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
            },
            AggSlot::Running { n, acc } => match shape.kind {
                AggKind::Avg => avg_value(shape.value, *n, *acc),
                _ => sum_value(shape.value, *acc),
            },
            AggSlot::Extreme(v) => decode(shape, *v),
            AggSlot::Event(e) if shape.live(e.ts, now) => Value::Event(e.clone()),
            AggSlot::Event(_) => Value::None,
            AggSlot::Events(q) => match q.get(live_from(q, shape, now, |e| e.ts)) {
                Some(e) => Value::Event(e.clone()),
                None => Value::None,
            },
        }
    }

    /// Drop what no read at or after `now` can see; `false` when nothing is left
    /// (the caller frees the slot).
    pub fn expire(&mut self, shape: &AggShape, now: i64) -> bool {
        if shape.within.is_none() {
            return true;
        }
        match self {
            AggSlot::Times(q) => {
                let n = live_from(q, shape, now, |&t| t);
                drain_front(q, n)
            }
            AggSlot::Pairs(q) | AggSlot::Extremes(q) => {
                let n = live_from(q, shape, now, |e| e.0);
                drain_front(q, n)
            }
            AggSlot::Events(q) => {
                let n = live_from(q, shape, now, |e| e.ts);
                drain_front(q, n)
            }
            AggSlot::Distinct(entries) => {
                entries.retain(|(_, ts)| shape.live(*ts, now));
                shrink(entries);
                !entries.is_empty()
            }
            AggSlot::Latest(t) => shape.live(*t, now),
            AggSlot::Event(e) => shape.live(e.ts, now),
            AggSlot::Count(_) | AggSlot::Running { .. } | AggSlot::Extreme(_) => true,
        }
    }
}

/// Room for one more entry, growing by a quarter rather than doubling: per-key
/// windows are many and mostly short, so slack costs more than the extra copies.
pub(crate) fn reserve_one<T>(q: &mut VecDeque<T>) {
    if q.len() == q.capacity() {
        q.reserve_exact((q.len() / 4).max(2));
    }
}

fn drain_front<T>(q: &mut VecDeque<T>, n: usize) -> bool {
    q.drain(..n);
    if q.capacity() > 8 && q.len() < q.capacity() / 4 {
        q.shrink_to_fit();
    }
    !q.is_empty()
}

fn shrink<T>(v: &mut Vec<T>) {
    if v.capacity() > 8 && v.len() < v.capacity() / 4 {
        v.shrink_to_fit();
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

/// Whether `a` beats `b` for min/max (ties keep the incumbent).
fn better(shape: &AggShape, a: i64, b: i64) -> bool {
    if shape.prefers_larger() { a > b } else { a < b }
}

/// Monotonic-deque insert. An entry is useless once some entry at the same or a
/// later time is at least as good: every window holding the first holds the second.
fn push_extreme(q: &mut VecDeque<(i64, i64)>, shape: &AggShape, ts: i64, v: i64) -> bool {
    let at_least_as_good = |x: i64| !better(shape, v, x);
    // The best entry at or after `ts` is the first one there (values get worse).
    let from = q.partition_point(|e| e.0 < ts);
    if q.get(from).is_some_and(|e| at_least_as_good(e.1)) {
        return false;
    }
    let mut at = q.partition_point(|e| e.0 <= ts);
    while at > 0 && q.get(at - 1).is_some_and(|e| !better(shape, e.1, v)) {
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
