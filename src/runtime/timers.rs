//! Pending timers, ordered by `(due, tie)`. Cancellation is lazy: the runtime stores a
//! generation in each timer's payload and ignores timers whose instance has moved on,
//! so the queue itself never searches.
//!
//! Two interchangeable [`TimerQueue`]s: [`TimerHeap`] (a binary heap) and
//! [`TimerWheel`] (a hierarchical timing wheel). They pop in exactly the same order;
//! `benches/timers.rs` measures which is faster and smaller.

use serde::{Deserialize, Serialize};

/// Where a timer sorts among timers due at the same instant: the runtime encodes
/// (priority desc, trigger name rank, creation sequence) into one integer.
pub type Tie = u64;

/// A due timer, as popped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due<T> {
    pub due: i64,
    pub tie: Tie,
    pub value: T,
}

/// A queue of timers. Implementations must pop in `(due, tie)` order.
pub trait TimerQueue<T> {
    fn insert(&mut self, due: i64, tie: Tie, value: T);
    /// The earliest pending timer if it is due at or before `watermark`.
    fn pop_due(&mut self, watermark: i64) -> Option<Due<T>>;
    /// The earliest pending timer if it is due before `watermark`, or at it with a
    /// tie below `before` (the timers of triggers that come before a given one at
    /// that instant).
    fn pop_due_before(&mut self, watermark: i64, before: Tie) -> Option<Due<T>>;
    /// Earliest due time, if any.
    fn next_due(&self) -> Option<i64>;
    /// A time no pending timer is due before (`None`: none pending), for skipping
    /// the queue when nothing can be due. Exact for the heap; O(1) for the wheel
    /// (the start of its earliest non-empty slot).
    fn due_lower_bound(&self) -> Option<i64> {
        self.next_due()
    }
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Binary min-heap of timers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TimerHeap<T> {
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(i64, Tie, Entry<T>)>>,
}

/// Wrapper so payloads need no ordering of their own (ties are unique).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry<T>(T);

impl<T> PartialEq for Entry<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<T> TimerQueue<T> for TimerHeap<T> {
    fn insert(&mut self, due: i64, tie: Tie, value: T) {
        self.heap.push(std::cmp::Reverse((due, tie, Entry(value))));
    }

    fn pop_due(&mut self, watermark: i64) -> Option<Due<T>> {
        let std::cmp::Reverse((due, _, _)) = self.heap.peek()?;
        if *due > watermark {
            return None;
        }
        let std::cmp::Reverse((due, tie, Entry(value))) = self.heap.pop()?;
        Some(Due { due, tie, value })
    }

    fn pop_due_before(&mut self, watermark: i64, before: Tie) -> Option<Due<T>> {
        let std::cmp::Reverse((due, tie, _)) = self.heap.peek()?;
        if *due > watermark || (*due == watermark && *tie >= before) {
            return None;
        }
        self.pop_due(watermark)
    }

    fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|std::cmp::Reverse((due, _, _))| *due)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

impl<T> TimerHeap<T> {
    pub fn new() -> Self {
        TimerHeap {
            heap: std::collections::BinaryHeap::new(),
        }
    }

    /// Every pending timer, in no particular order (for checkpoints and reports).
    pub fn iter(&self) -> impl Iterator<Item = (i64, Tie, &T)> {
        self.heap
            .iter()
            .map(|std::cmp::Reverse((due, tie, Entry(v)))| (*due, *tie, v))
    }
}

/// Bits of the due time one wheel level resolves: 64 slots per level, so a level's
/// occupancy is one `u64` and finding the next slot is one `trailing_zeros`.
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Enough levels to cover every bit of a due time (the top level uses 4 of its 6 bits).
const LEVELS: usize = 64usize.div_ceil(SLOT_BITS as usize);
/// A cascaded slot keeps its allocation for reuse up to this many timers; a bigger
/// one is freed, so a burst of far-future timers does not pin memory afterwards.
const KEEP_SLOT_CAPACITY: usize = 64;

/// Hierarchical timing wheel: 11 levels of 64 slots over the whole `i64` millisecond
/// range. Level `l` slot `s` holds timers whose due time agrees with the cursor above
/// digit `l` and has digit `l` equal to `s` (digit = 6 bits); timers move one or more
/// levels down as the cursor reaches their slot, and land in `ready` (a small heap
/// that restores exact `(due, tie)` order) at their due millisecond. Insert is O(1);
/// each timer is moved at most once per level between its insert and its firing.
///
/// Pops in exactly the same order as [`TimerHeap`]. Serialises as plain data: the
/// cursor and the list of pending timers (slot layout is rebuilt on load).
pub struct TimerWheel<T> {
    /// Due times are compared as `u64` keys (sign bit flipped, order kept). Every
    /// timer with key `<= cursor` is in `ready`; every other one is in `levels`.
    cursor: u64,
    ready: std::collections::BinaryHeap<std::cmp::Reverse<(i64, Tie, Entry<T>)>>,
    levels: Box<[Level<T>; LEVELS]>,
    len: usize,
}

struct Level<T> {
    /// Bit `s` set iff `slots[s]` is non-empty.
    occupied: u64,
    slots: [Vec<Due<T>>; SLOTS],
}

impl<T> Level<T> {
    fn new() -> Self {
        Level {
            occupied: 0,
            slots: std::array::from_fn(|_| Vec::new()),
        }
    }
}

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Order-preserving map from signed due times to the wheel's unsigned keys.
fn key_of(due: i64) -> u64 {
    (due as u64) ^ (1 << 63)
}

fn due_of(key: u64) -> i64 {
    (key ^ (1 << 63)) as i64
}

/// The 6-bit digit of `key` a level slots by.
fn digit(key: u64, level: usize) -> usize {
    ((key >> (level as u32 * SLOT_BITS)) & SLOT_MASK) as usize
}

/// `key` with digits `0..=level` cleared (the part that must agree with the cursor).
fn prefix_above(key: u64, level: usize) -> u64 {
    let shift = (level as u32 + 1) * SLOT_BITS;
    key.checked_shr(shift)
        .and_then(|k| k.checked_shl(shift))
        .unwrap_or(0)
}

impl<T> TimerWheel<T> {
    pub fn new() -> Self {
        TimerWheel {
            cursor: key_of(i64::MIN),
            ready: std::collections::BinaryHeap::new(),
            levels: Box::new(std::array::from_fn(|_| Level::new())),
            len: 0,
        }
    }

    /// Every pending timer, in no particular order (for checkpoints and reports).
    pub fn iter(&self) -> impl Iterator<Item = (i64, Tie, &T)> {
        let ready = self
            .ready
            .iter()
            .map(|std::cmp::Reverse((due, tie, Entry(v)))| (*due, *tie, v));
        let wheel = self
            .levels
            .iter()
            .flat_map(|level| level.slots.iter().flatten())
            .map(|t| (t.due, t.tie, &t.value));
        ready.chain(wheel)
    }

    /// Files a timer strictly after the cursor into its level and slot: the level of
    /// the highest digit where its key differs from the cursor.
    fn place(&mut self, key: u64, timer: Due<T>) {
        debug_assert!(key > self.cursor);
        let level = ((63 - (key ^ self.cursor).leading_zeros()) / SLOT_BITS) as usize;
        let slot = digit(key, level);
        let level = &mut self.levels[level];
        level.occupied |= 1 << slot;
        level.slots[slot].push(timer);
    }

    fn push_ready(&mut self, timer: Due<T>) {
        self.ready.push(std::cmp::Reverse((
            timer.due,
            timer.tie,
            Entry(timer.value),
        )));
    }

    /// The earliest non-empty slot: lower levels always hold earlier timers than
    /// higher ones, and within a level occupied slots all lie after the cursor.
    fn first_slot(&self) -> Option<(usize, usize)> {
        let level = self.levels.iter().position(|l| l.occupied != 0)?;
        let slot = self.levels[level].occupied.trailing_zeros() as usize;
        Some((level, slot))
    }

    /// Moves the cursor to the start of the earliest non-empty slot if that is at or
    /// before `limit`, emptying the slot: into `ready` for level 0 (all its timers
    /// are due at that very millisecond), else one or more levels down. Returns
    /// whether it moved.
    fn advance(&mut self, limit: u64) -> bool {
        let Some((level, slot)) = self.first_slot() else {
            return false;
        };
        let start = prefix_above(self.cursor, level) | (slot as u64) << (level as u32 * SLOT_BITS);
        if start > limit {
            return false;
        }
        // All levels below `level` are empty, so moving the cursor to `start` keeps
        // every remaining timer's slot consistent with it.
        self.cursor = start;
        let lvl = &mut self.levels[level];
        lvl.occupied &= !(1 << slot);
        let mut timers = std::mem::take(&mut lvl.slots[slot]);
        for timer in timers.drain(..) {
            let key = key_of(timer.due);
            if key <= start {
                self.push_ready(timer);
            } else {
                self.place(key, timer);
            }
        }
        if timers.capacity() <= KEEP_SLOT_CAPACITY {
            self.levels[level].slots[slot] = timers;
        }
        true
    }
}

impl<T> TimerQueue<T> for TimerWheel<T> {
    fn insert(&mut self, due: i64, tie: Tie, value: T) {
        self.len += 1;
        let key = key_of(due);
        if key <= self.cursor {
            // At or behind the cursor (a timer set in the past): it is due now and
            // must still come out in `(due, tie)` order with the others there.
            self.push_ready(Due { due, tie, value });
        } else {
            self.place(key, Due { due, tie, value });
        }
    }

    fn pop_due(&mut self, watermark: i64) -> Option<Due<T>> {
        self.pop_due_before(watermark, Tie::MAX)
    }

    fn pop_due_before(&mut self, watermark: i64, before: Tie) -> Option<Due<T>> {
        let limit = key_of(watermark);
        loop {
            // `ready` holds keys <= cursor < every key in the wheel: its minimum is
            // the global minimum.
            if let Some(std::cmp::Reverse((due, tie, _))) = self.ready.peek() {
                if *due > watermark || (*due == watermark && *tie >= before) {
                    return None;
                }
                let std::cmp::Reverse((due, tie, Entry(value))) = self.ready.pop()?;
                self.len -= 1;
                return Some(Due { due, tie, value });
            }
            if !self.advance(limit) {
                // Nothing is due by the watermark, and every occupied slot starts
                // after it: the cursor may jump there, so that the timers set next
                // (at watermark + wait) are filed relative to it and cascade less.
                self.cursor = self.cursor.max(limit);
                return None;
            }
        }
    }

    fn due_lower_bound(&self) -> Option<i64> {
        if let Some(std::cmp::Reverse((due, _, _))) = self.ready.peek() {
            return Some(*due);
        }
        let (level, slot) = self.first_slot()?;
        let start = prefix_above(self.cursor, level) | (slot as u64) << (level as u32 * SLOT_BITS);
        Some(due_of(start))
    }

    /// O(1) unless the earliest timer sits in a coarse slot, which is then scanned.
    fn next_due(&self) -> Option<i64> {
        if let Some(std::cmp::Reverse((due, _, _))) = self.ready.peek() {
            return Some(*due);
        }
        let (level, slot) = self.first_slot()?;
        self.levels[level].slots[slot].iter().map(|t| t.due).min()
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl<T: Clone> Clone for TimerWheel<T> {
    fn clone(&self) -> Self {
        TimerWheel {
            cursor: self.cursor,
            ready: self.ready.clone(),
            levels: Box::new(std::array::from_fn(|l| Level {
                occupied: self.levels[l].occupied,
                slots: std::array::from_fn(|s| self.levels[l].slots[s].clone()),
            })),
            len: self.len,
        }
    }
}

impl<T> std::fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerWheel")
            .field("cursor", &due_of(self.cursor))
            .field("len", &self.len)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

/// The serialised form of a [`TimerWheel`]: `{ "cursor": i64, "timers": [Due] }`.
#[derive(Serialize)]
struct WheelOut<'a, T> {
    cursor: i64,
    timers: PendingTimers<'a, T>,
}

struct PendingTimers<'a, T>(&'a TimerWheel<T>);

#[derive(Serialize)]
struct DueRef<'a, T> {
    due: i64,
    tie: Tie,
    value: &'a T,
}

impl<T: Serialize> Serialize for PendingTimers<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0
                .iter()
                .map(|(due, tie, value)| DueRef { due, tie, value }),
        )
    }
}

#[derive(Deserialize)]
struct WheelIn<T> {
    cursor: i64,
    timers: Vec<Due<T>>,
}

impl<T: Serialize> Serialize for TimerWheel<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WheelOut {
            cursor: due_of(self.cursor),
            timers: PendingTimers(self),
        }
        .serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for TimerWheel<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let data = WheelIn::<T>::deserialize(d)?;
        let mut wheel = TimerWheel::new();
        wheel.cursor = key_of(data.cursor);
        for Due { due, tie, value } in data.timers {
            wheel.insert(due, tie, value);
        }
        Ok(wheel)
    }
}
