//! `trigc compile --emit ast`: the AST as an indented tree, one node per line, with
//! names, literal values and byte spans (`@start..end`). The format is stable: the
//! syntax snapshots in `tests/cases/syntax/ok` are written in it.

use std::fmt::Write as _;

use super::ast::*;
use crate::source::Span;
use crate::time::format_duration;

/// Deeper expression trees print as `…` (the parser never builds them).
const MAX_PRINT_DEPTH: usize = 256;

/// The whole AST as text.
pub fn print_ast(ast: &Ast) -> String {
    let mut p = Printer {
        ast,
        out: String::new(),
    };
    for decl in &ast.decls {
        p.decl(decl);
    }
    p.out
}

struct Printer<'a> {
    ast: &'a Ast,
    out: String,
}

fn at(span: Span) -> String {
    format!("@{}..{}", span.start, span.end)
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn type_text(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeKind::Named(id) => id.name.to_string(),
        TypeKind::Set(t) => format!("set<{}>", type_text(t)),
        TypeKind::List(t) => format!("list<{}>", type_text(t)),
        TypeKind::Optional(t) => format!("{}?", type_text(t)),
    }
}

fn binary_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Or => "or",
        BinaryOp::And => "and",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Rem => "%",
        BinaryOp::In => "in",
        BinaryOp::Contains => "contains",
        BinaryOp::Coalesce => "??",
    }
}

impl Printer<'_> {
    fn line(&mut self, indent: usize, text: impl AsRef<str>) {
        for _ in 0..indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text.as_ref());
        self.out.push('\n');
    }

    fn decl(&mut self, decl: &Decl) {
        match decl {
            Decl::Schema(s) => {
                self.line(0, format!("schema {}", at(s.span)));
                for l in &s.lines {
                    let role = match l.role {
                        SchemaRole::Key => "key",
                        SchemaRole::Type => "type",
                        SchemaRole::Time => "time",
                    };
                    let paths: Vec<String> = l.paths.iter().map(ToString::to_string).collect();
                    let format = match &l.format {
                        None => String::new(),
                        Some(TimeFormat::Strftime(f, None)) => format!(" format {:?}", f.value),
                        Some(TimeFormat::Strftime(f, Some(z))) => {
                            format!(" format {:?} in {:?}", f.value, z.value)
                        }
                        Some(TimeFormat::Epoch(u)) => format!(" epoch {}", u.name),
                    };
                    let paths = paths.join(" ?? ");
                    self.line(1, format!("{role} {paths}{format} {}", at(l.span)));
                }
            }
            Decl::Event(e) => {
                let kind = if e.profile.is_some() {
                    "profile event"
                } else {
                    "event"
                };
                self.line(0, format!("{kind} {} {}", e.name.name, at(e.span)));
                if !e.wire.is_empty() {
                    let names: Vec<String> = e
                        .wire
                        .iter()
                        .map(|w| match w {
                            WireName::Str(s) => format!("{:?}", s.value),
                            WireName::Int { text, .. } => text.clone(),
                        })
                        .collect();
                    self.line(1, format!("from {}", names.join(", ")));
                }
                if let Some(k) = &e.keyed_by {
                    self.line(1, format!("keyed by {} {}", k.name, at(k.span)));
                }
                for f in &e.fields {
                    let from = f
                        .path
                        .as_ref()
                        .map_or(String::new(), |p| format!(" from {p}"));
                    self.line(
                        1,
                        format!(
                            "field {}: {}{from} {}",
                            f.name.name,
                            type_text(&f.ty),
                            at(f.span)
                        ),
                    );
                }
            }
            Decl::State(s) => {
                self.line(
                    0,
                    format!("state {}: {} {}", s.name.name, type_text(&s.ty), at(s.span)),
                );
                for r in &s.rules {
                    self.line(1, format!("reducer -> {} {}", r.op.name, at(r.span)));
                    self.pattern(2, &r.pattern);
                    for &a in &r.args {
                        self.expr(2, a, 0);
                    }
                }
            }
            Decl::Trigger(t) => self.trigger(t),
        }
    }

    fn trigger(&mut self, t: &Trigger) {
        self.line(0, format!("trigger {} {}", t.name.name, at(t.span)));
        if let Some(d) = &t.description {
            self.line(
                1,
                format!("description {} {}", quoted(&d.value), at(d.span)),
            );
        }
        for o in &t.options {
            match o {
                TriggerOption::Priority { span, value } => {
                    self.line(1, format!("priority {value} {}", at(*span)))
                }
                TriggerOption::Cooldown { span, duration } => {
                    self.line(
                        1,
                        format!(
                            "cooldown {} {}",
                            format_duration(duration.millis),
                            at(*span)
                        ),
                    );
                }
                TriggerOption::Limit { span, count, per } => {
                    self.line(
                        1,
                        format!(
                            "limit {count} per {} {}",
                            format_duration(per.millis),
                            at(*span)
                        ),
                    );
                }
                TriggerOption::Reentry { span, mode } => {
                    let mode = match mode {
                        Reentry::Restart => "restart",
                        Reentry::Skip => "skip",
                        Reentry::Parallel => "parallel",
                    };
                    self.line(1, format!("reentry {mode} {}", at(*span)));
                }
                TriggerOption::ExitOn { span, patterns } => {
                    self.line(1, format!("exit on {}", at(*span)));
                    for p in patterns {
                        self.pattern(2, p);
                    }
                }
            }
        }
        match &t.start {
            Start::On { span, patterns } => {
                self.line(1, format!("start on {}", at(*span)));
                for p in patterns {
                    self.pattern(2, p);
                }
            }
            Start::Enroll { span } => self.line(1, format!("start on enroll {}", at(*span))),
            Start::Schedule { span, schedule } => {
                let what = match schedule {
                    Schedule::Every(d) => format!("every {}", format_duration(d.millis)),
                    Schedule::DailyAt { minute_of_day, .. } => {
                        format!(
                            "every day at {:02}:{:02}",
                            minute_of_day / 60,
                            minute_of_day % 60
                        )
                    }
                    Schedule::Cron(s) => format!("cron {}", quoted(&s.value)),
                };
                self.line(1, format!("start {what} {}", at(*span)));
            }
        }
        if let Some(f) = &t.fan_out {
            self.line(
                1,
                format!(
                    "for each key where {} contains {}",
                    f.state.name,
                    at(f.span)
                ),
            );
            self.expr(2, f.value, 0);
        }
        for s in &t.steps {
            self.step(1, s);
        }
    }

    fn step(&mut self, indent: usize, s: &Step) {
        self.line(indent, format!("step {}", at(s.span)));
        if let Some(w) = &s.wait {
            self.line(
                indent + 1,
                format!("wait {} {}", format_duration(w.duration.millis), at(w.span)),
            );
            if !w.unless.is_empty() {
                self.line(indent + 2, "unless");
                for p in &w.unless {
                    self.pattern(indent + 3, p);
                }
            }
        }
        if let Some(g) = s.guard {
            self.line(indent + 1, "if");
            self.expr(indent + 2, g, 0);
        }
        for a in &s.actions {
            self.action(indent + 1, a);
        }
    }

    fn action(&mut self, indent: usize, a: &Action) {
        let span = at(a.span);
        match &a.kind {
            ActionKind::Webhook { url, with } => {
                self.line(indent, format!("webhook {} {span}", quoted(&url.value)));
                self.clause(indent + 1, "with", *with);
            }
            ActionKind::Email { template, to, with } => {
                self.line(indent, format!("email {} {span}", quoted(&template.value)));
                self.clause(indent + 1, "to", *to);
                self.clause(indent + 1, "with", *with);
            }
            ActionKind::Emit { name, with } => {
                self.line(indent, format!("emit {} {span}", quoted(&name.value)));
                self.clause(indent + 1, "with", *with);
            }
            ActionKind::SetProfile { field, value } => {
                self.line(indent, format!("set profile.{} {span}", field.name));
                self.expr(indent + 1, *value, 0);
            }
            ActionKind::Enroll { trigger } => {
                self.line(indent, format!("enroll {} {span}", trigger.name))
            }
        }
    }

    fn clause(&mut self, indent: usize, word: &str, expr: Option<ExprId>) {
        if let Some(e) = expr {
            self.line(indent, word);
            self.expr(indent + 1, e, 0);
        }
    }

    fn pattern(&mut self, indent: usize, p: &Pattern) {
        let alias = p
            .alias
            .map(|a| format!(" as {}", a.name))
            .unwrap_or_default();
        self.line(
            indent,
            format!("pattern {}{alias} {}", p.event.name, at(p.span)),
        );
        if let Some(f) = p.filter {
            self.line(indent + 1, "where");
            self.expr(indent + 2, f, 0);
        }
    }

    fn expr(&mut self, indent: usize, id: ExprId, depth: usize) {
        let Some(e) = self.ast.exprs.get(id.0 as usize) else {
            self.line(indent, format!("<missing x{}>", id.0));
            return;
        };
        if depth > MAX_PRINT_DEPTH {
            self.line(indent, "…");
            return;
        }
        let span = at(e.span);
        let mut text = String::new();
        let mut children: Vec<ExprId> = Vec::new();
        match &e.kind {
            ExprKind::Int(n) => _ = write!(text, "int {n}"),
            ExprKind::Float(x) => _ = write!(text, "float {x:?}"),
            ExprKind::Str(s) => _ = write!(text, "str {}", quoted(s)),
            ExprKind::Bool(b) => _ = write!(text, "bool {b}"),
            ExprKind::Duration(ms) => _ = write!(text, "duration {}", format_duration(*ms)),
            ExprKind::List(items) => {
                text.push_str("list");
                children.extend(items);
            }
            ExprKind::Object(entries) => {
                self.line(indent, format!("object {span}"));
                for (key, value) in entries {
                    self.line(indent + 1, format!("entry {} {}", key.name, at(key.span)));
                    self.expr(indent + 2, *value, depth + 1);
                }
                return;
            }
            ExprKind::Name(n) => _ = write!(text, "name {}", n.name),
            ExprKind::Field { base, field } => {
                _ = write!(text, "field .{}", field.name);
                children.push(*base);
            }
            ExprKind::Call { func, args } => {
                _ = write!(text, "call {}", func.name);
                children.extend(args);
            }
            ExprKind::Aggregate {
                func,
                event,
                field,
                filter,
                within,
            } => {
                let field = field.map(|f| format!(".{}", f.name)).unwrap_or_default();
                _ = write!(text, "aggregate {}({}{field})", func.name, event.name);
                if let Some(w) = within {
                    _ = write!(text, " within {}", format_duration(w.millis));
                }
                if let Some(f) = filter {
                    self.line(indent, format!("{text} {span}"));
                    self.line(indent + 1, "where");
                    self.expr(indent + 2, *f, depth + 1);
                    return;
                }
            }
            ExprKind::Unary { op, operand } => {
                text.push_str(match op {
                    UnaryOp::Not => "unary not",
                    UnaryOp::Neg => "unary -",
                });
                children.push(*operand);
            }
            ExprKind::Binary { op, lhs, rhs } => {
                _ = write!(text, "binary {}", binary_symbol(*op));
                children.extend([*lhs, *rhs]);
            }
            ExprKind::Error => text.push_str("error"),
        }
        self.line(indent, format!("{text} {span}"));
        for c in children {
            self.expr(indent + 1, c, depth + 1);
        }
    }
}
