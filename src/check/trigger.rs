//! Triggers: options, start (events, schedule, enroll), fan-out, steps and actions,
//! plus the profile attributes that `set profile.x = ...` actions declare.

use croner::parser::{CronParser, Seconds, Year};

use crate::ir::{
    ActionIr, ActionKind, EventId, FanOutIr, Limit, PatternIr, Payload, Reentry, ScheduleIr,
    StartIr, StepIr, TriggerDef, TriggerId, Ty,
};
use crate::syntax::{self as ast, Decl};

use super::error::{NameKind, Problem};
use super::scope::{Alias, AliasRole, Place, Scope, StartEvents};
use super::types::{Fit, fits, split_optional};
use super::{Checker, TriggerHead};

/// Every pattern of a trigger, in a fixed order (start, `exit on`, then each step's
/// `unless`), with its resolved event and alias.
struct Setup {
    start: StartEvents,
    /// Some start pattern's event is unknown (already reported). A bare name in a
    /// step, the fan-out value or an `unless`/`exit on` filter may then be a field of
    /// that event, so names that resolve to nothing there are not reported again.
    /// An unknown `unless` or `exit on` event does not set it: its fields are visible
    /// only in its own `where`, so it cannot explain a bad name anywhere else.
    start_unknown: bool,
    events: Vec<Option<EventId>>,
    aliases: Vec<Option<usize>>,
}

/// Every pattern of `t` in the fixed order (start, `exit on`, each step's `unless`)
/// that [`Setup`] and [`Checker::pattern`] index by position, with the place
/// its `where` is checked in.
fn patterns(t: &ast::Trigger) -> Vec<(&ast::Pattern, Place)> {
    let mut out = Vec::new();
    if let ast::Start::On { patterns, .. } = &t.start {
        out.extend(patterns.iter().map(|p| (p, Place::StartFilter)));
    }
    for o in &t.options {
        if let ast::TriggerOption::ExitOn { patterns, .. } = o {
            out.extend(patterns.iter().map(|p| (p, Place::MatchFilter)));
        }
    }
    for s in &t.steps {
        if let Some(w) = &s.wait {
            out.extend(w.unless.iter().map(|p| (p, Place::MatchFilter)));
        }
    }
    out
}

/// Every `set profile.x = value` in `t`'s steps.
fn set_profile_actions(t: &ast::Trigger) -> impl Iterator<Item = (&ast::Ident, ast::ExprId)> {
    t.steps
        .iter()
        .flat_map(|s| &s.actions)
        .filter_map(|a| match &a.kind {
            ast::ActionKind::SetProfile { field, value } => Some((field, *value)),
            _ => None,
        })
}

impl Checker<'_> {
    /// Register every trigger name before any body is checked, so `enroll` may name a
    /// trigger declared later or in another file. A duplicate is reported and keeps
    /// the first.
    pub(super) fn declare_triggers(&mut self) {
        let ast = self.ast;
        for decl in &ast.decls {
            let Decl::Trigger(t) = decl else { continue };
            if let Some(&first) = self.triggers.get(&t.name.name) {
                let first = self.trigger_heads[first.index()].name_span;
                self.report(Problem::Duplicate {
                    span: t.name.span,
                    kind: "trigger",
                    name: t.name.name.to_string(),
                    first,
                });
                continue;
            }
            let (enroll_start, start_span) = match &t.start {
                ast::Start::Enroll { span } => (Some(*span), *span),
                ast::Start::On { span, .. } | ast::Start::Schedule { span, .. } => (None, *span),
            };
            self.triggers
                .insert(t.name.name, TriggerId::from_index(self.trigger_heads.len()));
            self.trigger_heads.push(TriggerHead {
                name: t.name.name.to_string(),
                name_span: t.name.span,
                enroll_start,
                start_span,
                enrolled: false,
            });
        }
    }

    /// Profile attributes written by `set profile.x = e` and declared nowhere else
    /// take the type of `e`. Values may read other such attributes, so their types
    /// are inferred ahead of the real check, repeating while that makes progress.
    pub(super) fn declare_profile_writes(&mut self) {
        let ast = self.ast;
        let triggers: Vec<&ast::Trigger> = ast
            .decls
            .iter()
            .filter_map(|d| {
                if let Decl::Trigger(t) = d {
                    Some(t)
                } else {
                    None
                }
            })
            .collect();
        for t in &triggers {
            for (field, _) in set_profile_actions(t) {
                if !self.profile.contains_key(field.name.as_str()) {
                    self.add_profile_field(field.name.to_string(), None, field.span);
                }
            }
        }
        loop {
            let mut progress = false;
            for t in &triggers {
                for (field, value) in set_profile_actions(t) {
                    let Some(&pid) = self.profile.get(field.name.as_str()) else {
                        continue;
                    };
                    if self.profile_slots[pid.index()].typed {
                        continue;
                    }
                    if let Some(ty) = self.probe_value(t, value) {
                        self.prog.profile[pid.index()].ty = split_optional(&ty).0.clone();
                        self.profile_slots[pid.index()].typed = true;
                        progress = true;
                    }
                }
            }
            if !progress {
                break;
            }
        }
    }

    /// The type `value` (in a step of `t`) would have, without reporting or keeping
    /// anything.
    fn probe_value(&mut self, t: &ast::Trigger, value: ast::ExprId) -> Option<Ty> {
        let probing = std::mem::replace(&mut self.probing, true);
        let (n_exprs, n_aggs) = (self.prog.exprs.len(), self.prog.aggregates.len());
        let aliases = std::mem::take(&mut self.aliases);
        let setup = self.setup(t);
        let mut scope = Scope::new(Place::Step, None, setup.start);
        scope.partial = setup.start_unknown;
        let ty = self.expr(&scope, value).ty;
        self.prog.exprs.truncate(n_exprs);
        self.prog.expr_types.truncate(n_exprs);
        self.prog.expr_spans.truncate(n_exprs);
        self.prog.aggregates.truncate(n_aggs);
        self.agg_keys.retain(|_, id| id.index() < n_aggs);
        self.aliases = aliases;
        self.probing = probing;
        ty
    }

    /// Resolve every pattern's event and bind every alias of `t`.
    fn setup(&mut self, t: &ast::Trigger) -> Setup {
        self.aliases.clear();
        let pats = patterns(t);
        let n_start = match &t.start {
            ast::Start::On { patterns, .. } => patterns.len(),
            _ => 0,
        };
        let mut setup = Setup {
            start: StartEvents::NoTrigger,
            start_unknown: false,
            events: Vec::new(),
            aliases: Vec::new(),
        };
        for (p, place) in &pats {
            let ev = self.event_ref(&p.event);
            if *place == Place::StartFilter {
                setup.start_unknown |= ev.is_none();
            }
            setup.events.push(ev);
            let Some(a) = &p.alias else {
                setup.aliases.push(None);
                continue;
            };
            if let Some(first) = self.aliases.iter().find(|x| x.name == a.name) {
                let first = first.span;
                self.report(Problem::Duplicate {
                    span: a.span,
                    kind: "alias",
                    name: a.name.to_string(),
                    first,
                });
                setup.aliases.push(None);
                continue;
            }
            let role = if *place == Place::StartFilter {
                AliasRole::Start {
                    optional: n_start > 1,
                }
            } else {
                AliasRole::Matched
            };
            setup.aliases.push(Some(self.aliases.len()));
            self.aliases.push(Alias {
                name: a.name,
                span: a.span,
                event: ev,
                pattern: p.span,
                role,
                used: false,
            });
        }
        setup.start = match &t.start {
            ast::Start::On { .. } => {
                StartEvents::Events(setup.events[..n_start].iter().flatten().copied().collect())
            }
            ast::Start::Enroll { .. } => StartEvents::Missing("`on enroll`"),
            ast::Start::Schedule { .. } => StartEvents::Missing("on a schedule"),
        };
        setup
    }

    /// Check and lower every trigger, then lint it. A duplicate trigger is still
    /// checked, so its own mistakes show, but only the first is kept.
    pub(super) fn check_triggers(&mut self) {
        let ast = self.ast;
        for t in ast.decls.iter().filter_map(|d| {
            if let Decl::Trigger(t) = d {
                Some(t)
            } else {
                None
            }
        }) {
            let is_first = self
                .triggers
                .get(&t.name.name)
                .is_some_and(|&id| self.trigger_heads[id.index()].name_span == t.name.span);
            let placeholders = self.placeholders;
            let def = self.check_trigger(t);
            // A failed expression lowers to a `false` placeholder; constant-guard
            // warnings would then be noise.
            let clean = self.placeholders == placeholders;
            self.lint_trigger(t, &def, clean);
            self.warn_unused_aliases();
            if is_first {
                self.prog.triggers.push(def);
            }
        }
    }

    /// Check one trigger in source order: options, start patterns, `exit on`, fan-out,
    /// then each step's `unless`, guard and actions. A failed part is left out of the
    /// returned definition, which is thrown away anyway once an error was reported.
    fn check_trigger(&mut self, t: &ast::Trigger) -> TriggerDef {
        let setup = self.setup(t);
        let mut cursor = 0usize;
        let mut def = TriggerDef {
            name: t.name.name.to_string(),
            description: t.description.as_ref().map(|d| d.value.clone()),
            span: t.name.span,
            priority: 50,
            cooldown: None,
            limit: None,
            reentry: Reentry::Restart,
            exit_on: Vec::new(),
            start: StartIr::Enroll,
            fan_out: None,
            steps: Vec::new(),
        };
        self.options(t, &mut def);
        def.start = match &t.start {
            ast::Start::On { patterns, .. } => {
                let mut out = Vec::new();
                for p in patterns {
                    out.extend(self.pattern(p, &setup, cursor, Place::StartFilter));
                    cursor += 1;
                }
                StartIr::On(out)
            }
            ast::Start::Enroll { .. } => StartIr::Enroll,
            ast::Start::Schedule { schedule, .. } => StartIr::Schedule(self.schedule(schedule)),
        };
        for o in &t.options {
            if let ast::TriggerOption::ExitOn { patterns, .. } = o {
                for p in patterns {
                    def.exit_on
                        .extend(self.pattern(p, &setup, cursor, Place::MatchFilter));
                    cursor += 1;
                }
            }
        }
        if let Some(f) = &t.fan_out {
            def.fan_out = self.fan_out(f, t, &setup);
        }
        let mut step_scope = Scope::new(Place::Step, None, setup.start.clone());
        step_scope.partial = setup.start_unknown;
        for s in &t.steps {
            let mut step = StepIr {
                span: s.span,
                wait: 0,
                unless: Vec::new(),
                guard: None,
                actions: Vec::new(),
            };
            if let Some(w) = &s.wait {
                step.wait = w.duration.millis.max(0);
                for p in &w.unless {
                    step.unless
                        .extend(self.pattern(p, &setup, cursor, Place::MatchFilter));
                    cursor += 1;
                }
            }
            step.guard = s
                .guard
                .map(|g| self.condition(&step_scope, g, "a step's `if`"));
            for a in &s.actions {
                if let Some(kind) = self.action(&step_scope, a) {
                    step.actions.push(ActionIr { span: a.span, kind });
                }
            }
            def.steps.push(step);
        }
        def
    }

    /// The option lines: each at most once, priority 1 to 100, a cooldown and a limit
    /// window above zero, a limit count of at least 1. `exit on` is checked with the
    /// other patterns.
    fn options(&mut self, t: &ast::Trigger, def: &mut TriggerDef) {
        let mut seen: [Option<ast::Span>; 4] = [None; 4];
        for o in &t.options {
            let (slot, word, span) = match o {
                ast::TriggerOption::Priority { span, .. } => (0, "priority", *span),
                ast::TriggerOption::Cooldown { span, .. } => (1, "cooldown", *span),
                ast::TriggerOption::Limit { span, .. } => (2, "limit", *span),
                ast::TriggerOption::Reentry { span, .. } => (3, "reentry", *span),
                ast::TriggerOption::ExitOn { .. } => continue,
            };
            if let Some(first) = seen[slot] {
                self.report(Problem::DuplicateOption {
                    span,
                    option: word.to_owned(),
                    first,
                });
                continue;
            }
            seen[slot] = Some(span);
            match o {
                ast::TriggerOption::Priority { span, value } => match u8::try_from(*value) {
                    Ok(p) if (1..=100).contains(&p) => def.priority = p,
                    _ => self.report(Problem::PriorityOutOfRange {
                        span: *span,
                        value: *value,
                    }),
                },
                ast::TriggerOption::Cooldown { duration, .. } => {
                    if duration.millis <= 0 {
                        self.report(Problem::ZeroDuration {
                            span: duration.span,
                            what: "a cooldown",
                        });
                    } else {
                        def.cooldown = Some(duration.millis);
                    }
                }
                ast::TriggerOption::Limit { span, count, per } => {
                    let count = u32::try_from(*count).ok().filter(|&c| c >= 1);
                    if count.is_none() {
                        self.report(Problem::BadLimit {
                            span: *span,
                            reason: "the count must be at least 1",
                        });
                    } else if per.millis <= 0 {
                        self.report(Problem::BadLimit {
                            span: per.span,
                            reason: "the window must be above zero",
                        });
                    } else if let Some(count) = count {
                        def.limit = Some(Limit {
                            count,
                            per: per.millis,
                        });
                    }
                }
                ast::TriggerOption::Reentry { mode, .. } => {
                    def.reentry = match mode {
                        ast::Reentry::Restart => Reentry::Restart,
                        ast::Reentry::Skip => Reentry::Skip,
                        ast::Reentry::Parallel => Reentry::Parallel,
                    };
                }
                ast::TriggerOption::ExitOn { .. } => {}
            }
        }
    }

    /// The `index`-th pattern of the trigger (see [`patterns`]). Its `where` reads the
    /// matched event; in `unless`/`exit on` also the starting event, through aliases.
    /// `None` when its event is unknown (reported); the filter is still checked, with
    /// names that resolve to nothing left silent since they may be that event's.
    fn pattern(
        &mut self,
        p: &ast::Pattern,
        setup: &Setup,
        index: usize,
        place: Place,
    ) -> Option<PatternIr> {
        let ev = setup.events.get(index).copied().flatten();
        let mut scope = Scope::new(place, ev, setup.start.clone());
        scope.current_alias = setup.aliases.get(index).copied().flatten();
        // Its own event unknown: its `where` may read that event's fields. An
        // `unless`/`exit on` filter also sees the starting event's fields.
        scope.partial = ev.is_none() || (place == Place::MatchFilter && setup.start_unknown);
        let filter = p
            .filter
            .map(|f| self.condition(&scope, f, "a pattern's `where`"));
        Some(PatternIr {
            event: ev?,
            filter,
            span: p.span,
        })
    }

    /// An `every`/`cron` schedule: `every` takes at least a minute and a cron text must
    /// be what the runtime's cron parser accepts.
    fn schedule(&mut self, s: &ast::Schedule) -> ScheduleIr {
        match s {
            ast::Schedule::Every(d) => {
                // Every instant visits every customer seen so far: below a minute
                // (cron's resolution too) a gap in the input of days would take
                // millions of instants, i.e. a run that does not end.
                if d.millis < 60_000 {
                    self.report(Problem::BadSchedule {
                        span: d.span,
                        zero: d.millis <= 0,
                    });
                }
                ScheduleIr::Every(d.millis)
            }
            ast::Schedule::DailyAt { minute_of_day, .. } => ScheduleIr::DailyAt {
                minute_of_day: *minute_of_day,
            },
            ast::Schedule::Cron(text) => {
                if let Some(reason) = cron_problem(&text.value) {
                    self.report(Problem::BadCron {
                        span: text.span,
                        reason,
                    });
                }
                ScheduleIr::Cron(text.value.clone())
            }
        }
    }

    /// `for each key where STATE contains VALUE`: only after a start on events keyed by
    /// another field, over a set state whose member type the value fits. The value
    /// reads only the starting event (no state, profile or aggregate: it is evaluated
    /// once per event, before any customer is chosen). Every part is checked before
    /// giving up, so each mistake is reported.
    fn fan_out(&mut self, f: &ast::FanOut, t: &ast::Trigger, setup: &Setup) -> Option<FanOutIr> {
        let mut failed = false;
        match &t.start {
            ast::Start::On { patterns, .. } => {
                for ev in setup.events.iter().take(patterns.len()) {
                    let Some(ev) = *ev else { continue };
                    let def = self.prog.event(ev);
                    if def.keyed_by.is_none() {
                        let (event, event_span) = (def.name.clone(), def.span);
                        self.report(Problem::FanOutNotKeyed {
                            span: f.span,
                            event,
                            event_span,
                        });
                        failed = true;
                    }
                }
            }
            ast::Start::Enroll { .. } | ast::Start::Schedule { .. } => {
                let how = if matches!(t.start, ast::Start::Enroll { .. }) {
                    "`on enroll`"
                } else {
                    "on a schedule"
                };
                self.report(Problem::NoStartEvent {
                    span: f.span,
                    name: "for each key".into(),
                    start: how,
                });
                failed = true;
            }
        }
        let mut scope = Scope::new(Place::FanOut, None, setup.start.clone());
        scope.partial = setup.start_unknown;
        let value = self.expr(&scope, f.value);
        let Some(&sid) = self.states.get(&f.state.name) else {
            let known = self.prog.states.iter().map(|s| s.name.clone()).collect();
            self.report(Problem::Unknown {
                kind: NameKind::State,
                span: f.state.span,
                name: f.state.name.to_string(),
                known,
                note: None,
            });
            return None;
        };
        self.state_used[sid.index()] = true;
        self.prog.states[sid.index()].indexed = true;
        let state_ty = self.prog.state(sid).ty.clone();
        let Ty::Set(member) = &state_ty else {
            self.report(Problem::FanOutNotSet {
                span: f.state.span,
                state: f.state.name.to_string(),
                state_ty: self.ty_name(&state_ty),
                value_ty: None,
            });
            return None;
        };
        let vty = value.ty.clone()?;
        let value_id = match fits(split_optional(&vty).0, member) {
            Fit::Direct => value.id,
            Fit::Promote => self.promoted(value).id,
            Fit::No => {
                let span = self.ast.expr(f.value).span;
                self.report(Problem::FanOutNotSet {
                    span,
                    state: f.state.name.to_string(),
                    state_ty: self.ty_name(&state_ty),
                    value_ty: Some(self.ty_name(&vty)),
                });
                return None;
            }
        };
        if failed {
            return None;
        }
        Some(FanOutIr {
            state: sid,
            value: value_id,
            span: f.span,
        })
    }

    /// One action: its payload or value checked against where it goes (`email … to`
    /// a string, `set profile.x` the attribute's type, `enroll` an `on enroll`
    /// trigger). `None` (reported) when it failed.
    fn action(&mut self, scope: &Scope, a: &ast::Action) -> Option<ActionKind> {
        Some(match &a.kind {
            ast::ActionKind::Webhook { url, with } => ActionKind::Webhook {
                url: url.value.clone(),
                payload: self.payload(scope, *with)?,
            },
            ast::ActionKind::Email { template, to, with } => {
                // Check both parts before giving up on either.
                let to = to.map(|x| self.expect(scope, x, &Ty::Str.optional(), "an email's `to`"));
                let payload = self.payload(scope, *with)?;
                let to = match to {
                    Some(t) => Some(t?),
                    None => None,
                };
                ActionKind::Email {
                    template: template.value.clone(),
                    to,
                    payload,
                }
            }
            ast::ActionKind::Emit { name, with } => ActionKind::Emit {
                name: name.value.clone(),
                payload: self.payload(scope, *with)?,
            },
            ast::ActionKind::SetProfile { field, value } => {
                let pid = *self.profile.get(field.name.as_str())?;
                if !self.profile_slots[pid.index()].typed {
                    let t = self.expr(scope, *value);
                    if t.ty.is_some() {
                        self.report(Problem::ProfileTypeUnknown {
                            span: field.span,
                            name: field.name.to_string(),
                        });
                    }
                    return None;
                }
                let ty = self.prog.profile[pid.index()].ty.clone();
                if matches!(ty, Ty::Object | Ty::Event(_)) {
                    let t = self.expr(scope, *value);
                    let span = self.ast.expr(*value).span;
                    self.report(Problem::Mismatch {
                        span,
                        expected: "a value".into(),
                        found: self.ty_name(&t.ty?),
                        place: "a profile attribute",
                    });
                    return None;
                }
                let value = self.expect(scope, *value, &ty.optional(), "`set profile`")?;
                ActionKind::SetProfile { field: pid, value }
            }
            ast::ActionKind::Enroll { trigger } => {
                let Some(&tid) = self.triggers.get(&trigger.name) else {
                    let known = self.trigger_heads.iter().map(|h| h.name.clone()).collect();
                    self.report(Problem::Unknown {
                        kind: NameKind::Trigger,
                        span: trigger.span,
                        name: trigger.name.to_string(),
                        known,
                        note: None,
                    });
                    return None;
                };
                let head = &mut self.trigger_heads[tid.index()];
                head.enrolled = true;
                if head.enroll_start.is_none() {
                    let start = head.start_span;
                    self.report(Problem::NotEnrollable {
                        span: trigger.span,
                        trigger: trigger.name.to_string(),
                        start,
                    });
                    return None;
                }
                ActionKind::Enroll { trigger: tid }
            }
        })
    }

    /// `with { ... }`, or the starting event's fields (all of them are then used).
    fn payload(&mut self, scope: &Scope, with: Option<ast::ExprId>) -> Option<Payload> {
        let Some(x) = with else {
            if let StartEvents::Events(evs) = &scope.start {
                for &e in evs {
                    self.mark_all_fields_used(e);
                }
            }
            return Some(Payload::StartEvent);
        };
        let t = self.expr(scope, x);
        let ty = t.ty?;
        if ty != Ty::Object {
            let span = self.ast.expr(x).span;
            self.report(Problem::Mismatch {
                span,
                expected: "object".into(),
                found: self.ty_name(&ty),
                place: "a payload (`with { ... }`)",
            });
            return None;
        }
        Some(Payload::Object(t.id))
    }
}

/// Why `text` is not a 5-field cron expression (UTC), if it is not one. `croner`
/// parses it, so the runtime's next-fire computation accepts exactly what passes here.
fn cron_problem(text: &str) -> Option<String> {
    let fields = text.split_whitespace().count();
    if fields != 5 && !text.trim_start().starts_with('@') {
        return Some(format!("expected 5 fields, found {fields}"));
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build();
    parser.parse(text).err().map(|e| match e {
        croner::errors::CronError::ComponentError(m)
        | croner::errors::CronError::InvalidPattern(m) => m.trim_end_matches('.').to_lowercase(),
        e => e.to_string().trim_end_matches('.').to_lowercase(),
    })
}
