//! Lowering built-in calls (`len`, `empty`, `lower`, `upper`, `abs`,
//! `starts_with`, `ends_with`, `contains`) and membership in boxed collections,
//! with the interpreter's order: the first argument, then (only when it is
//! present) the second.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, types};

use super::abi::ScalarKind;
use super::helpers::Helper;
use super::lower::{Lower, Lowered, Scalar};
use crate::ir::{Builtin, Expr, ExprId};

impl Lower<'_, '_> {
    pub fn builtin(
        &mut self,
        id: ExprId,
        func: Builtin,
        args: &[ExprId],
        kind: ScalarKind,
    ) -> Lowered<Scalar> {
        let Some(&first) = args.first() else {
            return self.error(id, "a built-in without arguments");
        };
        match func {
            Builtin::Len | Builtin::Empty => self.len_or_empty(id, func, first, kind),
            Builtin::Lower | Builtin::Upper => {
                let s = self.scalar(first)?;
                let upper = self.i32c(u32::from(func == Builtin::Upper));
                // Only a present string is changed (and its result interned).
                self.when(s.present, ScalarKind::Str, |l| {
                    let bits = l.call1(Helper::StrCase, &[s.bits, upper])?;
                    Ok(l.present(ScalarKind::Str, bits))
                })
            }
            Builtin::Abs => {
                let s = self.scalar(first)?;
                let bits = match s.kind {
                    ScalarKind::Int | ScalarKind::Duration => {
                        self.fail_if_min(s, id);
                        self.b.ins().iabs(s.bits)
                    }
                    ScalarKind::Float => self.b.ins().fabs(s.bits),
                    other => return self.error(id, format!("abs of {other:?}")),
                };
                Ok(Scalar { bits, ..s })
            }
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => {
                let Some(&second) = args.get(1) else {
                    return self.error(id, "a two-argument built-in with one argument");
                };
                self.test_call(id, func, first, second)
            }
        }
    }

    fn len_or_empty(
        &mut self,
        id: ExprId,
        func: Builtin,
        first: ExprId,
        kind: ScalarKind,
    ) -> Lowered<Scalar> {
        let empty = func == Builtin::Empty;
        // `len(cart)`: counted where the state lives when the runtime can.
        if let Expr::State(state) = self.expr(first)? {
            let s = self.i32c(state.index() as u32);
            let n = self.call1(Helper::StateLen, &[s])?;
            let counted = self
                .b
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, n, 0);
            let (yes, no, join) = (
                self.b.create_block(),
                self.b.create_block(),
                self.scalar_join(kind),
            );
            self.b.ins().brif(counted, yes, &[], no, &[]);
            self.b.switch_to_block(yes);
            let bits = if empty {
                let z = self.b.ins().icmp_imm_s(IntCC::Equal, n, 0);
                self.bool_bits(z)
            } else {
                n
            };
            let one = self.i8c(1);
            self.jump_scalar(join, one, bits);
            self.b.switch_to_block(no);
            let s = self.len_of(id, first, empty)?;
            self.jump_scalar(join, s.present, s.bits);
            return Ok(self.joined(join, kind));
        }
        self.len_of(id, first, empty)
    }

    fn len_of(&mut self, id: ExprId, x: ExprId, empty: bool) -> Lowered<Scalar> {
        let kind = if empty {
            ScalarKind::Bool
        } else {
            ScalarKind::Int
        };
        match self.kind(x) {
            Some(ScalarKind::Str) => {
                let s = self.scalar(x)?;
                self.when(s.present, kind, |l| {
                    let n = l.call1(Helper::StrLen, &[s.bits])?;
                    let bits = if empty {
                        let z = l.b.ins().icmp_imm_s(IntCC::Equal, n, 0);
                        l.bool_bits(z)
                    } else {
                        n
                    };
                    Ok(l.present(kind, bits))
                })
            }
            Some(other) => self.error(id, format!("len/empty of {other:?}")),
            None => {
                let t = self.new_temp();
                self.boxed(x, t)?;
                let (t, e) = (self.i32c(t), self.i32c(u32::from(empty)));
                let present = self.call1(Helper::BoxedLen, &[t, e])?;
                Ok(self.helper_scalar(kind, present))
            }
        }
    }

    /// `starts_with`, `ends_with`, `contains`: the second argument is evaluated only
    /// when the first is present.
    fn test_call(&mut self, id: ExprId, func: Builtin, x: ExprId, y: ExprId) -> Lowered<Scalar> {
        let op = match func {
            Builtin::StartsWith => 0,
            Builtin::EndsWith => 1,
            _ => 2,
        };
        match self.kind(x) {
            Some(ScalarKind::Str) => {
                let s = self.scalar(x)?;
                self.when(s.present, ScalarKind::Bool, |l| {
                    let p = l.scalar(y)?;
                    if p.kind != ScalarKind::Str {
                        return l.error(id, "a string test of a non-string");
                    }
                    let op = l.i32c(op);
                    let r = l.call1(Helper::StrTest, &[op, s.bits, p.bits])?;
                    let bits = l.b.ins().uextend(types::I64, r);
                    Ok(Scalar {
                        kind: ScalarKind::Bool,
                        present: p.present,
                        bits,
                    })
                })
            }
            None if func == Builtin::Contains => {
                let hay = self.new_temp();
                self.boxed(x, hay)?;
                let h = self.i32c(hay);
                let none = self.call1(Helper::IsNone, &[h])?;
                let present = self.b.ins().icmp_imm_s(IntCC::Equal, none, 0);
                self.when(present, ScalarKind::Bool, |l| l.member(y, hay))
            }
            _ => self.error(id, format!("{func:?} of a {:?}", self.kind(x))),
        }
    }

    /// Whether the value of `needle` is in the collection in temporary `hay`
    /// (`needle` is evaluated here, after the collection).
    pub fn member(&mut self, needle: ExprId, hay: u32) -> Lowered<Scalar> {
        match self.kind(needle) {
            Some(_) => {
                let n = self.scalar(needle)?;
                let (h, k) = (self.i32c(hay), self.i32c(n.kind.code()));
                let bits = self.as_i64(n);
                let tri = self.call1(Helper::BoxedContains, &[h, k, bits])?;
                let r = self.tri_scalar(tri);
                let present = self.b.ins().band(r.present, n.present);
                Ok(Scalar { present, ..r })
            }
            None => {
                let t = self.new_temp();
                self.boxed(needle, t)?;
                self.boxed_op(crate::ir::BinaryOp::In, t, hay)
            }
        }
    }

    /// A comparison or `in` of the boxed values in temporaries `a` and `b`, by
    /// `trigc_rt_boxed_binary`.
    pub fn boxed_op(&mut self, op: crate::ir::BinaryOp, a: u32, b: u32) -> Lowered<Scalar> {
        let op = super::abi::binary_op_code(op);
        let (op, a, b) = (self.i32c(op), self.i32c(a), self.i32c(b));
        let tri = self.call1(Helper::BoxedBinary, &[op, a, b])?;
        Ok(self.tri_scalar(tri))
    }
}
