//! Lowering binary operators: Kleene `and`/`or`, comparisons, membership and
//! checked arithmetic, each as `interp::eval`'s `binary`/`finish_binary` defines
//! it. Integer results use Cranelift's overflow-flag instructions and a branch to
//! the error exit; divisions get a divisor that cannot trap, since a trap would
//! kill the process.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{BlockArg, InstBuilder, Value as Clif, types};

use super::abi::ScalarKind;
use super::helpers::Helper;
use super::lower::{Lower, Lowered, Scalar, float_cc};
use crate::interp::EvalErrorKind;
use crate::ir::{BinaryOp, Expr, ExprId};

use ScalarKind as K;

impl Lower<'_, '_> {
    pub fn binary(
        &mut self,
        id: ExprId,
        op: BinaryOp,
        lhs: ExprId,
        rhs: ExprId,
        kind: ScalarKind,
    ) -> Lowered<Scalar> {
        match op {
            BinaryOp::And | BinaryOp::Or => return self.kleene(op, lhs, rhs),
            BinaryOp::Coalesce => return self.coalesce(lhs, rhs, kind),
            BinaryOp::In => return self.membership(id, lhs, rhs),
            _ => {}
        }
        if self.kind(lhs).is_none() || self.kind(rhs).is_none() {
            return self.boxed_binary(id, op, lhs, rhs);
        }
        let a = self.scalar(lhs)?;
        let b = self.scalar(rhs)?;
        let present = self.b.ins().band(a.present, b.present);
        match op {
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => self.compare(id, op, a, b, present),
            _ => self.arithmetic(id, op, a, b, present, kind),
        }
    }

    /// `and`/`or`, short-circuiting on a present `false`/`true` left operand.
    fn kleene(&mut self, op: BinaryOp, lhs: ExprId, rhs: ExprId) -> Lowered<Scalar> {
        let decisive = i64::from(op == BinaryOp::Or);
        let a = self.scalar(lhs)?;
        let a_is = self.b.ins().icmp_imm_s(IntCC::Equal, a.bits, decisive);
        let a_decides = self.b.ins().band(a.present, a_is);
        let (other, join) = (self.b.create_block(), self.scalar_join(K::Bool));
        let one = self.i8c(1);
        let d = self.i64c(decisive);
        self.b.ins().brif(
            a_decides,
            join,
            &[BlockArg::from(one), BlockArg::from(d)],
            other,
            &[],
        );
        self.b.switch_to_block(other);
        let b = self.scalar(rhs)?;
        // `b` decisive: the result is decisive; both present and not decisive: the
        // other truth value; anything else: none.
        let b_is = self.b.ins().icmp_imm_s(IntCC::Equal, b.bits, decisive);
        let b_decides = self.b.ins().band(b.present, b_is);
        let both = self.b.ins().band(a.present, b.present);
        let present = self.b.ins().bor(b_decides, both);
        let not_decisive = self.i64c(1 - decisive);
        let bits = self.b.ins().select(b_decides, d, not_decisive);
        self.jump_scalar(join, present, bits);
        Ok(self.joined(join, K::Bool))
    }

    fn compare(
        &mut self,
        id: ExprId,
        op: BinaryOp,
        a: Scalar,
        b: Scalar,
        present: Clif,
    ) -> Lowered<Scalar> {
        let flag = match (a.kind, b.kind) {
            (K::Float, K::Float) => self.b.ins().fcmp(float_cc(op), a.bits, b.bits),
            (K::Str, K::Str) if matches!(op, BinaryOp::Eq | BinaryOp::Ne) => {
                self.b.ins().icmp(int_cc(op, true), a.bits, b.bits)
            }
            (K::Str, K::Str) => {
                // Ordered by text; the helper is pure, so it may run on absent bits.
                let ord = self.call1(Helper::StrCmp, &[a.bits, b.bits])?;
                self.b.ins().icmp_imm_s(int_cc(op, true), ord, 0)
            }
            // `false < true`.
            (K::Bool, K::Bool) => self.b.ins().icmp(int_cc(op, false), a.bits, b.bits),
            (x, y) if x == y => self.b.ins().icmp(int_cc(op, true), a.bits, b.bits),
            (x, y) => return self.error(id, format!("{op:?} of {x:?} and {y:?}")),
        };
        let bits = self.bool_bits(flag);
        Ok(Scalar {
            kind: K::Bool,
            present,
            bits,
        })
    }

    /// A comparison of collections, objects or stored events, by a helper.
    fn boxed_binary(
        &mut self,
        id: ExprId,
        op: BinaryOp,
        lhs: ExprId,
        rhs: ExprId,
    ) -> Lowered<Scalar> {
        if !matches!(
            op,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        ) || self.kind(lhs).is_some()
            || self.kind(rhs).is_some()
        {
            return self.error(id, format!("{op:?} with a boxed operand"));
        }
        let (ta, tb) = (self.new_temp(), self.new_temp());
        self.boxed(lhs, ta)?;
        self.boxed(rhs, tb)?;
        self.boxed_op(op, ta, tb)
    }

    /// `x in y`: both operands are evaluated (left first), then none wins.
    fn membership(&mut self, id: ExprId, lhs: ExprId, rhs: ExprId) -> Lowered<Scalar> {
        let needle_kind = self.kind(lhs);
        let hay = self.expr(rhs)?;
        match (needle_kind, self.kind(rhs), hay) {
            // A literal list of scalars: compared inline, no list is built.
            (Some(_), None, Expr::List(items)) if items.iter().all(|i| self.kind(*i).is_some()) => {
                let a = self.scalar(lhs)?;
                let mut found = self.i8c(0);
                for &item in items {
                    let m = self.scalar(item)?;
                    let same = self.equal_flag(id, a, m)?;
                    let hit = self.b.ins().band(same, m.present);
                    found = self.b.ins().bor(found, hit);
                }
                let bits = self.bool_bits(found);
                Ok(Scalar {
                    kind: K::Bool,
                    present: a.present,
                    bits,
                })
            }
            // A substring.
            (Some(K::Str), Some(K::Str), _) => {
                let a = self.scalar(lhs)?;
                let b = self.scalar(rhs)?;
                let present = self.b.ins().band(a.present, b.present);
                let op = self.i32c(2);
                let r = self.call1(Helper::StrTest, &[op, b.bits, a.bits])?;
                let bits = self.b.ins().uextend(types::I64, r);
                Ok(Scalar {
                    kind: K::Bool,
                    present,
                    bits,
                })
            }
            (Some(_), None, _) => {
                let a = self.scalar(lhs)?;
                let t = self.new_temp();
                self.boxed(rhs, t)?;
                let (h, k) = (self.i32c(t), self.i32c(a.kind.code()));
                let bits = self.as_i64(a);
                let tri = self.call1(Helper::BoxedContains, &[h, k, bits])?;
                let r = self.tri_scalar(tri);
                let present = self.b.ins().band(r.present, a.present);
                Ok(Scalar { present, ..r })
            }
            (None, None, _) => {
                let (ta, tb) = (self.new_temp(), self.new_temp());
                self.boxed(lhs, ta)?;
                self.boxed(rhs, tb)?;
                self.boxed_op(BinaryOp::In, ta, tb)
            }
            (a, b, _) => self.error(id, format!("{a:?} in {b:?}")),
        }
    }

    /// `equal` on two scalars of one kind, as an `i8` flag (payloads only).
    fn equal_flag(&mut self, id: ExprId, a: Scalar, b: Scalar) -> Lowered<Clif> {
        Ok(match (a.kind, b.kind) {
            (K::Float, K::Float) => self.b.ins().fcmp(float_cc(BinaryOp::Eq), a.bits, b.bits),
            (x, y) if x == y => self.b.ins().icmp(IntCC::Equal, a.bits, b.bits),
            (x, y) => return self.error(id, format!("{x:?} in a list of {y:?}")),
        })
    }

    fn arithmetic(
        &mut self,
        id: ExprId,
        op: BinaryOp,
        a: Scalar,
        b: Scalar,
        present: Clif,
        kind: ScalarKind,
    ) -> Lowered<Scalar> {
        let int_like = |k: K| matches!(k, K::Int | K::Time | K::Duration);
        let result = |bits| Scalar {
            kind,
            present,
            bits,
        };
        let bits = match (op, a.kind, b.kind) {
            (BinaryOp::Add, K::Float, K::Float) => self.b.ins().fadd(a.bits, b.bits),
            (BinaryOp::Sub, K::Float, K::Float) => self.b.ins().fsub(a.bits, b.bits),
            (BinaryOp::Mul, K::Float, K::Float) => self.b.ins().fmul(a.bits, b.bits),
            (BinaryOp::Div, K::Float, K::Float) => self.b.ins().fdiv(a.bits, b.bits),
            (BinaryOp::Rem, K::Float, K::Float) => self.call1(Helper::Fmod, &[a.bits, b.bits])?,
            (BinaryOp::Add, K::Str, K::Str) => {
                // Concatenation interns its result: only for present operands.
                return self.when(present, K::Str, |l| {
                    let sym = l.call1(Helper::StrConcat, &[a.bits, b.bits])?;
                    Ok(l.present(K::Str, sym))
                });
            }
            (BinaryOp::Mul, K::Duration, K::Float) => {
                return self.scale(id, a.bits, b.bits, false, present);
            }
            (BinaryOp::Mul, K::Float, K::Duration) => {
                return self.scale(id, b.bits, a.bits, false, present);
            }
            (BinaryOp::Div, K::Duration, K::Float) => {
                return self.scale(id, a.bits, b.bits, true, present);
            }
            (BinaryOp::Div, K::Duration, K::Duration) if kind == K::Float => {
                let x = self.b.ins().fcvt_from_sint(types::F64, a.bits);
                let y = self.b.ins().fcvt_from_sint(types::F64, b.bits);
                self.b.ins().fdiv(x, y)
            }
            (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, x, y) if int_like(x) && int_like(y) => {
                let (bits, overflow) = match op {
                    BinaryOp::Add => self.b.ins().sadd_overflow(a.bits, b.bits),
                    BinaryOp::Sub => self.b.ins().ssub_overflow(a.bits, b.bits),
                    _ => self.b.ins().smul_overflow(a.bits, b.bits),
                };
                let bad = self.b.ins().band(overflow, present);
                self.fail_if(bad, EvalErrorKind::IntegerOverflow, id);
                bits
            }
            (BinaryOp::Div | BinaryOp::Rem, x, y) if int_like(x) && int_like(y) => {
                self.checked_division(id, op, a.bits, b.bits, present)
            }
            (op, x, y) => return self.error(id, format!("{op:?} of {x:?} and {y:?}")),
        };
        Ok(result(bits))
    }

    /// Integer `/` and `%`: by zero, then `MIN / -1` (and `MIN % -1`, which
    /// `checked_rem` refuses too) are errors; the divisor the instruction sees is
    /// never one that traps, even for absent operands.
    fn checked_division(
        &mut self,
        id: ExprId,
        op: BinaryOp,
        x: Clif,
        y: Clif,
        present: Clif,
    ) -> Clif {
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, y, 0);
        let bad = self.b.ins().band(zero, present);
        self.fail_if(bad, EvalErrorKind::DivisionByZero, id);
        let x_min = self.b.ins().icmp_imm_s(IntCC::Equal, x, i64::MIN);
        let y_neg = self.b.ins().icmp_imm_s(IntCC::Equal, y, -1);
        let min_by_neg = self.b.ins().band(x_min, y_neg);
        let bad = self.b.ins().band(min_by_neg, present);
        self.fail_if(bad, EvalErrorKind::IntegerOverflow, id);
        let trapping = self.b.ins().bor(zero, min_by_neg);
        let one = self.i64c(1);
        let divisor = self.b.ins().select(trapping, one, y);
        if op == BinaryOp::Div {
            self.b.ins().sdiv(x, divisor)
        } else {
            self.b.ins().srem(x, divisor)
        }
    }

    /// `duration * float`, `duration / float`: rounded milliseconds by a helper,
    /// an overflow when they do not fit.
    fn scale(
        &mut self,
        id: ExprId,
        d: Clif,
        f: Clif,
        divide: bool,
        present: Clif,
    ) -> Lowered<Scalar> {
        let divide = self.i32c(u32::from(divide));
        let ok = self.call1(Helper::ScaleDuration, &[d, f, divide])?;
        let failed = self.b.ins().icmp_imm_s(IntCC::Equal, ok, 0);
        let bad = self.b.ins().band(failed, present);
        self.fail_if(bad, EvalErrorKind::IntegerOverflow, id);
        let bits = self.ctx_bits(K::Duration);
        Ok(Scalar {
            kind: K::Duration,
            present,
            bits,
        })
    }
}

/// The integer condition of a comparison (`signed` for numbers and times,
/// unsigned for booleans).
fn int_cc(op: BinaryOp, signed: bool) -> IntCC {
    match (op, signed) {
        (BinaryOp::Eq, _) => IntCC::Equal,
        (BinaryOp::Ne, _) => IntCC::NotEqual,
        (BinaryOp::Lt, true) => IntCC::SignedLessThan,
        (BinaryOp::Le, true) => IntCC::SignedLessThanOrEqual,
        (BinaryOp::Gt, true) => IntCC::SignedGreaterThan,
        (BinaryOp::Lt, false) => IntCC::UnsignedLessThan,
        (BinaryOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
        (BinaryOp::Gt, false) => IntCC::UnsignedGreaterThan,
        (_, false) => IntCC::UnsignedGreaterThanOrEqual,
        (_, true) => IntCC::SignedGreaterThanOrEqual,
    }
}
