//! Cranelift set-up and whole-program compilation: the native ISA, one
//! `JITModule` per program holding every compiled function, the helpers
//! registered by name, and the entry points (the expressions the runtime asks an
//! engine to evaluate) each compiled to one function `fn(*mut Ctx) -> Status`.
//!
//! The module's code memory lives as long as the [`Compiled`] program and is
//! released when it drops (`JITModule` itself leaks it on purpose).

use std::collections::HashMap;

use cranelift_codegen::ir::{AbiParam, FuncRef, Function, UserFuncName, types};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetFrontendConfig};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, default_libcall_names};

use super::abi::{Ctx, ScalarKind, Status};
use super::helpers::Helper;
use super::lower::{Linker, Lower, LowerError};
use crate::interp::EngineError;
use crate::ir::{ExprId, Program};

/// A compiled entry point.
pub type EntryFn = for<'a> unsafe extern "C" fn(*mut Ctx<'a>) -> Status;

/// One expression's compiled function.
#[derive(Clone, Copy)]
pub struct Entry {
    pub code: EntryFn,
    /// Temporaries its evaluation needs.
    pub temps: u32,
    /// Its result: a scalar of this kind, or (`None`) boxed in temporary 0.
    pub kind: Option<ScalarKind>,
    /// Whether it reads string constants (and so the interner's generation).
    pub reads_strings: bool,
    /// Whether it reads fields of the event bound to each binding inline (by
    /// `abi::binding_slot`), and so needs it in its context.
    pub reads_events: [bool; 2],
}

/// How to compile.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileOptions {
    /// Keep the Cranelift IR of every function as text (`--emit clif`).
    pub keep_clif: bool,
}

/// A program compiled to native code.
pub struct Compiled {
    module: Option<JITModule>,
    /// By expression index; `None` for expressions that are no entry point.
    pub entries: Vec<Option<Entry>>,
    /// String constants and object member names, by text number.
    pub texts: Vec<Box<str>>,
    /// With [`CompileOptions::keep_clif`]: each function's CLIF.
    pub clif: String,
    /// Functions compiled.
    pub functions: usize,
}

impl Drop for Compiled {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the entries' code pointers are only called by the engine that
            // owns this `Compiled`, through `&self`, so none runs while it drops, and
            // they drop with it (the engine never copies them out).
            unsafe { module.free_memory() };
        }
    }
}

/// The host's ISA with trigc's flags, or why the JIT cannot run here.
fn native_isa() -> Result<OwnedTargetIsa, EngineError> {
    let fail = |message: String| EngineError {
        engine: "jit",
        message,
    };
    let mut flags = settings::builder();
    let verifier = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    for (name, value) in [
        // Entry functions are small: Cranelift's optimiser cost ~20% of compile
        // time for no measurable gain per call, measured again with only the
        // runtime's entries compiled (BENCHMARKS.md, "Figures behind choices").
        ("opt_level", "none"),
        // The JIT module refuses position-independent code.
        ("is_pic", "false"),
        ("use_colocated_libcalls", "false"),
        // Verifying doubles compile time; debug builds (the tests) keep it.
        ("enable_verifier", verifier),
    ] {
        flags
            .set(name, value)
            .map_err(|e| fail(format!("setting {name}: {e}")))?;
    }
    let isa = cranelift_native::builder().map_err(|e| fail(format!("no native backend: {e}")))?;
    isa.finish(settings::Flags::new(flags))
        .map_err(|e| fail(format!("no native backend: {e}")))
}

/// Whether the JIT can run on this host.
pub fn available() -> Result<(), EngineError> {
    native_isa().map(drop)
}

/// Helper declarations in the module and, per function, their references.
struct ModuleLinker<'m> {
    module: &'m mut JITModule,
    helpers: Vec<FuncId>,
    refs: Vec<Option<FuncRef>>,
    texts: &'m mut Vec<Box<str>>,
    text_numbers: &'m mut HashMap<Box<str>, u32>,
}

impl Linker for ModuleLinker<'_> {
    fn helper(&mut self, helper: Helper, func: &mut Function) -> FuncRef {
        if let Some(Some(r)) = self.refs.get(helper.index()) {
            return *r;
        }
        let id = self.helpers[helper.index()];
        let r = self.module.declare_func_in_func(id, func);
        if let Some(slot) = self.refs.get_mut(helper.index()) {
            *slot = Some(r);
        }
        r
    }

    fn text(&mut self, text: &str) -> u32 {
        if let Some(&n) = self.text_numbers.get(text) {
            return n;
        }
        let n = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.texts.push(text.into());
        self.text_numbers.insert(text.into(), n);
        n
    }
}

/// The code of an entry before the module is finalized: never called (the entry
/// gets its real address first), only a placeholder of the right type.
extern "C" fn unlinked(_: *mut Ctx<'_>) -> Status {
    super::abi::error_status(
        crate::interp::EvalErrorKind::IntegerOverflow,
        ExprId::from_index(0),
    )
}

/// Compile `entries` of `program`, one function each (a repeated one once).
pub fn compile(
    program: &Program,
    entries: &[ExprId],
    options: CompileOptions,
) -> Result<Compiled, EngineError> {
    let fail = |message: String| EngineError {
        engine: "jit",
        message,
    };
    let isa = native_isa()?;
    let pointer = isa.pointer_type();
    let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
    for helper in Helper::ALL {
        builder.symbol(helper.name(), helper.address());
    }
    let mut module = JITModule::new(builder);
    let mut helpers = Vec::with_capacity(Helper::ALL.len());
    for helper in Helper::ALL {
        let sig = helper.signature(module.make_signature(), pointer);
        let id = module
            .declare_function(helper.name(), Linkage::Import, &sig)
            .map_err(|e| fail(format!("declaring {}: {e}", helper.name())))?;
        helpers.push(id);
    }
    let frontend = module.target_config();
    let mut entry_sig = module.make_signature();
    entry_sig.params.push(AbiParam::new(pointer));
    entry_sig.returns.push(AbiParam::new(types::I64));

    let mut texts = Vec::new();
    let mut text_numbers = HashMap::new();
    let mut clif = String::new();
    if options.keep_clif {
        // The functions call helpers by number: say which is which.
        for (helper, id) in Helper::ALL.iter().zip(&helpers) {
            clif.push_str(&format!("; u0:{} = {}\n", id.as_u32(), helper.name()));
        }
        clif.push('\n');
    }
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut defined = Vec::new();
    let mut entries = entries.to_vec();
    entries.sort_unstable();
    entries.dedup();
    for expr in entries {
        let name = format!("e{}", expr.index());
        let id = module
            .declare_function(&name, Linkage::Local, &entry_sig)
            .map_err(|e| fail(format!("declaring {name}: {e}")))?;
        ctx.func.signature = entry_sig.clone();
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        let kind = program
            .expr_types
            .get(expr.index())
            .and_then(ScalarKind::of);
        let mut linker = ModuleLinker {
            module: &mut module,
            helpers: helpers.clone(),
            refs: vec![None; Helper::ALL.len()],
            texts: &mut texts,
            text_numbers: &mut text_numbers,
        };
        let (temps, reads_strings, reads_events) = lower_entry(
            program,
            expr,
            kind,
            &mut ctx.func,
            &mut fctx,
            &mut linker,
            frontend,
        )
        .map_err(|e| {
            fail(format!(
                "cannot compile expression {} ({}): {}",
                e.expr.index(),
                crate::ir::print::expr(program, e.expr),
                e.what
            ))
        })?;
        if options.keep_clif {
            clif.push_str(&format!(
                "; {name}: {}\n",
                crate::ir::print::expr(program, expr)
            ));
            clif.push_str(&ctx.func.display().to_string());
            clif.push('\n');
        }
        module
            .define_function(id, &mut ctx)
            .map_err(|e| fail(format!("compiling {name}: {e:?}")))?;
        module.clear_context(&mut ctx);
        defined.push((
            expr,
            id,
            Entry {
                code: unlinked,
                temps,
                kind,
                reads_strings,
                reads_events,
            },
        ));
    }
    module
        .finalize_definitions()
        .map_err(|e| fail(format!("finalizing: {e}")))?;
    let mut entries = vec![None; program.exprs.len()];
    for &(expr, id, unfinished) in &defined {
        let address = module.get_finalized_function(id);
        // `address` is the finalized code of a function defined above with the
        // signature `fn(pointer) -> i64` in the host's C calling convention, which
        // is `EntryFn`; the module owning the code lives in the returned `Compiled`,
        // beside the pointer, and frees it only when dropped.
        // SAFETY: so the pointer is a valid `EntryFn` for as long as it is used.
        let code = unsafe { std::mem::transmute::<*const u8, EntryFn>(address) };
        if let Some(slot) = entries.get_mut(expr.index()) {
            *slot = Some(Entry { code, ..unfinished });
        }
    }
    Ok(Compiled {
        module: Some(module),
        entries,
        texts,
        clif,
        functions: defined.len(),
    })
}

/// Build the body of entry `expr`; the temporaries it needs, whether it reads
/// string constants and which bound events it reads inline.
fn lower_entry(
    program: &Program,
    expr: ExprId,
    kind: Option<ScalarKind>,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    linker: &mut dyn Linker,
    frontend: TargetFrontendConfig,
) -> Result<(u32, bool, [bool; 2]), LowerError> {
    let builder = FunctionBuilder::new(func, fctx);
    let mut lower = Lower::new(program, builder, linker);
    let root = match kind {
        Some(_) => Some(lower.scalar(expr)?),
        None => {
            lower.boxed(expr, 0)?;
            None
        }
    };
    let (temps, reads_strings, reads_events) =
        (lower.temps, lower.reads_strings, lower.reads_events);
    lower.finish(root, frontend)?;
    Ok((temps, reads_strings, reads_events))
}
