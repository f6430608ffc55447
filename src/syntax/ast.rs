//! The untyped syntax tree, exactly as written. Every node carries a byte [`Span`].
//! Expressions live in a flat arena ([`Ast::exprs`]) indexed by [`ExprId`], so deep
//! expressions never make deep Rust recursion when the tree is dropped.
//!
//! Nothing here is resolved or typed: that is `check`'s job, and it produces a
//! different type (`ir::Program`), never an annotated copy of this one.

use serde::Serialize;

use super::name::Name;
use crate::source::Span;

/// Index of an expression in [`Ast::exprs`]; prints as `x12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ExprId(pub u32);

/// A whole program: the declarations of every file, in file order then source order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Ast {
    pub decls: Vec<Decl>,
    pub exprs: Vec<Expr>,
}

impl Ast {
    pub fn expr(&self, id: ExprId) -> &Expr {
        &self.exprs[id.0 as usize]
    }

    pub fn push_expr(&mut self, kind: ExprKind, span: Span) -> ExprId {
        self.exprs.push(Expr { kind, span });
        ExprId(u32::try_from(self.exprs.len() - 1).unwrap_or(u32::MAX))
    }
}

/// An identifier with where it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Ident {
    pub name: Name,
    pub span: Span,
}

/// A string literal, already unescaped.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// `30m`, `1h30m`: a duration literal in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DurationLit {
    pub millis: i64,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub enum Decl {
    Schema(Schema),
    Event(EventDecl),
    State(StateDecl),
    Trigger(Trigger),
}

/// `schema { key user  type type  time ts }`
#[derive(Clone, Debug, Serialize)]
pub struct Schema {
    pub span: Span,
    pub lines: Vec<SchemaLine>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SchemaRole {
    Key,
    Type,
    Time,
}

/// `key user`: `role` names the envelope part, `paths` where it sits on the wire
/// (one, or several for `key userId ?? anonymousId`: the first present wins).
#[derive(Clone, Debug, Serialize)]
pub struct SchemaLine {
    pub span: Span,
    pub role: SchemaRole,
    pub paths: Vec<WirePath>,
    /// `time ts format "..."` / `time ts epoch seconds`.
    pub format: Option<TimeFormat>,
}

/// How a time member is written: `format "%Y-%m-%d %H:%M:%S"` or `epoch seconds`.
#[derive(Clone, Debug, Serialize)]
pub enum TimeFormat {
    /// A chrono strftime string (checked by `check`), and `in "Europe/Berlin"`: the
    /// IANA zone of times without an offset.
    Strftime(StrLit, Option<StrLit>),
    /// `epoch UNIT`: the unit as written (checked by `check`).
    Epoch(Ident),
}

/// Where a value sits on the wire: `user`, `context.traits.email`,
/// `properties.products[].product_id`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WirePath {
    pub span: Span,
    pub segments: Vec<PathSegment>,
}

/// One member name of a [`WirePath`]; `each` when it is followed by `[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PathSegment {
    pub name: String,
    pub each: bool,
}

impl WirePath {
    /// The path as the IR and the decoder keep it: member names as they are on the
    /// wire, joined by `.`, `[]` after a gathered one (`check` has made sure no name
    /// holds a `.` or ends in `[]`, so it splits back the same).
    pub fn wire_text(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(&s.name);
            if s.each {
                out.push_str("[]");
            }
        }
        out
    }
}

/// As written: a name that is no identifier in quotes.
impl std::fmt::Display for WirePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            if is_identifier(&s.name) {
                f.write_str(&s.name)?;
            } else {
                let quoted = serde_json::to_string(&s.name).map_err(|_| std::fmt::Error)?;
                f.write_str(&quoted)?;
            }
            if s.each {
                f.write_str("[]")?;
            }
        }
        Ok(())
    }
}

/// Whether `name` can be written unquoted in a wire path (the grammar's `field_name`).
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A wire value of the type member meaning an event: `from "Product Added"`, `from 2`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum WireName {
    Str(StrLit),
    /// The integer as written (checked to fit 64 bits by `check`).
    Int {
        text: String,
        span: Span,
    },
}

/// `[profile] event NAME [keyed by FIELD] { field: type, ... }`
#[derive(Clone, Debug, Serialize)]
pub struct EventDecl {
    pub span: Span,
    /// Span of the `profile` keyword when this is a profile event.
    pub profile: Option<Span>,
    pub name: Ident,
    /// `from "Product Added", "Cart Updated"`: empty when the wire name is `name`.
    pub wire: Vec<WireName>,
    pub keyed_by: Option<Ident>,
    pub fields: Vec<FieldDecl>,
}

/// `product: string` inside an event declaration.
#[derive(Clone, Debug, Serialize)]
pub struct FieldDecl {
    pub span: Span,
    pub name: Ident,
    pub ty: TypeExpr,
    /// `from properties.product_id`: where the field sits; `None` is `name` at the top.
    pub path: Option<WirePath>,
}

/// A written type: `string`, `set<string>`, `int?`.
#[derive(Clone, Debug, Serialize)]
pub struct TypeExpr {
    pub span: Span,
    pub kind: TypeKind,
}

#[derive(Clone, Debug, Serialize)]
pub enum TypeKind {
    /// `string int float bool time duration`, or an unknown name (a check error).
    Named(Ident),
    /// `set<T>`
    Set(Box<TypeExpr>),
    /// `list<T>`
    List(Box<TypeExpr>),
    /// `T?`
    Optional(Box<TypeExpr>),
}

/// `state NAME: TYPE { PATTERN -> op(args) ... }`
#[derive(Clone, Debug, Serialize)]
pub struct StateDecl {
    pub span: Span,
    pub name: Ident,
    pub ty: TypeExpr,
    pub rules: Vec<Reducer>,
}

/// `ADD_TO_CART -> insert(product)`; the pattern may carry `where` (an extension).
#[derive(Clone, Debug, Serialize)]
pub struct Reducer {
    pub span: Span,
    pub pattern: Pattern,
    /// `insert remove clear set add push` (anything else is a check error).
    pub op: Ident,
    pub args: Vec<ExprId>,
}

/// `EVENT [as alias] [where EXPR]`
#[derive(Clone, Debug, Serialize)]
pub struct Pattern {
    pub span: Span,
    pub event: Ident,
    pub alias: Option<Ident>,
    pub filter: Option<ExprId>,
}

/// `trigger NAME ["description"] OPTIONS START [FANOUT] STEPS`
#[derive(Clone, Debug, Serialize)]
pub struct Trigger {
    pub span: Span,
    pub name: Ident,
    pub description: Option<StrLit>,
    pub options: Vec<TriggerOption>,
    pub start: Start,
    pub fan_out: Option<FanOut>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Reentry {
    Restart,
    Skip,
    Parallel,
}

#[derive(Clone, Debug, Serialize)]
pub enum TriggerOption {
    /// `priority 70` (the value is as written; range is checked later).
    Priority { span: Span, value: i64 },
    /// `cooldown 24h`
    Cooldown { span: Span, duration: DurationLit },
    /// `limit 3 per 7d`
    Limit {
        span: Span,
        count: i64,
        per: DurationLit,
    },
    /// `reentry restart|skip|parallel`
    Reentry { span: Span, mode: Reentry },
    /// `exit on PATTERN {or PATTERN}`
    ExitOn { span: Span, patterns: Vec<Pattern> },
}

#[derive(Clone, Debug, Serialize)]
pub enum Start {
    /// `on PATTERN {or PATTERN}`
    On { span: Span, patterns: Vec<Pattern> },
    /// `on enroll`
    Enroll { span: Span },
    /// `every 15m`, `every day at 02:00`, `cron "0 2 * * *"`
    Schedule { span: Span, schedule: Schedule },
}

#[derive(Clone, Debug, Serialize)]
pub enum Schedule {
    /// `every 15m`
    Every(DurationLit),
    /// `every day at 02:00`: minutes after midnight UTC.
    DailyAt { span: Span, minute_of_day: u32 },
    /// `cron "0 2 * * *"` (validated by check).
    Cron(StrLit),
}

/// `for each key where STATE contains EXPR`
#[derive(Clone, Debug, Serialize)]
pub struct FanOut {
    pub span: Span,
    pub state: Ident,
    pub value: ExprId,
}

/// `[wait D [unless PATTERN {or PATTERN}]] [if EXPR] then ACTION {and ACTION}`
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub span: Span,
    pub wait: Option<Wait>,
    pub guard: Option<ExprId>,
    pub actions: Vec<Action>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Wait {
    pub span: Span,
    pub duration: DurationLit,
    pub unless: Vec<Pattern>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Action {
    pub span: Span,
    pub kind: ActionKind,
}

#[derive(Clone, Debug, Serialize)]
pub enum ActionKind {
    /// `webhook "url" [with OBJECT]`
    Webhook { url: StrLit, with: Option<ExprId> },
    /// `email "template" [to EXPR] [with OBJECT]`
    Email {
        template: StrLit,
        to: Option<ExprId>,
        with: Option<ExprId>,
    },
    /// `emit "name" [with OBJECT]`
    Emit { name: StrLit, with: Option<ExprId> },
    /// `set profile.FIELD = EXPR`
    SetProfile { field: Ident, value: ExprId },
    /// `enroll TRIGGER`
    Enroll { trigger: Ident },
}

#[derive(Clone, Debug, Serialize)]
pub struct Expr {
    pub span: Span,
    pub kind: ExprKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinaryOp {
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
    /// `x in y`: membership of `x` in a set, list or string.
    In,
    /// `x contains y`: the same test with the operands swapped.
    Contains,
    /// `x ?? y`: `x` when present, else `y` (an extension).
    Coalesce,
}

#[derive(Clone, Debug, Serialize)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Duration(i64),
    /// `[a, b]`
    List(Vec<ExprId>),
    /// `{ k: expr, ... }`
    Object(Vec<(Ident, ExprId)>),
    /// A bare lower-case name: a field, state, alias, `key`, `now`, `ts` or `profile`.
    Name(Ident),
    /// `base.field`: alias field, `profile.x`, `last(E).f`, `cart.empty`.
    Field {
        base: ExprId,
        field: Ident,
    },
    /// `f(args)`: `len lower starts_with contains` and friends.
    Call {
        func: Ident,
        args: Vec<ExprId>,
    },
    /// `count(E [where X] within D)`, `sum(E.f within D)`, `last(E)`, ...: a call
    /// whose first argument is an EVENT name.
    Aggregate {
        func: Ident,
        event: Ident,
        field: Option<Ident>,
        filter: Option<ExprId>,
        within: Option<DurationLit>,
    },
    Unary {
        op: UnaryOp,
        operand: ExprId,
    },
    Binary {
        op: BinaryOp,
        lhs: ExprId,
        rhs: ExprId,
    },
    /// Stands in for an expression that failed to parse (an error was reported).
    Error,
}
