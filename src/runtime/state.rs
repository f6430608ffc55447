//! Per-key derived data: declared states (folded by reducers), aggregates (windows,
//! `last`/`first`) and the profile. Plain data that serialises.
//!
//! [`KeyData`] is one sparse slot list sorted by (states, aggregates, profile
//! attributes; then id), 32 bytes a slot: a key holds a slot only for what it has
//! taken in, a state at its initial value holds none, a windowed `count` that counts
//! another aggregate's entries holds none, and an empty `KeyData` allocates nothing.
//! Set members and window values are stored in their compact `i64`/[`Sym`] form
//! (see [`super::member`]); how each aggregate is stored is in [`super::window`].
//!
//! Memory is bounded per key whatever the input: a set holds at most [`SET_CAP`]
//! members (inserting past it is dropped), a list at most [`LIST_CAP`] entries, an
//! aggregate at most [`super::window::WINDOW_CAP`] entries; each hit is counted in
//! [`IngestReport::cap_hits`].

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use super::gate::Gate;
use super::member::{self, ScalarKind};
use super::window::{AggShape, AggSlot, Input, Storage};
use crate::interp::{EvalError, EvalErrorKind, Interner, Sym, Value};
use crate::ir::{
    AggId, Binding, EventId, Expr, ExprId, Feed, Limit, ProfileFieldId, Program, ReducerOp,
    ReducerRule, StateDef, StateId, TriggerId, Ty,
};
use crate::runtime::Event;

pub use super::fanout::FanOutIndex;

/// Most members one set state holds for one key; an insert of a new member into a
/// full set is dropped and counted.
pub const SET_CAP: usize = 10_000;

/// Most entries one list state holds for one key, whatever `push(x, N)` asks for;
/// dropping an entry that `N` would have kept is counted.
pub const LIST_CAP: usize = 10_000;

/// The symbol of `""`, the initial value of `string` states. The runtime's interner
/// must intern `""` first so that this holds.
pub const EMPTY_STR: Sym = Sym(0);

/// A dense per-process customer number (index into the runtime's customer table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerId(pub u32);

/// Everything the program derives for one key. Empty (and allocation-free) until
/// the key's first event that a state, aggregate or profile cares about.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyData {
    /// Sorted by [`Slot::key`]: states away from their initial value, aggregates
    /// that took at least one event in (and still hold something), profile
    /// attributes that are set.
    slots: Box<[Slot]>,
    /// No [`KeyData::expire`] before this time can drop anything: a lower bound of
    /// every windowed slot's [`AggSlot::expires_at`], so that the common call (at
    /// every event of a key without pending work) is one comparison. A cache: not
    /// serialised (a restored key rescans once) and not compared.
    #[serde(skip, default = "expire_now")]
    quiet_until: i64,
}

/// A [`KeyData::quiet_until`] that promises nothing.
fn expire_now() -> i64 {
    i64::MIN
}

impl Default for KeyData {
    fn default() -> KeyData {
        KeyData {
            slots: Box::default(),
            quiet_until: expire_now(),
        }
    }
}

impl PartialEq for KeyData {
    fn eq(&self, other: &KeyData) -> bool {
        self.slots == other.slots
    }
}

/// One entry of [`KeyData`]. The id sits in each variant (not in a wrapper struct)
/// so that it shares the first word with the tag: 32 bytes a slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Slot {
    /// `set<string>`: ascending symbols.
    Syms(StateId, Vec<Sym>),
    /// Any other set: ascending encoded members.
    Members(StateId, Vec<i64>),
    /// `list<T>`, oldest first.
    #[expect(
        clippy::box_collection,
        reason = "lists are rare; boxing keeps every slot 8 bytes smaller"
    )]
    List(StateId, Box<VecDeque<Value>>),
    Scalar(StateId, Value),
    Agg(AggId, AggSlot),
    Profile(ProfileFieldId, Value),
    /// Cooldown/limit bookkeeping of a trigger that fired for this key.
    Gate(TriggerId, Gate),
}

/// Which list a slot belongs to, in slot order.
const STATE: u8 = 0;
const AGG: u8 = 1;
const PROFILE: u8 = 2;
const GATE: u8 = 3;

/// A slot's place in the sorted list.
type SlotKey = (u8, u32);

fn state_key(id: StateId) -> SlotKey {
    (STATE, id.0)
}

fn agg_key(id: AggId) -> SlotKey {
    (AGG, id.0)
}

fn profile_key(id: ProfileFieldId) -> SlotKey {
    (PROFILE, id.0)
}

fn gate_key(id: TriggerId) -> SlotKey {
    (GATE, id.0)
}

impl Slot {
    fn key(&self) -> SlotKey {
        match self {
            Slot::Syms(id, _) | Slot::Members(id, _) | Slot::List(id, _) | Slot::Scalar(id, _) => {
                state_key(*id)
            }
            Slot::Agg(id, _) => agg_key(*id),
            Slot::Profile(id, _) => profile_key(*id),
            Slot::Gate(id, _) => gate_key(*id),
        }
    }
}

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

/// Everything an event of type `kind` feeds, for a program without a derived
/// [`crate::ir::Layout`] (hand-built in tests): what `check::layout` would list.
fn scan_feeds(program: &Program, kind: EventId) -> Vec<Feed> {
    let mut feeds = Vec::new();
    for (i, def) in program.states.iter().enumerate() {
        for (r, rule) in def.rules.iter().enumerate() {
            if let (true, Ok(rule)) = (rule.event == kind, u32::try_from(r)) {
                feeds.push(Feed::Rule {
                    state: StateId::from_index(i),
                    rule,
                });
            }
        }
    }
    for (i, agg) in program.aggregates.iter().enumerate() {
        let id = AggId::from_index(i);
        let storage = crate::check::layout::storage(program, id);
        if agg.event == kind && crate::check::layout::is_fed(agg, Some(storage)) {
            feeds.push(Feed::Agg(id));
        }
    }
    feeds
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
}

impl KindPlan {
    fn new(program: &Program, kind: EventId) -> KindPlan {
        let layout = &program.layout;
        let feeds = if layout.covers(program.aggregates.len(), program.events.len()) {
            layout.feeds.get(kind.index()).cloned().unwrap_or_default()
        } else {
            scan_feeds(program, kind)
        };
        let targets = feeds
            .iter()
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

static EMPTY_COLLECTION: LazyLock<Arc<Vec<Value>>> = LazyLock::new(|| Arc::new(Vec::new()));

/// A state's value before any reducer touched it.
pub fn initial_value(ty: &Ty) -> Value {
    match ty {
        Ty::Set(_) => Value::Set(EMPTY_COLLECTION.clone()),
        Ty::List(_) => Value::List(EMPTY_COLLECTION.clone()),
        Ty::Int => Value::Int(0),
        Ty::Float => Value::Float(0.0),
        Ty::Bool => Value::Bool(false),
        Ty::Str => Value::Str(EMPTY_STR),
        Ty::Duration => Value::Duration(0),
        _ => Value::None,
    }
}

fn position(slots: &[Slot], k: SlotKey) -> Result<usize, usize> {
    slots.binary_search_by_key(&k, Slot::key)
}

fn find(slots: &[Slot], k: SlotKey) -> Option<&Slot> {
    position(slots, k).ok().and_then(|i| slots.get(i))
}

/// The slot for `k`, created with `init` when absent. Adding a slot reallocates the
/// list: slots appear once per key and state, not per event.
fn slot_mut(slots: &mut Box<[Slot]>, k: SlotKey, init: impl FnOnce() -> Slot) -> Option<&mut Slot> {
    let i = match position(slots, k) {
        Ok(i) => i,
        Err(i) => {
            insert_slot(slots, i, init());
            i
        }
    };
    slots.get_mut(i)
}

/// Inserts `slot` at `i`, reallocating the list to exactly one more slot.
fn insert_slot(slots: &mut Box<[Slot]>, i: usize, slot: Slot) {
    let mut v = Vec::with_capacity(slots.len() + 1);
    v.extend(std::mem::take(slots).into_vec());
    v.insert(i.min(v.len()), slot);
    *slots = v.into_boxed_slice();
}

fn find_mut(slots: &mut [Slot], k: SlotKey) -> Option<&mut Slot> {
    let i = position(slots, k).ok()?;
    slots.get_mut(i)
}

fn remove_slot(slots: &mut Box<[Slot]>, k: SlotKey) -> Option<Slot> {
    let i = position(slots, k).ok()?;
    let mut v = std::mem::take(slots).into_vec();
    let old = v.remove(i);
    *slots = v.into_boxed_slice();
    Some(old)
}

impl KeyData {
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Nothing but cooldown/limit gates (they sort last).
    pub fn holds_only_gates(&self) -> bool {
        self.slots
            .first()
            .is_none_or(|s| matches!(s, Slot::Gate(..)))
    }

    /// Whether trigger `t`'s cooldown and limit let a step fire at `at`; if so, the
    /// firing is recorded. One search of the slot list: a key without a gate for `t`
    /// is suppressed by nothing.
    pub fn admit(
        &mut self,
        t: TriggerId,
        cooldown: Option<i64>,
        limit: Option<Limit>,
        at: i64,
    ) -> bool {
        match position(&self.slots, gate_key(t)) {
            Ok(i) => match self.slots.get_mut(i) {
                Some(Slot::Gate(_, gate)) if gate.suppresses(cooldown, limit, at) => false,
                Some(Slot::Gate(_, gate)) => {
                    gate.record(limit, at);
                    true
                }
                _ => true,
            },
            Err(i) => {
                let mut gate = Gate::default();
                gate.record(limit, at);
                insert_slot(&mut self.slots, i, Slot::Gate(t, gate));
                true
            }
        }
    }

    /// Drop the gates that can no longer suppress anything at or after `now`;
    /// returns whether any remain.
    pub fn prune_gates(&mut self, program: &Program, now: i64) -> bool {
        let spent = |s: &Slot| match s {
            Slot::Gate(t, gate) => program
                .triggers
                .get(t.index())
                .is_none_or(|def| gate.is_spent(def.cooldown, def.limit, now)),
            _ => false,
        };
        if self.slots.iter().any(spent) {
            let mut v = std::mem::take(&mut self.slots).into_vec();
            v.retain(|s| !spent(s));
            self.slots = v.into_boxed_slice();
        }
        self.slots.iter().any(|s| matches!(s, Slot::Gate(..)))
    }

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

    fn apply_rule(
        &mut self,
        id: StateId,
        def: &StateDef,
        rule: &ReducerRule,
        arg: Value,
        change: &mut Change,
    ) {
        match rule.op {
            ReducerOp::Insert(_) => self.insert_member(id, def, &arg, change),
            ReducerOp::Remove(_) => self.remove_member(id, def, &arg, change),
            ReducerOp::Clear => self.clear(id, def, change),
            ReducerOp::Set(_) => {
                if arg == initial_value(&def.ty) {
                    remove_slot(&mut self.slots, state_key(id));
                } else if let Some(slot) = slot_mut(&mut self.slots, state_key(id), || {
                    Slot::Scalar(id, Value::None)
                }) {
                    *slot = Slot::Scalar(id, arg);
                }
            }
            ReducerOp::Add(x) => {
                let current = self
                    .state_slot_value(id)
                    .unwrap_or_else(|| initial_value(&def.ty));
                match add(&current, &arg) {
                    Ok(sum) => {
                        if let Some(slot) = slot_mut(&mut self.slots, state_key(id), || {
                            Slot::Scalar(id, Value::None)
                        }) {
                            *slot = Slot::Scalar(id, sum);
                        }
                    }
                    Err(kind) => change
                        .report
                        .filter_errors
                        .push(EvalError { expr: x, kind }),
                }
            }
            ReducerOp::Push { max, .. } => {
                let keep = usize::try_from(max).unwrap_or(usize::MAX);
                let cap = keep.min(LIST_CAP);
                let Some(Slot::List(_, list)) = slot_mut(&mut self.slots, state_key(id), || {
                    Slot::List(id, Box::default())
                }) else {
                    return;
                };
                list.push_back(arg);
                while list.len() > cap {
                    list.pop_front();
                    if list.len() < keep {
                        change.report.cap_hits += 1;
                    }
                }
                if list.is_empty() {
                    remove_slot(&mut self.slots, state_key(id));
                }
            }
        }
    }

    fn state_slot_value(&self, id: StateId) -> Option<Value> {
        match find(&self.slots, state_key(id))? {
            Slot::Scalar(_, v) => Some(v.clone()),
            _ => None,
        }
    }

    fn insert_member(&mut self, id: StateId, def: &StateDef, arg: &Value, change: &mut Change) {
        let Some(m) = member::encode(arg) else { return };
        let strings = ScalarKind::element_of(&def.ty) == Some(ScalarKind::Str);
        let init = || {
            if strings {
                Slot::Syms(id, Vec::new())
            } else {
                Slot::Members(id, Vec::new())
            }
        };
        let outcome = match (slot_mut(&mut self.slots, state_key(id), init), arg) {
            (Some(Slot::Syms(_, syms)), Value::Str(s)) => insert_capped(syms, *s),
            (Some(Slot::Members(_, ms)), _) => insert_capped(ms, m),
            _ => Membership::Unchanged,
        };
        match outcome {
            Membership::Changed if def.indexed => change.index.add(id, m, change.customer),
            Membership::Changed | Membership::Unchanged => {}
            Membership::Full => change.report.cap_hits += 1,
        }
    }

    fn remove_member(&mut self, id: StateId, def: &StateDef, arg: &Value, change: &mut Change) {
        let Some(m) = member::encode(arg) else { return };
        // Removing from an empty set (or an absent member) does nothing.
        let (outcome, now_empty) = match (find_mut(&mut self.slots, state_key(id)), arg) {
            (Some(Slot::Syms(_, syms)), Value::Str(s)) => (remove_sorted(syms, s), syms.is_empty()),
            (Some(Slot::Members(_, ms)), _) => (remove_sorted(ms, &m), ms.is_empty()),
            _ => (Membership::Unchanged, false),
        };
        if outcome == Membership::Changed && def.indexed {
            change.index.remove(id, m, change.customer);
        }
        if now_empty {
            remove_slot(&mut self.slots, state_key(id));
        }
    }

    fn clear(&mut self, id: StateId, def: &StateDef, change: &mut Change) {
        if def.indexed {
            for m in self.set_members(id) {
                change.index.remove(id, m, change.customer);
            }
        }
        remove_slot(&mut self.slots, state_key(id));
    }

    /// The encoded members of set state `id` (empty for other states).
    pub(crate) fn set_members(&self, id: StateId) -> Vec<i64> {
        match find(&self.slots, state_key(id)) {
            Some(Slot::Syms(_, syms)) => syms.iter().map(|s| i64::from(s.0)).collect(),
            Some(Slot::Members(_, ms)) => ms.clone(),
            _ => Vec::new(),
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

    /// A state's current value. Sets come out as `Value::Set` with members in
    /// ascending stored order (strings by symbol number), so equal sets are equal
    /// values; lists oldest first.
    pub fn state(&self, program: &Program, id: StateId) -> Value {
        let Some(def) = program.states.get(id.index()) else {
            return Value::None;
        };
        match find(&self.slots, state_key(id)) {
            None | Some(Slot::Agg(..) | Slot::Profile(..) | Slot::Gate(..)) => {
                initial_value(&def.ty)
            }
            Some(Slot::Syms(_, syms)) => {
                Value::Set(Arc::new(syms.iter().map(|&s| Value::Str(s)).collect()))
            }
            Some(Slot::Members(_, ms)) => {
                let Some(kind) = ScalarKind::element_of(&def.ty) else {
                    return Value::None;
                };
                Value::Set(Arc::new(ms.iter().map(|&m| kind.decode(m)).collect()))
            }
            Some(Slot::List(_, list)) => Value::List(Arc::new(list.iter().cloned().collect())),
            Some(Slot::Scalar(_, v)) => v.clone(),
        }
    }

    /// What [`KeyData::state`] would hold as members, counted in place: `Some` for
    /// exactly the states whose value is a set or a list.
    pub fn state_len(&self, program: &Program, id: StateId) -> Option<usize> {
        let def = program.states.get(id.index())?;
        match find(&self.slots, state_key(id)) {
            Some(Slot::Syms(_, syms)) => Some(syms.len()),
            Some(Slot::Members(_, ms)) => ScalarKind::element_of(&def.ty).map(|_| ms.len()),
            Some(Slot::List(_, list)) => Some(list.len()),
            Some(Slot::Scalar(..)) => None,
            None | Some(Slot::Agg(..) | Slot::Profile(..) | Slot::Gate(..)) => {
                match initial_value(&def.ty) {
                    Value::Set(items) | Value::List(items) => Some(items.len()),
                    _ => None,
                }
            }
        }
    }

    /// The aggregate's value over the window ending at `now` (inclusive).
    pub fn aggregate(&self, program: &Program, id: AggId, now: i64) -> Value {
        let Some(agg) = program.aggregates.get(id.index()) else {
            return Value::None;
        };
        let shape = AggShape::of(program, id, agg);
        AggSlot::read(self.agg_slot(id, &shape), &shape, now)
    }

    /// The time of the event aggregate `id` (a `last` or `first`) holds at `now`.
    pub fn aggregate_time(&self, program: &Program, id: AggId, now: i64) -> Option<i64> {
        let agg = program.aggregates.get(id.index())?;
        let shape = AggShape::of(program, id, agg);
        AggSlot::read_time(self.agg_slot(id, &shape), &shape, now)
    }

    /// The slot holding aggregate `id`'s entries (another aggregate's for
    /// [`Storage::ReadsFrom`]).
    fn agg_slot(&self, id: AggId, shape: &AggShape) -> Option<&AggSlot> {
        let holder = match shape.storage {
            Storage::ReadsFrom(host) => host,
            Storage::Own | Storage::Hosts | Storage::TimeOnly => id,
        };
        match find(&self.slots, agg_key(holder)) {
            Some(Slot::Agg(_, slot)) => Some(slot),
            _ => None,
        }
    }

    /// A profile attribute; `Value::None` when unset.
    pub fn profile(&self, id: ProfileFieldId) -> Value {
        match find(&self.slots, profile_key(id)) {
            Some(Slot::Profile(_, v)) => v.clone(),
            _ => Value::None,
        }
    }

    /// `set profile.x = v`; setting `none` unsets it.
    pub fn set_profile(&mut self, id: ProfileFieldId, value: Value) {
        if value == Value::None {
            remove_slot(&mut self.slots, profile_key(id));
        } else if let Some(slot) = slot_mut(&mut self.slots, profile_key(id), || {
            Slot::Profile(id, Value::None)
        }) {
            *slot = Slot::Profile(id, value);
        }
    }

    /// Drop window entries that can no longer be read at or after `now`, and
    /// aggregates left with nothing (so an idle key's data can become empty). Costs
    /// a look at each aggregate slot plus time proportional to what is dropped
    /// (amortised; see [`AggSlot::expire`]).
    pub fn expire(&mut self, program: &Program, now: i64) {
        if now < self.quiet_until {
            return;
        }
        let mut emptied = false;
        let mut quiet_until = i64::MAX;
        for slot in self.slots.iter_mut() {
            let Slot::Agg(id, agg_slot) = slot else {
                continue;
            };
            let keep = match program.aggregates.get(id.index()) {
                Some(agg) if agg.within.is_none() => true,
                // A slot whose oldest entry is still live (pushes prune windows
                // themselves) is skipped without building its shape.
                Some(agg) => match agg_slot.expires_at(agg.within) {
                    Some(t) if now < t => {
                        quiet_until = quiet_until.min(t);
                        true
                    }
                    _ => {
                        let keep = agg_slot.expire(&AggShape::stored(program, agg), now);
                        if let Some(t) = agg_slot.expires_at(agg.within) {
                            quiet_until = quiet_until.min(t);
                        }
                        keep
                    }
                },
                None => false,
            };
            if !keep {
                // Mark for removal: an all-time counter is never left at zero.
                *agg_slot = AggSlot::Count(0);
                emptied = true;
            }
        }
        self.quiet_until = quiet_until;
        if emptied {
            let mut v = std::mem::take(&mut self.slots).into_vec();
            v.retain(|s| !matches!(s, Slot::Agg(_, AggSlot::Count(0))));
            self.slots = v.into_boxed_slice();
        }
    }
}

/// What a set reducer did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Membership {
    Changed,
    Unchanged,
    /// A new member did not fit under [`SET_CAP`].
    Full,
}

fn insert_capped<T: Ord>(members: &mut Vec<T>, x: T) -> Membership {
    match members.binary_search(&x) {
        Ok(_) => Membership::Unchanged,
        Err(_) if members.len() >= SET_CAP => Membership::Full,
        Err(i) => {
            // Grow by a quarter, not double: a key's set is usually small and stays.
            if members.len() == members.capacity() {
                members.reserve_exact((members.len() / 4).max(2));
            }
            members.insert(i, x);
            Membership::Changed
        }
    }
}

fn remove_sorted<T: Ord>(members: &mut Vec<T>, x: &T) -> Membership {
    match members.binary_search(x) {
        Ok(i) => {
            members.remove(i);
            Membership::Changed
        }
        Err(_) => Membership::Unchanged,
    }
}

/// Where a reducer reports side effects: the fan-out index and the report.
struct Change<'a> {
    customer: CustomerId,
    index: &'a mut FanOutIndex,
    report: &'a mut IngestReport,
}

/// `add(x)` on a scalar state: numbers of the same type; `none` on either side stays
/// `none`; integer overflow is an error.
fn add(current: &Value, x: &Value) -> Result<Value, EvalErrorKind> {
    Ok(match (current, x) {
        (Value::Int(a), Value::Int(b)) => {
            Value::Int(a.checked_add(*b).ok_or(EvalErrorKind::IntegerOverflow)?)
        }
        (Value::Duration(a), Value::Duration(b)) => {
            Value::Duration(a.checked_add(*b).ok_or(EvalErrorKind::IntegerOverflow)?)
        }
        (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
        (Value::Float(a), Value::Int(b)) => Value::Float(a + *b as f64),
        _ => Value::None,
    })
}
