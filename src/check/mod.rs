//! Name resolution and type checking of the AST, and lowering into the IR. Collects
//! every problem (errors and warnings) rather than stopping at the first; an
//! expression that fails to check gets an error type that unifies with anything, so
//! one mistake does not cascade.
//!
//! Checking and lowering are one walk: every checked expression is pushed straight into
//! the [`Program`] arena with its type and span. The passes run in dependency order:
//! schema, events and profile, states, trigger names, profile attributes written by
//! `set profile.x`, reducers, triggers, then the whole-program warnings.
//!
//! Files: `scope` (what names mean where), `types` (typing rules), `names` (names
//! and field access), `expr` (operators, calls, literals), `aggregate` (window and
//! last/first aggregates), `decl` (schema,
//! events, profile, states), `trigger` (triggers, steps, actions), `lint` (warnings),
//! `error` (all wording).

mod aggregate;
mod decl;
pub mod error;
mod expr;
pub mod layout;
mod lint;
mod names;
mod scope;
mod trigger;
mod types;
mod wire;

use rustc_hash::FxHashMap;

use crate::diag::Diagnostic;
use crate::ir::{EventId, Expr, ExprId, ProfileFieldId, Program, StateId, TriggerId, Ty};
use crate::syntax::{Ast, Name, SourceMap, Span};

use error::Problem;
use scope::Alias;

/// Check `ast` and lower it to a [`Program`]. The program is `None` when there were
/// errors. Diagnostics come sorted by position.
pub fn check(ast: &Ast, sources: &SourceMap) -> (Option<Program>, Vec<Diagnostic>) {
    let _ = sources;
    let mut c = Checker::new(ast);
    c.check_schema();
    c.declare_events();
    c.check_wire_collisions();
    c.declare_states();
    c.declare_triggers();
    c.declare_profile_writes();
    c.check_state_rules();
    c.check_triggers();
    c.lint_program();
    let mut diags: Vec<Diagnostic> = c
        .problems
        .into_iter()
        .map(Problem::into_diagnostic)
        .collect();
    diags.sort_by_key(|d| (d.span.file, d.span.start, d.span.end));
    let program = if diags.iter().any(Diagnostic::is_error) {
        None
    } else {
        layout::assign(&mut c.prog);
        Some(c.prog)
    };
    (program, diags)
}

/// A trigger as seen before its body is checked (for `enroll`).
struct TriggerHead {
    name: String,
    name_span: Span,
    /// Span of `on enroll` when it starts that way.
    enroll_start: Option<Span>,
    start_span: Span,
    enrolled: bool,
}

/// A profile attribute while checking.
struct ProfileSlot {
    /// Whether its type is known yet (attributes written only by `set profile.x`
    /// learn it from the value).
    typed: bool,
    /// Where it is first declared (a profile event field or a `set`).
    span: Span,
}

/// The state of one checking run.
struct Checker<'a> {
    ast: &'a Ast,
    prog: Program,
    problems: Vec<Problem>,
    /// While inferring the type of a `set profile.x` value ahead of time: problems
    /// are dropped and the lowered expressions are thrown away afterwards.
    probing: bool,
    events: FxHashMap<Name, EventId>,
    event_used: Vec<bool>,
    states: FxHashMap<Name, StateId>,
    state_used: Vec<bool>,
    triggers: FxHashMap<Name, TriggerId>,
    trigger_heads: Vec<TriggerHead>,
    profile: FxHashMap<String, ProfileFieldId>,
    profile_slots: Vec<ProfileSlot>,
    /// Aliases of the trigger or reducer being checked.
    aliases: Vec<Alias>,
    /// Current expression nesting, to keep recursion bounded.
    depth: u32,
    /// Fields (event index, field index) whose declared type was unknown: reading
    /// one gives the error type, so the bad declaration is reported once.
    untyped_fields: rustc_hash::FxHashSet<(u32, u32)>,
    /// How many error placeholders were made so far (a trigger whose expressions
    /// made none is linted for constant guards).
    placeholders: usize,
    /// Per state: whether its declared type was known.
    state_typed: Vec<bool>,
    /// Deduplication of aggregates: canonical text → id.
    agg_keys: FxHashMap<String, crate::ir::AggId>,
}

/// Deeper than the parser allows (200), so only hand-built trees reach it.
const MAX_DEPTH: u32 = 256;

impl<'a> Checker<'a> {
    /// An empty checker over `ast`: no names declared yet, nothing reported.
    fn new(ast: &'a Ast) -> Checker<'a> {
        Checker {
            ast,
            prog: Program::default(),
            problems: Vec::new(),
            probing: false,
            events: FxHashMap::default(),
            event_used: Vec::new(),
            states: FxHashMap::default(),
            state_used: Vec::new(),
            triggers: FxHashMap::default(),
            trigger_heads: Vec::new(),
            profile: FxHashMap::default(),
            profile_slots: Vec::new(),
            aliases: Vec::new(),
            depth: 0,
            agg_keys: FxHashMap::default(),
            untyped_fields: rustc_hash::FxHashSet::default(),
            state_typed: Vec::new(),
            placeholders: 0,
        }
    }

    /// Record a problem, unless probing (see [`Checker::probing`]), where the same
    /// expression is checked again for real later and would report twice.
    fn report(&mut self, p: Problem) {
        if !self.probing {
            self.problems.push(p);
        }
    }

    /// Push one lowered expression with its type and span.
    fn push(&mut self, e: Expr, ty: Ty, span: Span) -> ExprId {
        self.prog.exprs.push(e);
        self.prog.expr_types.push(ty);
        self.prog.expr_spans.push(span);
        ExprId::from_index(self.prog.exprs.len() - 1)
    }

    /// Stand-in for an expression that failed: it has the error type. The program is
    /// discarded when this is used, so its content does not matter.
    fn placeholder(&mut self, span: Span) -> types::Typed {
        self.placeholders += 1;
        let id = self.push(Expr::Const(crate::ir::Const::Bool(false)), Ty::Bool, span);
        types::Typed { id, ty: None }
    }

    /// A type as it is written in Trig, for messages.
    fn ty_name(&self, t: &Ty) -> String {
        crate::ir::print::ty(&self.prog, t)
    }

    /// An event's declared name, for messages.
    fn event_name(&self, e: EventId) -> String {
        self.prog
            .events
            .get(e.index())
            .map_or_else(String::new, |e| e.name.clone())
    }

    /// Resolve an event name, marking it used; reports unknown events.
    fn event_ref(&mut self, name: &crate::syntax::Ident) -> Option<EventId> {
        match self.events.get(&name.name) {
            Some(&id) => {
                if let Some(u) = self.event_used.get_mut(id.index()) {
                    *u = true;
                }
                Some(id)
            }
            None => {
                let known = self.prog.events.iter().map(|e| e.name.clone()).collect();
                self.report(Problem::Unknown {
                    kind: error::NameKind::Event,
                    span: name.span,
                    name: name.name.to_string(),
                    known,
                    note: None,
                });
                None
            }
        }
    }

    /// Whether a field's declared type was unknown (already reported).
    fn untyped(&self, event: EventId, field: crate::ir::FieldIdx) -> bool {
        self.untyped_fields.contains(&(event.0, field.0))
    }

    /// Note that a rule reads this field: the decoder keeps only fields some rule
    /// reads.
    fn mark_field_used(&mut self, event: EventId, field: crate::ir::FieldIdx) {
        if let Some(f) = self
            .prog
            .events
            .get_mut(event.index())
            .and_then(|e| e.fields.get_mut(field.index()))
        {
            f.used = true;
        }
    }

    /// Note that a rule reads the whole event (a default payload or a stored
    /// `last`/`first` event), so the decoder keeps every field.
    fn mark_all_fields_used(&mut self, event: EventId) {
        if let Some(e) = self.prog.events.get_mut(event.index()) {
            for f in &mut e.fields {
                f.used = true;
            }
        }
    }
}
