//! `trigc gen --shape` through the built binary: the same stream as flat NDJSON,
//! Segment track calls and CSV carries the same events, so `rules/` (with the
//! Segment declarations of `benches/fixtures/segment-events.trig` for the track
//! calls) fires the same actions on each. Action ids differ: they hash the line.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/temp.rs"]
mod temp;

use bin::{run as trigc, text};
use temp::{temp_dir, write};

const GEN: [&str; 7] = [
    "gen",
    "--events",
    "20000",
    "--customers",
    "800",
    "--seed",
    "3",
];

/// The records of `out` with their ids taken out, and the summary's counts with
/// its timings taken out.
fn records_and_stats(out: &std::process::Output) -> (Vec<serde_json::Value>, serde_json::Value) {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let records = text(&out.stdout)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("a JSON record");
            v.as_object_mut().map(|o| o.remove("id"));
            v
        })
        .collect();
    let stats_line = text(&out.stderr)
        .lines()
        .rfind(|l| l.starts_with('{'))
        .map(str::to_owned)
        .unwrap_or_default();
    let mut stats: serde_json::Value = serde_json::from_str(&stats_line).expect("--stats JSON");
    for timing in ["elapsed_ms", "events_per_sec"] {
        stats.as_object_mut().map(|o| o.remove(timing));
    }
    (records, stats)
}

#[test]
fn every_shape_carries_the_same_events() {
    let dir = temp_dir("gen-shapes");
    let shaped = |shape: &str, name: &str| {
        let out = trigc(&[&GEN[..], &["--shape", shape]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        write(&dir, name, &out.stdout)
    };
    let flat = shaped("flat", "events.ndjson");
    let segment = shaped("segment", "segment.ndjson");
    let csv = shaped("csv", "events.csv");

    // `--shape flat` is what `trigc gen` wrote before it had shapes.
    let plain = trigc(&GEN);
    assert_eq!(std::fs::read(&flat).expect("written"), plain.stdout);

    // Every Segment line is a track call with its fields under `properties`.
    let lines = std::fs::read_to_string(&segment).expect("written");
    assert_eq!(lines.lines().count(), 20_000);
    for line in lines.lines().take(200) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(v["type"], "track", "{line}");
        assert!(
            v["event"].is_string() && v["properties"].is_object(),
            "{line}"
        );
        assert!(v["context"]["library"]["name"].is_string(), "{line}");
    }
    // A header and one row per event.
    let rows = std::fs::read_to_string(&csv).expect("written");
    assert_eq!(rows.lines().count(), 20_001);
    assert!(rows.starts_with("type,user,ts,product,"));

    let rules = std::fs::read_dir("rules").expect("rules/ beside the tests");
    let seg_rules = dir.join("segment-rules");
    std::fs::create_dir_all(&seg_rules).expect("a directory");
    for entry in rules.filter_map(Result::ok) {
        let name = entry.file_name();
        let from = if name == "events.trig" {
            "benches/fixtures/segment-events.trig".into()
        } else {
            entry.path()
        };
        std::fs::copy(from, seg_rules.join(name)).expect("copied");
    }
    let seg_rules = seg_rules.display().to_string();

    let run = |rules: &str, input: &str| trigc(&["run", rules, "--input", input, "--stats"]);
    let (flat_records, flat_stats) = records_and_stats(&run("rules", &flat));
    assert!(
        flat_records.len() > 500,
        "the rules fire: {}",
        flat_records.len()
    );
    assert_eq!(flat_stats["rejected"], 0);
    for (name, out) in [
        ("segment", run(&seg_rules, &segment)),
        ("csv", run("rules", &csv)),
    ] {
        let (records, stats) = records_and_stats(&out);
        assert_eq!(stats, flat_stats, "{name}");
        assert_eq!(records, flat_records, "{name}");
    }
}

#[test]
fn a_shape_is_refused_beside_rules() {
    let out = trigc(&["gen", "--rules", "3", "--shape", "csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--shape"),
        "{}",
        text(&out.stderr)
    );
}
