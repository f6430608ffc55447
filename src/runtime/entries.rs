//! The expressions the runtime hands to its engine ([`engine_entries`]): what
//! [`crate::interp::Engine::prepare`] is given, so that a compiling engine compiles
//! those and nothing else.
//!
//! Invariant: every expression the runtime passes to `Engine::eval` is in the list
//! (the JIT asserts it in debug builds, where every run case runs under it). What the
//! runtime decides itself is left out: a start `where` the index decides (its rest is
//! in instead), a payload member that is a field of the starting event or an
//! aggregate (read directly, [`payload_read`]), a payload object built member by
//! member, a reducer argument that is a field of the ingested event.

use std::sync::Arc;

use super::plan::Plan;
use super::state::IngestPlan;
use super::{INDEX_MIN_STARTERS, RuntimeConfig, StartIndexUse};
use crate::interp::{Interner, Sym};
use crate::ir::{
    ActionKind, AggId, Binding, EventId, Expr, ExprId, FieldIdx, Payload, Program, StartIr,
    TriggerId,
};

/// Whether events of type `kind` find the triggers they may start through the
/// start index under `use_index`.
pub fn uses_index(plan: &Plan, use_index: StartIndexUse, kind: EventId) -> bool {
    match use_index {
        StartIndexUse::Never => false,
        StartIndexUse::Always => true,
        StartIndexUse::Auto => plan.index.starters(kind) >= INDEX_MIN_STARTERS,
    }
}

/// The expressions a runtime for `program` under `config` evaluates through its
/// engine, in id order, each once.
pub fn engine_entries(program: &Program, config: &RuntimeConfig) -> Vec<ExprId> {
    let plan = Plan::new(program, &mut Interner::default());
    entries(
        program,
        &plan,
        &IngestPlan::new(program),
        config.start_index,
    )
}

/// [`engine_entries`] with the plans made.
pub(super) fn entries(
    program: &Program,
    plan: &Plan,
    ingest: &IngestPlan,
    use_index: StartIndexUse,
) -> Vec<ExprId> {
    let mut entry = vec![false; program.exprs.len()];
    let mut mark = |id: ExprId| {
        if let Some(e) = entry.get_mut(id.index()) {
            *e = true;
        }
    };
    ingest.visit_evaluated(program, &mut mark);
    for (t, trigger) in program.triggers.iter().enumerate() {
        let t = TriggerId::from_index(t);
        for p in &trigger.exit_on {
            p.filter.into_iter().for_each(&mut mark);
        }
        if let StartIr::On(starts) = &trigger.start {
            let rank = plan.rank(t) as usize;
            for p in starts {
                // The index's bit for `t` on this event type (`triggers_indexed`).
                let decided = uses_index(plan, use_index, p.event)
                    && plan.index.decided(p.event, rank / 64) & (1u64 << (rank % 64)) != 0;
                if decided {
                    plan.index
                        .rest(p.event, rank)
                        .into_iter()
                        .for_each(&mut mark);
                } else {
                    p.filter.into_iter().for_each(&mut mark);
                }
            }
        }
        if let Some(fan) = &trigger.fan_out {
            mark(fan.value);
        }
        for step in &trigger.steps {
            step.unless
                .iter()
                .filter_map(|p| p.filter)
                .for_each(&mut mark);
            step.guard.into_iter().for_each(&mut mark);
            for action in &step.actions {
                let payload = match &action.kind {
                    ActionKind::Webhook { payload, .. } | ActionKind::Emit { payload, .. } => {
                        Some(payload)
                    }
                    ActionKind::Email { to, payload, .. } => {
                        to.iter().for_each(|e| mark(*e));
                        Some(payload)
                    }
                    ActionKind::SetProfile { value, .. } => {
                        mark(*value);
                        None
                    }
                    ActionKind::Enroll { .. } => None,
                };
                if let Some(Payload::Object(e)) = payload {
                    match members(program, plan, *e) {
                        Some((members, _)) => members
                            .iter()
                            .filter(|(_, v)| payload_read(program, *v).is_none())
                            .for_each(|(_, v)| mark(*v)),
                        None => mark(*e),
                    }
                }
            }
        }
    }
    entry
        .iter()
        .enumerate()
        .filter(|(_, e)| **e)
        .map(|(i, _)| ExprId::from_index(i))
        .collect()
}

/// A member of a payload object: its key and value.
type Member = (String, ExprId);

/// The members of payload object `e` when the runtime builds it member by member
/// (its keys interned by the plan), else `None`: the engine evaluates it whole.
/// The members come with their interned keys, in order.
pub(super) fn members<'p>(
    program: &'p Program,
    plan: &Plan,
    e: ExprId,
) -> Option<(&'p [Member], Arc<[Sym]>)> {
    match (program.exprs.get(e.index()), plan.object_keys(e)) {
        (Some(Expr::Object(members)), Some(keys)) if keys.len() == members.len() => {
            Some((members, keys))
        }
        _ => None,
    }
}

/// A payload member the runtime reads itself, as an engine would, without a call.
#[derive(Clone, Copy)]
pub(super) enum DirectRead<'p> {
    /// A field of the starting event (`start.product`, a bare `product` in a step),
    /// by its choices ([`crate::interp::bound_field`]).
    StartField(&'p [(EventId, FieldIdx)]),
    /// An aggregate's value at the step's time (`{ additions: count(...) }`), through
    /// the aggregate memo as every evaluation is.
    Agg(AggId),
}

/// How payload member `e` is read when the runtime reads it itself.
pub(super) fn payload_read(program: &Program, e: ExprId) -> Option<DirectRead<'_>> {
    match program.exprs.get(e.index()) {
        Some(Expr::Field {
            binding: Binding::Start,
            choices,
        }) => Some(DirectRead::StartField(choices)),
        Some(Expr::Agg(id)) => Some(DirectRead::Agg(*id)),
        _ => None,
    }
}
