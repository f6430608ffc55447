//! Structural checks of a [`Program`] (the invariants listed in `ir`), run in tests
//! and debug builds after lowering. A violation is a bug in the checker, never a
//! problem in the rules, so the result is plain text for a test failure message.
//!
//! Checked: side tables match the arena; every id indexes its table; operands come
//! before the expression that uses them (so the arena is in evaluation order and
//! acyclic); operand types of operators agree (with the `time`/`duration`
//! exceptions); `int` meets `float` only through `ToFloat`; guards and filters are
//! `bool`/`bool?`; [`Binding::Current`] is read only in pattern, reducer and aggregate
//! filters, [`Binding::Start`] only in triggers that start on events; the
//! [`super::Layout`] covers every aggregate and event, a `count` reads only a
//! longer-or-equal windowed `count`/`sum` host over the same event and filter, a
//! hosting `sum` is read by some `count`, and every reducer rule and storing
//! aggregate is fed by exactly its own event type.

use super::{
    ActionKind, AggKind, AggStorage, BinaryOp, Binding, Builtin, Expr, ExprId, Feed, PatternIr,
    Payload, Program, ReducerOp, StartIr, Ty,
};

/// Every violated invariant, as text.
pub fn verify(program: &Program) -> Vec<String> {
    let mut v = Verifier {
        p: program,
        errors: Vec::new(),
    };
    v.tables();
    v.exprs();
    v.decls();
    v.layout();
    v.errors
}

struct Verifier<'a> {
    p: &'a Program,
    errors: Vec<String>,
}

/// What a root expression may read.
#[derive(Clone, Copy)]
struct Reads {
    current: bool,
    start: bool,
}

impl Verifier<'_> {
    fn err(&mut self, msg: String) {
        self.errors.push(msg);
    }

    fn tables(&mut self) {
        let n = self.p.exprs.len();
        if self.p.expr_types.len() != n || self.p.expr_spans.len() != n {
            self.err(format!(
                "side tables: {} exprs, {} types, {} spans",
                n,
                self.p.expr_types.len(),
                self.p.expr_spans.len()
            ));
        }
    }

    fn ty(&self, id: ExprId) -> Option<&Ty> {
        self.p.expr_types.get(id.index())
    }

    fn base(&self, id: ExprId) -> Option<&Ty> {
        self.ty(id).map(Ty::strip_optional)
    }

    fn field_ok(&self, e: super::EventId, f: super::FieldIdx) -> bool {
        self.p
            .events
            .get(e.index())
            .is_some_and(|ev| f.index() < ev.fields.len())
    }

    /// Per-expression checks: operand order, ids, operator typing.
    fn exprs(&mut self) {
        for (i, e) in self.p.exprs.iter().enumerate() {
            let me = ExprId::from_index(i);
            for op in e.operands() {
                if op.index() >= i {
                    self.err(format!("{me}: operand {op} does not come before it"));
                }
            }
            match e {
                Expr::Field { choices, .. } => {
                    if choices.is_empty() {
                        self.err(format!("{me}: field read with no choices"));
                    }
                    for &(ev, f) in choices {
                        if !self.field_ok(ev, f) {
                            self.err(format!("{me}: bad field {ev}.{f}"));
                        }
                    }
                }
                Expr::State(s) if s.index() >= self.p.states.len() => {
                    self.err(format!("{me}: bad state {s}"))
                }
                Expr::Profile(pf) if pf.index() >= self.p.profile.len() => {
                    self.err(format!("{me}: bad profile field {pf}"))
                }
                Expr::Agg(a) if a.index() >= self.p.aggregates.len() => {
                    self.err(format!("{me}: bad aggregate {a}"))
                }
                Expr::EventField { base, event, field } => {
                    if !self.field_ok(*event, *field) {
                        self.err(format!("{me}: bad field {event}.{field}"));
                    }
                    if self.ty(*base) != Some(&Ty::Event(*event).optional()) {
                        self.err(format!("{me}: base {base} is not a stored {event}"));
                    }
                }
                Expr::StoredEventTime { base }
                    if !matches!(self.base(*base), Some(Ty::Event(_))) =>
                {
                    self.err(format!("{me}: base {base} is not a stored event"));
                }
                Expr::ToFloat(x) if self.base(*x) != Some(&Ty::Int) => {
                    self.err(format!("{me}: float() of a non-int"));
                }
                Expr::Binary { op, lhs, rhs } => self.binary(me, *op, *lhs, *rhs),
                Expr::Call {
                    func: Builtin::Contains | Builtin::StartsWith | Builtin::EndsWith,
                    args,
                }
                | Expr::Call {
                    func:
                        Builtin::Len | Builtin::Empty | Builtin::Lower | Builtin::Upper | Builtin::Abs,
                    args,
                } => {
                    let want = match e {
                        Expr::Call {
                            func: Builtin::Contains | Builtin::StartsWith | Builtin::EndsWith,
                            ..
                        } => 2,
                        _ => 1,
                    };
                    if args.len() != want {
                        self.err(format!("{me}: call with {} arguments", args.len()));
                    }
                }
                _ => {}
            }
        }
    }

    fn binary(&mut self, me: ExprId, op: BinaryOp, lhs: ExprId, rhs: ExprId) {
        let (Some(l), Some(r)) = (self.base(lhs).cloned(), self.base(rhs).cloned()) else {
            return;
        };
        let ok = match op {
            BinaryOp::And | BinaryOp::Or => l == Ty::Bool && r == Ty::Bool,
            BinaryOp::In => match &r {
                Ty::Set(m) | Ty::List(m) => **m == l,
                Ty::Str => l == Ty::Str,
                _ => false,
            },
            BinaryOp::Add | BinaryOp::Sub => {
                l == r
                    || (l == Ty::Time && r == Ty::Duration)
                    || (op == BinaryOp::Sub && l == Ty::Time && r == Ty::Time)
            }
            BinaryOp::Mul => l == r || (l == Ty::Duration && matches!(r, Ty::Int | Ty::Float)),
            _ => l == r,
        };
        if !ok {
            self.err(format!("{me}: {op:?} on {l:?} and {r:?}"));
        }
    }

    fn decls(&mut self) {
        let p = self.p;
        for (i, e) in p.events.iter().enumerate() {
            if let Some(k) = e.keyed_by
                && k.index() >= e.fields.len()
            {
                self.err(format!("e{i}: keyed_by {k} out of range"));
            }
            if e.profile && e.profile_fields.len() != e.fields.len() {
                self.err(format!(
                    "e{i}: {} profile fields for {} fields",
                    e.profile_fields.len(),
                    e.fields.len()
                ));
            }
            if !e.profile && !e.profile_fields.is_empty() {
                self.err(format!("e{i}: profile fields on a non-profile event"));
            }
            for pf in &e.profile_fields {
                if pf.index() >= p.profile.len() {
                    self.err(format!("e{i}: bad profile field {pf}"));
                }
            }
        }
        let no_start = Reads {
            current: true,
            start: false,
        };
        for (i, s) in p.states.iter().enumerate() {
            for r in &s.rules {
                if r.event.index() >= p.events.len() {
                    self.err(format!("s{i}: bad event {}", r.event));
                }
                if let Some(f) = r.filter {
                    self.condition(f, no_start, &format!("s{i} filter"));
                }
                let arg = match r.op {
                    ReducerOp::Insert(x)
                    | ReducerOp::Remove(x)
                    | ReducerOp::Set(x)
                    | ReducerOp::Add(x) => Some(x),
                    ReducerOp::Push { value, .. } => Some(value),
                    ReducerOp::Clear => None,
                };
                if let Some(x) = arg {
                    self.root(x, no_start, &format!("s{i} reducer"));
                }
            }
        }
        for (i, a) in p.aggregates.iter().enumerate() {
            if a.event.index() >= p.events.len() {
                self.err(format!("a{i}: bad event {}", a.event));
            }
            if let Some(f) = a.field
                && !self.field_ok(a.event, f)
            {
                self.err(format!("a{i}: bad field {f}"));
            }
            if let Some(f) = a.filter {
                self.condition(f, no_start, &format!("a{i} filter"));
            }
        }
        for (i, t) in p.triggers.iter().enumerate() {
            let starts = matches!(t.start, StartIr::On(_));
            let step = Reads {
                current: false,
                start: starts,
            };
            let matched = Reads {
                current: true,
                start: starts,
            };
            let where_ = format!("t{i}");
            if let StartIr::On(pats) = &t.start {
                for pat in pats {
                    self.pattern(pat, no_start, &where_);
                }
            }
            for pat in &t.exit_on {
                self.pattern(pat, matched, &where_);
            }
            if let Some(f) = &t.fan_out {
                if f.state.index() >= p.states.len() {
                    self.err(format!("{where_}: bad fan-out state {}", f.state));
                } else if !matches!(p.state(f.state).ty, Ty::Set(_)) || !p.state(f.state).indexed {
                    self.err(format!("{where_}: fan-out state is not an indexed set"));
                }
                self.root(f.value, step, &where_);
            }
            for s in &t.steps {
                for pat in &s.unless {
                    self.pattern(pat, matched, &where_);
                }
                if let Some(g) = s.guard {
                    self.condition(g, step, &where_);
                }
                for a in &s.actions {
                    self.action(&a.kind, step, &where_);
                }
            }
        }
    }

    fn action(&mut self, a: &ActionKind, reads: Reads, where_: &str) {
        let payload = match a {
            ActionKind::Webhook { payload, .. } | ActionKind::Emit { payload, .. } => Some(payload),
            ActionKind::Email { to, payload, .. } => {
                if let Some(t) = to {
                    self.root(*t, reads, where_);
                }
                Some(payload)
            }
            ActionKind::SetProfile { field, value } => {
                if field.index() >= self.p.profile.len() {
                    self.err(format!("{where_}: bad profile field {field}"));
                }
                self.root(*value, reads, where_);
                None
            }
            ActionKind::Enroll { trigger } => {
                if trigger.index() >= self.p.triggers.len() {
                    self.err(format!("{where_}: bad trigger {trigger}"));
                } else if !matches!(self.p.trigger(*trigger).start, StartIr::Enroll) {
                    self.err(format!(
                        "{where_}: enrolls {trigger}, which does not start on enroll"
                    ));
                }
                None
            }
        };
        if let Some(Payload::Object(x)) = payload {
            if !matches!(self.p.exprs.get(x.index()), Some(Expr::Object(_))) {
                self.err(format!("{where_}: payload {x} is not an object"));
            }
            self.root(*x, reads, where_);
        }
    }

    fn pattern(&mut self, pat: &PatternIr, reads: Reads, where_: &str) {
        if pat.event.index() >= self.p.events.len() {
            self.err(format!("{where_}: bad event {}", pat.event));
        }
        if let Some(f) = pat.filter {
            self.condition(f, reads, where_);
        }
    }

    fn condition(&mut self, id: ExprId, reads: Reads, where_: &str) {
        if self.base(id) != Some(&Ty::Bool) {
            self.err(format!("{where_}: condition {id} is not bool"));
        }
        self.root(id, reads, where_);
    }

    /// Every binding read under `id` is allowed by `reads` (iterative walk).
    fn root(&mut self, id: ExprId, reads: Reads, where_: &str) {
        let mut stack = vec![id];
        while let Some(x) = stack.pop() {
            let Some(e) = self.p.exprs.get(x.index()) else {
                self.err(format!("{where_}: bad expression {x}"));
                continue;
            };
            let binding = match e {
                Expr::Field { binding, .. } | Expr::EventTime { binding, .. } => Some(*binding),
                _ => None,
            };
            match binding {
                Some(Binding::Current) if !reads.current => {
                    self.err(format!("{where_}: {x} reads the current event"))
                }
                Some(Binding::Start) if !reads.start => {
                    self.err(format!("{where_}: {x} reads the start event"))
                }
                _ => {}
            }
            stack.extend(e.operands());
        }
    }
}

impl Verifier<'_> {
    /// The storage layout against the tables it was derived from.
    fn layout(&mut self) {
        let p = self.p;
        let l = &p.layout;
        if !l.covers(p.aggregates.len(), p.events.len()) {
            self.err(format!(
                "layout: {} storages for {} aggregates, {} feed lists for {} events",
                l.storage.len(),
                p.aggregates.len(),
                l.feeds.len(),
                p.events.len()
            ));
            return;
        }
        let windowed =
            |k: AggKind, w: Option<i64>| w.is_some() && matches!(k, AggKind::Count | AggKind::Sum);
        let time_only = p.aggregates_read_only_for_time();
        for (i, (a, s)) in p.aggregates.iter().zip(&l.storage).enumerate() {
            match *s {
                AggStorage::Own => {}
                AggStorage::ReadsFrom(h) => {
                    let ok = h.index() != i
                        && a.kind == AggKind::Count
                        && a.within.is_some()
                        && p.aggregates.get(h.index()).is_some_and(|host| {
                            windowed(host.kind, host.within)
                                && host.event == a.event
                                && host.filter == a.filter
                                && host.within >= a.within
                                && !matches!(
                                    l.storage.get(h.index()),
                                    Some(AggStorage::ReadsFrom(_))
                                )
                        });
                    if !ok {
                        self.err(format!("a{i}: bad storage: reads a{}", h.index()));
                    }
                }
                AggStorage::TimeOnly => {
                    if a.kind != AggKind::Last || time_only.get(i) != Some(&true) {
                        self.err(format!("a{i}: bad storage: time only"));
                    }
                }
                AggStorage::Hosts => {
                    let read = l
                        .storage
                        .iter()
                        .any(|t| matches!(t, AggStorage::ReadsFrom(h) if h.index() == i));
                    if a.kind != AggKind::Sum || a.within.is_none() || !read {
                        self.err(format!("a{i}: bad storage: hosts"));
                    }
                }
            }
        }
        let mut rules_seen = 0usize;
        let mut aggs_seen = vec![false; p.aggregates.len()];
        for (e, list) in l.feeds.iter().enumerate() {
            for f in list {
                match *f {
                    Feed::Rule { state, rule } => {
                        let r = p
                            .states
                            .get(state.index())
                            .and_then(|s| s.rules.get(rule as usize));
                        if r.is_none_or(|r| r.event.index() != e) {
                            self.err(format!("feed of event {e}: bad rule {state}.{rule}"));
                        }
                        rules_seen += 1;
                    }
                    Feed::Agg(a) => {
                        if p.aggregates
                            .get(a.index())
                            .is_none_or(|x| x.event.index() != e)
                        {
                            self.err(format!("feed of event {e}: bad aggregate a{}", a.index()));
                        }
                        if let Some(seen) = aggs_seen.get_mut(a.index()) {
                            *seen = true;
                        }
                    }
                }
            }
        }
        let rules: usize = p.states.iter().map(|s| s.rules.len()).sum();
        if rules_seen != rules {
            self.err(format!(
                "feeds: {rules_seen} rules listed, {rules} declared"
            ));
        }
        for (i, (a, s)) in p.aggregates.iter().zip(&l.storage).enumerate() {
            let stores = !matches!(s, AggStorage::ReadsFrom(_));
            if (stores || a.filter.is_some()) && !aggs_seen.get(i).copied().unwrap_or(false) {
                self.err(format!("a{i}: fed by no event"));
            }
        }
    }
}
