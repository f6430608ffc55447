//! Stop requests: SIGTERM and SIGINT set a flag that `trigc run`'s read loop checks
//! between reads, so a stop flushes what was decided and prints the summary instead
//! of losing both. A second signal of the same kind ends the process at once (with
//! the same status), for a run that does not get to its next check.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Which signal asked the run to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    Term,
    Int,
}

impl StopSignal {
    /// The conventional exit status of a process stopped by this signal (128 + its
    /// number), which shells and supervisors read as "stopped by a signal".
    pub fn exit_status(self) -> u8 {
        match self {
            StopSignal::Term => 143,
            StopSignal::Int => 130,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Term => "SIGTERM",
            StopSignal::Int => "SIGINT",
        }
    }
}

/// The flags the signal handlers set.
#[derive(Debug, Default)]
pub struct StopRequests {
    term: Arc<AtomicBool>,
    int: Arc<AtomicBool>,
}

impl StopRequests {
    /// Install the handlers. Failing to install them is not fatal: the run then
    /// stops the default way (at once, without a summary).
    pub fn install() -> StopRequests {
        let stop = StopRequests::default();
        for (signal, flag, status) in [
            (SIGTERM, &stop.term, StopSignal::Term.exit_status()),
            (SIGINT, &stop.int, StopSignal::Int.exit_status()),
        ] {
            // Order matters: the conditional shutdown sees the flag as the first
            // signal left it, so only a second signal exits at once.
            let _ = signal_hook::flag::register_conditional_shutdown(
                signal,
                i32::from(status),
                Arc::clone(flag),
            );
            let _ = signal_hook::flag::register(signal, Arc::clone(flag));
        }
        stop
    }

    /// The signal that asked to stop, if one did.
    pub fn requested(&self) -> Option<StopSignal> {
        if self.term.load(Ordering::Relaxed) {
            Some(StopSignal::Term)
        } else if self.int.load(Ordering::Relaxed) {
            Some(StopSignal::Int)
        } else {
            None
        }
    }
}
