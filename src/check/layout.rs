//! The per-key storage layout, decided once after lowering: where each aggregate's
//! entries live ([`AggStorage`]) and what each event type feeds ([`Feed`]). The
//! runtime reads both by index on every event instead of rescanning the program.
//!
//! Sharing: the windowed `count`s and `sum`s over one event and filter (the same
//! filter expression, or none) form a group; the member with the longest window (a
//! `sum` on a tie, then the lowest id) stores entries every windowed `count` of the
//! group can count over its own shorter window, so those counts store nothing.
//!
//! Time only: a `last(E)` that every expression reads only for its time
//! (`now - last(VISIT).ts >= 30d`) keeps that time instead of a copy of the event.

use crate::ir::{AggDef, AggId, AggKind, AggStorage, Feed, Layout, Program, StateId};
use std::cmp::Reverse;

/// Fill `program.layout` from its tables.
pub fn assign(program: &mut Program) {
    program.layout = derive(program);
}

/// The layout of `program`, derived from its states and aggregates.
pub fn derive(program: &Program) -> Layout {
    let time_only = program.aggregates_read_only_for_time();
    let storage: Vec<AggStorage> = (0..program.aggregates.len())
        .map(|i| match time_only.get(i) {
            Some(true) => AggStorage::TimeOnly,
            _ => grouped_storage(program, AggId::from_index(i)),
        })
        .collect();
    let mut feeds: Vec<Vec<Feed>> = vec![Vec::new(); program.events.len()];
    for (i, def) in program.states.iter().enumerate() {
        for (r, rule) in def.rules.iter().enumerate() {
            if let (Some(list), Ok(rule)) = (feeds.get_mut(rule.event.index()), u32::try_from(r)) {
                list.push(Feed::Rule {
                    state: StateId::from_index(i),
                    rule,
                });
            }
        }
    }
    for (i, agg) in program.aggregates.iter().enumerate() {
        let id = AggId::from_index(i);
        if is_fed(agg, storage.get(i).copied())
            && let Some(list) = feeds.get_mut(agg.event.index())
        {
            list.push(Feed::Agg(id));
        }
    }
    Layout { storage, feeds }
}

/// Whether an event of `agg`'s type needs to visit it: it stores entries, or it has
/// a filter to evaluate (whose errors are reported whether or not it stores).
pub fn is_fed(agg: &AggDef, storage: Option<AggStorage>) -> bool {
    !matches!(storage, Some(AggStorage::ReadsFrom(_))) || agg.filter.is_some()
}

/// Where aggregate `id`'s entries live (see the module docs for the rule), decided
/// for that aggregate alone; [`derive`] decides all at once (tests compare them).
pub fn storage(program: &Program, id: AggId) -> AggStorage {
    match program.aggregates_read_only_for_time().get(id.index()) {
        Some(true) => AggStorage::TimeOnly,
        _ => grouped_storage(program, id),
    }
}

/// Where windowed `count` and `sum` aggregate `id`'s entries live: a scan of the
/// program's aggregates with integer comparisons only.
fn grouped_storage(program: &Program, id: AggId) -> AggStorage {
    let Some(agg) = program.aggregates.get(id.index()) else {
        return AggStorage::Own;
    };
    let grouped = |a: &AggDef| {
        a.event == agg.event
            && a.filter == agg.filter
            && a.within.is_some()
            && matches!(a.kind, AggKind::Count | AggKind::Sum)
    };
    if !grouped(agg) {
        return AggStorage::Own;
    }
    let mut host = None;
    let mut counts = 0usize;
    for (i, a) in program.aggregates.iter().enumerate() {
        if !grouped(a) {
            continue;
        }
        counts += usize::from(a.kind == AggKind::Count);
        let rank = (a.within, a.kind == AggKind::Sum, Reverse(i));
        if host.as_ref().is_none_or(|(r, _)| rank > *r) {
            host = Some((rank, i));
        }
    }
    match host {
        Some((_, h)) if h != id.index() => match agg.kind {
            AggKind::Count => AggStorage::ReadsFrom(AggId::from_index(h)),
            _ => AggStorage::Own,
        },
        Some(_) if agg.kind == AggKind::Sum && counts > 0 => AggStorage::Hosts,
        _ => AggStorage::Own,
    }
}
