//! `trigc run --input tcp://|unix:|http:// --state DIR`: the service's
//! [`Accept`] step backed by the state directory. Every group of submissions the
//! engine takes from its queue is journaled in one write before any of its lines
//! is processed (and so before an HTTP request is answered `202`); after a group
//! has been processed, a checkpoint is written when `--checkpoint-every` says so
//! (the records flushed first, every journaled line processed, so the checkpoint
//! covers the whole journal and cuts it). At a restart the journal after the last
//! checkpoint is handed back to the engine ([`Accept::replay`]) before the sources
//! open.
//!
//! What is guaranteed (README, "Durable state"): a line is safe from kill -9 once
//! journaled; an HTTP `202` is sent after that; a raw socket line is journaled
//! when the engine takes it from its queue, but its producer is never told.

use std::sync::Arc;

use super::persist::Durable;
use crate::deliver::Outbox;
use crate::driver::Session;
use crate::durable::Entry;
use crate::runtime::carry::program_print;
use crate::service::{Accept, Submission};

/// The journaling accept step.
pub(super) struct Journaled {
    pub durable: Durable,
    /// The outbox a checkpoint holds (with `--deliver`).
    pub outbox: Option<Arc<Outbox>>,
    /// The journal found at the start, until the engine takes it.
    replay: Vec<Entry>,
}

impl Journaled {
    pub fn new(durable: Durable, outbox: Option<Arc<Outbox>>, replay: Vec<Entry>) -> Journaled {
        Journaled {
            durable,
            outbox,
            replay,
        }
    }

    /// The checkpoint of a service that stops (synced): what is left in the outbox
    /// stays in it, pending timers stay pending.
    pub fn last_checkpoint(&mut self, session: &mut Session<'_>) -> Result<(), String> {
        self.durable
            .checkpoint(session, self.outbox.as_deref(), (0, 0), true)
    }
}

impl Accept for Journaled {
    fn replay(&mut self) -> Vec<Entry> {
        // Lines the checkpoint does not cover: they count towards the next one.
        self.durable.cadence.events += self.replay.iter().map(Entry::len).sum::<u64>();
        std::mem::take(&mut self.replay)
    }

    fn accept(&mut self, group: &[Submission], wall_ms: Option<i64>) -> Result<(), String> {
        let batches: Vec<Vec<&[u8]>> = group
            .iter()
            .map(|s| s.line_bytes().map(|(_, bytes)| &bytes[..]).collect())
            .collect();
        let lines: u64 = batches.iter().map(|b| b.len() as u64).sum();
        if lines == 0 {
            return Ok(());
        }
        if let Err(e) = self.durable.dir.journal(wall_ms, &batches) {
            eprintln!("trigc: {e}");
            return Err(format!("not journaled ({e})"));
        }
        self.durable.cadence.events += lines;
        Ok(())
    }

    /// The durable state learns the new program, and a checkpoint is written at
    /// once: it covers every line the old program processed, so a crash before
    /// the next one does not replay those lines through the new rules (a restart
    /// with the new rules resumes it as it is, without a carry-over).
    fn rules_changed(&mut self, session: &mut Session<'_>) {
        self.durable.print = program_print(session.runtime.program());
        if let Err(e) = self
            .durable
            .checkpoint(session, self.outbox.as_deref(), (0, 0), false)
        {
            eprintln!(
                "trigc: the checkpoint after the reload failed ({e}); the journal keeps what it covers"
            );
        }
    }

    fn processed(&mut self, session: &mut Session<'_>) {
        if !self.durable.due() {
            return;
        }
        if let Err(e) = self
            .durable
            .checkpoint(session, self.outbox.as_deref(), (0, 0), false)
        {
            // The lines since the last checkpoint are still in the journal: a
            // restart loses nothing, it only replays more.
            eprintln!("trigc: a checkpoint failed ({e}); the journal keeps what it covers");
        }
    }
}
