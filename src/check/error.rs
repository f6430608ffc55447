//! Every problem the checker reports, as facts (spans, names, candidates), and the
//! one place that words them: [`Problem::into_diagnostic`]. The checker never builds
//! message strings itself, so wording stays consistent and reviewable here.

use crate::diag::{Code, Diagnostic, did_you_mean, quote};
use crate::syntax::Span;

/// What kind of name was not found, for [`Problem::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Event,
    /// A state named where only a state fits (`for each key where STATE ...`).
    State,
    /// A bare name in an expression with no event in scope.
    Name,
    Alias,
    Trigger,
    Type,
    Function,
    ProfileField,
}

/// One problem found while checking. Each variant lists the Trig that triggers it.
#[derive(Clone, Debug)]
pub enum Problem {
    /// `on ADD_TO_CRT`, `state s: strin`, `enroll cart_recvery`, `lowr(x)`, `profile.teir`,
    /// `snt.campaign`, or a bare `prodct` in a trigger with no event in scope.
    Unknown {
        kind: NameKind,
        span: Span,
        name: String,
        known: Vec<String>,
        note: Option<String>,
    },
    /// `where prodct == "x"` when the event in scope has no field `prodct`.
    UnknownField {
        span: Span,
        name: String,
        owner: String,
        known: Vec<String>,
    },
    /// `profile event A { tier: string }` and `profile event B { tier: int }`.
    ProfileConflict {
        span: Span,
        name: String,
        ty: String,
        first_ty: String,
        first: Span,
    },
    /// `on A or B` then a bare `x` declared `int` on A and `string` on B.
    FieldConflict {
        span: Span,
        name: String,
        a: (String, String),
        b: (String, String),
    },
    /// `set profile.a = profile.b` and `set profile.b = profile.a` with nothing else
    /// giving either a type.
    ProfileTypeUnknown {
        span: Span,
        name: String,
    },
    /// `event A {}` twice, `x: int, x: string`, two `as c` in one trigger, `{ a: 1, a: 2 }`.
    Duplicate {
        span: Span,
        kind: &'static str,
        name: String,
        first: Span,
    },
    /// `priority 1 priority 2`, two `key` lines in `schema`.
    DuplicateOption {
        span: Span,
        option: String,
        first: Span,
    },
    /// `if 1`, `set profile.tier = 3` when tier is a string.
    Mismatch {
        span: Span,
        expected: String,
        found: String,
        place: &'static str,
    },
    /// `"a" + 1`, `cart < 3`.
    BadOperands {
        span: Span,
        op: &'static str,
        lhs: String,
        rhs: String,
    },
    /// `not 1`, `-"x"`, `len(3)`.
    BadOperand {
        span: Span,
        op: String,
        found: String,
    },
    /// `profile` alone, or an alias `sent` without `.field`.
    NotAValue {
        span: Span,
        name: String,
        what: &'static str,
    },
    /// `state cart: time`.
    TimeStateNotOptional {
        span: Span,
    },
    /// `len(a, b)`, `insert()`.
    WrongArity {
        span: Span,
        func: String,
        expected: &'static str,
        found: usize,
    },
    /// `priority 0`, `priority 101`.
    PriorityOutOfRange {
        span: Span,
        value: i64,
    },
    /// `limit 0 per 1d`, `limit 3 per 0s`.
    BadLimit {
        span: Span,
        reason: &'static str,
    },
    /// `cooldown 0s`, `count(E within 0s)`.
    ZeroDuration {
        span: Span,
        what: &'static str,
    },
    /// `every 0s`, `every 10s` (under a minute).
    BadSchedule {
        span: Span,
        zero: bool,
    },
    /// `cron "61 * * * *"`.
    BadCron {
        span: Span,
        reason: String,
    },
    /// `event A from "x" {}` and `event B from "x" {}`; `event B from "A"` beside an
    /// `event A` without `from`.
    DuplicateWireName {
        span: Span,
        wire: String,
        event: String,
        first_event: String,
        first: Span,
    },
    /// `event A from 99999999999999999999 {}`.
    BadWireName {
        span: Span,
        text: String,
    },
    /// `x: string from a[].b` (not a list), `from a[].b[].c`, `key user[]`.
    BadWirePath {
        span: Span,
        path: String,
        reason: &'static str,
    },
    /// `time ts format "%Q"`, `time ts epoch hours`.
    BadTimeFormat {
        span: Span,
        format: String,
        epoch: bool,
    },
    /// `time ts format "%Y-%m-%d %H:%M" in "Europe/Berln"`.
    UnknownTimeZone {
        span: Span,
        zone: String,
    },
    /// `event A { user: string }` with the default schema, `event A { ts: time }`.
    ReservedName {
        span: Span,
        name: String,
        owner: &'static str,
    },
    /// `on ADD_TO_CART for each key where wishlist contains product`.
    FanOutNotKeyed {
        span: Span,
        event: String,
        event_span: Span,
    },
    /// `for each key where tier contains product` with `tier: string`, or a member
    /// type that differs from the value's.
    FanOutNotSet {
        span: Span,
        state: String,
        state_ty: String,
        value_ty: Option<String>,
    },
    /// `for each key where wishlist contains cart` (a state in the value).
    BadFanOutValue {
        span: Span,
        what: String,
    },
    /// `event A keyed by sku { product: string }`, or keyed by an `int?` field.
    BadKeyedBy {
        span: Span,
        field: String,
        reason: String,
    },
    /// `state n: int { E -> insert(x) }`, `E -> frob()`.
    BadReducer {
        span: Span,
        op: String,
        state_ty: String,
        valid: &'static [&'static str],
    },
    /// `enroll other` when `other` starts `on VISIT`.
    NotEnrollable {
        span: Span,
        trigger: String,
        start: Span,
    },
    /// `every 1h if amount > 3 then ...`: no starting event to read `amount` from.
    NoStartEvent {
        span: Span,
        name: String,
        start: &'static str,
    },
    /// `sum(PURCHASE)`, `count(E.f)`, `last(E within 1h)`, `count(E where cart.empty)`.
    BadAggregate {
        span: Span,
        reason: String,
        help: Option<String>,
    },
    /// `wait 1h unless PURCHASE as p then emit "x" with { o: p.order }`: `p` is only
    /// bound while its pattern is being matched.
    BadCurrentRef {
        span: Span,
        alias: String,
        pattern: Span,
    },
    /// An expression nested deeper than the checker follows.
    TooDeep {
        span: Span,
    },
    // Warnings.
    UnusedEvent {
        span: Span,
        name: String,
    },
    UnusedState {
        span: Span,
        name: String,
    },
    UnusedAlias {
        span: Span,
        name: String,
    },
    UnusedTrigger {
        span: Span,
        name: String,
    },
    NoFrequencyCap {
        span: Span,
        name: String,
    },
    RedundantUnless {
        span: Span,
        event: String,
        start: Span,
    },
    UnreachableStep {
        span: Span,
        guard: Span,
    },
    GuardAlwaysFalse {
        span: Span,
    },
    /// `enroll B` that comes back to its own trigger with nothing in between.
    EnrollCycle {
        span: Span,
        target: String,
    },
}

/// The `did you mean` help for `name` among `known`, when one is close enough.
fn suggest(name: &str, known: &[String]) -> Option<String> {
    did_you_mean(name, known.iter().map(String::as_str)).map(|s| format!("did you mean `{s}`?"))
}

impl Problem {
    /// Word the problem: code, title, primary label, help. This is the only place
    /// that decides what a check problem says to the user.
    pub fn into_diagnostic(self) -> Diagnostic {
        use Problem as P;
        match self {
            P::Unknown { kind, span, name, known, note } => {
                let (code, what) = match kind {
                    NameKind::Event => (Code::UnknownEvent, "event"),
                    NameKind::State => (Code::UnknownState, "state"),
                    NameKind::Name => (Code::UnknownState, "name"),
                    NameKind::Alias => (Code::UnknownAlias, "alias"),
                    NameKind::Trigger => (Code::UnknownTrigger, "trigger"),
                    NameKind::Type => (Code::UnknownType, "type"),
                    NameKind::Function => (Code::UnknownFunction, "function"),
                    NameKind::ProfileField => (Code::UnknownProfileField, "profile field"),
                };
                let shown = if kind == NameKind::ProfileField { format!("profile.{name}") } else { name.clone() };
                let label = match kind {
                    NameKind::Event => "no `event` declares this",
                    NameKind::State => "no `state` declares this",
                    NameKind::Name => "not a field, state or alias here",
                    NameKind::Alias => "no pattern binds this with `as`",
                    NameKind::Trigger => "no trigger has this name",
                    NameKind::Type => "not a type",
                    NameKind::Function => "not a built-in function",
                    NameKind::ProfileField => "no `profile event` field or `set profile.` declares this",
                };
                let d = Diagnostic::new(code, span, format!("unknown {what} `{shown}`")).label(label);
                match suggest(&name, &known).or(note) {
                    Some(h) => d.help(h),
                    None => d,
                }
            }
            P::UnknownField { span, name, owner, known } => {
                let d = Diagnostic::new(Code::UnknownField, span, format!("unknown field `{name}`"))
                    .label(if owner.starts_with("none of") {
                        format!("{owner} has a field `{name}`")
                    } else {
                        format!("{owner} has no field `{name}`")
                    });
                match suggest(&name, &known) {
                    Some(h) => d.help(h),
                    None if known.is_empty() => d,
                    None => d.help(format!("names readable here: {}", join_ticked(&known))),
                }
            }
            P::ProfileConflict { span, name, ty, first_ty, first } => {
                Diagnostic::new(Code::TypeMismatch, span, format!("profile field `{name}` declared with two types"))
                    .label(format!("`{ty}` here"))
                    .related(first, format!("`{first_ty}` here"))
                    .help("profile fields merge by name, so every declaration must agree on the type")
            }
            P::FieldConflict { span, name, a, b } => {
                Diagnostic::new(Code::TypeMismatch, span, format!("field `{name}` has different types on the start events"))
                    .label(format!("`{}` on `{}`, `{}` on `{}`", a.1, a.0, b.1, b.0))
                    .help("give the field one type everywhere, or read it through an alias (`on A as a`)")
            }
            P::ProfileTypeUnknown { span, name } => {
                Diagnostic::new(Code::UnknownProfileField, span, format!("cannot tell the type of `profile.{name}`"))
                    .label("only set from other profile fields")
                    .help(format!("declare `{name}` in a `profile event`, or set it from a value of known type"))
            }
            P::Duplicate { span, kind, name, first } => {
                Diagnostic::new(Code::DuplicateName, span, format!("duplicate {kind} `{name}`"))
                    .label("declared again here")
                    .related(first, "first declared here")
                    .help("rename or remove one of them")
            }
            P::DuplicateOption { span, option, first } => {
                Diagnostic::new(Code::DuplicateOption, span, format!("`{option}` given twice"))
                    .label("given again here")
                    .related(first, "first given here")
                    .help("keep one of them")
            }
            P::Mismatch { span, expected, found, place } => {
                Diagnostic::new(Code::TypeMismatch, span, format!("type mismatch in {place}"))
                    .label(format!("expected `{expected}`, found `{found}`"))
            }
            P::BadOperands { span, op, lhs, rhs } => {
                Diagnostic::new(Code::TypeMismatch, span, format!("`{op}` cannot combine `{lhs}` and `{rhs}`"))
                    .label(format!("`{lhs}` {op} `{rhs}`"))
                    .help(operator_help(op))
            }
            P::BadOperand { span, op, found } => {
                Diagnostic::new(Code::TypeMismatch, span, format!("`{op}` does not take `{found}`"))
                    .label(format!("this is `{found}`"))
            }
            P::NotAValue { span, name, what } => {
                let help = if what == "alias" {
                    format!("read one of its fields, e.g. `{name}.ts`")
                } else {
                    "read an attribute, e.g. `profile.email`".to_owned()
                };
                Diagnostic::new(Code::TypeMismatch, span, format!("`{name}` is not a value"))
                    .label(format!("this is {what}"))
                    .help(help)
            }
            P::TimeStateNotOptional { span } => {
                Diagnostic::new(Code::TypeMismatch, span, "a `time` state must be optional")
                    .label("there is no sensible initial time")
                    .help("declare it `time?`; it starts as none")
            }
            P::WrongArity { span, func, expected, found } => {
                Diagnostic::new(Code::WrongArity, span, format!("`{func}` takes {expected}"))
                    .label(format!("given {found} argument{}", if found == 1 { "" } else { "s" }))
            }
            P::PriorityOutOfRange { span, value } => {
                Diagnostic::new(Code::PriorityOutOfRange, span, format!("priority {value} is out of range"))
                    .label("must be from 1 to 100")
                    .help("the default is 50; higher runs first")
            }
            P::BadLimit { span, reason } => {
                Diagnostic::new(Code::BadLimit, span, "invalid `limit`").label(reason).help("e.g. `limit 3 per 7d`")
            }
            P::ZeroDuration { span, what } => {
                Diagnostic::new(Code::ZeroDuration, span, format!("{what} of zero"))
                    .label("must be above zero")
                    .help("use a duration above zero, or leave it out")
            }
            P::BadSchedule { span, zero: true } => Diagnostic::new(Code::BadSchedule, span, "schedule interval is zero")
                .label("`every` needs a duration of at least a minute")
                .help("e.g. `every 15m`"),
            P::BadSchedule { span, zero: false } => Diagnostic::new(Code::BadSchedule, span, "schedule interval under a minute")
                .label("`every` needs a duration of at least a minute")
                .help("each tick visits every customer seen so far; for reactions within seconds, start the trigger `on` an event and `wait`"),
            P::BadCron { span, reason } => Diagnostic::new(Code::BadCron, span, "invalid cron expression")
                .label(reason)
                .help("five fields, UTC: minute hour day-of-month month day-of-week, e.g. `cron \"0 2 * * *\"`"),
            P::DuplicateWireName { span, wire, event, first_event, first } => {
                Diagnostic::new(Code::DuplicateWireName, span, format!("wire name {} means two events", quote(&wire)))
                    .label(format!("means `{event}` here"))
                    .related(first, format!("already means `{first_event}` here"))
                    .help("give each wire value of the type member to one event only")
            }
            P::BadWireName { span, text } => {
                Diagnostic::new(Code::BadWireName, span, format!("wire name `{}` is out of the 64-bit range", quote(&text)))
                    .label("too large for an integer")
                    .help("write the type value as a string, or a whole number that fits 64 bits")
            }
            P::BadWirePath { span, path, reason } => {
                Diagnostic::new(Code::BadWirePath, span, format!("bad wire path `{}`", quote(&path)))
                    .label(reason)
                    .help("a path is member names joined by `.` (quoted when not an identifier: `properties.\"$url\"`); one `[]` gathers a member of every array element into a `list<T>` field")
            }
            P::BadTimeFormat { span, format, epoch: true } => {
                Diagnostic::new(Code::BadTimeFormat, span, format!("unknown epoch unit `{}`", quote(&format)))
                    .label("not an epoch unit")
                    .help("write `epoch seconds`, `epoch millis` or `epoch micros`")
            }
            P::BadTimeFormat { span, format, epoch: false } => {
                Diagnostic::new(Code::BadTimeFormat, span, format!("bad time format \"{}\"", quote(&format)))
                    .label("not a strftime format chrono can read")
                    .help("use chrono strftime items like \"%Y-%m-%d %H:%M:%S\" (`%%` for a literal `%`); a format without a zone is UTC")
            }
            P::UnknownTimeZone { span, zone } => {
                Diagnostic::new(Code::UnknownTimeZone, span, format!("unknown time zone \"{}\"", quote(&zone)))
                    .label("not an IANA time zone name")
                    .help("write a name of the IANA database like \"Europe/Berlin\" or \"America/New_York\" (\"UTC\" is the default)")
            }
            P::ReservedName { span, name, owner } => {
                Diagnostic::new(Code::ReservedName, span, format!("field name `{name}` is reserved"))
                    .label(format!("`{name}` is {owner}"))
                    .help("rename the field (or change the `schema` block)")
            }
            P::FanOutNotKeyed { span, event, event_span } => {
                Diagnostic::new(Code::FanOutNotKeyed, span, format!("`for each key` needs a keyed event, `{event}` is not"))
                    .label("fans out to customers")
                    .related(event_span, format!("`{event}` is declared here without `keyed by`"))
                    .help(format!("declare it `event {event} keyed by FIELD {{ ... }}`"))
            }
            P::FanOutNotSet { span, state, state_ty, value_ty } => match value_ty {
                None => Diagnostic::new(Code::FanOutNotSet, span, format!("`{state}` is not a set"))
                    .label(format!("this state is `{state_ty}`"))
                    .help("`for each key where STATE contains X` needs a `set<T>` state"),
                Some(v) => Diagnostic::new(Code::FanOutNotSet, span, format!("`{state}` cannot contain `{v}`"))
                    .label(format!("this is `{v}`, the state is `{state_ty}`")),
            },
            P::BadFanOutValue { span, what } => {
                Diagnostic::new(Code::BadFanOutValue, span, format!("the fan-out value cannot read {what}"))
                    .label("read before any customer is chosen")
                    .help("use fields of the starting event, e.g. `for each key where wishlist contains product`")
            }
            P::BadKeyedBy { span, field, reason } => {
                Diagnostic::new(Code::BadKeyedBy, span, format!("cannot key by `{field}`"))
                    .label(reason)
                    .help("`keyed by` names a declared, non-optional `string` field of the event")
            }
            P::BadReducer { span, op, state_ty, valid } => {
                let d = Diagnostic::new(Code::BadReducer, span, format!("`{op}` does not apply to `{state_ty}` states"))
                    .label(format!("not an operation of `{state_ty}`"));
                let known: Vec<String> = valid.iter().map(|s| (*s).to_owned()).collect();
                match suggest(&op, &known) {
                    Some(h) => d.help(h),
                    None => d.help(format!("`{state_ty}` states take {}", join_ticked(&known))),
                }
            }
            P::NotEnrollable { span, trigger, start } => {
                Diagnostic::new(Code::NotEnrollable, span, format!("cannot enroll into `{trigger}`"))
                    .label("this trigger does not start `on enroll`")
                    .related(start, "it starts here")
                    .help(format!("make `{trigger}` start with `on enroll`"))
            }
            P::NoStartEvent { span, name, start } => {
                Diagnostic::new(Code::NoStartEvent, span, format!("`{name}` has no event to read from"))
                    .label(format!("a trigger that starts {start} has no starting event"))
                    .help("use states, aggregates such as `last(E).field`, `profile.x`, `key` or `now`")
            }
            P::BadAggregate { span, reason, help } => {
                let d = Diagnostic::new(Code::BadAggregate, span, "invalid aggregate").label(reason);
                match help {
                    Some(h) => d.help(h),
                    None => d,
                }
            }
            P::BadCurrentRef { span, alias, pattern } => {
                Diagnostic::new(Code::BadCurrentRef, span, format!("`{alias}` is not bound here"))
                    .label("only bound while its pattern is matched")
                    .related(pattern, format!("`{alias}` is bound by this pattern"))
                    .help("read it inside that pattern's `where`")
            }
            P::TooDeep { span } => Diagnostic::new(Code::TooDeep, span, "expression nests too deeply")
                .label("split this expression up"),
            P::UnusedEvent { span, name } => Diagnostic::new(Code::UnusedEvent, span, format!("event `{name}` is never used"))
                .label("no trigger, state or aggregate reads it")
                .help("remove it, or use it in a rule"),
            P::UnusedState { span, name } => Diagnostic::new(Code::UnusedState, span, format!("state `{name}` is never read"))
                .label("kept per customer but never read")
                .help("remove it, or read it in a trigger"),
            P::UnusedAlias { span, name } => Diagnostic::new(Code::UnusedAlias, span, format!("alias `{name}` is never read"))
                .label("bound here")
                .help("remove `as` or read a field of it"),
            P::UnusedTrigger { span, name } => {
                Diagnostic::new(Code::UnusedTrigger, span, format!("trigger `{name}` is never enrolled"))
                    .label("starts `on enroll`, but no `enroll` names it")
                    .help(format!("add `enroll {name}` to another trigger's actions"))
            }
            P::NoFrequencyCap { span, name } => {
                Diagnostic::new(Code::NoFrequencyCap, span, format!("trigger `{name}` has no frequency cap"))
                    .label("messages customers with neither `cooldown` nor `limit`")
                    .help("add e.g. `cooldown 24h` or `limit 3 per 7d`")
            }
            P::RedundantUnless { span, event, start } => {
                Diagnostic::new(Code::RedundantUnless, span, format!("`unless {event}` never fires"))
                    .label(format!("every `{event}` restarts this trigger first"))
                    .related(start, "starts (and restarts) on it here")
                    .help("remove the `unless`, or use `reentry skip` to keep the first instance")
            }
            P::UnreachableStep { span, guard } => Diagnostic::new(Code::UnreachableStep, span, "unreachable step")
                .label("never runs")
                .related(guard, "an earlier guard is always false"),
            P::GuardAlwaysFalse { span } => Diagnostic::new(Code::GuardAlwaysFalse, span, "guard is always false")
                .label("this step never fires")
                .help("remove the step, or fix the condition"),
            P::EnrollCycle { span, target } => Diagnostic::new(Code::EnrollCycle, span, "endless enroll loop")
                .label(format!("`{target}` enrolls this trigger back with no `wait` of a minute or more in between"))
                .help("add a `wait` of a minute or more, a guard, a `cooldown`/`limit` or `reentry skip` to one of them; without any `wait`, `trigc run` stops the loop at 100 chained enrolls per customer and instant"),
        }
    }
}

/// `a`, `b`, `c` as a comma-separated list of code spans.
fn join_ticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the operand types of `op` may be, as help for a mismatch.
fn operator_help(op: &str) -> &'static str {
    match op {
        "and" | "or" => "both sides must be `bool`",
        "+" | "-" => {
            "numbers with numbers, `time ± duration`, `time - time`, `duration ± duration`"
        }
        "*" | "/" | "%" => "numbers with numbers; `duration * number`",
        "<" | "<=" | ">" | ">=" => {
            "both sides must be the same ordered type (numbers, strings, times, durations)"
        }
        "==" | "!=" => "both sides must have the same type",
        "in" | "contains" => {
            "`x in y` needs y a `set<T>` or `list<T>` holding x's type, or both strings"
        }
        "??" => "both sides must have the same type",
        _ => "check the operand types",
    }
}
