//! `trigc run` cases as data: every `tests/cases/run/<case>/` holds `rules.trig`,
//! `events.ndjson` and optionally `args.txt` (extra `trigc run` arguments such as
//! `--lateness 5m`). The snapshot is the NDJSON output, the stderr notices (rejects,
//! late events, runtime errors) and the deterministic part of the summary.
//!
//! Each case also runs once per input line with the session checkpointed to JSON
//! and restored right after that line: the output must be identical, which proves
//! the runtime state is plain data that survives a checkpoint anywhere.
//!
//! At the end, a few tests run the built binary for exit codes and the separation
//! of stdout (records only) from stderr.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use trigc::cli::run::{Checkpoint, LineOutcome, RunArgs, Session, describe_notice};
use trigc::cli::{Cli, Command as Sub};
use trigc::interp::Interner;
use trigc::io::Lines;
use trigc::io::sink::write_record;
use trigc::ir::Program;
use trigc::runtime::{ActionRecord, Notice, Output, RuntimeConfig};
use trigc::syntax::SourceMap;

/// Collects records and notices as text.
struct Collect<'a> {
    program: &'a Program,
    sources: &'a SourceMap,
    out: String,
    err: String,
}

impl Output for Collect<'_> {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        let mut buf = Vec::new();
        write_record(&mut buf, record, program, interner);
        self.out.push_str(&String::from_utf8_lossy(&buf));
        self.out.push('\n');
    }

    fn notice(&mut self, notice: &Notice) {
        self.err
            .push_str(&describe_notice(notice, self.program, self.sources));
        self.err.push('\n');
    }
}

struct Case {
    sources: SourceMap,
    program: Program,
    config: RuntimeConfig,
    events: Vec<u8>,
}

fn load(dir: &Path) -> Case {
    let rules_path = dir.join("rules.trig");
    let rules = std::fs::read_to_string(&rules_path)
        .unwrap_or_else(|e| panic!("{}: {e}", rules_path.display()));
    let mut sources = SourceMap::default();
    sources.add("rules.trig", rules);
    let compiled = trigc::compile(&sources);
    let errors = compiled.errors_text(&sources);
    assert!(
        errors.is_empty(),
        "{}: rules do not compile:\n{errors}",
        dir.display()
    );
    let program = compiled.program.expect("no errors means a program");
    let args_text = std::fs::read_to_string(dir.join("args.txt")).unwrap_or_default();
    let mut argv = vec!["trigc", "run", "rules.trig"];
    argv.extend(args_text.split_whitespace());
    let cli = Cli::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("{}: bad args.txt: {e}", dir.display()));
    let Sub::Run(args): Sub = cli.command else {
        panic!("not a run command")
    };
    let args: RunArgs = args;
    let events = std::fs::read(dir.join("events.ndjson")).expect("events.ndjson");
    Case {
        sources,
        program,
        config: args.config(),
        events,
    }
}

/// Replay the case; with `checkpoint_after = Some(n)`, checkpoint the session to
/// JSON after the n-th line and continue from the restored copy.
fn replay(case: &Case, checkpoint_after: Option<u64>) -> String {
    let mut out = Collect {
        program: &case.program,
        sources: &case.sources,
        out: String::new(),
        err: String::new(),
    };
    let mut session = Session::new(&case.program, case.config);
    let mut lines = Lines::new(&case.events[..]);
    let mut restored = false;
    while let Some(line) = lines.next_line().expect("reading from memory") {
        let number = line.number;
        if let LineOutcome::Rejected(reject) = session.line(line, &mut out) {
            out.err.push_str(&format!("rejected {reject}\n"));
        }
        if !restored && checkpoint_after.is_some_and(|n| number >= n) {
            restored = true;
            let json = serde_json::to_string(&session.checkpoint()).expect("state serialises");
            let checkpoint: Checkpoint = serde_json::from_str(&json).expect("state deserialises");
            session = Session::resume(&case.program, case.config, checkpoint);
        }
    }
    session.input.blank = lines.blank();
    session.finish(&mut out);
    let summary = serde_json::to_string_pretty(&session.summary()).expect("summary serialises");
    format!(
        "--- stdout\n{}--- stderr\n{}--- summary\n{summary}\n",
        out.out, out.err
    )
}

#[test]
fn run_cases() {
    insta::glob!("cases/run/*/rules.trig", |path| {
        let dir = path.parent().expect("case directory");
        let case = load(dir);
        let straight = replay(&case, None);
        let lines = case.events.split(|&b| b == b'\n').count() as u64;
        for n in 0..=lines {
            let resumed = replay(&case, Some(n));
            assert_eq!(
                resumed,
                straight,
                "{}: checkpoint after line {n} changes the run",
                dir.display()
            );
        }
        insta::assert_snapshot!(straight);
    });
}

// ---- through the built binary ----

fn trigc(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_trigc"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the trigc binary runs");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin).expect("write stdin");
    }
    child.wait_with_output().expect("trigc finishes")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trigc-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const RULES: &str = "event PURCHASE { order: string, amount: float }\n\
    trigger big on PURCHASE where amount > 100 then emit \"big\" with { order: order }\n";

#[test]
fn binary_writes_only_records_to_stdout_and_counts_rejects() {
    let dir = temp_dir("ok");
    let rules = dir.join("r.trig");
    std::fs::write(&rules, RULES).expect("write rules");
    let rejects = dir.join("rejects.ndjson");
    let input = b"{\"type\":\"PURCHASE\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:00:00Z\",\"order\":\"o1\",\"amount\":150}\n\
        not json\n\
        {\"type\":\"PURCHASE\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:01:00Z\",\"order\":\"o2\"}\n";
    let out = trigc(
        &[
            "run",
            rules.to_str().expect("utf-8 path"),
            "--rejects",
            rejects.to_str().expect("utf-8 path"),
            "--stats",
        ],
        input,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    for line in stdout.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).expect("stdout holds JSON records only");
        assert_eq!(v["trigger"], "big");
        assert_eq!(v["payload"]["order"], "o1");
    }
    assert!(stderr.contains("rejected line 2:"), "{stderr}");
    assert!(stderr.contains("rejected line 3:"), "{stderr}");
    let stats: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap_or_default())
        .expect("--stats prints one JSON object last");
    assert_eq!(stats["rejected"], 2);
    assert_eq!(stats["events_read"], 3);
    assert_eq!(stats["actions"]["big"], 1);
    let copied = std::fs::read_to_string(&rejects).expect("rejects file");
    assert_eq!(
        copied,
        "not json\n{\"type\":\"PURCHASE\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:01:00Z\",\"order\":\"o2\"}\n"
    );
}

#[test]
fn binary_exit_codes() {
    let dir = temp_dir("codes");
    let good = dir.join("good.trig");
    std::fs::write(&good, RULES).expect("write rules");
    let bad = dir.join("bad.trig");
    std::fs::write(&bad, "trigger t on NOPE then emit \"x\"\n").expect("write rules");
    let good = good.to_str().expect("utf-8 path");

    let out = trigc(&["run", bad.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(1), "rule errors exit 1");
    assert!(out.stdout.is_empty());

    let out = trigc(
        &[
            "run",
            good,
            "--input",
            dir.join("missing.ndjson").to_str().expect("utf-8 path"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "an unreadable input exits 2");

    let out = trigc(&["run", good, "--engine", "jit"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--engine interp"));

    let out = trigc(&["run", good, "--lateness", "soon"], b"");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad duration is a usage error"
    );

    let out = trigc(&["run", good], b"");
    assert_eq!(out.status.code(), Some(0), "empty input is fine");
    assert!(out.stdout.is_empty());
}
