//! The typed intermediate representation: the single input of both engines (the
//! reference interpreter and the Cranelift JIT) and of the runtime.
//!
//! A [`Program`] is flat tables indexed by newtype ids. Expressions form one arena,
//! [`Program::exprs`], with their types and source spans kept beside it in
//! [`Program::expr_types`] and [`Program::expr_spans`], so runtime and JIT errors can
//! point at source. A `Program` is only ever built from a program that checked without
//! errors: there is no error type or placeholder in here.
//!
//! Invariants (checked by [`verify`]):
//! - every id stored anywhere indexes its table;
//! - operands of arithmetic and comparison operators have the same type, except
//!   `time ± duration`, `time - time` and `duration * int|float`; lowering inserts
//!   [`Expr::ToFloat`] where `int` meets `float`;
//! - an expression that reads [`Binding::Current`] only occurs in a pattern filter, a
//!   reducer or an aggregate filter; [`Binding::Start`] only in a trigger that starts
//!   on events.

pub mod ids;
pub mod print;
pub mod verify;

pub use ids::*;

use serde::{Deserialize, Serialize};

use crate::source::Span;

/// A type of the Trig language.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ty {
    Bool,
    Int,
    Float,
    Str,
    Time,
    Duration,
    Set(Box<Ty>),
    List(Box<Ty>),
    Optional(Box<Ty>),
    /// A whole stored event, from `last(E)` / `first(E)`; always behind `Optional`.
    Event(EventId),
    /// A payload object `{ k: v, ... }`.
    Object,
}

impl Ty {
    /// The type with one level of `Optional` removed.
    pub fn strip_optional(&self) -> &Ty {
        match self {
            Ty::Optional(t) => t,
            t => t,
        }
    }

    pub fn is_optional(&self) -> bool {
        matches!(self, Ty::Optional(_))
    }

    /// `T` → `T?`; `T?` stays `T?`.
    pub fn optional(self) -> Ty {
        match self {
            Ty::Optional(_) => self,
            t => Ty::Optional(Box::new(t)),
        }
    }
}

/// The scalar types: what per-key state stores as one `i64` (`runtime::member`)
/// and the JIT holds unboxed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarKind {
    Bool,
    Int,
    Float,
    Str,
    Time,
    Duration,
}

impl ScalarKind {
    /// The kind of a scalar type (`T?` counts as `T`); `None` for collections,
    /// objects and stored events.
    pub fn of(ty: &Ty) -> Option<ScalarKind> {
        Some(match ty.strip_optional() {
            Ty::Bool => ScalarKind::Bool,
            Ty::Int => ScalarKind::Int,
            Ty::Float => ScalarKind::Float,
            Ty::Str => ScalarKind::Str,
            Ty::Time => ScalarKind::Time,
            Ty::Duration => ScalarKind::Duration,
            _ => return None,
        })
    }

    /// The element kind of `set<T>` / `list<T>`.
    pub fn element_of(ty: &Ty) -> Option<ScalarKind> {
        match ty.strip_optional() {
            Ty::Set(t) | Ty::List(t) => ScalarKind::of(t),
            _ => None,
        }
    }
}

/// The whole compiled program.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Program {
    pub schema: WireSchema,
    pub events: Vec<EventDef>,
    pub states: Vec<StateDef>,
    pub profile: Vec<ProfileField>,
    pub aggregates: Vec<AggDef>,
    pub triggers: Vec<TriggerDef>,
    pub exprs: Vec<Expr>,
    pub expr_types: Vec<Ty>,
    pub expr_spans: Vec<Span>,
    /// How per-key state is laid out, derived from the tables above by the
    /// compiler's layout pass after lowering. The runtime reads only this: a
    /// hand-built program must have the pass run on it (see [`Layout::covers`]).
    #[serde(default)]
    pub layout: Layout,
}

/// Per-key storage decisions the compiler takes once for the whole program, so the
/// runtime answers "where are this aggregate's entries" and "what does this event
/// feed" by an index instead of a scan of every aggregate and reducer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Per aggregate (by [`AggId`]): where its entries live.
    pub storage: Vec<AggStorage>,
    /// Per event type (by [`EventId`]): the reducer rules and aggregates it feeds,
    /// states by id and their rules in source order, then aggregates by id.
    pub feeds: Vec<Vec<Feed>>,
}

impl Layout {
    /// Whether this layout was derived for `program`'s tables (a hand-built program
    /// leaves it empty until the layout pass runs).
    pub fn covers(&self, program_aggregates: usize, program_events: usize) -> bool {
        self.storage.len() == program_aggregates && self.feeds.len() == program_events
    }
}

/// Where one aggregate's per-key entries live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggStorage {
    /// In its own slot.
    Own,
    /// A windowed `count` that counts the entries of another windowed `count`/`sum`
    /// over the same event and filter with a window at least as long: it stores
    /// nothing itself.
    ReadsFrom(AggId),
    /// A windowed `sum` whose entries windowed `count`s read: it keeps an entry for
    /// every matching event, valued 0 when the field is absent.
    Hosts,
    /// A `last(E)` the program reads only for its time (`last(E).ts`, as in
    /// `now - last(VISIT).ts >= 30d`): it keeps the newest time, not the event.
    TimeOnly,
}

/// One thing an event of some type feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Feed {
    /// Rule number `rule` (source order) of state `state`.
    Rule { state: StateId, rule: u32 },
    /// An aggregate. A [`AggStorage::ReadsFrom`] one is listed only when it has a
    /// filter: the filter is still evaluated (its errors are reported) though the
    /// host takes the event in.
    Agg(AggId),
}

impl Program {
    pub fn event(&self, id: EventId) -> &EventDef {
        &self.events[id.index()]
    }
    pub fn state(&self, id: StateId) -> &StateDef {
        &self.states[id.index()]
    }
    pub fn aggregate(&self, id: AggId) -> &AggDef {
        &self.aggregates[id.index()]
    }
    pub fn trigger(&self, id: TriggerId) -> &TriggerDef {
        &self.triggers[id.index()]
    }
    pub fn expr(&self, id: ExprId) -> &Expr {
        &self.exprs[id.index()]
    }

    /// Per aggregate: whether it is a `last` that every expression reading it reads
    /// only for its time (`last(E).ts`), so that its time is all it needs to keep.
    /// One pass over the expressions.
    pub fn aggregates_read_only_for_time(&self) -> Vec<bool> {
        // Per aggregate: (reads, reads as the base of `.ts`).
        let mut reads = vec![(0usize, 0usize); self.aggregates.len()];
        for expr in &self.exprs {
            match expr {
                Expr::Agg(a) => {
                    if let Some(r) = reads.get_mut(a.index()) {
                        r.0 += 1;
                    }
                }
                Expr::StoredEventTime { base } => {
                    if let Some(Expr::Agg(a)) = self.exprs.get(base.index())
                        && let Some(r) = reads.get_mut(a.index())
                    {
                        r.1 += 1;
                    }
                }
                _ => {}
            }
        }
        self.aggregates
            .iter()
            .zip(reads)
            .map(|(agg, (all, time))| agg.kind == AggKind::Last && all > 0 && all == time)
            .collect()
    }
    pub fn ty(&self, id: ExprId) -> &Ty {
        &self.expr_types[id.index()]
    }
    /// The two sides of `id` if it is an `and`.
    pub fn and_sides(&self, id: ExprId) -> Option<(ExprId, ExprId)> {
        match self.exprs.get(id.index())? {
            Expr::Binary {
                op: BinaryOp::And,
                lhs,
                rhs,
            } => Some((*lhs, *rhs)),
            _ => None,
        }
    }

    pub fn span(&self, id: ExprId) -> Span {
        self.expr_spans[id.index()]
    }
    pub fn event_by_name(&self, name: &str) -> Option<EventId> {
        self.events
            .iter()
            .position(|e| e.name == name)
            .map(EventId::from_index)
    }
    pub fn trigger_by_name(&self, name: &str) -> Option<TriggerId> {
        self.triggers
            .iter()
            .position(|t| t.name == name)
            .map(TriggerId::from_index)
    }
}

/// Which wire fields hold the envelope (`schema { key user type type time ts }`).
/// Each is a wire path: a member name, or dotted names into nested objects
/// (`context.traits.email`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSchema {
    pub key: String,
    pub type_: String,
    pub time: String,
    /// `key userId ?? anonymousId`: the paths tried after `key`, in order; the first
    /// present (not `null`) one holds the key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_alternatives: Vec<String>,
    /// How the time member is written.
    #[serde(default, skip_serializing_if = "TimeFormat::is_default")]
    pub time_format: TimeFormat,
}

impl Default for WireSchema {
    fn default() -> Self {
        WireSchema {
            key: "user".into(),
            type_: "type".into(),
            time: "ts".into(),
            key_alternatives: Vec::new(),
            time_format: TimeFormat::Default,
        }
    }
}

impl WireSchema {
    /// Whether decoding needs more than flat top-level members: nested paths, key
    /// alternatives or a time format other than the default.
    pub fn is_extended(&self) -> bool {
        !self.key_alternatives.is_empty()
            || !self.time_format.is_default()
            || [&self.key, &self.type_, &self.time]
                .iter()
                .any(|p| p.contains('.'))
    }
}

/// How the schema's time member is written (`time ts format "..."`, `epoch UNIT`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeFormat {
    /// An RFC 3339 string or an integer of epoch milliseconds.
    #[default]
    Default,
    /// `format "%Y-%m-%d %H:%M:%S UTC" [in "Europe/Berlin"]`: a chrono strftime
    /// string (checked to be valid); a time without an offset is in `zone` (an IANA
    /// name, checked to be known), else UTC.
    Strftime {
        format: String,
        zone: Option<String>,
    },
    /// `epoch seconds`: an integer of seconds since the Unix epoch.
    EpochSeconds,
    /// `epoch millis`
    EpochMillis,
    /// `epoch micros`
    EpochMicros,
}

impl TimeFormat {
    pub fn is_default(&self) -> bool {
        *self == TimeFormat::Default
    }
}

/// A wire value of the type member meaning an event (`event A from "a", 2`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WireValue {
    Str(String),
    Int(i64),
}

impl std::fmt::Display for WireValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireValue::Str(s) => write!(f, "{s:?}"),
            WireValue::Int(n) => write!(f, "{n}"),
        }
    }
}

/// `event NAME [keyed by F] { ... }`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventDef {
    pub name: String,
    pub span: Span,
    /// `profile event`: its present fields merge into the customer's profile.
    pub profile: bool,
    /// `keyed by F`: the event is routed by this (string) field instead of the
    /// customer key; the wire line then needs `F` and may lack the key field.
    pub keyed_by: Option<FieldIdx>,
    /// `from "Product Added", 2`: the type member's values meaning this event; empty
    /// when it is the event's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wire: Vec<WireValue>,
    pub fields: Vec<FieldDef>,
    /// For a profile event, the profile attribute each field merges into
    /// (same length as `fields`); empty otherwise.
    pub profile_fields: Vec<ProfileFieldId>,
}

impl EventDef {
    /// Whether decoding this event needs nested paths or non-string type values.
    pub fn is_extended(&self) -> bool {
        self.fields.iter().any(|f| f.path.is_some())
            || self.wire.iter().any(|w| matches!(w, WireValue::Int(_)))
    }
    pub fn field(&self, idx: FieldIdx) -> &FieldDef {
        &self.fields[idx.index()]
    }
    pub fn field_by_name(&self, name: &str) -> Option<FieldIdx> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .map(FieldIdx::from_index)
    }
}

/// One declared field. `ty` is the declared type with any `?` removed; `optional`
/// says whether the wire line may omit it (or give `null`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: String,
    pub span: Span,
    pub ty: Ty,
    pub optional: bool,
    /// Whether any expression, payload or index reads this field. The decoder may
    /// skip materialising unread fields (it still validates their type).
    pub used: bool,
    /// `from properties.product_id`: the wire path (dotted; one `[]` in a `list<T>`
    /// field gathers a member of every element); `None` is `name` at the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A customer attribute: from `profile event` fields and `set profile.x = ...`.
/// Reading one gives `Optional(ty)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProfileField {
    pub name: String,
    pub ty: Ty,
}

/// `state NAME: TYPE { ... }`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateDef {
    pub name: String,
    pub span: Span,
    pub ty: Ty,
    pub rules: Vec<ReducerRule>,
    /// Whether a `for each key where NAME contains ...` reads it: the runtime then
    /// keeps an inverted index value → keys.
    pub indexed: bool,
}

/// `EVENT [where X] -> op(arg)`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReducerRule {
    pub event: EventId,
    /// Reads [`Binding::Current`] (the reduced event).
    pub filter: Option<ExprId>,
    pub op: ReducerOp,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ReducerOp {
    /// set: `insert(x)`
    Insert(ExprId),
    /// set: `remove(x)` (removing an absent member does nothing)
    Remove(ExprId),
    /// set / list / scalar: `clear()` back to the initial value
    Clear,
    /// scalar: `set(x)`
    Set(ExprId),
    /// int / float / duration: `add(x)`
    Add(ExprId),
    /// list: `push(x)`, keeping the newest `max` entries
    Push { value: ExprId, max: u32 },
}

/// What an aggregate computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AggKind {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Exists,
    Distinct,
    Last,
    First,
}

/// A per-key aggregate the rules read; users never declare these, the checker derives
/// one per distinct `(kind, event, field, filter, within)` it sees.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggDef {
    pub kind: AggKind,
    pub event: EventId,
    /// The aggregated field (`sum(E.f ...)`); `None` for count/exists/last/first.
    pub field: Option<FieldIdx>,
    /// Reads [`Binding::Current`] (the aggregated event) only: it is evaluated once,
    /// when the event arrives.
    pub filter: Option<ExprId>,
    /// `within D` in milliseconds; `None` is all time.
    pub within: Option<i64>,
    /// Type of the aggregate's value (`Int` for count, `Optional(Float)` for avg, ...).
    pub ty: Ty,
    pub span: Span,
}

/// How a start treats an already-active instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reentry {
    Restart,
    Skip,
    Parallel,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TriggerDef {
    pub name: String,
    pub description: Option<String>,
    pub span: Span,
    /// 1..=100, default 50.
    pub priority: u8,
    pub cooldown: Option<i64>,
    pub limit: Option<Limit>,
    pub reentry: Reentry,
    pub exit_on: Vec<PatternIr>,
    pub start: StartIr,
    pub fan_out: Option<FanOutIr>,
    pub steps: Vec<StepIr>,
}

/// `limit N per D`
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Limit {
    pub count: u32,
    pub per: i64,
}

/// `EVENT [where X]`; `filter` reads [`Binding::Current`] for the matched event and
/// [`Binding::Start`] for the instance's starting event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PatternIr {
    pub event: EventId,
    pub filter: Option<ExprId>,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum StartIr {
    On(Vec<PatternIr>),
    Enroll,
    Schedule(ScheduleIr),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ScheduleIr {
    /// `every D`: instants that are multiples of D since the Unix epoch.
    Every(i64),
    /// `every day at HH:MM` UTC.
    DailyAt { minute_of_day: u32 },
    /// `cron "..."` UTC, validated by the checker.
    Cron(String),
}

/// `for each key where STATE contains VALUE`: `value` reads the starting event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FanOutIr {
    pub state: StateId,
    pub value: ExprId,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepIr {
    pub span: Span,
    /// `wait D` in milliseconds; 0 when there is no wait (due at once).
    pub wait: i64,
    pub unless: Vec<PatternIr>,
    /// `Bool` or `Optional(Bool)`; absent is true, `none` is false.
    pub guard: Option<ExprId>,
    pub actions: Vec<ActionIr>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ActionIr {
    pub span: Span,
    pub kind: ActionKind,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ActionKind {
    Webhook {
        url: String,
        payload: Payload,
    },
    Email {
        template: String,
        to: Option<ExprId>,
        payload: Payload,
    },
    Emit {
        name: String,
        payload: Payload,
    },
    SetProfile {
        field: ProfileFieldId,
        value: ExprId,
    },
    Enroll {
        trigger: TriggerId,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Payload {
    /// `with { ... }`: an [`Expr::Object`].
    Object(ExprId),
    /// No `with`: the starting event's present fields, in declaration order
    /// (`{}` for triggers that start on a schedule or on enroll).
    StartEvent,
}

/// Which event a field read refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Binding {
    /// The event being matched or reduced right now (in `where` and reducers).
    Current,
    /// The instance's starting event (bare names in steps, start aliases anywhere).
    Start,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Const {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Duration(i64),
    Time(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    /// `not x` (Bool)
    Not,
    /// `-x` (Int, Float, Duration)
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    /// Kleene `or` / `and`: `none` is unknown.
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// `x in y` (y: set, list or string).
    In,
    /// `x ?? y`
    Coalesce,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Builtin {
    /// `len(x)`: set, list or string (characters).
    Len,
    /// `x.empty`
    Empty,
    /// `lower(s)`
    Lower,
    /// `upper(s)`
    Upper,
    /// `starts_with(s, p)`
    StartsWith,
    /// `ends_with(s, p)`
    EndsWith,
    /// `contains(x, y)`: set/list membership or substring.
    Contains,
    /// `abs(n)`
    Abs,
}

/// One IR expression. Operands are ids into the same arena. Each variant's doc shows
/// the Trig it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// `42`, `"x"`, `30m`, `true`
    Const(Const),
    /// `[a, b]`
    List(Vec<ExprId>),
    /// `{ k: v, ... }` (keys in source order)
    Object(Vec<(String, ExprId)>),
    /// `product`, `sent.campaign`: a field of a bound event. `choices` lists, per
    /// possible event type of that binding, where the field is; when the bound event
    /// is of a type not listed (or the field is absent on the wire) the value is none.
    Field {
        binding: Binding,
        choices: Vec<(EventId, FieldIdx)>,
    },
    /// `ts` (or `alias.ts`): the bound event's time. With `of`, only when the bound
    /// event is of that type, else none: an alias on one of several start
    /// alternatives (`on A as a or B`) is unbound when `B` started the instance.
    EventTime {
        binding: Binding,
        of: Option<EventId>,
    },
    /// `key`: the customer id.
    Key,
    /// `now`: the current event time, or the fire time in a step.
    Now,
    /// `cart`: a state's current value.
    State(StateId),
    /// `profile.tier` (always optional).
    Profile(ProfileFieldId),
    /// `count(...)`, `sum(...)`, `last(E)`: an aggregate's value at `now`.
    Agg(AggId),
    /// `last(E).f`: a field of a stored event (`base` has type `Optional(Event(E))`).
    EventField {
        base: ExprId,
        event: EventId,
        field: FieldIdx,
    },
    /// `last(E).ts`
    StoredEventTime {
        base: ExprId,
    },
    /// An `int` operand promoted to `float`.
    ToFloat(ExprId),
    Unary {
        op: UnaryOp,
        operand: ExprId,
    },
    Binary {
        op: BinaryOp,
        lhs: ExprId,
        rhs: ExprId,
    },
    Call {
        func: Builtin,
        args: Vec<ExprId>,
    },
}

impl Expr {
    /// The expressions this one reads directly, in source order.
    pub fn operands(&self) -> Vec<ExprId> {
        match self {
            Expr::List(items) | Expr::Call { args: items, .. } => items.clone(),
            Expr::Object(entries) => entries.iter().map(|(_, e)| *e).collect(),
            Expr::EventField { base, .. }
            | Expr::StoredEventTime { base }
            | Expr::ToFloat(base) => {
                vec![*base]
            }
            Expr::Unary { operand, .. } => vec![*operand],
            Expr::Binary { lhs, rhs, .. } => vec![*lhs, *rhs],
            Expr::Const(_)
            | Expr::Field { .. }
            | Expr::EventTime { .. }
            | Expr::Key
            | Expr::Now
            | Expr::State(_)
            | Expr::Profile(_)
            | Expr::Agg(_) => Vec::new(),
        }
    }
}
