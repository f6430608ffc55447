//! The rule files of a program and positions in them: byte [`Span`]s and the
//! [`SourceMap`] that turns them back into `file:line:col`.
//!
//! A base module: it imports nothing of the crate. `syntax` makes spans, every phase
//! keeps them, and `diag` points at them.

use serde::{Deserialize, Serialize};

/// Index of a source file in a [`SourceMap`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct FileId(pub u32);

/// A half-open byte range `start..end` inside one source file.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: clamp(start),
            end: clamp(end.max(start)),
        }
    }

    /// The smallest span covering both (same file assumed; `self`'s file wins).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.end == self.start
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One loaded rule file. `text` is the file decoded lossily when it was not UTF-8
/// (the loader reports that as a diagnostic), so spans always index valid UTF-8.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// All files of one program; a [`Span`]'s `file` indexes `files`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        FileId(clamp(self.files.len() - 1))
    }

    /// Add a file read as bytes. Invalid UTF-8 is decoded lossily (U+FFFD), so later
    /// phases still run, and its first bad byte is returned with the span of its
    /// U+FFFD (for the loader to report as `invalid-utf8`).
    /// A leading UTF-8 byte-order mark is dropped: it is not text, and editors do
    /// not count it in columns.
    pub fn add_bytes(
        &mut self,
        name: impl Into<String>,
        bytes: &[u8],
    ) -> (FileId, Option<(Span, u8)>) {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => (self.add(name, text), None),
            Err(e) => {
                let at = e.valid_up_to();
                let byte = bytes.get(at).copied().unwrap_or(0);
                let id = self.add(name, String::from_utf8_lossy(bytes).into_owned());
                // The valid prefix decodes unchanged, so `at` is also the offset of the
                // first U+FFFD (3 bytes) in the decoded text.
                let span = Span::new(id, at, at + '\u{FFFD}'.len_utf8());
                (id, Some((span, byte)))
            }
        }
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        let text = &self.file(file).text;
        let offset = (offset as usize).min(text.len());
        let offset = (0..=offset)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// `file:line:col` of a span's start.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.file, span.start);
        format!("{}:{}:{}", self.file(span.file).name, line, col)
    }

    pub fn snippet(&self, span: Span) -> &str {
        let text = &self.file(span.file).text;
        text.get(span.range()).unwrap_or("")
    }
}
