//! The Cranelift JIT engine: [`Jit::prepare`] compiles every expression the runtime
//! hands to it (filters, guards, reducer arguments, payload members, ...) to one
//! native function each, before the first event; [`Jit::eval`] calls it. The
//! interpreter (`interp`) is the oracle: the JIT must give the same value or the
//! same error for every expression in every environment, and the tests run every
//! case under both.
//!
//! Invariants:
//! - interp and jit agree on every program (tests/run.rs, tests/jit_props.rs,
//!   tests/jit_stream.rs);
//! - `unsafe` lives only in this module, each block with a `SAFETY:` comment
//!   (tests/tidy.rs keeps it here);
//! - compiled code never traps: integer division gets a divisor that cannot
//!   trap, every error is a status word, helpers never panic ([`abi`]);
//! - nothing falls back to the interpreter: an expression the JIT cannot compile
//!   makes `prepare` fail.
//!
//! Layout: [`abi`] is what compiled code and Rust share (the context block, the
//! status word, the `extern "C"` helpers); [`helpers`] their table of names and
//! signatures; [`lower`], [`lower_ops`], [`lower_calls`] and [`lower_fields`] turn IR into CLIF
//! (the last reads the bound events' fields from memory); [`backend`] sets up
//! Cranelift and compiles a whole program.

pub mod abi;
pub mod backend;
pub mod helpers;
pub mod lower;
pub mod lower_calls;
pub mod lower_fields;
pub mod lower_ops;

use std::cell::Cell;

use abi::{BoundEvent, ConstSym, Ctx, Host, OK};
use backend::{CompileOptions, Compiled};

use crate::interp::{Engine, EngineError, Env, EvalError, Value};
use crate::ir::{ExprId, Program};

/// The JIT engine. Owns the compiled code (freed when it drops) and the caches
/// compiled code reads.
#[derive(Default)]
pub struct Jit {
    compiled: Option<Compiled>,
    /// The symbol of each string constant under the interner generation it was
    /// interned in (read by compiled code, written by `trigc_rt_intern_const`).
    const_syms: Box<[Cell<ConstSym>]>,
    /// Temporaries, kept between evaluations so that one allocates nothing.
    scratch: Cell<Vec<Value>>,
}

impl Jit {
    /// A JIT for this host, or why the host cannot run one.
    pub fn new() -> Result<Jit, EngineError> {
        backend::available()?;
        Ok(Jit::default())
    }

    /// The number of native functions the prepared program has.
    pub fn functions(&self) -> usize {
        self.compiled.as_ref().map_or(0, |c| c.functions)
    }
}

/// The Cranelift IR of every function of `program` (`trigc compile --emit clif`).
pub fn clif_text(program: &Program, entries: &[ExprId]) -> Result<String, EngineError> {
    backend::compile(program, entries, CompileOptions { keep_clif: true }).map(|c| c.clif.clone())
}

impl Engine for Jit {
    fn name(&self) -> &'static str {
        "jit"
    }

    fn prepare(&mut self, program: &Program, entries: &[ExprId]) -> Result<(), EngineError> {
        let compiled = backend::compile(program, entries, CompileOptions::default())?;
        self.const_syms = (0..compiled.texts.len())
            .map(|_| Cell::new(ConstSym::default()))
            .collect();
        self.compiled = Some(compiled);
        Ok(())
    }

    fn compiled_functions(&self) -> usize {
        self.functions()
    }

    fn eval(&self, program: &Program, expr: ExprId, env: &mut dyn Env) -> Result<Value, EvalError> {
        let entry = self
            .compiled
            .as_ref()
            .and_then(|c| c.entries.get(expr.index()).copied().flatten());
        let (Some(entry), Some(compiled)) = (entry, self.compiled.as_ref()) else {
            // The runtime only evaluates the entries it prepared the engine with
            // (`runtime::entries`); the tests run every case in a debug build, where
            // this is a failure.
            debug_assert!(
                false,
                "the JIT was asked for a non-entry expression {expr:?}"
            );
            return crate::interp::eval(program, expr, env);
        };
        // A scalar entry without temporaries (most filters and guards) needs no
        // scratch: it runs with none, and no vector is made or dropped for it.
        if entry.kind.is_some() && entry.temps <= 1 {
            let (status, bits, present) = self.run(entry, compiled, program, env, &mut []);
            return match entry.kind {
                _ if status != OK => Err(abi::status_error(status)),
                Some(kind) if present != 0 => Ok(kind.value(bits)),
                _ => Ok(Value::None),
            };
        }
        let mut temps = self.scratch.take();
        temps.clear();
        temps.resize(entry.temps as usize, Value::None);
        let (status, bits, present) = self.run(entry, compiled, program, env, &mut temps);
        let result = if status != OK {
            Err(abi::status_error(status))
        } else {
            Ok(match entry.kind {
                Some(kind) if present != 0 => kind.value(bits),
                Some(_) => Value::None,
                None => temps.first_mut().map(std::mem::take).unwrap_or_default(),
            })
        };
        temps.clear();
        self.scratch.set(temps);
        result
    }
}

impl Jit {
    /// Call `entry`'s code with a context over `env` and `temps`: its status and
    /// its scalar result (bits and presence).
    #[inline(always)]
    fn run(
        &self,
        entry: backend::Entry,
        compiled: &backend::Compiled,
        program: &Program,
        env: &mut dyn Env,
        temps: &mut [Value],
    ) -> (abi::Status, i64, u64) {
        // The string table's generation and the bound events whose fields the code
        // reads inline (`lower_fields`), in one call through `dyn Env`; raw
        // pointers from here on, so `env` is free for the helpers.
        let (generation, events) = if !entry.reads_strings && entry.reads_events == [false; 2] {
            (0, [BoundEvent::NONE; 2])
        } else {
            let frame = env.frame();
            let bound = |read: bool, event| {
                if read {
                    BoundEvent::of(event)
                } else {
                    BoundEvent::NONE
                }
            };
            (
                frame.generation,
                [
                    bound(entry.reads_events[0], frame.current),
                    bound(entry.reads_events[1], frame.start),
                ],
            )
        };
        let mut ctx = Ctx {
            generation,
            const_syms: self.const_syms.as_ptr(),
            bits: 0,
            present: 0,
            events,
            host: Host {
                program,
                env,
                texts: &compiled.texts,
                const_syms: &self.const_syms,
                temps,
            },
        };
        // `entry.code` was compiled by `backend::compile` into the module
        // `self.compiled` owns (alive for this whole call) as `fn(*mut Ctx) ->
        // Status`; it reads and writes only `ctx`'s leading fields at their asserted
        // offsets and the constant cache (`const_syms`, as long as the engine's text
        // table), reads the bound events' fields only below their lengths and at the
        // tested `Value` layout (`abi::value_layout`; the slices `env` lent, which
        // nothing changes during the call: see `BoundEvent`), and reaches everything
        // else through helpers given this same pointer.
        // SAFETY: so calling it with `ctx` is sound; it cannot trap or unwind.
        let status = unsafe { (entry.code)(&mut ctx) };
        (status, ctx.bits, ctx.present)
    }
}

#[cfg(test)]
mod tests;
