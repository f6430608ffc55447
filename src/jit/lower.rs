//! Lowering one entry expression to a Cranelift function body.
//!
//! Scalars (`bool`, `int`, `float`, `str`, `time`, `duration`, optional or not)
//! are SSA values: a present flag (`i8`) and the payload (`i64`, or `f64` for
//! floats; a string is its interned symbol). Every scalar carries the flag, even
//! where the type is not optional: a field of an event type not listed reads as
//! `none` in the interpreter, whatever the checker says. Collections, objects
//! and stored events are boxed in numbered temporaries only helpers touch.
//!
//! The evaluation order, short-circuits and error checks are those of
//! `interp::eval` step by step: an operand the interpreter does not evaluate is
//! not evaluated here either (its errors and its interning must not happen), and
//! every error check is guarded by the operands being present, since an absent
//! operand's payload is unspecified bits.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, Type, Value as Clif, types,
};
use cranelift_frontend::FunctionBuilder;

use super::abi::{
    ABSENT, CONST_SYM_GENERATION, CONST_SYM_SIZE, CONST_SYM_SYM, CTX_BITS, CTX_CONST_SYMS,
    CTX_GENERATION, CTX_PRESENT, ScalarKind, Status, error_status,
};
use super::helpers::Helper;
use crate::interp::EvalErrorKind;
use crate::ir::{Const, Expr, ExprId, Program};

/// Why an expression could not be compiled: a bug in the JIT (or an IR form it
/// does not know), reported, never hidden behind the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerError {
    pub expr: ExprId,
    pub what: String,
}

pub type Lowered<T> = Result<T, LowerError>;

/// A scalar in registers.
#[derive(Clone, Copy, Debug)]
pub struct Scalar {
    pub kind: ScalarKind,
    /// `i8`, 0 or 1.
    pub present: Clif,
    /// `i64`, or `f64` for [`ScalarKind::Float`].
    pub bits: Clif,
}

/// What the lowering needs from the module: a way to call each helper, and the
/// program's string table.
pub trait Linker {
    /// A reference to `helper` usable in the function being built.
    fn helper(&mut self, helper: Helper, func: &mut cranelift_codegen::ir::Function) -> FuncRef;
    /// The number of string `text` in the engine's text table.
    fn text(&mut self, text: &str) -> u32;
}

/// Builds one function.
pub struct Lower<'a, 'f> {
    pub program: &'a Program,
    pub b: FunctionBuilder<'f>,
    pub linker: &'a mut dyn Linker,
    /// The `*mut Ctx` parameter.
    pub ctx: Clif,
    /// The interner generation and the constant cache, loaded once on entry.
    generation: Clif,
    const_syms: Clif,
    /// Returns its `i64` status parameter.
    fail: Block,
    /// Temporaries used so far (0 is the root's when it is boxed).
    pub temps: u32,
    /// Whether the function reads a string constant (and so needs the interner's
    /// generation in its context).
    pub reads_strings: bool,
    /// Whether the function reads fields of the event bound to each binding
    /// inline (by `abi::binding_slot`).
    pub reads_events: [bool; 2],
}

pub fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl<'a, 'f> Lower<'a, 'f> {
    /// Start a function `fn(ctx) -> status` in `b`.
    pub fn new(
        program: &'a Program,
        mut b: FunctionBuilder<'f>,
        linker: &'a mut dyn Linker,
    ) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let ctx = b.block_params(entry)[0];
        let generation = b.ins().load(types::I64, flags(), ctx, CTX_GENERATION);
        let const_syms = b.ins().load(types::I64, flags(), ctx, CTX_CONST_SYMS);
        let fail = b.create_block();
        b.append_block_param(fail, types::I64);
        Lower {
            program,
            b,
            linker,
            ctx,
            generation,
            const_syms,
            fail,
            temps: 1,
            reads_strings: false,
            reads_events: [false; 2],
        }
    }

    /// Finish the body: a scalar root stores its result in the context; a boxed
    /// root has left it in temporary 0.
    pub fn finish(
        mut self,
        root: Option<Scalar>,
        frontend: cranelift_codegen::isa::TargetFrontendConfig,
    ) -> Lowered<()> {
        if let Some(s) = root {
            let present = self.b.ins().uextend(types::I64, s.present);
            self.b.ins().store(flags(), present, self.ctx, CTX_PRESENT);
            let bits = self.as_i64(s);
            self.b.ins().store(flags(), bits, self.ctx, CTX_BITS);
        }
        let ok = self.b.ins().iconst(types::I64, 0);
        self.b.ins().return_(&[ok]);
        self.b.switch_to_block(self.fail);
        let status = self.b.block_params(self.fail)[0];
        self.b.ins().return_(&[status]);
        self.b.seal_all_blocks();
        self.b.finalize(frontend);
        Ok(())
    }

    pub fn error<T>(&self, expr: ExprId, what: impl Into<String>) -> Lowered<T> {
        Err(LowerError {
            expr,
            what: what.into(),
        })
    }

    pub fn expr(&self, id: ExprId) -> Lowered<&'a Expr> {
        match self.program.exprs.get(id.index()) {
            Some(e) => Ok(e),
            None => self.error(id, "expression id out of range"),
        }
    }

    /// The scalar kind of expression `id`, `None` when it is boxed.
    pub fn kind(&self, id: ExprId) -> Option<ScalarKind> {
        self.program
            .expr_types
            .get(id.index())
            .and_then(ScalarKind::of)
    }

    pub fn new_temp(&mut self) -> u32 {
        self.temps += 1;
        self.temps - 1
    }

    // -------------------------------------------------------- small builders

    pub fn i8c(&mut self, v: i64) -> Clif {
        self.b.ins().iconst(types::I8, v)
    }
    pub fn i32c(&mut self, v: u32) -> Clif {
        self.b.ins().iconst(types::I32, i64::from(v))
    }
    pub fn i64c(&mut self, v: i64) -> Clif {
        self.b.ins().iconst(types::I64, v)
    }

    /// The payload as `i64` bits (floats bit-cast).
    pub fn as_i64(&mut self, s: Scalar) -> Clif {
        if s.kind == ScalarKind::Float {
            self.b
                .ins()
                .bitcast(types::I64, MemFlagsData::new(), s.bits)
        } else {
            s.bits
        }
    }

    /// `i8` 0/1 from a comparison result.
    pub fn bool_bits(&mut self, flag: Clif) -> Clif {
        self.b.ins().uextend(types::I64, flag)
    }

    pub fn present(&mut self, kind: ScalarKind, bits: Clif) -> Scalar {
        let present = self.i8c(1);
        Scalar {
            kind,
            present,
            bits,
        }
    }

    pub fn call(&mut self, helper: Helper, args: &[Clif]) -> Option<Clif> {
        let f = self.linker.helper(helper, self.b.func);
        let mut full = Vec::with_capacity(args.len() + 1);
        if helper.takes_ctx() {
            full.push(self.ctx);
        }
        full.extend_from_slice(args);
        let call = self.b.ins().call(f, &full);
        self.b.inst_results(call).first().copied()
    }

    pub fn call1(&mut self, helper: Helper, args: &[Clif]) -> Lowered<Clif> {
        match self.call(helper, args) {
            Some(v) => Ok(v),
            None => Err(LowerError {
                expr: ExprId::from_index(0),
                what: format!("helper {} returns nothing", helper.name()),
            }),
        }
    }

    /// The scalar bits a helper left in the context.
    pub fn ctx_bits(&mut self, kind: ScalarKind) -> Clif {
        let bits = self.b.ins().load(types::I64, flags(), self.ctx, CTX_BITS);
        if kind == ScalarKind::Float {
            self.b.ins().bitcast(types::F64, MemFlagsData::new(), bits)
        } else {
            bits
        }
    }

    /// A scalar from a helper's present flag and the bits it left in the context.
    pub fn helper_scalar(&mut self, kind: ScalarKind, present: Clif) -> Scalar {
        let bits = self.ctx_bits(kind);
        Scalar {
            kind,
            present,
            bits,
        }
    }

    /// A bool scalar from a helper's tri-state (0, 1, [`ABSENT`]).
    pub fn tri_scalar(&mut self, tri: Clif) -> Scalar {
        let present = self
            .b
            .ins()
            .icmp_imm_s(IntCC::NotEqual, tri, i64::from(ABSENT));
        let truth = self.b.ins().icmp_imm_s(IntCC::Equal, tri, 1);
        let bits = self.bool_bits(truth);
        Scalar {
            kind: ScalarKind::Bool,
            present,
            bits,
        }
    }

    /// Leave to the error exit with `kind` at `expr` when `cond` (`i8`) holds.
    pub fn fail_if(&mut self, cond: Clif, kind: EvalErrorKind, expr: ExprId) {
        let status: Status = error_status(kind, expr);
        let status = self.i64c(status as i64);
        let cont = self.b.create_block();
        self.b
            .ins()
            .brif(cond, self.fail, &[BlockArg::from(status)], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// A join block taking a scalar of `kind`.
    pub fn scalar_join(&mut self, kind: ScalarKind) -> Block {
        let join = self.b.create_block();
        self.b.append_block_param(join, types::I8);
        self.b.append_block_param(join, clif_type(kind));
        join
    }

    pub fn jump_scalar(&mut self, join: Block, present: Clif, bits: Clif) {
        self.b
            .ins()
            .jump(join, &[BlockArg::from(present), BlockArg::from(bits)]);
    }

    pub fn joined(&mut self, join: Block, kind: ScalarKind) -> Scalar {
        self.b.switch_to_block(join);
        let params = self.b.block_params(join);
        let (present, bits) = (params[0], params[1]);
        Scalar {
            kind,
            present,
            bits,
        }
    }

    /// Evaluate `then` only when `cond` holds, else an absent scalar of `kind`: the
    /// shape of "an operand is `none`, so the rest is not evaluated".
    pub fn when(
        &mut self,
        cond: Clif,
        kind: ScalarKind,
        then: impl FnOnce(&mut Self) -> Lowered<Scalar>,
    ) -> Lowered<Scalar> {
        let (yes, join) = (self.b.create_block(), self.scalar_join(kind));
        let absent = self.i8c(0);
        let zero = self.zero(kind);
        self.b.ins().brif(
            cond,
            yes,
            &[],
            join,
            &[BlockArg::from(absent), BlockArg::from(zero)],
        );
        self.b.switch_to_block(yes);
        let s = then(self)?;
        self.jump_scalar(join, s.present, s.bits);
        Ok(self.joined(join, kind))
    }

    pub fn zero(&mut self, kind: ScalarKind) -> Clif {
        if kind == ScalarKind::Float {
            self.b.ins().f64const(0.0)
        } else {
            self.i64c(0)
        }
    }

    // -------------------------------------------------------- scalars

    /// Lower scalar expression `id`.
    pub fn scalar(&mut self, id: ExprId) -> Lowered<Scalar> {
        let Some(kind) = self.kind(id) else {
            return self.error(id, "a boxed expression where a scalar is expected");
        };
        let expr = self.expr(id)?;
        match expr {
            Expr::Const(c) => Ok(self.constant(c)),
            Expr::Field { binding, choices } => self.field(id, kind, *binding, choices),
            Expr::EventTime { binding, of } => Ok(self.event_time(*binding, *of)),
            Expr::Key | Expr::Now | Expr::State(_) | Expr::Profile(_) | Expr::Agg(_) => {
                self.read(id, kind)
            }
            Expr::StoredEventTime { base }
                if matches!(self.program.exprs.get(base.index()), Some(Expr::Agg(_))) =>
            {
                // `last(E).ts` reads the time alone, without the event.
                self.read(id, kind)
            }
            Expr::EventField { base, .. } | Expr::StoredEventTime { base } => {
                let t = self.new_temp();
                self.boxed(*base, t)?;
                let (e, t) = (self.i32c(id.index() as u32), self.i32c(t));
                let present = self.call1(Helper::EventPart, &[e, t])?;
                Ok(self.helper_scalar(kind, present))
            }
            Expr::ToFloat(inner) => {
                let s = self.scalar(*inner)?;
                if s.kind == ScalarKind::Float {
                    return Ok(s);
                }
                let bits = self.b.ins().fcvt_from_sint(types::F64, s.bits);
                Ok(Scalar {
                    kind: ScalarKind::Float,
                    present: s.present,
                    bits,
                })
            }
            Expr::Unary { op, operand } => self.unary(id, *op, *operand),
            Expr::Binary { op, lhs, rhs } => self.binary(id, *op, *lhs, *rhs, kind),
            Expr::Call { func, args } => self.builtin(id, *func, args, kind),
            Expr::List(_) | Expr::Object(_) => self.error(id, "a collection typed as a scalar"),
        }
    }

    fn constant(&mut self, c: &Const) -> Scalar {
        match c {
            Const::Bool(b) => {
                let bits = self.i64c(i64::from(*b));
                self.present(ScalarKind::Bool, bits)
            }
            Const::Int(i) => {
                let bits = self.i64c(*i);
                self.present(ScalarKind::Int, bits)
            }
            Const::Duration(d) => {
                let bits = self.i64c(*d);
                self.present(ScalarKind::Duration, bits)
            }
            Const::Time(t) => {
                let bits = self.i64c(*t);
                self.present(ScalarKind::Time, bits)
            }
            Const::Float(f) => {
                let bits = self.b.ins().f64const(*f);
                self.present(ScalarKind::Float, bits)
            }
            Const::Str(s) => {
                let bits = self.string_constant(s);
                self.present(ScalarKind::Str, bits)
            }
        }
    }

    /// The symbol of a string constant: from the engine's cache when it was
    /// interned under the current interner generation, else interned by a helper.
    fn string_constant(&mut self, s: &str) -> Clif {
        self.reads_strings = true;
        let text = self.linker.text(s);
        let offset = i64::from(text) * CONST_SYM_SIZE;
        let cell = self.b.ins().iadd_imm_s(self.const_syms, offset);
        let cached = self
            .b
            .ins()
            .load(types::I64, flags(), cell, CONST_SYM_GENERATION);
        let fresh = self.b.ins().icmp(IntCC::Equal, cached, self.generation);
        let (hit, miss, join) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        self.b.append_block_param(join, types::I64);
        self.b.ins().brif(fresh, hit, &[], miss, &[]);
        self.b.switch_to_block(hit);
        let sym = self.b.ins().load(types::I64, flags(), cell, CONST_SYM_SYM);
        self.b.ins().jump(join, &[BlockArg::from(sym)]);
        self.b.switch_to_block(miss);
        let t = self.i32c(text);
        let sym = self.call(Helper::InternConst, &[t]).unwrap_or(sym);
        self.b.ins().jump(join, &[BlockArg::from(sym)]);
        self.b.switch_to_block(join);
        self.b.block_params(join)[0]
    }

    pub fn read(&mut self, id: ExprId, kind: ScalarKind) -> Lowered<Scalar> {
        let e = self.i32c(id.index() as u32);
        let present = self.call1(Helper::Read, &[e])?;
        Ok(self.helper_scalar(kind, present))
    }

    fn unary(&mut self, id: ExprId, op: crate::ir::UnaryOp, operand: ExprId) -> Lowered<Scalar> {
        let s = self.scalar(operand)?;
        let bits = match (op, s.kind) {
            (crate::ir::UnaryOp::Not, ScalarKind::Bool) => self.b.ins().bxor_imm_s(s.bits, 1),
            (crate::ir::UnaryOp::Neg, ScalarKind::Int | ScalarKind::Duration) => {
                self.fail_if_min(s, id);
                self.b.ins().ineg(s.bits)
            }
            (crate::ir::UnaryOp::Neg, ScalarKind::Float) => self.b.ins().fneg(s.bits),
            _ => return self.error(id, format!("{op:?} of {:?}", s.kind)),
        };
        Ok(Scalar { bits, ..s })
    }

    /// `-x` and `abs(x)` overflow on `i64::MIN` (when `x` is present).
    pub fn fail_if_min(&mut self, s: Scalar, id: ExprId) {
        let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, s.bits, i64::MIN);
        let bad = self.b.ins().band(is_min, s.present);
        self.fail_if(bad, EvalErrorKind::IntegerOverflow, id);
    }

    /// `x ?? y` on scalars: `y` is evaluated only when `x` is absent.
    pub fn coalesce(&mut self, lhs: ExprId, rhs: ExprId, kind: ScalarKind) -> Lowered<Scalar> {
        let a = self.scalar(lhs)?;
        let (other, join) = (self.b.create_block(), self.scalar_join(kind));
        self.b.ins().brif(
            a.present,
            join,
            &[BlockArg::from(a.present), BlockArg::from(a.bits)],
            other,
            &[],
        );
        self.b.switch_to_block(other);
        let b = self.scalar(rhs)?;
        self.jump_scalar(join, b.present, b.bits);
        Ok(self.joined(join, kind))
    }

    // -------------------------------------------------------- boxed values

    /// Lower boxed expression `id` into temporary `dst`.
    pub fn boxed(&mut self, id: ExprId, dst: u32) -> Lowered<()> {
        let expr = self.expr(id)?;
        let d = self.i32c(dst);
        match expr {
            Expr::Field { .. } | Expr::State(_) | Expr::Profile(_) | Expr::Agg(_) => {
                let e = self.i32c(id.index() as u32);
                self.call(Helper::ReadBoxed, &[e, d]);
            }
            Expr::EventField { base, .. } => {
                let t = self.new_temp();
                self.boxed(*base, t)?;
                let (e, t) = (self.i32c(id.index() as u32), self.i32c(t));
                self.call(Helper::EventPartBoxed, &[e, t, d]);
            }
            Expr::List(items) => {
                let n = self.i32c(items.len() as u32);
                self.call(Helper::ListNew, &[d, n]);
                for &item in items {
                    match self.kind(item) {
                        Some(_) => {
                            let s = self.scalar(item)?;
                            let args = self.scalar_args(s);
                            let d = self.i32c(dst);
                            self.call(Helper::ListPush, &[d, args[0], args[1], args[2]]);
                        }
                        None => {
                            let t = self.new_temp();
                            self.boxed(item, t)?;
                            let (d, t) = (self.i32c(dst), self.i32c(t));
                            self.call(Helper::ListPushBoxed, &[d, t]);
                        }
                    }
                }
            }
            Expr::Object(entries) => {
                let n = self.i32c(entries.len() as u32);
                self.call(Helper::ObjectNew, &[d, n]);
                for (name, value) in entries {
                    // The member's value first, then its name interned: the
                    // interpreter's order.
                    match self.kind(*value) {
                        Some(_) => {
                            let s = self.scalar(*value)?;
                            let args = self.scalar_args(s);
                            let text = self.linker.text(name);
                            let (d, name) = (self.i32c(dst), self.i32c(text));
                            self.call(Helper::ObjectPush, &[d, name, args[0], args[1], args[2]]);
                        }
                        None => {
                            let t = self.new_temp();
                            self.boxed(*value, t)?;
                            let text = self.linker.text(name);
                            let (d, name, t) = (self.i32c(dst), self.i32c(text), self.i32c(t));
                            self.call(Helper::ObjectPushBoxed, &[d, name, t]);
                        }
                    }
                }
            }
            Expr::Binary {
                op: crate::ir::BinaryOp::Coalesce,
                lhs,
                rhs,
            } => {
                self.boxed(*lhs, dst)?;
                let none = self.call1(Helper::IsNone, &[d])?;
                let (other, join) = (self.b.create_block(), self.b.create_block());
                self.b.ins().brif(none, other, &[], join, &[]);
                self.b.switch_to_block(other);
                self.boxed(*rhs, dst)?;
                self.b.ins().jump(join, &[]);
                self.b.switch_to_block(join);
            }
            _ => return self.error(id, format!("boxed {expr:?}")),
        }
        Ok(())
    }

    /// (kind code, present, i64 bits) for the push helpers.
    fn scalar_args(&mut self, s: Scalar) -> [Clif; 3] {
        let kind = self.i32c(s.kind.code());
        let bits = self.as_i64(s);
        [kind, s.present, bits]
    }
}

/// The Cranelift type of a scalar's payload.
pub fn clif_type(kind: ScalarKind) -> Type {
    if kind == ScalarKind::Float {
        types::F64
    } else {
        types::I64
    }
}

/// Float comparisons as Rust's operators on `f64` (NaN: only `!=` holds).
pub fn float_cc(op: crate::ir::BinaryOp) -> FloatCC {
    use crate::ir::BinaryOp as B;
    match op {
        B::Eq => FloatCC::Equal,
        B::Ne => FloatCC::NotEqual,
        B::Lt => FloatCC::LessThan,
        B::Le => FloatCC::LessThanOrEqual,
        B::Gt => FloatCC::GreaterThan,
        _ => FloatCC::GreaterThanOrEqual,
    }
}
