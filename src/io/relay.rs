//! Reading a blocking source (stdin, a FIFO, a socket) on a thread of its own, so
//! that the consumer can wait for input with a timeout: while no input comes, it
//! can still flush decided records, notice a stop request or let time pass.
//!
//! The thread reads blocks and hands them over a bounded channel: when the consumer
//! is slower than the producer, the channel fills and the thread stops reading, so
//! backpressure reaches the producer and nothing grows without bound.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

/// How much the thread reads at a time.
const BLOCK: usize = 1 << 16;
/// Blocks in flight between the thread and the consumer.
const IN_FLIGHT: usize = 4;

/// A reader fed by a thread that reads `source`. A read waits at most `patience`,
/// then fails with `TimedOut` ("nothing yet": ask again), which
/// [`super::Lines::fill`] reports as no input rather than an error.
pub struct Relay {
    blocks: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
    ended: bool,
    patience: Duration,
}

impl Relay {
    pub fn spawn(source: impl Read + Send + 'static, patience: Duration) -> Relay {
        let (tx, blocks) = sync_channel(IN_FLIGHT);
        std::thread::spawn(move || pump(source, &tx));
        Relay {
            blocks,
            current: Vec::new(),
            at: 0,
            ended: false,
            patience,
        }
    }
}

/// Read `source` to its end (or to an error, or until the consumer is gone),
/// block by block; the end is an empty block.
fn pump(mut source: impl Read, tx: &SyncSender<io::Result<Vec<u8>>>) {
    loop {
        let mut block = vec![0; BLOCK];
        let sent = match source.read(&mut block) {
            Ok(0) => {
                let _ = tx.send(Ok(Vec::new()));
                return;
            }
            Ok(n) => {
                block.truncate(n);
                tx.send(Ok(block))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        if sent.is_err() {
            return; // the consumer has gone
        }
    }
}

impl Read for Relay {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Relay {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.current.len() && !self.ended {
            match self.blocks.recv_timeout(self.patience) {
                Ok(Ok(block)) => {
                    self.ended = block.is_empty();
                    self.current = block;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => return Err(io::ErrorKind::TimedOut.into()),
                Err(RecvTimeoutError::Disconnected) => self.ended = true,
            }
        }
        Ok(self.current.get(self.at..).unwrap_or_default())
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.current.len());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::io::{Lines, Poll};

    #[test]
    fn a_stalled_source_times_out_then_delivers_and_ends() {
        let (reader, mut writer) = std::io::pipe().expect("a pipe");
        let relay = Relay::spawn(reader, Duration::from_millis(10));
        let mut lines = Lines::new(relay);
        assert_eq!(lines.poll_line(), Poll::NeedInput);
        // Nothing written yet: the read times out instead of blocking.
        assert!(!lines.fill().expect("a time-out is not an error"));
        writer.write_all(b"{\"a\":1}\n").expect("write");
        drop(writer);
        let mut got = Vec::new();
        loop {
            match lines.poll_line() {
                Poll::Line(line) => got.push(line.bytes.to_vec()),
                Poll::NeedInput => {
                    lines.fill().expect("reads");
                }
                Poll::End => break,
                Poll::TooLong { .. } => panic!("no line here is long"),
            }
        }
        assert_eq!(got, [b"{\"a\":1}".to_vec()]);
    }
}
