//! What the runtime derives from a [`Program`] once, before the first event: the
//! firing order of triggers, which triggers each event type concerns, which start
//! fields an instance must keep, which expressions read `key`. Never serialised:
//! rebuilt from the program on restore.

use std::sync::Arc;

use super::schedule::Schedule;
use super::start_index::StartIndex;
use crate::interp::{Interner, Sym};
use crate::ir::{
    ActionKind, Binding, Expr, ExprId, PatternIr, Payload, ProfileFieldId, Program, StartIr,
    TriggerId,
};

/// The trigger starts on the event type.
pub const STARTS: u8 = 1;
/// The trigger has an `exit on` or `unless` pattern on the event type.
pub const ENDS: u8 = 2;

/// Most active instances of one `reentry parallel` trigger per key.
pub const PARALLEL_BOUND: usize = 64;

#[derive(Clone, Debug)]
pub struct Plan {
    /// Triggers in firing order at one instant: priority descending, then name.
    pub order: Vec<TriggerId>,
    /// Each trigger's position in `order`: the first part of a timer's tie.
    pub rank: Vec<u32>,
    /// Per event type: the triggers it concerns, in `order`, with `STARTS`/`ENDS`.
    pub by_event: Vec<Vec<(TriggerId, u8)>>,
    /// Per trigger × event type (`t * events + e`): `STARTS`/`ENDS`.
    roles: Vec<u8>,
    /// Event types.
    events: usize,
    /// Which triggers an event may start, by its field values.
    pub index: StartIndex,
    /// Per trigger: its first step's guard when the runtime decides it itself.
    pub direct_guards: Vec<Option<super::direct_guard::DirectGuard>>,
    /// Per trigger, per event type: how many leading fields of a starting event of
    /// that type an instance keeps (the fields read after the start).
    pub keep: Vec<Vec<usize>>,
    /// Per expression: whether evaluating it may read `key` (which is then interned).
    reads_key: Vec<bool>,
    /// Per expression: whether it may read the customer (`key`, a state, a profile
    /// attribute or an aggregate). One that does not gives the same value for every
    /// customer of a fan-out, so its value is computed once per fan-out.
    reads_customer: Vec<bool>,
    /// Scheduled triggers with their parsed schedules.
    pub schedules: Vec<(TriggerId, Schedule)>,
    /// `profile.email`, the default recipient of an email without `to`.
    pub email: Option<ProfileFieldId>,
    /// Per event type: its field names, interned (the default payload's keys).
    pub field_names: Vec<Vec<Sym>>,
    /// The keys of every action's `with { ... }` object, interned, by expression.
    object_keys: Vec<(ExprId, Arc<[Sym]>)>,
}

/// Triggers in firing order (priority descending, then name), and each trigger's
/// position in it (its rank, by trigger id).
pub fn firing_order(program: &Program) -> (Vec<TriggerId>, Vec<u32>) {
    let mut order: Vec<TriggerId> = (0..program.triggers.len())
        .map(TriggerId::from_index)
        .collect();
    order.sort_by(|&a, &b| {
        let (ta, tb) = (program.trigger(a), program.trigger(b));
        tb.priority
            .cmp(&ta.priority)
            .then_with(|| ta.name.cmp(&tb.name))
    });
    let mut rank = vec![0; program.triggers.len()];
    for (pos, t) in order.iter().enumerate() {
        if let Some(r) = rank.get_mut(t.index()) {
            *r = u32::try_from(pos).unwrap_or(u32::MAX);
        }
    }
    (order, rank)
}

impl Plan {
    pub fn new(program: &Program, interner: &mut Interner) -> Plan {
        let (order, rank) = firing_order(program);

        let mut by_event: Vec<Vec<(TriggerId, u8)>> = vec![Vec::new(); program.events.len()];
        let events = program.events.len();
        let mut all_roles = vec![0u8; program.triggers.len() * events];
        for &t in &order {
            let def = program.trigger(t);
            let mut roles = vec![0u8; program.events.len()];
            if let StartIr::On(patterns) = &def.start {
                for p in patterns {
                    mark(&mut roles, p, STARTS);
                }
            }
            for p in def
                .exit_on
                .iter()
                .chain(def.steps.iter().flat_map(|s| s.unless.iter()))
            {
                mark(&mut roles, p, ENDS);
            }
            if let Some(row) = all_roles.get_mut(t.index() * events..(t.index() + 1) * events) {
                row.copy_from_slice(&roles);
            }
            for (e, r) in roles.into_iter().enumerate() {
                if r != 0
                    && let Some(list) = by_event.get_mut(e)
                {
                    list.push((t, r));
                }
            }
        }

        let index = StartIndex::new(program, &rank, interner);
        let keep = program
            .triggers
            .iter()
            .map(|def| keep_fields(program, def))
            .collect();
        let reads_key = reads(program, |e| matches!(e, Expr::Key));
        let reads_customer = reads(program, |e| {
            matches!(
                e,
                Expr::Key | Expr::State(_) | Expr::Profile(_) | Expr::Agg(_)
            )
        });
        let schedules = order
            .iter()
            .filter_map(|&t| match &program.trigger(t).start {
                StartIr::Schedule(s) => Schedule::new(s).map(|s| (t, s)),
                _ => None,
            })
            .collect();
        let email = program
            .profile
            .iter()
            .position(|f| f.name == "email")
            .map(ProfileFieldId::from_index);
        let field_names = program
            .events
            .iter()
            .map(|e| e.fields.iter().map(|f| interner.intern(&f.name)).collect())
            .collect();
        let mut object_keys: Vec<(ExprId, Arc<[Sym]>)> = program
            .triggers
            .iter()
            .flat_map(|def| def.steps.iter().flat_map(|s| s.actions.iter()))
            .filter_map(|a| match &a.kind {
                ActionKind::Webhook { payload, .. }
                | ActionKind::Emit { payload, .. }
                | ActionKind::Email { payload, .. } => match payload {
                    Payload::Object(e) => Some(*e),
                    Payload::StartEvent => None,
                },
                _ => None,
            })
            .filter_map(|e| match program.exprs.get(e.index()) {
                Some(Expr::Object(entries)) => {
                    Some((e, entries.iter().map(|(k, _)| interner.intern(k)).collect()))
                }
                _ => None,
            })
            .collect();
        object_keys.sort_by_key(|(e, _)| *e);
        object_keys.dedup_by_key(|(e, _)| *e);
        Plan {
            order,
            rank,
            by_event,
            roles: all_roles,
            events,
            index,
            direct_guards: super::direct_guard::direct_guards(program),
            keep,
            reads_key,
            reads_customer,
            schedules,
            email,
            field_names,
            object_keys,
        }
    }

    /// Shows `mark` the symbols the plan holds (field names, payload keys).
    pub fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        for names in &self.field_names {
            names.iter().for_each(|s| mark(*s));
        }
        for (_, keys) in &self.object_keys {
            keys.iter().for_each(|s| mark(*s));
        }
        self.index.visit_syms(mark);
    }

    /// `STARTS`/`ENDS` of trigger `t` on event type `e`.
    #[inline]
    pub fn role(&self, t: TriggerId, e: crate::ir::EventId) -> u8 {
        self.roles
            .get(t.index() * self.events + e.index())
            .copied()
            .unwrap_or(0)
    }

    /// The interned keys of a payload object `expr`, in entry order.
    pub fn object_keys(&self, expr: ExprId) -> Option<Arc<[Sym]>> {
        self.object_keys
            .binary_search_by_key(&expr, |(e, _)| *e)
            .ok()
            .and_then(|i| self.object_keys.get(i))
            .map(|(_, keys)| Arc::clone(keys))
    }

    pub fn reads_key(&self, expr: ExprId) -> bool {
        self.reads_key.get(expr.index()).copied().unwrap_or(true)
    }

    pub fn reads_customer(&self, expr: ExprId) -> bool {
        self.reads_customer
            .get(expr.index())
            .copied()
            .unwrap_or(true)
    }

    pub fn rank(&self, t: TriggerId) -> u32 {
        self.rank.get(t.index()).copied().unwrap_or(u32::MAX)
    }
}

fn mark(roles: &mut [u8], p: &PatternIr, role: u8) {
    if let Some(r) = roles.get_mut(p.event.index()) {
        *r |= role;
    }
}

/// Per event type, the number of leading fields of a starting event the trigger
/// reads after its start: in guards, payloads, recipients, `set` values, and the
/// filters of `unless` / `exit on` (through `Binding::Start`). A default payload
/// reads all of them.
fn keep_fields(program: &Program, def: &crate::ir::TriggerDef) -> Vec<usize> {
    let mut keep = vec![0usize; program.events.len()];
    let mut roots: Vec<ExprId> = Vec::new();
    let mut whole_event = false;
    for step in &def.steps {
        roots.extend(step.guard);
        roots.extend(step.unless.iter().filter_map(|p| p.filter));
        for action in &step.actions {
            match &action.kind {
                ActionKind::Webhook { payload, .. } | ActionKind::Emit { payload, .. } => {
                    whole_event |= push_payload(&mut roots, payload);
                }
                ActionKind::Email { to, payload, .. } => {
                    roots.extend(*to);
                    whole_event |= push_payload(&mut roots, payload);
                }
                ActionKind::SetProfile { value, .. } => roots.push(*value),
                ActionKind::Enroll { .. } => {}
            }
        }
    }
    roots.extend(def.exit_on.iter().filter_map(|p| p.filter));
    if whole_event && let StartIr::On(patterns) = &def.start {
        for p in patterns {
            if let (Some(k), Some(e)) = (
                keep.get_mut(p.event.index()),
                program.events.get(p.event.index()),
            ) {
                *k = e.fields.len();
            }
        }
    }
    let mut seen = vec![false; program.exprs.len()];
    while let Some(id) = roots.pop() {
        let Some(done) = seen.get_mut(id.index()) else {
            continue;
        };
        if std::mem::replace(done, true) {
            continue;
        }
        let Some(expr) = program.exprs.get(id.index()) else {
            continue;
        };
        if let Expr::Field {
            binding: Binding::Start,
            choices,
        } = expr
        {
            for (event, field) in choices {
                if let Some(k) = keep.get_mut(event.index()) {
                    *k = (*k).max(field.index() + 1);
                }
            }
        }
        roots.extend(expr.operands());
    }
    keep
}

fn push_payload(roots: &mut Vec<ExprId>, payload: &Payload) -> bool {
    match payload {
        Payload::Object(e) => {
            roots.push(*e);
            false
        }
        Payload::StartEvent => true,
    }
}

/// For every expression, whether it or an operand is one `leaf` picks out.
fn reads(program: &Program, leaf: impl Fn(&Expr) -> bool) -> Vec<bool> {
    // 0 = unknown, 1 = in progress, 2 = no, 3 = yes. Iterative post-order, so a
    // deep expression cannot overflow the stack.
    let mut state = vec![0u8; program.exprs.len()];
    for root in 0..program.exprs.len() {
        let mut stack = vec![(ExprId::from_index(root), false)];
        while let Some((id, expanded)) = stack.pop() {
            let i = id.index();
            let Some(expr) = program.exprs.get(i) else {
                continue;
            };
            if expanded {
                let yes = leaf(expr)
                    || expr
                        .operands()
                        .iter()
                        .any(|c| state.get(c.index()) == Some(&3));
                if let Some(s) = state.get_mut(i) {
                    *s = if yes { 3 } else { 2 };
                }
                continue;
            }
            if state.get(i).copied().unwrap_or(2) != 0 {
                continue;
            }
            if let Some(s) = state.get_mut(i) {
                *s = 1;
            }
            stack.push((id, true));
            for c in expr.operands() {
                if state.get(c.index()) == Some(&0) {
                    stack.push((c, false));
                }
            }
        }
    }
    state.into_iter().map(|s| s == 3).collect()
}
