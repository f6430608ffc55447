//! Pending timers, ordered by `(due, tie)`. Cancellation is lazy: the runtime stores a
//! generation in each timer's payload and ignores timers whose instance has moved on,
//! so the queue itself never searches.
//!
//! Two interchangeable [`TimerQueue`]s: [`TimerHeap`] (a 4-ary heap) and
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

/// 4-ary min-heap of timers. Versus a binary heap: half the levels, so a pop's
/// sift-down through a large queue touches half as many cache lines (the four
/// children of a node are adjacent), for about one more comparison per level.
/// Compares `(due, tie)` as one `u128`. Serialises as the list of pending timers
/// (`{ "heap": [[due, tie, value], ...] }`, in heap order), rebuilt on load.
#[derive(Clone, Debug)]
pub struct TimerHeap<T> {
    /// Heap order: the children of node `i` are `4i + 1 ..= 4i + 4`.
    nodes: Vec<Node<T>>,
}

impl<T> Default for TimerHeap<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Children per node.
const ARITY: usize = 4;

#[derive(Clone, Copy, Debug)]
struct Node<T> {
    /// `due` with its sign bit flipped ([`key_of`]): `(hi, tie)` compares as one
    /// `u128` in `(due, tie)` order.
    hi: u64,
    tie: Tie,
    value: T,
}

impl<T> Node<T> {
    fn key(&self) -> u128 {
        (u128::from(self.hi) << 64) | u128::from(self.tie)
    }

    fn due(&self) -> i64 {
        due_of(self.hi)
    }
}

/// Wrapper so payloads need no ordering of their own (ties are unique): the wheel's
/// `ready` heap.
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

impl<T: Copy> TimerQueue<T> for TimerHeap<T> {
    fn insert(&mut self, due: i64, tie: Tie, value: T) {
        let node = Node {
            hi: key_of(due),
            tie,
            value,
        };
        self.nodes.push(node);
        self.sift_up(self.nodes.len() - 1, node);
    }

    fn pop_due(&mut self, watermark: i64) -> Option<Due<T>> {
        if self.nodes.first()?.hi > key_of(watermark) {
            return None;
        }
        let node = self.pop_min()?;
        Some(Due {
            due: node.due(),
            tie: node.tie,
            value: node.value,
        })
    }

    fn pop_due_before(&mut self, watermark: i64, before: Tie) -> Option<Due<T>> {
        let first = self.nodes.first()?;
        let limit = key_of(watermark);
        if first.hi > limit || (first.hi == limit && first.tie >= before) {
            return None;
        }
        self.pop_due(watermark)
    }

    fn next_due(&self) -> Option<i64> {
        self.nodes.first().map(Node::due)
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }
}

impl<T> TimerHeap<T> {
    pub fn new() -> Self {
        TimerHeap { nodes: Vec::new() }
    }

    /// Every pending timer, in no particular order (for checkpoints and reports).
    pub fn iter(&self) -> impl Iterator<Item = (i64, Tie, &T)> {
        self.nodes.iter().map(|n| (n.due(), n.tie, &n.value))
    }
}

impl<T: Copy> TimerHeap<T> {
    /// Puts `node` at the hole `pos` or above it, moving every parent with a larger
    /// key down into the hole.
    fn sift_up(&mut self, mut pos: usize, node: Node<T>) {
        let key = node.key();
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            let Some(&p) = self.nodes.get(parent) else {
                break;
            };
            if key >= p.key() {
                break;
            }
            if let Some(hole) = self.nodes.get_mut(pos) {
                *hole = p;
            }
            pos = parent;
        }
        if let Some(hole) = self.nodes.get_mut(pos) {
            *hole = node;
        }
    }

    /// Removes the minimum. The last node takes the root's place by the route std's
    /// `BinaryHeap` uses: the hole left by the root moves all the way down along
    /// the smallest children (the last node came from the bottom, so it almost
    /// always belongs near there: no comparison against it on the way down), then
    /// the last node goes into it and up as far as it must.
    fn pop_min(&mut self) -> Option<Node<T>> {
        let last = self.nodes.pop()?;
        let Some(&root) = self.nodes.first() else {
            return Some(last);
        };
        let mut pos = 0;
        loop {
            let first = ARITY * pos + 1;
            let best = match self.nodes.get(first..first + ARITY) {
                Some(&[a, b, c, d]) => {
                    // A whole group: the smallest of four without data-dependent
                    // branches beyond two selects.
                    let (i, k) = min_of((0, a.key()), (1, b.key()));
                    let (j, l) = min_of((2, c.key()), (3, d.key()));
                    first + min_of((i, k), (j, l)).0
                }
                _ => match self.nodes.get(first..).and_then(smallest) {
                    Some(i) => first + i,
                    None => break,
                },
            };
            let Some(&child) = self.nodes.get(best) else {
                break;
            };
            if let Some(hole) = self.nodes.get_mut(pos) {
                *hole = child;
            }
            pos = best;
        }
        self.sift_up(pos, last);
        Some(root)
    }
}

/// The smaller of two `(index, key)`, the first on a tie (keys are unique anyway).
fn min_of(a: (usize, u128), b: (usize, u128)) -> (usize, u128) {
    if b.1 < a.1 { b } else { a }
}

/// Index of the smallest key among `nodes` (`None` when empty).
fn smallest<T>(nodes: &[Node<T>]) -> Option<usize> {
    let (first, rest) = nodes.split_first()?;
    let mut best = (0, first.key());
    for (i, n) in rest.iter().enumerate() {
        best = min_of(best, (i + 1, n.key()));
    }
    Some(best.0)
}

/// The serialised form of a [`TimerHeap`].
#[derive(Serialize)]
struct HeapOut<'a, T> {
    heap: PendingNodes<'a, T>,
}

struct PendingNodes<'a, T>(&'a [Node<T>]);

impl<T: Serialize> Serialize for PendingNodes<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|n| (n.due(), n.tie, &n.value)))
    }
}

#[derive(Deserialize)]
struct HeapIn<T> {
    heap: Vec<(i64, Tie, T)>,
}

impl<T: Serialize> Serialize for TimerHeap<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        HeapOut {
            heap: PendingNodes(&self.nodes),
        }
        .serialize(s)
    }
}

impl<'de, T: Deserialize<'de> + Copy> Deserialize<'de> for TimerHeap<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let data = HeapIn::<T>::deserialize(d)?;
        let mut heap = TimerHeap {
            nodes: Vec::with_capacity(data.heap.len()),
        };
        for (due, tie, value) in data.heap {
            heap.insert(due, tie, value);
        }
        Ok(heap)
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
