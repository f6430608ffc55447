//! A decoded input event, as the runtime consumes it.

use crate::interp::Value;
use crate::ir::EventId;

/// One decoded event. The decoder reuses one `Event` across lines (the buffers keep
/// their capacity), so decoding allocates nothing in the steady state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    pub kind: EventId,
    /// The routing key: the customer id, or the `keyed by` field's value.
    pub key: String,
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub ts: i64,
    /// Declared fields by `FieldIdx`; `Value::None` where absent or not materialised.
    pub fields: Vec<Value>,
    /// 1-based input line number, for messages.
    pub line: u64,
    /// What identifies this event among all inputs (the decoder: a hash of the line's
    /// bytes). It goes into the ids of the actions of instances it starts, so that
    /// ids do not depend on other customers' events (see `runtime::ids`).
    pub origin: u64,
}
