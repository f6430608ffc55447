//! The harness of the service tests (`tests/service.rs`, `tests/service_state.rs`):
//! a `trigc run --input <socket>` started on loopback (port 0: the service prints
//! the address it bound on stderr), its stderr and records read as they come, and
//! an HTTP client. Included as `#[path = "common/service.rs"] mod harness;` (with
//! `bin`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use super::bin::trigc;

/// How long any wait in these tests may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running `trigc run --input <socket>`.
pub struct Service {
    pub child: Child,
    /// stderr lines as they come.
    pub stderr: Receiver<String>,
    pub seen: Vec<String>,
    /// stdout, read whole on a thread.
    pub stdout: Option<std::thread::JoinHandle<String>>,
    /// Each record line with the instant it was read.
    pub records: Receiver<(Instant, String)>,
}

impl Service {
    pub fn start(args: &[&str]) -> Service {
        Service::start_env(args, None)
    }

    /// Started with the environment variable `env` set.
    pub fn start_env(args: &[&str], env: Option<(&str, &str)>) -> Service {
        let mut command = trigc();
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let mut child = command
            .arg("run")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("trigc starts");
        let (tx, stderr) = channel();
        let err = child.stderr.take().expect("stderr piped");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let (record_tx, records) = channel();
        let out = child.stdout.take().expect("stdout piped");
        let stdout = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = record_tx.send((Instant::now(), line.clone()));
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let mut service = Service {
            child,
            stderr,
            seen: Vec::new(),
            stdout: Some(stdout),
            records,
        };
        service.wait_for("trigc: listening on ");
        service
    }

    /// The first stderr line containing `needle` (waiting for it).
    pub fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no `{needle}` on stderr; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// How many stderr lines so far contain `needle`, waiting until `n` do.
    pub fn wait_count(&mut self, needle: &str, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.seen.iter().filter(|l| l.contains(needle)).count() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("fewer than {n} `{needle}`; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The address after `prefix` (`tcp://`, `http://`) in the listening line.
    fn addr(&mut self, what: &str, scheme: &str) -> String {
        let line = self.wait_for(what);
        let at = line.find(scheme).expect("a URL") + scheme.len();
        line[at..]
            .split(['/', ' '])
            .next()
            .expect("host:port")
            .to_owned()
    }

    pub fn tcp(&mut self) -> String {
        self.addr("trigc: listening on tcp://", "tcp://")
    }

    pub fn http(&mut self) -> String {
        self.addr("trigc: listening on http://", "http://")
    }

    pub fn metrics(&mut self) -> String {
        self.addr("trigc: metrics on http://", "http://")
    }

    /// SIGTERM, then everything it printed, and its status.
    pub fn stop(mut self) -> (String, String, ExitStatus) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let status = self.child.wait().expect("trigc ends");
        let stdout = self.stdout.take().expect("once").join().expect("reader");
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (stdout, self.seen.join("\n"), status)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request with a hyper client: status and body.
pub fn post(addr: &str, path: &str, body: Vec<u8>, token: Option<&str>) -> (u16, String) {
    try_post(addr, path, body, token).expect("an answer")
}

/// [`post`], or why there was no answer (the service was killed meanwhile).
pub fn try_post(
    addr: &str,
    path: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> Result<(u16, String), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let failed = |e: &dyn std::fmt::Display| e.to_string();
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| failed(&e))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| failed(&e))?;
        tokio::spawn(connection);
        let mut request = hyper::Request::post(path).header("host", addr);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .expect("request");
        let response = sender.send_request(request).await.map_err(|e| failed(&e))?;
        let status = response.status().as_u16();
        use http_body_util::BodyExt;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(&e))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    })
}

/// A `GET` over a plain socket: status and body.
pub fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A visit of `user` to page `user` at `ts`, as a line.
pub fn visit(user: &str, ts: i64) -> String {
    format!("{{\"type\":\"VISIT\",\"user\":\"{user}\",\"ts\":{ts},\"page\":\"{user}\"}}\n")
}

/// An immediate record per visit, and a timer an hour after each (the reload tests).
pub const SEEN_LATER_RULES: &str = "event VISIT { page: string }\n\
     trigger seen\n  on VISIT\n  then emit \"seen\" with { page: page }\n\
     trigger later\n  on VISIT\n  wait 1h\n  then emit \"later\" with { page: page }\n";

/// [`SEEN_LATER_RULES`] with `seen` removed and `echo` added before `later`:
/// `later`'s definition is unchanged, its trigger number is not.
pub const ECHO_LATER_RULES: &str = "event VISIT { page: string }\n\
     trigger echo\n  on VISIT\n  then emit \"echo\" with { page: page }\n\
     trigger later\n  on VISIT\n  wait 1h\n  then emit \"later\" with { page: page }\n";
