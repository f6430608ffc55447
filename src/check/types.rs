//! The checker's view of types: an IR [`Ty`] or the error type, plus the typing rules
//! shared by operators, calls and reducers (numeric promotion, optional propagation).
//!
//! The error type is `None` in a [`Checked`]: it is what an expression that already
//! reported a problem gets, and it unifies with anything, so a single mistake is
//! reported once rather than at every use. It never reaches the IR: a program with
//! errors is not returned.

use crate::ir::{ExprId, Ty};

/// A type while checking: `None` is the error type.
pub type Checked = Option<Ty>;

/// A checked and lowered expression: its IR id and its type.
#[derive(Clone, Debug)]
pub struct Typed {
    pub id: ExprId,
    pub ty: Checked,
}

/// The base type and whether it was optional: `int?` → (`int`, true).
pub fn split_optional(t: &Ty) -> (&Ty, bool) {
    match t {
        Ty::Optional(inner) => (inner, true),
        t => (t, false),
    }
}

/// `t` made optional when `opt`.
pub fn maybe_optional(t: Ty, opt: bool) -> Ty {
    if opt { t.optional() } else { t }
}

/// `int` and `float`: what arithmetic mixes, promoting `int`.
pub fn is_numeric(t: &Ty) -> bool {
    matches!(t, Ty::Int | Ty::Float)
}

/// Types that `<`, `min` and `max` order.
pub fn is_ordered(t: &Ty) -> bool {
    matches!(t, Ty::Int | Ty::Float | Ty::Duration | Ty::Time | Ty::Str)
}

/// Types `==` compares: everything but payload objects and stored events.
pub fn is_equatable(t: &Ty) -> bool {
    match t {
        Ty::Object | Ty::Event(_) => false,
        Ty::Set(t) | Ty::List(t) | Ty::Optional(t) => is_equatable(t),
        _ => true,
    }
}

/// Scalars: what a set may hold, what `distinct` collects.
pub fn is_scalar(t: &Ty) -> bool {
    matches!(
        t,
        Ty::Bool | Ty::Int | Ty::Float | Ty::Str | Ty::Time | Ty::Duration
    )
}

/// How a value of type `found` fits a place of type `expected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// As is (equal, or `T` where `T?` is expected).
    Direct,
    /// After promoting an `int` to `float`.
    Promote,
    No,
}

/// Whether `found` fits `expected`. `T` fits `T?`; `int` fits `float`; `T?` fits only
/// `T?`.
pub fn fits(found: &Ty, expected: &Ty) -> Fit {
    if found == expected {
        return Fit::Direct;
    }
    let (fb, fopt) = split_optional(found);
    let (eb, eopt) = split_optional(expected);
    if fopt && !eopt {
        return Fit::No;
    }
    if fb == eb {
        return Fit::Direct;
    }
    if *fb == Ty::Int && *eb == Ty::Float {
        return Fit::Promote;
    }
    Fit::No
}

/// The common type of two operands of `==`, `??`, list items: equal base types, or
/// `int` with `float` (giving `float`). Returns the base and which side to promote.
pub fn common_base(a: &Ty, b: &Ty) -> Option<(Ty, Promote)> {
    let (ab, _) = split_optional(a);
    let (bb, _) = split_optional(b);
    if ab == bb {
        return Some((ab.clone(), Promote::None));
    }
    match (ab, bb) {
        (Ty::Int, Ty::Float) => Some((Ty::Float, Promote::Lhs)),
        (Ty::Float, Ty::Int) => Some((Ty::Float, Promote::Rhs)),
        _ => None,
    }
}

/// Which operand of a binary operation gets an `int → float` promotion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Promote {
    None,
    Lhs,
    Rhs,
}
