//! `trigc run --deliver` and `trigc run --state DIR`: the read loop of a run that
//! performs its actions (`crate::deliver`) and keeps its state durable
//! (`crate::durable`). Records still go to stdout as in a plain run.
//!
//! With `--state`, a checkpoint is written every `--checkpoint-every` events (or
//! that long, `5s`) and when the run ends: at the end of the input (after every
//! action was delivered or dead-lettered) and on SIGTERM/SIGINT (the line being
//! read is finished, attempts in flight settle, the rest of the outbox is kept in the
//! state; exit 0). A restart with the same `DIR` continues: a file from the offset
//! the checkpoint reached, stdin after the lines journaled since.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::input::open_input;
use super::persist::{self, Durable, Opened};
use super::reload::reload_rules;
use super::run::{CliOutput, InputEnd, RunArgs, compile_rules, fail, render_end, report_reject};
use super::stop::StopRequests;
use crate::deliver::{Delivering, Delivery, Secret};
use crate::driver::{LineOutcome, Session};
use crate::durable::Entry;
use crate::io::lines::{Line, LineLimit};
use crate::io::{Lines, Poll};
use crate::runtime::carry::program_print;
use crate::time::parse_duration;

/// The options of delivery and durable state.
#[derive(clap::Args, Debug, Clone)]
pub struct ServiceArgs {
    /// Perform `webhook` actions (an HTTP POST of the payload to the URL, signed
    /// per Standard Webhooks) and `email` actions (a POST of the record to
    /// `--email-endpoint`) as well as printing them.
    #[arg(long, help_heading = "Delivery")]
    pub deliver: bool,
    /// The environment variable holding the webhook signing secret (`whsec_` and
    /// base64, or raw bytes); without it requests are not signed.
    #[arg(long, value_name = "NAME", help_heading = "Delivery")]
    pub webhook_secret_env: Option<String>,
    /// Where `email` actions are posted (the whole record as the body).
    #[arg(long, value_name = "URL", help_heading = "Delivery")]
    pub email_endpoint: Option<String>,
    /// Attempts per action before it goes to the dead letters.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..), value_name = "N", help_heading = "Delivery")]
    pub max_attempts: u32,
    /// Append actions that could not be delivered here (NDJSON, with the last
    /// error).
    #[arg(long, value_name = "FILE", help_heading = "Delivery")]
    pub dead_letter: Option<PathBuf>,
    /// Time allowed for one attempt, connecting included.
    #[arg(long, default_value = "15s", value_parser = parse_wait, value_name = "DURATION", help_heading = "Delivery")]
    pub delivery_timeout: Duration,
    /// The first retry waits up to this long (full jitter), doubling per attempt.
    #[arg(long, default_value = "1s", value_parser = parse_wait, value_name = "DURATION", help_heading = "Delivery")]
    pub retry_base: Duration,
    /// No retry waits longer (a `Retry-After` may ask for up to an hour).
    #[arg(long, default_value = "5m", value_parser = parse_wait, value_name = "DURATION", help_heading = "Delivery")]
    pub retry_cap: Duration,
    /// Attempts in flight at once per URL.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096), value_name = "N", help_heading = "Delivery")]
    pub max_in_flight: u64,
    /// Actions waiting for delivery at most; event processing waits past it.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..), value_name = "N", help_heading = "Delivery")]
    pub outbox_capacity: u64,
    /// Keep the runtime state, the outbox and the input position in this directory,
    /// and continue from it on restart (see the README for what survives kill -9).
    #[arg(long, value_name = "DIR", help_heading = "Durable state")]
    pub state: Option<PathBuf>,
    /// Checkpoint every N events (`5000`) or that often (`5s`), and when the run
    /// ends or is stopped.
    #[arg(long, default_value = "5s", value_parser = parse_every, value_name = "N|DURATION", help_heading = "Durable state")]
    pub checkpoint_every: Every,
}

/// `--checkpoint-every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    Events(u64),
    Time(Duration),
}

fn parse_wait(s: &str) -> Result<Duration, String> {
    let ms = parse_duration(s).map_err(|e| e.to_string())?;
    Ok(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

fn parse_every(s: &str) -> Result<Every, String> {
    if let Ok(n) = s.parse::<u64>() {
        return if n == 0 {
            Err("give at least 1 event".into())
        } else {
            Ok(Every::Events(n))
        };
    }
    let wait = parse_wait(s)?;
    if wait.is_zero() {
        return Err("give a duration of at least 1ms".into());
    }
    Ok(Every::Time(wait))
}

impl ServiceArgs {
    /// Whether the run needs this loop rather than the plain one.
    pub fn wanted(&self) -> bool {
        self.deliver || self.state.is_some()
    }
}

/// The webhook signing key from `--webhook-secret-env`.
pub(super) fn secret(args: &ServiceArgs) -> Result<Option<Secret>, String> {
    let Some(name) = &args.webhook_secret_env else {
        return Ok(None);
    };
    let text = std::env::var(name).map_err(|_| {
        format!("`--webhook-secret-env {name}`: the variable is not set (or not UTF-8)")
    })?;
    Secret::parse(&text)
        .map(Some)
        .map_err(|e| format!("`--webhook-secret-env {name}`: {e}"))
}

/// Refuse option combinations this loop (and the socket service with `--state` or
/// `--deliver`) does not take.
pub(super) fn check_args(args: &RunArgs) -> Result<(), String> {
    let svc = &args.service;
    if args.format() != super::run::InputFormat::Ndjson {
        return Err("--deliver and --state take NDJSON input, not CSV".into());
    }
    if svc.state.is_some() && (args.checkpoint.is_some() || args.resume.is_some()) {
        return Err("--state keeps the state itself: give no --checkpoint or --resume".into());
    }
    if !svc.deliver
        && (svc.webhook_secret_env.is_some()
            || svc.email_endpoint.is_some()
            || svc.dead_letter.is_some())
    {
        return Err(
            "--webhook-secret-env, --email-endpoint and --dead-letter go with --deliver".into(),
        );
    }
    if let Some(url) = &svc.email_endpoint
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(format!(
            "--email-endpoint `{url}` is not an http:// or https:// URL"
        ));
    }
    Ok(())
}

/// The name a run's input is recorded under in the state.
fn source_name(input: &Path) -> String {
    if input.as_os_str() == "-" {
        return "-".into();
    }
    std::fs::canonicalize(input)
        .unwrap_or_else(|_| input.to_path_buf())
        .display()
        .to_string()
}

pub fn run(args: &RunArgs) -> ExitCode {
    if let Err(message) = check_args(args) {
        return fail(&message);
    }
    let (sources, program) = match compile_rules(args) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    match serve(args, &sources, &program) {
        Ok(code) => code,
        Err(message) => fail(&message),
    }
}

fn serve(
    args: &RunArgs,
    sources: &crate::syntax::SourceMap,
    program: &crate::ir::Program,
) -> Result<ExitCode, String> {
    let svc = &args.service;
    let source = source_name(&args.input);
    let Opened {
        mut session,
        mut durable,
        mut delivery,
        done,
        journal,
        position,
        carried,
    } = persist::open(args, program, source)?;
    let started = Instant::now();
    let stop = Arc::new(StopRequests::install());
    let reload = Arc::new(AtomicBool::new(false));
    // Without the handler SIGHUP ends the process, as it does for a plain run.
    let _ = signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload));
    let mut print = program_print(program);
    let limit = LineLimit {
        max_bytes: usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX),
    };
    let replay = journal.iter().map(Entry::len).sum::<u64>();
    let reader = open_at(&args.input, position.offset, journal)?;
    let mut lines = Lines::with_limit(reader, limit).resuming(position.line, position.offset);
    let stop_flag = Arc::clone(&stop);
    let mut out = Delivering {
        inner: CliOutput::new(program, sources),
        outbox: delivery.as_ref().map(|d| Arc::clone(&d.outbox)),
        email_endpoint: svc.email_endpoint.clone(),
        done,
        stop: Box::new(move || stop_flag.requested().is_some()),
    };
    let mut rejects = match &args.rejects {
        Some(path) => {
            Some(io::BufWriter::new(File::create(path).map_err(|e| {
                format!("cannot create `{}`: {e}", path.display())
            })?))
        }
        None => None,
    };
    let mut replay_left = replay;
    // Lines from stdin wait here until they are journaled, one batch for all the
    // lines read at once, and are processed then.
    let mut batch = Batch::default();
    let end = loop {
        if reload.swap(false, Ordering::Relaxed) {
            // Between two lines: what the old program decided goes out first.
            out.inner.flush();
            if let Some(new) = reload_rules(args, &mut session, &mut print, args.max_jump) {
                out.inner.set_program(new.program, new.sources);
                if let Some(d) = &mut durable {
                    d.print = print.clone();
                }
            }
        }
        match lines.poll_line() {
            Poll::Line(line) => {
                let journaling = durable.as_ref().is_some_and(|d| d.journaling);
                if journaling && replay_left == 0 {
                    batch
                        .lines
                        .push((line.number, line.bytes.to_vec(), line.terminated));
                    if batch.lines.len() < JOURNAL_BATCH {
                        continue;
                    }
                    if batch.run(durable.as_mut(), &mut session, &mut out, rejects.as_mut())? {
                        break InputEnd::ReaderGone {
                            line: lines.lines_read(),
                        };
                    }
                    if let Some(d) = &mut durable {
                        let at = (lines.lines_read(), lines.offset());
                        checkpoint_if_due(d, &mut session, delivery.as_ref(), at, &mut out.inner)?;
                    }
                    continue;
                }
                replay_left = replay_left.saturating_sub(1);
                if let Some(d) = &mut durable {
                    d.cadence.events += 1;
                }
                if process(line, &mut session, &mut out, rejects.as_mut())? {
                    break InputEnd::ReaderGone {
                        line: lines.lines_read(),
                    };
                }
                if let Some(d) = &mut durable {
                    let at = (lines.lines_read(), lines.offset());
                    checkpoint_if_due(d, &mut session, delivery.as_ref(), at, &mut out.inner)?;
                }
            }
            Poll::TooLong { number, .. } => {
                if batch.run(durable.as_mut(), &mut session, &mut out, rejects.as_mut())? {
                    break InputEnd::ReaderGone {
                        line: lines.lines_read(),
                    };
                }
                let reject = session.reject_too_long(number, limit.max_bytes);
                let _ = writeln!(out.inner.stderr, "rejected {reject}");
            }
            Poll::NeedInput => {
                if batch.run(durable.as_mut(), &mut session, &mut out, rejects.as_mut())? {
                    break InputEnd::ReaderGone {
                        line: lines.lines_read(),
                    };
                }
                out.inner.flush();
                if let Some(signal) = stop.requested() {
                    break InputEnd::Stopped {
                        signal,
                        line: lines.lines_read(),
                    };
                }
                if let Some(d) = &mut durable {
                    let at = (lines.lines_read(), lines.offset());
                    checkpoint_if_due(d, &mut session, delivery.as_ref(), at, &mut out.inner)?;
                }
                lines
                    .fill()
                    .map_err(|e| format!("cannot read the input: {e}"))?;
            }
            Poll::End => {
                if batch.run(durable.as_mut(), &mut session, &mut out, rejects.as_mut())? {
                    break InputEnd::ReaderGone {
                        line: lines.lines_read(),
                    };
                }
                break InputEnd::Consumed;
            }
        }
    };
    session.input.blank += lines.blank();
    let position = (lines.lines_read(), lines.offset());
    let mut status = ExitCode::SUCCESS;
    match end {
        InputEnd::ReaderGone { line } => {
            out.inner.flush();
            if let Some(d) = &mut delivery {
                d.halt();
            }
            return Err(format!(
                "the output was closed after line {line}: the rest of the input was not read"
            ));
        }
        InputEnd::Consumed => {
            session.finish(&mut out);
            for (reject, bytes) in session.take_rejects() {
                report_reject(&mut out.inner, &reject, &bytes, rejects.as_mut())?;
            }
            out.inner.flush();
            if let Some(d) = &mut delivery {
                // Every action delivered or dead-lettered; a stop request meanwhile
                // keeps the rest in the state.
                d.close();
                while !d.finished() {
                    if let Some(signal) = stop.requested() {
                        if durable.is_none() {
                            status = ExitCode::from(signal.exit_status());
                        }
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                d.halt();
            }
        }
        InputEnd::Stopped { signal, line } => {
            if let Some(d) = &mut delivery {
                d.halt();
            }
            let _ = writeln!(
                out.inner.stderr,
                "trigc: stopped by {} after line {line}",
                signal.name()
            );
            if durable.is_none() {
                status = ExitCode::from(signal.exit_status());
            }
        }
    }
    if let Some(d) = &mut durable {
        out.inner.flush();
        d.checkpoint(
            &mut session,
            delivery.as_ref().map(|d| &*d.outbox),
            position,
            true,
        )?;
    }
    let Delivering { inner, .. } = out;
    let CliOutput {
        mut sink,
        mut stderr,
        ..
    } = inner;
    sink.finish()
        .map_err(|e| format!("cannot write the output: {e}"))?;
    if let Some(file) = &mut rejects {
        file.flush()
            .map_err(|e| format!("cannot write the rejects file: {e}"))?;
    }
    let mut end_text = render_end(args, &session, started.elapsed());
    let parts = persist::Parts {
        durable: durable.as_ref(),
        carried: carried.as_ref(),
        delivery: delivery.as_ref(),
    };
    persist::summarize(&mut end_text, args.stats, &parts);
    let _ = stderr.write_all(end_text.as_bytes());
    let _ = stderr.flush();
    std::mem::forget(session);
    Ok(status)
}

/// A checkpoint when `--checkpoint-every` says one is due; the records decided so
/// far are flushed first (a checkpoint must never be ahead of stdout).
fn checkpoint_if_due(
    durable: &mut Durable,
    session: &mut Session<'_>,
    delivery: Option<&Delivery>,
    lines: (u64, u64),
    out: &mut CliOutput<'_>,
) -> Result<(), String> {
    if !durable.due() {
        return Ok(());
    }
    out.flush();
    durable.checkpoint(session, delivery.map(|d| &*d.outbox), lines, false)
}

/// The most stdin lines journaled in one batch.
const JOURNAL_BATCH: usize = 1024;

/// Lines read from stdin, not yet journaled nor processed: (number, bytes, whether a
/// line end followed).
#[derive(Default)]
struct Batch {
    lines: Vec<(u64, Vec<u8>, bool)>,
}

impl Batch {
    /// Journal the lines held (one batch), then process them; whether the reader of
    /// stdout went away.
    fn run(
        &mut self,
        durable: Option<&mut Durable>,
        session: &mut Session<'_>,
        out: &mut Delivering<CliOutput<'_>>,
        mut rejects: Option<&mut io::BufWriter<File>>,
    ) -> Result<bool, String> {
        if self.lines.is_empty() {
            return Ok(false);
        }
        if let Some(d) = durable {
            let held: Vec<&[u8]> = self.lines.iter().map(|(_, b, _)| &b[..]).collect();
            d.dir.journal(None, &[held])?;
            d.cadence.events += self.lines.len() as u64;
        }
        for (number, bytes, terminated) in self.lines.drain(..) {
            let line = Line {
                number,
                bytes: &bytes,
                terminated,
            };
            if process(line, session, out, rejects.as_deref_mut())? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// One line through the session, its rejects reported; whether the reader of
/// stdout went away.
fn process(
    line: Line<'_>,
    session: &mut Session<'_>,
    out: &mut Delivering<CliOutput<'_>>,
    mut rejects: Option<&mut io::BufWriter<File>>,
) -> Result<bool, String> {
    if let LineOutcome::Rejected(reject) = session.line(line, out) {
        report_reject(&mut out.inner, &reject, line.bytes, rejects.as_deref_mut())?;
    }
    for (reject, bytes) in session.take_rejects() {
        report_reject(&mut out.inner, &reject, &bytes, rejects.as_deref_mut())?;
    }
    Ok(out.inner.sink.reader_gone())
}

/// The input from where the state left it: a file from `offset`, stdin after the
/// journaled `lines` (which are read first).
fn open_at(input: &Path, offset: u64, journal: Vec<Entry>) -> Result<Box<dyn BufRead>, String> {
    let shown = input.display();
    if input.as_os_str() == "-" {
        let mut replay = Vec::new();
        for line in journal.iter().flat_map(Entry::lines) {
            replay.extend_from_slice(&line);
            replay.push(b'\n');
        }
        let stdin = open_input(input).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
        return Ok(Box::new(io::Cursor::new(replay).chain(stdin.reader)));
    }
    if offset == 0 {
        return open_input(input)
            .map(|i| i.reader)
            .map_err(|e| format!("cannot read `{shown}`: {e}"));
    }
    if super::input::is_gzip_file(input) {
        // The offset counts decompressed bytes: read up to it (gzip has no seek).
        let mut reader = open_input(input)
            .map_err(|e| format!("cannot read `{shown}`: {e}"))?
            .reader;
        let skipped = io::copy(&mut (&mut reader).take(offset), &mut io::sink())
            .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
        if skipped < offset {
            return Err(format!(
                "`{shown}` is shorter ({skipped} bytes decompressed) than the state says was \
                 read ({offset} bytes): not the input the state was reading"
            ));
        }
        return Ok(reader);
    }
    let mut file = File::open(input).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?
        .len();
    if len < offset {
        return Err(format!(
            "`{shown}` is shorter ({len} bytes) than the state says was read ({offset} bytes): \
             not the input the state was reading"
        ));
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
}
