//! Event time (docs/LANGUAGE.md §7): the watermark and the re-ordering buffer.
//!
//! The watermark is the largest event time seen minus the allowed lateness. With
//! lateness 0 every event is processed as it arrives. With lateness `L > 0` an event
//! waits in the buffer until the watermark reaches its time, so events up to `L` out
//! of order are processed in time order (stable: equal times keep arrival order). An
//! event older than the watermark is late: the caller counts and reports it, then
//! drops or processes it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::interp::{HoldsSyms, Sym, Value};
use crate::ir::EventId;
use crate::runtime::Event;

/// An event held back by the lateness allowance. Owns its data (the decoder reuses
/// its `Event`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldEvent {
    pub kind: EventId,
    pub key: String,
    pub ts: i64,
    pub fields: Vec<Value>,
    pub line: u64,
    #[serde(default)]
    pub origin: u64,
}

impl HeldEvent {
    pub fn of(event: &Event) -> HeldEvent {
        HeldEvent {
            kind: event.kind,
            key: event.key.clone(),
            ts: event.ts,
            fields: event.fields.clone(),
            line: event.line,
            origin: event.origin,
        }
    }

    /// Copy into `out`, reusing its buffers.
    pub fn load_into(&self, out: &mut Event) {
        out.kind = self.kind;
        out.key.clear();
        out.key.push_str(&self.key);
        out.ts = self.ts;
        out.fields.clear();
        out.fields.extend_from_slice(&self.fields);
        out.line = self.line;
        out.origin = self.origin;
    }
}

/// The clock of a run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Clock {
    /// Largest event time seen.
    pub max_ts: Option<i64>,
    /// Timers due at or before it have fired; `None` before the first event.
    pub watermark: Option<i64>,
    /// Events at or after the watermark, by (time, arrival).
    pub held: VecDeque<HeldEvent>,
}

impl Clock {
    /// Whether an event at `ts` is late.
    pub fn is_late(&self, ts: i64) -> bool {
        self.watermark.is_some_and(|w| ts < w)
    }

    /// Hold `event` (not late) and move the maximum; returns the new watermark
    /// candidate `max_ts - lateness`.
    pub fn hold(&mut self, event: &Event, lateness: i64) -> i64 {
        // After every held event with time <= ts: stable for equal times.
        let at = self.held.partition_point(|h| h.ts <= event.ts);
        self.held.insert(at, HeldEvent::of(event));
        let max = self.max_ts.map_or(event.ts, |m| m.max(event.ts));
        self.max_ts = Some(max);
        max.saturating_sub(lateness)
    }

    /// Shows `mark` every symbol the held events carry.
    pub fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        for held in &self.held {
            held.fields.visit_syms(mark);
        }
    }

    /// Note an event processed at once (lateness 0).
    pub fn see(&mut self, ts: i64) {
        self.max_ts = Some(self.max_ts.map_or(ts, |m| m.max(ts)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ts: i64, line: u64) -> Event {
        Event {
            ts,
            line,
            ..Event::default()
        }
    }

    #[test]
    fn held_events_come_out_in_time_order_stably() {
        let mut clock = Clock::default();
        for (ts, line) in [(10, 1), (5, 2), (10, 3), (7, 4)] {
            clock.hold(&event(ts, line), 100);
        }
        let order: Vec<u64> = clock.held.iter().map(|h| h.line).collect();
        assert_eq!(order, [2, 4, 1, 3]);
        assert_eq!(clock.max_ts, Some(10));
    }
}
