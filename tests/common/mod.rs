//! What the case-driven test binaries (`tests/check.rs`, `tests/syntax.rs`) share:
//! which diagnostic codes belong to the parser, and where a phase's `err` cases are.
//! Each includes it as `mod common`.

use std::path::{Path, PathBuf};

use trigc::diag::Code;

/// The codes the parser reports: each has a `tests/cases/syntax/err` case, and the
/// checker's own codes are all the others.
pub const SYNTAX_CODES: &[Code] = &[
    Code::InvalidUtf8,
    Code::SyntaxError,
    Code::UnterminatedString,
    Code::BadEscape,
    Code::BadDuration,
    Code::BadNumber,
    Code::BadTimeOfDay,
    Code::TooDeep,
];

/// The input of every `tests/cases/<phase>/err/<name>/` case (`input.trig`), in no
/// particular order.
pub fn err_case_inputs(phase: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(phase)
        .join("err");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
                .join("input.trig")
        })
        .filter(|input| input.exists())
        .collect()
}
