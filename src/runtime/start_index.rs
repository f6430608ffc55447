//! The start index (issue #17): per event type, which triggers an event can start,
//! found by looking its field values up instead of evaluating every start pattern.
//!
//! A start pattern's `where` is split into its top-level `and` conjuncts. One
//! conjunct of the form `field OP constant` (an event field of the pattern's own
//! event, `==`, `in [constants]`, a numeric `>`/`>=`/`<`/`<=`, or `!=`, `not (field
//! == c)`, `not (field in [constants])`) becomes the pattern's access conjunct, chosen
//! in that order of selectivity: an `==`/`in` goes into a hash from value to trigger
//! ranks, a range into sorted thresholds, a ne into [`super::ne_index`] (all its
//! triggers but those excluding the value). A pattern with no such conjunct, or whose
//! `where` could fail (integer `/`, `%`, overflow: skipping it must not hide a
//! reported error), is broad: its trigger is a candidate for every event of the type.
//!
//! The index is a pre-filter: a candidate's patterns are evaluated as before, so the
//! index need only return a superset of the triggers whose pattern holds. The one
//! exception is an access conjunct `field == "text"` or `field in ["text", …]` (or
//! of bools), the trigger's one pattern on the type, when the rest of the `where` is
//! nothing or the other side of its top-level `and`: string and bool keys are equal
//! exactly when `interp::equal` says so, so for a candidate the conjunct holds and
//! only the rest is evaluated ([`StartIndex::decided`]). What must never happen is
//! leaving a trigger out; so keys
//! follow `interp::equal` (an `int` keys as the `float` it converts to, `-0.0` as
//! `0.0`; integers above 2^53 may then collide, which only adds candidates), NaN and
//! absent fields look nothing up (a comparison with them is false or none), and
//! range thresholds are compared non-strictly in `f64` (rounding is monotonic, so an
//! integer comparison that holds still holds after the conversion).
//!
//! Candidates come out as a bitset over [`super::plan::Plan::rank`], so scanning it
//! upward visits them in firing order (priority, then name) whatever the index
//! returned first.

use rustc_hash::FxHashMap;

use super::ne_index::{NeBuilder, NeIndex, ne_key};
use crate::interp::{Interner, Sym, Value};
use crate::ir::{
    BinaryOp, Binding, Builtin, Const, EventId, Expr, ExprId, Program, StartIr, UnaryOp,
};

/// A field value as the index keys it (see the module doc for the equality it
/// follows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    /// An `int` or `float`, as the bits of its `f64` (`-0.0` as `0.0`; never NaN).
    Num(u64),
    Str(Sym),
    Bool(bool),
}

pub(super) fn num_key(f: f64) -> Option<Key> {
    if f.is_nan() {
        None
    } else if f == 0.0 {
        Some(Key::Num(0))
    } else {
        Some(Key::Num(f.to_bits()))
    }
}

/// The key of an event's field value; `None` for an absent field, NaN and kinds the
/// index does not hold (none of which equals an indexed constant).
fn value_key(v: &Value) -> Option<Key> {
    match v {
        Value::Int(i) => num_key(*i as f64),
        Value::Float(f) => num_key(*f),
        Value::Str(s) => Some(Key::Str(*s)),
        Value::Bool(b) => Some(Key::Bool(*b)),
        _ => None,
    }
}

/// A numeric field value as a range threshold compares it; `None` for an absent
/// field, NaN (which fails every range) and other kinds.
fn value_num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) if !f.is_nan() => Some(*f),
        _ => None,
    }
}

/// The hash index of one field: value → ranks of the triggers it may start.
#[derive(Clone, Debug, Default)]
struct EqIndex {
    field: usize,
    map: FxHashMap<Key, Vec<u32>>,
}

/// The range index of one numeric field.
#[derive(Clone, Debug, Default)]
struct RangeIndex {
    field: usize,
    /// `field > c` / `field >= c`, by `c` ascending: a value `v` may start those
    /// with `c <= v`.
    lower: Vec<(f64, u32)>,
    /// `field < c` / `field <= c`, by `c` ascending: `v` may start those with
    /// `c >= v`.
    upper: Vec<(f64, u32)>,
}

/// The index of one event type.
#[derive(Clone, Debug, Default)]
struct EventIndex {
    /// Triggers with a start pattern on the type that no index covers, as a bitset
    /// over ranks (empty when there are none).
    broad: Vec<u64>,
    /// Triggers whose one pattern on the type the index decides exactly, as a
    /// bitset over ranks (empty when none), and by rank what of each one's `where`
    /// is left to evaluate ([`StartIndex::decided`]).
    decided: Vec<u64>,
    rest: Vec<Option<ExprId>>,
    eq: Vec<EqIndex>,
    ranges: Vec<RangeIndex>,
    ne: Vec<NeIndex>,
    /// Triggers starting on the type.
    starters: u32,
    /// Conjuncts indexed, by kind, for `--emit ir`-style reports.
    summary: IndexSummary,
}

/// What one event type's index holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexSummary {
    pub starters: u32,
    pub broad: u32,
    pub eq_patterns: u32,
    pub range_patterns: u32,
    pub ne_patterns: u32,
    /// Triggers whose pattern the index decides alone ([`StartIndex::decided`]).
    pub decided: u32,
}

/// The start index of a program.
#[derive(Clone, Debug, Default)]
pub struct StartIndex {
    by_event: Vec<EventIndex>,
    /// Words of a candidate bitset (one bit per trigger rank).
    words: usize,
}

/// A pattern's access conjunct.
enum Access {
    Eq(usize, Vec<Key>),
    /// Field, threshold, whether it bounds from below (`>`/`>=`).
    Range(usize, f64, bool),
    /// Field, and the keys of the constants it may exclude (see [`ne_key`]).
    Ne(usize, Vec<Key>),
}

impl StartIndex {
    /// Build the index of `program`, whose triggers have the firing ranks `rank`.
    pub fn new(program: &Program, rank: &[u32], interner: &mut Interner) -> StartIndex {
        let words = rank.len().div_ceil(64);
        let mut by_event: Vec<EventIndex> = (0..program.events.len())
            .map(|_| EventIndex::default())
            .collect();
        // Per event type, the ne patterns by field, built once all are known.
        let mut ne: Vec<Vec<NeBuilder>> = (0..program.events.len()).map(|_| Vec::new()).collect();
        for (t, def) in program.triggers.iter().enumerate() {
            let StartIr::On(patterns) = &def.start else {
                continue;
            };
            let r = rank.get(t).copied().unwrap_or(u32::MAX);
            for ((e, index), ne) in by_event.iter_mut().enumerate().zip(&mut ne) {
                let event = EventId::from_index(e);
                let mine: Vec<_> = patterns.iter().filter(|p| p.event == event).collect();
                if mine.is_empty() {
                    continue;
                }
                index.starters += 1;
                index.summary.starters += 1;
                let access: Option<Vec<(Access, ExprId)>> = mine
                    .iter()
                    .map(|p| {
                        p.filter
                            .and_then(|f| access_of(program, event, f, interner))
                    })
                    .collect();
                let Some(access) = access else {
                    set_bit(&mut index.broad, words, r);
                    index.summary.broad += 1;
                    continue;
                };
                if let ([(access, conjunct)], [pattern]) = (access.as_slice(), mine.as_slice())
                    && decides(access)
                    && let Some(rest) = pattern.filter.and_then(|f| rest_of(program, f, *conjunct))
                {
                    set_bit(&mut index.decided, words, r);
                    index.rest.resize(words * 64, None);
                    if let Some(slot) = index.rest.get_mut(r as usize) {
                        *slot = rest;
                    }
                    index.summary.decided += 1;
                }
                for (a, _) in access {
                    match a {
                        Access::Eq(field, keys) => {
                            index.summary.eq_patterns += 1;
                            let at = match index.eq.iter().position(|x| x.field == field) {
                                Some(at) => at,
                                None => {
                                    index.eq.push(EqIndex {
                                        field,
                                        map: FxHashMap::default(),
                                    });
                                    index.eq.len() - 1
                                }
                            };
                            if let Some(eq) = index.eq.get_mut(at) {
                                for k in keys {
                                    eq.map.entry(k).or_default().push(r);
                                }
                            }
                        }
                        Access::Range(field, c, lower) => {
                            index.summary.range_patterns += 1;
                            let at = match index.ranges.iter().position(|x| x.field == field) {
                                Some(at) => at,
                                None => {
                                    index.ranges.push(RangeIndex {
                                        field,
                                        ..RangeIndex::default()
                                    });
                                    index.ranges.len() - 1
                                }
                            };
                            if let Some(range) = index.ranges.get_mut(at) {
                                if lower {
                                    range.lower.push((c, r));
                                } else {
                                    range.upper.push((c, r));
                                }
                            }
                        }
                        Access::Ne(field, keys) => {
                            index.summary.ne_patterns += 1;
                            let at = match ne.iter().position(|x| x.field == field) {
                                Some(at) => at,
                                None => {
                                    ne.push(NeBuilder::new(field));
                                    ne.len() - 1
                                }
                            };
                            if let Some(b) = ne.get_mut(at) {
                                b.add(r, keys);
                            }
                        }
                    }
                }
            }
        }
        for (index, ne) in by_event.iter_mut().zip(ne) {
            index.ne = ne.into_iter().map(NeBuilder::build).collect();
            for range in &mut index.ranges {
                range.lower.sort_by(|a, b| a.0.total_cmp(&b.0));
                range.upper.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
        StartIndex { by_event, words }
    }

    /// The `w`-th word of the bitset of triggers whose start pattern on `kind` the
    /// index decides (see the module doc): for a candidate among them, the pattern
    /// holds if [`Self::rest`] does.
    pub fn decided(&self, kind: EventId, w: usize) -> u64 {
        self.by_event
            .get(kind.index())
            .and_then(|x| x.decided.get(w))
            .copied()
            .unwrap_or(0)
    }

    /// What is left to evaluate of the `where` of a trigger the index decides on
    /// `kind` (of rank `rank`): nothing, or the other side of its top-level `and`.
    pub fn rest(&self, kind: EventId, rank: usize) -> Option<ExprId> {
        self.by_event
            .get(kind.index())
            .and_then(|x| x.rest.get(rank).copied().flatten())
    }

    /// Words of a candidate bitset.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Triggers starting on event type `kind`.
    pub fn starters(&self, kind: EventId) -> u32 {
        self.by_event.get(kind.index()).map_or(0, |x| x.starters)
    }

    /// What the index of `kind` holds.
    pub fn summary(&self, kind: EventId) -> IndexSummary {
        self.by_event
            .get(kind.index())
            .map_or_else(IndexSummary::default, |x| x.summary)
    }

    /// Set in `bits` (of [`Self::words`] words, all clear) the rank of every
    /// trigger an event of type `kind` with `fields` may start: a superset of those
    /// whose start pattern holds.
    pub fn candidates(&self, kind: EventId, fields: &[Value], bits: &mut [u64]) {
        let Some(index) = self.by_event.get(kind.index()) else {
            return;
        };
        for (b, w) in bits.iter_mut().zip(&index.broad) {
            *b |= *w;
        }
        for eq in &index.eq {
            if let Some(ranks) = fields
                .get(eq.field)
                .and_then(value_key)
                .and_then(|k| eq.map.get(&k))
            {
                for &r in ranks {
                    set_bit_in(bits, r);
                }
            }
        }
        for range in &index.ranges {
            let Some(v) = fields.get(range.field).and_then(value_num) else {
                continue;
            };
            let below = range.lower.partition_point(|(c, _)| *c <= v);
            for (_, r) in range.lower.get(..below).unwrap_or_default() {
                set_bit_in(bits, *r);
            }
            let from = range.upper.partition_point(|(c, _)| *c < v);
            for (_, r) in range.upper.get(from..).unwrap_or_default() {
                set_bit_in(bits, *r);
            }
        }
        for ne in &index.ne {
            ne.candidates(fields.get(ne.field).and_then(value_key), bits);
        }
    }

    /// The index as `--emit ir` shows it: per event type with starting triggers,
    /// how many are broad, and each field's hash (distinct values) and thresholds.
    pub fn describe(&self, program: &Program) -> String {
        use std::fmt::Write as _;
        let mut out =
            String::from("\n# start index (per event type: triggers reached by lookup)\n");
        for (e, index) in self.by_event.iter().enumerate() {
            if index.starters == 0 {
                continue;
            }
            let Some(def) = program.events.get(e) else {
                continue;
            };
            let field = |f: usize| def.fields.get(f).map_or("?", |x| x.name.as_str());
            let s = index.summary;
            let _ = write!(
                out,
                "index {} {}: {} starting, {} broad, {} by ==/in, {} by range, {} by !=/not in, {} decided by the index alone",
                EventId::from_index(e),
                def.name,
                s.starters,
                s.broad,
                s.eq_patterns,
                s.range_patterns,
                s.ne_patterns,
                s.decided
            );
            for eq in &index.eq {
                let _ = write!(out, "; hash {} ({} values)", field(eq.field), eq.map.len());
            }
            for r in &index.ranges {
                let _ = write!(
                    out,
                    "; range {} ({} lower, {} upper bounds)",
                    field(r.field),
                    r.lower.len(),
                    r.upper.len()
                );
            }
            for ne in &index.ne {
                let _ = write!(
                    out,
                    "; ne {} ({} excluded values)",
                    field(ne.field),
                    ne.values()
                );
            }
            out.push('\n');
        }
        out
    }

    /// The symbols the index holds (its string constants).
    pub fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        for index in &self.by_event {
            for eq in &index.eq {
                for k in eq.map.keys() {
                    if let Key::Str(s) = k {
                        mark(*s);
                    }
                }
            }
            for ne in &index.ne {
                ne.visit_syms(mark);
            }
        }
    }
}

fn set_bit(bits: &mut Vec<u64>, words: usize, r: u32) {
    if bits.len() < words {
        bits.resize(words, 0);
    }
    set_bit_in(bits, r);
}

fn set_bit_in(bits: &mut [u64], r: u32) {
    if let Some(w) = bits.get_mut(r as usize / 64) {
        *w |= 1u64 << (r % 64);
    }
}

/// Whether `access` certainly holds for a candidate it names: an `==`/`in` of
/// strings or bools. Numbers are keyed as `f64`, and integers beyond 2^53 may
/// collide.
fn decides(access: &Access) -> bool {
    match access {
        Access::Eq(_, keys) => keys.iter().all(|k| matches!(k, Key::Str(_) | Key::Bool(_))),
        Access::Range(..) | Access::Ne(..) => false,
    }
}

/// What of `filter` is left once `conjunct` holds: `Some(None)` when it is the whole
/// of it, `Some(Some(other))` when it is one side of the top-level `and` (`true and
/// x` is `x`, errors included, as `and` evaluates its right side whenever the left
/// is not `false`), `None` when the rest is no one expression.
fn rest_of(program: &Program, filter: ExprId, conjunct: ExprId) -> Option<Option<ExprId>> {
    if filter == conjunct {
        return Some(None);
    }
    // The runtime hands the rest to its engine instead of the filter
    // (`runtime::entries`).
    match program.and_sides(filter)? {
        (lhs, rhs) if lhs == conjunct => Some(Some(rhs)),
        (lhs, rhs) if rhs == conjunct => Some(Some(lhs)),
        _ => None,
    }
}

/// The access conjunct of a start pattern on `event` with `where` `filter`, and the
/// conjunct's expression: `None` when the pattern is broad.
fn access_of(
    program: &Program,
    event: EventId,
    filter: ExprId,
    interner: &mut Interner,
) -> Option<(Access, ExprId)> {
    if may_fail(program, filter) {
        return None;
    }
    let mut conjuncts = Vec::new();
    let mut stack = vec![filter];
    while let Some(id) = stack.pop() {
        match program.exprs.get(id.index())? {
            Expr::Binary {
                op: BinaryOp::And,
                lhs,
                rhs,
            } => {
                stack.push(*rhs);
                stack.push(*lhs);
            }
            _ => conjuncts.push(id),
        }
    }
    // `==`/`in` names fewest triggers per value, then a range, then a ne (which
    // names all but a few).
    let (mut range, mut ne) = (None, None);
    for c in conjuncts {
        match comparison(program, event, c, interner) {
            Some(a @ Access::Eq(..)) => return Some((a, c)),
            Some(a @ Access::Range(..)) if range.is_none() => range = Some((a, c)),
            Some(a @ Access::Ne(..)) if ne.is_none() => ne = Some((a, c)),
            _ => {}
        }
    }
    range.or(ne)
}

/// `field OP constant` (either way round) on a field of `event` itself.
fn comparison(
    program: &Program,
    event: EventId,
    id: ExprId,
    interner: &mut Interner,
) -> Option<Access> {
    if let Some((field, consts, holds)) = membership(program, event, id) {
        return if holds {
            let keys = consts
                .iter()
                .map(|c| const_key(c, interner))
                .collect::<Option<Vec<Key>>>()?;
            Some(Access::Eq(field, keys))
        } else {
            let keys = consts
                .iter()
                .map(|c| ne_key(c, interner))
                .collect::<Option<Vec<Option<Key>>>>()?;
            Some(Access::Ne(field, keys.into_iter().flatten().collect()))
        };
    }
    let Expr::Binary { op, lhs, rhs } = program.exprs.get(id.index())? else {
        return None;
    };
    let (field, value, op) = match (
        field_of(program, event, *lhs),
        field_of(program, event, *rhs),
    ) {
        (Some(f), _) => (f, constant(program, *rhs)?, *op),
        (None, Some(f)) => (f, constant(program, *lhs)?, flip(*op)?),
        _ => return None,
    };
    match op {
        BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Le => {
            let c = match value {
                Const::Int(i) => i as f64,
                Const::Float(f) if !f.is_nan() => f,
                _ => return None,
            };
            Some(Access::Range(
                field,
                c,
                matches!(op, BinaryOp::Gt | BinaryOp::Ge),
            ))
        }
        _ => None,
    }
}

/// `field == c`, `field in [c, …]` (the field and constants, `true`) or their
/// negation, `field != c` or `not` of either (`false`), with the constant on either
/// side of `==`/`!=`.
fn membership(program: &Program, event: EventId, id: ExprId) -> Option<(usize, Vec<Const>, bool)> {
    match program.exprs.get(id.index())? {
        Expr::Unary {
            op: UnaryOp::Not,
            operand,
        } => {
            // `not` of a comparison is its negation: an absent field gives none
            // either way, and NaN is unequal to everything.
            let (field, consts, holds) = membership(program, event, *operand)?;
            Some((field, consts, !holds))
        }
        Expr::Binary {
            op: BinaryOp::In,
            lhs,
            rhs,
        } => {
            let field = field_of(program, event, *lhs)?;
            let Expr::List(items) = program.exprs.get(rhs.index())? else {
                return None;
            };
            let consts = items
                .iter()
                .map(|i| constant(program, *i))
                .collect::<Option<Vec<Const>>>()?;
            Some((field, consts, true))
        }
        Expr::Binary {
            op: op @ (BinaryOp::Eq | BinaryOp::Ne),
            lhs,
            rhs,
        } => {
            let (field, c) = match (
                field_of(program, event, *lhs),
                field_of(program, event, *rhs),
            ) {
                (Some(f), _) => (f, constant(program, *rhs)?),
                (None, Some(f)) => (f, constant(program, *lhs)?),
                _ => return None,
            };
            Some((field, vec![c], *op == BinaryOp::Eq))
        }
        _ => None,
    }
}

/// The operator with its operands swapped.
fn flip(op: BinaryOp) -> Option<BinaryOp> {
    Some(match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        _ => return None,
    })
}

/// The index of the field `id` reads on the event being matched (through an
/// `int`-to-`float` promotion, which keys and compares the same), if it is one of
/// `event`'s own fields.
fn field_of(program: &Program, event: EventId, id: ExprId) -> Option<usize> {
    match program.exprs.get(id.index())? {
        Expr::ToFloat(inner) => field_of(program, event, *inner),
        Expr::Field {
            binding: Binding::Current,
            choices,
        } => choices
            .iter()
            .find(|(e, _)| *e == event)
            .map(|(_, f)| f.index()),
        _ => None,
    }
}

/// The constant `id` is (through a promotion), if it is one.
fn constant(program: &Program, id: ExprId) -> Option<Const> {
    match program.exprs.get(id.index())? {
        Expr::ToFloat(inner) => match constant(program, *inner)? {
            Const::Int(i) => Some(Const::Float(i as f64)),
            other => Some(other),
        },
        Expr::Const(c) => Some(c.clone()),
        _ => None,
    }
}

fn const_key(c: &Const, interner: &mut Interner) -> Option<Key> {
    match c {
        Const::Int(i) => num_key(*i as f64),
        Const::Float(f) => num_key(*f),
        Const::Str(s) => Some(Key::Str(interner.intern(s))),
        Const::Bool(b) => Some(Key::Bool(*b)),
        Const::Duration(_) | Const::Time(_) => None,
    }
}

/// Whether evaluating `root` could report an error (arithmetic that overflows or
/// divides by zero, `abs`): then no conjunct of it is skipped.
fn may_fail(program: &Program, root: ExprId) -> bool {
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let Some(expr) = program.exprs.get(id.index()) else {
            return true;
        };
        let risky = match expr {
            Expr::Unary { op, .. } => *op == crate::ir::UnaryOp::Neg,
            Expr::Binary { op, .. } => matches!(
                op,
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem
            ),
            Expr::Call { func, .. } => !matches!(
                func,
                Builtin::Len
                    | Builtin::Empty
                    | Builtin::Lower
                    | Builtin::Upper
                    | Builtin::StartsWith
                    | Builtin::EndsWith
                    | Builtin::Contains
            ),
            _ => false,
        };
        if risky {
            return true;
        }
        stack.extend(expr.operands());
    }
    false
}

#[cfg(test)]
mod tests;
