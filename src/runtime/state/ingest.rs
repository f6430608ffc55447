//! Ingest: what an event does to one key's data. [`IngestPlan`] resolves once per
//! program what each event type feeds (reducer rules with how their argument is
//! found, aggregates with their shape); [`KeyData::ingest_planned`] then evaluates
//! every filter and argument against the data as it was, merges the profile, and
//! applies the reducers and aggregates, reporting cap hits and filter errors.

use super::reducer::Change;
use super::*;
use crate::interp::{EvalError, Interner, Value};
use crate::ir::{
    AggId, Binding, EventId, Expr, ExprId, Feed, Program, ReducerOp, ReducerRule, StateId,
};
use crate::runtime::Event;

/// Evaluates a filter expression (reducer `where`, aggregate `where`) with the event
/// being ingested bound as `Binding::Current`. Supplied by the runtime, so this module
/// never needs to know the engine. Reducer arguments (`insert(product)`) are
/// evaluated the same way.
pub trait FilterEval {
    fn eval_filter(
        &mut self,
        expr: ExprId,
        event: &Event,
        data: &KeyData,
    ) -> Result<Value, EvalError>;
    fn interner(&mut self) -> &mut Interner;
}

/// Where ingest reports what it could not do (cap hits, filter errors).
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    pub cap_hits: u64,
    /// Errors of filters and reducer arguments (the rule is then skipped), and
    /// integer overflow of `add(x)` (pointing at `x`; the state is left unchanged).
    pub filter_errors: Vec<EvalError>,
    /// Reused from event to event by [`KeyData::ingest`] (the outcome of each
    /// target's filter and argument, held until the event is applied), so that
    /// ingesting allocates nothing in the steady state.
    decisions: Vec<Option<Value>>,
}

impl IngestReport {
    /// Note a filter or argument error. Cold: keeps the error path out of the
    /// ingest loop's instruction stream.
    #[cold]
    #[inline(never)]
    fn filter_error(&mut self, e: EvalError) {
        self.filter_errors.push(e);
    }
}

/// What [`KeyData::ingest`] does with an event of each type, derived once per
/// program (by the runtime) rather than at every event: the targets it feeds, each
/// aggregate's shape and field resolved.
#[derive(Clone, Debug, Default)]
pub struct IngestPlan {
    /// By [`EventId`].
    kinds: Vec<KindPlan>,
}

/// The ingest of one event type.
#[derive(Clone, Debug, Default)]
struct KindPlan {
    /// A profile event: its fields merge into the profile.
    profile: bool,
    targets: Vec<Target>,
}

/// How a reducer rule's argument is found.
#[derive(Clone, Copy, Debug)]
enum Arg {
    /// `clear()`: none.
    None,
    /// `insert(product)`: a field of the event being ingested, read directly (what
    /// evaluating the expression would give, without the engine).
    Field(usize),
    /// Anything else: evaluated.
    Expr(ExprId),
}

/// One reducer rule or aggregate an event feeds (a [`Feed`], resolved).
#[derive(Clone, Copy, Debug)]
enum Target {
    Rule {
        state: StateId,
        rule: u32,
        arg: Arg,
    },
    Agg {
        id: AggId,
        shape: AggShape,
        /// The aggregated field's index in the event (`None`: reads no field).
        field: Option<usize>,
        filter: Option<ExprId>,
    },
}

impl IngestPlan {
    pub fn new(program: &Program) -> IngestPlan {
        IngestPlan {
            kinds: (0..program.events.len())
                .map(|k| KindPlan::new(program, EventId::from_index(k)))
                .collect(),
        }
    }

    /// Every expression the ingest of some event type hands to its `FilterEval`:
    /// reducer and aggregate filters, and reducer arguments not read directly.
    pub fn visit_evaluated(&self, program: &Program, mark: &mut dyn FnMut(ExprId)) {
        for target in self.kinds.iter().flat_map(|k| &k.targets) {
            match *target {
                Target::Rule { state, rule, arg } => {
                    let filter = program
                        .states
                        .get(state.index())
                        .and_then(|def| def.rules.get(rule as usize))
                        .and_then(|rule| rule.filter);
                    filter.into_iter().for_each(&mut *mark);
                    if let Arg::Expr(e) = arg {
                        mark(e);
                    }
                }
                Target::Agg { filter, .. } => filter.into_iter().for_each(&mut *mark),
            }
        }
    }
}

impl KindPlan {
    fn new(program: &Program, kind: EventId) -> KindPlan {
        // The layout the compiler derived: a program without one (hand-built, the
        // layout pass not run) feeds nothing.
        let feeds = program.layout.feeds.get(kind.index());
        let targets = feeds
            .into_iter()
            .flatten()
            .filter_map(|feed| match *feed {
                Feed::Rule { state, rule } => Some(Target::Rule {
                    state,
                    rule,
                    arg: rule_arg(program, kind, state, rule),
                }),
                Feed::Agg(id) => {
                    let agg = program.aggregates.get(id.index())?;
                    Some(Target::Agg {
                        id,
                        shape: AggShape::of(program, id, agg),
                        field: agg.field.map(|f| f.index()),
                        filter: agg.filter,
                    })
                }
            })
            .collect();
        KindPlan {
            profile: program
                .events
                .get(kind.index())
                .is_some_and(|def| def.profile),
            targets,
        }
    }
}

/// How rule `rule` of state `state`, fed by an event of type `kind`, finds its
/// argument.
fn rule_arg(program: &Program, kind: EventId, state: StateId, rule: u32) -> Arg {
    let Some(rule) = program
        .states
        .get(state.index())
        .and_then(|def| def.rules.get(rule as usize))
    else {
        return Arg::None;
    };
    let expr = match rule.op {
        ReducerOp::Insert(x) | ReducerOp::Remove(x) | ReducerOp::Set(x) | ReducerOp::Add(x) => x,
        ReducerOp::Push { value, .. } => value,
        ReducerOp::Clear => return Arg::None,
    };
    match program.exprs.get(expr.index()) {
        Some(Expr::Field {
            binding: Binding::Current,
            choices,
        }) => match choices.iter().find(|(event, _)| *event == kind) {
            Some((_, field)) => Arg::Field(field.index()),
            None => Arg::Expr(expr),
        },
        _ => Arg::Expr(expr),
    }
}

impl KeyData {
    /// Take `event` in: profile merge, reducers, aggregates. `index` is kept up to
    /// date for `indexed` states.
    ///
    /// Every filter and reducer argument is evaluated first, against the data as it
    /// was before this event; then the profile merges, then reducers apply (states by
    /// id, rules in source order), then aggregates take the event in.
    ///
    /// Derives what the event type feeds at each call: the runtime uses
    /// [`KeyData::ingest_planned`] with a plan made once.
    pub fn ingest(
        &mut self,
        program: &Program,
        customer: CustomerId,
        event: &Event,
        index: &mut FanOutIndex,
        eval: &mut dyn FilterEval,
        report: &mut IngestReport,
    ) {
        let plan = KindPlan::new(program, event.kind);
        self.ingest_kind(program, &plan, customer, event, index, eval, report);
    }

    /// [`KeyData::ingest`] with what each event type feeds taken from `plan`, which
    /// must have been made for `program`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the ingest context, as for `ingest`, plus the plan"
    )]
    pub fn ingest_planned(
        &mut self,
        program: &Program,
        plan: &IngestPlan,
        customer: CustomerId,
        event: &Event,
        index: &mut FanOutIndex,
        eval: &mut dyn FilterEval,
        report: &mut IngestReport,
    ) {
        match plan.kinds.get(event.kind.index()) {
            Some(kind) => self.ingest_kind(program, kind, customer, event, index, eval, report),
            None => self.ingest(program, customer, event, index, eval, report),
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the ingest context, passed through once per event"
    )]
    fn ingest_kind(
        &mut self,
        program: &Program,
        plan: &KindPlan,
        customer: CustomerId,
        event: &Event,
        index: &mut FanOutIndex,
        eval: &mut dyn FilterEval,
        report: &mut IngestReport,
    ) {
        match plan.targets.as_slice() {
            [] => {
                if plan.profile {
                    self.merge_profile(program, event);
                }
            }
            // An unfiltered aggregate (`count(X within 10m)`): nothing to evaluate, so
            // take the event in directly rather than through a held decision.
            [
                Target::Agg {
                    id,
                    shape,
                    field,
                    filter: None,
                },
            ] => {
                if plan.profile {
                    self.merge_profile(program, event);
                }
                self.take_in(*id, shape, *field, event, eval.interner(), report);
            }
            // One target: nothing else can change the data between its evaluation
            // and its application, so no decision is held.
            [target] => {
                let decision = self.evaluate(program, target, event, eval, report);
                if plan.profile {
                    self.merge_profile(program, event);
                }
                if let Some(arg) = decision {
                    self.apply(program, target, arg, customer, event, index, eval, report);
                }
            }
            targets => {
                let mut decisions = std::mem::take(&mut report.decisions);
                decisions.clear();
                for target in targets {
                    let decision = self.evaluate(program, target, event, eval, report);
                    decisions.push(decision);
                }
                if plan.profile {
                    self.merge_profile(program, event);
                }
                for (target, decision) in targets.iter().zip(decisions.drain(..)) {
                    if let Some(arg) = decision {
                        self.apply(program, target, arg, customer, event, index, eval, report);
                    }
                }
                report.decisions = decisions;
            }
        }
    }

    /// Evaluate one target's filter and argument against the data as it is: `None`
    /// skips it, `Some(arg)` applies it (`arg` is `Value::None` when the target has
    /// no argument).
    fn evaluate(
        &self,
        program: &Program,
        target: &Target,
        event: &Event,
        eval: &mut dyn FilterEval,
        report: &mut IngestReport,
    ) -> Option<Value> {
        match *target {
            Target::Rule { state, rule, arg } => {
                let rule = program
                    .states
                    .get(state.index())?
                    .rules
                    .get(rule as usize)?;
                self.evaluate_rule(rule, arg, event, eval, report)
            }
            Target::Agg { filter, .. } => self
                .passes(filter, event, eval, report)
                .then_some(Value::None),
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the ingest context, passed through once per target"
    )]
    fn apply(
        &mut self,
        program: &Program,
        target: &Target,
        arg: Value,
        customer: CustomerId,
        event: &Event,
        index: &mut FanOutIndex,
        eval: &mut dyn FilterEval,
        report: &mut IngestReport,
    ) {
        match *target {
            Target::Rule { state, rule, .. } => {
                let Some(def) = program.states.get(state.index()) else {
                    return;
                };
                let Some(rule) = def.rules.get(rule as usize) else {
                    return;
                };
                let mut change = Change {
                    customer,
                    index,
                    report,
                };
                self.apply_rule(state, def, rule, arg, &mut change);
            }
            Target::Agg {
                id,
                ref shape,
                field,
                ..
            } => self.take_in(id, shape, field, event, eval.interner(), report),
        }
    }

    fn passes(
        &self,
        filter: Option<ExprId>,
        event: &Event,
        eval: &mut dyn FilterEval,
        report: &mut IngestReport,
    ) -> bool {
        let Some(expr) = filter else { return true };
        match eval.eval_filter(expr, event, self) {
            Ok(v) => v == Value::Bool(true),
            Err(e) => {
                report.filter_error(e);
                false
            }
        }
    }

    fn evaluate_rule(
        &self,
        rule: &ReducerRule,
        arg: Arg,
        event: &Event,
        eval: &mut dyn FilterEval,
        report: &mut IngestReport,
    ) -> Option<Value> {
        if !self.passes(rule.filter, event, eval, report) {
            return None;
        }
        let expr = match arg {
            Arg::None => return Some(Value::None),
            // An absent optional field is none, as the engine would say.
            Arg::Field(f) => return Some(event.fields.get(f).cloned().unwrap_or(Value::None)),
            Arg::Expr(expr) => expr,
        };
        match eval.eval_filter(expr, event, self) {
            Ok(v) => Some(v),
            Err(e) => {
                report.filter_error(e);
                None
            }
        }
    }

    /// Merges a profile event's fields (the caller checks that it is one: most
    /// events are not, and the check costs less than the call).
    fn merge_profile(&mut self, program: &Program, event: &Event) {
        let Some(def) = program.events.get(event.kind.index()) else {
            return;
        };
        for (field, value) in def.profile_fields.iter().zip(&event.fields) {
            if *value != Value::None {
                self.set_profile(*field, value.clone());
            }
        }
    }

    fn take_in(
        &mut self,
        id: AggId,
        shape: &AggShape,
        field: Option<usize>,
        event: &Event,
        strings: &Interner,
        report: &mut IngestReport,
    ) {
        if let Storage::ReadsFrom(_) = shape.storage {
            // The host aggregate takes the same events in.
            return;
        }
        let Some(input) = Input::new(shape, field, event) else {
            return;
        };
        // One search: the slot, or where a new one goes.
        match position(&self.slots, agg_key(id)) {
            Ok(i) => {
                if let Some(Slot::Agg(_, slot)) = self.slots.get_mut(i)
                    && slot.push(shape, &input, strings)
                {
                    report.cap_hits += 1;
                }
            }
            Err(i) => insert_slot(
                &mut self.slots,
                i,
                Slot::Agg(id, AggSlot::start(shape, &input)),
            ),
        }
        // The new entry can expire first (a late event, or a new slot); a push never
        // makes an older entry's expiry earlier, and a distinct set's scan time only
        // changes in `expire`.
        if let Some(d) = shape.within {
            self.quiet_until = self.quiet_until.min(event.ts.saturating_add(d));
        }
    }
}
