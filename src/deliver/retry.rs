//! When to try a delivery again: which outcomes are retried, full-jitter exponential
//! backoff (a wait drawn uniformly from `0..=min(cap, base·2^(n-1))` after the n-th
//! failed attempt), and `Retry-After` (seconds or an HTTP-date, RFC 9110 §10.2.3).

use std::time::{Duration, SystemTime};

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// The backoff schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub base: Duration,
    /// No wait is longer (`Retry-After` included).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

/// The longest `Retry-After` honoured when it asks for more than the cap.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

impl Backoff {
    /// The ceiling of the wait after `failures` failed attempts (at least 1).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doubled = 1u32
            .checked_shl(failures.saturating_sub(1).min(31))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(doubled).min(self.cap)
    }

    /// A full-jitter wait after `failures` failed attempts; a `Retry-After` the
    /// server gave is honoured instead when it asks for longer (up to
    /// [`RETRY_AFTER_MAX`], or the cap when that is longer).
    pub fn wait(&self, failures: u32, retry_after: Option<Duration>, rng: &mut Jitter) -> Duration {
        let ceiling = self.ceiling(failures);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let drawn = Duration::from_nanos(rng.below(nanos.saturating_add(1)));
        match retry_after {
            Some(asked) => drawn.max(asked.min(RETRY_AFTER_MAX.max(self.cap))),
            None => drawn,
        }
    }
}

/// The random source of the jitter (seeded from the clock, the process and a salt:
/// waits of different attempts and processes should differ).
pub struct Jitter(Pcg64Mcg);

impl Jitter {
    pub fn from_clock(salt: u64) -> Jitter {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let seed = nanos ^ u64::from(std::process::id()).rotate_left(32) ^ salt.rotate_left(17);
        Jitter(Pcg64Mcg::seed_from_u64(seed))
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        self.0.next_u64() % n
    }
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// Worth another attempt (5xx, 408, 429, a timeout, a connection error), with
    /// the server's `Retry-After` if it gave one.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// 410: the endpoint is gone; nothing more is sent to it.
    Gone,
    /// Any other status (other 4xx, a redirect, which is not followed): no retry.
    Refused { error: String },
}

/// The verdict on an HTTP status (with its `Retry-After` header, if any).
pub fn judge(status: u16, retry_after: Option<&str>, now: SystemTime) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Gone,
        408 | 429 | 500..=599 => Verdict::Retry {
            error: format!("HTTP {status}"),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
        },
        300..=399 => Verdict::Refused {
            error: format!("HTTP {status} (redirects are not followed)"),
        },
        _ => Verdict::Refused {
            error: format!("HTTP {status}"),
        },
    }
}

/// A `Retry-After` value: delay seconds, or an HTTP-date (a past date: no wait).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_cap_and_stay_below_their_ceiling() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(4), Duration::from_secs(8));
        assert_eq!(b.ceiling(30), Duration::from_secs(300));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(300));
        let mut rng = Jitter::from_clock(7);
        for n in 1..20 {
            assert!(b.wait(n, None, &mut rng) <= b.ceiling(n));
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_bound() {
        let b = Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(10),
        };
        let mut rng = Jitter::from_clock(7);
        let asked = Some(Duration::from_secs(2));
        assert_eq!(b.wait(1, asked, &mut rng), Duration::from_secs(2));
        let huge = Some(Duration::from_secs(1 << 40));
        assert_eq!(b.wait(1, huge, &mut rng), RETRY_AFTER_MAX);
    }

    #[test]
    fn statuses_and_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(judge(204, None, now), Verdict::Delivered);
        assert_eq!(judge(410, None, now), Verdict::Gone);
        assert!(matches!(judge(503, None, now), Verdict::Retry { .. }));
        assert!(matches!(judge(408, None, now), Verdict::Retry { .. }));
        assert!(matches!(judge(404, None, now), Verdict::Refused { .. }));
        assert!(matches!(judge(301, None, now), Verdict::Refused { .. }));
        assert_eq!(
            judge(429, Some("7"), now),
            Verdict::Retry {
                error: "HTTP 429".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
