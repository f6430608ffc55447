//! `trigc run --state DIR`: kill -9 at random moments during a file replay with
//! `--deliver`, restarts until the input is consumed, and the same actions delivered
//! as by one uninterrupted run (repeats only of what was in flight); SIGTERM
//! checkpoints and exits 0; a damaged or truncated state is refused.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/crash.rs"]
mod crash;
#[path = "common/deliver.rs"]
mod deliver;
#[path = "common/receiver.rs"]
mod receiver;
#[path = "common/temp.rs"]
mod temp;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bin::{text, trigc};
use crash::{Rng, wait_up_to};
use deliver::{HOOKS, SECRET, events, ids_of, records, rules};
use receiver::{Plan, Receiver};
use temp::temp_dir;

/// Attempts in flight per endpoint (`--max-in-flight`), and endpoints.
const IN_FLIGHT: usize = 4;
const ENDPOINTS: usize = 3;

fn run_command(rules: &str, input: &str, email: &str, state: Option<&Path>) -> Command {
    let mut command = trigc();
    command
        .env("TRIGC_TEST_SECRET", SECRET)
        .args(["run", rules, "--input", input, "--deliver"])
        .args(["--webhook-secret-env", "TRIGC_TEST_SECRET"])
        .args(["--email-endpoint", email])
        .args(["--max-in-flight", &IN_FLIGHT.to_string()]);
    if let Some(state) = state {
        command
            .args(["--state", &state.display().to_string()])
            .args(["--checkpoint-every", "5000"]);
    }
    command
}

#[test]
fn kill_9_and_restart_delivers_every_action_once_but_in_flight_repeats() {
    let dir = temp_dir("durable-crash");
    let input = events(&dir, 30_000, 800, 11);
    // The uninterrupted run.
    let whole = Receiver::start(Plan::default(), SECRET);
    let rules_whole = rules(&dir.join("whole"), &whole.url(), HOOKS);
    let started = Instant::now();
    let out = run_command(
        &rules_whole,
        &input,
        &format!("{}/email", whole.url()),
        None,
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Kills land within what a whole run takes on this machine now, so the first run
    // is killed whether the machine is idle or loaded.
    let mut took = (started.elapsed().as_millis() as u64).max(20);
    let expected: HashSet<String> = {
        let records = records(&out.stdout);
        ids_of(&records, "webhook")
            .union(&ids_of(&records, "email"))
            .cloned()
            .collect()
    };
    assert_eq!(
        whole.delivered().keys().cloned().collect::<HashSet<_>>(),
        expected
    );
    // The same input, killed at random moments and restarted until it ends; started
    // over (a new receiver and state) with earlier kills if a run beat every kill.
    let mut rng = Rng::from_clock();
    let mut attempt = 0;
    let (crashed, kills, runs) = loop {
        attempt += 1;
        assert!(attempt < 6, "no run could be killed");
        let crashed = Receiver::start(Plan::default(), SECRET);
        let rules_crash = rules(&dir.join(format!("crash{attempt}")), &crashed.url(), HOOKS);
        let email = format!("{}/email", crashed.url());
        let state = dir.join(format!("state{attempt}"));
        let mut kills = 0;
        let mut runs = 0;
        loop {
            runs += 1;
            assert!(runs < 60, "the replay never ended");
            let mut child = run_command(&rules_crash, &input, &email, Some(&state))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // The first runs are killed; later ones may finish.
            let patience = Duration::from_millis(if kills < 6 {
                took / 10 + rng.next() % (took * 8 / 10)
            } else {
                60_000
            });
            match wait_up_to(&mut child, patience) {
                Some(status) => {
                    let stderr = child.wait_with_output().unwrap().stderr;
                    assert!(status.success(), "{}", text(&stderr));
                    break;
                }
                None => {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    kills += 1;
                }
            }
        }
        if kills > 0 {
            break (crashed, kills, runs);
        }
        took = (took / 2).max(4);
    };
    let delivered = crashed.delivered();
    assert_eq!(
        delivered.keys().cloned().collect::<HashSet<_>>(),
        expected,
        "after {kills} kills"
    );
    let repeats: usize = delivered.values().map(|n| n - 1).sum();
    eprintln!(
        "{} actions, {kills} kills, {runs} runs, {repeats} deliveries repeated",
        expected.len()
    );
    assert!(kills > 0, "no run was killed");
    assert!(
        repeats <= kills * IN_FLIGHT * ENDPOINTS,
        "{repeats} repeats after {kills} kills"
    );
    for r in crashed.requests() {
        assert!(r.signed_ok, "{} to {}: signature", r.id, r.path);
        serde_json::from_slice::<serde_json::Value>(&r.body).expect("a JSON body");
    }
}

/// A completed run's state directory, for the damage tests.
fn completed_state(name: &str) -> (std::path::PathBuf, String, String, String) {
    let dir = temp_dir(name);
    let input = events(&dir, 3000, 100, 12);
    let receiver = Receiver::start(Plan::default(), SECRET);
    let rules = rules(&dir, &receiver.url(), HOOKS);
    let email = format!("{}/email", receiver.url());
    let state = dir.join("state");
    let out = run_command(&rules, &input, &email, Some(&state))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::mem::forget(receiver);
    (state, rules, input, email)
}

/// The store's table files (where the checkpoint lies once the run has ended).
fn table_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for keyspace in std::fs::read_dir(dir.join("keyspaces")).unwrap() {
        let tables = keyspace.unwrap().path().join("tables");
        for entry in std::fs::read_dir(&tables).into_iter().flatten() {
            files.push(entry.unwrap().path());
        }
    }
    assert!(!files.is_empty(), "no table files in {}", dir.display());
    files
}

/// Send process `pid` a signal (`-TERM`, `-HUP`).
fn signal(pid: u32, which: &str) {
    let pid = pid.to_string();
    let sent = Command::new("kill").args([which, &pid]).status().unwrap();
    assert!(sent.success());
}

/// A completed run's state, damaged by `damage` on each table file, is refused
/// (exit 2, a message saying so, no record printed).
fn refused_after(name: &str, damage: fn(&Path)) {
    let (state, rules, input, email) = completed_state(name);
    for file in table_files(&state) {
        damage(&file);
    }
    let out = run_command(&rules, &input, &email, Some(&state))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("damaged"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_damaged_state_is_refused() {
    refused_after("durable-flip", |file| {
        let mut bytes = std::fs::read(file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(file, bytes).unwrap();
    });
}

#[test]
fn a_truncated_state_is_refused() {
    refused_after("durable-cut", |file| {
        let len = std::fs::metadata(file).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(file)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
    });
}

#[test]
fn sigterm_checkpoints_and_exits_0_then_the_run_continues() {
    let dir = temp_dir("durable-term");
    let input = events(&dir, 30_000, 800, 13);
    let receiver = Receiver::start(Plan::default(), SECRET);
    let rules = rules(&dir, &receiver.url(), HOOKS);
    let email = format!("{}/email", receiver.url());
    let state = dir.join("state");
    let mut child = run_command(&rules, &input, &email, Some(&state))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped once it is under way (its first record printed).
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first_part = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first_part).unwrap();
    signal(child.id(), "-TERM");
    std::io::Read::read_to_string(&mut stdout, &mut first_part).unwrap();
    let first = child.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stopped = Instant::now();
    let second = run_command(&rules, &input, &email, Some(&state))
        .output()
        .unwrap();
    assert!(second.status.success(), "{}", text(&second.stderr));
    // Stopped cleanly, nothing is repeated: the two parts print every record once.
    let mut ids: Vec<String> = records(first_part.as_bytes())
        .iter()
        .chain(records(&second.stdout).iter())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "a record was printed twice");
    let delivered = receiver.delivered();
    assert!(delivered.values().all(|&n| n == 1));
    assert!(
        receiver.requests().iter().any(|r| r.at > stopped),
        "the second part delivered nothing"
    );
}

/// The trigger the carry-over tests keep unchanged.
const KEEP: &str = r#"
trigger keep
  reentry restart
  cooldown 1h
  on ADD_TO_CART
  wait 30m unless PURCHASE
  then emit "keep" with { product: product }
"#;

/// `gone` waiting `wait`, the trigger the carry-over tests change.
fn gone(wait: &str) -> String {
    format!(
        "trigger gone\n  cooldown 1h\n  on ADD_TO_CART\n  wait {wait}\n  \
         then emit \"gone\" with {{ items: cart, wished: wishlist }}\n"
    )
}

/// Rules for the carry-over tests: `keep` stays, `gone` changes, `fresh` is new
/// (and the order changes).
fn before() -> String {
    format!("{KEEP}{}", gone("2h"))
}

fn after() -> String {
    let fresh = "trigger fresh\n  cooldown 1h\n  on PURCHASE\n  \
                 then emit \"fresh\" with { items: cart, wished: wishlist }\n";
    format!("{fresh}{}{KEEP}", gone("3h"))
}

/// `trigc run RULES --state STATE --stats` over `input` on stdin.
fn run_stdin(rules: &str, state: &Path, input: &[u8]) -> std::process::Output {
    let mut child = trigc()
        .args([
            "run",
            rules,
            "--state",
            &state.display().to_string(),
            "--stats",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Fed from a thread while the output is read: written first, a long input
    // and a long output would each wait on the other's full pipe.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// `input` cut in two at the line end after its middle.
fn halves(input: &[u8]) -> (&[u8], &[u8]) {
    let middle = input.len() / 2;
    let end = input[middle..].iter().position(|&b| b == b'\n').unwrap();
    input.split_at(middle + end + 1)
}

/// The records of `trigger`, as (id, at).
fn of(records: &[serde_json::Value], trigger: &str) -> Vec<(String, String)> {
    records
        .iter()
        .filter(|r| r["trigger"] == trigger)
        .map(|r| {
            (
                r["id"].as_str().unwrap().into(),
                r["at"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn changed_rules_keep_the_state_of_unchanged_triggers() {
    let dir = temp_dir("durable-carry");
    let input = std::fs::read(events(&dir, 4000, 200, 14)).unwrap();
    let (part1, part2) = halves(&input);
    let before = rules(&dir.join("before"), "", &before());
    let after = rules(&dir.join("after"), "", &after());
    // Uninterrupted, with the rules before.
    let whole = run_stdin(&before, &dir.join("whole"), &input);
    assert!(whole.status.success(), "{}", text(&whole.stderr));
    let whole = records(&whole.stdout);
    // The first half with the rules before, the second with the rules after.
    let state = dir.join("state");
    let first = run_stdin(&before, &state, part1);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let second = run_stdin(&after, &state, part2);
    let stderr = text(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stderr.contains("rules changed: 1 triggers kept with their state, new: fresh, gone; changed or removed, their state dropped: gone"),
        "{stderr}"
    );
    let summary: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["rules_changed"]["kept"],
        serde_json::json!(["keep"])
    );
    assert!(
        summary["rules_changed"]["instances_dropped"]
            .as_u64()
            .unwrap()
            > 0
    );
    // `keep` went on as if nothing had changed: timers armed in the first half
    // fired in the second, with the same ids.
    let (first, second) = (records(&first.stdout), records(&second.stdout));
    let mut kept = of(&first, "keep");
    kept.extend(of(&second, "keep"));
    assert_eq!(kept, of(&whole, "keep"));
    assert!(!of(&second, "fresh").is_empty());
}

#[test]
fn sighup_reloads_the_rules_and_keeps_bad_ones_out() {
    let dir = temp_dir("durable-hup");
    let input = std::fs::read(events(&dir, 3000, 100, 15)).unwrap();
    let (part1, part2) = halves(&input);
    let rules = rules(&dir, "", &before());
    let hooks = Path::new(&rules).join("hooks.trig");
    let mut child = trigc()
        .args([
            "run",
            &rules,
            "--state",
            &dir.join("state").display().to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, notices) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = notices
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no `{what}` notice"));
            if line.contains(what) {
                return line;
            }
        }
    };
    let pid = child.id();
    let hup = || signal(pid, "-HUP");
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, part1).unwrap();
    std::fs::write(&hooks, "trigger broken on NOPE then emit \"x\"\n").unwrap();
    hup();
    wait_for("the running ones are kept");
    std::fs::write(&hooks, after()).unwrap();
    hup();
    let notice = wait_for("SIGHUP: rules changed");
    assert!(notice.contains("new: fresh, gone"), "{notice}");
    std::io::Write::write_all(&mut stdin, part2).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let records = records(&out.stdout);
    let rest: Vec<String> = notices.try_iter().collect();
    assert!(
        !of(&records, "fresh").is_empty(),
        "{} records; {rest:?}",
        records.len()
    );
    // Records of the reloaded rules are written as theirs (trigger and name agree).
    for r in &records {
        assert_eq!(r["trigger"], r["name"], "{r}");
    }
    assert!(!of(&records, "keep").is_empty());
}

#[test]
fn kill_9_on_stdin_loses_no_journaled_line() {
    let dir = temp_dir("durable-stdin");
    let input = std::fs::read(events(&dir, 30_000, 800, 16)).unwrap();
    let rules = rules(&dir, "", &before());
    let state = dir.join("state");
    let state_arg = state.display().to_string();
    let args = ["run", &rules, "--state", &state_arg, "--stats"];
    let args = [&args[..], &["--checkpoint-every", "5000"]].concat();
    // Fed on stdin and killed halfway.
    let mut child = trigc()
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Only the first half is fed, and stdin held open until the kill: the kill
    // lands with a part of the input read, however fast the run.
    let part1 = halves(&input).0.to_vec();
    let (killed_tx, killed) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        // The write fails if the process is killed before it ends.
        let _ = std::io::Write::write_all(&mut stdin, &part1);
        let _ = killed.recv();
    });
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // Killed once it is under way (its first record printed).
    let mut first = Vec::new();
    std::io::BufRead::read_until(&mut stdout, b'\n', &mut first).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    killed_tx.send(()).unwrap();
    writer.join().unwrap();
    std::io::Read::read_to_end(&mut stdout, &mut first).unwrap();
    // Whole lines only: the kill may cut the last one.
    let first = &first[..first.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)];
    // Restarted with nothing more on stdin: the journaled lines are processed.
    let second = run_stdin(&rules, &state, b"");
    let stderr = text(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    let accepted = summary["events_read"].as_u64().unwrap() as usize;
    assert!(
        accepted > 0 && accepted < 30_000,
        "{accepted} lines accepted"
    );
    // The same records as a run over the lines accepted.
    let prefix: Vec<u8> = input
        .split_inclusive(|&b| b == b'\n')
        .take(accepted)
        .flatten()
        .copied()
        .collect();
    let expected = run_stdin(&rules, &dir.join("expected"), &prefix);
    let ids = |bytes: &[u8]| -> HashSet<String> {
        records(bytes)
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut got = ids(first);
    got.extend(ids(&second.stdout));
    assert_eq!(got, ids(&expected.stdout));
}
