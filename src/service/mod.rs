//! `trigc run` as a service: events from sockets (`tcp://`, `unix:`) and an HTTP
//! ingestion endpoint (`http://`), timers on the wall clock or on event time,
//! Prometheus metrics, a clean stop on SIGTERM/SIGINT, and the rules reloaded on
//! SIGHUP.
//!
//! One engine task owns the [`Session`]: it runs on the calling thread (the
//! runtime's `block_on`), so it borrows the program and writes stdout without
//! blocking the network. Every source sends [`Submission`]s (a batch of numbered
//! lines from one connection or request) into one bounded channel: when the engine
//! is slower than the producers, the channel fills, connection tasks stop reading
//! and TCP pushes back on the producers (HTTP answers `429`). Nothing queues
//! without bound: a channel of [`QUEUE`] batches of at most one read (or one body)
//! each, lines of at most `--max-line-bytes`, a cap on connections.
//!
//! Files: `codec.rs` (bytes to lines, bounded), `stream.rs` (TCP and Unix socket
//! listeners and their connections), `http.rs` (the ingestion endpoint and the
//! small HTTP server `/metrics` shares), `engine.rs` (the engine task: the
//! channel, the clock, the [`Accept`] seam, SIGHUP's [`Rules`] reload, records
//! out), `clock.rs` (`--clock`, the wall clock in ms), `metrics.rs` (the registry
//! and `/metrics`, `/healthz`).
//!
//! Line numbers in messages count the lines of one connection (or of one HTTP
//! request body) from 1, blank lines included, after the source's label:
//! `tcp 127.0.0.1:40312#3 line 17: …` is the 17th line of the 3rd connection the
//! service accepted (every source counts connections and requests together, from
//! 1), which came from 127.0.0.1:40312.

mod clock;
mod codec;
mod engine;
mod http;
pub mod metrics;
mod stream;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use clock::ClockKind;
pub use codec::{Frame, LineCodec};
pub use engine::{
    Accept, Engine, EngineOutput, Lateness, ProcessOnly, Reloaded, Rules, ServiceEnd,
};

use crate::driver::Session;

/// Batches in flight between the sources and the engine. With batches of one
/// socket read (at most [`stream::READ_BYTES`]) this holds a few MiB at most.
pub const QUEUE: usize = 64;

/// Where a service reads events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `tcp://HOST:PORT`: listen, one producer per connection.
    Tcp(String),
    /// `unix:PATH`: listen on a Unix socket (a stale socket file is replaced).
    Unix(PathBuf),
    /// `http://HOST:PORT/PATH`: POST one JSON event or NDJSON lines to `PATH`.
    Http { addr: String, path: String },
}

impl Source {
    /// The source an `--input` names, when it is a socket URL (`None`: a file or
    /// `-`); an error for a URL that does not parse.
    pub fn parse(input: &str) -> Option<Result<Source, String>> {
        if let Some(rest) = input.strip_prefix("tcp://") {
            return Some(host_port(rest).map(|a| Source::Tcp(a.to_owned())));
        }
        if let Some(rest) = input.strip_prefix("unix:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return Some(if path.is_empty() {
                Err("`unix:` needs a path: `unix:/run/trigc.sock`".into())
            } else {
                Ok(Source::Unix(PathBuf::from(path)))
            });
        }
        if let Some(rest) = input.strip_prefix("http://") {
            let (addr, path) = match rest.find('/') {
                Some(at) => rest.split_at(at),
                None => (rest, "/"),
            };
            return Some(host_port(addr).map(|addr| Source::Http {
                addr: addr.to_owned(),
                path: path.to_owned(),
            }));
        }
        if input.starts_with("https://") {
            return Some(Err(
                "`https://` input is not served: terminate TLS in front of trigc and give it `http://`"
                    .into(),
            ));
        }
        None
    }

    /// The URL scheme, for labels and messages.
    pub fn scheme(&self) -> &'static str {
        match self {
            Source::Tcp(_) => "tcp",
            Source::Unix(_) => "unix",
            Source::Http { .. } => "http",
        }
    }
}

/// `HOST:PORT`, checked for the shape only (the name is resolved at bind).
fn host_port(s: &str) -> Result<&str, String> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(s),
        _ => Err(format!(
            "`{}` is not HOST:PORT (for example 127.0.0.1:7000)",
            crate::diag::quote(s)
        )),
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Tcp(addr) => write!(f, "tcp://{addr}"),
            Source::Unix(path) => write!(f, "unix:{}", path.display()),
            Source::Http { addr, path } => write!(f, "http://{addr}{path}"),
        }
    }
}

/// What a service is told besides its session.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub source: Source,
    pub clock: ClockKind,
    /// `--lateness`, ms: under the wall clock, the watermark is the wall clock
    /// minus it.
    pub lateness: i64,
    /// `--max-future`/`--max-past`, ms: under the wall clock, events dated further
    /// from it are rejected.
    pub max_future: i64,
    pub max_past: i64,
    /// `--max-line-bytes`.
    pub max_line_bytes: usize,
    /// `--max-connections`: connections (and HTTP connections) served at once.
    pub max_connections: usize,
    /// `--max-body-bytes`: the largest HTTP request body.
    pub max_body_bytes: usize,
    /// The bearer token HTTP requests must carry (`--ingest-token-env NAME`).
    pub ingest_token: Option<String>,
    /// `--metrics HOST:PORT`.
    pub metrics: Option<String>,
}

/// One line, or a too-long one, with its number in its connection or body.
#[derive(Clone, Debug)]
pub struct Numbered {
    pub number: u64,
    pub frame: Frame,
}

/// A batch of lines from one connection or request, in their order.
pub struct Submission {
    /// `tcp 127.0.0.1:40312#3`: the label reject messages start with.
    pub origin: Arc<str>,
    pub lines: Vec<Numbered>,
    /// For HTTP: where the engine answers once the lines are accepted.
    pub ack: Option<oneshot::Sender<Ack>>,
}

impl Submission {
    /// The bytes of its lines (for accounting and journaling).
    pub fn line_bytes(&self) -> impl Iterator<Item = (u64, &Bytes)> {
        self.lines.iter().filter_map(|n| match &n.frame {
            Frame::Line(bytes) => Some((n.number, bytes)),
            Frame::TooLong { .. } => None,
        })
    }
}

/// The engine's answer to a submission that asked for one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ack {
    /// Lines accepted (processed, ignored or held), blank lines not counted.
    pub accepted: u64,
    /// Rejected lines: number and reason.
    pub rejected: Vec<(u64, String)>,
    /// Set when the [`Accept`] step refused the whole submission (nothing of it
    /// was processed).
    pub refused: Option<String>,
}

/// What every source task shares: the channel into the engine, the stop signal,
/// the connection counter and the metrics.
#[derive(Clone)]
pub struct Shared {
    pub tx: mpsc::Sender<Submission>,
    pub stop: CancellationToken,
    pub next_id: Arc<AtomicU64>,
    pub metrics: Arc<metrics::ServiceMetrics>,
    pub config: Arc<ServiceConfig>,
}

impl Shared {
    /// The label of a new connection or request: `tcp 127.0.0.1:40312#3`.
    pub fn label(&self, peer: Option<SocketAddr>) -> Arc<str> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let scheme = self.config.source.scheme();
        match peer {
            Some(peer) => format!("{scheme} {peer}#{n}").into(),
            None => format!("{scheme}#{n}").into(),
        }
    }
}

/// Run the service until SIGTERM/SIGINT (or `stop`, which they cancel): process
/// what [`Accept::replay`] gives, bind the source (and `--metrics`), print where
/// it listens on stderr, feed the session, reload `rules` on SIGHUP, and at the
/// stop drain what was read. The session is left as the last line left it (no
/// end-of-input rule: the caller decides).
pub fn serve(
    session: &mut Session<'_>,
    config: ServiceConfig,
    metrics: Arc<metrics::ServiceMetrics>,
    output: &mut dyn EngineOutput,
    accept: &mut dyn Accept,
    rules: &mut dyn Rules,
    stop: CancellationToken,
) -> Result<ServiceEnd, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .thread_name("trigc-io")
        .build()
        .map_err(|e| format!("cannot start the service runtime: {e}"))?;
    let config = Arc::new(config);
    let (tx, rx) = mpsc::channel(QUEUE);
    let shared = Shared {
        tx,
        stop: stop.clone(),
        next_id: Arc::new(AtomicU64::new(0)),
        metrics: Arc::clone(&metrics),
        config: Arc::clone(&config),
    };
    runtime.block_on(async move {
        let reload = Arc::new(Notify::new());
        let signal = stop_on_signals(stop.clone(), Arc::clone(&reload))?;
        let mut engine = Engine {
            session,
            config: &config,
            metrics: &metrics,
            output,
            accept,
            rules,
            fired: engine::Lateness::default(),
            held: std::collections::VecDeque::new(),
        };
        engine.replay();
        if let Some(addr) = &config.metrics {
            metrics::serve(addr, Arc::clone(&metrics), stop.clone()).await?;
        }
        match &config.source {
            Source::Tcp(addr) => stream::listen_tcp(addr, shared).await?,
            Source::Unix(path) => stream::listen_unix(path, shared).await?,
            Source::Http { addr, path } => http::listen(addr, path.clone(), shared).await?,
        }
        let mut end = engine.run(rx, stop, reload).await;
        end.signal = signal.get().copied();
        Ok(end)
    })
}

/// SIGTERM and SIGINT stop the service: the sources stop accepting and reading,
/// the engine drains what was read. A second signal ends the process at once
/// (128 + its number). What stopped it is kept for the summary. SIGHUP (rather
/// than ending the process, its default) notifies `reload`: the engine task
/// reloads the rules between two groups of submissions, as a file run does
/// between two lines. Signals that come while a reload is pending make one
/// reload.
fn stop_on_signals(
    stop: CancellationToken,
    reload: Arc<Notify>,
) -> Result<Arc<OnceLock<&'static str>>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| signal(kind).map_err(|e| format!("cannot listen for signals: {e}"));
    let mut term = listen(SignalKind::terminate())?;
    let mut int = listen(SignalKind::interrupt())?;
    let mut hup = listen(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            reload.notify_one();
        }
    });
    let seen = Arc::new(OnceLock::new());
    let noted = Arc::clone(&seen);
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        let _ = noted.set(name);
        eprintln!("trigc: {name}: stopping (no new connections; what was read is processed)");
        stop.cancel();
        let status = tokio::select! {
            _ = term.recv() => 143,
            _ = int.recv() => 130,
        };
        std::process::exit(status);
    });
    Ok(seen)
}
