//! Damaged and hand-edited checkpoints, through the library: a checkpoint of a run
//! over `rules/` with timers pending, events held for lateness, stray suspects and
//! several customers is (i) mutated byte by byte, which the checksum must refuse or
//! which must resume to the same output, and (ii) edited in one number of its body
//! to an edge value with the checksum recomputed, which must be refused or resume
//! and run the rest of the input to its end: never a panic, never a hang.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value as Json;
use trigc::driver::{Checkpoint, Session};
use trigc::interp::{Interner, Interp};
use trigc::io::lines::Line;
use trigc::io::sink::write_record;
use trigc::ir::Program;
use trigc::runtime::{ActionRecord, LatePolicy, Notice, Output, RuntimeConfig, StartIndexUse};

/// One hour of lateness: events are held at the checkpoint.
const CONFIG: RuntimeConfig = RuntimeConfig {
    lateness: 3_600_000,
    late: LatePolicy::Drop,
    until: None,
    start_index: StartIndexUse::Auto,
    track_changes: false,
};

/// Lines before the checkpoint; the rest of the sample follows the resume.
const FIRST_PART: usize = 26;

/// How long a resumed run may take before it counts as a hang (debug build).
const DEADLINE: Duration = Duration::from_secs(20);

struct Collect(String);

impl Output for Collect {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        let mut buf = Vec::new();
        write_record(&mut buf, record, program, interner);
        self.0.push_str(&String::from_utf8_lossy(&buf));
        self.0.push('\n');
    }
    fn notice(&mut self, notice: &Notice) {
        self.0.push_str(&format!("{notice:?}\n"));
    }
}

fn program() -> &'static Program {
    static PROGRAM: OnceLock<Program> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let (sources, _) = trigc::cli::load::load_rules(&[dir]).expect("rules/ loads");
        trigc::compile(&sources).program.expect("rules/ compiles")
    })
}

fn lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sample-events.ndjson");
        let text = std::fs::read_to_string(path).expect("the sample reads");
        text.lines().map(str::to_owned).collect()
    })
}

fn feed(session: &mut Session<'_>, from: usize, lines: &[String], out: &mut Collect) {
    for (i, line) in lines.iter().enumerate() {
        let line = Line {
            number: (from + i + 1) as u64,
            bytes: line.as_bytes(),
            terminated: true,
        };
        session.line(line, out);
    }
}

/// The checkpoint file after the first part of the input.
fn checkpoint_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let program = program();
        let mut session = Session::new(program, Box::new(Interp), CONFIG).expect("interp runs");
        let first = lines().get(..FIRST_PART).unwrap_or_default();
        feed(&mut session, 0, first, &mut Collect(String::new()));
        let state = &session.runtime.state();
        assert!(!state.clock.held.is_empty(), "events are held");
        assert!(!state.timers.is_empty(), "timers are pending");
        assert!(state.customers.len() > 1, "several customers");
        session.checkpoint().to_bytes().expect("state serialises")
    })
}

/// What resuming from `bytes` and running the rest of the input gives: `Ok(None)`
/// when the checkpoint is refused, `Err` on a panic or a hang.
fn resume(bytes: Vec<u8>) -> Result<Option<String>, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let program = program();
        let Ok(checkpoint) = Checkpoint::from_bytes(&bytes) else {
            let _ = tx.send(None);
            return;
        };
        let Ok(mut session) = Session::resume(program, Box::new(Interp), CONFIG, checkpoint) else {
            let _ = tx.send(None);
            return;
        };
        let mut out = Collect(String::new());
        let rest = lines().get(FIRST_PART..).unwrap_or_default();
        feed(&mut session, FIRST_PART, rest, &mut out);
        session.finish(&mut out);
        out.0.push_str(&format!("{:?}\n", session.summary()));
        let _ = tx.send(Some(out.0));
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(outcome) => Ok(outcome),
        Err(mpsc::RecvTimeoutError::Timeout) => Err("the resumed run hangs".into()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("the resumed run panicked".into()),
    }
}

fn unmutated_output() -> &'static str {
    static OUT: OnceLock<String> = OnceLock::new();
    OUT.get_or_init(|| {
        resume(checkpoint_bytes().to_vec())
            .expect("the unmutated resume runs")
            .expect("the unmutated checkpoint is accepted")
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Delete { at: usize },
    Insert { at: usize, byte: u8 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Delete { at }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match *m {
        Mutation::Flip { at, bit } => {
            if let Some(b) = bytes.get_mut(at % len) {
                *b ^= 1 << bit;
            }
        }
        Mutation::Set { at, byte } => {
            if let Some(b) = bytes.get_mut(at % len) {
                *b = byte;
            }
        }
        Mutation::Delete { at } => {
            if !bytes.is_empty() {
                bytes.remove(at % len);
            }
        }
        Mutation::Insert { at, byte } => bytes.insert(at % (bytes.len() + 1), byte),
    }
}

/// Paths (object keys and array indices) to every number in `v`.
fn number_paths(v: &Json, path: &mut Vec<Json>, out: &mut Vec<Vec<Json>>) {
    match v {
        Json::Number(_) => out.push(path.clone()),
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Json::from(i));
                number_paths(item, path, out);
                path.pop();
            }
        }
        Json::Object(members) => {
            for (k, item) in members {
                path.push(Json::from(k.as_str()));
                number_paths(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'a>(v: &'a mut Json, path: &[Json]) -> Option<&'a mut Json> {
    path.iter().try_fold(v, |v, step| match step {
        Json::String(k) => v.get_mut(k.as_str()),
        Json::Number(i) => v.get_mut(usize::try_from(i.as_u64()?).ok()?),
        _ => None,
    })
}

/// The number an edit puts in place of `orig`.
fn edge_value(orig: &serde_json::Number, choice: u8, delta: i64) -> Json {
    let near = orig.as_i64().map_or(0, |n| n.saturating_add(delta));
    match choice % 8 {
        0 => Json::from(0),
        1 => Json::from(1),
        2 => Json::from(-1),
        3 => Json::from(u32::MAX),
        4 => Json::from(i64::MAX),
        5 => Json::from(i64::MIN),
        6 => Json::from(99),
        _ => Json::from(near),
    }
}

/// The checkpoint with one number of its body edited and its checksum recomputed;
/// `None` when the edited body is no longer a checkpoint's shape at all.
fn edited(pick: usize, choice: u8, delta: i64) -> Option<(String, Vec<u8>)> {
    let bytes = checkpoint_bytes();
    let body = bytes.get(bytes.iter().position(|&b| b == b'\n')? + 1..)?;
    let mut json: Json = serde_json::from_slice(body).ok()?;
    let mut paths = Vec::new();
    number_paths(&json, &mut Vec::new(), &mut paths);
    let path = paths.get(pick % paths.len())?.clone();
    let slot = at_path(&mut json, &path)?;
    let Json::Number(orig) = slot else {
        return None;
    };
    let value = edge_value(orig, choice, delta);
    let what = format!("{path:?}: {slot} -> {value}");
    *slot = value;
    let checkpoint: Checkpoint = serde_json::from_value(json).ok()?;
    Some((what, checkpoint.to_bytes().ok()?))
}

#[test]
fn the_unmutated_checkpoint_resumes() {
    assert!(!unmutated_output().is_empty());
}

proptest! {
    #[test]
    fn mutated_bytes_are_refused_or_change_nothing(m in mutation()) {
        let mut bytes = checkpoint_bytes().to_vec();
        mutate(&mut bytes, &m);
        match resume(bytes) {
            Ok(None) => {}
            Ok(Some(out)) => prop_assert_eq!(out.as_str(), unmutated_output()),
            Err(e) => prop_assert!(false, "{:?}: {}", m, e),
        }
    }

    #[test]
    fn edited_numbers_are_refused_or_run_to_the_end(
        pick in any::<usize>(),
        choice in any::<u8>(),
        delta in -3i64..=3,
    ) {
        if let Some((what, bytes)) = edited(pick, choice, delta)
            && let Err(e) = resume(bytes)
        {
            prop_assert!(false, "{}: {}", what, e);
        }
    }
}
