//! Cooldown and limit bookkeeping of one (trigger, key): when the trigger last ran
//! actions for the key (`cooldown D`) and the times of its firings still inside the
//! limit's window (`limit N per D`). Kept in the key's [`super::state::KeyData`]
//! beside its states and aggregates, so that checking a gate when a step fires
//! touches memory the step's guard and payload read anyway (a separate map keyed by
//! (customer, trigger) cost cache misses per firing: see BENCHMARKS.md, "Figures
//! behind choices in the code").

use serde::{Deserialize, Serialize};

use crate::ir::Limit;

/// The bookkeeping of one trigger for one key. 24 bytes, so that a gate fits a
/// [`super::state::KeyData`] slot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// Time of the last step that ran its actions (`cooldown`).
    pub last_action: i64,
    /// Times of the firings within the limit's window (`limit N per D`).
    pub fires: Fires,
}

/// Firing times, ascending, in a buffer with room to grow: the times are at the front
/// and [`EMPTY`] fills the rest. Times that left the window stay at the front until
/// the buffer is full and compacted, so a firing costs O(log n) amortised, not a copy
/// of the list (`limit 100000000 per 365d` on one key was quadratic). Small lists are
/// kept exact-size, as one allocation of one to four times.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fires(Box<[i64]>);

/// An unused place in [`Fires`]: after every time.
const EMPTY: i64 = i64::MAX;

/// Lists up to this long grow one place at a time (exact-size); longer ones double.
const EXACT_UP_TO: usize = 4;

impl Fires {
    /// The times held (those that left the window included, until compacted).
    pub fn times(&self) -> &[i64] {
        let len = self.0.partition_point(|&t| t != EMPTY);
        self.0.get(..len).unwrap_or_default()
    }

    /// How many times are later than `cut`.
    fn count_after(&self, cut: i64) -> usize {
        let times = self.times();
        times.len() - times.partition_point(|&t| t <= cut)
    }

    /// Add `at`, dropping times not later than `cut` when the buffer must grow.
    fn add(&mut self, at: i64, cut: i64) {
        let len = self.times().len();
        if len < self.0.len() && self.0.get(len.wrapping_sub(1)).is_none_or(|&t| t <= at) {
            // The common case: room at the end, and `at` is the latest.
            if let Some(slot) = self.0.get_mut(len) {
                *slot = at;
            }
            return;
        }
        let times = self.times();
        let live = times
            .get(times.partition_point(|&t| t <= cut)..)
            .unwrap_or_default();
        let needed = live.len() + 1;
        let capacity = if needed <= EXACT_UP_TO {
            needed
        } else {
            needed * 2
        };
        let mut next = Vec::with_capacity(capacity);
        next.extend_from_slice(live);
        // A firing at an earlier instant (a late event processed at its own time)
        // goes in its place.
        let at_index = next.partition_point(|&t| t <= at);
        next.insert(at_index, at);
        next.resize(capacity, EMPTY);
        self.0 = next.into_boxed_slice();
    }
}

impl Serialize for Fires {
    /// As the list of times held.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.times().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Fires {
    /// Any list of times: sorted, without [`EMPTY`], exact-size.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fires, D::Error> {
        let mut times = Vec::<i64>::deserialize(d)?;
        times.retain(|&t| t != EMPTY);
        times.sort_unstable();
        Ok(Fires(times.into_boxed_slice()))
    }
}

impl Gate {
    /// Whether a step firing at `at` is suppressed.
    pub fn suppresses(&self, cooldown: Option<i64>, limit: Option<Limit>, at: i64) -> bool {
        if let Some(cooldown) = cooldown
            && at < self.last_action.saturating_add(cooldown)
        {
            return true;
        }
        if let Some(limit) = limit
            && self.fires.count_after(at.saturating_sub(limit.per)) >= limit.count as usize
        {
            return true;
        }
        false
    }

    /// Note a step firing at `at` (it was not suppressed).
    pub fn record(&mut self, limit: Option<Limit>, at: i64) {
        self.last_action = at;
        if let Some(limit) = limit {
            self.fires.add(at, at.saturating_sub(limit.per));
        }
    }

    /// Whether the gate can no longer suppress anything at or after `now`.
    pub fn is_spent(&self, cooldown: Option<i64>, limit: Option<Limit>, now: i64) -> bool {
        let cooling = cooldown.is_some_and(|c| now < self.last_action.saturating_add(c));
        let limiting = limit.is_some_and(|l| self.fires.count_after(now.saturating_sub(l.per)) > 0);
        !cooling && !limiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_suppress_by_cooldown_and_limit() {
        let mut g = Gate::default();
        let limit = Some(Limit { count: 2, per: 100 });
        g.record(limit, 10);
        assert!(g.suppresses(Some(50), None, 59));
        assert!(
            !g.suppresses(Some(50), None, 60),
            "cooldown ends at last + cooldown"
        );
        assert!(!g.suppresses(None, limit, 20));
        g.record(limit, 20);
        assert!(g.suppresses(None, limit, 109));
        assert!(
            !g.suppresses(None, limit, 110),
            "the window (at - D, at] no longer holds 10"
        );
        assert!(g.is_spent(Some(50), limit, 120));
    }

    #[test]
    fn a_record_drops_firings_that_left_the_window() {
        let mut g = Gate::default();
        let limit = Some(Limit { count: 5, per: 100 });
        for at in [10, 20, 150, 200] {
            g.record(limit, at);
        }
        assert_eq!(g.fires.times(), &[150, 200]);
        assert_eq!(g.last_action, 200);
    }

    /// Against the plain definition (count the firings in `(at - D, at]`), over
    /// firings in time order, many past the exact-size lists.
    #[test]
    fn the_buffer_counts_as_the_definition_does() {
        let limit = Some(Limit {
            count: 50,
            per: 1000,
        });
        let mut g = Gate::default();
        let mut all: Vec<i64> = Vec::new();
        let mut at = 0i64;
        for i in 0..5000i64 {
            at += (i * 7919) % 60;
            let when = at;
            let suppressed = all.iter().filter(|&&t| t > when - 1000).count() >= 50;
            assert_eq!(g.suppresses(None, limit, when), suppressed, "firing {i}");
            if !suppressed {
                g.record(limit, when);
                all.push(when);
            }
            let spent = !all.iter().any(|&t| t > when - 1000);
            assert_eq!(g.is_spent(None, limit, when), spent);
        }
        // The buffer holds about the window, not every firing ever.
        assert!(g.fires.0.len() < 400, "{}", g.fires.0.len());
        let json = serde_json::to_string(&g).unwrap_or_default();
        let back: Gate = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.fires.times(), g.fires.times());
    }

    /// A firing at an earlier instant (a late event processed at its own time) is
    /// kept in order, so the counts stay right.
    #[test]
    fn an_earlier_firing_goes_in_its_place() {
        let limit = Some(Limit { count: 3, per: 100 });
        let mut g = Gate::default();
        for at in [10, 50, 40] {
            g.record(limit, at);
        }
        assert_eq!(g.fires.times(), &[10, 40, 50]);
        assert!(g.suppresses(None, limit, 60));
        assert!(!g.suppresses(None, limit, 111));
    }

    /// A limit that never binds: each firing costs a binary search, not a copy of
    /// every earlier one.
    #[test]
    fn a_huge_limit_is_linear() {
        let limit = Some(Limit {
            count: 100_000_000,
            per: 365 * 86_400_000,
        });
        let mut g = Gate::default();
        for at in 0..200_000 {
            assert!(!g.suppresses(None, limit, at));
            g.record(limit, at);
        }
        assert_eq!(g.fires.times().len(), 200_000);
        assert!(g.fires.0.len() <= 2 * 262_144);
    }

    #[test]
    fn a_gate_fits_a_key_data_slot() {
        assert_eq!(std::mem::size_of::<Gate>(), 24);
    }
}
