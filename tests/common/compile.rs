//! Compiling a test's Trig source into a program, for the property-test binaries that
//! decode lines under it (`tests/csv_routes.rs`, `tests/wire_walk.rs`). Each includes
//! it as `#[path = "common/compile.rs"] mod compile`.

use trigc::ir::Program;
use trigc::syntax::{SourceMap, add_file};

/// `src` compiled; it must compile without a diagnostic.
pub fn program(src: &str) -> Program {
    let mut sources = SourceMap::default();
    let _ = add_file(&mut sources, "t.trig", src.as_bytes());
    let compiled = trigc::compile(&sources);
    assert!(
        compiled.diagnostics.is_empty(),
        "{:?}",
        compiled.diagnostics
    );
    compiled.program.unwrap_or_default()
}
