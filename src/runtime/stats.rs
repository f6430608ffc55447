//! Counters of one run, kept in the runtime's serialisable state so a run resumed
//! from a checkpoint reports the same totals as an uninterrupted one.

use serde::{Deserialize, Serialize};

/// What the runtime counted. The CLI adds the input-side counts (lines read,
/// rejected, ignored, blank).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    /// Events handed to the runtime (late ones included).
    pub events: u64,
    /// Events older than the watermark, and how many of them were dropped.
    pub late: u64,
    pub late_dropped: u64,
    /// Action records, by trigger id.
    pub actions: Vec<u64>,
    pub instances_started: u64,
    /// Steps whose guard held but whose actions a cooldown or limit suppressed.
    pub suppressed: u64,
    /// `reentry skip` starts ignored, and `reentry parallel` starts dropped at the
    /// per-key bound.
    pub skipped: u64,
    pub parallel_dropped: u64,
    /// Expressions that failed (overflow, division by zero), including reducer and
    /// aggregate filters.
    pub runtime_errors: u64,
    /// Set inserts or list entries dropped at the per-key caps.
    pub cap_hits: u64,
    /// `enroll` actions dropped past `ENROLL_BOUND` starts per customer and instant.
    #[serde(default)]
    pub enrolls_dropped: u64,
    /// Start patterns' triggers evaluated because the start index named them (or
    /// they are broad), and those it spared: triggers starting on the event's type
    /// that it did not name. Both 0 with the index off.
    #[serde(default)]
    pub index_candidates: u64,
    #[serde(default)]
    pub index_skipped: u64,
}

impl RunStats {
    pub fn total_actions(&self) -> u64 {
        self.actions.iter().sum()
    }
}
