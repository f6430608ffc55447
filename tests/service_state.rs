//! `trigc run` with socket input and `--state DIR` or `--deliver`, started by each
//! test on loopback: the HTTP endpoint under concurrent clients, killed (SIGKILL)
//! at a random moment and restarted, processes every `202`-acknowledged event
//! exactly once, with the action ids of a file run; pending timers survive a
//! stop and a kill over TCP; `--deliver` posts the actions of socket input to a
//! local receiver, signed; a SIGHUP reload checkpoints under the new rules, so a
//! kill and a restart with them replays only what they processed.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/service.rs"]
mod harness;
#[path = "common/receiver.rs"]
mod receiver;
#[path = "common/temp.rs"]
mod temp;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use bin::text;
use harness::{ECHO_LATER_RULES, PATIENCE, SEEN_LATER_RULES, Service, get, post, try_post, visit};
use receiver::{Plan, Receiver};
use temp::{temp_dir, write};

/// The Standard Webhooks example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// An immediate trigger: one record per event, naming its page.
const ECHO_RULES: &str = "event VISIT { page: string }\n\
     trigger echo\n  on VISIT\n  then emit \"seen\" with { page: page }\n";

/// Events in the HTTP kill test: 100k, or `TRIGC_SOAK_EVENTS` (1M by hand).
fn soak_events() -> u64 {
    std::env::var("TRIGC_SOAK_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

/// A small PRNG for the kill moment (xorshift), seeded from the clock; the seed is
/// printed so a failure can be replayed.
fn kill_point(lo: u64, hi: u64) -> u64 {
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as u64
        | 1;
    eprintln!("kill point seed {x}");
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    lo + x % (hi - lo).max(1)
}

/// The records of a run's stdout.
fn records(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record"))
        .collect()
}

/// The `--stats` summary on stderr.
fn summary(stderr: &str) -> serde_json::Value {
    let line = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no summary:\n{stderr}"));
    serde_json::from_str(line).expect("a JSON summary")
}

/// The records of a file run of `events`.
fn file_run(rules: &str, dir: &Path, events: &[u8]) -> String {
    let path = write(dir, "expected.ndjson", events);
    let out = bin::run(&["run", rules, "--input", &path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// `rules` written to `dir`, and the arguments of a service reading `input` on
/// event time with its state in `dir/state`, then `extra`: the rules' path and
/// the arguments.
fn with_state(dir: &Path, rules: &str, input: &str, extra: &[&str]) -> (String, Vec<String>) {
    let path = write(dir, "rules.trig", rules.as_bytes());
    let state = dir.join("state").display().to_string();
    let mut args: Vec<String> = [
        &path, "--input", input, "--clock", "event", "--state", &state,
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    (path, args)
}

/// What a client of the kill test sent: per request, its lines and whether it
/// was acknowledged (`202`).
type Sent = Vec<(Vec<String>, bool)>;

#[test]
fn http_acknowledged_events_survive_kill_9_exactly_once() {
    let dir = temp_dir("state-http-kill");
    let (rules, args) = with_state(
        &dir,
        ECHO_RULES,
        "http://127.0.0.1:0/events",
        &[
            "--checkpoint-every",
            "20000",
            "--stats",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let clients = 4u64;
    let per_request = 500u64;
    let requests = (soak_events() / clients / per_request).max(4);
    // One time for all: requests of different clients arrive in any order, and
    // none is late; customers are the client's own, so the order of one client's
    // lines is all that matters.
    let line = |c: u64, i: u64| {
        format!(
            "{{\"type\":\"VISIT\",\"user\":\"c{c}u{}\",\"ts\":1000,\"page\":\"c{c}p{i}\"}}",
            i % 50
        )
    };
    let total = clients * requests;
    let kill_at = kill_point(total / 5, total * 4 / 5);
    let mut service = Service::start(&args);
    let addr = service.http();
    let (acked_tx, acked_rx) = channel::<()>();
    let sent: Vec<Sent> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (addr, acked_tx) = (&addr, acked_tx.clone());
                s.spawn(move || {
                    let mut sent = Sent::new();
                    for r in 0..requests {
                        let lines: Vec<String> = (0..per_request)
                            .map(|i| line(c, r * per_request + i))
                            .collect();
                        let body = lines.join("\n").into_bytes();
                        let acked = loop {
                            match try_post(addr, "/events", body.clone(), None) {
                                Ok((202, _)) => break true,
                                Ok((429, _)) => continue,
                                Ok((status, body)) => panic!("{status} {body}"),
                                Err(_) => break false,
                            }
                        };
                        sent.push((lines, acked));
                        if !acked {
                            break;
                        }
                        let _ = acked_tx.send(());
                    }
                    sent
                })
            })
            .collect();
        drop(acked_tx);
        for _ in 0..kill_at {
            acked_rx.recv_timeout(PATIENCE).expect("a 202");
        }
        service.child.kill().expect("SIGKILL");
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    service.child.wait().expect("killed");
    let first = service.stdout.take().expect("once").join().expect("reader");
    drop(service);
    // Restarted with the same state: the journal is processed before it listens.
    let mut service = Service::start(&args);
    let addr = service.http();
    let after: String = (0..10).map(|i| line(clients, i) + "\n").collect();
    let (status, body) = post(&addr, "/events", after.clone().into_bytes(), None);
    assert_eq!((status, body.trim()), (202, "{\"accepted\":10}"));
    let (code, metrics) = get(&service.metrics(), "/metrics");
    assert_eq!(code, 200);
    let received = metrics
        .lines()
        .find_map(|l| l.strip_prefix("trigc_events_received_total "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("trigc_events_received_total");
    let (second, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    // Pages printed across both runs, with their ids (a page printed by the first
    // run after its last checkpoint is printed again by the replay, same id).
    let mut printed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in records(&first).iter().chain(records(&second).iter()) {
        let page = r["payload"]["page"].as_str().expect("a page").to_owned();
        printed
            .entry(page)
            .or_default()
            .insert(r["id"].as_str().expect("an id").to_owned());
    }
    let acked: Vec<&String> = sent
        .iter()
        .flatten()
        .filter(|(_, acked)| *acked)
        .flat_map(|(lines, _)| lines)
        .collect();
    assert!(acked.len() as u64 >= kill_at * per_request);
    assert!(
        (acked.len() as u64) < total * per_request,
        "killed too late"
    );
    for line in &acked {
        let page = line.split("\"page\":\"").nth(1).expect("a page");
        let page = page.trim_end_matches("\"}");
        assert!(printed.contains_key(page), "acknowledged {page} was lost");
    }
    // Exactly once: the state counts each line it processed, and it processed
    // exactly the lines whose records were printed.
    let read = summary(&stderr)["events_read"]
        .as_u64()
        .expect("events_read");
    assert_eq!(read, printed.len() as u64, "lines processed in the state");
    // The metrics count the restored and replayed lines once too.
    assert_eq!(received, read);
    assert!(
        printed.values().all(|ids| ids.len() == 1),
        "one id per page"
    );
    // The same ids as a file run of the lines processed (each client's in order).
    let processed: String = sent
        .iter()
        .flatten()
        .flat_map(|(lines, _)| lines)
        .filter(|l| {
            let page = l.split("\"page\":\"").nth(1).expect("a page");
            printed.contains_key(page.trim_end_matches("\"}"))
        })
        .map(|l| l.clone() + "\n")
        .chain(std::iter::once(after))
        .collect();
    let expected: BTreeSet<String> = records(&file_run(&rules, &dir, processed.as_bytes()))
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_owned())
        .collect();
    let got: BTreeSet<String> = printed.into_values().flatten().collect();
    assert_eq!(got, expected);
    eprintln!(
        "{} of {} lines acknowledged before the kill, {read} processed",
        acked.len(),
        total * per_request
    );
}

/// A timer an hour after each visit.
const LATER_RULES: &str = "event VISIT { page: string }\n\
     trigger later\n  on VISIT\n  wait 1h\n  then emit \"later\" with { page: page }\n";

#[test]
fn pending_timers_survive_a_stop_and_a_kill_over_tcp() {
    let dir = temp_dir("state-tcp-timers");
    let (rules, args) = with_state(
        &dir,
        LATER_RULES,
        "tcp://127.0.0.1:0",
        &["--checkpoint-every", "1h"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let early: String = [("a", 1_000), ("b", 2_000), ("c", 3_000)]
        .iter()
        .map(|(u, ts)| visit(u, *ts))
        .collect();
    let late = visit("d", 3 * 3_600_000);
    let send = |service: &mut Service, lines: &str, n: usize| {
        let mut stream = TcpStream::connect(service.tcp()).expect("connect");
        stream.write_all(lines.as_bytes()).expect("send");
        drop(stream);
        service.wait_count("(closed by the producer)", n);
    };
    // Three timers armed, then a stop: none fires (no end of input for a service
    // with a state), all three are kept.
    let mut service = Service::start(&args);
    send(&mut service, &early, 1);
    // SIGHUP with the rules unchanged changes nothing (and does not end it).
    hup(&service);
    service.wait_for("trigc: SIGHUP: the rules are unchanged");
    let (first, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(first, "", "a stop fired timers");
    assert!(stderr.contains("timers pending: 3"), "{stderr}");
    // Restarted: a later event moves time past them, they fire with the ids a file
    // run gives them. Killed then, before any checkpoint.
    let mut service = Service::start(&args);
    send(&mut service, &late, 1);
    let mut second = String::new();
    for _ in 0..3 {
        let (_, record) = service.records.recv_timeout(PATIENCE).expect("a record");
        second.push_str(&record);
        second.push('\n');
    }
    service.child.kill().expect("SIGKILL");
    service.child.wait().expect("killed");
    drop(service);
    let expected = file_run(&rules, &dir, (early + &late).as_bytes());
    assert_eq!(records(&expected).len(), 3);
    assert_eq!(second, expected);
    // Restarted after the kill: the journaled event is processed again, the same
    // records come again; `d`'s own timer stays pending.
    let mut service = Service::start(&args);
    service.wait_for("trigc: replayed 1 journaled lines");
    let (third, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(third, expected);
    assert!(stderr.contains("timers pending: 1"), "{stderr}");
}

/// A webhook per visit, to the receiver.
const HOOK_RULES: &str = "event VISIT { page: string }\n\
     trigger hook\n  on VISIT\n  then webhook \"{URL}/hook\" with { page: page }\n";

#[test]
fn deliver_posts_the_actions_of_socket_input_to_a_receiver() {
    let dir = temp_dir("state-deliver");
    let started = Instant::now();
    let receiver = Receiver::start(
        Plan {
            fail_first: 3,
            then_429: Some(1),
            fixed: Vec::new(),
        },
        SECRET,
    );
    let hooks = HOOK_RULES.replace("{URL}", &receiver.url());
    let extra = [
        "--deliver",
        "--webhook-secret-env",
        "TRIGC_TEST_SECRET",
        "--retry-base",
        "10ms",
        "--metrics",
        "127.0.0.1:0",
        "--stats",
    ];
    let (_, args) = with_state(&dir, &hooks, "tcp://127.0.0.1:0", &extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut service = Service::start_env(&args, Some(("TRIGC_TEST_SECRET", SECRET)));
    let events = 40;
    let lines: String = (0..events)
        .map(|i| {
            format!(
                "{{\"type\":\"VISIT\",\"user\":\"u{}\",\"ts\":{i},\"page\":\"p{i}\"}}\n",
                i % 7
            )
        })
        .collect();
    let mut stream = TcpStream::connect(service.tcp()).expect("connect");
    stream.write_all(lines.as_bytes()).expect("send");
    drop(stream);
    service.wait_count("(closed by the producer)", 1);
    let deadline = Instant::now() + PATIENCE;
    while receiver.delivered().len() < events {
        assert!(Instant::now() < deadline, "{:?}", receiver.delivered());
        std::thread::sleep(Duration::from_millis(20));
    }
    let metrics = service.metrics();
    assert_eq!(get(&metrics, "/healthz"), (200, "ok\n".to_owned()));
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    let delivery = &summary(&stderr)["delivery"];
    assert_eq!(delivery["delivered"], events, "{stderr}");
    assert_eq!(delivery["pending"], 0, "{stderr}");
    assert!(
        delivery["retries"].as_u64().expect("retries") >= 4,
        "{stderr}"
    );
    // Every record's action reached the receiver once, under its id, signed.
    let ids: HashSet<String> = records(&stdout)
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_owned())
        .collect();
    let delivered = receiver.delivered();
    assert_eq!(delivered.keys().cloned().collect::<HashSet<_>>(), ids);
    assert!(delivered.values().all(|&n| n == 1), "{delivered:?}");
    for r in receiver.requests() {
        assert!(r.signed_ok, "{}: signature", r.id);
        assert_eq!(r.path, "/hook");
        assert!(r.at > started);
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
        assert!(body["page"].as_str().is_some_and(|p| p.starts_with('p')));
    }
}

#[test]
fn without_a_state_a_stop_delivers_what_the_outbox_holds() {
    let dir = temp_dir("deliver-no-state");
    // Every action's first two attempts fail: at the stop they wait for a retry.
    let receiver = Receiver::start(
        Plan {
            fail_first: 10,
            ..Plan::default()
        },
        SECRET,
    );
    let rules = write(
        &dir,
        "hook.trig",
        HOOK_RULES.replace("{URL}", &receiver.url()).as_bytes(),
    );
    let args = [
        rules.as_str(),
        "--input",
        "tcp://127.0.0.1:0",
        "--clock",
        "event",
        "--deliver",
        "--retry-base",
        "300ms",
    ];
    let mut service = Service::start(&args);
    let lines: String = (0..5)
        .map(|i| format!("{{\"type\":\"VISIT\",\"user\":\"u\",\"ts\":{i},\"page\":\"p{i}\"}}\n"))
        .collect();
    let mut stream = TcpStream::connect(service.tcp()).expect("connect");
    stream.write_all(lines.as_bytes()).expect("send");
    drop(stream);
    service.wait_count("(closed by the producer)", 1);
    // Stopped at once: what is still in the outbox is delivered before the exit.
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("pending: 0"), "{stderr}");
    assert!(!stderr.contains("are lost"), "{stderr}");
    let ids: HashSet<String> = records(&stdout)
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_owned())
        .collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(
        receiver.delivered().keys().cloned().collect::<HashSet<_>>(),
        ids
    );
}

/// A timer a second after each visit, for the wall clock.
const SOON_RULES: &str = "event VISIT { page: string }\n\
     trigger soon\n  on VISIT\n  wait 1s\n  then emit \"soon\" with { page: page }\n";

#[test]
fn under_the_wall_clock_a_replay_judges_times_as_they_were_judged() {
    let dir = temp_dir("state-wall");
    // Under the wall clock (the default for sockets), events more than 2 s old
    // are rejected.
    let rules = write(&dir, "soon.trig", SOON_RULES.as_bytes());
    let state = dir.join("state").display().to_string();
    let args = [
        rules.as_str(),
        "--input",
        "http://127.0.0.1:0/events",
        "--state",
        &state,
        "--checkpoint-every",
        "1h",
        "--max-past",
        "2s",
        "--stats",
    ];
    let mut service = Service::start(&args);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let visit = |page: &str, ts: i64| {
        format!("{{\"type\":\"VISIT\",\"user\":\"{page}\",\"ts\":{ts},\"page\":\"{page}\"}}")
    };
    let body = format!(
        "{}\n{}\n",
        visit("fresh", now),
        visit("stale", now - 10_000)
    );
    let (status, answer) = post(&service.http(), "/events", body.into_bytes(), None);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("\"accepted\":1"), "{answer}");
    // Killed before the timer of `fresh` is due; restarted once `fresh` is older
    // than --max-past: replayed at the time it was first processed, it is taken
    // again (its timer, overdue, fires at once) and `stale` rejected again.
    service.child.kill().expect("SIGKILL");
    service.child.wait().expect("killed");
    drop(service);
    std::thread::sleep(Duration::from_millis(2_500));
    let service = Service::start(&args);
    let (_, record) = service.records.recv_timeout(PATIENCE).expect("a record");
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert!(record.contains("\"page\":\"fresh\""), "{record}");
    assert_eq!(stdout, record + "\n", "only the fresh visit's timer fires");
    assert!(
        stderr.contains("rejected journal line 2: time")
            && stderr.contains("behind the wall clock"),
        "{stderr}"
    );
    let summary = summary(&stderr);
    assert_eq!(summary["events_read"], 2, "{stderr}");
    assert_eq!(summary["rejected"], 1, "{stderr}");
}

/// `kill -HUP` to a running service.
fn hup(service: &Service) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &service.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// `(trigger, page)` of the next `n` records, sorted; each record's action is
/// named as its trigger (a record named after old trigger numbers shows).
fn next_fired(service: &Service, n: usize) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = (0..n)
        .map(|_| {
            let (_, record) = service.records.recv_timeout(PATIENCE).expect("a record");
            let r: serde_json::Value = serde_json::from_str(&record).expect("a record");
            assert_eq!(r["trigger"], r["name"], "{r}");
            let field = |v: &serde_json::Value| v.as_str().expect("a string").to_owned();
            (field(&r["trigger"]), field(&r["payload"]["page"]))
        })
        .collect();
    got.sort();
    got
}

#[test]
fn a_reload_with_a_state_checkpoints_under_the_new_rules() {
    let dir = temp_dir("state-tcp-hup");
    let (rules, args) = with_state(
        &dir,
        SEEN_LATER_RULES,
        "tcp://127.0.0.1:0",
        &["--checkpoint-every", "1h"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let send = |service: &mut Service, lines: &str, n: usize| {
        let mut stream = TcpStream::connect(service.tcp()).expect("connect");
        stream.write_all(lines.as_bytes()).expect("send");
        drop(stream);
        service.wait_count("(closed by the producer)", n);
    };
    let mut service = Service::start(&args);
    // `a`'s `seen` record says the engine processed it (a SIGHUP before that could
    // let the new rules take it).
    send(&mut service, &visit("a", 1_000), 1);
    assert_eq!(next_fired(&service, 1), [("seen".into(), "a".into())]);
    std::fs::write(&rules, ECHO_LATER_RULES).expect("rewrite the rules");
    hup(&service);
    let notice = service.wait_for("trigc: SIGHUP: rules changed");
    assert!(
        notice.contains("new: echo;") && notice.contains("dropped: seen"),
        "{notice}"
    );
    send(&mut service, &visit("b", 2_000), 2);
    assert_eq!(next_fired(&service, 1), [("echo".into(), "b".into())]);
    // Killed: the only checkpoint is the reload's (`--checkpoint-every 1h`). The
    // restart, with the new rules on disk, resumes it as it is (no carry-over)
    // and replays only `b`, through the rules that processed it.
    service.child.kill().expect("SIGKILL");
    service.child.wait().expect("killed");
    drop(service);
    let mut service = Service::start(&args);
    // Told before it listens, so already seen.
    let told = |what: &str| service.seen.iter().any(|l| l.contains(what));
    assert!(
        told("trigc: replayed 1 journaled lines") && !told("rules changed"),
        "{}",
        service.seen.join("\n")
    );
    assert_eq!(next_fired(&service, 1), [("echo".into(), "b".into())]);
    // `a`'s timer, armed before the reload, and `b`'s fire; `echo` for `c`.
    send(&mut service, &visit("c", 3 * 3_600_000), 1);
    assert_eq!(
        next_fired(&service, 3),
        [("echo", "c"), ("later", "a"), ("later", "b")].map(|(t, p)| (t.into(), p.into()))
    );
    let (_, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("timers pending: 1"), "{stderr}");
}
