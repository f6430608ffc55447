//! The line reader (`trigc::io::lines`): numbering, blank lines, any buffer size,
//! the line length limit, and lines fed to the decoder.

use std::io::{BufRead, Cursor};

use trigc::io::lines::Line;
use trigc::io::{Decoded, LineTooLong, Lines, Poll, Reject};

use super::Fixture;

/// Every line `lines` reads, with its number; then the blank lines and all lines read.
fn read_lines(mut lines: Lines<impl BufRead>) -> (Vec<(u64, Vec<u8>)>, u64, u64) {
    let mut got = Vec::new();
    while let Some(Line { number, bytes, .. }) = lines.next_line().expect("in-memory read") {
        got.push((number, bytes.to_vec()));
    }
    (got, lines.blank(), lines.lines_read())
}

fn read_all(input: &[u8]) -> (Vec<(u64, Vec<u8>)>, u64, u64) {
    read_lines(Lines::new(Cursor::new(input.to_vec())))
}

#[test]
fn lines_are_numbered_and_blank_ones_counted() {
    let (got, blank, read) = read_all(b"a\r\n\n  \t\r\nb\nc\r\n\xff\xfe\nlast");
    let want: Vec<(u64, Vec<u8>)> = vec![
        (1, b"a".to_vec()),
        (4, b"b".to_vec()),
        (5, b"c".to_vec()),
        (6, b"\xff\xfe".to_vec()),
        (7, b"last".to_vec()),
    ];
    assert_eq!(got, want);
    assert_eq!((blank, read), (2, 7));
    let (got, blank, read) = read_all(b"");
    assert_eq!((got.len(), blank, read), (0, 0, 0));
    let (got, _, read) = read_all(b"x\n");
    assert_eq!(
        (got.len(), read),
        (1, 1),
        "a final newline does not make an extra line"
    );
}

/// Every line of `input` read through a `BufReader` of `capacity` bytes, so lines
/// lie whole in its buffer, straddle a refill, or are longer than the buffer.
fn read_buffered(input: &[u8], capacity: usize) -> (Vec<(u64, Vec<u8>)>, u64, u64) {
    read_lines(Lines::new(std::io::BufReader::with_capacity(
        capacity, input,
    )))
}

#[test]
fn lines_read_the_same_whatever_the_buffer_size() {
    let input: &[u8] =
        b"ab\r\n\n  \t\r\n{\"long\":\"0123456789abcdef\"}\nc\r\n\r\n   \n\n\xff\nxyz\r\nlast\r";
    let lines: Vec<(u64, Vec<u8>)> = vec![
        (1, b"ab".to_vec()),
        (4, br#"{"long":"0123456789abcdef"}"#.to_vec()),
        (5, b"c".to_vec()),
        (9, b"\xff".to_vec()),
        (10, b"xyz".to_vec()),
        // A `\r` is dropped only before a `\n`.
        (11, b"last\r".to_vec()),
    ];
    let want = (lines, 5, 11);
    assert_eq!(read_all(input), want);
    for capacity in 1..=input.len() + 1 {
        assert_eq!(
            read_buffered(input, capacity),
            want,
            "buffer of {capacity} bytes"
        );
    }
}

/// `head`, then `long` bytes of `x` made as they are read (never held whole), then
/// `tail`.
struct LongLine {
    head: &'static [u8],
    long: usize,
    tail: &'static [u8],
    at: usize,
}

impl std::io::Read for LongLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let (head, long) = (self.head.len(), self.long);
        let n = if self.at < head {
            let part = &self.head[self.at..];
            let n = part.len().min(buf.len());
            buf[..n].copy_from_slice(&part[..n]);
            n
        } else if self.at < head + long {
            let n = (head + long - self.at).min(buf.len());
            buf[..n].fill(b'x');
            n
        } else {
            let part = self.tail.get(self.at - head - long..).unwrap_or_default();
            let n = part.len().min(buf.len());
            buf[..n].copy_from_slice(&part[..n]);
            n
        };
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_50_mb_line_is_skipped_in_bounded_memory_and_reported_with_its_number() {
    const LONG: usize = 50 << 20;
    let visit = br#"{"type":"VISIT","user":"u","ts":0}"#;
    let input = || LongLine {
        head: b"{\"type\":\"VISIT\",\"user\":\"u\",\"ts\":0}\n",
        long: LONG,
        tail: b"\n{\"type\":\"VISIT\",\"user\":\"u\",\"ts\":0}\n",
        at: 0,
    };
    let started = std::time::Instant::now();
    let mut lines = Lines::new(std::io::BufReader::with_capacity(1 << 16, input()));
    let mut got = Vec::new();
    let mut biggest = 0;
    loop {
        biggest = biggest.max(lines.buffer_capacity());
        match lines.poll_line() {
            Poll::Line(line) => got.push(format!("{} {}", line.number, line.bytes.len())),
            Poll::TooLong { number, bytes } => got.push(format!("{number} too long: {bytes}")),
            Poll::NeedInput => {
                lines.fill().expect("in-memory read");
            }
            Poll::End => break,
        }
    }
    let len = visit.len();
    assert_eq!(
        got,
        [
            format!("1 {len}"),
            format!("2 too long: {LONG}"),
            format!("3 {len}")
        ]
    );
    assert!(biggest < 3 << 20, "the line buffer grew to {biggest} bytes");
    // `next_line` reports it as an error and goes on.
    let mut lines = Lines::new(std::io::BufReader::new(input()));
    assert!(matches!(
        lines.next_line(),
        Ok(Some(Line { number: 1, .. }))
    ));
    let err = lines.next_line().expect_err("line 2 is too long");
    let too_long = err.get_ref().and_then(|e| e.downcast_ref::<LineTooLong>());
    assert_eq!(
        too_long.map(|t| (t.number, t.bytes, t.max_bytes)),
        Some((2, LONG as u64, 1 << 20))
    );
    assert!(matches!(
        lines.next_line(),
        Ok(Some(Line { number: 3, .. }))
    ));
    assert!(matches!(lines.next_line(), Ok(None)));
    // Linear: two passes over 50 MB take well under the seconds a rescan would.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn lines_feed_the_decoder() {
    let input = b"{\"type\":\"VISIT\",\"user\":\"u\",\"ts\":0}\r\n\n{\"type\":1}\n";
    let mut lines = Lines::new(Cursor::new(input.to_vec()));
    let mut f = Fixture::new();
    let mut results = Vec::new();
    while let Some(line) = lines.next_line().expect("read") {
        results.push(
            f.decoder
                .decode(line.bytes, line.number, &mut f.interner, &mut f.out),
        );
    }
    assert_eq!(results[0], Decoded::Event);
    assert_eq!(
        results[1],
        Decoded::Rejected(Reject {
            line: 3,
            reason: "field `type` must be a string, found int".into()
        })
    );
}
