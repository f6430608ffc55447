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
    /// Times of the firings within the limit's window, oldest first (`limit N per D`).
    pub fires: Box<[i64]>,
}

impl Gate {
    /// Whether a step firing at `at` is suppressed.
    pub fn suppresses(&self, cooldown: Option<i64>, limit: Option<Limit>, at: i64) -> bool {
        if let Some(cooldown) = cooldown
            && at < self.last_action.saturating_add(cooldown)
        {
            return true;
        }
        if let Some(limit) = limit {
            let in_window = self
                .fires
                .iter()
                .filter(|&&t| t > at.saturating_sub(limit.per))
                .count();
            if in_window >= limit.count as usize {
                return true;
            }
        }
        false
    }

    /// Note a step firing at `at` (it was not suppressed).
    pub fn record(&mut self, limit: Option<Limit>, at: i64) {
        self.last_action = at;
        if let Some(limit) = limit {
            // Firings are rare next to events: one allocation each is cheap, and an
            // exact-size list keeps the gate at 24 bytes.
            let cut = at.saturating_sub(limit.per);
            let live = |t: &&i64| **t > cut;
            let mut fires = Vec::with_capacity(self.fires.iter().filter(live).count() + 1);
            fires.extend(self.fires.iter().filter(live));
            fires.push(at);
            self.fires = fires.into_boxed_slice();
        }
    }

    /// Whether the gate can no longer suppress anything at or after `now`.
    pub fn is_spent(&self, cooldown: Option<i64>, limit: Option<Limit>, now: i64) -> bool {
        let cooling = cooldown.is_some_and(|c| now < self.last_action.saturating_add(c));
        let limiting =
            limit.is_some_and(|l| self.fires.iter().any(|&t| t > now.saturating_sub(l.per)));
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
        assert_eq!(&*g.fires, &[150, 200]);
        assert_eq!(g.last_action, 200);
    }

    #[test]
    fn a_gate_fits_a_key_data_slot() {
        assert_eq!(std::mem::size_of::<Gate>(), 24);
    }
}
