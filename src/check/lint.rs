//! Warnings about programs that check but probably do not do what was meant: unused
//! declarations, `on enroll` triggers nobody enrolls, messaging without a frequency
//! cap, `unless` patterns that can never fire, steps that can never run.

use crate::ir::{ActionKind, BinaryOp, Const, Expr, ExprId, Reentry, StartIr, TriggerDef, UnaryOp};
use crate::syntax as ast;

use super::Checker;
use super::error::Problem;

impl Checker<'_> {
    /// Whole-program warnings, once every trigger is checked.
    pub(super) fn lint_program(&mut self) {
        for i in 0..self.prog.events.len() {
            let e = &self.prog.events[i];
            // A profile event feeds the profile even if no rule names it.
            if !self.event_used[i] && !e.profile {
                let p = Problem::UnusedEvent {
                    span: e.span,
                    name: e.name.clone(),
                };
                self.report(p);
            }
        }
        for i in 0..self.prog.states.len() {
            if !self.state_used[i] {
                let s = &self.prog.states[i];
                let p = Problem::UnusedState {
                    span: s.span,
                    name: s.name.clone(),
                };
                self.report(p);
            }
        }
        for i in 0..self.trigger_heads.len() {
            let h = &self.trigger_heads[i];
            if h.enroll_start.is_some() && !h.enrolled {
                let p = Problem::UnusedTrigger {
                    span: h.name_span,
                    name: h.name.clone(),
                };
                self.report(p);
            }
        }
        self.warn_enroll_cycles();
    }

    /// `enroll-cycle`: an `enroll` edge between `on enroll` triggers that nothing
    /// stops (no wait, guard, cooldown, limit or `reentry skip` before it) and whose
    /// target comes back to its trigger the same way.
    fn warn_enroll_cycles(&mut self) {
        let triggers = &self.prog.triggers;
        // For each trigger, the unstoppable enrolls of its first steps.
        let edges: Vec<Vec<(usize, crate::syntax::Span)>> = triggers
            .iter()
            .map(|t| {
                let unstoppable = matches!(t.start, StartIr::Enroll)
                    && t.cooldown.is_none()
                    && t.limit.is_none()
                    && t.reentry != Reentry::Skip;
                if !unstoppable {
                    return Vec::new();
                }
                // A loop waiting less than a minute per turn is cut at 100 turns
                // only when it waits not at all; with `wait 1ms` it runs a day's
                // gap in input as 86M turns, so it is flagged the same way (as
                // `every` under a minute is refused).
                let mut waited = 0i64;
                t.steps
                    .iter()
                    .take_while(|s| {
                        waited = waited.saturating_add(s.wait);
                        waited < 60_000 && s.guard.is_none()
                    })
                    .flat_map(|s| s.actions.iter())
                    .filter_map(|a| match a.kind {
                        ActionKind::Enroll { trigger } => Some((trigger.index(), a.span)),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let reaches = |from: usize, to: usize| -> bool {
            let mut seen = vec![false; edges.len()];
            let mut stack = vec![from];
            while let Some(n) = stack.pop() {
                if n == to {
                    return true;
                }
                if let Some(s) = seen.get_mut(n)
                    && !*s
                {
                    *s = true;
                    stack.extend(edges.get(n).into_iter().flatten().map(|(m, _)| *m));
                }
            }
            false
        };
        let mut found = Vec::new();
        for (from, out) in edges.iter().enumerate() {
            for &(to, span) in out {
                if reaches(to, from) {
                    let target = triggers.get(to).map_or(String::new(), |t| t.name.clone());
                    found.push(Problem::EnrollCycle { span, target });
                }
            }
        }
        for p in found {
            self.report(p);
        }
    }

    /// `unused-alias` for the aliases of the trigger or reducer just checked.
    pub(super) fn warn_unused_aliases(&mut self) {
        let unused: Vec<Problem> = self
            .aliases
            .iter()
            .filter(|a| !a.used)
            .map(|a| Problem::UnusedAlias {
                span: a.span,
                name: a.name.to_string(),
            })
            .collect();
        for p in unused {
            self.report(p);
        }
    }

    /// Warnings about one trigger: frequency cap, redundant `unless`, steps after a
    /// guard that is always false.
    /// `clean`: the trigger checked without errors (guards are then real).
    pub(super) fn lint_trigger(&mut self, t: &ast::Trigger, def: &TriggerDef, clean: bool) {
        let messages = def.steps.iter().flat_map(|s| &s.actions).any(|a| {
            matches!(
                a.kind,
                ActionKind::Webhook { .. } | ActionKind::Email { .. }
            )
        });
        if messages && def.cooldown.is_none() && def.limit.is_none() {
            self.report(Problem::NoFrequencyCap {
                span: t.name.span,
                name: def.name.clone(),
            });
        }
        if def.reentry == Reentry::Restart
            && let StartIr::On(starts) = &def.start
        {
            for (step, ast_step) in def.steps.iter().zip(&t.steps) {
                let unless_ast = ast_step
                    .wait
                    .as_ref()
                    .map(|w| w.unless.as_slice())
                    .unwrap_or_default();
                if unless_ast.len() != step.unless.len() {
                    continue; // an unknown event was reported; spans would not line up
                }
                for (u, u_ast) in step.unless.iter().zip(unless_ast) {
                    if let Some(s) = starts
                        .iter()
                        .find(|s| s.event == u.event && s.filter.is_none())
                    {
                        let p = Problem::RedundantUnless {
                            span: u_ast.span,
                            event: u_ast.event.name.to_string(),
                            start: s.span,
                        };
                        self.report(p);
                    }
                }
            }
        }
        if !clean {
            return;
        }
        let mut false_guard = None;
        for (step, ast_step) in def.steps.iter().zip(&t.steps) {
            if let Some(guard) = false_guard {
                self.report(Problem::UnreachableStep {
                    span: ast_step.span,
                    guard,
                });
                break;
            }
            if let Some(g) = step.guard
                && self.const_bool(g, 0) == Some(false)
            {
                let span = self.prog.span(g);
                self.report(Problem::GuardAlwaysFalse { span });
                false_guard = Some(span);
            }
        }
    }

    /// The value of a boolean expression made of constants, `not`, `and`, `or`.
    fn const_bool(&self, id: ExprId, depth: u32) -> Option<bool> {
        if depth > super::MAX_DEPTH {
            return None;
        }
        match self.prog.exprs.get(id.index())? {
            Expr::Const(Const::Bool(b)) => Some(*b),
            Expr::Unary {
                op: UnaryOp::Not,
                operand,
            } => self.const_bool(*operand, depth + 1).map(|b| !b),
            Expr::Binary {
                op: op @ (BinaryOp::And | BinaryOp::Or),
                lhs,
                rhs,
            } => {
                // `and` is decided by one false operand, `or` by one true operand;
                // otherwise both operands must be known.
                let decisive = *op == BinaryOp::Or;
                match (
                    self.const_bool(*lhs, depth + 1),
                    self.const_bool(*rhs, depth + 1),
                ) {
                    (Some(b), _) | (_, Some(b)) if b == decisive => Some(decisive),
                    (Some(_), Some(_)) => Some(!decisive),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
