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
//!
//! Lines are bounded ([`LineLimit`], 1 MiB by default): a longer line is never held
//! whole. Its bytes are dropped as they stream past, in constant memory, and it comes
//! out as [`Poll::TooLong`] (from [`Lines::next_line`]: an `InvalidData` error holding
//! a [`LineTooLong`], after which reading goes on), with its number and length. A
//! stream with no newline at all is one such line. Each byte is searched for `\n`
//! once, however many reads a line takes, so reading is linear in the input.

use std::fmt;
use std::io::{self, BufRead};

/// How long a line may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineLimit {
    /// The most bytes a line may have, not counting its `\n` (a `\r` before it
    /// counts). Longer lines are skipped and reported.
    pub max_bytes: usize,
}

impl LineLimit {
    /// 1 MiB: far above any real event line, small enough to buffer.
    pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
}

impl Default for LineLimit {
    fn default() -> LineLimit {
        LineLimit {
            max_bytes: LineLimit::DEFAULT_MAX_BYTES,
        }
    }
}

/// A line longer than [`LineLimit::max_bytes`], skipped: what [`Lines::next_line`]'s
/// `InvalidData` error holds (`error.get_ref()` downcasts to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong {
    /// 1-based line number.
    pub number: u64,
    /// Its length, not counting the `\n`.
    pub bytes: u64,
    pub max_bytes: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} bytes, longer than the limit of {} bytes",
            self.number, self.bytes, self.max_bytes
        )
    }
}

impl std::error::Error for LineTooLong {}

/// A reader of numbered, non-blank lines. Not an `Iterator`: each line borrows the
/// reader, so reading allocates nothing per line.
///
/// Input is read in blocks into `buf`, and each line is handed out straight from it:
/// no copy, and no call into the reader per line. Handing out lines from the
/// reader's own buffer took two `fill_buf` calls and a `consume` per line, and the
/// reader is a `Box<dyn BufRead>`, so none of them inline: a cost profiling `trigc
/// run` made visible (figures in BENCHMARKS.md). A line that straddles a block is
/// moved to the front of `buf` once (`buf` grows for a line longer than a block, up
/// to about [`LineLimit::max_bytes`] and two blocks).
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    /// `buf[start..end]` is input read but not yet handed out.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// `buf[start..scanned]` holds no `\n`: the next search starts at `scanned`
    /// (when it is below `start`, it is stale and means nothing).
    scanned: usize,
    max_bytes: usize,
    /// `max_bytes + 1`: a line of this many bytes is too long. 0 while the rest of
    /// a too-long line is being dropped, so its end takes the too-long branch too
    /// (one compare on the common path for both).
    limit: usize,
    /// The bytes of a too-long line dropped so far.
    skipped: u64,
    /// The reader has reported the end of its input.
    eof: bool,
    line_no: u64,
    blank: u64,
    /// Whether a leading byte-order mark has been looked for.
    started: bool,
    /// Bytes read from the reader so far.
    read_total: u64,
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
    /// A line longer than [`LineLimit::max_bytes`] was skipped: its 1-based number
    /// and length (not counting the `\n`). Poll again for the next line.
    TooLong {
        number: u64,
        bytes: u64,
    },
    /// The input has ended and every line was handed out.
    End,
}

/// Where [`Lines::poll`] found a line, as offsets (so the loop in
/// [`Lines::next_line`] can read and then borrow).
#[derive(Clone, Copy)]
enum Polled {
    Line { from: usize, to: usize },
    NeedInput,
    TooLong { number: u64, bytes: u64 },
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

/// Whether a line carries nothing (empty, or only spaces, tabs and `\r`).
#[inline]
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

impl<R: BufRead> Lines<R> {
    /// Lines of at most [`LineLimit::DEFAULT_MAX_BYTES`].
    pub fn new(reader: R) -> Lines<R> {
        Lines::with_limit(reader, LineLimit::default())
    }

    pub fn with_limit(reader: R, limit: LineLimit) -> Lines<R> {
        Lines {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            scanned: 0,
            max_bytes: limit.max_bytes,
            limit: limit.max_bytes.saturating_add(1),
            skipped: 0,
            eof: false,
            line_no: 0,
            blank: 0,
            started: false,
            read_total: 0,
        }
    }

    /// Lines that continue an input read before: line numbers go on from `lines`
    /// (read before, blank ones included) and [`Self::offset`] from `offset` bytes;
    /// no byte-order mark is looked for.
    pub fn resuming(mut self, lines: u64, offset: u64) -> Lines<R> {
        self.line_no = lines;
        self.read_total = offset;
        self.started = lines > 0 || offset > 0;
        self
    }

    /// Bytes of the input handed out so far (the lines passed, their ends, blank and
    /// too-long lines included): where reading resumes after the last line polled.
    pub fn offset(&self) -> u64 {
        self.read_total - (self.end - self.start) as u64
    }

    /// The next non-blank line, or `None` at the end of the input: [`Self::poll_line`]
    /// and [`Self::fill`] until there is one (blocking when the reader does). A line
    /// over the limit is an `InvalidData` error holding a [`LineTooLong`]; calling
    /// again goes on with the next line.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            match self.poll() {
                Polled::Line { from, to } => return Ok(Some(self.line_at(from, to))),
                Polled::NeedInput => {
                    self.fill()?;
                }
                Polled::TooLong { number, bytes } => {
                    let too_long = LineTooLong {
                        number,
                        bytes,
                        max_bytes: self.max_bytes,
                    };
                    return Err(io::Error::new(io::ErrorKind::InvalidData, too_long));
                }
                Polled::End => return Ok(None),
            }
        }
    }

    /// The next non-blank line already read, without reading: a caller that must
    /// not block (a service that also keeps time) reads with [`Self::fill`] only
    /// when told [`Poll::NeedInput`], and can flush or tick first.
    // Inlined into each read loop (NDJSON and CSV): out of line it cost about 30
    // instructions a line (BENCHMARKS.md, "Figures behind choices").
    #[inline(always)]
    pub fn poll_line(&mut self) -> Poll<'_> {
        match self.poll() {
            Polled::Line { from, to } => Poll::Line(self.line_at(from, to)),
            Polled::NeedInput => Poll::NeedInput,
            Polled::TooLong { number, bytes } => Poll::TooLong { number, bytes },
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
    #[inline(always)]
    fn poll(&mut self) -> Polled {
        loop {
            let pending = self.buf.get(self.start..self.end).unwrap_or_default();
            // The bytes before `scanned` were searched before the last read (a stale
            // `scanned` below `start` skips nothing).
            let searched = self.scanned.saturating_sub(self.start);
            let unsearched = pending.get(searched..).unwrap_or_default();
            let (from, to) = match memchr::memchr(b'\n', unsearched) {
                Some(at) => {
                    let at = searched + at;
                    let from = self.start;
                    self.start += at + 1;
                    // Also the end of a line being skipped (`limit` is then 0).
                    if at >= self.limit {
                        return self.too_long(at);
                    }
                    (
                        from,
                        from + without_cr(pending.get(..at).unwrap_or_default()).len(),
                    )
                }
                None if self.eof => {
                    let pending = self.end - self.start;
                    let skipping = self.limit == 0;
                    if pending == 0 && !skipping {
                        return Polled::End;
                    }
                    // A last line without a terminator keeps a trailing `\r`.
                    let from = self.start;
                    self.start = self.end;
                    self.scanned = self.end;
                    if pending >= self.limit {
                        return self.too_long(pending);
                    }
                    (from, self.end)
                }
                None => {
                    self.scanned = self.end;
                    let pending = self.end - self.start;
                    if pending >= self.limit {
                        // Too long: drop what is here, and the rest as it comes
                        // (`limit` 0 until the line ends).
                        self.skipped += pending as u64;
                        self.limit = 0;
                        self.start = self.end;
                    }
                    return Polled::NeedInput;
                }
            };
            self.line_no += 1;
            if is_blank(self.buf.get(from..to).unwrap_or_default()) {
                self.blank += 1;
                continue;
            }
            return Polled::Line { from, to };
        }
    }

    /// A too-long line has ended, `tail` bytes after those dropped already.
    #[cold]
    fn too_long(&mut self, tail: usize) -> Polled {
        let bytes = std::mem::take(&mut self.skipped) + tail as u64;
        self.limit = self.max_bytes.saturating_add(1);
        self.line_no += 1;
        Polled::TooLong {
            number: self.line_no,
            bytes,
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
        // Room for a whole block: a `BufReader` of up to that capacity then reads
        // straight into `buf` instead of copying through its own buffer. The pending
        // bytes move only when there is not, and `buf` grows only when moving them
        // does not make room; they are at most `max_bytes` (a longer line is
        // skipped), so `buf` stays below `max_bytes` and two blocks.
        if self.buf.len() - self.end < BLOCK {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.scanned = self.scanned.saturating_sub(self.start);
                self.start = 0;
            }
            if self.buf.len() - self.end < BLOCK {
                self.buf.resize(self.end + BLOCK, 0);
            }
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
        self.read_total += n as u64;
        self.eof = n == 0;
        if !self.started {
            // The mark may arrive a byte at a time (a trickling pipe): decide only
            // once three bytes, or the end, are here.
            let head = self.buf.get(..self.end).unwrap_or_default();
            if head.starts_with(BOM) {
                self.start = BOM.len();
                self.scanned = self.scanned.max(self.start);
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

    /// The capacity of the line buffer, in bytes: how much memory reading holds
    /// (tests check it stays bounded whatever the input).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn offset_is_where_reading_resumes() {
        let input = b"\xEF\xBB\xBFa\n\nbb\r\nccc";
        let mut lines = Lines::new(&input[..]);
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            let line = (line.bytes.to_vec(), line.number);
            seen.push(line.clone());
            let line = Line {
                number: line.1,
                bytes: &[],
                terminated: true,
            };
            let offset = lines.offset();
            // The rest, read from the offset on, is the lines not yet handed out.
            let mut rest = Lines::new(&input[offset as usize..]).resuming(line.number, offset);
            let next = rest
                .next_line()
                .unwrap()
                .map(|l| (l.bytes.to_vec(), l.number));
            let mut again = Lines::new(&input[..]);
            let mut expected = None;
            while let Some(l) = again.next_line().unwrap() {
                if l.number > line.number {
                    expected = Some((l.bytes.to_vec(), l.number));
                    break;
                }
            }
            assert_eq!(next, expected);
        }
        assert_eq!(seen.len(), 3);
        assert_eq!(lines.offset(), input.len() as u64);
    }

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
        outcomes(lines)
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

    /// Every outcome of [`Lines::poll_line`] up to the end, too-long lines as
    /// `(number, b"<N bytes>")`.
    fn outcomes<R: BufRead>(lines: &mut Lines<R>) -> Vec<(u64, Vec<u8>)> {
        let mut got = Vec::new();
        loop {
            match lines.poll_line() {
                Poll::Line(line) => got.push((line.number, line.bytes.to_vec())),
                Poll::TooLong { number, bytes } => {
                    got.push((number, format!("<{bytes} bytes>").into_bytes()));
                }
                Poll::NeedInput => {
                    lines.fill().expect("in-memory reads do not fail");
                }
                Poll::End => return got,
            }
        }
    }

    #[test]
    fn lines_over_the_limit_are_reported_with_their_number_and_length() {
        let input = b"{\"a\":1}\r\n0123456789\n\n12345678\n0123456789abc\r\n{}\n   \nxxxxxxxxxxxxx";
        let want: Vec<(u64, Vec<u8>)> = vec![
            (1, b"{\"a\":1}".to_vec()),
            (2, b"<10 bytes>".to_vec()),
            (4, b"12345678".to_vec()),
            (5, b"<14 bytes>".to_vec()),
            (6, b"{}".to_vec()),
            (8, b"<13 bytes>".to_vec()),
        ];
        let limit = LineLimit { max_bytes: 8 };
        // Whole, and a byte at a time with stalls (the skip spans reads).
        let got = outcomes(&mut Lines::with_limit(&input[..], limit));
        assert_eq!(got, want);
        for stall in [false, true] {
            let mut lines = trickle(input, stall);
            lines.max_bytes = limit.max_bytes;
            lines.limit = limit.max_bytes + 1;
            assert_eq!(outcomes(&mut lines), want, "stall: {stall}");
            assert_eq!(lines.blank(), 2);
        }
        // A stream without a newline is one line.
        let got = outcomes(&mut Lines::with_limit(&[b'x'; 100][..], limit));
        assert_eq!(got, [(1, b"<100 bytes>".to_vec())]);
    }

    #[test]
    fn next_line_reports_a_long_line_as_an_error_and_goes_on() {
        let mut lines = Lines::with_limit(&b"{}\nxxxxxx\n{}\n"[..], LineLimit { max_bytes: 4 });
        assert!(matches!(
            lines.next_line(),
            Ok(Some(Line { number: 1, .. }))
        ));
        let err = lines.next_line().expect_err("line 2 is too long");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let too_long = err.get_ref().and_then(|e| e.downcast_ref::<LineTooLong>());
        assert_eq!(
            too_long,
            Some(&LineTooLong {
                number: 2,
                bytes: 6,
                max_bytes: 4
            })
        );
        assert!(matches!(
            lines.next_line(),
            Ok(Some(Line { number: 3, .. }))
        ));
        assert!(matches!(lines.next_line(), Ok(None)));
    }
}
