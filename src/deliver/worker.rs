//! The delivery worker: a thread running a current-thread tokio runtime that takes
//! due jobs from the [`Outbox`], posts each (signed, with a timeout, no redirects
//! followed) and settles or reschedules it from the answer.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::outbox::{Dispatch, Job, Outbox, Outcome};
use super::retry::{Backoff, Jitter, Verdict, judge};
use super::sign::Secret;

/// How attempts are made.
#[derive(Clone, Debug)]
pub struct AttemptConfig {
    /// Signs every request (`webhook-signature`); none: the header is left out.
    pub secret: Option<Secret>,
    /// Per attempt, connecting included.
    pub timeout: Duration,
    /// After this many failed attempts a job goes to the dead letters.
    pub max_attempts: u32,
    pub backoff: Backoff,
}

/// The running worker.
pub struct Worker {
    thread: Option<JoinHandle<()>>,
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Worker {
    /// Start the worker on `outbox`. Fails only if the HTTP client or the thread
    /// cannot be made.
    pub fn spawn(outbox: Arc<Outbox>, config: AttemptConfig) -> Result<Worker, String> {
        // reqwest is built without a TLS crypto provider (so neither aws-lc-rs nor
        // openssl is built): ring is installed as the process default. Installing
        // twice (a second worker) is refused and harmless.
        #[expect(
            deprecated,
            reason = "ring has no post-quantum key exchange; chosen anyway so that no C \
                      toolchain or cmake is needed for aws-lc-rs"
        )]
        let provider = rustls::crypto::ring::default_provider();
        let _ = provider.install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("trigc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .enable_io()
            .build()
            .map_err(|e| format!("cannot start the delivery runtime: {e}"))?;
        let context = Arc::new(Context { client, config });
        let thread = std::thread::Builder::new()
            .name("trigc-deliver".into())
            .spawn(move || runtime.block_on(run(outbox, context)))
            .map_err(|e| format!("cannot start the delivery thread: {e}"))?;
        Ok(Worker {
            thread: Some(thread),
        })
    }

    /// Whether the worker has ended.
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Wait for the worker to end (after [`Outbox::close`] or [`Outbox::halt`]).
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Context {
    client: reqwest::Client,
    config: AttemptConfig,
}

async fn run(outbox: Arc<Outbox>, context: Arc<Context>) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        match outbox.dispatch(now_ms()) {
            Dispatch::Finished => break,
            Dispatch::Start(jobs, wait) => {
                for (seq, job) in jobs {
                    tasks.spawn(attempt(Arc::clone(&outbox), Arc::clone(&context), seq, job));
                }
                tokio::select! {
                    () = outbox.work.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// One attempt at `job` (outbox sequence number `seq`), settled or rescheduled.
async fn attempt(outbox: Arc<Outbox>, context: Arc<Context>, seq: u64, job: Job) {
    let config = &context.config;
    let timestamp = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
    let mut request = context
        .client
        .post(&job.url)
        .header("content-type", "application/json")
        .header("webhook-id", &job.id)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = &config.secret {
        request = request.header(
            "webhook-signature",
            secret.sign(&job.id, timestamp, job.body.as_bytes()),
        );
    }
    let verdict = match request.body(job.body.clone()).send().await {
        Ok(response) => {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok());
            judge(response.status().as_u16(), retry_after, SystemTime::now())
        }
        Err(e) => Verdict::Retry {
            error: describe(&e, config.timeout),
            retry_after: None,
        },
    };
    match verdict {
        Verdict::Delivered => outbox.settle(seq, Outcome::Delivered, false),
        Verdict::Gone => outbox.settle(
            seq,
            Outcome::Dead("HTTP 410 Gone: nothing more is sent to this endpoint".into()),
            true,
        ),
        Verdict::Refused { error } => outbox.settle(seq, Outcome::Dead(error), false),
        Verdict::Retry { error, retry_after } => {
            let failures = job.attempts.saturating_add(1);
            if failures >= config.max_attempts {
                let error = format!("{error} (attempt {failures} of {})", config.max_attempts);
                outbox.settle(seq, Outcome::Dead(error), false);
            } else {
                let mut jitter = Jitter::from_clock(seq);
                let wait = config.backoff.wait(failures, retry_after, &mut jitter);
                let due =
                    now_ms().saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
                outbox.retry(seq, due, error);
            }
        }
    }
}

/// A failed request in one line.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}s", timeout.as_secs_f64());
    }
    let mut text = if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    crate::diag::quote(&text)
}
