//! Stray timestamps: one event dated far ahead of the stream (a producer's clock set
//! to 2027, a `9999-12-31` placeholder) would move the watermark there, and every
//! later event would be dropped as late while timers up to that date fire. A real
//! jump in time looks the same on arrival (a replay of a quiet month, a backfill),
//! so the guard waits for the events after it to tell the two apart.
//!
//! The policy (docs/LANGUAGE-GUIDE.md, "Input and output"): an event dated more than
//! `--max-jump` (default 1 day) after the latest event time accepted so far is held
//! as a suspect instead of processed. A later event dated no earlier than
//! `--max-jump` before the suspect confirms it: the suspect is then processed, just
//! before the confirming event, so a real jump gives exactly the output it always
//! gave. A later event of another customer dated before that refutes it; after
//! [`REFUTATIONS`] refutations the suspect is rejected with its line number and
//! never processed. At the end of the input, a suspect nothing refuted is processed
//! (a stream may end with a jump); one that was refuted is rejected.
//!
//! Suspects are kept as their input line (not decoded), so they hold no interned
//! strings and serialise into a checkpoint as they are. At most [`MAX_SUSPECTS`] are
//! held; past that the oldest is rejected.

use serde::{Deserialize, Serialize};

/// Refutations by other customers' events after which a suspect is rejected.
pub const REFUTATIONS: u32 = 3;

/// Suspects held at once.
pub const MAX_SUSPECTS: usize = 64;

/// The default `--max-jump`: 1 day.
pub const DEFAULT_MAX_JUMP: i64 = 86_400_000;

/// One held event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspect {
    /// Its input line number and bytes, decoded again if it is confirmed.
    pub line: u64,
    pub bytes: Vec<u8>,
    /// The origin of its events when `bytes` is not the input as written (a CSV
    /// row held as its JSON line; see `Session::line_with_origin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<u64>,
    pub key: String,
    pub ts: i64,
    /// Later events of other customers dated well before it.
    pub refuted: u32,
}

/// The suspects held, in arrival order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrayGuard {
    suspects: Vec<Suspect>,
}

/// What an event (or the end of input) decided about the suspects.
#[derive(Debug, Default)]
pub struct Verdicts {
    /// To process now, in this order, before the event.
    pub confirmed: Vec<Suspect>,
    /// Rejected for good.
    pub refuted: Vec<Suspect>,
}

impl StrayGuard {
    pub fn is_empty(&self) -> bool {
        self.suspects.is_empty()
    }

    /// Whether the guard (from a checkpoint) is one a run can leave: at most
    /// [`MAX_SUSPECTS`], none refuted more than [`REFUTATIONS`] times.
    pub fn check(&self) -> Result<(), String> {
        if self.suspects.len() > MAX_SUSPECTS {
            return Err(format!(
                "{} stray suspects held, more than {MAX_SUSPECTS}",
                self.suspects.len()
            ));
        }
        if let Some(s) = self.suspects.iter().find(|s| s.refuted > REFUTATIONS) {
            return Err(format!(
                "the stray suspect of line {} is refuted {} times, more than {REFUTATIONS}",
                s.line, s.refuted
            ));
        }
        Ok(())
    }

    /// Weigh the held suspects against an event of `key` at `ts`.
    pub fn weigh(&mut self, key: &str, ts: i64, max_jump: i64) -> Verdicts {
        let mut verdicts = Verdicts::default();
        for mut suspect in std::mem::take(&mut self.suspects) {
            if ts >= suspect.ts.saturating_sub(max_jump) {
                verdicts.confirmed.push(suspect);
                continue;
            }
            if key != suspect.key {
                suspect.refuted += 1;
            }
            if suspect.refuted >= REFUTATIONS {
                verdicts.refuted.push(suspect);
            } else {
                self.suspects.push(suspect);
            }
        }
        verdicts
    }

    /// Hold `suspect`; the oldest suspect when the guard was full (to reject).
    pub fn hold(&mut self, suspect: Suspect) -> Option<Suspect> {
        let evicted = (self.suspects.len() >= MAX_SUSPECTS).then(|| self.suspects.remove(0));
        self.suspects.push(suspect);
        evicted
    }

    /// End of input: suspects nothing refuted are confirmed, the others rejected.
    pub fn finish(&mut self) -> Verdicts {
        let (confirmed, refuted) = std::mem::take(&mut self.suspects)
            .into_iter()
            .partition(|s| s.refuted == 0);
        Verdicts { confirmed, refuted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn suspect(key: &str, ts: i64) -> Suspect {
        Suspect {
            line: 1,
            bytes: Vec::new(),
            origin: None,
            key: key.into(),
            ts,
            refuted: 0,
        }
    }

    #[test]
    fn a_jump_is_told_from_a_stray_by_what_follows() {
        let jump = DEFAULT_MAX_JUMP;
        // Confirmed by the next event near its time, whoever sends it.
        let mut guard = StrayGuard::default();
        assert_eq!(guard.hold(suspect("a", 1000 * HOUR)), None);
        let v = guard.weigh("a", 1000 * HOUR - 2 * HOUR, jump);
        assert_eq!(v.confirmed.len(), 1);
        assert!(guard.is_empty());
        // Refuted three times by others' events at the old time: rejected.
        guard.hold(suspect("evil", 1000 * HOUR));
        for (n, key) in ["a", "evil", "b", "c"].into_iter().enumerate() {
            let v = guard.weigh(key, HOUR, jump);
            assert!(v.confirmed.is_empty());
            // The suspect's own key does not count against it.
            assert_eq!(v.refuted.len(), usize::from(n == 3), "after {key}");
        }
        assert!(guard.is_empty());
        // At the end: unrefuted suspects stand, refuted ones go.
        guard.hold(suspect("x", 1000 * HOUR));
        guard.hold(suspect("y", 2000 * HOUR));
        let v = guard.weigh("z", 1500 * HOUR, jump);
        assert_eq!(v.confirmed.len(), 1);
        let v = guard.finish();
        assert_eq!((v.confirmed.len(), v.refuted.len()), (0, 1));
    }

    #[test]
    fn the_guard_holds_a_bounded_number_of_suspects() {
        let mut guard = StrayGuard::default();
        for i in 0..MAX_SUSPECTS as i64 {
            assert_eq!(guard.hold(suspect("k", i)), None);
        }
        let evicted = guard.hold(suspect("k", 999));
        assert_eq!(evicted.map(|s| s.ts), Some(0));
    }
}
