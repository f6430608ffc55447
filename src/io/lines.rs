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

/// What [`Lines::poll_line`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll<'a> {
    Line(Line<'a>),
    /// No whole line is buffered: [`Lines::fill`] reads more (and may block).
    NeedInput,
    /// The input has ended and every line was handed out.
    End,
}

/// Where [`Lines::poll`] found a line, as offsets (so the loop in
/// [`Lines::next_line`] can read and then borrow).
#[derive(Clone, Copy)]
enum Polled {
    Line { from: usize, to: usize },
    NeedInput,
    End,
}

/// One line, without its terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number in the input.
    pub number: u64,
    pub bytes: &'a [u8],
    /// Whether a line end followed it (only the input's last line can lack one).
    pub terminated: bool,
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

    /// The next non-blank line, or `None` at the end of the input: [`Self::poll_line`]
    /// and [`Self::fill`] until there is one (blocking when the reader does).
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            match self.poll() {
                Polled::Line { from, to } => return Ok(Some(self.line_at(from, to))),
                Polled::NeedInput => {
                    self.fill()?;
                }
                Polled::End => return Ok(None),
            }
        }
    }

    /// The next non-blank line already read, without reading: a caller that must
    /// not block (a service that also keeps time) reads with [`Self::fill`] only
    /// when told [`Poll::NeedInput`], and can flush or tick first.
    pub fn poll_line(&mut self) -> Poll<'_> {
        match self.poll() {
            Polled::Line { from, to } => Poll::Line(self.line_at(from, to)),
            Polled::NeedInput => Poll::NeedInput,
            Polled::End => Poll::End,
        }
    }

    fn line_at(&self, from: usize, to: usize) -> Line<'_> {
        Line {
            number: self.line_no,
            bytes: self.buf.get(from..to).unwrap_or_default(),
            // A line end (and any `\r`) lies between `to` and `end` unless the line
            // ran to the end of the input.
            terminated: to < self.end,
        }
    }

    /// Where the next non-blank line is in `buf`, counting the blank ones passed.
    fn poll(&mut self) -> Polled {
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
                        return Polled::End;
                    }
                    // A last line without a terminator keeps a trailing `\r`.
                    let from = self.start;
                    self.start = self.end;
                    (from, self.end)
                }
                None => return Polled::NeedInput,
            };
            self.line_no += 1;
            if is_blank(self.buf.get(from..to).unwrap_or_default()) {
                self.blank += 1;
                continue;
            }
            return Polled::Line { from, to };
        }
    }

    /// Read more input once: `Ok(true)` when bytes came in or the input ended,
    /// `Ok(false)` when a non-blocking or timed reader had nothing yet
    /// (`WouldBlock`, `TimedOut`: not an error, ask again later).
    pub fn fill(&mut self) -> io::Result<bool> {
        match self.refill() {
            Ok(()) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
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
        self.end += n;
        self.eof = n == 0;
        if !self.started {
            // The mark may arrive a byte at a time (a trickling pipe): decide only
            // once three bytes, or the end, are here.
            let head = self.buf.get(..self.end).unwrap_or_default();
            if head.starts_with(BOM) {
                self.start = BOM.len();
                self.started = true;
            } else if self.eof || !BOM.starts_with(head) {
                self.started = true;
            }
        }
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// A reader that gives one byte per call, then `WouldBlock` once between bytes
    /// when `stall` is set (a trickling pipe or a non-blocking socket).
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        stall: bool,
        stalled: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.stall && !self.stalled {
                self.stalled = true;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.stalled = false;
            let Some(&b) = self.bytes.get(self.at) else {
                return Ok(0);
            };
            let Some(slot) = buf.first_mut() else {
                return Ok(0);
            };
            *slot = b;
            self.at += 1;
            Ok(1)
        }
    }

    fn trickle(bytes: &[u8], stall: bool) -> Lines<io::BufReader<Trickle>> {
        Lines::new(io::BufReader::with_capacity(
            1,
            Trickle {
                bytes: bytes.to_vec(),
                at: 0,
                stall,
                stalled: false,
            },
        ))
    }

    fn all_lines<R: BufRead>(lines: &mut Lines<R>) -> Vec<(u64, Vec<u8>)> {
        let mut got = Vec::new();
        loop {
            match lines.poll_line() {
                Poll::Line(line) => got.push((line.number, line.bytes.to_vec())),
                Poll::NeedInput => {
                    lines.fill().expect("in-memory reads do not fail");
                }
                Poll::End => return got,
            }
        }
    }

    #[test]
    fn a_byte_order_mark_split_across_reads_is_still_skipped() {
        let input = b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}";
        for stall in [false, true] {
            let got = all_lines(&mut trickle(input, stall));
            assert_eq!(
                got,
                [(1, b"{\"a\":1}".to_vec()), (3, b"{\"b\":2}".to_vec())],
                "stall: {stall}"
            );
        }
        // Not a mark: the bytes stay.
        let got = all_lines(&mut trickle(b"\xEF\xBBx\n", false));
        assert_eq!(got, [(1, b"\xEF\xBBx".to_vec())]);
        let got = all_lines(&mut trickle(b"\xEF", false));
        assert_eq!(got, [(1, b"\xEF".to_vec())]);
    }

    #[test]
    fn poll_reports_need_input_without_reading_and_would_block_is_not_an_error() {
        let mut lines = trickle(b"{}\n", true);
        assert_eq!(lines.poll_line(), Poll::NeedInput);
        assert!(!lines.fill().expect("would-block is not an error"));
        let got = all_lines(&mut lines);
        assert_eq!(got, [(1, b"{}".to_vec())]);
        assert_eq!(lines.blank(), 0);
    }
}
