//! Carrying a run's state over to changed rules: each trigger whose definition is
//! unchanged (matched by name and a fingerprint of its IR) keeps its instances,
//! timers, cooldowns and limits; new triggers start empty; changed and removed
//! ones are dropped and counted. The declarations the per-key data is laid out by
//! (schema, events, states, profile, aggregates) must be unchanged: a state laid
//! out for others is refused, not reinterpreted.
//!
//! [`carry_over`] works on the plain data ([`RuntimeState`]); the result goes through
//! [`super::Runtime::restore`]'s validation like any checkpoint.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::RuntimeState;
use super::instance::{TimerRef, TimerTarget, tie};
use super::plan::firing_order;
use super::state::CustomerId;
use super::timers::TimerHeap;
use crate::ir::{Program, TriggerId};

/// What identifies a program's parts: the declarations as a whole, and each
/// trigger by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramPrint {
    /// A hash of everything but the triggers (`--emit ir` up to the first trigger).
    pub declarations: u64,
    /// Each trigger's name and a hash of its IR (its position left out), in program
    /// order.
    pub triggers: Vec<(String, u64)>,
}

/// A program's [`ProgramPrint`].
pub fn program_print(program: &Program) -> ProgramPrint {
    let text = crate::ir::print::print(program);
    let mut declarations = String::new();
    let mut triggers: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        // Positions (`t3`, `x12`) are not part of a definition; `#` lines are
        // notes on the whole program (the start index) after the triggers.
        let line = without_positions(line);
        if line.starts_with('#') {
            continue;
        } else if line.starts_with("trigger t") {
            triggers.push(line);
        } else if let Some(current) = triggers.last_mut() {
            current.push_str(&line);
        } else {
            declarations.push_str(&line);
        }
    }
    let hash = |s: &str| xxhash_rust::xxh3::xxh3_64(s.trim_end().as_bytes());
    ProgramPrint {
        declarations: hash(&declarations),
        triggers: program
            .triggers
            .iter()
            .zip(&triggers)
            .map(|(t, text)| (t.name.clone(), hash(text)))
            .collect(),
    }
}

/// `line` with the numbers of trigger and expression ids (`t3`, `x12`) taken out.
fn without_positions(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.char_indices().peekable();
    let mut prev_word = false;
    while let Some((_, c)) = chars.next() {
        out.push(c);
        let id_start = (c == 't' || c == 'x') && !prev_word;
        prev_word = c.is_alphanumeric() || c == '_';
        if id_start && chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) {
            let mut digits = String::new();
            while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            // An id only when the digits end the word (`t3`, not `t3a`).
            if chars
                .peek()
                .is_some_and(|(_, n)| n.is_alphanumeric() || *n == '_')
            {
                out.push_str(&digits);
            }
            prev_word = true;
        }
    }
    out
}

/// What a carry-over did, by trigger name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CarryReport {
    pub kept: Vec<String>,
    pub added: Vec<String>,
    /// Changed (same name, other definition) or removed: their state is dropped.
    pub dropped: Vec<String>,
    /// Pending instances of dropped triggers.
    pub instances_dropped: u64,
}

impl CarryReport {
    /// Whether the program changed at all.
    pub fn changed(&self) -> bool {
        !self.added.is_empty() || !self.dropped.is_empty()
    }
}

/// Make `state`, written by a program printed `was`, valid for `program` (see the
/// module docs); the triggers `program` adds, by id, for their schedules to start.
/// On an error the state is not usable (it may be half changed).
pub fn carry_over(
    state: &mut RuntimeState,
    was: &ProgramPrint,
    program: &Program,
) -> Result<(CarryReport, Vec<TriggerId>), String> {
    let now = program_print(program);
    if now.declarations != was.declarations {
        return Err(
            "the events, states, profile or aggregates changed, and the per-key data is laid \
             out by them: only triggers may change while the state is kept"
                .into(),
        );
    }
    let new_ids: HashMap<(&str, u64), TriggerId> = now
        .triggers
        .iter()
        .enumerate()
        .map(|(i, (name, print))| ((name.as_str(), *print), TriggerId::from_index(i)))
        .collect();
    let map: Vec<Option<TriggerId>> = was
        .triggers
        .iter()
        .map(|(name, print)| new_ids.get(&(name.as_str(), *print)).copied())
        .collect();
    let mut report = CarryReport::default();
    for ((name, _), to) in was.triggers.iter().zip(&map) {
        match to {
            Some(_) => report.kept.push(name.clone()),
            None => report.dropped.push(name.clone()),
        }
    }
    let kept: Vec<TriggerId> = map.iter().flatten().copied().collect();
    let added: Vec<TriggerId> = (0..program.triggers.len())
        .map(TriggerId::from_index)
        .filter(|t| !kept.contains(t))
        .collect();
    report.added = added
        .iter()
        .map(|t| program.trigger(*t).name.clone())
        .collect();
    let remap = |t: TriggerId| map.get(t.index()).copied().flatten();
    let (_, rank) = firing_order(program);
    let rank_of = |t: TriggerId| rank.get(t.index()).copied().unwrap_or(u32::MAX);
    const SEQ: u64 = (1 << 40) - 1;

    // Instances: kept ones renumbered (and their tie re-ranked), the others
    // unlinked from their customer's list and freed.
    for c in 0..state.customers.capacity() {
        let id = CustomerId::from_index(c);
        let Some(customer) = state.customers.get_mut(id) else {
            continue;
        };
        customer.data.remap_gates(&remap);
        let mut slot = customer.instances;
        let mut keep = Vec::new();
        let mut guard = state.instances.slots().len() + 1;
        while let Some(inst) = state.instances.get_mut(slot) {
            guard = guard.saturating_sub(1);
            if guard == 0 {
                return Err(format!("customer {c}'s instance list loops"));
            }
            let next = inst.next;
            match remap(inst.trigger) {
                Some(t) if inst.live => {
                    inst.trigger = t;
                    inst.tie = tie(rank_of(t), inst.tie & SEQ);
                    keep.push(slot);
                }
                _ => {
                    state.instances.free(slot);
                    report.instances_dropped += 1;
                }
            }
            slot = next;
        }
        // Relink the kept ones in their order.
        let head = keep.first().copied().unwrap_or(super::instance::NIL);
        for (i, &s) in keep.iter().enumerate() {
            let next = keep.get(i + 1).copied().unwrap_or(super::instance::NIL);
            if let Some(inst) = state.instances.get_mut(s) {
                inst.next = next;
            }
        }
        if let Some(customer) = state.customers.get_mut(id) {
            customer.instances = head;
        }
    }

    // Timers: those of kept instances and schedules, re-ranked; the rest dropped.
    // A slot's `has_entry` says a queue entry of its generation exists: it is set
    // again for the entries kept (a freed slot left marked would keep the next
    // instance in it from queueing its timer).
    let mut queued = Vec::new();
    let mut timers = TimerHeap::new();
    for (due, old_tie, target) in state.timers.iter() {
        let moved = match target.target() {
            TimerTarget::Step { slot, generation } => state
                .instances
                .get(slot)
                .filter(|i| i.live && i.generation == generation)
                .map(|i| (i.trigger, *target)),
            TimerTarget::Schedule(t) => remap(t).map(|t| (t, TimerRef::schedule(t))),
        };
        if let Some((t, target)) = moved {
            timers.insert(due, tie(rank_of(t), old_tie & SEQ), target);
            if let TimerTarget::Step { slot, .. } = target.target() {
                queued.push(slot);
            }
        }
    }
    state.timers = timers;
    for inst in state.instances.slots_mut() {
        inst.has_entry = false;
    }
    for slot in queued {
        if let Some(inst) = state.instances.get_mut(slot) {
            inst.has_entry = true;
        }
    }

    // Action counts follow their triggers.
    let mut actions = vec![0; program.triggers.len()];
    for (old, n) in state.stats.actions.iter().enumerate() {
        if let Some(t) = map.get(old).copied().flatten()
            && let Some(slot) = actions.get_mut(t.index())
        {
            *slot = *n;
        }
    }
    state.stats.actions = actions;
    Ok((report, added))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::{Interner, Interp};
    use crate::io::{Decoded, Decoder};
    use crate::runtime::{ActionRecord, Event, Notice, Output, Runtime, RuntimeConfig};

    const EVENTS: &str = "event ADD { product: string }\nevent BUY { order: string }\n";
    const KEEP: &str = "trigger keep priority 60 on ADD wait 1h unless BUY then emit \"k\"\n";
    const GONE: &str = "trigger gone on ADD wait 1h then emit \"g\"\n";
    const CHANGED: &str = "trigger gone on ADD wait 2h then emit \"g\"\n";
    const FRESH: &str = "trigger fresh priority 90 cooldown 1d on ADD wait 10m then emit \"f\"\n";
    const TICK: &str = "trigger tick every 1h then emit \"t\"\n";

    fn program(text: &str) -> Program {
        let mut sources = crate::syntax::SourceMap::default();
        sources.add("t.trig", text);
        let compiled = crate::compile(&sources);
        assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
        compiled.program.unwrap_or_default()
    }

    struct Records(Vec<(String, u128, i64)>);

    impl Output for Records {
        fn action(&mut self, record: &ActionRecord<'_>, _: &Program, _: &Interner) {
            self.0
                .push((record.trigger.to_owned(), record.id, record.at));
        }
        fn notice(&mut self, _: &Notice) {}
    }

    fn feed(runtime: &mut Runtime<'_>, program: &Program, lines: &[String], out: &mut Records) {
        let mut decoder = Decoder::new(program);
        let mut event = Event::default();
        for (n, line) in lines.iter().enumerate() {
            let decoded = decoder.decode(
                line.as_bytes(),
                n as u64 + 1,
                runtime.interner_mut(),
                &mut event,
            );
            assert!(matches!(decoded, Decoded::Event), "{line}");
            runtime.push(&event, out);
        }
    }

    /// Twenty ADD events of four customers, a minute apart, from 10:00 on `day`.
    fn lines(day: u32) -> Vec<String> {
        (0..20u32)
            .map(|m| {
                format!(
                    r#"{{"type":"ADD","user":"u{}","ts":"2026-01-{day:02}T10:{m:02}:00Z","product":"p"}}"#,
                    m % 4
                )
            })
            .collect()
    }

    fn runtime<'p>(program: &'p Program) -> Runtime<'p> {
        Runtime::new(program, Box::new(Interp), RuntimeConfig::default()).unwrap()
    }

    #[test]
    fn unchanged_triggers_keep_their_timers_and_ids() {
        let old = program(&format!("{EVENTS}{KEEP}{GONE}{TICK}"));
        let new = program(&format!("{EVENTS}{FRESH}{CHANGED}{KEEP}"));
        // The old rules all the way, for the ids `keep` must give.
        let mut whole = runtime(&old);
        let mut expected = Records(Vec::new());
        feed(&mut whole, &old, &lines(5), &mut expected);
        whole.advance_to(1_767_700_000_000, &mut expected);

        // The old rules for the first part, then the new ones from its state.
        let mut first = runtime(&old);
        let mut out = Records(Vec::new());
        feed(&mut first, &old, &lines(5), &mut out);
        let pending = first.pending_timers();
        let mut state = first.into_state();
        let (report, added) = carry_over(&mut state, &program_print(&old), &new).unwrap();
        assert_eq!(report.kept, ["keep"]);
        assert_eq!(report.dropped, ["gone", "tick"]);
        assert_eq!(report.added, ["fresh", "gone"]);
        assert_eq!(report.instances_dropped as usize, pending - 4);
        let mut second =
            Runtime::restore(&new, Box::new(Interp), RuntimeConfig::default(), state).unwrap();
        second.start_added_schedules(&added);
        second.advance_to(1_767_700_000_000, &mut out);
        let keep = |r: &Records| -> Vec<(String, u128, i64)> {
            r.0.iter().filter(|(t, ..)| t == "keep").cloned().collect()
        };
        assert_eq!(keep(&out), keep(&expected));
        assert!(
            !out.0
                .iter()
                .any(|(t, ..)| t == "gone" || t == "tick" || t == "fresh")
        );
        // New events start the new triggers, and the kept one goes on.
        let mut later = Records(Vec::new());
        feed(&mut second, &new, &lines(8), &mut later);
        second.advance_to(1_768_000_000_000, &mut later);
        for name in ["keep", "fresh", "gone"] {
            assert!(later.0.iter().any(|(t, ..)| t == name), "{name}");
        }
    }

    #[test]
    fn changed_declarations_are_refused() {
        let old = program(&format!("{EVENTS}{KEEP}"));
        let new = program(&format!("{EVENTS}event VISIT {{ page: string }}\n{KEEP}"));
        let mut state = runtime(&old).into_state();
        assert!(carry_over(&mut state, &program_print(&old), &new).is_err());
    }

    #[test]
    fn reordered_triggers_are_unchanged() {
        let old = program(&format!("{EVENTS}{KEEP}{GONE}"));
        let new = program(&format!("{EVENTS}{GONE}\n\n{KEEP}"));
        let mut first = runtime(&old);
        feed(&mut first, &old, &lines(5), &mut Records(Vec::new()));
        let (report, added) =
            carry_over(&mut first.into_state(), &program_print(&old), &new).unwrap();
        assert!(!report.changed() && added.is_empty(), "{report:?}");
        assert_eq!(report.instances_dropped, 0);
    }
}
