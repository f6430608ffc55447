//! Per-key derived data: declared states (reducers), aggregates (windows, last/first)
//! and the profile. Plain data that serialises.

use serde::{Deserialize, Serialize};

use crate::interp::{Env, EvalError, Interner, Value};
use crate::ir::{AggId, ExprId, Program, ProfileFieldId, StateId};
use crate::runtime::Event;

/// A dense per-process customer number (index into the runtime's customer table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerId(pub u32);

/// Everything the program derives for one key. Empty (and allocation-free) until
/// the key's first event that a state, aggregate or profile cares about.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KeyData {}

/// Evaluates a filter expression (reducer `where`, aggregate `where`) with the event
/// being ingested bound as `Binding::Current`. Supplied by the runtime, so this module
/// never needs to know the engine.
pub trait FilterEval {
    fn eval_filter(&mut self, expr: ExprId, event: &Event, data: &KeyData) -> Result<Value, EvalError>;
    fn interner(&mut self) -> &mut Interner;
}

/// Where ingest reports what it could not do (cap hits, filter errors).
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    pub cap_hits: u64,
    pub filter_errors: Vec<EvalError>,
}

impl KeyData {
    pub fn is_empty(&self) -> bool {
        true
    }

    /// Take `event` in: profile merge, reducers, aggregates. `index` is kept up to
    /// date for `indexed` states.
    pub fn ingest(
        &mut self,
        program: &Program,
        customer: CustomerId,
        event: &Event,
        index: &mut FanOutIndex,
        eval: &mut dyn FilterEval,
        report: &mut IngestReport,
    ) {
        let _ = (program, customer, event, index, eval, report);
    }

    pub fn state(&self, program: &Program, id: StateId) -> Value {
        let _ = (program, id);
        Value::None
    }

    /// The aggregate's value over the window ending at `now` (inclusive).
    pub fn aggregate(&self, program: &Program, id: AggId, now: i64) -> Value {
        let _ = (program, id, now);
        Value::None
    }

    pub fn profile(&self, id: ProfileFieldId) -> Value {
        let _ = id;
        Value::None
    }

    pub fn set_profile(&mut self, id: ProfileFieldId, value: Value) {
        let _ = (id, value);
    }

    /// Drop window entries that can no longer be read at or after `now`.
    pub fn expire(&mut self, program: &Program, now: i64) {
        let _ = (program, now);
    }
}

/// Inverted index for fan-out: per indexed state, member value → customers whose
/// set holds it. Kept up to date incrementally by [`KeyData::ingest`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FanOutIndex {}

impl FanOutIndex {
    /// Customers whose state `state` currently contains `value`, in ascending
    /// `CustomerId` order.
    pub fn customers(&self, state: StateId, value: &Value) -> Vec<CustomerId> {
        let _ = (state, value);
        Vec::new()
    }
}

#[expect(dead_code, reason = "the evaluation environment is wired in by the runtime")]
fn env_marker(_: &dyn Env) {}
