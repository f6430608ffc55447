//! Schedule instants: `every D`, `every day at HH:MM`, `cron "..."` (UTC).

use crate::ir::ScheduleIr;

/// The first instant of `schedule` strictly after `after` (ms since epoch, UTC).
pub fn next_after(schedule: &ScheduleIr, after: i64) -> Option<i64> {
    let _ = (schedule, after);
    None
}
