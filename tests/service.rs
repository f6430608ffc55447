//! `trigc run` as a service, started by each test on loopback (port 0: the
//! service prints the address it bound on stderr): TCP and Unix sockets with the
//! event clock give the file run's output; the wall clock fires a `wait` on
//! time; bad input on one connection leaves the others alone; the HTTP endpoint
//! answers 202/400/401/413 and processes every acknowledged event once;
//! `/metrics` parses; SIGHUP reloads the rules between batches (pending timers of
//! unchanged triggers kept, new triggers and schedules started, rules that do not
//! check kept out).

#[path = "common/bin.rs"]
mod bin;
#[path = "common/service.rs"]
mod harness;
#[path = "common/temp.rs"]
mod temp;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bin::text;
use harness::{ECHO_LATER_RULES, PATIENCE, SEEN_LATER_RULES, Service, get, post, visit};
use temp::{temp_dir, write};

/// `trigc gen` events, as bytes.
fn generate(events: u64, customers: u32, seed: u64) -> Vec<u8> {
    let out = bin::run(&[
        "gen",
        "--events",
        &events.to_string(),
        "--customers",
        &customers.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out.stdout
}

/// The records of a file run.
fn file_run(rules: &str, events: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", rules, "--input", events];
    args.extend(extra);
    let out = bin::run(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Events in the soak tests: 100k, or `TRIGC_SOAK_EVENTS` (1M by hand).
fn soak_events() -> u64 {
    std::env::var("TRIGC_SOAK_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

fn send_all(addr: &str, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(bytes).expect("send");
}

#[test]
fn tcp_with_the_event_clock_gives_the_file_run_output() {
    let dir = temp_dir("svc-tcp-one");
    let n = soak_events();
    let events = generate(n, 1_000, 11);
    let path = write(&dir, "events.ndjson", &events);
    let expected = file_run("rules/", &path, &[]);
    let mut service =
        Service::start(&["rules/", "--input", "tcp://127.0.0.1:0", "--clock", "event"]);
    let addr = service.tcp();
    send_all(&addr, &events);
    service.wait_for(&format!("closed after {n} lines (closed by the producer)"));
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("events read: {n}, rejected: 0")),
        "{stderr}"
    );
    assert!(stderr.contains("trigc: stopped by SIGTERM"), "{stderr}");
    assert!(!expected.is_empty());
    assert!(stdout == expected, "the TCP run differs from the file run");
}

/// The customer of a `trigc gen` line (empty for a broadcast event such as
/// `PRICE_CHANGE`, which has none).
fn user(line: &[u8]) -> &[u8] {
    let Some(at) = line.windows(8).position(|w| w == b"\"user\":\"") else {
        return b"";
    };
    let rest = &line[at + 8..];
    &rest[..rest.iter().position(|&b| b == b'"').expect("end of user")]
}

#[test]
fn several_producers_with_disjoint_customers_give_the_file_run_output() {
    let dir = temp_dir("svc-tcp-many");
    let n = soak_events();
    let events = generate(n, 1_000, 12);
    let path = write(&dir, "events.ndjson", &events);
    // Producers run unsynchronised: one may finish before another starts, so the
    // lateness covers the whole stream (generated events span well under 60 days).
    let lateness = ["--lateness", "60d"];
    let expected = file_run("rules/", &path, &lateness);
    let producers = 4;
    let mut parts = vec![Vec::new(); producers];
    for line in events.split_inclusive(|&b| b == b'\n') {
        let hash = user(line).iter().fold(0usize, |h, &b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        parts[hash % producers].extend_from_slice(line);
    }
    let mut args = vec!["rules/", "--input", "tcp://127.0.0.1:0", "--clock", "event"];
    args.extend(lateness);
    let mut service = Service::start(&args);
    let addr = service.tcp();
    let senders: Vec<_> = parts
        .into_iter()
        .map(|part| {
            let addr = addr.clone();
            std::thread::spawn(move || send_all(&addr, &part))
        })
        .collect();
    for sender in senders {
        sender.join().expect("producer");
    }
    service.wait_count("(closed by the producer)", producers);
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("events read: {n}, rejected: 0")),
        "{stderr}"
    );
    assert!(stdout == expected, "the TCP run differs from the file run");
}

#[test]
fn a_unix_socket_replaces_a_stale_socket_file() {
    let dir = temp_dir("svc-unix");
    let socket = dir.join("in.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
    assert!(socket.exists(), "a stale socket file is left");
    let events = generate(2_000, 50, 13);
    let path = write(&dir, "events.ndjson", &events);
    let expected = file_run("rules/", &path, &[]);
    let input = format!("unix:{}", socket.display());
    let mut service = Service::start(&["rules/", "--input", &input, "--clock", "event"]);
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    stream.write_all(&events).expect("send");
    drop(stream);
    service.wait_for("closed after 2000 lines");
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("unix#1 connected"), "{stderr}");
    assert!(stdout == expected);
    assert!(!socket.exists(), "the socket file is removed at the stop");
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// An immediate trigger: one record per event, naming its page.
const ECHO_RULES: &str = "event VISIT { page: string }\n\
     trigger echo\n  on VISIT\n  then emit \"seen\" with { page: page }\n";

/// [`ECHO_RULES`] (written to `dir`) on event time, listening on `input`.
fn echo_service(dir: &Path, input: &str, extra: &[&str], env: Option<(&str, &str)>) -> Service {
    let rules = write(dir, "echo.trig", ECHO_RULES.as_bytes());
    let mut args = vec![rules.as_str(), "--input", input, "--clock", "event"];
    args.extend(extra);
    Service::start_env(&args, env)
}

const WAIT_RULES: &str = "event VISIT { page: string? }\n\
     trigger later\n  cooldown 1d\n  on VISIT\n  wait 1s\n  then emit \"later\"\n";

#[test]
fn a_wait_fires_on_the_wall_clock_at_its_due_instant() {
    let dir = temp_dir("svc-wall");
    let rules = write(&dir, "wait.trig", WAIT_RULES.as_bytes());
    let mut service = Service::start(&[&rules, "--input", "tcp://127.0.0.1:0", "--stats"]);
    let addr = service.tcp();
    let ts = now_ms();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    let lines = format!(
        "{{\"type\":\"VISIT\",\"user\":\"a\",\"ts\":{ts}}}\n\
         {{\"type\":\"VISIT\",\"user\":\"b\",\"ts\":{}}}\n\
         {{\"type\":\"VISIT\",\"user\":\"c\",\"ts\":{}}}\n",
        ts + 3_600_000,
        ts - 7_200_000,
    );
    stream.write_all(lines.as_bytes()).expect("send");
    stream.flush().expect("flush");
    let due = ts + 1_000;
    let (when, record) = service.records.recv_timeout(PATIENCE).expect("a record");
    let arrived = now_ms() - when.elapsed().as_millis() as i64;
    assert!(record.contains("\"key\":\"a\""), "{record}");
    let late = arrived - due;
    assert!(
        (0..500).contains(&late),
        "fired {late} ms after its due instant"
    );
    drop(stream);
    let (_, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("line 2: time") && stderr.contains("ahead of the wall clock"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 3: time") && stderr.contains("behind the wall clock"),
        "{stderr}"
    );
    assert!(stderr.contains("\"times_ahead\":1"), "{stderr}");
    assert!(stderr.contains("\"times_behind\":1"), "{stderr}");
    assert!(stderr.contains("wall-clock firings: 1 records"), "{stderr}");
}

#[test]
fn bad_input_on_one_connection_leaves_the_others_alone() {
    let dir = temp_dir("svc-bad");
    let rejects = dir.join("rejects.ndjson").display().to_string();
    let mut service = echo_service(
        &dir,
        "tcp://127.0.0.1:0",
        &["--max-line-bytes", "1000", "--rejects", &rejects],
        None,
    );
    let addr = service.tcp();
    let visit =
        |n: u32| format!("{{\"type\":\"VISIT\",\"user\":\"u\",\"ts\":{n},\"page\":\"p{n}\"}}\n");
    let mut good = TcpStream::connect(&addr).expect("connect");
    good.write_all(visit(1).as_bytes()).expect("send");
    service.wait_for("#1 connected");
    // Garbage, invalid UTF-8, a 2 MB line, then a half-close.
    let mut bad = TcpStream::connect(&addr).expect("connect");
    bad.write_all(b"\x00\x01\x02garbage\n\xff\xfe{\"type\"\n")
        .expect("send");
    bad.write_all(&vec![b'x'; 2_000_000]).expect("send");
    bad.write_all(b"\n").expect("send");
    bad.write_all(visit(2).as_bytes()).expect("send");
    bad.shutdown(Shutdown::Write).expect("half-close");
    // A producer that vanishes in the middle of a line.
    let mut gone = TcpStream::connect(&addr).expect("connect");
    gone.write_all(b"{\"type\":\"VIS").expect("send");
    drop(gone);
    service.wait_count("closed after", 2);
    good.write_all(visit(3).as_bytes()).expect("send");
    drop(good);
    service.wait_count("closed after", 3);
    drop(bad);
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    for page in ["p1", "p2", "p3"] {
        assert!(
            stdout.contains(&format!("\"page\":\"{page}\"")),
            "{page}: {stdout}"
        );
    }
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    let label = |n: u32, line: u32| {
        let hit = stderr.lines().any(|l| {
            l.starts_with("rejected tcp 127.0.0.1:") && l.contains(&format!("#{n} line {line}:"))
        });
        assert!(hit, "no reject of connection {n} line {line}:\n{stderr}");
    };
    label(2, 1);
    label(2, 2);
    label(2, 3);
    label(3, 1);
    assert!(stderr.contains("(2000000 bytes)"), "{stderr}");
    assert!(stderr.contains("events read: 7, rejected: 4"), "{stderr}");
    // Rejected lines are copied verbatim, but for the one never held. Connections
    // run concurrently: lines keep their order within one, not across them.
    let copied_text = std::fs::read(&rejects).expect("the rejects file");
    let mut copied: Vec<&[u8]> = copied_text.split_inclusive(|&b| b == b'\n').collect();
    copied.sort();
    let mut expected: Vec<&[u8]> = vec![
        b"\x00\x01\x02garbage\n",
        b"\xff\xfe{\"type\"\n",
        b"{\"type\":\"VIS\n",
    ];
    expected.sort();
    assert_eq!(copied, expected);
    let at = |line: &[u8]| copied_text.windows(line.len()).position(|w| w == line);
    assert!(
        at(b"\x00\x01\x02garbage\n") < at(b"\xff\xfe{\"type\"\n"),
        "the bad connection's lines out of order"
    );
}

/// `/metrics` as sample name (with labels) to value.
fn scrape(addr: &str) -> BTreeMap<String, f64> {
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200);
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("name value");
            (name.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

#[test]
fn the_http_endpoint_acknowledges_rejects_and_refuses() {
    let dir = temp_dir("svc-http");
    let mut service = echo_service(
        &dir,
        "http://127.0.0.1:0/events",
        &[
            "--ingest-token-env",
            "TRIGC_TEST_TOKEN",
            "--max-body-bytes",
            "100000",
            "--metrics",
            "127.0.0.1:0",
        ],
        Some(("TRIGC_TEST_TOKEN", "s3cret")),
    );
    let addr = service.http();
    let metrics = service.metrics();
    let token = Some("s3cret");
    // One time for all: concurrent requests arrive in any order, and none is late.
    let visit = |n: u64| {
        format!(
            "{{\"type\":\"VISIT\",\"user\":\"u{}\",\"ts\":1000,\"page\":\"p{n}\"}}",
            n % 7
        )
    };
    let (status, body) = post(&addr, "/events", visit(1).into_bytes(), token);
    assert_eq!((status, body.trim()), (202, "{\"accepted\":1}"));
    let (status, _) = post(&addr, "/events", visit(2).into_bytes(), None);
    assert_eq!(status, 401);
    let (status, _) = post(&addr, "/events", visit(2).into_bytes(), Some("wrong"));
    assert_eq!(status, 401);
    let (status, _) = post(&addr, "/events", vec![b'\n'; 100_001], token);
    assert_eq!(status, 413);
    let (status, _) = post(&addr, "/elsewhere", visit(2).into_bytes(), token);
    assert_eq!(status, 404);
    let mixed = format!(
        "{}\nnot json\n{}\n{{\"type\":\"VISIT\"}}\n",
        visit(2),
        visit(3)
    );
    let (status, body) = post(&addr, "/events", mixed.into_bytes(), token);
    assert_eq!(status, 400, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["accepted"], 2, "{body}");
    let lines: Vec<u64> = answer["rejected"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["line"].as_u64().expect("a line"))
        .collect();
    assert_eq!(lines, [2, 4], "{body}");
    assert!(
        answer["rejected"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    // Concurrent clients: every acknowledged event is processed once.
    let clients = 6;
    let requests = 40;
    let per_request = 25;
    let acknowledged: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let addr = &addr;
                s.spawn(move || {
                    let mut acked = 0;
                    for r in 0..requests {
                        let body: String = (0..per_request)
                            .map(|i| visit(1_000 + (c * requests + r) * per_request + i) + "\n")
                            .collect();
                        let (status, body) = post(addr, "/events", body.into_bytes(), token);
                        assert_eq!(status, 202, "{body}");
                        acked += per_request;
                    }
                    acked
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client")).sum()
    });
    let scraped = scrape(&metrics);
    let total = 3 + acknowledged;
    assert_eq!(scraped["trigc_events_received_total"], (total + 2) as f64);
    assert_eq!(scraped["trigc_events_rejected_total"], 2.0);
    assert_eq!(
        scraped["trigc_actions_total{trigger=\"echo\"}"],
        total as f64
    );
    assert_eq!(
        scraped["trigc_http_responses_total{code=\"202\"}"],
        (1 + clients * requests) as f64
    );
    assert_eq!(get(&metrics, "/healthz"), (200, "ok\n".to_owned()));
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    let mut pages = BTreeMap::new();
    for line in stdout.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("a record");
        let page = record["payload"]["page"]
            .as_str()
            .expect("a page")
            .to_owned();
        *pages.entry(page).or_insert(0) += 1;
    }
    assert_eq!(
        pages.len() as u64,
        total,
        "one record per acknowledged event"
    );
    assert!(pages.values().all(|&n| n == 1), "each exactly once");
}

#[test]
fn a_socket_input_refuses_file_only_flags() {
    let out = bin::run(&[
        "run",
        "rules/",
        "--input",
        "tcp://127.0.0.1:0",
        "--until",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--until"),
        "{}",
        text(&out.stderr)
    );
    let out = bin::run(&["run", "rules/", "--input", "tcp://nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("HOST:PORT"),
        "{}",
        text(&out.stderr)
    );
    let out = bin::run(&[
        "run",
        "rules/",
        "--input",
        "rules/sample-events.ndjson",
        "--clock",
        "wall",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn connections_past_the_cap_wait_for_a_free_slot() {
    let dir = temp_dir("svc-cap");
    let mut service = echo_service(&dir, "tcp://127.0.0.1:0", &["--max-connections", "1"], None);
    let addr = service.tcp();
    let first = TcpStream::connect(&addr).expect("connect");
    service.wait_for("#1 connected");
    let mut second = TcpStream::connect(&addr).expect("the backlog takes it");
    second
        .write_all(b"{\"type\":\"VISIT\",\"user\":\"u\",\"ts\":1,\"page\":\"p1\"}\n")
        .expect("send");
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(line) = service.stderr.try_recv() {
        service.seen.push(line);
    }
    assert!(
        !service.seen.iter().any(|l| l.contains("#2 connected")),
        "a second connection was served past --max-connections 1"
    );
    assert!(service.records.try_recv().is_err(), "nothing processed yet");
    drop(first);
    service.wait_for("#2 connected");
    let (_, record) = service.records.recv_timeout(PATIENCE).expect("a record");
    assert!(record.contains("\"page\":\"p1\""), "{record}");
    drop(second);
    let (_, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn a_stray_time_rejected_later_names_its_connection() {
    let dir = temp_dir("svc-stray");
    let mut service = echo_service(&dir, "tcp://127.0.0.1:0", &[], None);
    let addr = service.tcp();
    let visit = |user: &str, ts: i64| {
        format!("{{\"type\":\"VISIT\",\"user\":\"{user}\",\"ts\":{ts},\"page\":\"p\"}}\n")
    };
    let day = 86_400_000;
    let mut stray = TcpStream::connect(&addr).expect("connect");
    stray
        .write_all((visit("a", day) + &visit("a", 10 * day)).as_bytes())
        .expect("send");
    drop(stray);
    service.wait_for("#1 closed after 2 lines");
    let mut others = TcpStream::connect(&addr).expect("connect");
    let refuting: String = ["b", "c", "d"].iter().map(|u| visit(u, day + 1)).collect();
    others.write_all(refuting.as_bytes()).expect("send");
    drop(others);
    service.wait_for("#2 closed after 3 lines");
    let (_, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("rejected tcp 127.0.0.1:") && l.contains("#1 line 2: time")),
        "{stderr}"
    );
}

#[test]
fn slow_bodies_past_the_room_for_bodies_get_429_then_room_frees() {
    let dir = temp_dir("svc-429");
    let mut service = echo_service(&dir, "http://127.0.0.1:0/events", &[], None);
    let addr = service.http();
    let event = b"{\"type\":\"VISIT\",\"user\":\"u\",\"ts\":1,\"page\":\"p\"}".to_vec();
    // 64 requests announce a body and send one byte of it: each holds a slot.
    let stalled: Vec<TcpStream> = (0..64)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).expect("connect");
            write!(
                s,
                "POST /events HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 100\r\n\r\n{{"
            )
            .expect("send");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = post(&addr, "/events", event.clone(), None);
    assert_eq!(status, 429, "{body}");
    drop(stalled);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = post(&addr, "/events", event.clone(), None);
        if status == 202 {
            break;
        }
        assert!(
            status == 429 && Instant::now() < deadline,
            "{status} {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
}

/// `kill -HUP` to a running service.
fn hup(service: &Service) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &service.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// One connection's lines, sent and closed; returns once the service has read
/// them all (its `n`th connection closed by the producer).
fn send_closed(service: &mut Service, lines: &str, n: usize) {
    let mut stream = TcpStream::connect(service.tcp()).expect("connect");
    stream.write_all(lines.as_bytes()).expect("send");
    drop(stream);
    service.wait_count("(closed by the producer)", n);
}

/// `(trigger, page)` of a record; its action is named as its trigger, so a
/// record named after the old program's trigger numbers shows.
fn fired(record: &str) -> (String, String) {
    let r: serde_json::Value = serde_json::from_str(record).expect("a record");
    assert_eq!(r["trigger"], r["name"], "{r}");
    let field = |v: &serde_json::Value| v.as_str().expect("a string").to_owned();
    (field(&r["trigger"]), field(&r["payload"]["page"]))
}

/// The next `n` records, as [`fired`], sorted.
fn next_fired(service: &Service, n: usize) -> Vec<(String, String)> {
    let mut got: Vec<_> = (0..n)
        .map(|_| {
            let (_, record) = service.records.recv_timeout(PATIENCE).expect("a record");
            fired(&record)
        })
        .collect();
    got.sort();
    got
}

/// `(trigger, page)` pairs as [`fired`] gives them.
fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(t, p)| (t.to_string(), p.to_string()))
        .collect()
}

#[test]
fn sighup_reloads_the_rules_of_a_tcp_service_and_keeps_pending_timers() {
    let dir = temp_dir("svc-hup");
    let rules = write(&dir, "rules.trig", SEEN_LATER_RULES.as_bytes());
    let mut service = Service::start(&[
        &rules,
        "--input",
        "tcp://127.0.0.1:0",
        "--clock",
        "event",
        "--metrics",
        "127.0.0.1:0",
    ]);
    // `a` arms `later`'s timer (due at 1h + 1s) under the first rules; its `seen`
    // record says the engine processed it (a SIGHUP before that could let the
    // new rules take it).
    send_closed(&mut service, &visit("a", 1_000), 1);
    assert_eq!(next_fired(&service, 1), pairs(&[("seen", "a")]));
    std::fs::write(&rules, ECHO_LATER_RULES).expect("rewrite the rules");
    hup(&service);
    let notice = service.wait_for("trigc: SIGHUP:");
    assert!(
        notice.contains(
            "rules changed: 1 triggers kept with their state, new: echo; changed or \
             removed, their state dropped: seen (0 pending instances)"
        ),
        "{notice}"
    );
    // `b` moves event time past `a`'s timer: `later` fires for `a` (its pending
    // instance survived the reload), the new `echo` for `b`, the removed `seen`
    // not at all.
    send_closed(&mut service, &visit("b", 3 * 3_600_000), 2);
    assert_eq!(
        next_fired(&service, 2),
        pairs(&[("echo", "b"), ("later", "a")])
    );
    // The action counters follow the triggers by name across the reload. (The
    // engine counts a group just after flushing its records: wait for `b`.)
    let addr = service.metrics();
    let deadline = Instant::now() + PATIENCE;
    let metrics = loop {
        let metrics = scrape(&addr);
        if metrics.get("trigc_events_received_total") == Some(&2.0) {
            break metrics;
        }
        assert!(Instant::now() < deadline, "{metrics:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    for (trigger, n) in [("seen", 1.0), ("later", 1.0), ("echo", 1.0)] {
        let name = format!("trigc_actions_total{{trigger=\"{trigger}\"}}");
        assert_eq!(metrics.get(&name), Some(&n), "{name}: {metrics:?}");
    }
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    // Nothing more at the stop: `b`'s own timer is not due (no end-of-input firing).
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stderr.contains("timers pending: 1"), "{stderr}");
}

#[test]
fn sighup_with_rules_that_do_not_check_keeps_the_running_ones() {
    let dir = temp_dir("svc-hup-bad");
    let rules = write(&dir, "rules.trig", SEEN_LATER_RULES.as_bytes());
    let mut service = Service::start(&[&rules, "--input", "tcp://127.0.0.1:0", "--clock", "event"]);
    send_closed(&mut service, &visit("a", 1_000), 1);
    assert_eq!(next_fired(&service, 1), pairs(&[("seen", "a")]));
    std::fs::write(
        &rules,
        format!("{ECHO_LATER_RULES}trigger broken on NOPE then emit \"x\"\n"),
    )
    .expect("rewrite the rules");
    hup(&service);
    service.wait_for("trigc: SIGHUP: the rules do not check: the running ones are kept");
    // The diagnostics came before, on stderr.
    assert!(
        service.seen.iter().any(|l| l.contains("NOPE")),
        "{}",
        service.seen.join("\n")
    );
    // The old rules go on: `seen` for `b`, and `a`'s timer fires; no `echo`.
    send_closed(&mut service, &visit("b", 3 * 3_600_000), 2);
    assert_eq!(
        next_fired(&service, 2),
        pairs(&[("later", "a"), ("seen", "b")])
    );
    let (stdout, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(!stderr.contains("rules changed"), "{stderr}");
}

#[test]
fn sighup_starts_the_schedules_of_added_triggers() {
    let dir = temp_dir("svc-hup-every");
    let rules = write(&dir, "rules.trig", SEEN_LATER_RULES.as_bytes());
    let mut service = Service::start(&[&rules, "--input", "tcp://127.0.0.1:0", "--clock", "event"]);
    send_closed(&mut service, &visit("a", 1_000), 1);
    assert_eq!(next_fired(&service, 1), pairs(&[("seen", "a")]));
    // Schedules started with the first event; the added one is queued at the
    // reload (a wall-clock service's engine then sleeps until its instant).
    let ticking = format!("{SEEN_LATER_RULES}trigger tick\n  every 1m\n  then emit \"tick\"\n");
    std::fs::write(&rules, ticking).expect("rewrite the rules");
    hup(&service);
    let notice = service.wait_for("trigc: SIGHUP:");
    assert!(notice.contains("new: tick;"), "{notice}");
    // `b`, 2.5 minutes on, brings two of `tick`'s instants, for `a` (the customer
    // seen by then), before `seen` takes `b`.
    send_closed(&mut service, &visit("b", 150_000), 2);
    let mut got = Vec::new();
    for _ in 0..3 {
        let (_, record) = service.records.recv_timeout(PATIENCE).expect("a record");
        let r: serde_json::Value = serde_json::from_str(&record).expect("a record");
        assert_eq!(r["trigger"], r["name"], "{r}");
        let field = |v: &serde_json::Value| v.as_str().expect("a string").to_owned();
        got.push((field(&r["trigger"]), field(&r["key"])));
    }
    assert_eq!(got, pairs(&[("tick", "a"), ("tick", "a"), ("seen", "b")]));
    let (_, stderr, status) = service.stop();
    assert!(status.success(), "{stderr}");
}
