//! `trigc run --input tcp://|unix:|http://`: the command-line side of the service
//! (`crate::service`): flags checked and turned into a [`ServiceConfig`], records
//! to stdout, rejects and notices to stderr, the summary at the stop. A service
//! stopped by SIGTERM/SIGINT exits 0: stopping on request is how it ends.

use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use super::run::{InputFormat, RunArgs, compile_rules, fail, render_end};
use crate::driver::{EngineKind, Session, describe_notice};
use crate::interp::Interner;
use crate::io::Reject;
use crate::io::sink::NdjsonSink;
use crate::ir::Program;
use crate::runtime::{ActionRecord, Notice, Output};
use crate::service::metrics::ServiceMetrics;
use crate::service::{ClockKind, EngineOutput, ProcessOnly, ServiceConfig, Source};
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
    if let Some(why) = refused(args) {
        return fail(why);
    }
    if args.ingest_token_env.is_some() && !matches!(source, Source::Http { .. }) {
        return fail("--ingest-token-env guards an http:// input");
    }
    let ingest_token = match &args.ingest_token_env {
        None => None,
        Some(name) => match std::env::var(name) {
            Ok(token) if !token.is_empty() => Some(token),
            _ => {
                return fail(&format!(
                    "--ingest-token-env {name}: the environment variable is not set (or empty)"
                ));
            }
        },
    };
    let (sources, program) = match compile_rules(args) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let rejects = match &args.rejects {
        None => None,
        Some(path) => match File::create(path) {
            Ok(file) => Some(io::BufWriter::new(file)),
            Err(e) => return fail(&format!("cannot create `{}`: {e}", path.display())),
        },
    };
    let clock = args.clock();
    let config = ServiceConfig {
        source,
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
    let mut session = match new_session(args.engine, &program, args) {
        Ok(session) => session,
        Err(message) => return fail(&message),
    };
    // Under the wall clock, --max-future and --max-past bound event times instead.
    session.set_max_jump(if clock == ClockKind::Wall {
        0
    } else {
        args.max_jump
    });
    let mut out = ServiceOutput {
        sink: NdjsonSink::new(io::stdout().lock()),
        program: &program,
        sources: &sources,
        stderr: io::BufWriter::new(io::stderr()),
        rejects,
    };
    let started = Instant::now();
    // Built here so that other parts of the service (delivery) can hold them too.
    let metrics = Arc::new(ServiceMetrics::new(&program));
    let end = match crate::service::serve(&mut session, config, metrics, &mut out, &mut ProcessOnly)
    {
        Ok(end) => end,
        Err(message) => {
            out.flush();
            return fail(&message);
        }
    };
    if end.reader_gone {
        out.flush();
        eprintln!("trigc: the output was closed: the service stopped");
        return ExitCode::from(141);
    }
    session.finish(&mut out);
    for (reject, bytes) in session.take_rejects() {
        out.reject("held", &reject, Some(&bytes));
    }
    out.flush();
    let ServiceOutput {
        mut sink,
        mut stderr,
        rejects,
        ..
    } = out;
    if let Err(e) = sink.finish() {
        return fail(&format!("cannot write the output: {e}"));
    }
    if let Some(mut file) = rejects
        && let Err(e) = file.flush()
    {
        return fail(&format!("cannot write the rejects file: {e}"));
    }
    let _ = stderr.write_all(render_end(args, &session, started.elapsed()).as_bytes());
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
    ExitCode::SUCCESS
}

fn new_session<'p>(
    engine: Option<EngineKind>,
    program: &'p Program,
    args: &RunArgs,
) -> Result<Session<'p>, String> {
    let engine = super::run::build_engine(engine)?;
    Session::new(program, engine, args.config()).map_err(|e| e.to_string())
}
