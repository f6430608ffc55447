//! Diagnostics as data. Every phase reports problems as [`Diagnostic`] values (code,
//! span, message, one primary label, help); only [`render`] knows miette. A phase
//! never stops at its first problem: it collects them all.

pub mod codes;
pub mod quote;
pub mod render;

pub use codes::Code;
pub use quote::quote;

use serde::Serialize;

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in the rules.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Short title: "unknown event `ADD_TO_CRT`".
    pub message: String,
    pub span: Span,
    /// Text under the primary underline: "not declared".
    pub label: String,
    /// How to fix it: "did you mean `ADD_TO_CART`?".
    pub help: Option<String>,
    /// Further places that explain the problem ("first declared here").
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, text: impl Into<String>) -> Self {
        self.related.push((span, text.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest of `candidates` to `name`, if close enough to suggest.
/// Put diagnostics in reading order: by file, then position (stable, so at one
/// position the order they were found in stays). Every list shown to a user is in
/// this order, whichever phase found each diagnostic.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.span.file, d.span.start, d.span.end));
}

pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= (c.len().max(name.len()) / 3).max(1) && d < c.len().max(1))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}
