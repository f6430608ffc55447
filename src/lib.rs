//! trigc: the compiler and runtime of Trig, a small language for behavioral triggers.
//!
//! Modules in reading order, each one phase; data flows one way:
//! `syntax` → `check` → `ir` → `interp` (and later `jit`) → `runtime`, with `io` at the
//! edges, `diag` reading every phase's problems and `cli` on top.
//!
//! ```
//! let mut sources = trigc::syntax::SourceMap::default();
//! sources.add("demo.trig", "event VISIT { page: string? }\n\
//!     trigger hello cooldown 1d on VISIT then emit \"hi\"\n");
//! let compiled = trigc::compile(&sources);
//! assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
//! ```

pub mod check;
pub mod cli;
pub mod deliver;
pub mod diag;
pub mod driver;
pub mod durable;
#[cfg(feature = "exprgen")]
pub mod exprgen;
pub mod interp;
pub mod io;
pub mod ir;
pub mod jit;
pub mod runtime;
pub mod service;
pub mod source;
pub mod syntax;
pub mod time;

use diag::Diagnostic;

/// The result of compiling a program: the IR when there were no errors, and every
/// diagnostic (errors and warnings) in source order.
pub struct Compiled {
    pub ast: syntax::Ast,
    pub program: Option<ir::Program>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// Every error, rendered without colour, one after another (empty when there are
    /// none): for tests and tools that want one message to show.
    pub fn errors_text(&self, sources: &syntax::SourceMap) -> String {
        self.diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| diag::render::render_text(sources, d))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Parse and check all files of `sources` as one program.
pub fn compile(sources: &syntax::SourceMap) -> Compiled {
    let (ast, mut diagnostics) = syntax::parse(sources);
    let (program, check_diags) = check::check(&ast, sources);
    diagnostics.extend(check_diags);
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    diag::sort(&mut diagnostics);
    Compiled {
        ast,
        program: if has_errors { None } else { program },
        diagnostics,
    }
}
