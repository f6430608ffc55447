//! `trigc run --input tcp://|unix:|http://`: the command-line side of the service
//! (`crate::service`): flags checked and turned into a [`ServiceConfig`], records
//! to stdout, rejects and notices to stderr, the summary at the stop. A service
//! stopped by SIGTERM/SIGINT exits 0: stopping on request is how it ends.
//!
//! With `--state DIR` the service journals what it accepts (`journaled.rs`),
//! replays the journal at a restart, and at the stop keeps its state as it is
//! (no end-of-input rule: pending timers stay pending) in a last, synced
//! checkpoint. With `--deliver` the actions go into the outbox as well
//! (`crate::deliver`); at the stop, what is left of it is kept in the state, or,
//! without `--state`, delivered for at most one `--delivery-timeout`.
//!
//! SIGHUP reloads the rule files as for a file run (`reload.rs`): the engine
//! task does it between two groups of submissions; rules that do not check
//! leave the running program in place.

use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::journaled::Journaled;
use super::persist::{self, Opened};
use super::reload::reload_rules;
use super::run::{InputFormat, RunArgs, compile_rules, fail, render_end};
use crate::deliver::{Delivering, Delivery};
use crate::driver::{Session, describe_notice};
use crate::interp::Interner;
use crate::io::Reject;
use crate::io::sink::NdjsonSink;
use crate::ir::Program;
use crate::runtime::carry::{ProgramPrint, program_print};
use crate::runtime::{ActionRecord, Notice, Output};
use crate::service::metrics::ServiceMetrics;
use crate::service::{
    Accept, ClockKind, EngineOutput, ProcessOnly, Reloaded, Rules, ServiceConfig, Source,
};
use crate::syntax::SourceMap;

/// Records to stdout; notices and rejects to stderr, through a buffer flushed
/// after each batch (not holding stderr's lock, which the connection tasks'
/// messages take too).
struct ServiceOutput<'a> {
    sink: NdjsonSink<io::StdoutLock<'static>>,
    program: &'a Program,
    sources: &'a SourceMap,
    stderr: io::BufWriter<io::Stderr>,
    rejects: Option<io::BufWriter<File>>,
}

impl Output for ServiceOutput<'_> {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        self.sink.write(record, program, interner);
    }

    fn notice(&mut self, notice: &Notice) {
        let text = describe_notice(notice, self.program, self.sources);
        let _ = writeln!(self.stderr, "{text}");
    }
}

impl EngineOutput for ServiceOutput<'_> {
    fn reject(&mut self, origin: &str, reject: &Reject, bytes: Option<&[u8]>) {
        let _ = writeln!(self.stderr, "rejected {origin} {reject}");
        if let (Some(file), Some(bytes)) = (&mut self.rejects, bytes) {
            let _ = file.write_all(bytes).and_then(|()| file.write_all(b"\n"));
        }
    }

    fn flush(&mut self) {
        self.sink.flush();
        let _ = self.stderr.flush();
    }

    fn gone(&self) -> bool {
        self.sink.reader_gone()
    }

    fn set_program(&mut self, program: &'static Program, sources: &'static SourceMap) {
        self.program = program;
        self.sources = sources;
        self.sink.forget_templates();
    }
}

/// With `--deliver`: the records out as above, webhook and email actions into the
/// outbox as well.
impl<O: EngineOutput> EngineOutput for Delivering<O> {
    fn reject(&mut self, origin: &str, reject: &Reject, bytes: Option<&[u8]>) {
        self.inner.reject(origin, reject, bytes);
    }

    fn flush(&mut self) {
        self.inner.flush();
    }

    fn gone(&self) -> bool {
        self.inner.gone()
    }

    fn set_program(&mut self, program: &'static Program, sources: &'static SourceMap) {
        self.inner.set_program(program, sources);
    }
}

/// The rule files of the command line, compiled again on SIGHUP
/// (`super::reload`, as a file run does).
struct RuleFiles<'a> {
    args: &'a RunArgs,
    /// The running program's print, for the carry-over.
    print: ProgramPrint,
    /// The `--max-jump` the session runs with (none under the wall clock).
    max_jump: i64,
}

impl Rules for RuleFiles<'_> {
    fn reload(&mut self, session: &mut Session<'_>) -> Option<Reloaded> {
        reload_rules(self.args, session, &mut self.print, self.max_jump)
    }
}

/// The flags a service does not take, with why.
fn refused(args: &RunArgs) -> Option<&'static str> {
    if args.checkpoint.is_some() || args.resume.is_some() {
        return Some("--checkpoint and --resume take file input; a service's state is for --state");
    }
    if args.until.is_some() {
        return Some("--until ends a file's input; a service ends on SIGTERM/SIGINT");
    }
    if args.input_format == Some(InputFormat::Csv) || args.csv_columns.is_some() {
        return Some("socket input is NDJSON: CSV is read from files and stdin");
    }
    None
}

pub fn serve(args: &RunArgs, source: Source) -> ExitCode {
    match serve_until_stopped(args, source) {
        Ok(code) => code,
        Err(message) => fail(&message),
    }
}

fn serve_until_stopped(args: &RunArgs, source: Source) -> Result<ExitCode, String> {
    if let Some(why) = refused(args) {
        return Err(why.into());
    }
    if args.service.wanted() {
        super::service::check_args(args)?;
    }
    if args.ingest_token_env.is_some() && !matches!(source, Source::Http { .. }) {
        return Err("--ingest-token-env guards an http:// input".into());
    }
    let ingest_token = match &args.ingest_token_env {
        None => None,
        Some(name) => match std::env::var(name) {
            Ok(token) if !token.is_empty() => Some(token),
            _ => {
                return Err(format!(
                    "--ingest-token-env {name}: the environment variable is not set (or empty)"
                ));
            }
        },
    };
    let (sources, program) = match compile_rules(args) {
        Ok(compiled) => compiled,
        Err(code) => return Ok(code),
    };
    let rejects = match &args.rejects {
        None => None,
        Some(path) => {
            Some(io::BufWriter::new(File::create(path).map_err(|e| {
                format!("cannot create `{}`: {e}", path.display())
            })?))
        }
    };
    let clock = args.clock();
    let config = ServiceConfig {
        source: source.clone(),
        clock,
        lateness: args.lateness,
        max_future: args.max_future,
        max_past: args.max_past,
        max_line_bytes: usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        max_body_bytes: usize::try_from(args.max_body_bytes).unwrap_or(usize::MAX),
        ingest_token,
        metrics: args.metrics.clone(),
    };
    let Opened {
        mut session,
        durable,
        mut delivery,
        done,
        journal,
        carried,
        ..
    } = persist::open(args, &program, source.to_string())?;
    // Under the wall clock, --max-future and --max-past bound event times instead.
    let max_jump = if clock == ClockKind::Wall {
        0
    } else {
        args.max_jump
    };
    session.set_max_jump(max_jump);
    let mut rules = RuleFiles {
        args,
        print: program_print(&program),
        max_jump,
    };
    let stop = CancellationToken::new();
    let stopping = stop.clone();
    let outbox = delivery.as_ref().map(|d| Arc::clone(&d.outbox));
    let mut out = Delivering {
        inner: ServiceOutput {
            sink: NdjsonSink::new(io::stdout().lock()),
            program: &program,
            sources: &sources,
            stderr: io::BufWriter::new(io::stderr()),
            rejects,
        },
        outbox: outbox.clone(),
        email_endpoint: args.service.email_endpoint.clone(),
        done,
        // A full outbox holds the engine back, except once the service is stopping.
        stop: Box::new(move || stopping.is_cancelled()),
    };
    let mut journaled = durable.map(|d| Journaled::new(d, outbox, journal));
    let mut plain = ProcessOnly;
    let accept: &mut dyn Accept = match &mut journaled {
        Some(journaled) => journaled,
        None => &mut plain,
    };
    let started = Instant::now();
    // Built here so that other parts of the service (delivery) can hold them too.
    let metrics = Arc::new(ServiceMetrics::new(&program));
    let served = crate::service::serve(
        &mut session,
        config,
        metrics,
        &mut out,
        accept,
        &mut rules,
        stop,
    );
    let end = match served {
        Ok(end) => end,
        Err(message) => {
            out.flush();
            if let Some(d) = &mut delivery {
                d.halt();
            }
            return Err(message);
        }
    };
    if end.reader_gone {
        out.flush();
        if let Some(d) = &mut delivery {
            d.halt();
        }
        eprintln!("trigc: the output was closed: the service stopped");
        return Ok(ExitCode::from(141));
    }
    match &mut journaled {
        // Kept for the restart as it is: no end-of-input rule, pending timers and
        // held events stay pending, the outbox keeps what was not delivered.
        Some(journaled) => {
            out.flush();
            if let Some(d) = &mut delivery {
                d.halt();
            }
            journaled.last_checkpoint(&mut session)?;
        }
        None => {
            session.finish(&mut out);
            for (reject, bytes) in session.take_rejects() {
                out.reject("held", &reject, Some(&bytes));
            }
            out.flush();
            if let Some(d) = &mut delivery {
                deliver_the_rest(d, args.service.delivery_timeout);
            }
        }
    }
    let Delivering { inner, .. } = out;
    let ServiceOutput {
        mut sink,
        mut stderr,
        rejects,
        ..
    } = inner;
    sink.finish()
        .map_err(|e| format!("cannot write the output: {e}"))?;
    if let Some(mut file) = rejects {
        file.flush()
            .map_err(|e| format!("cannot write the rejects file: {e}"))?;
    }
    let mut end_text = render_end(args, &session, started.elapsed());
    let parts = persist::Parts {
        durable: journaled.as_ref().map(|j| &j.durable),
        carried: carried.as_ref(),
        delivery: delivery.as_ref(),
    };
    persist::summarize(&mut end_text, args.stats, &parts);
    let _ = stderr.write_all(end_text.as_bytes());
    let fired = end.fired;
    if fired.records > 0 {
        let mean = fired.total_ms as f64 / fired.records as f64;
        let _ = writeln!(
            stderr,
            "wall-clock firings: {} records, lateness mean {mean:.1} ms, max {} ms",
            fired.records, fired.max_ms
        );
    }
    if let Some(signal) = end.signal {
        let _ = writeln!(stderr, "trigc: stopped by {signal}");
    }
    let _ = stderr.flush();
    std::mem::forget(session);
    Ok(ExitCode::SUCCESS)
}

/// A service stopping without `--state`: what is left in the outbox is delivered
/// for at most `patience` (one `--delivery-timeout`); the rest is lost (the
/// summary says how many).
fn deliver_the_rest(delivery: &mut Delivery, patience: Duration) {
    delivery.close();
    let until = Instant::now() + patience;
    while !delivery.finished() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    delivery.halt();
}
