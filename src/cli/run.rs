//! `trigc run`: rules plus an NDJSON event stream in, action records out.
//!
//! stdout carries action records and nothing else (one NDJSON line each). stderr
//! carries everything for the operator: rule diagnostics, one line per rejected input
//! line, late event and runtime error, and a summary at the end (one JSON object
//! with `--stats`). Exit codes: 0 when the input was read to its end (rejected lines
//! do not change that), 1 for rule errors, 2 for usage and IO errors.
//!
//! The replay loop is [`Session`], a library type, so the tests drive exactly what
//! the command runs (and can checkpoint it halfway).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::check::report;
use super::load::load_rules;
use crate::interp::Interner;
use crate::io::lines::Line;
use crate::io::sink::{NdjsonSink, format_time};
use crate::io::wire_time::{parse_duration, parse_time};
use crate::io::{Decoded, Decoder, Lines, Reject};
use crate::ir::Program;
use crate::runtime::{
    ActionRecord, Event, Interp, LatePolicy, Notice, Output, Runtime, RuntimeConfig, RuntimeState,
};
use crate::syntax::SourceMap;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineArg {
    /// The reference interpreter.
    #[default]
    Interp,
    /// The Cranelift JIT (not available yet).
    Jit,
}

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
    #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
    pub engine: EngineArg,
    /// Final watermark at the end of input (RFC 3339 or epoch milliseconds): timers
    /// due up to it fire.
    #[arg(long, value_parser = parse_until)]
    pub until: Option<i64>,
    /// Allowed lateness (`5m`): events up to this much out of order are re-ordered.
    #[arg(long, value_parser = parse_lateness, default_value = "0s")]
    pub lateness: i64,
    /// What to do with events older than the watermark.
    #[arg(long, value_enum, default_value_t = LateArg::Drop)]
    pub late: LateArg,
    /// Copy every rejected input line, verbatim, to this file.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
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
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    parse_time(s).map_err(|e| format!("not an RFC 3339 time or epoch milliseconds: {e}"))
}

fn parse_lateness(s: &str) -> Result<i64, String> {
    parse_duration(s)
}

/// Input-side counts of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStats {
    /// Non-blank lines read.
    pub read: u64,
    pub rejected: u64,
    /// Lines of event types no rule declares, by type.
    pub ignored: BTreeMap<String, u64>,
    pub blank: u64,
}

/// The end-of-run summary (the deterministic part: no timings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub events_read: u64,
    pub rejected: u64,
    pub ignored: u64,
    pub ignored_types: BTreeMap<String, u64>,
    pub late: u64,
    pub late_dropped: u64,
    pub blank: u64,
    pub actions: BTreeMap<String, u64>,
    pub timers_pending: u64,
    pub runtime_errors: u64,
    pub suppressed: u64,
    pub skipped: u64,
    pub parallel_dropped: u64,
    pub customers: u64,
}

/// A checkpoint of a [`Session`]: runtime state plus input counts, and which program
/// wrote it.
#[derive(Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_FORMAT`] of the trigc that wrote it (absent: before formats were
    /// numbered).
    #[serde(default)]
    pub format: u32,
    /// [`program_fingerprint`] of the program: a checkpoint resumes only with the
    /// same rules (comments and layout may differ).
    #[serde(default)]
    pub program: u64,
    /// The time options of the run that wrote it (`--lateness` and `--late` must
    /// match on resume; `--until` is never part of a checkpointed run).
    #[serde(default)]
    pub config: Option<RuntimeConfig>,
    pub runtime: RuntimeState,
    pub input: InputStats,
}

/// The layout of the runtime state in a checkpoint; a checkpoint resumes only with
/// the same. 1: cooldown/limit gates are kept with each key's data.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// What identifies a program's meaning: a hash of its IR as `--emit ir` prints it
/// (names, types, triggers, expressions; no source positions).
pub fn program_fingerprint(program: &Program) -> u64 {
    xxhash_rust::xxh3::xxh3_64(crate::ir::print::print(program).as_bytes())
}

/// What became of one input line.
#[derive(Clone, Debug, PartialEq)]
pub enum LineOutcome {
    Processed,
    Ignored,
    Rejected(Reject),
}

/// One replay: decoder, runtime and counts.
pub struct Session<'p> {
    program: &'p Program,
    pub runtime: Runtime<'p>,
    decoder: Decoder,
    event: Event,
    pub input: InputStats,
}

impl<'p> Session<'p> {
    pub fn new(program: &'p Program, config: RuntimeConfig) -> Session<'p> {
        let runtime = Runtime::new(program, Box::new(Interp), config);
        Session {
            program,
            runtime,
            decoder: Decoder::new(program),
            event: Event::default(),
            input: InputStats::default(),
        }
    }

    /// Continue from a checkpoint of a session of the same program.
    pub fn resume(
        program: &'p Program,
        config: RuntimeConfig,
        checkpoint: Checkpoint,
    ) -> Session<'p> {
        let runtime = Runtime::restore(program, Box::new(Interp), config, checkpoint.runtime);
        Session {
            program,
            runtime,
            decoder: Decoder::new(program),
            event: Event::default(),
            input: checkpoint.input,
        }
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            format: CHECKPOINT_FORMAT,
            program: program_fingerprint(self.program),
            config: Some(*self.runtime.config()),
            runtime: self.runtime.state().clone(),
            input: self.input.clone(),
        }
    }

    /// Decode and process one non-blank line.
    pub fn line(&mut self, line: Line<'_>, out: &mut dyn Output) -> LineOutcome {
        self.input.read += 1;
        let outcome = match self.decoder.decode(
            line.bytes,
            line.number,
            self.runtime.interner_mut(),
            &mut self.event,
        ) {
            Decoded::Event => {
                self.runtime.push(&self.event, out);
                LineOutcome::Processed
            }
            Decoded::Ignored { event_type } => {
                *self.input.ignored.entry(event_type).or_default() += 1;
                LineOutcome::Ignored
            }
            Decoded::Rejected(reject) => {
                self.input.rejected += 1;
                LineOutcome::Rejected(reject)
            }
        };
        // Between lines: `self.event` is decoded afresh before it is read again.
        self.runtime.collect_strings_if_due();
        outcome
    }

    /// End of input.
    pub fn finish(&mut self, out: &mut dyn Output) {
        self.runtime.finish(out);
    }

    pub fn summary(&self) -> Summary {
        let stats = self.runtime.stats();
        let actions = self
            .program
            .triggers
            .iter()
            .zip(stats.actions.iter())
            .map(|(t, n)| (t.name.clone(), *n))
            .collect();
        Summary {
            events_read: self.input.read,
            rejected: self.input.rejected,
            ignored: self.input.ignored.values().sum(),
            ignored_types: self.input.ignored.clone(),
            late: stats.late,
            late_dropped: stats.late_dropped,
            blank: self.input.blank,
            actions,
            timers_pending: self.runtime.pending_timers() as u64,
            runtime_errors: stats.runtime_errors,
            suppressed: stats.suppressed,
            skipped: stats.skipped,
            parallel_dropped: stats.parallel_dropped,
            customers: self.runtime.customers() as u64,
        }
    }
}

/// The wording of a runtime notice (one line, no newline).
pub fn describe_notice(notice: &Notice, program: &Program, sources: &SourceMap) -> String {
    match notice {
        Notice::Late {
            line,
            ts,
            watermark,
            dropped,
        } => format!(
            "line {line}: late event at {} (watermark {}), {}",
            format_time(*ts),
            format_time(*watermark),
            if *dropped { "dropped" } else { "processed" }
        ),
        Notice::EvalError {
            trigger,
            expr,
            kind,
            key,
            at,
        } => {
            let place = program
                .expr_spans
                .get(expr.index())
                .map(|s| sources.location(*s))
                .unwrap_or_default();
            let trigger = trigger
                .and_then(|t| program.triggers.get(t.index()))
                .map(|t| format!(" in trigger `{}`", t.name))
                .unwrap_or_default();
            format!(
                "{place}: runtime error: {kind}{trigger} for key `{key}` at {}",
                format_time(*at)
            )
        }
    }
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
    if args.engine == EngineArg::Jit {
        eprintln!("error: the JIT engine is not available yet (use --engine interp)");
        return ExitCode::from(2);
    }
    let (sources, mut diags) = match load_rules(&args.rules) {
        Ok(loaded) => loaded,
        Err(e) => return fail(&e.to_string()),
    };
    let compiled = crate::compile(&sources);
    diags.extend(compiled.diagnostics);
    crate::diag::sort(&mut diags);
    report(&sources, &diags);
    let program = match compiled.program {
        Some(p) if !diags.iter().any(|d| d.is_error()) => p,
        _ => return ExitCode::from(1),
    };

    let (reader, progress) = match open_input(&args.input) {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot read `{}`: {e}", args.input.display())),
    };
    if let Some(path) = &args.rejects
        && let Some(clash) = rejects_clash(path, &args.input, &sources)
    {
        return fail(&format!(
            "`--rejects {}` would overwrite {clash}: give another path",
            path.display()
        ));
    }

    if let Some(path) = &args.checkpoint {
        if let Some(clash) = rejects_clash(path, &args.input, &sources) {
            return fail(&format!(
                "`--checkpoint {}` would overwrite {clash}: give another path",
                path.display()
            ));
        }
        if args.rejects.as_ref().is_some_and(|r| r == path) {
            return fail("`--checkpoint` and `--rejects` name the same file");
        }
        if args.until.is_some() {
            return fail(
                "`--until` ends a run and `--checkpoint` continues it: give `--until` to the last part",
            );
        }
        if path.is_dir() {
            return fail(&format!("`--checkpoint {}` is a directory", path.display()));
        }
    }
    let resumed = match &args.resume {
        None => None,
        Some(path) => match read_checkpoint(path, &program, &args.config()) {
            Ok(checkpoint) => Some(checkpoint),
            Err(message) => return fail(&message),
        },
    };
    let mut rejects = match &args.rejects {
        Some(path) => match File::create(path) {
            Ok(f) => Some(io::BufWriter::new(f)),
            Err(e) => return fail(&format!("cannot create `{}`: {e}", path.display())),
        },
        None => None,
    };
    // Opened now, so that an unwritable path fails before the input is read.
    let checkpoint_file = match &args.checkpoint {
        Some(path) => match PendingCheckpoint::create(path) {
            Ok(file) => Some(file),
            Err(e) => {
                return fail(&format!(
                    "cannot write the checkpoint `{}`: {e}",
                    path.display()
                ));
            }
        },
        None => None,
    };
    let config = args.config();
    let started = Instant::now();
    let mut session = match resumed {
        None => Session::new(&program, config),
        Some(checkpoint) => Session::resume(&program, config, checkpoint),
    };
    let mut out = CliOutput {
        sink: NdjsonSink::new(io::stdout().lock()),
        program: &program,
        sources: &sources,
        stderr: io::stderr().lock(),
    };
    let mut lines = Lines::new(reader);
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                let _ = out.sink.finish();
                let input = args.input.display();
                return fail(&format!("cannot read the input `{input}`: {e}"));
            }
        };
        if let LineOutcome::Rejected(reject) = session.line(line, &mut out) {
            let _ = writeln!(out.stderr, "rejected {reject}");
            if let Some(file) = &mut rejects
                && let Err(e) = file
                    .write_all(line.bytes)
                    .and_then(|()| file.write_all(b"\n"))
            {
                return fail(&format!("cannot write the rejects file: {e}"));
            }
        }
        if out.sink.reader_gone() {
            break;
        }
    }
    session.input.blank += lines.blank();
    if out.sink.reader_gone() {
        if checkpoint_file.is_some() {
            // The rest of the input was not read: a checkpoint now would skip it.
            return fail(
                "the output was closed before the end of the input: no checkpoint written",
            );
        }
        // Like `head` closing its input: the reader has what it wanted. Not an
        // error, and nothing to summarise for it.
        return ExitCode::SUCCESS;
    }
    match checkpoint_file {
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
    if let Some(pb) = progress {
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
    if let Some(file) = &mut rejects
        && let Err(e) = file.flush()
    {
        return fail(&format!("cannot write the rejects file: {e}"));
    }
    let summary = session.summary();
    // Kept out of `Summary` (whose shape the run snapshots pin): reported on its own.
    let cap_hits = session.runtime.stats().cap_hits;
    let enrolls_dropped = session.runtime.stats().enrolls_dropped;
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        (summary.events_read as f64 / secs).round()
    } else {
        0.0
    };
    let text = if args.stats {
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
        format!("{value}\n")
    } else {
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
                crate::io::sink::format_time(until),
                crate::io::sink::format_time(last)
            ));
        }
        text
    };
    let _ = stderr.write_all(text.as_bytes());
    // The process ends here: freeing every customer's state one allocation at a
    // time would only cost (a quarter of the L2 misses of a 300k-event run, by
    // callgrind), so the session is left to the operating system.
    std::mem::forget(session);
    ExitCode::SUCCESS
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

/// A `--checkpoint` file, if it was written by the same program and format.
fn read_checkpoint(
    path: &std::path::Path,
    program: &Program,
    config: &RuntimeConfig,
) -> Result<Checkpoint, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let checkpoint: Checkpoint = serde_json::from_slice(&bytes)
        .map_err(|e| format!("`{shown}` is not a trigc checkpoint: {e}"))?;
    if checkpoint.format != CHECKPOINT_FORMAT {
        return Err(format!(
            "`{shown}` was written by another version of trigc (checkpoint format {}, this \
             one reads {CHECKPOINT_FORMAT}): rerun from the start of the input",
            checkpoint.format
        ));
    }
    if checkpoint.program != program_fingerprint(program) {
        return Err(format!(
            "`{shown}` was written by different rules: resume with the rules that wrote it"
        ));
    }
    if let Some(was) = &checkpoint.config
        && (was.lateness, was.late) != (config.lateness, config.late)
    {
        return Err(format!(
            "`{shown}` was written with other `--lateness`/`--late`: resume with the same ones"
        ));
    }
    Ok(checkpoint)
}

/// A checkpoint being written whole or not at all: to a temporary file beside its
/// path, renamed over it once complete, so a crash never leaves half a checkpoint.
struct PendingCheckpoint {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl Drop for PendingCheckpoint {
    /// A checkpoint not committed (the run failed) leaves no temporary file.
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl PendingCheckpoint {
    fn create(path: &std::path::Path) -> io::Result<PendingCheckpoint> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp)?;
        Ok(PendingCheckpoint {
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    fn commit(mut self, checkpoint: &Checkpoint) -> io::Result<()> {
        let Some(file) = self.file.take() else {
            return Err(io::Error::other("checkpoint already written"));
        };
        let written = (|| {
            let mut w = io::BufWriter::new(file);
            serde_json::to_writer(&mut w, checkpoint)?;
            w.flush()?;
            w.get_ref().sync_all()?;
            std::fs::rename(&self.tmp, &self.path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        written
    }
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
