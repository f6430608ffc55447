//! What the runtime hands out: one [`ActionRecord`] per action that ran, and
//! [`Notice`]s (late events, runtime errors) for the operator. The runtime knows no
//! IO and no wording: `io::sink` writes records as NDJSON and the CLI renders notices.

use crate::interp::{EvalErrorKind, Interner, Value};
use crate::ir::{ExprId, Program, TriggerId};

/// One action that ran (docs/LANGUAGE.md §8).
#[derive(Clone, Debug)]
pub struct ActionRecord<'a> {
    pub trigger: &'a str,
    /// 1-based step number.
    pub step: u32,
    /// Which action of the program this is: `trigger_id`, `step` and the action's
    /// 0-based index within its step. Every record of one action has the same
    /// trigger, step, action name and constant body member (url, template, emitted
    /// name, field or enrolled trigger), so a writer may format those once.
    pub trigger_id: TriggerId,
    pub action_index: u32,
    pub key: &'a str,
    /// Fire time, ms since epoch.
    pub at: i64,
    /// Stable id: the same input gives the same id (see `runtime::ids`).
    pub id: u128,
    pub body: ActionBody<'a>,
}

/// The action-specific part of a record.
#[derive(Clone, Debug)]
pub enum ActionBody<'a> {
    Webhook {
        url: &'a str,
        payload: Value,
    },
    Email {
        template: &'a str,
        to: Recipient<'a>,
        payload: Value,
    },
    Emit {
        name: &'a str,
        payload: Value,
    },
    Set {
        field: &'a str,
        value: Value,
    },
    Enroll {
        trigger_started: &'a str,
    },
}

/// An email's `to`: an evaluated value, or the customer key itself (the default when
/// the program has no `profile.email`), written as a string without interning it.
#[derive(Clone, Debug)]
pub enum Recipient<'a> {
    Value(Value),
    Key(&'a str),
}

impl ActionBody<'_> {
    /// The `action` member of the record.
    pub fn name(&self) -> &'static str {
        match self {
            ActionBody::Webhook { .. } => "webhook",
            ActionBody::Email { .. } => "email",
            ActionBody::Emit { .. } => "emit",
            ActionBody::Set { .. } => "set",
            ActionBody::Enroll { .. } => "enroll",
        }
    }
}

/// Something the operator should hear about; the run goes on.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// An event older than the watermark.
    Late {
        line: u64,
        ts: i64,
        watermark: i64,
        dropped: bool,
    },
    /// An expression failed (integer overflow, division by zero). The instance (or,
    /// for a start `where`, the start) is abandoned.
    EvalError {
        trigger: Option<TriggerId>,
        expr: ExprId,
        kind: EvalErrorKind,
        key: String,
        at: i64,
    },
    /// The stream's first integer times (epoch milliseconds) all lie before 2000:
    /// they are very likely epoch seconds. Said once, with the first such line.
    TimesLookLikeSeconds { line: u64 },
}

/// Where the runtime sends records and notices.
pub trait Output {
    /// `program` and `interner` are there to turn record values into text.
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner);
    fn notice(&mut self, notice: &Notice);
}
