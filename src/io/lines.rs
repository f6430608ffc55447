//! Splitting an input stream (a file, stdin, a socket) into numbered NDJSON lines.
//!
//! Lines end at `\n`; a `\r` just before it is dropped (CRLF files), and a last line
//! without a terminator is still a line. Line numbers are 1-based and count every
//! line, so a reject message points at the line an editor shows.
//!
//! Blank lines (empty, or only spaces, tabs and `\r`) carry no event: they are
//! skipped, but counted ([`Lines::blank`]) so nothing disappears without a trace.
//! Bytes are passed through as they are: a line that is not UTF-8 reaches the
//! decoder, which rejects it with its line number.

use std::io::{self, BufRead};

/// A reader of numbered, non-blank lines. Not an `Iterator`: each line borrows the
/// reader, so reading allocates nothing per line.
///
/// Input is read in blocks into `buf`, and each line is handed out straight from it:
/// no copy, and no call into the reader per line. Handing out lines from the
/// reader's own buffer took two `fill_buf` calls and a `consume` per line, and the
/// reader is a `Box<dyn BufRead>`, so none of them inline: a cost profiling `trigc
/// run` made visible (figures in BENCHMARKS.md). A line that straddles a block is
/// moved to the front of `buf` once (`buf` grows for a line longer than a block).
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    /// `buf[start..end]` is input read but not yet handed out.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The reader has reported the end of its input.
    eof: bool,
    line_no: u64,
    blank: u64,
    /// Whether a leading byte-order mark has been looked for.
    started: bool,
}

/// How much `buf` asks the reader for at a time: no less than the capacity of the
/// `BufReader`s `trigc run` reads through.
const BLOCK: usize = 1 << 16;

/// The UTF-8 byte-order mark some Windows tools put before the first line: not part
/// of it (the line would otherwise be rejected as not starting with `{`).
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One line, without its terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number in the input.
    pub number: u64,
    pub bytes: &'a [u8],
}

/// `line` without one trailing `\r` (CRLF input).
#[inline]
fn without_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[inline]
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            line_no: 0,
            blank: 0,
            started: false,
        }
    }

    /// The next non-blank line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            let pending = self.buf.get(self.start..self.end).unwrap_or_default();
            let (from, to) = match memchr::memchr(b'\n', pending) {
                Some(at) => {
                    let from = self.start;
                    self.start += at + 1;
                    (
                        from,
                        from + without_cr(pending.get(..at).unwrap_or_default()).len(),
                    )
                }
                None if self.eof => {
                    if pending.is_empty() {
                        return Ok(None);
                    }
                    // A last line without a terminator keeps a trailing `\r`.
                    let from = self.start;
                    self.start = self.end;
                    (from, self.end)
                }
                None => {
                    self.refill()?;
                    continue;
                }
            };
            self.line_no += 1;
            if is_blank(self.buf.get(from..to).unwrap_or_default()) {
                self.blank += 1;
                continue;
            }
            return Ok(Some(Line {
                number: self.line_no,
                bytes: self.buf.get(from..to).unwrap_or_default(),
            }));
        }
    }

    /// Read more input after `buf[start..end]` (moved to the front of `buf` first,
    /// which grows when it is full), or note the end of the input.
    fn refill(&mut self) -> io::Result<()> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        // Room for a whole block: a `BufReader` of up to that capacity then reads
        // straight into `buf` instead of copying through its own buffer.
        if self.buf.len() - self.end < BLOCK {
            self.buf.resize(self.end + BLOCK, 0);
        }
        let n = loop {
            match self
                .reader
                .read(self.buf.get_mut(self.end..).unwrap_or_default())
            {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if !self.started {
            self.started = true;
            if self.buf.get(..n).is_some_and(|read| read.starts_with(BOM)) {
                self.start = BOM.len();
            }
        }
        self.end += n;
        self.eof = n == 0;
        Ok(())
    }

    /// Lines read so far, blank ones included.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// Blank lines skipped so far.
    pub fn blank(&self) -> u64 {
        self.blank
    }
}
