//! Killing a run at random moments, for the crash tests: a small PRNG for the kill
//! times and a wait that gives up after a while. Included by the test binaries
//! that kill trigc as `#[path = "common/crash.rs"] mod crash;`.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// A small PRNG for the kill times (xorshift), seeded from the clock; the seed is
/// printed so a failure can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn from_clock() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        eprintln!("kill schedule seed {seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `child`'s exit status if it ends within `patience` (`None`: still running).
pub fn wait_up_to(child: &mut Child, patience: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited on") {
            return Some(status);
        }
        if started.elapsed() >= patience {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
