//! Tree-walking evaluation of IR expressions: the reference semantics of every
//! operator and built-in.
//!
//! Rules it implements (docs/LANGUAGE.md §6, "Missing values", and §5 for run-time
//! errors): `and`/`or` are Kleene (`none` is unknown) and short-circuit; any other operator or built-in with a `none` operand
//! gives `none`; `x ?? y` is `y` when `x` is `none`; integer overflow and integer
//! division/remainder by zero are [`EvalError`]s carrying the expression; floats follow
//! IEEE. Strings are interned [`Sym`]s: equality is an integer compare, ordering and the
//! string built-ins resolve the text through the [`Interner`].
//!
//! The hot path (a `where` on every event) allocates nothing: scalars are copied, sets
//! and lists are `Arc`-shared, and only `+` on strings, `lower`/`upper` of a string with
//! letters to change, and `[..]`/`{..}` construction build new values.

use std::cmp::Ordering;
use std::sync::Arc;

use super::value::{compare, equal};
use super::{Env, EvalError, EvalErrorKind, Interner, Sym, Value};
use crate::ir::{
    BinaryOp, Binding, Builtin, Const, EventId, Expr, ExprId, FieldIdx, Program, Ty, UnaryOp,
};

/// `x OP k` for a comparison operator `op` (`==`, `!=`, `<`, `<=`, `>`, `>=`) of two
/// ints: what `equal`/`compare` give for them, without going through values. The
/// runtime's direct guards (`runtime::direct_guard`) compare with it too.
#[inline(always)]
pub fn compare_ints(op: BinaryOp, x: i64, k: i64) -> bool {
    match op {
        BinaryOp::Eq => x == k,
        BinaryOp::Ne => x != k,
        BinaryOp::Lt => x < k,
        BinaryOp::Le => x <= k,
        BinaryOp::Gt => x > k,
        _ => x >= k,
    }
}

/// Evaluate `expr` against `env`.
pub fn eval(program: &Program, expr: ExprId, env: &mut dyn Env) -> Result<Value, EvalError> {
    Evaluator { program }.eval(expr, env)
}

struct Evaluator<'p> {
    program: &'p Program,
}

impl Evaluator<'_> {
    // Cold: the error branches of `eval` move out of its hot path.
    #[cold]
    #[inline(never)]
    fn error(expr: ExprId, kind: EvalErrorKind) -> EvalError {
        EvalError { expr, kind }
    }

    fn eval(&self, id: ExprId, env: &mut dyn Env) -> Result<Value, EvalError> {
        let Some(expr) = self.program.exprs.get(id.index()) else {
            // A verified program never gets here; `none` keeps a bad id harmless.
            return Ok(Value::None);
        };
        Ok(match expr {
            Expr::Const(c) => match c {
                Const::Bool(b) => Value::Bool(*b),
                Const::Int(i) => Value::Int(*i),
                Const::Float(f) => Value::Float(*f),
                Const::Str(s) => Value::Str(env.interner().intern(s)),
                Const::Duration(d) => Value::Duration(*d),
                Const::Time(t) => Value::Time(*t),
            },
            Expr::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for &item in items {
                    out.push(self.eval(item, env)?);
                }
                Value::List(Arc::new(out))
            }
            Expr::Object(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (name, value) in entries {
                    let value = self.eval(*value, env)?;
                    out.push((env.interner().intern(name), value));
                }
                Value::Object(Arc::new(out))
            }
            Expr::Field { binding, choices } => field_value(env, *binding, choices),
            Expr::EventTime { binding, of } => event_time(env, *binding, *of),
            Expr::Key => Value::Str(env.key()),
            Expr::Now => Value::Time(env.now()),
            Expr::State(id) => env.state(*id),
            Expr::Profile(id) => env.profile(*id),
            Expr::Agg(id) => env.aggregate(*id),
            Expr::EventField { base, event, field } => match self.eval(*base, env)? {
                Value::Event(stored) if stored.kind == *event => stored
                    .fields
                    .get(field.index())
                    .cloned()
                    .unwrap_or(Value::None),
                _ => Value::None,
            },
            Expr::StoredEventTime { base } => match self.program.exprs.get(base.index()) {
                Some(Expr::Agg(a)) => env.aggregate_time(*a).map_or(Value::None, Value::Time),
                _ => match self.eval(*base, env)? {
                    Value::Event(stored) => Value::Time(stored.ts),
                    _ => Value::None,
                },
            },
            Expr::ToFloat(inner) => match self.eval(*inner, env)? {
                Value::Int(i) => Value::Float(i as f64),
                other => other,
            },
            Expr::Unary { op, operand } => {
                let value = self.eval(*operand, env)?;
                self.unary(id, *op, value)?
            }
            Expr::Binary { op, lhs, rhs } => self.binary(id, *op, *lhs, *rhs, env)?,
            Expr::Call { func, args } => self.call(id, *func, args, env)?,
        })
    }

    fn unary(&self, id: ExprId, op: UnaryOp, value: Value) -> Result<Value, EvalError> {
        Ok(match (op, value) {
            (_, Value::None) => Value::None,
            (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
            (UnaryOp::Neg, Value::Int(i)) => Value::Int(
                i.checked_neg()
                    .ok_or(Self::error(id, EvalErrorKind::IntegerOverflow))?,
            ),
            (UnaryOp::Neg, Value::Float(f)) => Value::Float(-f),
            (UnaryOp::Neg, Value::Duration(d)) => Value::Duration(
                d.checked_neg()
                    .ok_or(Self::error(id, EvalErrorKind::IntegerOverflow))?,
            ),
            _ => Value::None,
        })
    }

    fn binary(
        &self,
        id: ExprId,
        op: BinaryOp,
        lhs: ExprId,
        rhs: ExprId,
        env: &mut dyn Env,
    ) -> Result<Value, EvalError> {
        match op {
            BinaryOp::And => {
                let a = self.eval(lhs, env)?;
                if matches!(a, Value::Bool(false)) {
                    return Ok(a);
                }
                let b = self.eval(rhs, env)?;
                return Ok(match (a, b) {
                    (_, Value::Bool(false)) => Value::Bool(false),
                    (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                    _ => Value::None,
                });
            }
            BinaryOp::Or => {
                let a = self.eval(lhs, env)?;
                if matches!(a, Value::Bool(true)) {
                    return Ok(a);
                }
                let b = self.eval(rhs, env)?;
                return Ok(match (a, b) {
                    (_, Value::Bool(true)) => Value::Bool(true),
                    (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                    _ => Value::None,
                });
            }
            BinaryOp::Coalesce => {
                let a = self.eval(lhs, env)?;
                return if matches!(a, Value::None) {
                    self.eval(rhs, env)
                } else {
                    Ok(a)
                };
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                // The common guard shape `count(..) >= 2`: an integer against an integer
                // literal compares directly, without evaluating the literal or going
                // through `equal`/`compare` (which give the same answer for two ints).
                if let Some(Expr::Const(Const::Int(k))) = self.program.exprs.get(rhs.index()) {
                    let k = *k;
                    // An aggregate operand is read directly: a recursive `eval` call
                    // costs more than the read itself.
                    let a = match self.program.exprs.get(lhs.index()) {
                        Some(Expr::Agg(agg)) => env.aggregate(*agg),
                        _ => self.eval(lhs, env)?,
                    };
                    if let Value::Int(x) = a {
                        return Ok(Value::Bool(compare_ints(op, x, k)));
                    }
                    return self.finish_binary(id, op, a, Value::Int(k), env);
                }
            }
            _ => {}
        }
        let a = self.eval(lhs, env)?;
        let b = self.eval(rhs, env)?;
        self.finish_binary(id, op, a, b, env)
    }

    /// A non-short-circuit operator applied to its evaluated operands.
    fn finish_binary(
        &self,
        id: ExprId,
        op: BinaryOp,
        a: Value,
        b: Value,
        env: &mut dyn Env,
    ) -> Result<Value, EvalError> {
        if matches!(a, Value::None) || matches!(b, Value::None) {
            return Ok(Value::None);
        }
        let overflow = || Self::error(id, EvalErrorKind::IntegerOverflow);
        let by_zero = || Self::error(id, EvalErrorKind::DivisionByZero);
        Ok(match op {
            BinaryOp::Eq => Value::Bool(equal(&a, &b)),
            BinaryOp::Ne => Value::Bool(!equal(&a, &b)),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                match compare(&a, &b, env.interner()) {
                    Some(ord) => Value::Bool(match op {
                        BinaryOp::Lt => ord == Ordering::Less,
                        BinaryOp::Le => ord != Ordering::Greater,
                        BinaryOp::Gt => ord == Ordering::Greater,
                        _ => ord != Ordering::Less,
                    }),
                    // NaN compares false both ways, as in IEEE.
                    None => Value::Bool(false),
                }
            }
            BinaryOp::Add => match (a, b) {
                (Value::Int(x), Value::Int(y)) => {
                    Value::Int(x.checked_add(y).ok_or_else(overflow)?)
                }
                (Value::Float(x), Value::Float(y)) => Value::Float(x + y),
                (Value::Duration(x), Value::Duration(y)) => {
                    Value::Duration(x.checked_add(y).ok_or_else(overflow)?)
                }
                (Value::Time(t), Value::Duration(d)) | (Value::Duration(d), Value::Time(t)) => {
                    Value::Time(t.checked_add(d).ok_or_else(overflow)?)
                }
                (Value::Str(x), Value::Str(y)) => Value::Str(concat(env.interner(), x, y)),
                _ => Value::None,
            },
            BinaryOp::Sub => match (a, b) {
                (Value::Int(x), Value::Int(y)) => {
                    Value::Int(x.checked_sub(y).ok_or_else(overflow)?)
                }
                (Value::Float(x), Value::Float(y)) => Value::Float(x - y),
                (Value::Duration(x), Value::Duration(y)) => {
                    Value::Duration(x.checked_sub(y).ok_or_else(overflow)?)
                }
                (Value::Time(t), Value::Duration(d)) => {
                    Value::Time(t.checked_sub(d).ok_or_else(overflow)?)
                }
                (Value::Time(x), Value::Time(y)) => {
                    Value::Duration(x.checked_sub(y).ok_or_else(overflow)?)
                }
                _ => Value::None,
            },
            BinaryOp::Mul => match (a, b) {
                (Value::Int(x), Value::Int(y)) => {
                    Value::Int(x.checked_mul(y).ok_or_else(overflow)?)
                }
                (Value::Float(x), Value::Float(y)) => Value::Float(x * y),
                (Value::Duration(d), Value::Int(n)) | (Value::Int(n), Value::Duration(d)) => {
                    Value::Duration(d.checked_mul(n).ok_or_else(overflow)?)
                }
                (Value::Duration(d), Value::Float(f)) | (Value::Float(f), Value::Duration(d)) => {
                    Value::Duration(scale_duration(d, f).ok_or_else(overflow)?)
                }
                _ => Value::None,
            },
            BinaryOp::Div => match (a, b) {
                (Value::Int(_), Value::Int(0)) => return Err(by_zero()),
                (Value::Int(x), Value::Int(y)) => {
                    Value::Int(x.checked_div(y).ok_or_else(overflow)?)
                }
                (Value::Float(x), Value::Float(y)) => Value::Float(x / y),
                (Value::Duration(_), Value::Int(0)) => return Err(by_zero()),
                (Value::Duration(d), Value::Int(n)) => {
                    Value::Duration(d.checked_div(n).ok_or_else(overflow)?)
                }
                (Value::Duration(d), Value::Float(f)) => {
                    Value::Duration(scale_duration(d, 1.0 / f).ok_or_else(overflow)?)
                }
                // `d1 / d2`: a ratio; the checker's result type says which kind.
                (Value::Duration(x), Value::Duration(y)) => {
                    if self.result_is_float(id) {
                        Value::Float(x as f64 / y as f64)
                    } else if y == 0 {
                        return Err(by_zero());
                    } else {
                        Value::Int(x.checked_div(y).ok_or_else(overflow)?)
                    }
                }
                _ => Value::None,
            },
            BinaryOp::Rem => match (a, b) {
                (Value::Int(_), Value::Int(0)) | (Value::Duration(_), Value::Duration(0)) => {
                    return Err(by_zero());
                }
                (Value::Int(x), Value::Int(y)) => {
                    Value::Int(x.checked_rem(y).ok_or_else(overflow)?)
                }
                (Value::Float(x), Value::Float(y)) => Value::Float(x % y),
                (Value::Duration(x), Value::Duration(y)) => {
                    Value::Duration(x.checked_rem(y).ok_or_else(overflow)?)
                }
                _ => Value::None,
            },
            BinaryOp::In => contains(&b, &a, env.interner()),
            BinaryOp::And | BinaryOp::Or | BinaryOp::Coalesce => Value::None,
        })
    }

    fn result_is_float(&self, id: ExprId) -> bool {
        matches!(
            self.program
                .expr_types
                .get(id.index())
                .map(Ty::strip_optional),
            Some(Ty::Float)
        )
    }

    fn call(
        &self,
        id: ExprId,
        func: Builtin,
        args: &[ExprId],
        env: &mut dyn Env,
    ) -> Result<Value, EvalError> {
        let arg = |i: usize| args.get(i).copied();
        let Some(first) = arg(0) else {
            return Ok(Value::None);
        };
        // `len(cart)`, `cart.empty`: counted where the state lives, not copied out.
        if let (Builtin::Len | Builtin::Empty, Some(Expr::State(state))) =
            (func, self.program.exprs.get(first.index()))
            && let Some(n) = env.state_len(*state)
        {
            return Ok(match func {
                Builtin::Len => Value::Int(len_i64(n)),
                _ => Value::Bool(n == 0),
            });
        }
        let x = self.eval(first, env)?;
        if x == Value::None {
            return Ok(Value::None);
        }
        Ok(match func {
            Builtin::Len => match &x {
                Value::Set(items) | Value::List(items) => Value::Int(len_i64(items.len())),
                Value::Str(s) => Value::Int(len_i64(env.interner().resolve(*s).chars().count())),
                _ => Value::None,
            },
            Builtin::Empty => match &x {
                Value::Set(items) | Value::List(items) => Value::Bool(items.is_empty()),
                Value::Str(s) => Value::Bool(env.interner().resolve(*s).is_empty()),
                _ => Value::None,
            },
            Builtin::Lower | Builtin::Upper => match x {
                Value::Str(s) => Value::Str(change_case(env.interner(), s, func == Builtin::Upper)),
                _ => Value::None,
            },
            Builtin::Abs => match x {
                Value::Int(i) => Value::Int(
                    i.checked_abs()
                        .ok_or(Self::error(id, EvalErrorKind::IntegerOverflow))?,
                ),
                Value::Float(f) => Value::Float(f.abs()),
                Value::Duration(d) => Value::Duration(
                    d.checked_abs()
                        .ok_or(Self::error(id, EvalErrorKind::IntegerOverflow))?,
                ),
                _ => Value::None,
            },
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => {
                let Some(second) = arg(1) else {
                    return Ok(Value::None);
                };
                let y = self.eval(second, env)?;
                if y == Value::None {
                    return Ok(Value::None);
                }
                match func {
                    Builtin::Contains => contains(&x, &y, env.interner()),
                    _ => match (x, y) {
                        (Value::Str(s), Value::Str(p)) => {
                            let interner = env.interner();
                            let (s, p) = (interner.resolve(s), interner.resolve(p));
                            Value::Bool(if func == Builtin::StartsWith {
                                s.starts_with(p)
                            } else {
                                s.ends_with(p)
                            })
                        }
                        _ => Value::None,
                    },
                }
            }
        })
    }
}

/// `Expr::Field`: the field of the bound event where its type is one of `choices`,
/// else none.
pub(crate) fn field_value(
    env: &dyn Env,
    binding: Binding,
    choices: &[(EventId, FieldIdx)],
) -> Value {
    bound_field(
        env.event(binding).map(|(kind, _, fields)| (kind, fields)),
        choices,
    )
}

/// The field with `choices` of a bound event of type `kind` with `fields` (none when
/// nothing is bound, the type is not a choice or the slot is missing). The runtime
/// reads payload members that are start fields with it, without an engine.
pub fn bound_field(bound: Option<(EventId, &[Value])>, choices: &[(EventId, FieldIdx)]) -> Value {
    bound
        .and_then(|(kind, fields)| {
            choices
                .iter()
                .find(|(event, _)| *event == kind)
                // The runtime may store only a prefix of a starting event's fields
                // (those the trigger reads): a missing slot is an absent field.
                .and_then(|(_, field)| fields.get(field.index()))
        })
        .cloned()
        .unwrap_or(Value::None)
}

/// `Expr::EventTime`: the bound event's time, when it is of type `of` (if given).
pub(crate) fn event_time(env: &dyn Env, binding: Binding, of: Option<EventId>) -> Value {
    match env.event(binding) {
        Some((kind, ts, _)) if of.is_none_or(|e| e == kind) => Value::Time(ts),
        _ => Value::None,
    }
}

pub(crate) fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `d * f` in whole milliseconds (rounded), or `None` when it does not fit.
pub(crate) fn scale_duration(d: i64, f: f64) -> Option<i64> {
    let ms = (d as f64 * f).round();
    // `i64::MAX as f64` rounds up to 2^63, which does not fit: exclude it.
    (ms.is_finite() && ms >= i64::MIN as f64 && ms < i64::MAX as f64).then_some(ms as i64)
}

pub(crate) fn concat(interner: &mut Interner, x: Sym, y: Sym) -> Sym {
    let mut s = String::with_capacity(interner.resolve(x).len() + interner.resolve(y).len());
    s.push_str(interner.resolve(x));
    s.push_str(interner.resolve(y));
    interner.intern(&s)
}

/// `lower`/`upper`; a string that is already in the wanted case is returned as is,
/// without allocating.
pub(crate) fn change_case(interner: &mut Interner, s: Sym, upper: bool) -> Sym {
    let text = interner.resolve(s);
    let unchanged = if upper {
        text.chars()
            .all(|c| c.to_uppercase().eq(std::iter::once(c)))
    } else {
        text.chars()
            .all(|c| c.to_lowercase().eq(std::iter::once(c)))
    };
    if unchanged {
        return s;
    }
    let changed = if upper {
        text.to_uppercase()
    } else {
        text.to_lowercase()
    };
    interner.intern(&changed)
}

/// `contains(haystack, needle)` = `needle in haystack`: membership for sets and lists,
/// substring for strings.
pub(crate) fn contains(haystack: &Value, needle: &Value, interner: &Interner) -> Value {
    match haystack {
        Value::Set(items) | Value::List(items) => {
            Value::Bool(items.iter().any(|m| equal(m, needle)))
        }
        Value::Str(s) => match needle {
            Value::Str(p) => Value::Bool(interner.resolve(*s).contains(interner.resolve(*p))),
            _ => Value::None,
        },
        _ => Value::None,
    }
}

#[cfg(test)]
mod tests;
