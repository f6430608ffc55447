//! Structural validation of a [`RuntimeState`] before a run continues from it
//! ([`Runtime::restore`]). A checkpoint's checksum refuses accidental damage; this
//! refuses everything else the runtime could not use safely, a hand-edited state
//! whose checksum was recomputed included: every id and slot index stored anywhere
//! is checked against the program's tables and the slabs, every intrusive list is
//! walked once (so a cycle is found, never followed), counts leave room to count,
//! times lie in the range input can name, and every interned string anything holds
//! is interned. What later code indexes or walks is covered; the error names the
//! first thing wrong (`instance 17: next points back into its own list`).
//!
//! It runs once per restore, in time linear in the state, never on the hot path.

use std::collections::HashSet;

use super::customer::OCCUPIED;
use super::instance::{NIL, TimerTarget};
use super::state::{CustomerId, EMPTY_STR};
use super::{RuntimeConfig, RuntimeState};
use crate::interp::Sym;
use crate::ir::{Program, StartIr};
use crate::time::{MAX_TIME, MIN_TIME};

/// The largest count a checkpoint may carry: far beyond any run, and far enough
/// below `u64::MAX` that counting on (and summing counts) never overflows.
pub const MAX_COUNT: u64 = 1 << 53;

/// A slab slot's place in the lists, while they are walked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    Not,
    /// In this customer's instance list.
    Listed(u32),
    Free,
}

impl RuntimeState {
    /// Whether this state (from a checkpoint) can be run with `program`: `Ok` when
    /// nothing in it would make the runtime index out of range, loop, overflow a
    /// count or fire timers without end; else what is wrong, in words.
    pub fn validate(&self, program: &Program) -> Result<(), String> {
        self.check_counts(program)?;
        self.check_interner()?;
        self.check_customers(program)?;
        self.check_instances(program)?;
        self.check_clock(program)?;
        self.check_timers(program)?;
        self.fanout.check(program, &self.customers)?;
        self.check_syms(program)
    }

    /// [`RuntimeState::validate`], then what depends on the run's time options: the
    /// watermark is no further behind the latest event time than the allowed
    /// lateness (else the end of input would fire every schedule instant between).
    pub fn validate_for(&self, program: &Program, config: &RuntimeConfig) -> Result<(), String> {
        self.validate(program)?;
        if let (Some(max), Some(wm)) = (self.clock.max_ts, self.clock.watermark)
            && wm < max.saturating_sub(config.lateness.max(0))
        {
            return Err(format!(
                "the watermark ({wm}) is further behind the latest event time ({max}) than \
                 the allowed lateness ({} ms)",
                config.lateness.max(0)
            ));
        }
        Ok(())
    }

    fn check_counts(&self, program: &Program) -> Result<(), String> {
        let s = &self.stats;
        let counts = [
            ("stats.events", s.events),
            ("stats.late", s.late),
            ("stats.late_dropped", s.late_dropped),
            ("stats.instances_started", s.instances_started),
            ("stats.suppressed", s.suppressed),
            ("stats.skipped", s.skipped),
            ("stats.parallel_dropped", s.parallel_dropped),
            ("stats.runtime_errors", s.runtime_errors),
            ("stats.cap_hits", s.cap_hits),
            ("stats.enrolls_dropped", s.enrolls_dropped),
            ("next_instance", self.next_instance),
            ("next_timer", self.next_timer),
            ("strings_kept", self.strings_kept as u64),
            (
                "the action counts' total",
                s.actions.iter().fold(0u64, |a, &n| a.saturating_add(n)),
            ),
        ];
        if let Some((name, n)) = counts.iter().find(|(_, n)| *n > MAX_COUNT) {
            return Err(format!("{name} is {n}, more than any run counts"));
        }
        if s.actions.len() != program.triggers.len() {
            return Err(format!(
                "stats.actions counts {} triggers, the program has {}",
                s.actions.len(),
                program.triggers.len()
            ));
        }
        if let Some(((at, key), n)) = self.enrolls.by_key.iter().find(|(_, n)| **n > u32::MAX / 2) {
            return Err(format!(
                "enrolls: customer `{key}` at {at} counts {n} enrolls, more than any run"
            ));
        }
        Ok(())
    }

    fn check_interner(&self) -> Result<(), String> {
        let strings = &self.interner;
        if u32::try_from(strings.slots()).is_err() {
            return Err("the string table has more slots than symbols can number".into());
        }
        if !strings.holds(EMPTY_STR) || !strings.resolve(EMPTY_STR).is_empty() {
            return Err("string 0 is not the empty string".into());
        }
        for i in 0..strings.slots() {
            let sym = Sym(u32::try_from(i).unwrap_or(u32::MAX));
            if strings.holds(sym) && strings.get(strings.resolve(sym)) != Some(sym) {
                return Err(format!("string {i} is interned twice"));
            }
        }
        Ok(())
    }

    fn check_customers(&self, program: &Program) -> Result<(), String> {
        let customers = &self.customers;
        let slots = customers.slots();
        if slots.len() >= NIL as usize {
            return Err("more customer slots than ids can number".into());
        }
        let mut keys = HashSet::new();
        let mut occupied = 0;
        for (i, c) in slots.iter().enumerate() {
            if c.flags & OCCUPIED == 0 {
                continue;
            }
            occupied += 1;
            if !keys.insert(c.key.as_str()) {
                return Err(format!("customer {i}: key `{}` is held twice", c.key));
            }
            c.data
                .check(program)
                .map_err(|what| format!("customer {i} (`{}`): {what}", c.key))?;
        }
        if occupied != customers.len() {
            return Err(format!(
                "the customer table counts {} customers, it holds {occupied}",
                customers.len()
            ));
        }
        let mut free = HashSet::new();
        for &id in customers.free_ids() {
            match slots.get(id as usize) {
                None => return Err(format!("free customer id {id} is beyond the table")),
                Some(c) if c.flags & OCCUPIED != 0 => {
                    return Err(format!("customer {id} is both free and in use"));
                }
                Some(_) if !free.insert(id) => {
                    return Err(format!("customer {id} is on the free list twice"));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn check_instances(&self, program: &Program) -> Result<(), String> {
        let slab = self.instances.slots();
        if slab.len() >= NIL as usize {
            return Err("more instance slots than slot numbers".into());
        }
        let mut seen = vec![Seen::Not; slab.len()];
        for (c, cust) in self.customers.slots().iter().enumerate() {
            if cust.flags & OCCUPIED == 0 {
                continue;
            }
            let c = CustomerId::from_index(c).0;
            let mut cur = cust.instances;
            while cur != NIL {
                let (Some(inst), Some(mark)) = (slab.get(cur as usize), seen.get_mut(cur as usize))
                else {
                    return Err(format!(
                        "customer {c}: its instance list reaches slot {cur}, beyond the {} \
                         slots",
                        slab.len()
                    ));
                };
                match *mark {
                    Seen::Not => {}
                    Seen::Listed(other) if other == c => {
                        return Err(format!(
                            "instance {cur}: next points back into its own list"
                        ));
                    }
                    Seen::Listed(other) => {
                        return Err(format!(
                            "instance {cur}: in the lists of customers {other} and {c}"
                        ));
                    }
                    Seen::Free => return Err(format!("instance {cur}: both free and listed")),
                }
                *mark = Seen::Listed(c);
                if !inst.live {
                    return Err(format!(
                        "instance {cur}: in customer {c}'s list but not live"
                    ));
                }
                if inst.customer.0 != c {
                    return Err(format!(
                        "instance {cur}: in customer {c}'s list but belongs to customer {}",
                        inst.customer.0
                    ));
                }
                cur = inst.next;
            }
        }
        let mut cur = self.instances.free_head();
        while cur != NIL {
            let (Some(inst), Some(mark)) = (slab.get(cur as usize), seen.get_mut(cur as usize))
            else {
                return Err(format!(
                    "the free instance list reaches slot {cur}, beyond the {} slots",
                    slab.len()
                ));
            };
            match *mark {
                Seen::Not => {}
                Seen::Free => {
                    return Err(format!("instance {cur}: the free list comes back to it"));
                }
                Seen::Listed(c) => {
                    return Err(format!(
                        "instance {cur}: both free and in customer {c}'s list"
                    ));
                }
            }
            *mark = Seen::Free;
            if inst.live {
                return Err(format!("instance {cur}: on the free list but live"));
            }
            cur = inst.next;
        }
        let mut live = 0;
        for (i, inst) in slab.iter().enumerate() {
            if inst.generation == u32::MAX {
                return Err(format!("instance {i}: generation {} is reserved", u32::MAX));
            }
            if !inst.live {
                continue;
            }
            live += 1;
            if seen.get(i) != Some(&Seen::Listed(inst.customer.0)) {
                return Err(format!("instance {i}: live but in no customer's list"));
            }
            let Some(def) = program.triggers.get(inst.trigger.index()) else {
                return Err(format!(
                    "instance {i}: trigger {} does not exist",
                    inst.trigger.0
                ));
            };
            if usize::from(inst.step) >= def.steps.len() {
                return Err(format!(
                    "instance {i}: step {} of trigger `{}`, which has {}",
                    inst.step,
                    def.name,
                    def.steps.len()
                ));
            }
            let kept = match inst.start_kind() {
                None => 0,
                Some(kind) => match program.events.get(kind.index()) {
                    Some(e) => e.fields.len(),
                    None => {
                        return Err(format!(
                            "instance {i}: event type {} does not exist",
                            kind.0
                        ));
                    }
                },
            };
            if inst.fields().len() > kept {
                return Err(format!(
                    "instance {i}: keeps {} fields of an event with {kept}",
                    inst.fields().len()
                ));
            }
            check_time(inst.start_ts).map_err(|what| format!("instance {i}: start {what}"))?;
            if inst.due < MIN_TIME {
                return Err(format!(
                    "instance {i}: due at {}, before any time",
                    inst.due
                ));
            }
        }
        if live != self.instances.live() {
            return Err(format!(
                "the instance slab counts {} live instances, it holds {live}",
                self.instances.live()
            ));
        }
        Ok(())
    }

    fn check_clock(&self, program: &Program) -> Result<(), String> {
        let clock = &self.clock;
        if let Some(wm) = clock.watermark {
            check_time(wm).map_err(|what| format!("the watermark {what}"))?;
        }
        if let Some(max) = clock.max_ts {
            check_time(max).map_err(|what| format!("the latest event time {what}"))?;
            // Before the first held event is released there is no watermark yet.
            if clock.watermark.is_none() && clock.held.is_empty() {
                return Err("an event time is recorded but no watermark".into());
            }
        }
        if clock.watermark.is_none() && !self.timers.is_empty() {
            return Err("timers are pending before any watermark".into());
        }
        let mut prev = i64::MIN;
        for (i, held) in clock.held.iter().enumerate() {
            let what = |what: String| format!("held event {i} (line {}): {what}", held.line);
            check_time(held.ts).map_err(|e| what(format!("time {e}")))?;
            if held.ts < prev {
                return Err(what("out of time order".into()));
            }
            if clock.max_ts.is_some_and(|max| held.ts > max) {
                return Err(what("later than the latest event time".into()));
            }
            prev = held.ts;
            let Some(def) = program.events.get(held.kind.index()) else {
                return Err(what(format!("event type {} does not exist", held.kind.0)));
            };
            if held.fields.len() != def.fields.len() {
                return Err(what(format!(
                    "{} fields, type `{}` declares {}",
                    held.fields.len(),
                    def.name,
                    def.fields.len()
                )));
            }
        }
        Ok(())
    }

    fn check_timers(&self, program: &Program) -> Result<(), String> {
        let slots = self.instances.slots().len();
        for (due, _, timer) in self.timers.iter() {
            match timer.target() {
                TimerTarget::Step { slot, .. } => {
                    if slot as usize >= slots {
                        return Err(format!(
                            "a timer due at {due} names instance slot {slot}, beyond the \
                             {slots} slots"
                        ));
                    }
                    if due < MIN_TIME {
                        return Err(format!("a timer is due at {due}, before any time"));
                    }
                }
                TimerTarget::Schedule(t) => {
                    let scheduled = program
                        .triggers
                        .get(t.index())
                        .is_some_and(|def| matches!(def.start, StartIr::Schedule(_)));
                    if !scheduled {
                        return Err(format!(
                            "a schedule timer due at {due} names trigger {}, which is not a \
                             scheduled trigger",
                            t.0
                        ));
                    }
                    if !self.schedules_started || self.clock.watermark.is_none_or(|wm| due < wm) {
                        return Err(format!(
                            "a schedule instant ({due}) is queued before the watermark"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every symbol anything holds names an interned string.
    fn check_syms(&self, program: &Program) -> Result<(), String> {
        let strings = &self.interner;
        let mut bad = None;
        let mut check = |s: Sym| {
            if bad.is_none() && !strings.holds(s) {
                bad = Some(s);
            }
        };
        for c in self.customers.ids() {
            if let Some(cust) = self.customers.get(c) {
                cust.data.visit_syms(program, &mut check);
            }
        }
        self.instances.visit_syms(&mut check);
        self.clock.visit_syms(&mut check);
        self.fanout.visit_syms(program, &mut check);
        match bad {
            Some(s) => Err(format!(
                "string {} is held but not interned (the table has {} slots)",
                s.0,
                strings.slots()
            )),
            None => Ok(()),
        }
    }
}

/// `Ok` for a time input can name ([`MIN_TIME`] ..= [`MAX_TIME`]).
fn check_time(t: i64) -> Result<(), String> {
    if (MIN_TIME..=MAX_TIME).contains(&t) {
        Ok(())
    } else {
        Err(format!("{t} is outside the times input can name"))
    }
}

#[cfg(test)]
mod tests;
