//! The only place that knows miette: renders [`Diagnostic`]s as graphical text (with
//! or without colour, at a given width) or as JSON for CI and editors.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use super::{Diagnostic, Severity};
use crate::source::{SourceMap, Span};

/// How text is rendered.
#[derive(Clone, Copy, Debug)]
pub struct RenderConfig {
    pub color: bool,
    pub width: usize,
}

impl Default for RenderConfig {
    /// No colour, 80 columns: what tests and snapshots use.
    fn default() -> Self {
        RenderConfig {
            color: false,
            width: 80,
        }
    }
}

/// Render one diagnostic without colour at width 80 (tests, snapshots).
pub fn render_text(sources: &SourceMap, d: &Diagnostic) -> String {
    render(sources, d, RenderConfig::default())
}

/// Render one diagnostic as miette's graphical report.
pub fn render(sources: &SourceMap, d: &Diagnostic, config: RenderConfig) -> String {
    let theme = if config.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(config.width)
        .with_links(false);
    let report = Report::new(sources, d);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // The graphical handler only fails on a span outside its file; fall back to
        // the plain location so the problem is still reported.
        out = format!("{}: {}: {}\n", sources.location(d.span), d.code, d.message);
    }
    out
}

/// Render a list of diagnostics as one JSON array (`--format json`).
pub fn render_json(sources: &SourceMap, diags: &[Diagnostic]) -> String {
    let items: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| JsonDiagnostic::new(sources, d))
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string())
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    severity: Severity,
    code: String,
    message: &'a str,
    label: &'a str,
    help: Option<&'a str>,
}

impl<'a> JsonDiagnostic<'a> {
    fn new(sources: &'a SourceMap, d: &'a Diagnostic) -> Self {
        let (line, column) = sources.line_col(d.span.file, d.span.start);
        let (end_line, end_column) = sources.line_col(d.span.file, d.span.end);
        JsonDiagnostic {
            file: &sources.file(d.span.file).name,
            line,
            column,
            end_line,
            end_column,
            severity: d.severity,
            code: d.code.to_string(),
            message: &d.message,
            label: &d.label,
            help: d.help.as_deref(),
        }
    }
}

/// A source file borrowed from the [`SourceMap`], with its name, so rendering never
/// copies the file.
struct NamedText<'a> {
    name: &'a str,
    text: &'a str,
}

impl SourceCode for NamedText<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        // miette counts the column in bytes; `file:line:col` headers then disagree
        // with the JSON format (and editors) on any line with non-ASCII text before
        // the span. Counted in characters here, as `SourceMap::line_col` does.
        let line_start = span.offset().saturating_sub(inner.column());
        let column = self
            .text
            .get(line_start..span.offset())
            .map_or(inner.column(), |s| s.chars().count());
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

/// Adapts one [`Diagnostic`] to miette's protocol.
struct Report<'a> {
    d: &'a Diagnostic,
    source: NamedText<'a>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl<'a> Report<'a> {
    fn new(sources: &'a SourceMap, d: &'a Diagnostic) -> Self {
        let file = sources.file(d.span.file);
        let source = NamedText {
            name: &file.name,
            text: &file.text,
        };
        let label = (!d.label.is_empty()).then(|| d.label.clone());
        let mut labels = vec![LabeledSpan::new_primary_with_span(label, to_miette(d.span))];
        let mut notes = Vec::new();
        for (span, text) in &d.related {
            if span.file == d.span.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(text.clone()),
                    to_miette(*span),
                ));
            } else {
                // miette draws one file per report: name the other place instead.
                notes.push(format!("{text}: {}", sources.location(*span)));
            }
        }
        let help = match (&d.help, notes.is_empty()) {
            (Some(h), true) => Some(h.clone()),
            (None, true) => None,
            (h, false) => {
                let mut all: Vec<String> = h.iter().cloned().collect();
                all.extend(notes);
                Some(all.join("\n"))
            }
        };
        Report {
            d,
            source,
            labels,
            help,
        }
    }
}

fn to_miette(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.d, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}
