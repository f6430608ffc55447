//! Scheduled triggers (`every`, `cron`): queueing each schedule's first instant
//! and, at each instant, starting the trigger for every customer seen so far.

use super::customer::REAL;
use super::instance::{TimerRef, tie};
use super::lifecycle::Start;
use super::state::CustomerId;
use super::{Output, Runtime};
use crate::ir::{ActionKind, TriggerId};

impl Runtime<'_> {
    /// Queue each scheduled trigger's first instant after `watermark`.
    pub(super) fn start_schedules(&mut self, watermark: i64) {
        self.queue_schedules(watermark, None);
    }

    /// Queue the first instant after `watermark` of each scheduled trigger (of
    /// those in `only`, when given).
    fn queue_schedules(&mut self, watermark: i64, only: Option<&[TriggerId]>) {
        for i in 0..self.plan.schedules.len() {
            let Some((t, schedule)) = self.plan.schedules.get(i) else {
                break;
            };
            if only.is_some_and(|only| !only.contains(t)) {
                continue;
            }
            if let Some(next) = schedule.next_after(watermark) {
                let tie = tie(self.plan.rank(*t), self.state.next_timer);
                self.state.next_timer += 1;
                self.state.timers.insert(next, tie, TimerRef::schedule(*t));
                self.quiet_until = self.quiet_until.min(next);
            }
        }
    }

    /// After a carry-over to changed rules ([`super::carry`]): queue the next
    /// instant of the scheduled triggers among `added`, when schedules have started
    /// (before that, the first watermark queues them with the others).
    pub fn start_added_schedules(&mut self, added: &[TriggerId]) {
        let Some(watermark) = self.state.clock.watermark else {
            return;
        };
        if self.state.schedules_started {
            self.queue_schedules(watermark, Some(added));
        }
    }

    /// A schedule instant: start the trigger for every customer seen so far (first
    /// seen first), then queue the next instant.
    ///
    /// A one-step trigger without `wait` and without `enroll` fires each customer's
    /// instance right away instead of queueing a timer per customer: nothing can run
    /// between those timers (they are due now, with this trigger's priority, and an
    /// action touches only its own key), so the output is the same, without
    /// 100k queue operations per nightly instant.
    pub(super) fn run_schedule(&mut self, t: TriggerId, at: i64, out: &mut dyn Output) {
        let def = self.program.trigger(t);
        let at_once = match def.steps.as_slice() {
            [step] => {
                step.wait == 0
                    && !step
                        .actions
                        .iter()
                        .any(|a| matches!(a.kind, ActionKind::Enroll { .. }))
            }
            _ => false,
        };
        let customers: Vec<CustomerId> = self
            .state
            .customers
            .ids()
            .filter(|&c| {
                self.state
                    .customers
                    .get(c)
                    .is_some_and(|x| x.flags & REAL != 0)
            })
            .collect();
        for c in customers {
            if at_once {
                // Most customers fail a schedule's guard (`nightly_win_back`
                // visits everyone every night).
                let Some(checks) =
                    self.check_first_step(t, c, at, |rt, g| rt.eval_scheduled(c, g, at), out)
                else {
                    continue;
                };
                if let Some(slot) = self.begin_instance(t, c, at, Start::Schedule) {
                    self.fire_step(slot, at, checks, out);
                }
            } else {
                self.start_instance(t, c, at, Start::Schedule);
            }
        }
        let next = self
            .plan
            .schedules
            .iter()
            .find(|(s, _)| *s == t)
            .and_then(|(_, s)| s.next_after(at));
        if let Some(next) = next {
            let tie = tie(self.plan.rank(t), self.state.next_timer);
            self.state.next_timer += 1;
            self.state.timers.insert(next, tie, TimerRef::schedule(t));
            self.quiet_until = self.quiet_until.min(next);
        }
    }
}
