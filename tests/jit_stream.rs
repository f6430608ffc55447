//! The whole-stream differential: generated events through `rules/` and through
//! a generated 1,000-trigger program, under `--engine interp` and `--engine jit`,
//! must give byte-identical stdout and the same stderr, `--stats` included apart
//! from its timing and engine fields. 50k events keep `cargo test` fast; the figure for 1M events, run
//! by hand with the same commands, is in BENCHMARKS.md.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/temp.rs"]
#[expect(
    dead_code,
    reason = "this test writes its files through trigc; `write` serves others"
)]
mod temp;

use bin::{run, text};

const EVENTS: &str = "50000";

/// The `--stats` fields that may differ between engines: timing and the engine's
/// own counters.
const ENGINE_FIELDS: [&str; 4] = [
    "elapsed_ms",
    "events_per_sec",
    "engine",
    "compiled_functions",
];

/// stdout and stderr of `trigc run RULES --input EVENTS --engine ENGINE --stats`,
/// with the timing and engine fields left out of the stats line.
fn run_under(rules: &str, events: &str, engine: &str) -> (Vec<u8>, String) {
    let out = run(&[
        "run", rules, "--input", events, "--engine", engine, "--stats",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{engine}: {}",
        text(&out.stderr)
    );
    let stderr = text(&out.stderr)
        .lines()
        .map(
            |line| match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(mut stats)) => {
                    for field in ENGINE_FIELDS {
                        assert!(stats.remove(field).is_some(), "--stats has {field}");
                    }
                    serde_json::Value::Object(stats).to_string()
                }
                _ => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n");
    (out.stdout, stderr)
}

fn assert_engines_agree(rules: &str, events: &str) {
    let (interp_out, interp_err) = run_under(rules, events, "interp");
    let (jit_out, jit_err) = run_under(rules, events, "jit");
    assert!(!interp_out.is_empty(), "{rules}: the stream fires nothing");
    assert!(
        interp_out == jit_out,
        "{rules}: stdout differs ({} against {} bytes)",
        interp_out.len(),
        jit_out.len()
    );
    assert_eq!(interp_err, jit_err, "{rules}: stderr differs");
}

#[test]
fn generated_stream_is_identical_under_both_engines() {
    let dir = temp::temp_dir("jit-stream");
    let events = dir.join("events.ndjson");
    let events = events.to_str().expect("utf-8 path");
    let out = run(&[
        "gen",
        "--events",
        EVENTS,
        "--customers",
        "5000",
        "--out",
        events,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_engines_agree("rules", events);

    let rules = dir.join("generated.trig");
    let rules = rules.to_str().expect("utf-8 path");
    let out = run(&["gen", "--rules", "1000", "--out", rules]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_engines_agree(rules, events);
}
