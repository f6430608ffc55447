//! Names in expressions: bare names (`key`, `now`, `ts`, aliases, fields, states),
//! field access (`alias.f`, `profile.x`, `last(E).f`, `x.empty`) and the messages for
//! names that resolve to nothing. The resolution order is the one in `scope`.

use crate::ir::{Binding, Builtin, EventId, Expr, FieldIdx, Ty};
use crate::syntax::{self as ast, ExprKind, Ident, Span};

use super::Checker;
use super::error::{NameKind, Problem};
use super::scope::{AliasRole, Place, Scope};
use super::types::{Typed, maybe_optional, split_optional};

/// A bare field's binding, the events it may come from, and where it is on each.
type FieldChoices = (Binding, Vec<EventId>, Vec<(EventId, FieldIdx)>);

/// What an alias resolved to.
pub(super) struct AliasHit {
    binding: Binding,
    event: Option<EventId>,
    optional: bool,
}

impl Checker<'_> {
    /// A bare name, in the order `key`, `now`, `ts`, `profile`, aliases, fields of
    /// the event in scope, states: the first meaning wins, so a field named like a
    /// state shadows it. `profile` and an alias alone are not values.
    pub(super) fn name(&mut self, scope: &Scope, ident: &Ident) -> Typed {
        let span = ident.span;
        match ident.name.as_str() {
            "key" => {
                if scope.place == Place::FanOut {
                    self.report(Problem::BadFanOutValue {
                        span,
                        what: "`key`".into(),
                    });
                    return self.placeholder(span);
                }
                return self.ok(Expr::Key, Ty::Str, span);
            }
            "now" => return self.ok(Expr::Now, Ty::Time, span),
            "ts" => return self.event_time(scope, span),
            "profile" => {
                self.report(Problem::NotAValue {
                    span,
                    name: "profile".into(),
                    what: "the customer profile",
                });
                return self.placeholder(span);
            }
            _ => {}
        }
        if let Some(hit) = self.alias_lookup(scope, ident) {
            if hit.is_ok() {
                self.report(Problem::NotAValue {
                    span,
                    name: ident.name.to_string(),
                    what: "an alias of an event",
                });
            }
            return self.placeholder(span);
        }
        if let Some(t) = self.bare_field(scope, ident) {
            return t;
        }
        if let Some(&sid) = self.states.get(&ident.name) {
            return self.state_read(scope, sid, span);
        }
        self.unknown_name(scope, ident)
    }

    /// Bare `ts`: the time of the matched event inside a pattern, of the starting
    /// event elsewhere. A trigger without a starting event has no `ts` to read.
    fn event_time(&mut self, scope: &Scope, span: Span) -> Typed {
        if scope.current.is_some() {
            return self.ok(
                Expr::EventTime {
                    binding: Binding::Current,
                    of: None,
                },
                Ty::Time,
                span,
            );
        }
        if let Some(how) = scope.missing_start() {
            self.report(Problem::NoStartEvent {
                span,
                name: "ts".into(),
                start: how,
            });
            return self.placeholder(span);
        }
        if scope.start_visible() {
            return self.ok(
                Expr::EventTime {
                    binding: Binding::Start,
                    of: None,
                },
                Ty::Time,
                span,
            );
        }
        // An unknown pattern event left nothing bound; that was reported.
        self.placeholder(span)
    }

    /// `Some(Ok)` for an alias bound here, `Some(Err)` for one that exists but is not
    /// bound here (reported), `None` for a name that is no alias.
    pub(super) fn alias_lookup(
        &mut self,
        scope: &Scope,
        ident: &Ident,
    ) -> Option<Result<AliasHit, ()>> {
        let idx = self.aliases.iter().position(|a| a.name == ident.name)?;
        let alias = &mut self.aliases[idx];
        alias.used = true;
        let (event, role, pattern) = (alias.event, alias.role, alias.pattern);
        if scope.current_alias == Some(idx) {
            return Some(Ok(AliasHit {
                binding: Binding::Current,
                event,
                optional: false,
            }));
        }
        let name = ident.name.to_string();
        match role {
            AliasRole::Start { optional } if scope.start_visible() => Some(Ok(AliasHit {
                binding: Binding::Start,
                event,
                optional,
            })),
            AliasRole::Start { .. } if scope.place == Place::AggFilter => {
                self.report(Problem::BadAggregate {
                    span: ident.span,
                    reason: format!("`{name}` is not the aggregated event"),
                    help: Some(
                        "an aggregate's `where` reads only the aggregated event's fields".into(),
                    ),
                });
                Some(Err(()))
            }
            AliasRole::Start { .. } => {
                self.report(Problem::Unknown {
                    kind: NameKind::Alias,
                    span: ident.span,
                    name,
                    known: Vec::new(),
                    note: Some("aliases of start patterns are bound once the instance has started, not while a start event is matched".into()),
                });
                Some(Err(()))
            }
            AliasRole::Matched => {
                self.report(Problem::BadCurrentRef {
                    span: ident.span,
                    alias: name,
                    pattern,
                });
                Some(Err(()))
            }
        }
    }

    /// Where the bare field `name` is on each candidate event in scope.
    fn field_choices(&self, scope: &Scope, name: &str) -> Option<FieldChoices> {
        let (binding, events) = scope.field_source()?;
        let choices: Vec<(EventId, FieldIdx)> = events
            .iter()
            .filter_map(|&e| Some((e, self.prog.events.get(e.index())?.field_by_name(name)?)))
            .collect();
        if choices.is_empty() {
            None
        } else {
            Some((binding, events, choices))
        }
    }

    /// A bare name as a field of the event in scope. Under `on A or B` the field may
    /// come from any alternative: it must have one type on all of them, and it is
    /// optional when some alternative lacks it or declares it optional. `None` when no
    /// candidate event has the field (the name may still be a state).
    fn bare_field(&mut self, scope: &Scope, ident: &Ident) -> Option<Typed> {
        let (binding, events, choices) = self.field_choices(scope, ident.name.as_str())?;
        let span = ident.span;
        let field = |c: &Checker, (e, f): (EventId, FieldIdx)| c.prog.event(e).field(f).clone();
        let first = field(self, choices[0]);
        let mut optional = first.optional || choices.len() < events.len();
        for &c in &choices[1..] {
            let f = field(self, c);
            if f.ty != first.ty {
                self.report(Problem::FieldConflict {
                    span,
                    name: ident.name.to_string(),
                    a: (self.event_name(choices[0].0), self.ty_name(&first.ty)),
                    b: (self.event_name(c.0), self.ty_name(&f.ty)),
                });
                return Some(self.placeholder(span));
            }
            optional |= f.optional;
        }
        if choices.iter().any(|&(e, f)| self.untyped(e, f)) {
            return Some(self.placeholder(span));
        }
        for &(e, f) in &choices {
            self.mark_field_used(e, f);
        }
        let ty = maybe_optional(first.ty, optional);
        Some(self.ok(Expr::Field { binding, choices }, ty, span))
    }

    /// A state's current value. Not allowed in a fan-out value (evaluated once per
    /// event, not per customer) nor in an aggregate's `where` (evaluated when the event
    /// is taken in, for every reader). A state of unknown type reads as the error type.
    fn state_read(&mut self, scope: &Scope, sid: crate::ir::StateId, span: Span) -> Typed {
        let name = self.prog.state(sid).name.clone();
        if let Some(u) = self.state_used.get_mut(sid.index()) {
            *u = true;
        }
        match scope.place {
            Place::FanOut => {
                self.report(Problem::BadFanOutValue {
                    span,
                    what: format!("state `{name}`"),
                });
                self.placeholder(span)
            }
            Place::AggFilter => {
                self.report(Problem::BadAggregate {
                    span,
                    reason: format!("reads state `{name}`"),
                    help: Some(
                        "an aggregate's `where` reads only the aggregated event's fields".into(),
                    ),
                });
                self.placeholder(span)
            }
            _ if !self.state_typed.get(sid.index()).copied().unwrap_or(false) => {
                self.placeholder(span)
            }
            _ => {
                let ty = self.prog.state(sid).ty.clone();
                self.ok(Expr::State(sid), ty, span)
            }
        }
    }

    /// Whether a bare name means a field in scope or a state.
    fn is_value_name(&self, scope: &Scope, ident: &Ident) -> bool {
        self.states.contains_key(&ident.name)
            || self.field_choices(scope, ident.name.as_str()).is_some()
    }

    /// A name that resolved to nothing: report it once with the closest known name,
    /// as a missing field when an event is in scope and a misspelt state otherwise.
    /// Silent when an unknown event in scope may be what declares it (`scope.partial`);
    /// `no-start-event` when it is a field of some event but the trigger has no
    /// starting event.
    fn unknown_name(&mut self, scope: &Scope, ident: &Ident) -> Typed {
        let span = ident.span;
        let name = ident.name.to_string();
        if scope.partial {
            return self.placeholder(span);
        }
        if let Some(how) = scope.missing_start()
            && self
                .prog
                .events
                .iter()
                .any(|e| e.field_by_name(&name).is_some())
        {
            self.report(Problem::NoStartEvent {
                span,
                name,
                start: how,
            });
            return self.placeholder(span);
        }
        let mut fields: Vec<String> = Vec::new();
        let source = scope.field_source();
        if let Some((_, events)) = &source {
            for &e in events {
                for f in &self.prog.event(e).fields {
                    if !fields.contains(&f.name) {
                        fields.push(f.name.clone());
                    }
                }
            }
        }
        let states: Vec<String> = self.prog.states.iter().map(|s| s.name.clone()).collect();
        let mut known = fields.clone();
        known.extend(states.iter().cloned());
        known.extend(self.aliases.iter().map(|a| a.name.to_string()));
        known.extend(["key", "now", "ts"].map(String::from));
        let suggestion = crate::diag::did_you_mean(&name, known.iter().map(String::as_str));
        let means_state = suggestion.is_some_and(|s| states.iter().any(|st| st == s));
        match source {
            Some((_, events)) if !means_state => {
                let names: Vec<String> = events
                    .iter()
                    .map(|&e| format!("`{}`", self.event_name(e)))
                    .collect();
                let owner = if names.len() == 1 {
                    names.join("")
                } else {
                    format!("none of {}", names.join(", "))
                };
                self.report(Problem::UnknownField {
                    span,
                    name,
                    owner,
                    known,
                });
            }
            _ => self.report(Problem::Unknown {
                kind: NameKind::Name,
                span,
                name,
                known,
                note: None,
            }),
        }
        self.placeholder(span)
    }

    /// `base.field`: `profile.x`, `alias.f`, or a member of a computed value
    /// (`last(E).f`, `x.empty`). A base that is neither a value nor an alias is
    /// reported as a misspelt state when a state is closer than any alias.
    pub(super) fn field_access(
        &mut self,
        scope: &Scope,
        base: ast::ExprId,
        field: &Ident,
        span: Span,
    ) -> Typed {
        let b = self.ast.expr(base);
        if let ExprKind::Name(n) = &b.kind {
            let nm = n.name.as_str();
            if nm == "profile" {
                return self.profile_read(scope, field, span);
            }
            if !matches!(nm, "key" | "now" | "ts") {
                if let Some(hit) = self.alias_lookup(scope, n) {
                    return match hit {
                        Ok(h) => self.alias_field(&h, n, field, span),
                        Err(()) => self.placeholder(span),
                    };
                }
                if !self.is_value_name(scope, n) {
                    if !scope.partial {
                        // `carts.empty` is a misspelled state more often than an
                        // alias: states are candidates too, and the message names
                        // what was meant when that is what is close.
                        let aliases: Vec<String> =
                            self.aliases.iter().map(|a| a.name.to_string()).collect();
                        let states: Vec<String> =
                            self.prog.states.iter().map(|s| s.name.clone()).collect();
                        let means_state =
                            crate::diag::did_you_mean(nm, states.iter().map(String::as_str))
                                .is_some()
                                && crate::diag::did_you_mean(
                                    nm,
                                    aliases.iter().map(String::as_str),
                                )
                                .is_none();
                        let (kind, known) = match means_state {
                            true => (NameKind::Name, states),
                            false => (NameKind::Alias, aliases),
                        };
                        self.report(Problem::Unknown {
                            kind,
                            span: n.span,
                            name: nm.to_owned(),
                            known,
                            note: None,
                        });
                    }
                    return self.placeholder(span);
                }
            }
        }
        let base_t = if matches!(b.kind, ExprKind::Aggregate { .. }) {
            self.aggregate(scope, b, true)
        } else {
            self.expr(scope, base)
        };
        self.member(base_t, field, span)
    }

    /// `alias.f` or `alias.ts`. The read is optional when the alias is on one of several
    /// start alternatives (it is unbound when another one started the instance).
    fn alias_field(&mut self, hit: &AliasHit, alias: &Ident, field: &Ident, span: Span) -> Typed {
        let Some(event) = hit.event else {
            return self.placeholder(span);
        };
        if field.name.as_str() == "ts" {
            // On one of several start alternatives the alias may be unbound.
            let (of, ty) = match hit.optional {
                true => (Some(event), Ty::Time.optional()),
                false => (None, Ty::Time),
            };
            let time = Expr::EventTime {
                binding: hit.binding,
                of,
            };
            return self.ok(time, ty, span);
        }
        let def = self.prog.event(event);
        let Some(idx) = def.field_by_name(field.name.as_str()) else {
            let known = def.fields.iter().map(|f| f.name.clone()).collect();
            let owner = format!("`{}` (alias `{}`)", def.name, alias.name);
            self.report(Problem::UnknownField {
                span: field.span,
                name: field.name.to_string(),
                owner,
                known,
            });
            return self.placeholder(span);
        };
        let f = def.field(idx);
        let ty = maybe_optional(f.ty.clone(), f.optional || hit.optional);
        if self.untyped(event, idx) {
            return self.placeholder(span);
        }
        self.mark_field_used(event, idx);
        self.ok(
            Expr::Field {
                binding: hit.binding,
                choices: vec![(event, idx)],
            },
            ty,
            span,
        )
    }

    /// `.f` on a computed value: a stored event's field or time, or `.empty`.
    fn member(&mut self, base: Typed, field: &Ident, span: Span) -> Typed {
        let Some(ty) = base.ty.clone() else {
            return self.placeholder(span);
        };
        let (inner, opt) = split_optional(&ty);
        let fname = field.name.as_str();
        if let Ty::Event(event) = *inner {
            if fname == "ts" {
                return self.ok(
                    Expr::StoredEventTime { base: base.id },
                    Ty::Time.optional(),
                    span,
                );
            }
            let def = self.prog.event(event);
            let Some(idx) = def.field_by_name(fname) else {
                let known = def.fields.iter().map(|f| f.name.clone()).collect();
                let owner = format!("`{}`", def.name);
                self.report(Problem::UnknownField {
                    span: field.span,
                    name: fname.to_owned(),
                    owner,
                    known,
                });
                return self.placeholder(span);
            };
            let fty = def.field(idx).ty.clone();
            if self.untyped(event, idx) {
                return self.placeholder(span);
            }
            self.mark_field_used(event, idx);
            return self.ok(
                Expr::EventField {
                    base: base.id,
                    event,
                    field: idx,
                },
                fty.optional(),
                span,
            );
        }
        let collection = matches!(inner, Ty::Set(_) | Ty::List(_) | Ty::Str);
        if fname == "empty" && collection {
            return self.ok(
                Expr::Call {
                    func: Builtin::Empty,
                    args: vec![base.id],
                },
                maybe_optional(Ty::Bool, opt),
                span,
            );
        }
        let known = if collection {
            vec!["empty".to_owned()]
        } else {
            Vec::new()
        };
        let owner = format!("a `{}` value", self.ty_name(&ty));
        self.report(Problem::UnknownField {
            span: field.span,
            name: fname.to_owned(),
            owner,
            known,
        });
        self.placeholder(span)
    }

    /// `profile.x`: always optional (a customer may not have it yet). Not allowed where
    /// no customer is known yet: a fan-out value or an aggregate's `where`.
    fn profile_read(&mut self, scope: &Scope, field: &Ident, span: Span) -> Typed {
        match scope.place {
            Place::FanOut => {
                self.report(Problem::BadFanOutValue {
                    span,
                    what: "`profile`".into(),
                });
                return self.placeholder(span);
            }
            Place::AggFilter => {
                self.report(Problem::BadAggregate {
                    span,
                    reason: "reads the profile".into(),
                    help: Some(
                        "an aggregate's `where` reads only the aggregated event's fields".into(),
                    ),
                });
                return self.placeholder(span);
            }
            _ => {}
        }
        let name = field.name.to_string();
        let Some(&pid) = self.profile.get(&name) else {
            let known = self.prog.profile.iter().map(|p| p.name.clone()).collect();
            self.report(Problem::Unknown {
                kind: NameKind::ProfileField,
                span: field.span,
                name,
                known,
                note: None,
            });
            return self.placeholder(span);
        };
        if !self.profile_slots[pid.index()].typed {
            self.report(Problem::ProfileTypeUnknown { span, name });
            return self.placeholder(span);
        }
        let ty = self.prog.profile[pid.index()].ty.clone().optional();
        self.ok(Expr::Profile(pid), ty, span)
    }
}
