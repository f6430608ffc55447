//! The seam between the runtime and an execution engine: the runtime decides what
//! to evaluate and when; an [`Engine`] only evaluates one expression over an
//! [`Env`]. The reference interpreter is [`Interp`]; the JIT implements the same
//! trait, so the runtime is identical for both.

use crate::interp::{self, Env, EvalError, Value};
use crate::ir::{ExprId, Program};

/// Evaluates IR expressions.
pub trait Engine {
    fn eval(&self, program: &Program, expr: ExprId, env: &mut dyn Env) -> Result<Value, EvalError>;
}

/// The tree-walking reference interpreter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interp;

impl Engine for Interp {
    fn eval(&self, program: &Program, expr: ExprId, env: &mut dyn Env) -> Result<Value, EvalError> {
        interp::eval(program, expr, env)
    }
}
