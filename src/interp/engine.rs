//! The seam between the runtime and an execution engine. The runtime decides what to
//! evaluate and when; an [`Engine`] evaluates one expression over an [`Env`]. The
//! reference interpreter is [`Interp`]; a compiled engine implements the same trait,
//! so the runtime is identical for both and any engine plugs in without touching it.
//!
//! The trait lives with the interpreter (beside [`Env`] and the value domain) so an
//! engine depends on `interp` and `ir` only, and the runtime, downstream, takes any
//! engine as a value.

use std::fmt;

use super::{Env, EvalError, Value};
use crate::ir::{ExprId, Program};

/// Evaluates IR expressions. `Send`, so a runtime holding one can move between
/// threads.
pub trait Engine: Send {
    /// The engine's name, as `--engine` spells it.
    fn name(&self) -> &'static str;

    /// Get ready to evaluate `entries` of `program`, the only expressions later
    /// `eval` calls name: a compiled engine compiles them here, before the first
    /// event. Called once, by `Runtime::new`/`Runtime::restore` with what the
    /// runtime hands to its engine (`runtime::entries`), or by a caller evaluating
    /// expressions of its own with those.
    fn prepare(&mut self, program: &Program, entries: &[ExprId]) -> Result<(), EngineError>;

    /// Native functions the prepared program was compiled to (`--stats`); 0 for an
    /// engine that compiles nothing.
    fn compiled_functions(&self) -> usize {
        0
    }

    /// The value of `expr` in `env`.
    fn eval(&self, program: &Program, expr: ExprId, env: &mut dyn Env) -> Result<Value, EvalError>;
}

/// Why an engine cannot run a program (a compiled engine that has no backend for
/// this host, or that the host refuses executable memory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineError {
    pub engine: &'static str,
    pub message: String,
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} engine cannot run: {}", self.engine, self.message)
    }
}

impl std::error::Error for EngineError {}

/// The tree-walking reference interpreter: the oracle every other engine must agree
/// with byte for byte.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interp;

impl Engine for Interp {
    fn name(&self) -> &'static str {
        "interp"
    }

    /// Nothing to prepare: the interpreter walks the IR as it is.
    fn prepare(&mut self, _program: &Program, _entries: &[ExprId]) -> Result<(), EngineError> {
        Ok(())
    }

    fn eval(&self, program: &Program, expr: ExprId, env: &mut dyn Env) -> Result<Value, EvalError> {
        super::eval(program, expr, env)
    }
}
