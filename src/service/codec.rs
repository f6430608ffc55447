//! Socket bytes cut into lines, bounded by `--max-line-bytes`.
//!
//! [`LineCodec`] is a `tokio_util` [`Decoder`] whose items are the bytes of one line
//! or the news that a line was too long ([`Frame::TooLong`]): never an error, since
//! after a decoder error a `FramedRead` ends (tokio#3976) and one bad line would
//! close its connection. Bytes are not checked for UTF-8 here: the event decoder
//! rejects a line that is not, with its line number, like any other bad line.
//!
//! A line longer than the limit is never held: its bytes are dropped as they
//! arrive, in constant memory, up to its `\n`. A `\r` before the `\n` is dropped
//! (CRLF producers), and counts towards the limit, as in [`crate::io::Lines`].

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

/// One line of input, or what is left of one too long to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The line's bytes, without its `\n` (and without a `\r` before it).
    Line(Bytes),
    /// A line over the limit, skipped: its length, not counting the `\n`.
    TooLong { bytes: u64 },
}

/// Lines of at most `max_bytes` (not counting the `\n`).
#[derive(Debug)]
pub struct LineCodec {
    max_bytes: usize,
    /// `buf[..scanned]` holds no `\n`: the next search starts there.
    scanned: usize,
    /// While the rest of a too-long line is dropped: its bytes so far.
    skipping: Option<u64>,
}

impl LineCodec {
    pub fn new(max_bytes: usize) -> LineCodec {
        LineCodec {
            max_bytes,
            scanned: 0,
            skipping: None,
        }
    }

    /// Every frame `buf` holds whole, into `frames` (for a body read whole, or
    /// after each read of a socket).
    pub fn decode_all(&mut self, buf: &mut BytesMut, frames: &mut Vec<Frame>) {
        while let Some(frame) = self.next_frame(buf) {
            frames.push(frame);
        }
    }

    fn next_frame(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        if let Some(skipped) = self.skipping {
            return match memchr::memchr(b'\n', buf) {
                Some(at) => {
                    buf.advance(at + 1);
                    self.skipping = None;
                    self.scanned = 0;
                    Some(Frame::TooLong {
                        bytes: skipped.saturating_add(at as u64),
                    })
                }
                None => {
                    self.skipping = Some(skipped.saturating_add(buf.len() as u64));
                    buf.clear();
                    None
                }
            };
        }
        let from = self.scanned.min(buf.len());
        let found = buf.get(from..).and_then(|rest| memchr::memchr(b'\n', rest));
        match found {
            Some(at) => {
                let end = from + at;
                self.scanned = 0;
                if end > self.max_bytes {
                    buf.advance(end + 1);
                    return Some(Frame::TooLong { bytes: end as u64 });
                }
                let mut line = buf.split_to(end + 1);
                line.truncate(end);
                if line.last() == Some(&b'\r') {
                    line.truncate(end - 1);
                }
                Some(Frame::Line(line.freeze()))
            }
            None if buf.len() > self.max_bytes => {
                self.skipping = Some(buf.len() as u64);
                self.scanned = 0;
                buf.clear();
                None
            }
            None => {
                self.scanned = buf.len();
                None
            }
        }
    }

    /// The end of the input: a last line without a `\n` is still a line.
    pub fn finish(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        self.scanned = 0;
        if let Some(skipped) = self.skipping.take() {
            let bytes = skipped.saturating_add(buf.len() as u64);
            buf.clear();
            return Some(Frame::TooLong { bytes });
        }
        if buf.is_empty() {
            return None;
        }
        let mut line = buf.split();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        Some(Frame::Line(line.freeze()))
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        Ok(self.next_frame(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        match self.next_frame(buf) {
            Some(frame) => Ok(Some(frame)),
            None => Ok(self.finish(buf)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` in pieces of `step` bytes, then end it.
    fn frames(input: &[u8], step: usize, max: usize) -> Vec<Frame> {
        let mut codec = LineCodec::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            codec.decode_all(&mut buf, &mut out);
        }
        out.extend(codec.finish(&mut buf));
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn lines_come_out_whole_however_the_bytes_arrive() {
        let input = b"{\"a\":1}\r\n\n{\"b\":2}\nlast";
        for step in 1..input.len() {
            assert_eq!(
                frames(input, step, 100),
                [line("{\"a\":1}"), line(""), line("{\"b\":2}"), line("last")],
                "step {step}"
            );
        }
    }

    #[test]
    fn a_long_line_is_skipped_in_bounded_memory_and_reading_goes_on() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend(b"\nfine\n\xff\xfe\n");
        for step in [1, 7, 64, 100_000] {
            let mut codec = LineCodec::new(8);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            for piece in input.chunks(step) {
                buf.extend_from_slice(piece);
                codec.decode_all(&mut buf, &mut out);
                assert!(buf.len() <= 8 + step, "never holds a long line");
            }
            out.extend(codec.finish(&mut buf));
            assert_eq!(
                out,
                [
                    line("ok"),
                    Frame::TooLong { bytes: 10_000 },
                    line("fine"),
                    Frame::Line(Bytes::from_static(b"\xff\xfe")),
                ],
                "step {step}"
            );
        }
    }

    #[test]
    fn an_endless_line_ends_as_too_long() {
        assert_eq!(frames(&[b'y'; 50], 3, 10), [Frame::TooLong { bytes: 50 }]);
        assert_eq!(frames(b"1234567890", 3, 10), [line("1234567890")]);
        assert_eq!(
            frames(b"12345678901\n", 3, 10),
            [Frame::TooLong { bytes: 11 }]
        );
    }
}
