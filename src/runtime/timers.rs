//! Pending timers, ordered by `(due, tie)`. Cancellation is lazy: the runtime stores a
//! generation in each timer's payload and ignores timers whose instance has moved on,
//! so the queue itself never searches.

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
    /// Earliest due time, if any.
    fn next_due(&self) -> Option<i64>;
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

    fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|std::cmp::Reverse((due, _, _))| *due)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}
