//! Aggregates: `count(E [where X] [within D])`, `sum/min/max/avg/distinct(E.f ...)`,
//! `exists(E ...)`, `last(E)` / `first(E)`. Each distinct one becomes an
//! [`AggDef`] in `Program::aggregates`; the same aggregate written twice (even in
//! different triggers) is stored once.

use crate::ir::{AggDef, AggId, AggKind, Expr, FieldIdx, Ty};
use crate::syntax::{self as ast, ExprKind};

use super::Checker;
use super::error::Problem;
use super::expr::BUILTINS;
use super::scope::{Place, Scope};
use super::types::{Typed, is_ordered, is_scalar};

impl Checker<'_> {
    /// Check and lower an aggregate node. `as_base` is set when it is the base of a
    /// field access (`last(E).f`): only that field is then read, not the whole event.
    pub(super) fn aggregate(&mut self, scope: &Scope, e: &ast::Expr, as_base: bool) -> Typed {
        let span = e.span;
        let ExprKind::Aggregate {
            func,
            event,
            field,
            filter,
            within,
        } = &e.kind
        else {
            return self.placeholder(span);
        };
        let name = func.name.as_str();
        let kind = match name {
            "count" => AggKind::Count,
            "sum" => AggKind::Sum,
            "min" => AggKind::Min,
            "max" => AggKind::Max,
            "avg" => AggKind::Avg,
            "exists" => AggKind::Exists,
            "distinct" => AggKind::Distinct,
            "last" => AggKind::Last,
            "first" => AggKind::First,
            _ => {
                if BUILTINS.iter().any(|b| b.0 == name) {
                    self.report(Problem::BadAggregate {
                        span,
                        reason: format!("`{name}` does not take an event"),
                        help: Some(
                            "aggregates are `count sum min max avg exists distinct last first`"
                                .into(),
                        ),
                    });
                } else {
                    self.report_unknown_function(func.span, name);
                }
                return self.placeholder(span);
            }
        };
        match scope.place {
            Place::AggFilter => {
                self.report(Problem::BadAggregate {
                    span,
                    reason: "an aggregate inside an aggregate's `where`".into(),
                    help: Some(
                        "an aggregate's `where` reads only the aggregated event's fields".into(),
                    ),
                });
                return self.placeholder(span);
            }
            Place::FanOut => {
                self.report(Problem::BadFanOutValue {
                    span,
                    what: "an aggregate".into(),
                });
                return self.placeholder(span);
            }
            _ => {}
        }
        let Some(ev) = self.event_ref(event) else {
            return self.placeholder(span);
        };
        let mut failed = false;
        let needs_field = matches!(
            kind,
            AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::Avg | AggKind::Distinct
        );
        let is_stored = matches!(kind, AggKind::Last | AggKind::First);
        let field_idx: Option<(FieldIdx, Ty)> = match (field, needs_field) {
            (Some(f), true) => self.aggregated_field(kind, ev, f),
            (None, true) => {
                self.report(Problem::BadAggregate {
                    span,
                    reason: format!("`{name}` needs a field"),
                    help: Some(format!("write `{name}({}.FIELD ...)`", event.name)),
                });
                None
            }
            (Some(f), false) => {
                let help = if is_stored {
                    format!("read the field after: `{name}({}).{}`", event.name, f.name)
                } else {
                    format!("`{name}` counts events; drop `.{}`", f.name)
                };
                self.report(Problem::BadAggregate {
                    span: f.span,
                    reason: format!("`{name}` takes no field"),
                    help: Some(help),
                });
                None
            }
            (None, false) => None,
        };
        if needs_field && field_idx.is_none() {
            failed = true;
        }
        if is_stored && (filter.is_some() || within.is_some()) {
            self.report(Problem::BadAggregate {
                span,
                reason: format!("`{name}` takes only an event"),
                help: Some(format!(
                    "`{name}(E)` is the {name} `E` ever seen; use `count`/`exists` for windows"
                )),
            });
            failed = true;
        }
        let within_ms = match within {
            Some(d) if d.millis <= 0 => {
                self.report(Problem::ZeroDuration {
                    span: d.span,
                    what: "a `within` window",
                });
                failed = true;
                None
            }
            Some(d) => Some(d.millis),
            None => None,
        };
        let mark = self.prog.exprs.len();
        let filter_id = match filter {
            Some(f) if !is_stored => {
                let inner = scope.for_aggregate(ev);
                Some(self.condition(&inner, *f, "an aggregate's `where`"))
            }
            _ => None,
        };
        if failed {
            return self.placeholder(span);
        }
        let fty = field_idx.as_ref().map(|(_, t)| t.clone());
        let ty = match kind {
            AggKind::Count => Ty::Int,
            AggKind::Exists => Ty::Bool,
            AggKind::Sum => fty.unwrap_or(Ty::Int),
            AggKind::Min | AggKind::Max => fty.unwrap_or(Ty::Int).optional(),
            AggKind::Avg => Ty::Float.optional(),
            AggKind::Distinct => Ty::Set(Box::new(fty.unwrap_or(Ty::Str))),
            AggKind::Last | AggKind::First => Ty::Event(ev).optional(),
        };
        if is_stored && !as_base {
            // The whole stored event is used (e.g. put in a payload).
            self.mark_all_fields_used(ev);
        }
        let def = AggDef {
            kind,
            event: ev,
            field: field_idx.map(|(f, _)| f),
            filter: filter_id,
            within: within_ms,
            ty: ty.clone(),
            span,
        };
        let id = self.intern_aggregate(def, mark);
        self.ok(Expr::Agg(id), ty, span)
    }

    /// `E.f` of `sum/min/max/avg/distinct`: the field and its (non-optional) type.
    fn aggregated_field(
        &mut self,
        kind: AggKind,
        ev: crate::ir::EventId,
        f: &ast::Ident,
    ) -> Option<(FieldIdx, Ty)> {
        let def = self.prog.event(ev);
        let Some(idx) = def.field_by_name(f.name.as_str()) else {
            let known = def.fields.iter().map(|f| f.name.clone()).collect();
            let owner = format!("`{}`", def.name);
            self.report(Problem::UnknownField {
                span: f.span,
                name: f.name.to_string(),
                owner,
                known,
            });
            return None;
        };
        if self.untyped(ev, idx) {
            return None;
        }
        let ty = def.field(idx).ty.clone();
        let (ok, wants) = match kind {
            AggKind::Sum => (
                matches!(ty, Ty::Int | Ty::Float | Ty::Duration),
                "a number or duration",
            ),
            AggKind::Avg => (matches!(ty, Ty::Int | Ty::Float), "a number"),
            AggKind::Min | AggKind::Max => (is_ordered(&ty), "a number, string, time or duration"),
            _ => (is_scalar(&ty), "a scalar (not a set or list)"),
        };
        if !ok {
            self.report(Problem::BadAggregate {
                span: f.span,
                reason: format!(
                    "`{}` is `{}`, this aggregate needs {wants}",
                    f.name,
                    self.ty_name(&ty)
                ),
                help: None,
            });
            return None;
        }
        self.mark_field_used(ev, idx);
        Some((idx, ty))
    }

    /// The id of `def`, reusing an equal aggregate. The filter of a reused one was
    /// lowered at `mark..`; it is dropped again so the arena holds no orphans.
    fn intern_aggregate(&mut self, def: AggDef, mark: usize) -> AggId {
        let key = format!(
            "{:?}|{}|{:?}|{:?}|{}",
            def.kind,
            def.event,
            def.field,
            def.within,
            def.filter
                .map(|f| crate::ir::print::expr(&self.prog, f))
                .unwrap_or_default()
        );
        if let Some(&id) = self.agg_keys.get(&key)
            && id.index() < self.prog.aggregates.len()
        {
            if def.filter.is_some() {
                self.prog.exprs.truncate(mark);
                self.prog.expr_types.truncate(mark);
                self.prog.expr_spans.truncate(mark);
            }
            return id;
        }
        let id = AggId::from_index(self.prog.aggregates.len());
        self.prog.aggregates.push(def);
        self.agg_keys.insert(key, id);
        id
    }
}
