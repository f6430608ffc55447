//! `trigc run`: rules plus an NDJSON event stream in, action records out.
//!
//! stdout carries action records and nothing else (one NDJSON line each). stderr
//! carries everything for the operator: rule diagnostics, one line per rejected input
//! line, late event and runtime error, and a summary at the end (one JSON object
//! with `--stats`). Exit codes: 0 when the input was read to its end (rejected lines
//! do not change that), 1 for rule errors, 2 for usage and IO errors.
//!
//! This file is argument handling ([`RunArgs`], [`open_files`]), the read loop
//! ([`read_input`]) and the summary ([`render_end`]). What a line does is
//! [`crate::driver::Session`]'s, a library type, so the tests drive exactly what the
//! command runs (and can checkpoint it halfway).

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::check::report;
use super::load::load_rules;
use crate::driver::checkpoint::read_checkpoint;
use crate::driver::{
    Checkpoint, EngineKind, LineOutcome, PendingCheckpoint, Session, Summary, describe_notice,
};
use crate::interp::Interner;
use crate::io::lines::LineLimit;
use crate::io::sink::NdjsonSink;
use crate::io::{Lines, Poll};
use crate::ir::Program;
use crate::runtime::{ActionRecord, LatePolicy, Notice, Output, RuntimeConfig};
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

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Rule files or directories, compiled as one program.
    #[arg(required = true)]
    pub rules: Vec<PathBuf>,
    /// NDJSON input file; `-` (the default) reads stdin.
    #[arg(long, default_value = "-")]
    pub input: PathBuf,
    /// Which engine evaluates expressions.
    #[arg(long, value_enum, default_value_t = EngineKind::Interp)]
    pub engine: EngineKind,
    /// Final watermark at the end of input (RFC 3339 or epoch milliseconds, within
    /// 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z): timers due up to it fire.
    #[arg(long, value_parser = parse_until)]
    pub until: Option<i64>,
    /// Allowed lateness (`5m`): events up to this much out of order are re-ordered.
    #[arg(long, value_parser = parse_lateness, default_value = "0s")]
    pub lateness: i64,
    /// What to do with events older than the watermark.
    #[arg(long, value_enum, default_value_t = LateArg::Drop)]
    pub late: LateArg,
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
}

impl RunArgs {
    /// The runtime's view of the time options.
    pub fn config(&self) -> RuntimeConfig {
        RuntimeConfig {
            lateness: self.lateness,
            late: match self.late {
                LateArg::Drop => LatePolicy::Drop,
                LateArg::Process => LatePolicy::Process,
            },
            until: self.until,
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

/// Records to stdout, notices to stderr.
struct CliOutput<'a, W: Write> {
    sink: NdjsonSink<W>,
    program: &'a Program,
    sources: &'a SourceMap,
    stderr: io::StderrLock<'static>,
}

impl<W: Write> Output for CliOutput<'_, W> {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        self.sink.write(record, program, interner);
    }

    fn notice(&mut self, notice: &Notice) {
        let text = describe_notice(notice, self.program, self.sources);
        let _ = writeln!(self.stderr, "{text}");
    }
}

pub fn run(args: &RunArgs) -> ExitCode {
    let (sources, program) = match compile_rules(args) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let mut files = match open_files(args, &sources, &program) {
        Ok(files) => files,
        Err(message) => return fail(&message),
    };
    let engine = match args.engine.build() {
        Ok(engine) => engine,
        Err(e) => return fail(&e.to_string()),
    };
    let config = args.config();
    let started = Instant::now();
    let session = match files.resumed.take() {
        None => Session::new(&program, engine, config),
        Some(checkpoint) => Session::resume(&program, engine, config, checkpoint),
    };
    let mut session = match session {
        Ok(session) => session,
        Err(e) => return fail(&e.to_string()),
    };
    let mut out = CliOutput {
        sink: NdjsonSink::new(io::stdout().lock()),
        program: &program,
        sources: &sources,
        stderr: io::stderr().lock(),
    };
    let reader = std::mem::replace(&mut files.reader, Box::new(io::empty()));
    let limit = LineLimit {
        max_bytes: usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX),
    };
    match read_input(
        &mut session,
        reader,
        limit,
        &mut out,
        files.rejects.as_mut(),
    ) {
        Ok(InputEnd::Consumed) => {}
        Ok(InputEnd::ReaderGone) => {
            if files.checkpoint.is_some() {
                // The rest of the input was not read: a checkpoint now would skip it.
                return fail(
                    "the output was closed before the end of the input: no checkpoint written",
                );
            }
            // Like `head` closing its input: the reader has what it wanted. Not an
            // error, and nothing to summarise for it.
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            let _ = out.sink.finish();
            return fail(&message);
        }
    }
    match files.checkpoint.take() {
        // To be continued: no end-of-input rule.
        Some(file) => {
            let path = file.path.display().to_string();
            if let Err(e) = file.commit(&session.checkpoint()) {
                let _ = out.sink.finish();
                return fail(&format!("cannot write the checkpoint `{path}`: {e}"));
            }
        }
        None => session.finish(&mut out),
    }
    if let Some(pb) = files.progress.take() {
        pb.finish_and_clear();
    }
    let elapsed = started.elapsed();
    let CliOutput {
        mut sink,
        mut stderr,
        ..
    } = out;
    if let Err(e) = sink.finish() {
        return fail(&format!("cannot write the output: {e}"));
    }
    if let Some(file) = &mut files.rejects
        && let Err(e) = file.flush()
    {
        return fail(&format!("cannot write the rejects file: {e}"));
    }
    let _ = stderr.write_all(render_end(args, &session, elapsed).as_bytes());
    // The process ends here: freeing every customer's state one allocation at a
    // time would only cost time (see BENCHMARKS.md), so the session is left to the
    // operating system.
    std::mem::forget(session);
    ExitCode::SUCCESS
}

/// Load and compile the rules, reporting every diagnostic; the program when there
/// were no errors, else the exit code (2: the rules could not be read, 1: they
/// have errors).
fn compile_rules(args: &RunArgs) -> Result<(SourceMap, Program), ExitCode> {
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
    reader: Box<dyn BufRead>,
    progress: Option<indicatif::ProgressBar>,
    rejects: Option<io::BufWriter<File>>,
    checkpoint: Option<PendingCheckpoint>,
    resumed: Option<Checkpoint>,
}

/// Open the input, the `--rejects` and `--checkpoint` files and read `--resume`,
/// refusing paths that would overwrite the input or a rule file.
fn open_files(args: &RunArgs, sources: &SourceMap, program: &Program) -> Result<Files, String> {
    let (reader, progress) = open_input(&args.input)
        .map_err(|e| format!("cannot read `{}`: {e}", args.input.display()))?;
    if let Some(path) = &args.rejects
        && let Some(clash) = rejects_clash(path, &args.input, sources)
    {
        return Err(format!(
            "`--rejects {}` would overwrite {clash}: give another path",
            path.display()
        ));
    }
    if let Some(path) = &args.checkpoint {
        if let Some(clash) = rejects_clash(path, &args.input, sources) {
            return Err(format!(
                "`--checkpoint {}` would overwrite {clash}: give another path",
                path.display()
            ));
        }
        if args.rejects.as_ref().is_some_and(|r| r == path) {
            return Err("`--checkpoint` and `--rejects` name the same file".into());
        }
        if args.until.is_some() {
            return Err(
                "`--until` ends a run and `--checkpoint` continues it: give `--until` to the last part"
                    .into(),
            );
        }
        if path.is_dir() {
            return Err(format!("`--checkpoint {}` is a directory", path.display()));
        }
    }
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
        reader,
        progress,
        rejects,
        checkpoint,
        resumed,
    })
}

/// How reading the input ended.
enum InputEnd {
    /// Every line was read.
    Consumed,
    /// The reader of stdout went away first (`| head`).
    ReaderGone,
}

/// The read loop: every line into the session, rejects reported (and copied to
/// `--rejects`, but for lines over the limit, which were never held). Decided
/// records are flushed before each read, which may block, so they never wait on
/// the input.
fn read_input(
    session: &mut Session<'_>,
    reader: Box<dyn BufRead>,
    limit: LineLimit,
    out: &mut CliOutput<'_, io::StdoutLock<'static>>,
    mut rejects: Option<&mut io::BufWriter<File>>,
) -> Result<InputEnd, String> {
    let mut lines = Lines::with_limit(reader, limit);
    let end = loop {
        match lines.poll_line() {
            Poll::Line(line) => {
                if let LineOutcome::Rejected(reject) = session.line(line, out) {
                    let _ = writeln!(out.stderr, "rejected {reject}");
                    if let Some(file) = rejects.as_deref_mut() {
                        file.write_all(line.bytes)
                            .and_then(|()| file.write_all(b"\n"))
                            .map_err(|e| format!("cannot write the rejects file: {e}"))?;
                    }
                }
                if out.sink.reader_gone() {
                    break InputEnd::ReaderGone;
                }
            }
            Poll::TooLong { number, .. } => {
                let reject = session.reject_too_long(number, limit.max_bytes);
                let _ = writeln!(out.stderr, "rejected {reject}");
            }
            Poll::NeedInput => {
                out.sink.flush();
                lines
                    .fill()
                    .map_err(|e| format!("cannot read the input: {e}"))?;
            }
            Poll::End => break InputEnd::Consumed,
        }
    };
    session.input.blank += lines.blank();
    Ok(end)
}

/// The end-of-run summary for stderr: one JSON object with `--stats`, else text and
/// warnings.
fn render_end(args: &RunArgs, session: &Session<'_>, elapsed: Duration) -> String {
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

/// What an existing `--rejects` file is, if it is the input or a rule file:
/// creating it would truncate it before it is read (or after it was compiled).
fn rejects_clash(
    rejects: &std::path::Path,
    input: &std::path::Path,
    sources: &crate::syntax::SourceMap,
) -> Option<String> {
    let target = std::fs::canonicalize(rejects).ok()?;
    let same = |path: &std::path::Path| std::fs::canonicalize(path).is_ok_and(|p| p == target);
    if input.as_os_str() != "-" && same(input) {
        return Some("the input file".into());
    }
    sources
        .files
        .iter()
        .find(|f| same(std::path::Path::new(&f.name)))
        .map(|f| format!("the rule file `{}`", f.name))
}

fn open_input(path: &PathBuf) -> io::Result<(Box<dyn BufRead>, Option<indicatif::ProgressBar>)> {
    /// Files smaller than this replay in a second or two: no bar.
    const PROGRESS_MIN_BYTES: u64 = 64 << 20;
    if path.as_os_str() == "-" {
        return Ok((
            Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
            None,
        ));
    }
    let file = File::open(path)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len >= PROGRESS_MIN_BYTES && io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(len);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let reader = pb.wrap_read(file);
        return Ok((
            Box::new(BufReader::with_capacity(1 << 16, reader)),
            Some(pb),
        ));
    }
    Ok((Box::new(BufReader::with_capacity(1 << 16, file)), None))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
