//! Cutting CSV records (RFC 4180) out of input lines, and records into cells.
//!
//! Input is read as lines ([`crate::io::Lines`]: the line limit, CRLF and the BOM
//! handled once for every format). A record is one line unless a quoted cell holds
//! a line end; then the lines are joined (with `\n`) until `csv_core`, the state
//! machine of the `csv` crate, sees the record end. A record with no `"` is split
//! on its commas where it stands, which is most rows of real exports and why this
//! module exists: `csv_core` walks every byte through its state machine, about a
//! thousand instructions a row, more than decoding the row's event (BENCHMARKS.md).
//! Quoted records go through `csv_core`, so quoting follows the `csv` crate.
//!
//! A blank line (empty, or spaces and tabs only) is skipped, as in every format,
//! also inside a quoted cell; an unclosed quote at the end of the input leaves its record
//! unfinished, and the caller rejects it.

use super::super::lines::Line;

/// What [`Records::line`] made of a line.
#[derive(Debug)]
pub enum Cut<'a> {
    /// A whole record: the number of its first line and its text.
    Record { number: u64, text: &'a [u8] },
    /// A quoted cell is still open: the record goes on in the next line.
    Open,
    /// The record grew past `max_bytes` while a quoted cell stayed open: it is
    /// dropped (its first line's number), and the next line starts a new record.
    TooLong { number: u64 },
}

/// One record parsed by `csv_core` into unquoted cells.
#[derive(Debug)]
struct Parser {
    core: csv_core::Reader,
    /// The record with a line end, as `csv_core` reads it.
    input: Vec<u8>,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl Default for Parser {
    /// `csv_core::Reader::new()`: RFC 4180 (its `Default` is not that reader).
    fn default() -> Parser {
        Parser {
            core: csv_core::Reader::new(),
            input: Vec::new(),
            out: Vec::new(),
            ends: Vec::new(),
        }
    }
}

impl Parser {
    /// Parse `text` as one record: the result, bytes written to `out`, cells ended.
    fn parse(&mut self, text: &[u8]) -> (csv_core::ReadRecordResult, usize, usize) {
        self.core.reset();
        self.out.resize(text.len() + 1, 0);
        self.ends.resize(text.len() + 2, 0);
        self.input.clear();
        self.input.extend_from_slice(text);
        self.input.push(b'\n');
        let (result, _, written, ended) =
            self.core
                .read_record(&self.input, &mut self.out, &mut self.ends);
        (result, written, ended)
    }

    /// Whether `text` is a whole record (no quoted cell left open at its end).
    fn closes(&mut self, text: &[u8]) -> bool {
        matches!(self.parse(text).0, csv_core::ReadRecordResult::Record)
    }
}

/// Joins the lines of records; reuse it for every line.
#[derive(Debug, Default)]
pub struct Records {
    parser: Parser,
    /// The lines so far of a record whose quoted cell is open.
    joined: Vec<u8>,
    /// The number of the first of them.
    first: u64,
    /// The last record joined from lines, handed out by [`Cut::Record`].
    record: Vec<u8>,
}

impl Records {
    /// Take `line`; `max_bytes` bounds a record spanning lines.
    pub fn line<'a>(&'a mut self, line: Line<'a>, max_bytes: usize) -> Cut<'a> {
        if self.joined.is_empty() {
            if memchr::memchr(b'"', line.bytes).is_none() || self.parser.closes(line.bytes) {
                return Cut::Record {
                    number: line.number,
                    text: line.bytes,
                };
            }
            self.first = line.number;
            self.joined.extend_from_slice(line.bytes);
            return Cut::Open;
        }
        self.joined.push(b'\n');
        self.joined.extend_from_slice(line.bytes);
        if self.joined.len() > max_bytes {
            self.joined.clear();
            return Cut::TooLong { number: self.first };
        }
        if !self.parser.closes(&self.joined) {
            return Cut::Open;
        }
        std::mem::swap(&mut self.record, &mut self.joined);
        self.joined.clear();
        Cut::Record {
            number: self.first,
            text: &self.record,
        }
    }

    /// A record still open at the end of the input (an unclosed quote): its first
    /// line's number and its text, taken.
    pub fn unfinished(&mut self) -> Option<(u64, Vec<u8>)> {
        (!self.joined.is_empty()).then(|| (self.first, std::mem::take(&mut self.joined)))
    }
}

/// Cuts records into cells; reuse it for every record.
#[derive(Debug, Default)]
pub struct Cells {
    parser: Parser,
}

impl Cells {
    /// The cells of record `text` into `cells`: split on its commas in one pass,
    /// unless a quote turns up, when `csv_core` reads it.
    pub fn split<'a>(&'a mut self, text: &'a str, cells: &mut Vec<&'a str>) {
        cells.clear();
        let mut start = 0;
        for (i, &b) in text.as_bytes().iter().enumerate() {
            if b == b',' {
                // A comma is ASCII, so both ends are character boundaries.
                cells.push(text.get(start..i).unwrap_or_default());
                start = i + 1;
            } else if b == b'"' {
                return self.split_quoted(text, cells);
            }
        }
        cells.push(text.get(start..).unwrap_or_default());
    }

    #[cold]
    fn split_quoted<'a>(&'a mut self, text: &'a str, cells: &mut Vec<&'a str>) {
        cells.clear();
        let (_, written, ended) = self.parser.parse(text.as_bytes());
        let out = self.parser.out.get(..written).unwrap_or_default();
        // Quotes and commas are ASCII: taking them out of valid UTF-8 leaves valid
        // UTF-8 in each cell.
        let Ok(out) = std::str::from_utf8(out) else {
            cells.push(text);
            return;
        };
        let mut start = 0;
        for &end in self.parser.ends.get(..ended).unwrap_or_default() {
            cells.push(out.get(start..end).unwrap_or_default());
            start = end;
        }
    }
}

/// An empty vector of cells borrowing nothing, keeping `cells`' allocation (the
/// in-place `collect` reuses it), so the read loop allocates no vector per row.
pub fn recycle<'b>(mut cells: Vec<&str>) -> Vec<&'b str> {
    cells.clear();
    cells.into_iter().map(|_| "").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(number: u64, bytes: &[u8]) -> Line<'_> {
        Line {
            number,
            bytes,
            terminated: true,
        }
    }

    fn split(text: &str) -> Vec<String> {
        let mut cells = Cells::default();
        let mut out = Vec::new();
        cells.split(text, &mut out);
        out.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn plain_and_quoted_cells() {
        assert_eq!(split("a,,b"), ["a", "", "b"]);
        assert_eq!(split(""), [""]);
        assert_eq!(split(r#"a,"b,c","d""e""#), ["a", "b,c", "d\"e"]);
        assert_eq!(split("\"x\ny\",z"), ["x\ny", "z"]);
    }

    #[test]
    fn a_quoted_line_end_joins_lines() {
        let mut records = Records::default();
        assert!(matches!(records.line(line(3, b"a,\"b"), 100), Cut::Open));
        match records.line(line(4, b"c\",d"), 100) {
            Cut::Record { number, text } => {
                assert_eq!((number, text), (3, &b"a,\"b\nc\",d"[..]));
            }
            other => panic!("{other:?}"),
        }
        match records.line(line(5, b"e,f"), 100) {
            Cut::Record { number, text } => assert_eq!((number, text), (5, &b"e,f"[..])),
            other => panic!("{other:?}"),
        }
        assert!(matches!(records.line(line(6, b"\"open"), 8), Cut::Open));
        assert!(matches!(
            records.line(line(7, b"still open"), 8),
            Cut::TooLong { number: 6 }
        ));
        assert!(matches!(records.line(line(8, b"\"again"), 100), Cut::Open));
        assert_eq!(records.unfinished(), Some((8, b"\"again".to_vec())));
    }

    #[test]
    fn a_quote_inside_an_unquoted_cell_is_a_character() {
        let mut records = Records::default();
        assert!(matches!(
            records.line(line(1, b"a\"b,c"), 100),
            Cut::Record { .. }
        ));
        assert_eq!(split("a\"b,c"), ["a\"b", "c"]);
    }
}
