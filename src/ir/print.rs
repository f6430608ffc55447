//! `trigc compile --emit ir`: a stable, readable listing of a [`Program`].
//!
//! The listing goes table by table (schema, events, profile, states, aggregates,
//! triggers). Each expression root is shown where it is used as `x12: bool? = TEXT`,
//! where `TEXT` is the whole expression tree written back in a Trig-like syntax:
//! `cur.f` / `start.f` are fields of the matched / starting event, `a3` an aggregate
//! (listed in its own table), `float(x)` an int promoted to float. Output depends only
//! on the program, never on hash order, so snapshots are stable.

use std::fmt::Write as _;

use super::{
    ActionKind, AggDef, AggKind, AggStorage, Binding, Builtin, Const, Expr, ExprId, PatternIr,
    Payload, Program, ReducerOp, Reentry, ScheduleIr, StartIr, Ty,
};
use crate::time::format_duration;

/// The whole program as text.
pub fn print(program: &Program) -> String {
    let mut out = String::new();
    let s = &program.schema;
    let _ = write!(out, "schema key={}", s.key);
    for alt in &s.key_alternatives {
        let _ = write!(out, " ?? {alt}");
    }
    let _ = write!(out, " type={} time={}", s.type_, s.time);
    match &s.time_format {
        super::TimeFormat::Default => {}
        super::TimeFormat::Strftime { format, zone } => {
            let _ = write!(out, " format {format:?}");
            if let Some(zone) = zone {
                let _ = write!(out, " in {zone:?}");
            }
        }
        super::TimeFormat::EpochSeconds => out.push_str(" epoch seconds"),
        super::TimeFormat::EpochMillis => out.push_str(" epoch millis"),
        super::TimeFormat::EpochMicros => out.push_str(" epoch micros"),
    }
    out.push('\n');
    print_events(program, &mut out);
    if !program.profile.is_empty() {
        out.push('\n');
        for (i, p) in program.profile.iter().enumerate() {
            let _ = writeln!(out, "profile p{i} {}: {}", p.name, ty(program, &p.ty));
        }
    }
    print_states(program, &mut out);
    if !program.aggregates.is_empty() {
        out.push('\n');
        for (i, agg) in program.aggregates.iter().enumerate() {
            // The storage the layout pass decided (absent in hand-built programs).
            let storage = match program.layout.storage.get(i) {
                Some(AggStorage::Own) => "  storage own".to_owned(),
                Some(AggStorage::Hosts) => "  storage hosts".to_owned(),
                Some(AggStorage::TimeOnly) => "  storage time".to_owned(),
                Some(AggStorage::ReadsFrom(h)) => format!("  storage reads a{}", h.index()),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "aggregate a{i} {}: {}{storage}",
                aggregate(program, agg),
                ty(program, &agg.ty)
            );
        }
    }
    for (i, t) in program.triggers.iter().enumerate() {
        out.push('\n');
        let desc = t
            .description
            .as_ref()
            .map(|d| format!(" {d:?}"))
            .unwrap_or_default();
        let _ = writeln!(out, "trigger t{i} {}{desc}", t.name);
        let reentry = match t.reentry {
            Reentry::Restart => "restart",
            Reentry::Skip => "skip",
            Reentry::Parallel => "parallel",
        };
        let mut opts = format!("priority {}  reentry {reentry}", t.priority);
        if let Some(c) = t.cooldown {
            let _ = write!(opts, "  cooldown {}", format_duration(c));
        }
        if let Some(l) = t.limit {
            let _ = write!(opts, "  limit {} per {}", l.count, format_duration(l.per));
        }
        let _ = writeln!(out, "  {opts}");
        for p in &t.exit_on {
            let _ = writeln!(out, "  exit on {}", pattern(program, p));
        }
        match &t.start {
            StartIr::On(patterns) => {
                for p in patterns {
                    let _ = writeln!(out, "  on {}", pattern(program, p));
                }
            }
            StartIr::Enroll => out.push_str("  on enroll\n"),
            StartIr::Schedule(ScheduleIr::Every(ms)) => {
                let _ = writeln!(out, "  every {}", format_duration(*ms));
            }
            StartIr::Schedule(ScheduleIr::DailyAt { minute_of_day }) => {
                let _ = writeln!(
                    out,
                    "  every day at {:02}:{:02}",
                    minute_of_day / 60,
                    minute_of_day % 60
                );
            }
            StartIr::Schedule(ScheduleIr::Cron(c)) => {
                let _ = writeln!(out, "  cron {c:?}");
            }
        }
        if let Some(f) = &t.fan_out {
            let name = program
                .states
                .get(f.state.index())
                .map_or("?", |s| s.name.as_str());
            let _ = writeln!(
                out,
                "  for each key where {} {name} contains {}",
                f.state,
                root(program, f.value)
            );
        }
        for (n, step) in t.steps.iter().enumerate() {
            let _ = write!(out, "  step {}", n + 1);
            if step.wait > 0 {
                let _ = write!(out, " wait {}", format_duration(step.wait));
            }
            out.push('\n');
            for p in &step.unless {
                let _ = writeln!(out, "    unless {}", pattern(program, p));
            }
            if let Some(g) = step.guard {
                let _ = writeln!(out, "    if {}", root(program, g));
            }
            for a in &step.actions {
                let has_start = matches!(t.start, StartIr::On(_));
                let _ = writeln!(out, "    {}", action(program, &a.kind, has_start));
            }
        }
    }
    out
}

fn print_events(program: &Program, out: &mut String) {
    for (i, e) in program.events.iter().enumerate() {
        out.push('\n');
        let profile = if e.profile { "profile " } else { "" };
        let _ = write!(out, "{profile}event e{i} {}", e.name);
        if !e.wire.is_empty() {
            let wire: Vec<String> = e.wire.iter().map(ToString::to_string).collect();
            let _ = write!(out, " from {}", wire.join(", "));
        }
        if let Some(k) = e.keyed_by {
            let name = e.fields.get(k.index()).map_or("?", |f| f.name.as_str());
            let _ = write!(out, " keyed by {k} {name}");
        }
        out.push('\n');
        for (j, f) in e.fields.iter().enumerate() {
            let opt = if f.optional { "?" } else { "" };
            let used = if f.used { "  used" } else { "" };
            let merge = match e.profile_fields.get(j) {
                Some(p) => format!("  -> {p}"),
                None => String::new(),
            };
            let from = f
                .path
                .as_ref()
                .map_or(String::new(), |p| format!(" from {p}"));
            let _ = writeln!(
                out,
                "  f{j} {}: {}{opt}{from}{used}{merge}",
                f.name,
                ty(program, &f.ty)
            );
        }
    }
}

fn print_states(program: &Program, out: &mut String) {
    for (i, s) in program.states.iter().enumerate() {
        out.push('\n');
        let indexed = if s.indexed { "  indexed" } else { "" };
        let _ = writeln!(
            out,
            "state s{i} {}: {}{indexed}",
            s.name,
            ty(program, &s.ty)
        );
        for r in &s.rules {
            let _ = write!(out, "  {} {}", r.event, event_name(program, r.event));
            if let Some(f) = r.filter {
                let _ = write!(out, " where {}", root(program, f));
            }
            let op = match &r.op {
                ReducerOp::Insert(x) => format!("insert({})", root(program, *x)),
                ReducerOp::Remove(x) => format!("remove({})", root(program, *x)),
                ReducerOp::Clear => "clear()".to_owned(),
                ReducerOp::Set(x) => format!("set({})", root(program, *x)),
                ReducerOp::Add(x) => format!("add({})", root(program, *x)),
                ReducerOp::Push { value, max } => {
                    format!("push({}, max {max})", root(program, *value))
                }
            };
            let _ = writeln!(out, " -> {op}");
        }
    }
}

fn event_name(program: &Program, id: super::EventId) -> &str {
    program
        .events
        .get(id.index())
        .map_or("?", |e| e.name.as_str())
}

fn pattern(program: &Program, p: &PatternIr) -> String {
    let mut s = format!("{} {}", p.event, event_name(program, p.event));
    if let Some(f) = p.filter {
        let _ = write!(s, " where {}", root(program, f));
    }
    s
}

fn payload(program: &Program, p: &Payload, has_start: bool) -> String {
    match p {
        Payload::Object(x) => format!(" with {}", root(program, *x)),
        Payload::StartEvent if has_start => " with <start event fields>".to_owned(),
        Payload::StartEvent => " with {}".to_owned(),
    }
}

fn action(program: &Program, a: &ActionKind, has_start: bool) -> String {
    let payload = |program: &Program, p: &Payload| payload(program, p, has_start);
    match a {
        ActionKind::Webhook { url, payload: p } => {
            format!("webhook {url:?}{}", payload(program, p))
        }
        ActionKind::Email {
            template,
            to,
            payload: p,
        } => {
            let to = to
                .map(|t| format!(" to {}", root(program, t)))
                .unwrap_or_default();
            format!("email {template:?}{to}{}", payload(program, p))
        }
        ActionKind::Emit { name, payload: p } => format!("emit {name:?}{}", payload(program, p)),
        ActionKind::SetProfile { field, value } => {
            let name = program
                .profile
                .get(field.index())
                .map_or("?", |p| p.name.as_str());
            format!("set {field} profile.{name} = {}", root(program, *value))
        }
        ActionKind::Enroll { trigger } => {
            let name = program
                .triggers
                .get(trigger.index())
                .map_or("?", |t| t.name.as_str());
            format!("enroll {trigger} {name}")
        }
    }
}

/// `sum(ADD_TO_CART.price where TEXT within 10m)`: an aggregate's defining form.
pub fn aggregate(program: &Program, agg: &AggDef) -> String {
    let kind = match agg.kind {
        AggKind::Count => "count",
        AggKind::Sum => "sum",
        AggKind::Min => "min",
        AggKind::Max => "max",
        AggKind::Avg => "avg",
        AggKind::Exists => "exists",
        AggKind::Distinct => "distinct",
        AggKind::Last => "last",
        AggKind::First => "first",
    };
    let mut s = format!("{kind}({}", event_name(program, agg.event));
    if let Some(f) = agg.field {
        let name = program
            .events
            .get(agg.event.index())
            .and_then(|e| e.fields.get(f.index()));
        let _ = write!(s, ".{}", name.map_or("?", |f| f.name.as_str()));
    }
    if let Some(f) = agg.filter {
        let _ = write!(s, " where {}", root(program, f));
    }
    if let Some(w) = agg.within {
        let _ = write!(s, " within {}", format_duration(w));
    }
    s.push(')');
    s
}

/// `x12: bool = TEXT`: an expression root with its id and type.
pub fn root(program: &Program, id: ExprId) -> String {
    let t = program
        .expr_types
        .get(id.index())
        .map_or_else(|| "?".to_owned(), |t| ty(program, t));
    format!("{id}: {t} = {}", expr(program, id))
}

/// A type in Trig syntax: `set<string>`, `int?`, `event<VISIT>`.
pub fn ty(program: &Program, t: &Ty) -> String {
    match t {
        Ty::Bool => "bool".into(),
        Ty::Int => "int".into(),
        Ty::Float => "float".into(),
        Ty::Str => "string".into(),
        Ty::Time => "time".into(),
        Ty::Duration => "duration".into(),
        Ty::Set(t) => format!("set<{}>", ty(program, t)),
        Ty::List(t) => format!("list<{}>", ty(program, t)),
        Ty::Optional(t) => format!("{}?", ty(program, t)),
        Ty::Event(e) => format!("event<{}>", event_name(program, *e)),
        Ty::Object => "object".into(),
    }
}

fn binding(b: Binding) -> &'static str {
    match b {
        Binding::Current => "cur",
        Binding::Start => "start",
    }
}

/// One expression tree written inline. Binary operations are always parenthesised so
/// the grouping is explicit. Recursion is bounded by the checker's depth limit.
pub fn expr(program: &Program, id: ExprId) -> String {
    let Some(e) = program.exprs.get(id.index()) else {
        return format!("<bad {id}>");
    };
    let sub = |x: &ExprId| expr(program, *x);
    match e {
        Expr::Const(c) => match c {
            Const::Bool(b) => b.to_string(),
            Const::Int(i) => i.to_string(),
            Const::Float(f) => format!("{f:?}"),
            Const::Str(s) => format!("{s:?}"),
            Const::Duration(d) => format_duration(*d),
            Const::Time(t) => format!("time({t})"),
        },
        Expr::List(items) => format!("[{}]", items.iter().map(sub).collect::<Vec<_>>().join(", ")),
        Expr::Object(fields) => {
            if fields.is_empty() {
                return "{}".into();
            }
            let inner: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", sub(v)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        Expr::Field {
            binding: b,
            choices,
        } => {
            let name = choices
                .first()
                .and_then(|(e, f)| program.events.get(e.index())?.fields.get(f.index()))
                .map_or("?", |f| f.name.as_str());
            if choices.len() == 1 {
                format!("{}.{name}", binding(*b))
            } else {
                let evs: Vec<String> = choices.iter().map(|(e, _)| e.to_string()).collect();
                format!("{}.{name}<{}>", binding(*b), evs.join("|"))
            }
        }
        Expr::EventTime { binding: b, of } => match of {
            None => format!("{}.ts", binding(*b)),
            Some(e) => format!("{}.ts<{e}>", binding(*b)),
        },
        Expr::Key => "key".into(),
        Expr::Now => "now".into(),
        Expr::State(s) => program
            .states
            .get(s.index())
            .map_or_else(|| format!("<bad {s}>"), |s| s.name.clone()),
        Expr::Profile(p) => {
            let name = program
                .profile
                .get(p.index())
                .map_or("?", |p| p.name.as_str());
            format!("profile.{name}")
        }
        Expr::Agg(a) => a.to_string(),
        Expr::EventField { base, event, field } => {
            let name = program
                .events
                .get(event.index())
                .and_then(|e| e.fields.get(field.index()))
                .map_or("?", |f| f.name.as_str());
            format!("{}.{name}", sub(base))
        }
        Expr::StoredEventTime { base } => format!("{}.ts", sub(base)),
        Expr::ToFloat(x) => format!("float({})", sub(x)),
        Expr::Unary { op, operand } => match op {
            super::UnaryOp::Not => format!("not {}", sub(operand)),
            super::UnaryOp::Neg => format!("-{}", sub(operand)),
        },
        Expr::Binary { op, lhs, rhs } => {
            use super::BinaryOp as B;
            let op = match op {
                B::Or => "or",
                B::And => "and",
                B::Eq => "==",
                B::Ne => "!=",
                B::Lt => "<",
                B::Le => "<=",
                B::Gt => ">",
                B::Ge => ">=",
                B::Add => "+",
                B::Sub => "-",
                B::Mul => "*",
                B::Div => "/",
                B::Rem => "%",
                B::In => "in",
                B::Coalesce => "??",
            };
            format!("({} {op} {})", sub(lhs), sub(rhs))
        }
        Expr::Call { func, args } => {
            if *func == Builtin::Empty
                && let [x] = args.as_slice()
            {
                return format!("{}.empty", sub(x));
            }
            let name = match func {
                Builtin::Len => "len",
                Builtin::Empty => "empty",
                Builtin::Lower => "lower",
                Builtin::Upper => "upper",
                Builtin::StartsWith => "starts_with",
                Builtin::EndsWith => "ends_with",
                Builtin::Contains => "contains",
                Builtin::Abs => "abs",
            };
            format!(
                "{name}({})",
                args.iter().map(sub).collect::<Vec<_>>().join(", ")
            )
        }
    }
}
