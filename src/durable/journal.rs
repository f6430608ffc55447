//! The journal's entries: lines accepted from a source that cannot replay them
//! (stdin, a socket, an HTTP request), kept until a checkpoint covers them. One
//! entry holds one batch of lines (a socket read, a request body, the stdin lines
//! read at once), so journaling costs one store row per batch, not per line.
//!
//! An entry is keyed by the sequence number of its first line; its value is
//! `\n` + the wall-clock time the service processed the batch at (decimal ms, empty
//! under the event clock) + `\n` + the lines joined by `\n` (a line never holds a
//! `\n`). Replaying the batch at that time gives what processing it gave: the
//! same wall-clock bounds on event times and the same timers due first. A value
//! that does not start with `\n` is one line (the layout before batches), replayed
//! without a time.

use bytes::Bytes;

/// One journaled batch, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The wall-clock time (ms) the batch was processed at; `None` under the event
    /// clock and for stdin.
    pub wall_ms: Option<i64>,
    /// The lines joined by `\n`.
    body: Bytes,
}

impl Entry {
    /// The lines, in order (slices of one buffer).
    pub fn lines(&self) -> impl Iterator<Item = Bytes> + '_ {
        let body = &self.body;
        let mut start = 0;
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            match body[start..].iter().position(|&b| b == b'\n') {
                Some(at) => {
                    let line = body.slice(start..start + at);
                    start += at + 1;
                    Some(line)
                }
                None => {
                    done = true;
                    Some(body.slice(start..))
                }
            }
        })
    }

    /// How many lines it holds.
    pub fn len(&self) -> u64 {
        self.body.iter().filter(|&&b| b == b'\n').count() as u64 + 1
    }

    /// Never: an entry holds at least one line (possibly blank).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The value of an entry for `lines` (at least one) processed at `wall_ms`.
pub fn encode(wall_ms: Option<i64>, lines: &[&[u8]]) -> Vec<u8> {
    let size = lines.iter().map(|l| l.len() + 1).sum::<usize>() + 24;
    let mut value = Vec::with_capacity(size);
    value.push(b'\n');
    if let Some(ms) = wall_ms {
        value.extend_from_slice(ms.to_string().as_bytes());
    }
    value.push(b'\n');
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            value.push(b'\n');
        }
        value.extend_from_slice(line);
    }
    value
}

/// An entry from its stored value.
pub fn decode(value: Vec<u8>) -> Result<Entry, String> {
    let value = Bytes::from(value);
    if value.first() != Some(&b'\n') {
        return Ok(Entry {
            wall_ms: None,
            body: value,
        });
    }
    let Some(end) = value[1..].iter().position(|&b| b == b'\n') else {
        return Err("a journal entry has no end to its header".into());
    };
    let header = &value[1..=end];
    let wall_ms = if header.is_empty() {
        None
    } else {
        let text = std::str::from_utf8(header).ok();
        match text.and_then(|t| t.parse::<i64>().ok()) {
            Some(ms) => Some(ms),
            None => return Err("a journal entry's time is not a number".into()),
        }
    };
    Ok(Entry {
        wall_ms,
        body: value.slice(end + 2..),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(entry: &Entry) -> Vec<Vec<u8>> {
        entry.lines().map(|l| l.to_vec()).collect()
    }

    #[test]
    fn batches_come_back_line_for_line() {
        let batch: [&[u8]; 4] = [b"{\"a\":1}", b"", b"  ", b"{\"b\":\"\\n\"}\r"];
        for wall in [None, Some(0), Some(-5), Some(1_765_000_000_000)] {
            let entry = decode(encode(wall, &batch)).unwrap();
            assert_eq!(entry.wall_ms, wall);
            assert_eq!(entry.len(), 4);
            assert_eq!(lines(&entry), batch.map(<[u8]>::to_vec));
        }
        let one = decode(encode(None, &[b""])).unwrap();
        assert_eq!((one.len(), lines(&one)), (1, vec![vec![]]));
    }

    #[test]
    fn a_value_of_the_old_layout_is_one_line() {
        let entry = decode(b"{\"type\":\"VISIT\"}".to_vec()).unwrap();
        assert_eq!(entry.wall_ms, None);
        assert_eq!(lines(&entry), [b"{\"type\":\"VISIT\"}".to_vec()]);
        assert_eq!(lines(&decode(Vec::new()).unwrap()), [Vec::<u8>::new()]);
    }

    #[test]
    fn a_damaged_header_is_an_error() {
        assert!(decode(b"\n12x\nline".to_vec()).is_err());
        assert!(decode(b"\n123".to_vec()).is_err());
    }
}
