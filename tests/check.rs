//! Checker cases as data. `tests/cases/check/ok/<name>/input.trig` must compile with no
//! errors, and its IR must verify clean; the snapshot is the printed IR (after any
//! warnings). `tests/cases/check/err/<name>/input.trig` must produce diagnostics; the
//! snapshot is every one of them, rendered as users see them. Every check code has at
//! least one `err` case.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{SYNTAX_CODES, err_case_inputs};
use trigc::diag::render::render_text;
use trigc::diag::{Code, Diagnostic};
use trigc::syntax::SourceMap;

fn load(path: &Path) -> SourceMap {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sources = SourceMap::default();
    sources.add("input.trig", text);
    sources
}

fn render_all(sources: &SourceMap, diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| render_text(sources, d))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn ok_cases() {
    insta::glob!("cases/check/ok/*/input.trig", |path| {
        let sources = load(path);
        let compiled = trigc::compile(&sources);
        let errors: Vec<Diagnostic> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            render_all(&sources, &errors)
        );
        let Some(program) = compiled.program else {
            panic!("{}: no program", path.display())
        };
        let problems = trigc::ir::verify::verify(&program);
        assert!(
            problems.is_empty(),
            "{}: IR invariants broken:\n{}",
            path.display(),
            problems.join("\n")
        );
        let mut snapshot = render_all(&sources, &compiled.diagnostics);
        if !snapshot.is_empty() {
            snapshot.push_str("\n----\n");
        }
        snapshot.push_str(&trigc::ir::print::print(&program));
        insta::assert_snapshot!(snapshot);
    });
}

#[test]
fn err_cases() {
    insta::glob!("cases/check/err/*/input.trig", |path| {
        let sources = load(path);
        let compiled = trigc::compile(&sources);
        assert!(
            !compiled.diagnostics.is_empty(),
            "{}: no diagnostics",
            path.display()
        );
        if compiled.diagnostics.iter().any(Diagnostic::is_error) {
            assert!(
                compiled.program.is_none(),
                "{}: a program despite errors",
                path.display()
            );
        }
        insta::assert_snapshot!(render_all(&sources, &compiled.diagnostics));
    });
}

/// Every code the checker can report is shown by some `err` case.
#[test]
fn every_check_code_has_an_err_case() {
    let mut seen = BTreeSet::new();
    for path in err_case_inputs("check") {
        let compiled = trigc::compile(&load(&path));
        seen.extend(compiled.diagnostics.iter().map(|d| d.code));
    }
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| !SYNTAX_CODES.contains(c) && !seen.contains(c))
        .map(|c| c.name())
        .collect();
    assert!(missing.is_empty(), "codes with no err case: {missing:?}");
}

/// One file with many independent mistakes reports every one of them.
#[test]
fn all_errors_are_reported() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases/check/err/many_errors_all_reported/input.trig");
    let compiled = trigc::compile(&load(&path));
    let codes: BTreeSet<&str> = compiled.diagnostics.iter().map(|d| d.code.name()).collect();
    for want in [
        "unknown-event",
        "unknown-field",
        "type-mismatch",
        "unknown-function",
        "priority-out-of-range",
        "unknown-alias",
    ] {
        assert!(codes.contains(want), "missing {want} in {codes:?}");
    }
    assert!(compiled.diagnostics.iter().filter(|d| d.is_error()).count() >= 7);
}

/// Hand-built trees deeper than the parser allows are refused, not overflowed.
#[test]
fn deep_expression_is_bounded() {
    use trigc::syntax::{
        Action, ActionKind, Ast, BinaryOp, Decl, DurationLit, ExprKind, Ident, Name, Span, Start,
        Step, StrLit, Trigger, TriggerOption,
    };
    let sp = Span::default();
    let mut ast = Ast::default();
    let mut e = ast.push_expr(ExprKind::Bool(true), sp);
    for _ in 0..5000 {
        let r = ast.push_expr(ExprKind::Bool(true), sp);
        e = ast.push_expr(
            ExprKind::Binary {
                op: BinaryOp::And,
                lhs: e,
                rhs: r,
            },
            sp,
        );
    }
    let name = Ident {
        name: Name::new("deep"),
        span: sp,
    };
    ast.decls.push(Decl::Trigger(Trigger {
        span: sp,
        name,
        description: None,
        options: vec![TriggerOption::Cooldown {
            span: sp,
            duration: DurationLit {
                millis: 1000,
                span: sp,
            },
        }],
        start: Start::Schedule {
            span: sp,
            schedule: trigc::syntax::Schedule::Every(DurationLit {
                millis: 60_000,
                span: sp,
            }),
        },
        fan_out: None,
        steps: vec![Step {
            span: sp,
            wait: None,
            guard: Some(e),
            actions: vec![Action {
                span: sp,
                kind: ActionKind::Emit {
                    name: StrLit {
                        value: "x".into(),
                        span: sp,
                    },
                    with: None,
                },
            }],
        }],
    }));
    let mut sources = SourceMap::default();
    sources.add("deep.trig", "");
    // Run on a small stack, like test threads elsewhere, to prove the bound.
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || trigc::check::check(&ast, &sources))
        .expect("spawn");
    let (program, diags) = handle.join().expect("no stack overflow");
    assert!(program.is_none());
    assert!(diags.iter().any(|d| d.code == Code::TooDeep));
}
