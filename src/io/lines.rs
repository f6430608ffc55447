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
/// reader's buffer, which is reused, so reading allocates nothing per line.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    line_no: u64,
    blank: u64,
}

/// One line, without its terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number in the input.
    pub number: u64,
    pub bytes: &'a [u8],
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            buf: Vec::with_capacity(256),
            line_no: 0,
            blank: 0,
        }
    }

    /// The next non-blank line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
                if self.buf.last() == Some(&b'\r') {
                    self.buf.pop();
                }
            }
            if self.buf.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                self.blank += 1;
                continue;
            }
            return Ok(Some(Line {
                number: self.line_no,
                bytes: &self.buf,
            }));
        }
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
