//! `trigc run` cases as data: every `tests/cases/run/<case>/` holds `rules.trig`,
//! `events.ndjson` and optionally `args.txt` (extra `trigc run` arguments such as
//! `--lateness 5m`). The snapshot is the NDJSON output, the stderr notices (rejects,
//! late events, runtime errors) and the deterministic part of the summary.
//!
//! Each case runs under every engine trigc has, which must all give the snapshot.
//! It also runs once per input line with the session checkpointed to JSON and
//! restored right after that line (under the next engine): the output must be
//! identical, which proves the runtime state is plain data that survives a
//! checkpoint anywhere. And it runs with time advanced between lines to every
//! instant the runtime says is due (`advance_to(next_due())`, up to the next
//! event's time), which must change nothing either. And it runs with an
//! incremental checkpoint (`durable::rows`: only the rows changed since the last)
//! after every line, the session restored from the rows every few lines (under the
//! next engine): the output must be identical too.
//!
//! At the end, a few tests run the built binary for exit codes and the separation
//! of stdout (records only) from stderr.

#[path = "common/bin.rs"]
#[expect(
    dead_code,
    reason = "this test spawns trigc with stdin itself; `run` and `text` serve others"
)]
mod bin;
#[path = "common/temp.rs"]
#[expect(
    dead_code,
    reason = "this test writes its files itself; `write` serves others"
)]
mod temp;

use std::path::Path;

use temp::temp_dir;

use clap::Parser;
use trigc::cli::run::RunArgs;
use trigc::cli::{Cli, Command as Sub};
use trigc::driver::{
    Checkpoint, CheckpointHead, EngineKind, LineOutcome, Session, describe_notice,
};
use trigc::durable::rows::{self as rows, Reader, RowsMeta, Stored, Table};
use trigc::interp::Engine;
use trigc::interp::Interner;
use trigc::io::Lines;
use trigc::io::sink::write_record;
use trigc::io::{Decoded, Decoder};
use trigc::ir::Program;
use trigc::runtime::RuntimeState;
use trigc::runtime::rows::Head;
use trigc::runtime::{ActionRecord, Notice, Output, RuntimeConfig, StartIndexUse};
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

/// How to replay a case.
#[derive(Clone, Copy, Debug)]
struct Replay {
    engine: EngineKind,
    /// Checkpoint the session to JSON after this line and continue from the
    /// restored copy, under `resume_engine`.
    checkpoint_after: Option<u64>,
    resume_engine: EngineKind,
    /// Before each event, advance time to every due instant up to the event's time.
    advance: bool,
    /// Whether the start index is used (`Always` unless a replay compares it with
    /// `Never`); `resume_index` after the checkpoint.
    index: StartIndexUse,
    resume_index: StartIndexUse,
    /// Write an incremental checkpoint to [`RowStore`] after every line, and
    /// continue from the rows after every this many lines (under
    /// `resume_engine`).
    rows_every: Option<u64>,
}

/// A state store in memory, written as `trigc run --state` writes fjall: the rows
/// changed since the last checkpoint, and the head.
#[derive(Default)]
struct RowStore {
    rows: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    stored: Option<Stored>,
    head: Option<(String, String, RowsMeta)>,
}

impl RowStore {
    fn save(&mut self, session: &mut Session<'_>) {
        let changes = session.runtime.take_changes();
        let state = session.runtime.state();
        let w = rows::changed(state, &changes, &mut self.stored).expect("rows serialise");
        if let Some(lens) = w.full {
            for (table, len) in Table::ALL.into_iter().zip(lens) {
                let from = rows::key(table, u32::try_from(len).expect("rows fit")).to_vec();
                let to = rows::key(table, u32::MAX).to_vec();
                let past: Vec<Vec<u8>> =
                    self.rows.range(from..=to).map(|(k, _)| k.clone()).collect();
                for k in past {
                    self.rows.remove(&k);
                }
            }
        }
        for k in &w.remove {
            self.rows.remove(k.as_slice());
        }
        for (k, v) in w.put {
            self.rows.insert(k.to_vec(), v);
        }
        let head = serde_json::to_string(&session.checkpoint_head()).expect("head serialises");
        let runtime = serde_json::to_string(&state.head()).expect("head serialises");
        self.head = Some((head, runtime, w.meta));
    }

    fn load(&mut self, program: &Program) -> Checkpoint {
        let (head, runtime, meta) = self.head.as_ref().expect("a checkpoint was saved");
        let mut reader = Reader::default();
        for (k, v) in &self.rows {
            reader.row(k, v).expect("rows read back");
        }
        let (rows, stored) = reader.finish(meta).expect("the rows are the checkpoint's");
        self.stored = Some(stored);
        let head: CheckpointHead = serde_json::from_str(head).expect("head reads back");
        let runtime: Head = serde_json::from_str(runtime).expect("head reads back");
        head.with_runtime(RuntimeState::from_rows(Some(program), runtime, rows))
    }
}

impl Replay {
    fn under(engine: EngineKind) -> Replay {
        Replay {
            engine,
            checkpoint_after: None,
            resume_engine: engine,
            advance: false,
            index: StartIndexUse::Always,
            resume_index: StartIndexUse::Always,
            rows_every: None,
        }
    }
}

fn engine(kind: EngineKind) -> Box<dyn Engine> {
    kind.build()
        .unwrap_or_else(|e| panic!("{}: {e}", kind.name()))
}

fn replay(case: &Case, how: Replay) -> String {
    let mut out = Collect {
        program: &case.program,
        sources: &case.sources,
        out: String::new(),
        err: String::new(),
    };
    let config = RuntimeConfig {
        start_index: how.index,
        track_changes: how.rows_every.is_some(),
        ..case.config
    };
    let mut session =
        Session::new(&case.program, engine(how.engine), config).expect("engine prepares");
    if how.advance {
        // Advancing to a held event's time would make it late once confirmed: the
        // clock test runs without the stray-time guard (which changes no case's
        // output, as the straight replay shows).
        session.set_max_jump(0);
    }
    // Decodes each line once more, only to learn its time (for `advance`).
    let mut peek = (
        Decoder::new(&case.program),
        trigc::interp::Interner::default(),
        trigc::runtime::Event::default(),
    );
    let mut lines = Lines::new(&case.events[..]);
    let mut restored = false;
    let mut store = RowStore::default();
    while let Some(line) = lines.next_line().expect("reading from memory") {
        let number = line.number;
        if how.advance {
            let (decoder, interner, event) = &mut peek;
            if let Decoded::Event = decoder.decode(line.bytes, number, interner, event) {
                advance_until(&mut session, event.ts, &mut out);
            }
        }
        if let LineOutcome::Rejected(reject) = session.line(line, &mut out) {
            out.err.push_str(&format!("rejected {reject}\n"));
        }
        for (reject, _) in session.take_rejects() {
            out.err.push_str(&format!("rejected {reject}\n"));
        }
        if let Some(every) = how.rows_every {
            store.save(&mut session);
            if number % every == 0 {
                let checkpoint = store.load(&case.program);
                session =
                    Session::resume(&case.program, engine(how.resume_engine), config, checkpoint)
                        .expect("the rows resume");
            }
        }
        if !restored && how.checkpoint_after.is_some_and(|n| number >= n) {
            restored = true;
            let bytes = session.checkpoint().to_bytes().expect("state serialises");
            let checkpoint = Checkpoint::from_bytes(&bytes).expect("state deserialises");
            session = Session::resume(
                &case.program,
                engine(how.resume_engine),
                RuntimeConfig {
                    start_index: how.resume_index,
                    ..case.config
                },
                checkpoint,
            )
            .expect("engine prepares");
        }
    }
    session.input.blank = lines.blank();
    session.finish(&mut out);
    for (reject, _) in session.take_rejects() {
        out.err.push_str(&format!("rejected {reject}\n"));
    }
    let summary = serde_json::to_string_pretty(&session.summary()).expect("summary serialises");
    format!(
        "--- stdout\n{}--- stderr\n{}--- summary\n{summary}\n",
        out.out, out.err
    )
}

/// Advance the session to each instant it reports due, up to `until`.
fn advance_until(session: &mut Session<'_>, until: i64, out: &mut Collect<'_>) {
    let mut last = None;
    while let Some(due) = session.next_due()
        && due <= until
        && last != Some(due)
    {
        session.advance_to(due, out);
        last = Some(due);
    }
}

#[test]
fn run_cases() {
    let engines = EngineKind::available();
    // Where Cranelift has a backend, the JIT must be among them: a host that
    // silently lost it would compare the interpreter with itself.
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        assert!(engines.contains(&EngineKind::Jit), "{engines:?}");
    }
    insta::glob!("cases/run/*/rules.trig", |path| {
        let dir = path.parent().expect("case directory");
        let case = load(dir);
        let straight = replay(&case, Replay::under(EngineKind::Interp));
        for (i, &kind) in engines.iter().enumerate() {
            let under = replay(&case, Replay::under(kind));
            assert_eq!(
                under,
                straight,
                "{}: {} differs",
                dir.display(),
                kind.name()
            );
            // The start index changes nothing but the work done (docs: issue #17).
            let unindexed = replay(
                &case,
                Replay {
                    index: StartIndexUse::Never,
                    resume_index: StartIndexUse::Never,
                    ..Replay::under(kind)
                },
            );
            assert_eq!(
                unindexed,
                straight,
                "{}: {} without the start index differs",
                dir.display(),
                kind.name()
            );
            let next = engines[(i + 1) % engines.len()];
            let lines = case.events.split(|&b| b == b'\n').count() as u64;
            for n in 0..=lines {
                let resumed = replay(
                    &case,
                    Replay {
                        checkpoint_after: Some(n),
                        resume_engine: next,
                        // Half the replays switch the index on or off at the
                        // checkpoint: it is no part of the state.
                        index: if n % 4 == 1 {
                            StartIndexUse::Never
                        } else {
                            StartIndexUse::Always
                        },
                        resume_index: if n % 4 == 2 {
                            StartIndexUse::Never
                        } else {
                            StartIndexUse::Always
                        },
                        ..Replay::under(kind)
                    },
                );
                assert_eq!(
                    resumed,
                    straight,
                    "{}: checkpoint after line {n} ({} resumed by {}) changes the run",
                    dir.display(),
                    kind.name(),
                    next.name()
                );
            }
            // Incremental checkpoints after every line, resumed from the rows every
            // line, and every third line (changes pile up between restores).
            for every in [1, 3] {
                let incremental = replay(
                    &case,
                    Replay {
                        rows_every: Some(every),
                        resume_engine: next,
                        ..Replay::under(kind)
                    },
                );
                assert_eq!(
                    incremental,
                    straight,
                    "{}: incremental checkpoints (restored every {every} lines, {} resumed \
                     by {}) change the run",
                    dir.display(),
                    kind.name(),
                    next.name()
                );
            }
            // Advancing time early moves the watermark, which lateness forbids.
            if case.config.lateness <= 0 {
                let advanced = replay(
                    &case,
                    Replay {
                        advance: true,
                        ..Replay::under(kind)
                    },
                );
                assert_eq!(
                    advanced,
                    straight,
                    "{}: advancing time to each due instant changes the run",
                    dir.display()
                );
            }
        }
        insta::assert_snapshot!(straight);
    });
}

// ---- through the built binary ----

fn trigc(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = bin::trigc()
        .args(args)
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

    // Both engines run; the JIT is the default, and `--stats` counts the functions
    // it compiled.
    for engine in ["jit", "interp"] {
        let out = trigc(&["run", good, "--engine", engine, "--stats"], b"");
        assert_eq!(out.status.code(), Some(0), "--engine {engine}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("\"engine\":\"{engine}\"")),
            "{stderr}"
        );
    }
    let out = trigc(&["run", good, "--stats"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"engine\":\"jit\""), "{stderr}");
    assert!(!stderr.contains("\"compiled_functions\":0"), "{stderr}");

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
