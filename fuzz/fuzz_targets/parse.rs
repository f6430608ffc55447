//! Fuzz the front end: any bytes go through `syntax::add_file`, `syntax::parse`
//! and the whole `trigc::compile`. The parser must never panic, hang or overflow the
//! stack; `cargo fuzz run parse` (nightly) checks that.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sources = trigc::syntax::SourceMap::default();
    let (_, _loader) = trigc::syntax::add_file(&mut sources, "fuzz.trig", data);
    let (ast, diags) = trigc::syntax::parse(&sources);
    assert!(diags.len() <= 100, "the per-file diagnostic cap is 100");
    let _ = trigc::syntax::print_ast(&ast);
    let _ = trigc::compile(&sources);
});
