//! The one table of diagnostic codes. A code is a stable kebab-case name of a problem
//! (`trig::unknown-event`); codes are never reused or renamed. `trigc explain CODE`
//! prints the doc; every code has at least one `tests/cases/*/err/` case.

use serde::Serialize;

use super::Severity;

macro_rules! codes {
    ($($variant:ident = $name:literal, $sev:ident, $doc:literal;)*) => {
        /// A diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case name without the `trig::` prefix.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// What the problem is and how to fix it, for `trigc explain`.
            pub fn doc(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
        }
    };
}

codes! {
    // Reading files.
    InvalidUtf8 = "invalid-utf8", Error,
        "A rule file is not valid UTF-8. Trig source must be UTF-8; the bytes are shown replaced by U+FFFD.";
    // Syntax.
    SyntaxError = "syntax-error", Error,
        "The parser met something it did not expect. The message lists what would have fitted at that point.";
    UnterminatedString = "unterminated-string", Error,
        "A string literal has no closing quote before the end of the line.";
    BadEscape = "bad-escape", Error,
        "A string literal holds an escape that is not a JSON escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX).";
    BadDuration = "bad-duration", Error,
        "A duration is written as numbers with units, e.g. `500ms`, `30s`, `15m`, `2h`, `7d`, `2w`, or sums like `1h30m`.";
    BadNumber = "bad-number", Error,
        "A number literal does not fit: integers are 64-bit signed, floats must be finite.";
    BadTimeOfDay = "bad-time-of-day", Error,
        "`every day at HH:MM` takes a 24-hour UTC time from 00:00 to 23:59.";
    TooDeep = "too-deep", Error,
        "An expression nests too deeply (parentheses, lists, operators). Split it up; the limit keeps the compiler's stack bounded.";
    // Names.
    UnknownEvent = "unknown-event", Error,
        "A rule names an event type that no `event` declaration declares.";
    UnknownField = "unknown-field", Error,
        "A field is not declared on the event it is read from.";
    UnknownState = "unknown-state", Error,
        "A name is neither a field of the event in scope, a state, an alias, nor one of `key`, `now`, `ts`, `profile`.";
    UnknownAlias = "unknown-alias", Error,
        "`alias.field` names an alias that no pattern binds with `as`.";
    UnknownTrigger = "unknown-trigger", Error,
        "`enroll` names a trigger that is not declared.";
    UnknownType = "unknown-type", Error,
        "Types are `string int float bool time duration set<T> list<T>` and `T?`.";
    UnknownFunction = "unknown-function", Error,
        "A call names a function Trig does not have.";
    UnknownProfileField = "unknown-profile-field", Error,
        "`profile.x` reads an attribute that no `profile event` declares and no `set profile.x` writes.";
    DuplicateName = "duplicate-name", Error,
        "Two declarations of the same kind share a name (events, states, triggers, fields of one event, aliases of one trigger, keys of one object).";
    DuplicateOption = "duplicate-option", Error,
        "A trigger option (`priority`, `cooldown`, `limit`, `reentry`) or a schema line is given twice.";
    // Types and values.
    TypeMismatch = "type-mismatch", Error,
        "An expression has a type other than the one its place needs.";
    WrongArity = "wrong-arity", Error,
        "A function or reducer is called with the wrong number of arguments.";
    PriorityOutOfRange = "priority-out-of-range", Error,
        "`priority` takes a whole number from 1 to 100 (default 50); higher runs first.";
    BadLimit = "bad-limit", Error,
        "`limit N per D` needs N of at least 1 and a duration D above zero.";
    BadCron = "bad-cron", Error,
        "A `cron \"...\"` schedule is not a valid 5-field cron expression (minute hour day-of-month month day-of-week, UTC).";
    BadSchedule = "bad-schedule", Error,
        "`every D` needs a duration of at least a minute (cron's resolution too): every tick visits every customer seen so far, so a shorter one makes a gap of days in the input cost millions of ticks. For reactions within seconds, start the trigger `on` an event and `wait`.";
    ReservedName = "reserved-name", Error,
        "An event field uses a name the envelope or the language already owns (the schema's key/type/time fields, `ts`).";
    // Structure.
    FanOutNotKeyed = "fan-out-not-keyed", Error,
        "`for each key where ...` fans an event out to customers, so the start event must be declared `keyed by` a field other than the customer key.";
    FanOutNotSet = "fan-out-not-set", Error,
        "`for each key where STATE contains X` needs STATE to be a `set<T>` state whose member type matches X.";
    DuplicateWireName = "duplicate-wire-name", Error,
        "Two events claim one wire value of the type member (`event A from \"x\"` and `event B from \"x\"`, or `from \"A\"` beside an `event A` without `from`, whose wire name is its own name). Each value may mean one event.";
    BadWireName = "bad-wire-name", Error,
        "An integer wire name in `event NAME from N` does not fit 64 bits.";
    BadWirePath = "bad-wire-path", Error,
        "A wire path (`from a.b.c`, or a schema line) uses `[]` where it has no meaning: only a `list<T>` field's path may gather, at one level (`from properties.products[].product_id`); the schema's key, type and time are single values.";
    BadTimeFormat = "bad-time-format", Error,
        "The schema's `time ... format \"...\"` is not a chrono strftime format (an unknown `%` item, or empty), or `epoch UNIT` names a unit other than `seconds`, `millis` or `micros`.";
    UnknownTimeZone = "unknown-time-zone", Error,
        "`time F format \"...\" in \"ZONE\"` names a zone the IANA time zone database does not know. Times without an offset are read in that zone (the default is UTC).";
    BadKeyedBy = "bad-keyed-by", Error,
        "`keyed by F` must name a declared, non-optional `string` field of the event.";
    BadReducer = "bad-reducer", Error,
        "A reducer operation does not fit the state's type: sets take insert/remove/clear, lists push/clear, numbers set/add/clear, other scalars set/clear.";
    NotEnrollable = "not-enrollable", Error,
        "`enroll T` starts an instance of T, so T must start with `on enroll`.";
    NoStartEvent = "no-start-event", Error,
        "A trigger that starts on a schedule or on enroll has no starting event, so bare field names (and a default payload of its fields) have nothing to read.";
    BadAggregate = "bad-aggregate", Error,
        "An aggregate is written wrongly: `sum/min/max/avg/distinct` need `E.field`, `count/exists` take an optional `where`, `last/first` take only an event, and an aggregate's `where` may read only the aggregated event.";
    BadCurrentRef = "bad-current-ref", Error,
        "A field of the matched event was read where no event is being matched.";
    // Warnings.
    UnusedEvent = "unused-event", Warning,
        "An event is declared but no trigger, state or aggregate uses it. Remove it, or use it.";
    UnusedState = "unused-state", Warning,
        "A state is declared but nothing reads it; it still costs memory per customer.";
    UnusedAlias = "unused-alias", Warning,
        "An alias bound with `as` is never read.";
    UnusedTrigger = "unused-trigger", Warning,
        "A trigger that starts `on enroll` is never enrolled by any other trigger, so it can never run.";
    NoFrequencyCap = "no-frequency-cap", Warning,
        "A trigger that messages customers (webhook, email) has neither `cooldown` nor `limit`, so a busy customer can be messaged again and again (notification fatigue). Add `cooldown D` or `limit N per D`.";
    RedundantUnless = "redundant-unless", Warning,
        "Under `reentry restart` every start event restarts the instance before an `unless` of the same event could end it, so this `unless` never fires.";
    UnreachableStep = "unreachable-step", Warning,
        "A step follows one whose guard is always false, so it can never run.";
    GuardAlwaysFalse = "guard-always-false", Warning,
        "A guard is the constant `false`, so the step never fires.";
    EnrollCycle = "enroll-cycle", Warning,
        "`on enroll` triggers enroll one another (or themselves) with no `wait` of a minute or more, and no guard, `cooldown`, `limit` or `reentry skip`, on the way. Without any `wait` one enroll repeats forever at one instant (`trigc run` cuts such a chain at 100 chained enrolls per customer and instant, dropping the rest); with a short `wait` it repeats at that pace for as long as the input lasts. Add a longer `wait`, a guard or a frequency cap to end the loop.";
    // Added by check.
    ZeroDuration = "zero-duration", Error,
        "A duration that must be above zero is zero: `cooldown 0s`, `count(E within 0s)` (an empty window).";
    BadFanOutValue = "bad-fan-out-value", Error,
        "The value of `for each key where STATE contains VALUE` is computed once per event, before any customer is chosen, so it may read only the starting event (fields, `ts`), `now` and literals, not states, `profile`, aggregates or `key`.";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "trig::{}", self.name())
    }
}
