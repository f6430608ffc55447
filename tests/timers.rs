//! The timer queue (`TimerHeap`) against a naive model: random
//! interleavings of inserts and pops must come out in exactly the model's `(due, tie)`
//! order, including timers set behind the watermark, far-future and negative times,
//! and a checkpoint round trip in the middle. (Their bytes per pending timer are
//! bounded in tests/memory.rs, under dhat.)

use proptest::prelude::*;
use trigc::runtime::timers::{Due, Tie, TimerHeap};

/// The obviously-correct queue: a vector searched for its minimum.
#[derive(Default)]
struct Model {
    timers: Vec<(i64, Tie, u32)>,
}

impl Model {
    fn insert(&mut self, due: i64, tie: Tie, value: u32) {
        self.timers.push((due, tie, value));
    }
    fn pop_due(&mut self, watermark: i64) -> Option<(i64, Tie, u32)> {
        let (i, _) = self
            .timers
            .iter()
            .enumerate()
            .min_by_key(|(_, (due, tie, _))| (*due, *tie))?;
        if self.timers[i].0 > watermark {
            return None;
        }
        Some(self.timers.swap_remove(i))
    }
    fn next_due(&self) -> Option<i64> {
        self.timers.iter().map(|t| t.0).min()
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// A timer due at `watermark + offset` (an absolute time when `absolute`).
    Insert {
        offset: i64,
        absolute: bool,
        tie_high: u8,
    },
    /// Move the watermark forward by `step` and pop everything due.
    Advance { step: i64 },
    /// Pop at most one due timer (the runtime may stop in between).
    PopOne,
    /// Serialise the queue and carry on with the deserialised copy.
    Checkpoint,
}

fn op() -> impl Strategy<Value = Op> {
    let offset = prop_oneof![
        4 => -70i64..70,                    // dense around the watermark, in the past too
        2 => -5_000i64..300_000,            // minutes
        1 => 0i64..40 * 86_400_000,         // up to 40 days
        1 => -(1i64 << 40)..(1i64 << 40),   // far either way
    ];
    let absolute = prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-1i64),
        Just(0i64),
        any::<i64>()
    ];
    let step = prop_oneof![3 => 0i64..3, 3 => 0i64..200, 2 => 0i64..100_000, 1 => 0i64..(1 << 42)];
    prop_oneof![
        6 => (offset, any::<u8>()).prop_map(|(offset, tie_high)| Op::Insert { offset, absolute: false, tie_high }),
        1 => (absolute, any::<u8>()).prop_map(|(offset, tie_high)| Op::Insert { offset, absolute: true, tie_high }),
        3 => step.prop_map(|step| Op::Advance { step }),
        1 => Just(Op::PopOne),
        1 => Just(Op::Checkpoint),
    ]
}

fn to_tuple(d: Due<u32>) -> (i64, Tie, u32) {
    (d.due, d.tie, d.value)
}

fn roundtrip<Q: serde::Serialize + serde::de::DeserializeOwned>(q: &Q) -> Q {
    let json = serde_json::to_string(q).expect("serialises");
    serde_json::from_str(&json).expect("deserialises")
}

/// Runs `ops` on the model and the heap, checking every pop agrees.
fn run(ops: &[Op], start: i64) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    let mut heap = TimerHeap::<u32>::new();
    let mut watermark = start;
    let mut seq = 0u32;
    let mut popped = 0usize;
    let mut pop = |watermark: i64, model: &mut Model, heap: &mut TimerHeap<u32>| {
        let want = model.pop_due(watermark);
        let from_heap = heap.pop_due(watermark).map(to_tuple);
        prop_assert_eq!(from_heap, want, "heap at watermark {}", watermark);
        popped += usize::from(want.is_some());
        Ok(want.is_some())
    };
    for op in ops {
        match op {
            Op::Insert {
                offset,
                absolute,
                tie_high,
            } => {
                let due = if *absolute {
                    *offset
                } else {
                    watermark.saturating_add(*offset)
                };
                // Unique ties (the runtime's ties end in a creation sequence), with a
                // random high part so ties at one instant come in any order.
                let tie = (u64::from(*tie_high) << 32) | u64::from(seq);
                model.insert(due, tie, seq);
                heap.insert(due, tie, seq);
                seq += 1;
            }
            Op::Advance { step } => {
                watermark = watermark.saturating_add(*step);
                while pop(watermark, &mut model, &mut heap)? {}
            }
            Op::PopOne => {
                pop(watermark, &mut model, &mut heap)?;
            }
            Op::Checkpoint => {
                heap = roundtrip(&heap);
            }
        }
        prop_assert_eq!(heap.len(), model.timers.len());
        prop_assert_eq!(heap.next_due(), model.next_due());
    }
    // Drain everything at the end of input.
    while pop(i64::MAX, &mut model, &mut heap)? {}
    prop_assert!(heap.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn heap_pops_in_model_order(
        start in prop_oneof![Just(0i64), Just(1_767_225_600_000i64), -(1i64 << 50)..(1i64 << 50), Just(i64::MIN), Just(i64::MAX - 1000)],
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        run(&ops, start)?;
    }
}

/// Pops everything due at `watermark` as `(due, tie)` pairs.
fn drain(q: &mut TimerHeap<u32>, watermark: i64) -> Popped {
    std::iter::from_fn(|| q.pop_due(watermark))
        .map(|d| (d.due, d.tie))
        .collect()
}

/// What a queue popped: `(due, tie)` in order.
type Popped = Vec<(i64, Tie)>;

/// Inserts through `f` into a fresh heap, then pops it at `watermark`.
fn popped(f: impl Fn(&mut dyn FnMut(i64, Tie)), watermark: i64) -> Popped {
    let mut heap = TimerHeap::new();
    f(&mut |due, tie| heap.insert(due, tie, 0));
    drain(&mut heap, watermark)
}

#[test]
fn same_due_time_comes_out_in_tie_order() {
    let heap = popped(
        |insert| {
            for tie in [5, 3, 9, 1, 7] {
                insert(1_000, tie);
            }
        },
        1_000,
    );
    let want = vec![(1_000, 1), (1_000, 3), (1_000, 5), (1_000, 7), (1_000, 9)];
    assert_eq!(heap, want);
}

#[test]
fn extremes_and_negative_times_sort_as_integers() {
    let dues = [
        i64::MAX,
        0,
        -1,
        i64::MIN,
        1,
        -(1 << 62),
        1 << 62,
        i64::MIN + 1,
        i64::MAX - 1,
    ];
    let heap = popped(
        |insert| {
            for (tie, due) in dues.iter().enumerate() {
                insert(*due, tie as Tie);
            }
        },
        i64::MAX,
    );
    let mut want: Vec<(i64, Tie)> = dues
        .iter()
        .enumerate()
        .map(|(t, d)| (*d, t as Tie))
        .collect();
    want.sort();
    assert_eq!(heap, want);
}

#[test]
fn nothing_pops_before_its_due_time_and_watermark_is_inclusive() {
    let mut heap = TimerHeap::new();
    heap.insert(100, 0, 1u32);
    assert_eq!(heap.pop_due(99), None);
    assert_eq!(heap.next_due(), Some(100));
    assert_eq!(heap.pop_due(100).map(|d| d.value), Some(1));
    assert!(heap.is_empty());
}

#[test]
fn timer_set_behind_the_watermark_merges_in_order_with_due_ones() {
    let mut heap = TimerHeap::new();
    heap.insert(10, 2, 'a');
    heap.insert(20, 0, 'b');
    // The watermark passes 10 while popping 'a'; then a timer appears in the past.
    assert_eq!(heap.pop_due(15).map(|d| d.value), Some('a'));
    heap.insert(5, 9, 'c');
    heap.insert(10, 1, 'd');
    heap.insert(15, 0, 'e');
    let order: Vec<char> = std::iter::from_fn(|| heap.pop_due(20))
        .map(|d| d.value)
        .collect();
    assert_eq!(order, vec!['c', 'd', 'e', 'b']);
}

#[test]
fn a_lower_watermark_later_pops_nothing_newer() {
    // The runtime keeps watermarks monotone; the queue still must not over-pop.
    let mut heap = TimerHeap::new();
    heap.insert(1_000_000, 0, ());
    heap.insert(10, 0, ());
    assert!(heap.pop_due(10).is_some());
    assert!(heap.pop_due(5).is_none());
    assert!(heap.pop_due(999_999).is_none());
    assert!(heap.pop_due(1_000_000).is_some());
}

#[test]
fn checkpoint_is_plain_data_and_keeps_order() {
    let mut heap = TimerHeap::new();
    heap.insert(30, 1, 7u32);
    heap.insert(10, 0, 8u32);
    let json = serde_json::to_value(&heap).expect("serialises");
    assert_eq!(json["heap"].as_array().map(Vec::len), Some(2));
    let mut back: TimerHeap<u32> = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back.pop_due(100).map(|d| d.value), Some(8));
    assert_eq!(back.pop_due(100).map(|d| d.value), Some(7));
}
