//! The bundled example end to end: `trigc run rules/ --input rules/sample-events.ndjson`
//! (the README's first command) through the built binary. The snapshot is its stdout;
//! the test also holds the promises the README and `rules/events.trig` make about it:
//! every trigger declared in `rules/` fires at least once, stdout is nothing but
//! NDJSON action records, the sample is clean (no rejected or ignored line, no runtime
//! error), and the output is byte-identical from one run to the next.

#[path = "common/bin.rs"]
#[expect(
    dead_code,
    reason = "this test spawns trigc itself; `run` and `text` serve others"
)]
mod bin;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// `trigc run rules/ --input rules/sample-events.ndjson [extra...]`, from the crate root
/// (relative paths, as a user types them).
fn run_sample(extra: &[&str]) -> Output {
    let output = bin::trigc()
        .args(["run", "rules/", "--input", "rules/sample-events.ndjson"])
        .args(extra)
        .output()
        .expect("the trigc binary runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "trigc run failed; stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The trigger names the compiler finds in `rules/` (not a text scan, so a trigger
/// declared in an unusual layout is not missed).
fn declared_triggers() -> BTreeSet<String> {
    let (sources, load_diags) =
        trigc::cli::load::load_rules(&[rules_dir()]).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        load_diags.is_empty(),
        "rules/ does not load cleanly: {load_diags:?}"
    );
    let compiled = trigc::compile(&sources);
    let errors = compiled.errors_text(&sources);
    assert!(errors.is_empty(), "rules/ does not compile:\n{errors}");
    let program = compiled.program.expect("no errors means a program");
    program.triggers.iter().map(|t| t.name.clone()).collect()
}

#[test]
fn sample_fires_every_trigger_family() {
    let output = run_sample(&[]);
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");

    // Only NDJSON: every line one JSON object that is an action record.
    assert!(
        stdout.ends_with('\n'),
        "the last record ends with a newline"
    );
    let mut fired = BTreeSet::new();
    for (n, line) in stdout.lines().enumerate() {
        let record: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout line {} is not JSON ({e}): {line}", n + 1));
        let trigger = record["trigger"]
            .as_str()
            .unwrap_or_else(|| panic!("stdout line {} has no trigger: {line}", n + 1));
        assert!(
            record["action"].is_string(),
            "stdout line {} has no action: {line}",
            n + 1
        );
        assert!(
            record["key"].is_string(),
            "stdout line {} has no key: {line}",
            n + 1
        );
        fired.insert(trigger.to_owned());
    }

    let declared = declared_triggers();
    assert!(
        declared.len() >= 10,
        "rules/ declares the ten families: {declared:?}"
    );
    let silent: Vec<&String> = declared.difference(&fired).collect();
    assert!(
        silent.is_empty(),
        "triggers that never fire on the sample: {silent:?}"
    );
    let unknown: Vec<&String> = fired.difference(&declared).collect();
    assert!(
        unknown.is_empty(),
        "records from undeclared triggers: {unknown:?}"
    );

    insta::assert_snapshot!("sample_events_output", stdout);
}

#[test]
fn sample_is_clean_input() {
    let output = run_sample(&["--stats"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let stats: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("--stats ends stderr with JSON ({e}): {stderr}"));
    assert!(
        stats["events_read"].as_u64().is_some_and(|n| n >= 40),
        "{stats}"
    );
    assert_eq!(stats["rejected"], 0, "every sample line is valid: {stderr}");
    assert_eq!(
        stats["ignored"], 0,
        "every sample event type is declared: {stderr}"
    );
    assert_eq!(stats["late"], 0, "the sample is in time order: {stderr}");
    assert_eq!(stats["runtime_errors"], 0, "{stderr}");
}

#[test]
fn sample_output_is_byte_identical_across_runs() {
    let first = run_sample(&[]);
    let second = run_sample(&[]);
    assert!(!first.stdout.is_empty());
    assert!(
        first.stdout == second.stdout,
        "two runs over the same input differ"
    );
}
