//! Loading rule files: paths given on the command line (files, or directories whose
//! `*.trig` files are taken recursively in sorted order) into one [`SourceMap`].

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::syntax::SourceMap;

/// Why the rule paths gave no program to check (exit code 2).
#[derive(Debug)]
pub enum LoadError {
    /// A path that could not be read.
    Read { path: PathBuf, reason: String },
    /// The paths hold no `.trig` file.
    NoRuleFiles { path: PathBuf },
    /// An events file given where rule files go.
    EventsFile { path: PathBuf },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Read { path, reason } => {
                write!(f, "cannot read `{}`: {reason}", path.display())
            }
            LoadError::NoRuleFiles { path } => {
                write!(f, "no `.trig` files in `{}`", path.display())
            }
            LoadError::EventsFile { path } => write!(
                f,
                "`{}` looks like events, not rules: give it with `--input`",
                path.display()
            ),
        }
    }
}

/// Read every rule file under `paths`. Files that are not UTF-8 are decoded lossily
/// and reported as diagnostics ([`crate::syntax::add_file`]), so they still parse and
/// show every other problem.
///
/// Each file is loaded once, however many times it is named or reached (a file
/// given next to its directory, a symlink to a directory above): files and visited
/// directories are told apart by their canonical paths, so a symlink cycle ends.
pub fn load_rules(paths: &[PathBuf]) -> Result<(SourceMap, Vec<Diagnostic>), LoadError> {
    let mut walk = Walk::default();
    for path in paths {
        walk.collect(path, true)?;
    }
    let files = walk.files;
    if files.is_empty() {
        let path = paths.first().cloned().unwrap_or_default();
        return Err(LoadError::NoRuleFiles { path });
    }
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| LoadError::Read {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        let (_, invalid_utf8) =
            crate::syntax::add_file(&mut sources, &file.display().to_string(), &bytes);
        diags.extend(invalid_utf8);
    }
    Ok((sources, diags))
}

/// The rule files found so far, and the canonical paths already taken.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    seen: std::collections::HashSet<PathBuf>,
}

impl Walk {
    /// Take `path`: a file (named on the command line: whatever its extension), or a
    /// directory whose `*.trig` files are taken recursively in sorted order.
    fn collect(&mut self, path: &Path, named: bool) -> Result<(), LoadError> {
        let error = |e: std::io::Error| LoadError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(error)?;
        let canonical = std::fs::canonicalize(path).map_err(error)?;
        if !self.seen.insert(canonical) {
            return Ok(());
        }
        if !meta.is_dir() {
            let events = ["ndjson", "jsonl", "json"];
            if path
                .extension()
                .is_some_and(|e| events.iter().any(|x| e == *x))
            {
                return Err(LoadError::EventsFile {
                    path: path.to_path_buf(),
                });
            }
            // Inside a directory only regular files are rules: a FIFO or a device
            // named `*.trig` would block the read (or never end). A path named on the
            // command line is read whatever it is (`<(cat x.trig)` is a pipe).
            if named || (meta.is_file() && path.extension().is_some_and(|e| e == "trig")) {
                self.files.push(path.to_path_buf());
            }
            return Ok(());
        }
        let entries = std::fs::read_dir(path).map_err(error)?;
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            if child.is_dir() || child.extension().is_some_and(|e| e == "trig") {
                self.collect(&child, false)?;
            }
        }
        Ok(())
    }
}
