//! [`Series`]: the time-ordered entries of one windowed `count`/`sum`/`avg`, with
//! times stored as `u32` millisecond offsets from a per-series base whenever the
//! window is short enough (under about 37 days) that every live entry fits, and as
//! plain `i64` otherwise.
//!
//! Every entry kept lies in `(newest − within, newest]` (older ones are pruned on
//! push), so with `within` at most [`NARROW_WITHIN`] the spread of the entries always
//! fits in a `u32` after re-basing on the oldest entry. Re-basing is `O(len)` and
//! happens only when time has moved on by more than `2^32 − within` (at least
//! `2^30` ms, about 12 days) since the last one, or for a late event older than every
//! entry. Any time the offsets would not fit anyway, the series turns wide: no `i64`
//! time, far past or far future, is ever misplaced.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::WINDOW_CAP;

/// Longest `within` stored with `u32` offsets: `2^32 − 2^30` ms leaves `2^30` ms of
/// headroom between re-basings.
pub const NARROW_WITHIN: i64 = (1 << 32) - (1 << 30);

/// An `i64` value as two `u32` words, so a narrow `(offset, value)` entry is 12 bytes
/// instead of 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Word2([u32; 2]);

impl From<i64> for Word2 {
    fn from(v: i64) -> Word2 {
        let u = v as u64;
        Word2([u as u32, (u >> 32) as u32])
    }
}

impl From<Word2> for i64 {
    fn from(w: Word2) -> i64 {
        let [lo, hi] = w.0;
        ((u64::from(hi) << 32) | u64::from(lo)) as i64
    }
}

/// Ascending-time entries `(ts, V)`; `V` is `()` for event times alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Series<V> {
    Narrow { base: i64, q: VecDeque<(u32, V)> },
    Wide(VecDeque<(i64, V)>),
}

fn offset(base: i64, ts: i64) -> Option<u32> {
    u32::try_from(i128::from(ts) - i128::from(base)).ok()
}

fn at(base: i64, off: u32) -> i64 {
    // Offsets are only ever made by `offset`, so this does not overflow; saturate
    // rather than panic all the same.
    base.saturating_add(i64::from(off))
}

impl<V: Copy> Series<V> {
    /// A series holding one entry.
    pub fn new(within: Option<i64>, ts: i64, v: V) -> Series<V> {
        if within.is_some_and(|d| d <= NARROW_WITHIN) {
            Series::Narrow {
                base: ts,
                q: VecDeque::from([(0, v)]),
            }
        } else {
            Series::Wide(VecDeque::from([(ts, v)]))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Series::Narrow { q, .. } => q.len(),
            Series::Wide(q) => q.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn newest(&self) -> Option<i64> {
        match self {
            Series::Narrow { base, q } => q.back().map(|e| at(*base, e.0)),
            Series::Wide(q) => q.back().map(|e| e.0),
        }
    }

    /// The oldest entry's time.
    pub fn oldest(&self) -> Option<i64> {
        match self {
            Series::Narrow { base, q } => q.front().map(|e| at(*base, e.0)),
            Series::Wide(q) => q.front().map(|e| e.0),
        }
    }

    /// How many leading entries have `ts <= cut`.
    pub fn count_at_or_before(&self, cut: i64) -> usize {
        // The common read is at the newest entry's time with every entry live
        // (pushes prune): one comparison instead of a binary search.
        if self.oldest().is_none_or(|t| t > cut) {
            return 0;
        }
        match self {
            Series::Narrow { base, q } => {
                let rel = i128::from(cut) - i128::from(*base);
                if rel < 0 {
                    0
                } else {
                    match u32::try_from(rel) {
                        Ok(r) => q.partition_point(|e| e.0 <= r),
                        Err(_) => q.len(),
                    }
                }
            }
            Series::Wide(q) => q.partition_point(|e| e.0 <= cut),
        }
    }

    /// The values of the entries from index `from` on.
    pub fn values_from(&self, from: usize) -> impl Iterator<Item = V> + '_ {
        let (narrow, wide) = match self {
            Series::Narrow { q, .. } => (Some(q.range(from.min(q.len())..)), None),
            Series::Wide(q) => (None, Some(q.range(from.min(q.len())..))),
        };
        narrow
            .into_iter()
            .flatten()
            .map(|e| e.1)
            .chain(wide.into_iter().flatten().map(|e| e.1))
    }

    /// Drops the first `n` entries (expired); `false` when nothing is left.
    pub fn drain_front(&mut self, n: usize) -> bool {
        match self {
            Series::Narrow { q, .. } => drain(q, n),
            Series::Wide(q) => drain(q, n),
        }
    }

    /// Takes `(ts, v)` in, keeping time order (a late entry goes after entries with
    /// the same time), dropping entries at or before `newest − within` and, past
    /// [`WINDOW_CAP`], the oldest. Returns whether the cap dropped something.
    pub fn push(&mut self, within: Option<i64>, ts: i64, v: V) -> bool {
        if let Some(d) = within {
            let newest = self.newest().map_or(ts, |n| n.max(ts));
            let cut = newest.saturating_sub(d);
            if ts <= cut {
                // A late entry that is already out of every window it can be read in.
                return false;
            }
            self.prune(cut);
        }
        if let Series::Narrow { base, q } = self {
            // The common case: the offset fits (an empty series re-bases on `ts`).
            if let Some(off) = offset(*base, ts)
                && !q.is_empty()
            {
                return insert(q, (off, v), |e| e.0);
            }
            if !rebase(base, q, ts) {
                *self = Series::Wide(widen(*base, q));
            }
        }
        match self {
            Series::Narrow { base, q } => {
                // `rebase` made room for `ts`; fall back to the end otherwise.
                let off = offset(*base, ts).unwrap_or(u32::MAX);
                insert(q, (off, v), |e| e.0)
            }
            Series::Wide(q) => insert(q, (ts, v), |e| e.0),
        }
    }

    /// Drops leading entries at or before `cut`: one comparison when there are none.
    fn prune(&mut self, cut: i64) {
        match self {
            Series::Narrow { base, q } => {
                while q.front().is_some_and(|e| at(*base, e.0) <= cut) {
                    q.pop_front();
                }
            }
            Series::Wide(q) => {
                while q.front().is_some_and(|e| e.0 <= cut) {
                    q.pop_front();
                }
            }
        }
    }
}

/// Moves `base` to the oldest of the entries and `ts`; `false` when the spread still
/// does not fit in a `u32` (the caller then widens).
fn rebase<V>(base: &mut i64, q: &mut VecDeque<(u32, V)>, ts: i64) -> bool {
    let oldest = q.front().map_or(ts, |e| at(*base, e.0).min(ts));
    let newest = q.back().map_or(ts, |e| at(*base, e.0).max(ts));
    if offset(oldest, newest).is_none() {
        return false;
    }
    let old = *base;
    for e in q.iter_mut() {
        e.0 = offset(oldest, at(old, e.0)).unwrap_or(u32::MAX);
    }
    *base = oldest;
    true
}

fn widen<V: Copy>(base: i64, q: &VecDeque<(u32, V)>) -> VecDeque<(i64, V)> {
    q.iter().map(|&(off, v)| (at(base, off), v)).collect()
}

/// Inserts `x` after every entry with a time at or before its own; drops the oldest
/// past the cap.
fn insert<T: Copy, K: Ord>(q: &mut VecDeque<T>, x: T, key: impl Fn(&T) -> K) -> bool {
    reserve_one(q);
    if q.back().is_none_or(|b| key(b) <= key(&x)) {
        q.push_back(x);
    } else {
        let i = q.partition_point(|e| key(e) <= key(&x));
        q.insert(i, x);
    }
    if q.len() > WINDOW_CAP {
        q.pop_front();
        return true;
    }
    false
}

/// Room for one more entry, growing by a quarter rather than doubling: per-key
/// windows are many and mostly short, so slack costs more than the extra copies.
pub fn reserve_one<T>(q: &mut VecDeque<T>) {
    if q.len() == q.capacity() {
        q.reserve_exact((q.len() / 4).max(2));
    }
}

/// Drops the first `n` entries (`O(n)`), giving memory back once the deque is
/// mostly empty; `false` when nothing is left.
pub fn drain<T>(q: &mut VecDeque<T>, n: usize) -> bool {
    if n > 0 {
        q.drain(..n.min(q.len()));
        if q.capacity() > 8 && q.len() < q.capacity() / 4 {
            q.shrink_to_fit();
        }
    }
    !q.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(s: &Series<()>) -> Vec<i64> {
        match s {
            Series::Narrow { base, q } => q.iter().map(|e| at(*base, e.0)).collect(),
            Series::Wide(q) => q.iter().map(|e| e.0).collect(),
        }
    }

    #[test]
    fn word2_round_trips() {
        for v in [0, 1, -1, i64::MIN, i64::MAX, 0x1234_5678_9abc_def0] {
            assert_eq!(i64::from(Word2::from(v)), v);
        }
    }

    #[test]
    fn narrow_series_rebase_on_late_and_far_entries() {
        let d = 1000;
        let mut s = Series::new(Some(d), i64::MIN + 5, ());
        assert!(matches!(s, Series::Narrow { .. }));
        // Windows saturate at `i64::MIN`: a time there is never inside one.
        s.push(Some(d), i64::MIN, ());
        s.push(Some(d), i64::MIN + 1, ());
        s.push(Some(d), i64::MIN + 3, ());
        assert_eq!(times(&s), vec![i64::MIN + 1, i64::MIN + 3, i64::MIN + 5]);
        // Far future: everything else falls out, the base moves.
        s.push(Some(d), i64::MAX, ());
        assert_eq!(times(&s), vec![i64::MAX]);
        s.push(Some(d), i64::MAX - 999, ());
        s.push(Some(d), i64::MAX - 1000, ());
        assert_eq!(times(&s), vec![i64::MAX - 999, i64::MAX]);
        assert!(matches!(s, Series::Narrow { .. }));
        assert_eq!(s.count_at_or_before(i64::MAX - 1), 1);
        assert_eq!(s.count_at_or_before(i64::MIN), 0);
        assert_eq!(std::mem::size_of::<Series<Word2>>(), 40);
    }

    #[test]
    fn long_windows_are_wide_and_steps_past_u32_rebase() {
        let mut s = Series::new(Some(NARROW_WITHIN + 1), 0, ());
        assert!(matches!(s, Series::Wide(_)));
        s.push(Some(NARROW_WITHIN + 1), NARROW_WITHIN, ());
        assert_eq!(times(&s), vec![0, NARROW_WITHIN]);

        let d = NARROW_WITHIN;
        let mut s = Series::new(Some(d), 0, ());
        let mut want = vec![0];
        for step in 1..20i64 {
            let ts = step * (d / 3);
            s.push(Some(d), ts, ());
            want.push(ts);
            want.retain(|&t| t > ts - d);
            assert_eq!(times(&s), want);
        }
        assert!(matches!(s, Series::Narrow { .. }));
    }
}
