//! House rules checked as tests: every module opens with a `//!` paragraph, `unsafe`
//! appears only in `jit`, no `todo!`/`unimplemented!`, `#[allow]` is spelled `#[expect]`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    files.into_iter().map(|p| {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        (p, text)
    }).collect()
}

#[test]
fn every_module_starts_with_a_doc_paragraph() {
    let missing: Vec<String> = src_files()
        .into_iter()
        .filter(|(p, _)| !p.ends_with("main.rs"))
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a leading `//!` paragraph: {missing:#?}");
}

#[test]
fn unsafe_only_in_jit() {
    let offenders: Vec<String> = src_files()
        .into_iter()
        .filter(|(p, _)| !p.components().any(|c| c.as_os_str() == "jit"))
        .filter(|(_, text)| text.lines().any(|l| {
            let l = l.trim_start();
            !l.starts_with("//") && (l.contains("unsafe {") || l.contains("unsafe fn") || l.contains("unsafe impl"))
        }))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "`unsafe` outside src/jit: {offenders:#?}");
}

#[test]
fn no_stubs_or_allow() {
    let mut offenders = Vec::new();
    for (p, text) in src_files() {
        for (i, line) in text.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            if l.contains("todo!(") || l.contains("unimplemented!(") || l.contains("#[allow(") {
                offenders.push(format!("{}:{}: {}", p.display(), i + 1, l));
            }
        }
    }
    assert!(offenders.is_empty(), "stubs or #[allow] (use #[expect(..., reason)]): {offenders:#?}");
}
