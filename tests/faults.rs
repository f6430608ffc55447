//! Faults and careless neighbours, through the built binary: a stalled input, stop
//! signals, output paths that name the input under another name, special files where
//! regular ones belong, damaged checkpoints and a line split across two parts of
//! the input. Each test reproduces a defect that was once there.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/temp.rs"]
mod temp;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bin::{run as trigc, text};
use temp::{temp_dir, write};

const RULES: &str = "event VISIT { page: string? }\n\
trigger hello\n  cooldown 1d\n  on VISIT\n  then webhook \"https://h.example/x\"\n";

fn visit(user: &str, minute: u32) -> String {
    format!("{{\"type\":\"VISIT\",\"user\":\"{user}\",\"ts\":\"2026-01-05T10:{minute:02}:00Z\"}}\n")
}

/// `trigc run` reading a pipe that stays open; stdout comes back line by line over a
/// channel.
fn run_on_open_pipe(rules: &str) -> (Child, std::process::ChildStdin, mpsc::Receiver<String>) {
    let mut child = bin::trigc()
        .args(["run", rules])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trigc runs");
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, stdin, rx)
}

fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Decided actions reach stdout while the input stalls; a stop signal then flushes,
/// prints the summary and exits with the signal's conventional status.
#[test]
fn a_stalled_input_does_not_hold_actions_back_and_signals_stop_cleanly() {
    let dir = temp_dir("stall");
    let rules = write(&dir, "r.trig", RULES.as_bytes());
    for (sig, status) in [("TERM", 143), ("INT", 130)] {
        let (child, mut stdin, records) = run_on_open_pipe(&rules);
        stdin
            .write_all(format!("{}{}", visit("a", 0), visit("b", 1)).as_bytes())
            .expect("write events");
        stdin.flush().expect("flush");
        for user in ["a", "b"] {
            let record = records
                .recv_timeout(Duration::from_secs(20))
                .expect("a decided action is written while the input stalls");
            assert!(record.contains(&format!("\"key\":\"{user}\"")), "{record}");
        }
        signal(&child, sig);
        let out = child.wait_with_output().expect("trigc ends");
        drop(stdin);
        assert_eq!(out.status.code(), Some(status), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("events read: 2,"), "{stderr}");
        assert!(
            stderr.contains(&format!("stopped by SIG{sig} after line 2")),
            "{stderr}"
        );
    }
}

/// `--rejects` naming the input through a hard link, or the file given as stdin,
/// is refused before anything is opened for writing: the input stays whole.
#[test]
fn rejects_naming_the_input_by_another_name_are_refused() {
    let dir = temp_dir("rejects-link");
    let rules = write(&dir, "r.trig", RULES.as_bytes());
    let events = format!("{}not json\n", visit("a", 0));
    let input = write(&dir, "in.ndjson", events.as_bytes());
    let link = dir.join("link.ndjson");
    std::fs::hard_link(&input, &link).expect("hard link");
    let link = link.display().to_string();
    let out = trigc(&["run", &rules, "--input", &input, "--rejects", &link]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("would overwrite the input"));
    // `trigc run r.trig --rejects in.ndjson < in.ndjson`
    let out = bin::trigc()
        .args(["run", &rules, "--rejects", &input])
        .stdin(std::fs::File::open(&input).expect("open input"))
        .output()
        .expect("trigc runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&input).ok(), Some(events));
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// Special files where a regular file belongs are refused (never replaced, never
/// read without end), and a FIFO among the rules is not read.
#[test]
fn special_files_are_not_checkpoints_or_rules() {
    let dir = temp_dir("special");
    let rules = write(&dir, "r.trig", RULES.as_bytes());
    let input = write(&dir, "in.ndjson", visit("a", 0).as_bytes());
    let fifo = dir.join("state.fifo");
    mkfifo(&fifo);
    let fifo_path = fifo.display().to_string();
    for target in [fifo_path.as_str(), "/dev/null"] {
        let out = trigc(&["run", &rules, "--input", &input, "--checkpoint", target]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("give the path of a regular file"));
    }
    let kind = std::fs::metadata(&fifo).expect("still there").file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "not replaced"
    );
    let out = trigc(&["run", &rules, "--input", &input, "--resume", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not a regular file"));
    // A rules directory holding a FIFO named like a rule file.
    let rules_dir = dir.join("rules");
    std::fs::create_dir_all(&rules_dir).expect("dir");
    write(&rules_dir, "a.trig", RULES.as_bytes());
    mkfifo(&rules_dir.join("b.trig"));
    let out = trigc(&["check", &rules_dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A run of [`RULES`] over one event in `dir`, checkpointed.
struct Checkpointed {
    rules: String,
    input: String,
    /// The checkpoint file's bytes.
    bytes: Vec<u8>,
}

fn checkpointed(dir: &Path) -> Checkpointed {
    let rules = write(dir, "r.trig", RULES.as_bytes());
    let input = write(dir, "in.ndjson", visit("a", 0).as_bytes());
    let state = dir.join("state.json");
    let out = trigc(&[
        "run",
        &rules,
        "--input",
        &input,
        "--checkpoint",
        &state.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bytes = std::fs::read(&state).expect("checkpoint written");
    Checkpointed {
        rules,
        input,
        bytes,
    }
}

/// A checkpoint with any byte changed is refused with a clear error, never used.
#[test]
fn a_damaged_checkpoint_is_refused() {
    let dir = temp_dir("damaged");
    let Checkpointed {
        rules,
        input,
        bytes: good,
    } = checkpointed(&dir);
    let damaged = dir.join("damaged.json");
    let damaged_path = damaged.display().to_string();
    // A flipped bit in the body, in the header, and a truncated copy.
    let header_end = good.iter().position(|&b| b == b'\n').expect("header line");
    for (i, bit) in [(header_end + 40, 1u8), (header_end + 1, 0x20), (10, 4)] {
        let mut bytes = good.clone();
        bytes[i.min(good.len() - 1)] ^= bit;
        std::fs::write(&damaged, &bytes).expect("write");
        let out = trigc(&["run", &rules, "--input", &input, "--resume", &damaged_path]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "byte {i}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(&damaged_path),
            "{}",
            text(&out.stderr)
        );
    }
    std::fs::write(&damaged, &good[..good.len() - 3]).expect("write");
    let out = trigc(&["run", &rules, "--input", &input, "--resume", &damaged_path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("truncated"),
        "{}",
        text(&out.stderr)
    );
}

/// A hand-edited checkpoint whose checksum was recomputed (a watermark past every
/// time, which once made schedules tick without end) is refused by name, exit 2.
#[test]
fn an_edited_checkpoint_with_a_good_checksum_is_refused() {
    let dir = temp_dir("edited");
    let Checkpointed {
        rules,
        input,
        bytes: good,
    } = checkpointed(&dir);
    let state = dir.join("edited.json");
    let state_path = state.display().to_string();
    let header_end = good.iter().position(|&b| b == b'\n').expect("header line");
    let mut body: serde_json::Value =
        serde_json::from_slice(&good[header_end + 1..]).expect("a JSON body");
    body["runtime"]["clock"]["watermark"] = serde_json::json!(i64::MAX);
    let edited: trigc::driver::Checkpoint = serde_json::from_value(body).expect("a checkpoint");
    std::fs::write(&state, edited.to_bytes().expect("serialises")).expect("write");
    let out = trigc(&["run", &rules, "--input", &input, "--resume", &state_path]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with(&format!(
            "error: `{state_path}` is not a usable checkpoint: the watermark 9223372036854775807"
        )),
        "{}",
        text(&out.stderr)
    );
}

/// A file split in the middle of a line across `--checkpoint` and `--resume`: the
/// line that straddles the split is read whole by the second part.
#[test]
fn a_line_split_across_checkpoint_and_resume_is_not_lost() {
    let dir = temp_dir("split-line");
    let rules = write(&dir, "r.trig", RULES.as_bytes());
    let whole = format!("{}{}{}", visit("a", 0), visit("b", 1), visit("c", 2));
    let at = whole.len() - 20; // inside the third line
    let (first, second) = whole.split_at(at);
    let whole_path = write(&dir, "whole.ndjson", whole.as_bytes());
    let first = write(&dir, "a.ndjson", first.as_bytes());
    let second = write(&dir, "b.ndjson", second.as_bytes());
    let state = dir.join("state.json").display().to_string();
    let one = trigc(&["run", &rules, "--input", &whole_path]);
    let part_a = trigc(&["run", &rules, "--input", &first, "--checkpoint", &state]);
    assert_eq!(part_a.status.code(), Some(0), "{}", text(&part_a.stderr));
    assert!(
        !text(&part_a.stderr).contains("rejected line"),
        "{}",
        text(&part_a.stderr)
    );
    let part_b = trigc(&["run", &rules, "--input", &second, "--resume", &state]);
    assert_eq!(part_b.status.code(), Some(0), "{}", text(&part_b.stderr));
    assert!(
        !text(&part_b.stderr).contains("rejected line"),
        "{}",
        text(&part_b.stderr)
    );
    let split = format!("{}{}", text(&part_a.stdout), text(&part_b.stdout));
    assert_eq!(split, text(&one.stdout));
    assert_eq!(text(&one.stdout).lines().count(), 3);
    assert!(
        text(&part_b.stderr).contains("events read: 3,"),
        "{}",
        text(&part_b.stderr)
    );
    // A last line without a line end that parses is processed at once, as ever.
    let complete = write(&dir, "complete.ndjson", visit("d", 3).trim_end().as_bytes());
    let out = trigc(&["run", &rules, "--input", &complete, "--checkpoint", &state]);
    assert_eq!(
        text(&out.stdout).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );
}

/// Made-up event types are counted by name up to a bound, then together.
#[test]
fn ignored_event_types_are_counted_in_bounded_memory() {
    let dir = temp_dir("ignored");
    let rules = write(&dir, "r.trig", RULES.as_bytes());
    let events: String = (0..250)
        .map(|i| format!("{{\"type\":\"T{i}\",\"user\":\"u\",\"ts\":\"2026-01-05T10:00:00Z\"}}\n"))
        .collect();
    let input = write(&dir, "in.ndjson", events.as_bytes());
    let out = trigc(&["run", &rules, "--input", &input, "--stats"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stats: serde_json::Value =
        serde_json::from_str(text(&out.stderr).lines().last().unwrap_or_default())
            .expect("--stats JSON");
    assert_eq!(stats["ignored"], 250);
    let types = stats["ignored_types"].as_object().expect("an object");
    assert_eq!(types.len(), 101, "{types:?}");
    assert_eq!(types["(other types)"], 150);
}

/// One future-dated event in the sample: held, refuted by the events after it and
/// rejected; every real action still appears, and nothing else does. The sample
/// itself (which jumps 815 hours between its second and third lines) is unchanged.
#[test]
fn a_stray_future_timestamp_does_not_poison_the_watermark() {
    let dir = temp_dir("stray");
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sample-events.ndjson"),
    )
    .expect("the sample");
    let clean = trigc(&["run", "rules/", "--input", "rules/sample-events.ndjson"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));
    assert!(!text(&clean.stderr).contains("rejected line"));
    let actions = text(&clean.stdout);
    assert_eq!(actions.lines().count(), 23, "{actions}");
    for stray in ["2027-01-01T00:00:00Z", "9999-12-31T00:00:00Z"] {
        let mut lines: Vec<&str> = sample.lines().collect();
        let evil = format!("{{\"type\":\"VISIT\",\"user\":\"evil\",\"ts\":\"{stray}\"}}");
        lines.insert(9, &evil);
        let input = write(&dir, "evil.ndjson", (lines.join("\n") + "\n").as_bytes());
        let out = trigc(&["run", "rules/", "--input", &input, "--stats"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), actions, "{stray}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("rejected line 10: time"), "{stderr}");
        assert!(stderr.contains("--max-jump"), "{stderr}");
        assert!(stderr.contains("\"stray_times\":1"), "{stderr}");
        assert!(!stderr.contains("late event"), "{stderr}");
        if stray.starts_with("2027") {
            // Turned off, the event moves the watermark as it used to.
            let out = trigc(&["run", "rules/", "--input", &input, "--max-jump", "0s"]);
            assert!(text(&out.stderr).contains("late event"));
        }
    }
}

/// Run `args` and wait at most `limit` for it; a run still going then is killed and
/// the test fails (the defect this guards against was a run that never ended).
fn run_within(args: &[&str], limit: Duration) -> Output {
    let child = bin::trigc()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trigc runs");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("trigc ends"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("`trigc {}` did not end within {limit:?}", args.join(" "));
        }
    }
}

/// Times at the edges of the documented range: a huge `--lateness` with a schedule
/// no longer ticks from the distant past, and a timer due after year 9999 never
/// fires (so no `at` outside RFC 3339 is ever written).
#[test]
fn times_at_the_edges_of_the_range_end_and_stay_rfc_3339() {
    let dir = temp_dir("edges");
    let schedule = write(
        &dir,
        "schedule.trig",
        b"event VISIT { page: string? }\ntrigger hourly\n  every 1h\n  then emit \"tick\"\n",
    );
    let far = write(
        &dir,
        "far.trig",
        b"event VISIT { page: string? }\n\
          trigger far\n  cooldown 1d\n  on VISIT\n  wait 3000000d\n  then emit \"far\"\n",
    );
    let input = write(
        &dir,
        "in.ndjson",
        format!("{}{}", visit("a", 0), visit("b", 30)).as_bytes(),
    );
    let out = run_within(
        &[
            "run",
            &schedule,
            "--input",
            &input,
            "--lateness",
            "100000000d",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run_within(
        &[
            "run",
            &far,
            "--input",
            &input,
            "--until",
            "9999-12-31T23:59:59.999Z",
            "--stats",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.is_empty(),
        "due after year 9999: never fired: {stdout}"
    );
    assert!(
        text(&out.stderr).contains("\"timers_pending\":2"),
        "{}",
        text(&out.stderr)
    );
    let out = run_within(
        &[
            "run",
            &schedule,
            "--input",
            &input,
            "--until",
            "2026-01-06T10:00:00Z",
        ],
        Duration::from_secs(60),
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 2 * 24, "{stdout}");
    for line in stdout.lines().take(5) {
        let record: serde_json::Value = serde_json::from_str(line).expect("a record");
        let at = record["at"].as_str().unwrap_or_default();
        assert!(
            at.len() >= 20 && at.ends_with('Z') && !at.starts_with('+'),
            "{at}"
        );
    }
}

/// Rejected lines cost no write call each: messages to stderr are buffered (200,000
/// rejected lines made 1,200,001 `write` calls before, 6 per line). Counted with
/// strace, which `.ci/run` installs; without it there is nothing to count with.
#[test]
fn rejected_lines_are_reported_through_a_buffer() {
    let strace = std::process::Command::new("strace").arg("-V").output();
    if !strace.is_ok_and(|o| o.status.success()) {
        eprintln!("strace is not installed: write calls not counted");
        return;
    }
    let dir = temp_dir("stderr-buffer");
    let rules = write(&dir, "r.trig", RULES.as_bytes());
    let input = write(&dir, "in.ndjson", "{}\n".repeat(20_000).as_bytes());
    let summary = dir.join("strace.txt");
    let out = std::process::Command::new("strace")
        .args(["-f", "-c", "-e", "trace=write", "-o"])
        .arg(&summary)
        .arg(env!("CARGO_BIN_EXE_trigc"))
        .args(["run", &rules, "--input", &input])
        .output()
        .expect("strace runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).matches("rejected line").count(), 20_000);
    let counted = std::fs::read_to_string(&summary).expect("strace summary");
    let writes: u64 = counted
        .lines()
        .find(|l| l.trim_end().ends_with(" write"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no write count in:\n{counted}"));
    assert!(
        writes < 200,
        "{writes} write calls for 20,000 rejected lines"
    );
}
