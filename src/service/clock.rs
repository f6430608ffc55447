//! `--clock`: what moves time in a service. Under [`ClockKind::Wall`] the engine
//! advances the session to the wall clock (minus `--lateness`) whenever a timer or
//! schedule is due, so they fire on real time; under [`ClockKind::Event`] only
//! event times move it, exactly as for a file.
//!
//! The wall-clock policy for event times (documented in `trigc run --help`):
//! an event dated more than `--max-future` ahead of the wall clock, or more than
//! `--max-past` behind it, is rejected with a reason and counted (`ahead`,
//! `behind` in `--stats`, `trigc_events_rejected_total`). An event within those
//! bounds but older than the watermark (a timer already fired past its time) is
//! late: counted, and with `--late process` (the default under the wall clock)
//! processed at its own time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::driver::TimeBounds;

/// `--clock`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockKind {
    /// Timers fire on real time (the default for socket input).
    Wall,
    /// Only event times move time, as for a file (the default for files and stdin).
    Event,
}

/// The wall clock, ms since the epoch.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The monotonic instant at which the wall clock reads `at_ms`, from a reading of
/// both clocks now (`now` and `now_ms`). In the past: `now`.
pub fn instant_at(at_ms: i64, now: Instant, now_ms: i64) -> Instant {
    let ahead = u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0);
    // Capped at a day: the sleep is reset on every batch anyway.
    now + Duration::from_millis(ahead.min(86_400_000))
}

/// The event times accepted at wall time `now_ms`.
pub fn bounds(now_ms: i64, max_future: i64, max_past: i64) -> TimeBounds {
    TimeBounds {
        earliest: now_ms.saturating_sub(max_past),
        latest: now_ms.saturating_add(max_future),
        now: now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_in_the_past_is_now() {
        let now = Instant::now();
        assert_eq!(instant_at(10, now, 20), now);
        assert_eq!(instant_at(30, now, 20), now + Duration::from_millis(10));
        assert_eq!(
            instant_at(i64::MAX, now, i64::MIN),
            now + Duration::from_millis(86_400_000)
        );
    }
}
