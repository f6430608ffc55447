//! The only place that knows miette: renders [`Diagnostic`]s as graphical text (with
//! or without colour, at a given width) or as JSON for CI and editors.
//!
//! A snippet of source is drawn only when it is small and printable: when the lines
//! a report would draw (the labelled spans and a line either side) exceed
//! [`MAX_SNIPPET_BYTES`] or hold a control character, the report names each place
//! instead, with its text through [`super::quote`] (escaped, cut). A 10 MB string
//! literal is then a line of a diagnostic, not 10 MB of terminal output.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use super::quote::{is_unsafe, quote};
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

/// The most bytes of source one report draws.
pub const MAX_SNIPPET_BYTES: usize = 4096;

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
        // miette finds the span's lines by walking the text from its start, which
        // made rendering every warning of a large generated file quadratic (10,000
        // triggers: half a minute). It reads only a window here: from `before`
        // lines above the span to `after` lines below, with the window's first line
        // number from a table of newlines built once per file.
        let (start, end) = (
            span.offset().min(self.text.len()),
            (span.offset() + span.len()).min(self.text.len()),
        );
        let bytes = self.text.as_bytes();
        let line_start = |at: usize| {
            bytes
                .get(..at)
                .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
                .map_or(0, |nl| nl + 1)
        };
        let mut from = line_start(start);
        for _ in 0..before {
            if from == 0 {
                break;
            }
            from = line_start(from - 1);
        }
        let mut to = end;
        for _ in 0..=after {
            match bytes
                .get(to..)
                .and_then(|b| b.iter().position(|&c| c == b'\n'))
            {
                Some(nl) => to += nl + 1,
                None => {
                    to = bytes.len();
                    break;
                }
            }
        }
        let (window, shift, base_line) = match self.text.get(from..to) {
            Some(w) => (w, from, lines_before(self.text, from)),
            None => (self.text, 0, 0),
        };
        let local = SourceSpan::new((span.offset().saturating_sub(shift)).into(), span.len());
        let inner = window.read_span(&local, before, after)?;
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
            SourceSpan::new((inner.span().offset() + shift).into(), inner.span().len()),
            inner.line() + base_line,
            column,
            inner.line_count(),
        )))
    }
}

/// How many lines of `text` end before byte `at` (a line start), from a table of
/// newline offsets kept for the last file asked about.
fn lines_before(text: &str, at: usize) -> usize {
    thread_local! {
        static NEWLINES: std::cell::RefCell<(usize, usize, Vec<usize>)> =
            const { std::cell::RefCell::new((0, 0, Vec::new())) };
    }
    NEWLINES.with(|cell| {
        let mut cache = cell.borrow_mut();
        let id = (text.as_ptr() as usize, text.len());
        if (cache.0, cache.1) != id {
            let newlines = text
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect();
            *cache = (id.0, id.1, newlines);
        }
        cache.2.partition_point(|&nl| nl < at)
    })
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
        let spans = std::iter::once(d.span).chain(
            d.related
                .iter()
                .map(|(span, _)| *span)
                .filter(|s| s.file == d.span.file),
        );
        let drawable = spans
            .clone()
            .all(|s| snippet_fits(&file.text, s.start as usize, s.end as usize));
        if !drawable {
            return Report::without_snippet(sources, d, source);
        }
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

impl<'a> Report<'a> {
    /// The report with no source drawn: each place named, its text quoted.
    fn without_snippet(sources: &'a SourceMap, d: &'a Diagnostic, source: NamedText<'a>) -> Self {
        let place = |span: Span, text: &str| {
            let file = sources.file(span.file);
            let code = file
                .text
                .get(span.start as usize..span.end as usize)
                .unwrap_or("");
            let what = if text.is_empty() {
                String::new()
            } else {
                format!(" ({text})")
            };
            format!("at {}{what}: `{}`", sources.location(span), quote(code))
        };
        let mut lines = vec![place(d.span, &d.label)];
        lines.extend(d.related.iter().map(|(span, text)| place(*span, text)));
        lines.extend(d.help.iter().cloned());
        Report {
            d,
            source,
            labels: Vec::new(),
            help: Some(lines.join("\n")),
        }
    }

    fn has_snippet(&self) -> bool {
        !self.labels.is_empty()
    }
}

/// Whether the lines miette would draw for `start..end` (those lines and one either
/// side) are at most [`MAX_SNIPPET_BYTES`] and printable. Looks at no more than that
/// many bytes either side, so a huge line costs nothing per report.
fn snippet_fits(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    if end < start || end.saturating_sub(start) > MAX_SNIPPET_BYTES || end > b.len() {
        return false;
    }
    // Back over two newlines (the one ending the line before, and the one before
    // that line), forward over two, each within the budget.
    let lo = start.saturating_sub(MAX_SNIPPET_BYTES);
    let from = match b
        .get(lo..start)
        .unwrap_or_default()
        .iter()
        .rev()
        .enumerate()
        .filter(|&(_, &c)| c == b'\n')
        .nth(1)
    {
        Some((back, _)) => start - back,
        None if lo == 0 => 0,
        None => return false,
    };
    let hi = (end + MAX_SNIPPET_BYTES).min(b.len());
    let to = match b
        .get(end..hi)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c == b'\n')
        .nth(1)
    {
        Some((ahead, _)) => end + ahead,
        None if hi == b.len() => b.len(),
        None => return false,
    };
    to - from <= MAX_SNIPPET_BYTES
        && text.get(from..to).is_some_and(|s| {
            !s.chars()
                .any(|c| is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r'))
        })
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
        self.has_snippet()
            .then_some(&self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}
