//! `trigc run --input-format csv`: the read loop for CSV input. Each record becomes
//! the JSON line [`crate::io::csv_rows`] writes for it and goes through the session
//! like an NDJSON line, under its own line number (where the record starts). A
//! record the CSV reader or the cell typing refuses is rejected with its line number
//! and copied, re-encoded as CSV, to `--rejects`. The reader is blocking (CSV is
//! read from files), so a stop request is honoured between records.

use std::io::{self, BufRead};

use super::run::{CliOutput, InputEnd, Reading, report_reject};
use crate::driver::{LineOutcome, Session};
use crate::io::csv_rows::CsvShape;
use crate::io::lines::Line;
use crate::ir::Program;

/// Records are flushed to stdout (and messages to stderr) every this many rows.
const FLUSH_EVERY: u64 = 4096;

/// Read CSV records into the session. `columns`: `--csv-columns` (then the first row
/// is data), else the header row names them.
pub(super) fn read_csv(
    session: &mut Session<'_>,
    program: &Program,
    reader: Box<dyn BufRead>,
    columns: Option<Vec<String>>,
    out: &mut CliOutput<'_>,
    mut reading: Reading<'_>,
) -> Result<InputEnd, String> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut shape = columns.map(|c| CsvShape::new(program, &c));
    let mut record = csv::ByteRecord::new();
    let mut json = String::new();
    let mut rows = 0u64;
    let mut last_line = 0u64;
    loop {
        if let Some(signal) = reading.stop.requested() {
            out.flush();
            return Ok(InputEnd::Stopped {
                signal,
                line: last_line,
            });
        }
        let read = csv.read_byte_record(&mut record);
        let number = record.position().map_or(last_line + 1, |p| p.line());
        match read {
            Ok(false) => return Ok(InputEnd::Consumed),
            Ok(true) => {}
            Err(e) if e.is_io_error() => return Err(format!("cannot read the input: {e}")),
            Err(e) => {
                let reason = format!("unreadable CSV: {e}");
                reject_record(session, out, &mut reading, (number, reason), &record)?;
                continue;
            }
        }
        last_line = number;
        rows += 1;
        if rows.is_multiple_of(FLUSH_EVERY) {
            out.flush();
        }
        let Some(shape) = &shape else {
            let header: Vec<String> = record
                .iter()
                .map(|c| String::from_utf8_lossy(c).trim().to_owned())
                .collect();
            shape = Some(CsvShape::new(program, &header));
            continue;
        };
        let cells: Result<Vec<&str>, usize> = record
            .iter()
            .enumerate()
            .map(|(i, c)| std::str::from_utf8(c).map_err(|_| i + 1))
            .collect();
        let converted = match cells {
            _ if record.as_slice().len() > reading.limit.max_bytes => Err(format!(
                "row longer than --max-line-bytes ({} bytes)",
                reading.limit.max_bytes
            )),
            Ok(cells) => shape.row_to_json(cells.into_iter(), &mut json),
            Err(cell) => Err(format!("cell {cell} is not valid UTF-8")),
        };
        if let Err(reason) = converted {
            reject_record(session, out, &mut reading, (number, reason), &record)?;
            continue;
        }
        let line = Line {
            number,
            bytes: json.as_bytes(),
            terminated: true,
        };
        if let LineOutcome::Rejected(reject) = session.line(line, out) {
            report_reject(
                out,
                &reject,
                &encode(&record),
                reading.rejects.as_deref_mut(),
            )?;
        }
        if session.has_rejects() {
            for (reject, bytes) in session.take_rejects() {
                report_reject(out, &reject, &bytes, reading.rejects.as_deref_mut())?;
            }
        }
        if out.sink.reader_gone() {
            return Ok(InputEnd::ReaderGone { line: number });
        }
    }
}

/// Reject the record on line `number` for `reason`: counted, reported, and copied
/// to `--rejects` as CSV.
fn reject_record(
    session: &mut Session<'_>,
    out: &mut CliOutput<'_>,
    reading: &mut Reading<'_>,
    (number, reason): (u64, String),
    record: &csv::ByteRecord,
) -> Result<(), String> {
    let reject = session.reject_row(number, reason);
    report_reject(
        out,
        &reject,
        &encode(record),
        reading.rejects.as_deref_mut(),
    )
}

/// A record as one CSV line (quoted where needed), for `--rejects`.
fn encode(record: &csv::ByteRecord) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(io::Cursor::new(Vec::new()));
    let _ = w.write_byte_record(record);
    let mut bytes = w
        .into_inner()
        .map(io::Cursor::into_inner)
        .unwrap_or_default();
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    bytes
}
