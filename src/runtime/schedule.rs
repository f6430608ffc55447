//! Schedule instants: `every D`, `every day at HH:MM`, `cron "..."` (UTC).
//!
//! `every D` fires at the multiples of `D` since the Unix epoch (so `every 1h` fires
//! on the hour whatever the input's first event); `every day at HH:MM` at that minute
//! of each UTC day; `cron` follows five-field POSIX/Vixie cron in UTC (minute
//! granularity; when both day-of-month and day-of-week are restricted, either
//! matching is enough), through the `croner` crate.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

use crate::ir::ScheduleIr;

const DAY_MS: i64 = 86_400_000;

/// A schedule ready to answer "when next": `cron` expressions parsed once.
#[derive(Clone, Debug)]
pub enum Schedule {
    Every(i64),
    DailyAt { minute_of_day: u32 },
    Cron(Box<Cron>),
}

impl Schedule {
    /// `None` when the schedule can never fire (`every 0s`, an invalid cron
    /// expression, a minute of day past 23:59); the checker rejects those.
    pub fn new(schedule: &ScheduleIr) -> Option<Schedule> {
        Some(match schedule {
            ScheduleIr::Every(d) if *d > 0 => Schedule::Every(*d),
            ScheduleIr::Every(_) => return None,
            ScheduleIr::DailyAt { minute_of_day } if *minute_of_day < 24 * 60 => {
                Schedule::DailyAt {
                    minute_of_day: *minute_of_day,
                }
            }
            ScheduleIr::DailyAt { .. } => return None,
            ScheduleIr::Cron(expr) => Schedule::Cron(Box::new(parse_cron(expr)?)),
        })
    }

    /// The first instant strictly after `after` (ms since epoch, UTC).
    pub fn next_after(&self, after: i64) -> Option<i64> {
        match self {
            Schedule::Every(d) => after.div_euclid(*d).checked_add(1)?.checked_mul(*d),
            Schedule::DailyAt { minute_of_day } => {
                let at = i64::from(*minute_of_day) * 60_000;
                let today = after
                    .div_euclid(DAY_MS)
                    .checked_mul(DAY_MS)?
                    .checked_add(at)?;
                if today > after {
                    Some(today)
                } else {
                    today.checked_add(DAY_MS)
                }
            }
            Schedule::Cron(cron) => {
                // Cron instants are whole minutes, so searching after the whole second
                // at or before `after` finds the first instant strictly after it.
                let start = DateTime::<Utc>::from_timestamp_millis(after.div_euclid(1000) * 1000)?;
                let next = cron
                    .find_next_occurrence(&start, false)
                    .ok()?
                    .timestamp_millis();
                if next > after { Some(next) } else { None }
            }
        }
    }
}

/// Parses a five-field cron expression (no seconds field).
pub fn parse_cron(expr: &str) -> Option<Cron> {
    let parser = CronParser::builder().seconds(Seconds::Disallowed).build();
    parser.parse(expr).ok()
}

/// The first instant of `schedule` strictly after `after` (ms since epoch, UTC).
/// Parses a cron expression on each call; the runtime may keep a [`Schedule`].
pub fn next_after(schedule: &ScheduleIr, after: i64) -> Option<i64> {
    Schedule::new(schedule)?.next_after(after)
}
