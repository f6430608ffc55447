//! Every form shown in the language reference (docs/LANGUAGE.md) parses and checks
//! without errors: the snippets of §3-§6 verbatim, the minimal form of each trigger
//! family of §1 (with the declarations they need), the schedules of §7, and the
//! operators, built-ins and literals of §2 and §6. The program lives in
//! `tests/cases/check/ok/spec_every_form/input.trig`, so its IR is also snapshotted.

use trigc::syntax::SourceMap;

const PROGRAM: &str = include_str!("cases/check/ok/spec_every_form/input.trig");

#[test]
fn every_spec_form_checks_clean() {
    let mut sources = SourceMap::default();
    sources.add("spec_every_form.trig", PROGRAM);
    let compiled = trigc::compile(&sources);
    let errors = compiled.errors_text(&sources);
    assert!(errors.is_empty(), "{errors}");
    let program = compiled
        .program
        .expect("a program when there are no errors");
    let problems = trigc::ir::verify::verify(&program);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The forms really are all there.
    assert_eq!(program.triggers.len(), 16);
    for name in [
        "cart_abandoned",
        "price_drop",
        "cart_recovery",
        "every_night",
        "expressions",
    ] {
        assert!(program.trigger_by_name(name).is_some(), "{name}");
    }
    let warnings: Vec<&str> = compiled.diagnostics.iter().map(|d| d.code.name()).collect();
    // The reactivation family form is the documented case of a redundant `unless`.
    assert_eq!(warnings, ["redundant-unless"], "unexpected warnings");
}

/// The crate-level example in lib.rs.
#[test]
fn lib_doc_example_compiles() {
    let mut sources = SourceMap::default();
    sources.add(
        "demo.trig",
        "event VISIT { page: string? }\ntrigger hello cooldown 1d on VISIT then emit \"hi\"\n",
    );
    let compiled = trigc::compile(&sources);
    assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
    assert!(
        compiled.diagnostics.is_empty(),
        "{:?}",
        compiled.diagnostics
    );
}
