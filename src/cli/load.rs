//! Loading rule files: paths given on the command line (files, or directories whose
//! `*.trig` files are taken recursively in sorted order) into one [`SourceMap`].

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic};
use crate::syntax::{SourceMap, Span};

/// A rule path that could not be read (an IO error: exit code 2).
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read `{}`: {}", self.path.display(), self.reason)
    }
}

/// Read every rule file under `paths`. Files that are not UTF-8 are decoded lossily
/// and reported as diagnostics, so they still parse and show every other problem.
pub fn load_rules(paths: &[PathBuf]) -> Result<(SourceMap, Vec<Diagnostic>), LoadError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    if files.is_empty() {
        let path = paths.first().cloned().unwrap_or_default();
        return Err(LoadError {
            path,
            reason: "no `.trig` files found".into(),
        });
    }
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| LoadError {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        let name = file.display().to_string();
        match String::from_utf8(bytes) {
            Ok(text) => {
                sources.add(name, text);
            }
            Err(e) => {
                let valid_up_to = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = sources.add(name, text);
                let span = Span::new(id, valid_up_to, valid_up_to + 1);
                diags.push(
                    Diagnostic::new(Code::InvalidUtf8, span, "file is not valid UTF-8")
                        .label("invalid byte here")
                        .help("save the file as UTF-8"),
                );
            }
        }
    }
    Ok((sources, diags))
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        if child.is_dir() {
            collect(&child, out)?;
        } else if child.extension().is_some_and(|e| e == "trig") {
            out.push(child);
        }
    }
    Ok(())
}
