//! Syntax cases as data: every `tests/cases/syntax/ok/<name>/input.trig` must parse
//! without diagnostics and is snapshotted as its printed AST (`ast.snap` beside it);
//! every `tests/cases/syntax/err/<name>/input.trig` must give at least one error and
//! is snapshotted as its rendered diagnostics (`diagnostics.snap`). Inputs are read as
//! bytes through `syntax::add_file`, so a case can hold invalid UTF-8.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{SYNTAX_CODES, err_case_inputs};
use trigc::diag::{Diagnostic, render};
use trigc::syntax::{self, Ast, SourceMap};

/// Load one case file and parse it; the loader's diagnostic comes first.
fn parse_case(path: &Path) -> (SourceMap, Ast, Vec<Diagnostic>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut sources = SourceMap::default();
    let (_, loader) = syntax::add_file(&mut sources, "input.trig", &bytes);
    let (ast, diags) = syntax::parse(&sources);
    let all: Vec<Diagnostic> = loader.into_iter().chain(diags).collect();
    check_invariants(&sources, &ast, &all);
    (sources, ast, all)
}

/// What must hold for any input, checked before anything is snapshotted.
fn check_invariants(sources: &SourceMap, ast: &Ast, diags: &[Diagnostic]) {
    let len = sources.files[0].text.len() as u32;
    for e in &ast.exprs {
        assert!(
            e.span.start <= e.span.end && e.span.end <= len,
            "expression span {:?} out of the file",
            e.span
        );
    }
    for d in diags {
        assert!(
            d.span.start <= d.span.end && d.span.end <= len,
            "diagnostic span {:?} out of the file",
            d.span
        );
        assert!(
            !d.message.is_empty() && !d.label.is_empty(),
            "diagnostic without wording: {d:?}"
        );
    }
    assert!(
        diags.len() <= 100,
        "{} diagnostics: the per-file cap is 100",
        diags.len()
    );
}

fn case_settings(path: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(path.parent().unwrap_or(Path::new(".")));
    settings.set_prepend_module_to_snapshot(false);
    settings.remove_snapshot_suffix();
    settings.set_input_file(path);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn ok_cases() {
    insta::glob!("cases/syntax/ok/*/input.trig", |path| {
        let (sources, ast, diags) = parse_case(path);
        let rendered: Vec<String> = diags
            .iter()
            .map(|d| render::render_text(&sources, d))
            .collect();
        assert!(
            diags.is_empty(),
            "{}: expected no diagnostics, got:\n{}",
            path.display(),
            rendered.join("")
        );
        let only_trivia = syntax::lexer::tokenize(&sources.files[0].text)
            .iter()
            .all(|t| t.is_trivia());
        assert!(
            !ast.decls.is_empty() || only_trivia,
            "{}: no declarations",
            path.display()
        );
        case_settings(path).bind(|| insta::assert_snapshot!("ast", syntax::print_ast(&ast)));
    });
}

#[test]
fn err_cases() {
    insta::glob!("cases/syntax/err/*/input.trig", |path| {
        let (sources, _, diags) = parse_case(path);
        assert!(
            diags.iter().any(Diagnostic::is_error),
            "{}: expected an error",
            path.display()
        );
        let rendered: String = diags
            .iter()
            .map(|d| render::render_text(&sources, d))
            .collect();
        case_settings(path).bind(|| insta::assert_snapshot!("diagnostics", rendered));
    });
}

/// Every code the parser can report has at least one `err/` case.
#[test]
fn every_syntax_code_has_an_err_case() {
    let mut seen = BTreeSet::new();
    for input in err_case_inputs("syntax") {
        let (_, _, diags) = parse_case(&input);
        seen.extend(diags.iter().map(|d| d.code));
    }
    for code in SYNTAX_CODES {
        assert!(
            seen.contains(code),
            "no tests/cases/syntax/err case reports {code}"
        );
    }
}

/// A file with a mistake in several declarations reports each one.
#[test]
fn recovery_reports_every_broken_declaration() {
    let src = "event A { x: int \n\
               trigger t on A wait 30 then emit \"x\"\n\
               trigger u on A if then emit \"y\"\n\
               event B { y: string }\n\
               trigger v on B then webhook \"z\"\n";
    let mut sources = SourceMap::default();
    sources.add("multi.trig", src);
    let (ast, diags) = syntax::parse(&sources);
    let lines: Vec<usize> = diags
        .iter()
        .map(|d| sources.line_col(d.span.file, d.span.start).0)
        .collect();
    assert_eq!(lines, vec![2, 2, 3], "{diags:#?}");
    // The two good declarations still made it into the tree.
    assert_eq!(ast.decls.len(), 2);
}
