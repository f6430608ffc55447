//! Schedule instants for `every`, `every day at` and `cron`.

use super::*;

fn at(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

#[test]
fn every_d_fires_on_multiples_of_d_since_the_epoch() {
    let every = |d, after| next_after(&ScheduleIr::Every(d), after);
    assert_eq!(
        every(15 * MIN, at("2026-01-05T10:07:00Z")),
        Some(at("2026-01-05T10:15:00Z"))
    );
    assert_eq!(
        every(15 * MIN, at("2026-01-05T10:15:00Z")),
        Some(at("2026-01-05T10:30:00Z")),
        "strictly after"
    );
    assert_eq!(
        every(HOUR, at("2026-01-31T23:59:59.999Z")),
        Some(at("2026-02-01T00:00:00Z"))
    );
    assert_eq!(every(7 * DAY, 0), Some(7 * DAY));
    assert_eq!(every(HOUR, -1), Some(0));
    assert_eq!(every(0, 0), None);
}

#[test]
fn daily_at_crosses_days_and_month_ends() {
    let daily = |m, after| next_after(&ScheduleIr::DailyAt { minute_of_day: m }, after);
    let two = 2 * 60;
    assert_eq!(
        daily(two, at("2026-01-05T01:59:59.999Z")),
        Some(at("2026-01-05T02:00:00Z"))
    );
    assert_eq!(
        daily(two, at("2026-01-05T02:00:00Z")),
        Some(at("2026-01-06T02:00:00Z"))
    );
    assert_eq!(
        daily(two, at("2026-01-31T03:00:00Z")),
        Some(at("2026-02-01T02:00:00Z"))
    );
    assert_eq!(
        daily(0, at("2028-02-28T12:00:00Z")),
        Some(at("2028-02-29T00:00:00Z")),
        "leap day"
    );
    assert_eq!(
        daily(23 * 60 + 59, at("2026-12-31T23:59:00Z")),
        Some(at("2027-01-01T23:59:00Z"))
    );
    assert_eq!(daily(24 * 60, 0), None);
}

#[test]
fn cron_is_five_field_utc() {
    let cron = |e: &str, after| next_after(&ScheduleIr::Cron(e.into()), after);
    assert_eq!(
        cron("0 2 * * *", at("2026-01-05T01:00:00Z")),
        Some(at("2026-01-05T02:00:00Z"))
    );
    assert_eq!(
        cron("0 2 * * *", at("2026-01-05T02:00:00Z")),
        Some(at("2026-01-06T02:00:00Z")),
        "strictly after"
    );
    assert_eq!(
        cron("0 2 * * *", at("2026-01-05T02:00:00.001Z")),
        Some(at("2026-01-06T02:00:00Z"))
    );
    assert_eq!(
        cron("0 2 * * *", at("2026-01-05T01:59:59.999Z")),
        Some(at("2026-01-05T02:00:00Z"))
    );
    assert_eq!(
        cron("*/15 * * * *", at("2026-01-31T23:50:00Z")),
        Some(at("2026-02-01T00:00:00Z"))
    );
    assert_eq!(
        cron("0 0 1 * *", at("2026-02-15T00:00:00Z")),
        Some(at("2026-03-01T00:00:00Z"))
    );
    assert_eq!(
        cron("0 0 L * *", at("2028-02-01T00:00:00Z")),
        Some(at("2028-02-29T00:00:00Z"))
    );
    assert_eq!(
        cron("30 9 * * 1", at("2026-01-05T09:30:00Z")),
        Some(at("2026-01-12T09:30:00Z")),
        "Mondays"
    );
    assert_eq!(
        cron("0 0 31 * *", at("2026-04-01T00:00:00Z")),
        Some(at("2026-05-31T00:00:00Z"))
    );
    assert_eq!(
        cron("0 0 * * *", at("2026-12-31T12:00:00Z")),
        Some(at("2027-01-01T00:00:00Z"))
    );
    assert_eq!(cron("0 2 * * * *", 0), None, "six fields are not Trig cron");
    assert_eq!(cron("not cron", 0), None);
    let parsed = Schedule::new(&ScheduleIr::Cron("0 2 * * *".into())).unwrap();
    assert_eq!(
        parsed.next_after(at("2026-01-05T02:00:00Z")),
        Some(at("2026-01-06T02:00:00Z"))
    );
}
