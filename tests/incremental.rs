//! Incremental checkpoints of `trigc run --state DIR` (`durable::rows`): a run
//! checkpointed every few hundred events, killed with SIGKILL at random moments
//! and restarted (alternating the interpreter and the JIT) until its input is
//! consumed, prints every record of an uninterrupted run and no other; only the
//! first checkpoint writes every row, the others the rows that changed; a damaged
//! or missing customer row is refused.

#[path = "common/bin.rs"]
#[expect(
    dead_code,
    reason = "this test builds its commands itself; `run` serves others"
)]
mod bin;
#[path = "common/crash.rs"]
mod crash;
#[path = "common/temp.rs"]
#[expect(
    dead_code,
    reason = "this test writes its files through trigc; `write` serves others"
)]
mod temp;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bin::{text, trigc};
use crash::{Rng, wait_up_to};
use temp::temp_dir;
use trigc::deliver::OutboxState;
use trigc::driver::Session;
use trigc::durable::{Beside, InputPosition, StateDir};
use trigc::interp::Interner;
use trigc::io::lines::Line;
use trigc::ir::Program;
use trigc::runtime::carry::program_print;
use trigc::runtime::{ActionRecord, Interp, Notice, Output, RuntimeConfig};
use trigc::syntax::SourceMap;

/// `trigc gen` events into `dir/events.ndjson`; its path.
fn events(dir: &Path, events: u32, customers: u32) -> String {
    let path = dir.join("events.ndjson").display().to_string();
    let out = trigc()
        .args(["gen", "--events", &events.to_string()])
        .args(["--customers", &customers.to_string(), "--seed", "7"])
        .args(["--out", &path])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    path
}

/// `trigc run rules/` over `input`, with `--state` and a checkpoint every `every`
/// events when given.
fn run(input: &str, engine: &str, state: Option<(&Path, u32)>) -> Command {
    let mut command = trigc();
    command.args(["run", "rules", "--input", input, "--engine", engine]);
    if let Some((dir, every)) = state {
        command
            .args(["--state", &dir.display().to_string()])
            .args(["--checkpoint-every", &every.to_string()])
            .arg("--stats");
    }
    command
}

/// The records a run printed, one per line.
fn lines(stdout: &[u8]) -> Vec<String> {
    text(stdout).lines().map(str::to_owned).collect()
}

/// The `checkpoints` member of a `--stats` summary on stderr.
fn checkpoint_stats(stderr: &[u8]) -> serde_json::Value {
    text(stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("checkpoints").cloned())
        .unwrap_or_else(|| panic!("no checkpoint stats in {}", text(stderr)))
}

#[test]
fn incremental_checkpoints_killed_and_restarted_print_the_uninterrupted_records() {
    killed_and_restarted("incr-crash", false);
}

/// The same from a gzip file: a restart reads up to the decompressed offset the
/// state holds (gzip has no seek), and prints what a run over the plain file prints.
#[test]
fn a_gzip_input_resumes_from_its_decompressed_offset() {
    killed_and_restarted("incr-crash-gz", true);
}

fn killed_and_restarted(name: &str, gzip: bool) {
    let dir = temp_dir(name);
    let plain = events(&dir, 40_000, 3_000);
    let input = if gzip {
        let path = format!("{plain}.gz");
        let file = std::fs::File::create(&path).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &std::fs::read(&plain).unwrap()).unwrap();
        encoder.finish().unwrap();
        path
    } else {
        plain.clone()
    };
    let started = Instant::now();
    let whole = run(&plain, "interp", None).output().unwrap();
    // Kills land within what a whole run takes on this machine now (between a tenth
    // and nine tenths of it), so the first run is killed whether the machine is idle
    // or loaded.
    let mut took = (started.elapsed().as_millis() as u64).max(20);
    assert!(whole.status.success(), "{}", text(&whole.stderr));
    let expected: HashSet<String> = lines(&whole.stdout).into_iter().collect();
    assert!(expected.len() > 100, "{} records", expected.len());

    let state = dir.join("state");
    let mut rng = Rng::from_clock();
    let (mut kills, mut runs) = (0, 0);
    let mut printed = HashSet::new();
    loop {
        runs += 1;
        assert!(runs < 60, "the replay never ended");
        // Checkpoints taken under one engine resume under the other.
        let engine = if runs % 2 == 0 { "jit" } else { "interp" };
        // Under load every earlier run may have been killed before its first
        // checkpoint: then this one starts afresh, and its first checkpoint is whole.
        let resumes = state.join("checkpoint.json").exists();
        let mut child = run(&input, engine, Some((&state, 500)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut { stdout }, &mut bytes).unwrap();
            bytes
        });
        let patience = Duration::from_millis(if kills < 6 {
            took / 10 + rng.next() % (took * 8 / 10)
        } else {
            120_000
        });
        let finished = wait_up_to(&mut child, patience);
        if finished.is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let output = child.wait_with_output().unwrap();
        let stdout = reader.join().unwrap();
        // A killed run may have printed half a line last.
        let complete = stdout
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(&stdout[..0], |end| &stdout[..=end]);
        printed.extend(lines(complete));
        if let Some(status) = finished {
            assert!(status.success(), "{}", text(&output.stderr));
            if kills == 0 {
                // Faster than the first whole run: start over, killing sooner.
                took = (took / 2).max(4);
                let _ = std::fs::remove_dir_all(&state);
                printed.clear();
                continue;
            }
            let stats = checkpoint_stats(&output.stderr);
            let fresh = u64::from(!resumes);
            assert_eq!(stats["full"], fresh, "resumed {resumes}: {stats}");
            break;
        }
    }
    eprintln!("{kills} kills, {runs} runs");
    assert!(kills > 0, "no run was killed");
    let missing: Vec<&String> = expected.difference(&printed).take(3).collect();
    assert!(
        missing.is_empty(),
        "after {kills} kills, not printed: {missing:?}"
    );
    let extra: Vec<&String> = printed.difference(&expected).take(3).collect();
    assert!(
        extra.is_empty(),
        "after {kills} kills, printed besides: {extra:?}"
    );
}

#[test]
fn only_the_first_checkpoint_of_a_run_writes_every_row() {
    let dir = temp_dir("incr-rows");
    let input = events(&dir, 30_000, 20_000);
    let state = dir.join("state");
    let out = run(&input, "interp", Some((&state, 4000)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stats = checkpoint_stats(&out.stderr);
    assert_eq!(stats["full"], 1, "{stats}");
    assert_eq!(stats["count"], 8, "{stats}");
    // The last checkpoint, at the end of the input, wrote the rows the last 2,000
    // events changed.
    assert!(stats["last_rows"].as_u64().unwrap() > 0, "{stats}");
}

const RULES: &str = "event ADD_TO_CART { product: string }\n\
    event PURCHASE { order: string }\n\
    state cart: set<string> { ADD_TO_CART -> insert(product)  PURCHASE -> clear() }\n\
    trigger remind on ADD_TO_CART wait 30d unless PURCHASE \
    then emit \"remind\" with { items: cart }\n";

struct Discard;

impl Output for Discard {
    fn action(&mut self, _: &ActionRecord<'_>, _: &Program, _: &Interner) {}
    fn notice(&mut self, _: &Notice) {}
}

/// One event line into `session`.
fn push(session: &mut Session<'_>, kind: &str, customer: u32, second: u32) {
    let line = format!(
        r#"{{"type":"{kind}","user":"customer-{customer}","ts":"2026-01-05T00:{:02}:{:02}Z","product":"p{}","order":"o"}}"#,
        second / 60,
        second % 60,
        customer % 7
    );
    let line = Line {
        number: 1,
        bytes: line.as_bytes(),
        terminated: true,
    };
    session.line(line, &mut Discard);
}

#[test]
fn a_checkpoint_writes_the_rows_that_changed() {
    let mut sources = SourceMap::default();
    sources.add("rows.trig", RULES);
    let program = trigc::compile(&sources).program.expect("the rules check");
    let config = RuntimeConfig::default();
    let mut session = Session::new(&program, Box::new(Interp), config).unwrap();
    for c in 0..1000 {
        push(&mut session, "ADD_TO_CART", c, 0);
    }
    let dir = temp_dir("incr-lib");
    let (mut state, _) = StateDir::open(&dir, &program, &config).unwrap();
    let print = program_print(&program);
    let (outbox, input) = (OutboxState::default(), InputPosition::default());
    let beside = Beside {
        print: &print,
        outbox: &outbox,
        input: &input,
    };
    let first = state
        .checkpoint_session(&mut session, beside, 1, 0, false)
        .unwrap();
    assert!(first.full);
    assert!(first.rows >= 2000, "{first:?}");
    // One customer adds to the cart (its entry and instance slot change), another
    // purchases (its instance ends, its entry is freed).
    push(&mut session, "ADD_TO_CART", 5, 1);
    push(&mut session, "PURCHASE", 6, 1);
    let second = state
        .checkpoint_session(&mut session, beside, 2, 0, false)
        .unwrap();
    assert!(!second.full);
    assert!(second.rows <= 6, "{second:?}");
    assert!(
        second.bytes < first.bytes / 50,
        "{second:?} after {first:?}"
    );
    let idle = state
        .checkpoint_session(&mut session, beside, 3, 0, false)
        .unwrap();
    assert_eq!(idle.rows, 0, "{idle:?}");
    drop(state);
    // The store holds the state as it is.
    let (_, restored) = StateDir::open(&dir, &program, &config).unwrap();
    let saved = restored.saved.expect("a checkpoint");
    let resumed = Session::resume(&program, Box::new(Interp), config, saved.session).unwrap();
    assert_eq!(resumed.runtime.pending_timers(), 999);
    assert_eq!(resumed.runtime.customers(), 999);
    assert_eq!(
        serde_json::to_value(resumed.runtime.state().customers.slots()).unwrap(),
        serde_json::to_value(session.runtime.state().customers.slots()).unwrap()
    );
}

/// A completed run's state directory.
fn completed_state(name: &str) -> (std::path::PathBuf, String) {
    let dir = temp_dir(name);
    let input = events(&dir, 5_000, 500);
    let state = dir.join("state");
    let out = run(&input, "interp", Some((&state, 1000)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    (state, input)
}

/// Change the store's rows with `edit`, then check that a restart refuses the
/// state with a message containing `says`.
fn refused_after_edit(name: &str, edit: fn(&fjall::Keyspace), says: &str) {
    let (state, input) = completed_state(name);
    {
        let db = fjall::Database::builder(&state).open().unwrap();
        let rows = db
            .keyspace("rows", fjall::KeyspaceCreateOptions::default)
            .unwrap();
        edit(&rows);
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    let out = run(&input, "interp", Some((&state, 1000)))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("damaged"), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_corrupted_customer_row_is_refused() {
    refused_after_edit(
        "incr-corrupt",
        |rows| {
            let key = [b'c', 0, 0, 0, 3];
            let mut value = rows.get(key).unwrap().unwrap().to_vec();
            // A digit of the JSON changed, the row's hash kept.
            let at = value.iter().rposition(u8::is_ascii_digit).unwrap();
            value[at] = if value[at] == b'9' {
                b'8'
            } else {
                value[at] + 1
            };
            rows.insert(key, value).unwrap();
        },
        "customer 3 does not match its checksum",
    );
}

#[test]
fn a_missing_customer_row_is_refused() {
    refused_after_edit(
        "incr-missing",
        |rows| rows.remove([b'c', 0, 0, 0, 3]).unwrap(),
        "customer 3 is missing",
    );
}
