//! `trigc run --input-format csv`: the read loop for CSV input. Lines are read as for
//! NDJSON (the same line limit, flushing before a read that may wait, stop requests
//! honoured there), cut into records and cells ([`crate::io::csv_rows::split`]), and
//! each record goes into the session under its own line number (where it starts):
//! read straight into an event when it can be, else as the JSON line
//! [`crate::io::csv_rows`] writes for it. A header whose read columns clash stops
//! the run (`Err`) before any row. A record refused (bad UTF-8, a cell that
//! cannot be its field's type) is rejected with its line number and copied, as it
//! was read, to `--rejects`.

use std::io::{BufRead, Write};

use super::run::{CliOutput, InputEnd, Reading, report_reject, wait_for_input};
use crate::driver::{LineOutcome, Session};
use crate::io::Lines;
use crate::io::csv_rows::CsvShape;
use crate::io::csv_rows::split::{Cells, Cut, Records, recycle};
use crate::io::lines::{Line, Poll};
use crate::ir::Program;

/// Read CSV records into the session. `columns`: `--csv-columns` (then the first row
/// is data), else the header row names them.
pub(super) fn read_csv(
    session: &mut Session<'_>,
    program: &Program,
    mut lines: Lines<Box<dyn BufRead>>,
    columns: Option<Vec<String>>,
    out: &mut CliOutput<'_>,
    mut reading: Reading<'_>,
) -> Result<InputEnd, String> {
    let mut shape = match columns {
        Some(c) => Some(CsvShape::new(program, &c).map_err(|e| format!("--csv-columns: {e}"))?),
        None => None,
    };
    if let Some(shape) = &shape {
        warn_missing_envelope(shape, program, out);
    }
    let mut records = Records::default();
    let mut cutter = Cells::default();
    let mut spare: Vec<&str> = Vec::new();
    let mut json = String::new();
    let max_bytes = reading.limit.max_bytes;
    let end = loop {
        let line = match lines.poll_line() {
            Poll::Line(line) => line,
            Poll::TooLong { number, .. } => {
                let reject = session.reject_too_long(number, max_bytes);
                // Never held, so not copied to `--rejects` (as for NDJSON).
                report_reject(out, &reject, b"", None)?;
                continue;
            }
            Poll::NeedInput => match wait_for_input(&mut lines, out, &reading)? {
                Some(end) => break end,
                None => continue,
            },
            Poll::End => break InputEnd::Consumed,
        };
        let (number, bytes) = match records.line(line, max_bytes) {
            Cut::Record { number, text } => (number, text),
            Cut::Open => continue,
            Cut::TooLong { number } => {
                let reject = session.reject_too_long(number, max_bytes);
                // Never held, so not copied to `--rejects` (as for NDJSON).
                report_reject(out, &reject, b"", None)?;
                continue;
            }
        };
        let text = match simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes)) {
            Ok(text) => text,
            Err(e) => {
                let reason = format!("not valid UTF-8 (byte {})", e.valid_up_to() + 1);
                reject_record(session, out, &mut reading, (number, reason), bytes)?;
                continue;
            }
        };
        let mut cells = recycle(std::mem::take(&mut spare));
        cutter.split(text, &mut cells);
        let Some(shape) = &mut shape else {
            let header: Vec<String> = cells.iter().map(|c| c.trim().to_owned()).collect();
            // Refused once, for the whole input: no row of it could be read.
            let header = CsvShape::new(program, &header)
                .map_err(|e| format!("line {number}: CSV header: {e}"))?;
            warn_missing_envelope(&header, program, out);
            shape = Some(header);
            spare = recycle(cells);
            continue;
        };
        match read_row(session, shape, &cells, (number, bytes), &mut json, out) {
            Ok(LineOutcome::Rejected(reject)) => {
                report_reject(out, &reject, bytes, reading.rejects.as_deref_mut())?;
            }
            Ok(_) => {}
            Err(reason) => reject_record(session, out, &mut reading, (number, reason), bytes)?,
        }
        spare = recycle(cells);
        if session.has_rejects() {
            for (reject, bytes) in session.take_rejects() {
                report_reject(out, &reject, &bytes, reading.rejects.as_deref_mut())?;
            }
        }
        if out.sink.reader_gone() {
            break InputEnd::ReaderGone { line: number };
        }
    };
    if let (InputEnd::Consumed, Some((number, bytes))) = (&end, records.unfinished()) {
        let reason = "a quoted cell is not closed before the end of the input".to_owned();
        reject_record(session, out, &mut reading, (number, reason), &bytes)?;
    }
    session.input.blank += lines.blank();
    Ok(end)
}

/// Say once, on stderr, which envelope members no column holds.
fn warn_missing_envelope(shape: &CsvShape, program: &Program, out: &mut CliOutput<'_>) {
    if let Some(warning) = shape.missing_envelope(program) {
        let _ = writeln!(out.stderr, "{warning}");
    }
}

/// Read one record's `cells` into the session: straight into an event when the
/// row allows it ([`CsvShape::read_row`]), else as its JSON line. Both give the
/// event the same origin: a hash of the record as read (`bytes`), as an NDJSON
/// event's is of its line. `Err`: a cell the JSON line cannot
/// hold (the row is rejected with that reason).
fn read_row(
    session: &mut Session<'_>,
    shape: &mut CsvShape,
    cells: &[&str],
    (number, bytes): (u64, &[u8]),
    json: &mut String,
    out: &mut CliOutput<'_>,
) -> Result<LineOutcome, String> {
    let origin = xxhash_rust::xxh3::xxh3_64(bytes);
    let (interner, event) = session.event_slot();
    if let Some(read) = shape.read_row(cells, (number, origin), interner, event) {
        let ts = event.ts;
        if !session.guards(ts) {
            return Ok(session.push_decoded(read.int_time, out));
        }
    }
    shape.row_to_json(cells.iter().copied(), json)?;
    let line = Line {
        number,
        bytes: json.as_bytes(),
        terminated: true,
    };
    Ok(session.line_with_origin(line, origin, out))
}

/// Reject the record on line `number` for `reason`: counted, reported, and copied
/// to `--rejects` as it was read.
fn reject_record(
    session: &mut Session<'_>,
    out: &mut CliOutput<'_>,
    reading: &mut Reading<'_>,
    (number, reason): (u64, String),
    bytes: &[u8],
) -> Result<(), String> {
    let reject = session.reject_row(number, reason);
    report_reject(out, &reject, bytes, reading.rejects.as_deref_mut())
}
