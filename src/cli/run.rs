//! `trigc run`: rules plus an NDJSON event stream in, action records out.
//!
//! stdout carries action records and nothing else (one NDJSON line each). stderr
//! carries everything for the operator: rule diagnostics, one line per rejected input
//! line, late event and runtime error, and a summary at the end (one JSON object
//! with `--stats`). Exit codes: 0 when the input was read to its end (rejected lines
//! do not change that), 1 for rule errors, 2 for usage and IO errors, 141 when the
//! reader of stdout went away first, 143/130 when SIGTERM/SIGINT stopped the run.
//!
//! This file is argument handling ([`RunArgs`], [`open_files`]), the read loop
//! ([`read_input`]) and the summary ([`render_end`]). What a line does is
//! [`crate::driver::Session`]'s, a library type, so the tests drive exactly what the
//! command runs (and can checkpoint it halfway).

use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::check::report;
use super::csv_input::read_csv;
use super::input::{Input, clash, not_a_regular_file, open_input};
use super::load::load_rules;
use super::stop::{StopRequests, StopSignal};
use crate::driver::checkpoint::read_checkpoint;
use crate::driver::{
    Checkpoint, EngineKind, LineOutcome, PendingCheckpoint, Session, Summary, Unterminated,
    describe_notice,
};
use crate::interp::Interner;
use crate::io::lines::LineLimit;
use crate::io::sink::NdjsonSink;
use crate::io::{Lines, Poll, Reject};
use crate::ir::Program;
use crate::runtime::{
    ActionRecord, LatePolicy, Notice, Output, RestoreError, RuntimeConfig, StartIndexUse,
};
use crate::service::{ClockKind, Source};
use crate::syntax::SourceMap;
use crate::time::{TIME_RANGE, format_time, in_range, parse_duration, parse_time};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LateArg {
    /// Count and report late events, then drop them.
    #[default]
    Drop,
    /// Count and report late events, then process them at their own time.
    Process,
}

pub use super::input::InputFormat;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Rule files or directories, compiled as one program.
    #[arg(required = true)]
    pub rules: Vec<PathBuf>,
    /// Input file (NDJSON, or CSV with `--input-format csv`); `-` (the default)
    /// reads stdin. Or a socket to listen on, as a service that runs until
    /// SIGTERM/SIGINT (then it drains what it read, prints the summary and exits
    /// 0): `tcp://HOST:PORT` (NDJSON from any number of producers, one per
    /// connection, each connection's lines in order), `unix:PATH` (the same on a
    /// Unix socket; a stale socket file is replaced), `http://HOST:PORT/PATH` (an
    /// ingestion endpoint: POST one JSON event or NDJSON lines; 202 once taken,
    /// 400 with the rejected lines' numbers and reasons as JSON, 401, 413, 429
    /// with Retry-After). It binds only the address given; port 0 picks a free
    /// one, and stderr says `trigc: listening on tcp://127.0.0.1:40123`. Reject
    /// messages name the connection and its line: `rejected tcp
    /// 127.0.0.1:40312#3 line 17: ...` (the 3rd connection or request since the
    /// start, from 127.0.0.1:40312; lines counted from 1 in each). Without a
    /// durable state nothing is guaranteed across a crash: lines read and not yet
    /// processed, pending timers and all per-customer state are lost. With
    /// `--state DIR` socket lines are journaled before they are processed (a 202
    /// means journaled: it survives kill -9; a raw TCP or Unix line is journaled
    /// when the service takes it from its queue, and its producer is never told),
    /// the journal is processed again at a restart, and a stop keeps pending
    /// timers.
    #[arg(long, default_value = "-", verbatim_doc_comment)]
    pub input: PathBuf,
    /// The input's format; default: `csv` for a `*.csv` input, else `ndjson`.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,
    /// CSV input without a header row: the names of its columns, in order
    /// (`--csv-columns user,type,ts,product`).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub csv_columns: Option<Vec<String>>,
    /// Which engine evaluates expressions; default: the JIT, or the interpreter
    /// (said in one line on stderr) where the JIT cannot run on this host.
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,
    /// Final watermark at the end of input (RFC 3339 or epoch milliseconds, within
    /// 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z): timers due up to it fire.
    #[arg(long, value_parser = parse_until)]
    pub until: Option<i64>,
    /// Allowed lateness (`5m`): events up to this much out of order are re-ordered.
    #[arg(long, value_parser = parse_lateness, default_value = "0s")]
    pub lateness: i64,
    /// How far past the latest event time an event may be dated before it is held
    /// until later events confirm it (a real jump in time) or refute it (a stray
    /// timestamp, then rejected); `0s` turns the guard off.
    #[arg(long, value_parser = parse_lateness, default_value = "1d")]
    pub max_jump: i64,
    /// What to do with events older than the watermark [default: drop; process
    /// under `--clock wall`, where the wall clock, not the stream, moved it].
    #[arg(long, value_enum)]
    pub late: Option<LateArg>,
    /// What moves time: `event` (event times alone, as for a file: the default
    /// for files and stdin) or `wall` (timers and schedules fire on real time,
    /// the watermark is the wall clock minus `--lateness`: the default for socket
    /// input). A record fired by the wall clock keeps its due instant as `at`.
    /// Under `wall`, an event dated more than `--max-future` ahead of the wall
    /// clock or more than `--max-past` behind it is rejected (counted as
    /// `times_ahead`/`times_behind` in `--stats`); one within those bounds but
    /// before the watermark is late (`--late`); `--max-jump` is not used.
    #[arg(long, value_enum, verbatim_doc_comment)]
    pub clock: Option<ClockKind>,
    /// `--clock wall`: how far ahead of the wall clock an event may be dated
    /// (producers' clock skew).
    #[arg(long, value_parser = parse_lateness, default_value = "1s")]
    pub max_future: i64,
    /// `--clock wall`: how far behind the wall clock an event may be dated.
    #[arg(long, value_parser = parse_lateness, default_value = "1h")]
    pub max_past: i64,
    /// Serve Prometheus metrics on `http://HOST:PORT/metrics` (and `/healthz`)
    /// while a socket input runs; port 0 picks a free one (stderr names it).
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics: Option<String>,
    /// `--input http://`: requests must carry `Authorization: Bearer <token>`,
    /// the token being the value of this environment variable (401 otherwise).
    #[arg(long, value_name = "NAME")]
    pub ingest_token_env: Option<String>,
    /// Socket input: connections (TCP, Unix or HTTP) served at once; more wait.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub max_connections: u64,
    /// `--input http://`: the largest request body, in bytes (413 over it).
    #[arg(long, default_value_t = 16 << 20, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub max_body_bytes: u64,
    /// Copy every rejected input line, verbatim, to this file (except lines over
    /// `--max-line-bytes`, which are never held in memory: those are only reported
    /// on stderr).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Longest input line, in bytes (not counting its newline). A longer line is
    /// skipped as it streams past, in constant memory, and rejected with its line
    /// number; a stream without newlines is one such line.
    #[arg(long, default_value_t = LineLimit::DEFAULT_MAX_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub max_line_bytes: u64,
    /// Print the end-of-run summary as one JSON object on stderr.
    #[arg(long)]
    pub stats: bool,
    /// At the end of the input, save the whole runtime state to this file (JSON)
    /// instead of applying the end-of-input rule: pending timers, held events and
    /// per-customer state carry over to a later `--resume`.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Start from a `--checkpoint` file of the same rules: the output is the same as
    /// one run over both inputs.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Evaluate every trigger's start patterns for every event of its type, without
    /// the start index (same output, slower with many triggers; for comparisons).
    #[arg(long)]
    pub no_index: bool,
    /// Delivery and durable state (`--deliver`, `--state`, ...): `super::service`.
    #[command(flatten)]
    pub service: Box<super::service::ServiceArgs>,
}

impl RunArgs {
    /// `--input-format`, or what the input's name says.
    pub fn format(&self) -> InputFormat {
        InputFormat::of(self.input_format, self.csv_columns.is_some(), &self.input)
    }

    /// The socket `--input` names, if it names one.
    pub fn socket(&self) -> Option<Result<Source, String>> {
        Source::parse(self.input.to_str()?)
    }

    /// `--clock`, or the default for the input.
    pub fn clock(&self) -> ClockKind {
        match (self.clock, self.socket()) {
            (Some(clock), _) => clock,
            (None, Some(_)) => ClockKind::Wall,
            (None, None) => ClockKind::Event,
        }
    }

    /// The runtime's view of the time options.
    pub fn config(&self) -> RuntimeConfig {
        let late = match self.late {
            Some(late) => late,
            None if self.clock() == ClockKind::Wall => LateArg::Process,
            None => LateArg::Drop,
        };
        RuntimeConfig {
            lateness: self.lateness,
            late: match late {
                LateArg::Drop => LatePolicy::Drop,
                LateArg::Process => LatePolicy::Process,
            },
            until: self.until,
            start_index: if self.no_index {
                StartIndexUse::Never
            } else {
                StartIndexUse::Auto
            },
            // `--state` turns it on (`cli::service`).
            track_changes: false,
        }
    }
}

fn parse_until(s: &str) -> Result<i64, String> {
    let ms = match s.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => {
            parse_time(s).map_err(|e| format!("not an RFC 3339 time or epoch milliseconds: {e}"))?
        }
    };
    in_range(ms).ok_or_else(|| format!("out of range: times must lie in {TIME_RANGE}"))
}

fn parse_lateness(s: &str) -> Result<i64, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Records to stdout, notices and rejects to stderr. Both are buffered and flushed
/// before each read that may wait, and at the end: a reject costs no write call of its
/// own.
pub(super) struct CliOutput<'a> {
    pub sink: NdjsonSink<io::StdoutLock<'static>>,
    program: &'a Program,
    sources: &'a SourceMap,
    pub stderr: io::BufWriter<io::StderrLock<'static>>,
}

impl<'a> CliOutput<'a> {
    /// Name triggers and expressions in notices after these rules (a reload).
    pub(super) fn set_program(&mut self, program: &'a Program, sources: &'a SourceMap) {
        self.program = program;
        self.sources = sources;
        self.sink.forget_templates();
    }

    pub(super) fn new(program: &'a Program, sources: &'a SourceMap) -> CliOutput<'a> {
        CliOutput {
            sink: NdjsonSink::new(io::stdout().lock()),
            program,
            sources,
            stderr: io::BufWriter::new(io::stderr().lock()),
        }
    }

    /// Hand everything decided so far to stdout and stderr.
    pub(super) fn flush(&mut self) {
        self.sink.flush();
        let _ = self.stderr.flush();
    }
}

impl Output for CliOutput<'_> {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        self.sink.write(record, program, interner);
    }

    fn notice(&mut self, notice: &Notice) {
        let text = describe_notice(notice, self.program, self.sources);
        let _ = writeln!(self.stderr, "{text}");
    }
}

/// The engine `--engine` names, or by default the JIT, falling back to the
/// interpreter with one line on stderr where the host cannot run the JIT (an
/// explicit `--engine jit` fails instead).
pub(super) fn build_engine(
    choice: Option<EngineKind>,
) -> Result<Box<dyn crate::interp::Engine>, String> {
    let engine = match choice {
        Some(kind) => kind.build(),
        None => EngineKind::Jit.build().or_else(|e| {
            eprintln!("trigc: {e}; using the interpreter");
            EngineKind::Interp.build()
        }),
    };
    engine.map_err(|e| e.to_string())
}

pub fn run(args: &RunArgs) -> ExitCode {
    if let Some(source) = args.socket() {
        return match source {
            Ok(source) => super::serve::serve(args, source),
            Err(message) => fail(&message),
        };
    }
    if args.clock == Some(ClockKind::Wall) {
        return fail(
            "--clock wall takes socket input (tcp://, unix:, http://): a file runs on event time",
        );
    }
    if args.format() == InputFormat::Csv && (args.checkpoint.is_some() || args.resume.is_some()) {
        return fail("--checkpoint and --resume take NDJSON input, not CSV");
    }
    if args.format() == InputFormat::Csv && args.service.wanted() {
        return fail("--deliver and --state take NDJSON input, not CSV");
    }
    if args.service.wanted() {
        return super::service::run(args);
    }
    if args.format() == InputFormat::Ndjson && args.csv_columns.is_some() {
        return fail("--csv-columns names the columns of CSV input, not NDJSON");
    }
    let (sources, program) = match compile_rules(args) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let mut files = match open_files(args, &sources, &program) {
        Ok(files) => files,
        Err(message) => return fail(&message),
    };
    let engine = match build_engine(args.engine) {
        Ok(engine) => engine,
        Err(message) => return fail(&message),
    };
    let config = args.config();
    let stop = StopRequests::install();
    let started = Instant::now();
    let session = match files.resumed.take() {
        None => Session::new(&program, engine, config).map_err(RestoreError::Engine),
        Some(checkpoint) => Session::resume(&program, engine, config, checkpoint),
    };
    let mut session = match session {
        Ok(session) => session,
        Err(RestoreError::Engine(e)) => return fail(&e.to_string()),
        Err(RestoreError::Invalid(what)) => {
            let path = args.resume.as_deref().unwrap_or(Path::new("-"));
            return fail(&format!(
                "`{}` is not a usable checkpoint: {what}",
                path.display()
            ));
        }
    };
    session.set_max_jump(args.max_jump);
    let mut out = CliOutput::new(&program, &sources);
    // A line a checkpoint held back is read again in front of this input.
    let tail = session.take_tail();
    let reader = std::mem::replace(&mut files.input.reader, Box::new(io::empty()));
    let reader: Box<dyn BufRead> = if tail.is_empty() {
        reader
    } else {
        Box::new(io::Cursor::new(tail).chain(reader))
    };
    if files.checkpoint.is_some() {
        session.set_unterminated(Unterminated::Hold);
    }
    let limit = LineLimit {
        max_bytes: usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX),
    };
    let reading = Reading {
        rejects: files.rejects.as_mut(),
        stop: &stop,
        limit,
    };
    let end = match args.format() {
        InputFormat::Ndjson => read_input(
            &mut session,
            Lines::with_limit(reader, limit),
            &mut out,
            reading,
        ),
        InputFormat::Csv => read_csv(
            &mut session,
            &program,
            Lines::with_limit(reader, limit),
            args.csv_columns.clone(),
            &mut out,
            reading,
        ),
    };
    let end = match end {
        Ok(end) => end,
        Err(message) => {
            out.flush();
            return fail(&message);
        }
    };
    if let InputEnd::ReaderGone { line } = end {
        out.flush();
        if files.checkpoint.is_some() {
            // The rest of the input was not read: a checkpoint now would skip it.
            return fail(
                "the output was closed before the end of the input: no checkpoint written",
            );
        }
        // Like a tool killed by SIGPIPE: the run did not get to the end, so it says
        // so and its status is not 0 (`set -o pipefail` sees it).
        eprintln!(
            "trigc: the output was closed after line {line}: the rest of the input was not read"
        );
        return ExitCode::from(CLOSED_OUTPUT_STATUS);
    }
    match (&end, files.checkpoint.take()) {
        (InputEnd::Stopped { .. }, Some(_)) => {
            let _ = writeln!(
                out.stderr,
                "trigc: stopped before the end of the input: no checkpoint written"
            );
        }
        // Cut short: not the end of the input, so no end-of-input rule either.
        (InputEnd::Stopped { .. }, None) => {}
        // To be continued: no end-of-input rule.
        (_, Some(file)) => {
            let path = file.path.display().to_string();
            if let Err(e) = file.commit(&session.checkpoint()) {
                out.flush();
                return fail(&format!("cannot write the checkpoint `{path}`: {e}"));
            }
        }
        (_, None) => {
            session.finish(&mut out);
            for (reject, bytes) in session.take_rejects() {
                if let Err(message) =
                    report_reject(&mut out, &reject, &bytes, files.rejects.as_mut())
                {
                    out.flush();
                    return fail(&message);
                }
            }
        }
    }
    if let Some(pb) = files.input.progress.take() {
        pb.finish_and_clear();
    }
    let elapsed = started.elapsed();
    let CliOutput {
        mut sink,
        mut stderr,
        ..
    } = out;
    if let Err(e) = sink.finish() {
        let _ = stderr.flush();
        return fail(&format!("cannot write the output: {e}"));
    }
    if let Some(file) = &mut files.rejects
        && let Err(e) = file.flush()
    {
        let _ = stderr.flush();
        return fail(&format!("cannot write the rejects file: {e}"));
    }
    let _ = stderr.write_all(render_end(args, &session, elapsed).as_bytes());
    let status = match end {
        InputEnd::Stopped { signal, line } => {
            let _ = writeln!(
                stderr,
                "trigc: stopped by {} after line {line}: the input was not read to its end",
                signal.name()
            );
            ExitCode::from(signal.exit_status())
        }
        _ => ExitCode::SUCCESS,
    };
    let _ = stderr.flush();
    // The process ends here: freeing every customer's state one allocation at a
    // time would only cost time (see BENCHMARKS.md), so the session is left to the
    // operating system.
    std::mem::forget(session);
    status
}

/// The exit status when the reader of stdout went away before the end of the input:
/// 128 + SIGPIPE, what a shell reports for a tool the closed pipe killed.
const CLOSED_OUTPUT_STATUS: u8 = 141;

/// Load and compile the rules, reporting every diagnostic; the program when there
/// were no errors, else the exit code (2: the rules could not be read, 1: they
/// have errors).
pub(super) fn compile_rules(args: &RunArgs) -> Result<(SourceMap, Program), ExitCode> {
    let (sources, mut diags) = load_rules(&args.rules).map_err(|e| fail(&e.to_string()))?;
    let compiled = crate::compile(&sources);
    diags.extend(compiled.diagnostics);
    crate::diag::sort(&mut diags);
    report(&sources, &diags);
    match compiled.program {
        Some(program) if !diags.iter().any(|d| d.is_error()) => Ok((sources, program)),
        _ => Err(ExitCode::from(1)),
    }
}

/// The files of a run, opened (or refused) before any input is read.
struct Files {
    input: Input,
    rejects: Option<io::BufWriter<File>>,
    checkpoint: Option<PendingCheckpoint>,
    resumed: Option<Checkpoint>,
}

/// Open the input, the `--rejects` and `--checkpoint` files and read `--resume`,
/// refusing paths that would overwrite the input or a rule file, and checkpoint
/// paths that are not regular files.
fn open_files(args: &RunArgs, sources: &SourceMap, program: &Program) -> Result<Files, String> {
    // Checked before the input is opened: opening a FIFO waits for its writer.
    for (flag, path) in [
        ("--rejects", &args.rejects),
        ("--checkpoint", &args.checkpoint),
    ] {
        if let Some(path) = path
            && let Some(what) = clash(path, &args.input, sources)
        {
            return Err(format!(
                "`{flag} {}` would overwrite {what}: give another path",
                path.display()
            ));
        }
    }
    if let Some(path) = &args.checkpoint {
        if args.rejects.as_ref().is_some_and(|r| r == path) {
            return Err("`--checkpoint` and `--rejects` name the same file".into());
        }
        if args.until.is_some() {
            return Err(
                "`--until` ends a run and `--checkpoint` continues it: give `--until` to the last part"
                    .into(),
            );
        }
        if let Some(what) = not_a_regular_file(path) {
            return Err(format!(
                "`--checkpoint {}` is {what}: give the path of a regular file",
                path.display()
            ));
        }
    }
    let input = open_input(&args.input)
        .map_err(|e| format!("cannot read `{}`: {e}", args.input.display()))?;
    let resumed = match &args.resume {
        None => None,
        Some(path) => Some(read_checkpoint(path, program, &args.config())?),
    };
    let rejects = match &args.rejects {
        Some(path) => {
            Some(io::BufWriter::new(File::create(path).map_err(|e| {
                format!("cannot create `{}`: {e}", path.display())
            })?))
        }
        None => None,
    };
    // Opened now, so that an unwritable path fails before the input is read.
    let checkpoint = match &args.checkpoint {
        Some(path) => Some(
            PendingCheckpoint::create(path)
                .map_err(|e| format!("cannot write the checkpoint `{}`: {e}", path.display()))?,
        ),
        None => None,
    };
    Ok(Files {
        input,
        rejects,
        checkpoint,
        resumed,
    })
}

/// How reading the input ended.
pub(super) enum InputEnd {
    /// Every line was read.
    Consumed,
    /// The reader of stdout went away first (`| head`), after input line `line`.
    ReaderGone { line: u64 },
    /// A signal asked to stop, after input line `line`.
    Stopped { signal: StopSignal, line: u64 },
}

/// What the read loop needs besides the session and the output.
pub(super) struct Reading<'a> {
    /// `--rejects`: every rejected line is copied there.
    pub rejects: Option<&'a mut io::BufWriter<File>>,
    pub stop: &'a StopRequests,
    /// `--max-line-bytes`, for the message of a line over it.
    pub limit: LineLimit,
}

/// The read loop: every line into the session, rejects reported (and copied to
/// `--rejects`, but for lines over `--max-line-bytes`, which were never held). Before
/// each read that may wait, decided records and messages are
/// flushed and a stop request is honoured, so neither waits on the input.
fn read_input(
    session: &mut Session<'_>,
    mut lines: Lines<Box<dyn BufRead>>,
    out: &mut CliOutput<'_>,
    mut reading: Reading<'_>,
) -> Result<InputEnd, String> {
    let end = loop {
        match lines.poll_line() {
            Poll::Line(line) => {
                if let LineOutcome::Rejected(reject) = session.line(line, out) {
                    report_reject(out, &reject, line.bytes, reading.rejects.as_deref_mut())?;
                }
                if session.has_rejects() {
                    for (reject, bytes) in session.take_rejects() {
                        report_reject(out, &reject, &bytes, reading.rejects.as_deref_mut())?;
                    }
                }
                if out.sink.reader_gone() {
                    break InputEnd::ReaderGone {
                        line: lines.lines_read(),
                    };
                }
            }
            Poll::TooLong { number, .. } => {
                let reject = session.reject_too_long(number, reading.limit.max_bytes);
                let _ = writeln!(out.stderr, "rejected {reject}");
            }
            Poll::NeedInput => {
                if let Some(end) = wait_for_input(&mut lines, out, &reading)? {
                    break end;
                }
            }
            Poll::End => break InputEnd::Consumed,
        }
    };
    session.input.blank += lines.blank();
    Ok(end)
}

/// Before a read that may wait: flush what was decided, honour a stop request
/// (`Some`: the read loop ends there), then read more.
#[cold]
#[inline(never)]
pub(super) fn wait_for_input(
    lines: &mut Lines<Box<dyn BufRead>>,
    out: &mut CliOutput<'_>,
    reading: &Reading<'_>,
) -> Result<Option<InputEnd>, String> {
    out.flush();
    if let Some(signal) = reading.stop.requested() {
        return Ok(Some(InputEnd::Stopped {
            signal,
            line: lines.lines_read(),
        }));
    }
    lines
        .fill()
        .map_err(|e| format!("cannot read the input: {e}"))?;
    Ok(None)
}

/// A rejected line: one line on stderr, and its bytes copied to `--rejects`.
pub(super) fn report_reject(
    out: &mut CliOutput<'_>,
    reject: &Reject,
    bytes: &[u8],
    rejects: Option<&mut io::BufWriter<File>>,
) -> Result<(), String> {
    let _ = writeln!(out.stderr, "rejected {reject}");
    if let Some(file) = rejects {
        file.write_all(bytes)
            .and_then(|()| file.write_all(b"\n"))
            .map_err(|e| format!("cannot write the rejects file: {e}"))?;
    }
    Ok(())
}

/// The end-of-run summary for stderr: one JSON object with `--stats`, else text and
/// warnings.
pub(super) fn render_end(args: &RunArgs, session: &Session<'_>, elapsed: Duration) -> String {
    let summary = session.summary();
    // Kept out of `Summary` (whose shape the run snapshots pin): reported on its own.
    let stats = session.runtime.stats();
    let (cap_hits, enrolls_dropped) = (stats.cap_hits, stats.enrolls_dropped);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        (summary.events_read as f64 / secs).round()
    } else {
        0.0
    };
    if args.stats {
        let mut value = serde_json::to_value(&summary).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "elapsed_ms".into(),
                serde_json::json!(elapsed.as_millis() as u64),
            );
            obj.insert("events_per_sec".into(), serde_json::json!(rate as u64));
            obj.insert("cap_hits".into(), serde_json::json!(cap_hits));
            obj.insert("enrolls_dropped".into(), serde_json::json!(enrolls_dropped));
            obj.insert(
                "stray_times".into(),
                serde_json::json!(session.input.strays),
            );
            obj.insert("times_ahead".into(), serde_json::json!(session.input.ahead));
            obj.insert(
                "times_behind".into(),
                serde_json::json!(session.input.behind),
            );
            obj.insert(
                "index_candidates".into(),
                serde_json::json!(stats.index_candidates),
            );
            obj.insert(
                "index_skipped".into(),
                serde_json::json!(stats.index_skipped),
            );
            let engine = session.runtime.engine();
            obj.insert("engine".into(), serde_json::json!(engine.name()));
            obj.insert(
                "compiled_functions".into(),
                serde_json::json!(engine.compiled_functions()),
            );
        }
        return format!("{value}\n");
    }
    let mut text = render_summary(&summary, rate, secs);
    text.push_str(&cap_warning(cap_hits));
    if enrolls_dropped > 0 {
        let actions = if enrolls_dropped == 1 {
            "action"
        } else {
            "actions"
        };
        text.push_str(&format!(
            "warning: {enrolls_dropped} `enroll` {actions} dropped: a customer passed {} chained enrolls at one instant (`on enroll` triggers that enroll each other without a `wait`)\n",
            crate::runtime::ENROLL_BOUND
        ));
    }
    if let (Some(until), Some(last)) = (args.until, session.runtime.state().clock.max_ts)
        && until < last
    {
        text.push_str(&format!(
            "warning: --until {} is before the last event ({}): it moved nothing\n",
            format_time(until),
            format_time(last)
        ));
    }
    text
}

fn render_summary(s: &Summary, rate: f64, secs: f64) -> String {
    let mut text = format!(
        "events read: {}, rejected: {}, ignored: {}, late: {}, blank lines: {}\n",
        s.events_read, s.rejected, s.ignored, s.late, s.blank
    );
    let total: u64 = s.actions.values().sum();
    let by_trigger: Vec<String> = s
        .actions
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    if by_trigger.is_empty() {
        text.push_str(&format!("actions: {total}\n"));
    } else {
        text.push_str(&format!("actions: {total} ({})\n", by_trigger.join(", ")));
    }
    if s.suppressed + s.skipped + s.parallel_dropped > 0 {
        text.push_str(&format!(
            "not fired: {} suppressed (cooldown or limit), {} skipped (reentry skip), {} dropped (parallel bound)\n",
            s.suppressed, s.skipped, s.parallel_dropped
        ));
    }
    text.push_str(&format!("timers pending: {}\n", s.timers_pending));
    text.push_str(&format!("runtime errors: {}\n", s.runtime_errors));
    text.push_str(&format!("{rate:.0} events/s ({secs:.3}s)\n"));
    text
}

/// The warning for entries dropped at the per-customer caps (empty when none were):
/// a silently truncated set, list or window changes what rules see.
fn cap_warning(cap_hits: u64) -> String {
    if cap_hits == 0 {
        return String::new();
    }
    let entries = if cap_hits == 1 { "entry" } else { "entries" };
    format!(
        "warning: {cap_hits} set/list/window {entries} dropped at the per-customer caps \
         (see docs/LANGUAGE-GUIDE.md)\n"
    )
}

pub(super) fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
