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
/// A line that lies whole inside the reader's buffer is handed out straight from it
/// (and consumed at the next call, once the borrow has ended): no copy. Only a line
/// that spans a refill of that buffer (or ends the input without a terminator) is
/// assembled in `buf`. Profiling `trigc run` showed the copy through `read_until` at
/// about a tenth of the cost of decoding a line.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    /// Bytes of the reader's buffer taken by the line last handed out from it.
    pending: usize,
    line_no: u64,
    blank: u64,
    /// Whether a leading byte-order mark has been looked for.
    started: bool,
}

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
            buf: Vec::with_capacity(256),
            pending: 0,
            line_no: 0,
            blank: 0,
            started: false,
        }
    }

    /// The next non-blank line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if !self.started {
            let available = loop {
                match self.reader.fill_buf() {
                    Ok(available) => break available,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if available.starts_with(BOM) {
                self.reader.consume(BOM.len());
            }
            self.started = true;
        }
        loop {
            self.reader.consume(std::mem::take(&mut self.pending));
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(None);
            }
            let Some(end) = memchr::memchr(b'\n', available) else {
                // Not whole in the buffer: copy it out with `read_until`, which
                // refills as often as needed.
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
                if is_blank(&self.buf) {
                    self.blank += 1;
                    continue;
                }
                return Ok(Some(Line {
                    number: self.line_no,
                    bytes: &self.buf,
                }));
            };
            self.line_no += 1;
            self.pending = end + 1;
            let len = without_cr(available.get(..end).unwrap_or_default()).len();
            if is_blank(available.get(..len).unwrap_or_default()) {
                self.blank += 1;
                continue;
            }
            // The buffer again (`fill_buf` does not read while it holds unconsumed
            // bytes): returning `available` from inside the loop would keep
            // `self.reader` borrowed across iterations.
            let bytes = self.reader.fill_buf()?.get(..len).unwrap_or_default();
            return Ok(Some(Line {
                number: self.line_no,
                bytes,
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
