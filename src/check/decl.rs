//! Declarations: the `schema` block, events (fields, `keyed by`, reserved names),
//! profile attributes from `profile event` fields, states and their reducers.

use crate::ir::{
    EventDef, EventId, FieldDef, FieldIdx, ProfileField, ProfileFieldId, ReducerOp, ReducerRule,
    StateDef, StateId, Ty, WireSchema,
};
use crate::syntax::{self as ast, Decl, SchemaRole, TypeExpr, TypeKind};

use super::error::{NameKind, Problem};
use super::scope::{Alias, AliasRole, Place, Scope, StartEvents};
use super::types::Checked;
use super::{Checker, ProfileSlot};

const TYPE_NAMES: &[&str] = &[
    "string", "int", "float", "bool", "time", "duration", "set", "list",
];

impl Checker<'_> {
    /// The wire field names of key, type and time. `schema` blocks in several files
    /// merge, each role set at most once, so which file wins never depends on load
    /// order; a role nobody names keeps its default.
    pub(super) fn check_schema(&mut self) {
        let mut seen: [Option<ast::Span>; 3] = [None; 3];
        let mut schema = WireSchema::default();
        for decl in &self.ast.decls {
            let Decl::Schema(s) = decl else { continue };
            for line in &s.lines {
                let (slot, word) = match line.role {
                    SchemaRole::Key => (0, "key"),
                    SchemaRole::Type => (1, "type"),
                    SchemaRole::Time => (2, "time"),
                };
                if let Some(first) = seen[slot] {
                    self.report(Problem::DuplicateOption {
                        span: line.span,
                        option: word.to_owned(),
                        first,
                    });
                    continue;
                }
                seen[slot] = Some(line.span);
                let mut paths: Vec<String> = line
                    .paths
                    .iter()
                    .map(|p| self.check_schema_path(p))
                    .collect();
                let Some(field) = (!paths.is_empty()).then(|| paths.remove(0)) else {
                    continue;
                };
                match line.role {
                    SchemaRole::Key => {
                        schema.key = field;
                        schema.key_alternatives = paths;
                    }
                    SchemaRole::Type => schema.type_ = field,
                    SchemaRole::Time => schema.time = field,
                }
                if let Some(format) = &line.format {
                    schema.time_format = self.check_time_format(format);
                }
            }
        }
        self.prog.schema = schema;
    }

    /// A written type; `None` (after a report) when a name is unknown.
    pub(super) fn resolve_type(&mut self, t: &TypeExpr) -> Checked {
        match &t.kind {
            TypeKind::Named(id) => match id.name.as_str() {
                "string" => Some(Ty::Str),
                "int" => Some(Ty::Int),
                "float" => Some(Ty::Float),
                "bool" => Some(Ty::Bool),
                "time" => Some(Ty::Time),
                "duration" => Some(Ty::Duration),
                other => {
                    self.report(Problem::Unknown {
                        kind: NameKind::Type,
                        span: id.span,
                        name: other.to_owned(),
                        known: TYPE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
                        note: Some("types are `string int float bool time duration set<T> list<T>` and `T?`".into()),
                    });
                    None
                }
            },
            TypeKind::Set(inner) => Some(Ty::Set(Box::new(self.resolve_type(inner)?))),
            TypeKind::List(inner) => Some(Ty::List(Box::new(self.resolve_type(inner)?))),
            TypeKind::Optional(inner) => Some(self.resolve_type(inner)?.optional()),
        }
    }

    /// Give every event declaration an [`EventId`], before anything that names events
    /// is checked, so a trigger may use an event declared later or in another file. A
    /// duplicate keeps the first id; its fields are still checked so their problems
    /// show.
    pub(super) fn declare_events(&mut self) {
        let ast = self.ast;
        for decl in &ast.decls {
            let Decl::Event(ev) = decl else { continue };
            if let Some(&first) = self.events.get(&ev.name.name) {
                let first = self.prog.event(first).span;
                self.report(Problem::Duplicate {
                    span: ev.name.span,
                    kind: "event",
                    name: ev.name.name.to_string(),
                    first,
                });
                // Still check the fields so their problems are reported.
                let _ = self.event_fields(ev);
                continue;
            }
            let fields = self.event_fields(ev);
            let wire = self.check_wire_names(ev);
            let mut def = EventDef {
                name: ev.name.name.to_string(),
                span: ev.name.span,
                profile: ev.profile.is_some(),
                keyed_by: None,
                wire,
                fields,
                profile_fields: Vec::new(),
            };
            if let Some(k) = &ev.keyed_by {
                def.keyed_by = self.keyed_by(&def, k);
                if let Some(f) = def.keyed_by.and_then(|f| def.fields.get_mut(f.index())) {
                    f.used = true;
                }
            }
            if ev.profile.is_some() {
                def.profile_fields = self.merge_profile(ev, &def);
                // Every field of a profile event merges into the profile, so the
                // decoder must keep them all.
                for f in &mut def.fields {
                    f.used = true;
                }
            }
            let id = EventId::from_index(self.prog.events.len());
            self.events.insert(ev.name.name, id);
            self.prog.events.push(def);
            self.event_used.push(false);
        }
    }

    /// The fields of one event. A field may not take a name the envelope owns: the
    /// schema's key, type and time fields are already members of every line (unless
    /// the field is read `from` another path), and `ts` is the event's time. A field of an unknown type is kept, marked untyped,
    /// so reads of it stay silent instead of repeating the type error.
    fn event_fields(&mut self, ev: &ast::EventDecl) -> Vec<FieldDef> {
        let mut fields: Vec<FieldDef> = Vec::new();
        for f in &ev.fields {
            let name = f.name.name.to_string();
            let owner = {
                let s = &self.prog.schema;
                // A field read `from` a path does not take its name's member.
                if f.path.is_some() && name != "ts" {
                    None
                } else if name == s.key || s.key_alternatives.contains(&name) {
                    Some("the schema's key field")
                } else if name == s.type_ {
                    Some("the schema's type field")
                } else if name == s.time {
                    Some("the schema's time field")
                } else if name == "ts" {
                    Some("the event's time (`ts`)")
                } else {
                    None
                }
            };
            if let Some(owner) = owner {
                self.report(Problem::ReservedName {
                    span: f.name.span,
                    name: name.clone(),
                    owner,
                });
            }
            if let Some(first) = fields.iter().find(|d| d.name == name) {
                let first = first.span;
                self.report(Problem::Duplicate {
                    span: f.name.span,
                    kind: "field",
                    name,
                    first,
                });
                continue;
            }
            let ty = self.resolve_type(&f.ty);
            if ty.is_none() {
                // Reads of it get the error type (see `Checker::untyped`).
                let event = u32::try_from(self.prog.events.len()).unwrap_or(u32::MAX);
                let field = u32::try_from(fields.len()).unwrap_or(u32::MAX);
                self.untyped_fields.insert((event, field));
            }
            let path = f
                .path
                .as_ref()
                .map(|p| self.check_field_path(p, ty.as_ref()));
            let ty = ty.unwrap_or(Ty::Str);
            let optional = ty.is_optional();
            fields.push(FieldDef {
                name,
                span: f.name.span,
                ty: ty.strip_optional().clone(),
                optional,
                used: false,
                path,
            });
        }
        fields
    }

    /// Which field routes an event `keyed by` it. It must be a required `string`: the
    /// key space is strings, and an event with no key would belong to nobody.
    fn keyed_by(&mut self, def: &EventDef, k: &ast::Ident) -> Option<FieldIdx> {
        let name = k.name.to_string();
        let bad = |reason: String| Problem::BadKeyedBy {
            span: k.span,
            field: name.clone(),
            reason,
        };
        let Some(idx) = def.field_by_name(&name) else {
            let p = bad(format!("`{}` has no field `{name}`", def.name));
            self.report(p);
            return None;
        };
        let field = def.field(idx);
        if field.optional {
            let p = bad("this field is optional".into());
            self.report(p);
            return None;
        }
        if field.ty != Ty::Str {
            let p = bad(format!(
                "this field is `{}`, not `string`",
                self.ty_name(&field.ty)
            ));
            self.report(p);
            return None;
        }
        Some(idx)
    }

    /// Profile attributes of a `profile event`'s fields, merged by name.
    fn merge_profile(&mut self, ev: &ast::EventDecl, def: &EventDef) -> Vec<ProfileFieldId> {
        let mut ids = Vec::with_capacity(def.fields.len());
        for f in &def.fields {
            let id = match self.profile.get(&f.name) {
                Some(&id) => {
                    let have = self.prog.profile[id.index()].ty.clone();
                    if have != f.ty {
                        let span = ev
                            .fields
                            .iter()
                            .find(|d| d.name.name.as_str() == f.name)
                            .map_or(f.span, |d| d.ty.span);
                        self.report(Problem::ProfileConflict {
                            span,
                            name: f.name.clone(),
                            ty: self.ty_name(&f.ty),
                            first_ty: self.ty_name(&have),
                            first: self.profile_slots[id.index()].span,
                        });
                    }
                    id
                }
                None => self.add_profile_field(f.name.clone(), Some(f.ty.clone()), f.span),
            };
            ids.push(id);
        }
        ids
    }

    /// A new profile attribute; `ty` is `None` until a `set` value gives it one.
    pub(super) fn add_profile_field(
        &mut self,
        name: String,
        ty: Option<Ty>,
        span: ast::Span,
    ) -> ProfileFieldId {
        let id = ProfileFieldId::from_index(self.prog.profile.len());
        self.profile.insert(name.clone(), id);
        self.profile_slots.push(ProfileSlot {
            typed: ty.is_some(),
            span,
        });
        self.prog.profile.push(ProfileField {
            name,
            ty: ty.unwrap_or(Ty::Str),
        });
        id
    }

    /// Give every state an id and a type before reducers and triggers read them. A
    /// `time` state must be `time?` (there is no zero time to start from). An unknown
    /// type leaves the state untyped so its readers stay silent.
    pub(super) fn declare_states(&mut self) {
        let ast = self.ast;
        for decl in &ast.decls {
            let Decl::State(st) = decl else { continue };
            let ty = self.resolve_type(&st.ty);
            if ty == Some(Ty::Time) {
                self.report(Problem::TimeStateNotOptional { span: st.ty.span });
            }
            if let Some(&first) = self.states.get(&st.name.name) {
                let first = self.prog.state(first).span;
                self.report(Problem::Duplicate {
                    span: st.name.span,
                    kind: "state",
                    name: st.name.name.to_string(),
                    first,
                });
                continue;
            }
            let id = StateId::from_index(self.prog.states.len());
            self.states.insert(st.name.name, id);
            self.prog.states.push(StateDef {
                name: st.name.name.to_string(),
                span: st.name.span,
                ty: ty.clone().unwrap_or(Ty::Int),
                rules: Vec::new(),
                indexed: false,
            });
            self.state_used.push(false);
            self.state_typed.push(ty.is_some());
        }
    }

    /// Check the reducers of every state, now that all states and profile attributes
    /// are known. A duplicate state's reducers are checked against the first
    /// declaration but not kept.
    pub(super) fn check_state_rules(&mut self) {
        let ast = self.ast;
        for decl in &ast.decls {
            let Decl::State(st) = decl else { continue };
            // A duplicate's rules are checked against the first declaration's type.
            let Some(&id) = self.states.get(&st.name.name) else {
                continue;
            };
            let is_first = self.prog.state(id).span == st.name.span;
            let ty_ok = self.resolve_type_quiet(&st.ty).is_some();
            for rule in &st.rules {
                let checked = self.reducer(id, rule, ty_ok);
                if let (Some(r), true) = (checked, is_first) {
                    self.prog.states[id.index()].rules.push(r);
                }
            }
        }
    }

    /// [`Self::resolve_type`] without reporting (the problem was reported once).
    fn resolve_type_quiet(&mut self, t: &TypeExpr) -> Checked {
        let probing = std::mem::replace(&mut self.probing, true);
        let ty = self.resolve_type(t);
        self.probing = probing;
        ty
    }

    /// One reducer line `E [as a] [where X] -> op(args)`. Its filter and arguments read
    /// only the reduced event; an unknown event makes its names silent (they may be
    /// that event's fields). `None` (reported) when any part failed.
    fn reducer(&mut self, state: StateId, rule: &ast::Reducer, ty_ok: bool) -> Option<ReducerRule> {
        self.aliases.clear();
        let event = self.event_ref(&rule.pattern.event);
        let mut scope = Scope::new(Place::Reducer, event, StartEvents::NoTrigger);
        if let Some(a) = &rule.pattern.alias {
            self.aliases.push(Alias {
                name: a.name,
                span: a.span,
                event,
                pattern: rule.pattern.span,
                role: AliasRole::Matched,
                used: false,
            });
            scope.current_alias = Some(0);
        }
        scope.partial = event.is_none();
        let filter = rule
            .pattern
            .filter
            .map(|f| self.condition(&scope, f, "a reducer's `where`"));
        let state_ty = self.prog.state(state).ty.clone();
        let op = self.reducer_op(&scope, rule, &state_ty, ty_ok);
        self.warn_unused_aliases();
        Some(ReducerRule {
            event: event?,
            filter,
            op: op?,
            span: rule.span,
        })
    }

    /// The operation of a reducer: which ops the state's type accepts (sets
    /// `insert remove clear`, lists `push clear`, numbers `set add clear`, other scalars
    /// `set clear`), how many arguments each takes, and that the argument fits the
    /// state's member type. The arguments are checked even when the op is wrong, so
    /// their own mistakes are reported too.
    fn reducer_op(
        &mut self,
        scope: &Scope,
        rule: &ast::Reducer,
        state_ty: &Ty,
        ty_ok: bool,
    ) -> Option<ReducerOp> {
        const SET_OPS: &[&str] = &["insert", "remove", "clear"];
        const LIST_OPS: &[&str] = &["push", "clear"];
        const NUM_OPS: &[&str] = &["set", "add", "clear"];
        const SCALAR_OPS: &[&str] = &["set", "clear"];
        let op = rule.op.name.as_str();
        let (valid, member): (&'static [&'static str], Ty) = match state_ty {
            Ty::Set(t) => (SET_OPS, (**t).clone()),
            Ty::List(t) => (LIST_OPS, (**t).clone()),
            Ty::Int | Ty::Float | Ty::Duration => (NUM_OPS, state_ty.clone()),
            t => (SCALAR_OPS, t.clone()),
        };
        // Check the arguments whatever happens, so their own problems are reported.
        if !ty_ok || !valid.contains(&op) {
            for &a in &rule.args {
                let _ = self.expr(scope, a);
            }
            if ty_ok {
                self.report(Problem::BadReducer {
                    span: rule.op.span,
                    op: op.to_owned(),
                    state_ty: self.ty_name(state_ty),
                    valid,
                });
            }
            return None;
        }
        let (min, max, expected) = match op {
            "clear" => (0, 0, "no arguments"),
            "push" => (1, 2, "1 or 2 arguments"),
            _ => (1, 1, "1 argument"),
        };
        if rule.args.len() < min || rule.args.len() > max {
            for &a in &rule.args {
                let _ = self.expr(scope, a);
            }
            self.report(Problem::WrongArity {
                span: rule.span,
                func: op.to_owned(),
                expected,
                found: rule.args.len(),
            });
            return None;
        }
        if op == "clear" {
            return Some(ReducerOp::Clear);
        }
        let arg = *rule.args.first()?;
        // `set` on an optional state also takes an optional value (none clears it).
        let value = self.expect(scope, arg, &member, "a reducer argument")?;
        Some(match op {
            "insert" => ReducerOp::Insert(value),
            "remove" => ReducerOp::Remove(value),
            "set" => ReducerOp::Set(value),
            "add" => ReducerOp::Add(value),
            _ => {
                let max = match rule.args.get(1) {
                    None => 100,
                    Some(&n) => self.push_limit(n)?,
                };
                ReducerOp::Push { value, max }
            }
        })
    }

    /// The `N` of `push(x, N)`: a positive int literal.
    fn push_limit(&mut self, n: ast::ExprId) -> Option<u32> {
        let e = self.ast.expr(n);
        if let ast::ExprKind::Int(v) = e.kind
            && let Ok(v) = u32::try_from(v)
            && v > 0
        {
            return Some(v);
        }
        let found = match &e.kind {
            ast::ExprKind::Int(v) => v.to_string(),
            _ => "an expression".to_owned(),
        };
        self.report(Problem::Mismatch {
            span: e.span,
            expected: "a whole number from 1".into(),
            found,
            place: "the `push` limit",
        });
        None
    }
}
