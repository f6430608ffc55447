//! Pending timers, ordered by `(due, tie)`, in a 4-ary heap ([`TimerHeap`]).
//! Cancellation is lazy: the runtime stores a generation in each timer's payload and
//! ignores timers whose instance has moved on, so the queue itself never searches.
//!
//! A hierarchical timing wheel used to sit beside it behind a `TimerQueue` trait; it
//! was faster in isolation but no faster end to end, and was removed (BENCHMARKS.md).

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

impl<T: Copy> TimerHeap<T> {
    /// Queue `value`, due at `due`, ordered among timers due then by `tie`.
    pub fn insert(&mut self, due: i64, tie: Tie, value: T) {
        let node = Node {
            hi: key_of(due),
            tie,
            value,
        };
        self.nodes.push(node);
        self.sift_up(self.nodes.len() - 1, node);
    }

    /// The earliest pending timer if it is due at or before `watermark`.
    pub fn pop_due(&mut self, watermark: i64) -> Option<Due<T>> {
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

    /// The earliest pending timer if it is due before `watermark`, or at it with a
    /// tie below `before` (the timers of triggers that come before a given one at
    /// that instant).
    pub fn pop_due_before(&mut self, watermark: i64, before: Tie) -> Option<Due<T>> {
        let first = self.nodes.first()?;
        let limit = key_of(watermark);
        if first.hi > limit || (first.hi == limit && first.tie >= before) {
            return None;
        }
        self.pop_due(watermark)
    }

    /// Earliest due time, if any.
    pub fn next_due(&self) -> Option<i64> {
        self.nodes.first().map(Node::due)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
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

/// Order-preserving map from signed due times to unsigned heap keys.
fn key_of(due: i64) -> u64 {
    (due as u64) ^ (1 << 63)
}

fn due_of(key: u64) -> i64 {
    (key ^ (1 << 63)) as i64
}
