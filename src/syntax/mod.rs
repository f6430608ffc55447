//! Source text to untyped AST. Owns the pest grammar (`grammar/trig.pest`), the logos
//! token stream used to split a file into top-level declarations (so one syntax
//! error does not hide the next) and to bound nesting before pest recurses, and the
//! AST printer. Parsing never fails as a whole: it returns a tree plus diagnostics.
//!
//! **Invariants.** No input makes [`parse`] panic, hang or overflow the stack: nesting
//! is measured on tokens before pest recurses ([`error::MAX_NESTING`]), every built
//! expression tree is at most [`error::MAX_EXPR_DEPTH`] deep (deeper ones become
//! `ExprKind::Error` with a `too-deep` diagnostic), and a file yields at most
//! [`error::MAX_DIAGNOSTICS_PER_FILE`] diagnostics.

pub mod ast;
mod chunk;
pub mod error;
pub mod lexer;
pub mod literal;
pub mod name;
pub mod parser;
pub mod print;

pub use crate::source::{FileId, SourceFile, SourceMap, Span};
pub use ast::*;
pub use name::Name;
pub use print::print_ast;

use crate::diag::Diagnostic;

/// Add a rule file read as bytes to `sources` ([`SourceMap::add_bytes`]), with the
/// `invalid-utf8` diagnostic when it was not UTF-8.
pub fn add_file(sources: &mut SourceMap, name: &str, bytes: &[u8]) -> (FileId, Option<Diagnostic>) {
    let (id, invalid) = sources.add_bytes(name, bytes);
    (
        id,
        invalid.map(|(span, byte)| error::invalid_utf8(span, byte)),
    )
}

/// Parse every file of `sources` into one [`Ast`], with every syntax problem found.
pub fn parse(sources: &SourceMap) -> (Ast, Vec<Diagnostic>) {
    let mut ast = Ast::default();
    let mut diagnostics = Vec::new();
    // Depth of every expression in `ast.exprs`, kept beside the arena while building.
    let mut depths = Vec::new();
    for (i, file) in sources.files.iter().enumerate() {
        let id = FileId(u32::try_from(i).unwrap_or(u32::MAX));
        let mut sink = parser::Sink {
            diags: &mut diagnostics,
            count: 0,
        };
        parser::parse_file(id, &file.text, &mut ast, &mut depths, &mut sink);
    }
    (ast, diagnostics)
}
