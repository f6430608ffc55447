//! The example rules in `rules/`: they check with no diagnostics at all, and their
//! syntax trees and IR are pinned by snapshots (read every change before accepting).

use std::path::Path;

use trigc::syntax::SourceMap;

fn rules_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn load_all() -> SourceMap {
    let (sources, diags) = trigc::cli::load::load_rules(&[rules_dir()]).expect("rules/ loads");
    assert!(diags.is_empty(), "{diags:?}");
    sources
}

#[test]
fn rules_check_without_errors_or_warnings() {
    let sources = load_all();
    let compiled = trigc::compile(&sources);
    let rendered: Vec<String> = compiled
        .diagnostics
        .iter()
        .map(|d| trigc::diag::render::render_text(&sources, d))
        .collect();
    assert!(rendered.is_empty(), "{}", rendered.join("\n"));
    assert!(compiled.program.is_some());
}

#[test]
fn rules_ir() {
    let sources = load_all();
    let compiled = trigc::compile(&sources);
    let program = compiled.program.expect("rules/ compiles");
    assert_eq!(trigc::ir::verify::verify(&program), Vec::<String>::new());
    insta::assert_snapshot!("rules_ir", trigc::ir::print::print(&program));
}

#[test]
fn rules_ast() {
    insta::glob!("../rules", "*.trig", |path| {
        let text = std::fs::read_to_string(path).expect("read rule file");
        let mut sources = SourceMap::default();
        sources.add(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            text,
        );
        let (ast, diags) = trigc::syntax::parse(&sources);
        assert!(diags.is_empty(), "{diags:?}");
        insta::assert_snapshot!(trigc::syntax::print::print_ast(&ast));
    });
}
