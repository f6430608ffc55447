//! The same events in three shapes, read from a byte stream and decoded into
//! events, as `trigc run` does: flat NDJSON (what `trigc gen` writes), Segment track
//! calls (fields nested under `properties`, a `context` object nobody reads, longer
//! wire names), and CSV with a header. The programs are `rules/` and the same rules
//! over `benches/fixtures/segment-events.trig`; the CSV rows are read under `rules/`.
//! Issue #20's targets: Segment at least 0.5x the flat shape's events/s, CSV at
//! least 1x. Run: `cargo bench --bench shapes`.

use std::io::Cursor;

use divan::counter::{BytesCount, ItemsCount};
use serde_json::{Map, Value, json};
use trigc::cli::gen_shape::{CSV_COLUMNS as COLUMNS, segment_name};
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::interp::Interner;
use trigc::io::csv_rows::CsvShape;
use trigc::io::csv_rows::split::{Cells, Cut, Records, recycle};
use trigc::io::{Decoded, Decoder, Lines};
use trigc::ir::Program;
use trigc::runtime::Event;
use trigc::syntax::{SourceMap, add_file};

fn main() {
    divan::main();
}

const LINES: usize = 2000;

/// `rules/`, with its declarations replaced by `events` when given.
fn program(events: Option<&str>) -> Program {
    let mut sources = SourceMap::default();
    let mut paths: Vec<_> = std::fs::read_dir("rules")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "trig"))
    {
        let name = path.display().to_string();
        let text = match (events, path.ends_with("events.trig")) {
            (Some(events), true) => events.to_owned(),
            _ => std::fs::read_to_string(path).unwrap_or_default(),
        };
        let _ = add_file(&mut sources, &name, text.as_bytes());
    }
    let compiled = trigc::compile(&sources);
    compiled.program.unwrap_or_default()
}

fn flat_lines() -> Vec<Value> {
    let config = GenConfig {
        events: LINES as u64,
        customers: 1000,
        products: 200,
        seed: 1,
        start: 1_767_571_200_000,
    };
    let mut out = Vec::new();
    write_stream(&config, &mut out).unwrap_or_default();
    out.split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

/// The track call this bench has measured since issue #20 began (a short, constant
/// `context`); `trigc gen --shape segment` writes a longer one that varies by
/// customer, measured end to end in BENCHMARKS.md.
fn segment(event: &Value) -> Value {
    let empty = Map::new();
    let o = event.as_object().unwrap_or(&empty);
    let properties: Map<String, Value> = o
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "type" | "user" | "ts"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let kind = o.get("type").and_then(Value::as_str).unwrap_or_default();
    let mut call = json!({
        "type": "track",
        "event": segment_name(kind),
        "messageId": "ajs-next-1767571200-4f1c2d3e",
        "timestamp": o.get("ts"),
        "properties": properties,
        "context": {
            "library": { "name": "analytics.js", "version": "4.1.0" },
            "ip": "203.0.113.7",
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "locale": "en-US"
        },
    });
    if let (Some(user), Some(call)) = (o.get("user"), call.as_object_mut()) {
        call.insert("userId".into(), user.clone());
    }
    call
}

fn csv_row(event: &Value) -> String {
    let cells: Vec<String> = COLUMNS
        .iter()
        .map(|c| match event.get(c) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        })
        .collect();
    cells.join(",")
}

fn stream(lines: impl Iterator<Item = String>) -> Vec<u8> {
    lines
        .flat_map(|l| l.into_bytes().into_iter().chain([b'\n']))
        .collect()
}

/// Read and decode every line of `text` under `program`; the events decoded.
fn decode_all(text: &[u8], decoder: &mut Decoder, interner: &mut Interner) -> usize {
    let mut event = Event::default();
    let mut reader = Lines::new(Cursor::new(text));
    let mut ok = 0;
    while let Ok(Some(line)) = reader.next_line() {
        let res = decoder.decode(line.bytes, line.number, interner, &mut event);
        ok += usize::from(res == Decoded::Event);
    }
    ok
}

/// Read and decode `text` under `program` in every sample.
fn bench_ndjson(bencher: divan::Bencher, text: &[u8], program: &Program) {
    let mut decoder = Decoder::new(program);
    let mut interner = Interner::default();
    bencher
        .counter(ItemsCount::new(LINES))
        .counter(BytesCount::new(text.len()))
        .bench_local(|| {
            let ok = decode_all(divan::black_box(text), &mut decoder, &mut interner);
            assert_eq!(ok, LINES);
        });
}

#[divan::bench]
fn flat_ndjson(bencher: divan::Bencher) {
    let text = stream(flat_lines().iter().map(Value::to_string));
    bench_ndjson(bencher, &text, &program(None));
}

#[divan::bench]
fn segment_ndjson(bencher: divan::Bencher) {
    let text = stream(flat_lines().iter().map(|e| segment(e).to_string()));
    let program = program(Some(include_str!("fixtures/segment-events.trig")));
    bench_ndjson(bencher, &text, &program);
}

#[divan::bench]
fn csv(bencher: divan::Bencher) {
    let header = COLUMNS.join(",");
    let text = stream(std::iter::once(header).chain(flat_lines().iter().map(csv_row)));
    let program = program(None);
    let columns: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    let mut shape = CsvShape::new(&program, &columns).expect("the bench header is good");
    let mut interner = Interner::default();
    let (mut records, mut cutter) = (Records::default(), Cells::default());
    let mut event = Event::default();
    bencher
        .counter(ItemsCount::new(LINES))
        .counter(BytesCount::new(text.len()))
        .bench_local(|| {
            let mut reader = Lines::new(Cursor::new(divan::black_box(&text)));
            let mut spare: Vec<&str> = Vec::new();
            let mut ok = 0;
            while let Ok(Some(line)) = reader.next_line() {
                let Cut::Record { number, text } = records.line(line, 1 << 20) else {
                    continue;
                };
                let Ok(text) = simdutf8::basic::from_utf8(text) else {
                    continue;
                };
                let mut cells = recycle(std::mem::take(&mut spare));
                cutter.split(text, &mut cells);
                let origin = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
                let read = shape.read_row(&cells, (number, origin), &mut interner, &mut event);
                ok += usize::from(read.is_some());
                spare = recycle(cells);
            }
            // The header row is no event.
            assert_eq!(ok, LINES);
        });
}
