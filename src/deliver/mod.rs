//! Delivery (`trigc run --deliver`): actions are performed as well as printed.
//! A `webhook` action is an HTTP POST of its payload (the JSON object, as the body)
//! to its URL, following Standard Webhooks (`webhook-id`: the action id, the same on
//! every attempt and after a restart; `webhook-timestamp`; `webhook-signature`, see
//! [`sign`]); an `email` action is the same POST of its whole record to
//! `--email-endpoint`. Every action to deliver becomes a [`Job`] in a bounded
//! [`Outbox`]: the engine adds jobs and goes on (it waits only while the outbox is
//! full), a [`Worker`] thread with its own tokio runtime sends them, at most
//! `per_endpoint` at a time per URL, retries with full-jitter backoff ([`retry`]) on
//! 5xx, 408, 429 (honouring `Retry-After`), timeouts and connection errors, and after
//! `max_attempts` writes the job to the dead letters with its last error. A 410
//! stops deliveries to that URL (its jobs go to the dead letters); any other 4xx and
//! any 3xx (redirects are not followed) go there without a retry.
//!
//! The outbox is plain data ([`OutboxState`]): `crate::durable` keeps it in the
//! checkpoint, and hears of every job that leaves it ([`Settled`]) so that a restart
//! sends again only what was in flight at the crash. [`Delivering`] is the runtime
//! [`Output`] that prints each record and queues what is to be delivered.

pub mod outbox;
pub mod retry;
pub mod sign;
pub mod worker;

use std::collections::HashSet;
use std::sync::Arc;

pub use outbox::{
    DeliveryStats, Job, JobKind, Outbox, OutboxConfig, OutboxState, Outcome, Settled,
};
pub use retry::Backoff;
pub use sign::Secret;
pub use worker::{AttemptConfig, Worker, now_ms};

use crate::interp::Interner;
use crate::io::sink::{write_record, write_value};
use crate::ir::Program;
use crate::runtime::{ActionBody, ActionRecord, Notice, Output};

/// The runtime's output with delivery: every record goes to `inner` (stdout), and
/// webhook and email actions into the outbox as well.
pub struct Delivering<O> {
    pub inner: O,
    /// None: nothing is delivered (`--state` without `--deliver`).
    pub outbox: Option<Arc<Outbox>>,
    /// `--email-endpoint` (email actions are printed only without one).
    pub email_endpoint: Option<String>,
    /// Actions settled before a restart that the replay makes again: printed, not
    /// sent again.
    pub done: HashSet<u128>,
    /// Whether the run is stopping (the outbox then takes jobs past its bound).
    pub stop: Box<dyn Fn() -> bool>,
}

impl<O: Output> Output for Delivering<O> {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        self.inner.action(record, program, interner);
        let Some(outbox) = &self.outbox else {
            return;
        };
        let (kind, url) = match &record.body {
            ActionBody::Webhook { url, .. } => (JobKind::Webhook, *url),
            ActionBody::Email { .. } => match &self.email_endpoint {
                Some(url) => (JobKind::Email, url.as_str()),
                None => return,
            },
            _ => return,
        };
        if !self.done.is_empty() && self.done.remove(&record.id) {
            outbox.skip_done();
            return;
        }
        let job = job_of(record, kind, url, program, interner);
        outbox.push(job, &*self.stop);
    }

    fn notice(&mut self, notice: &Notice) {
        self.inner.notice(notice);
    }
}

/// The job of one record: its id, URL and the bytes to send.
pub fn job_of(
    record: &ActionRecord<'_>,
    kind: JobKind,
    url: &str,
    program: &Program,
    interner: &Interner,
) -> Job {
    let mut full = Vec::new();
    write_record(&mut full, record, program, interner);
    let full = String::from_utf8(full).unwrap_or_default();
    let (body, record_text) = match &record.body {
        ActionBody::Webhook { payload, .. } => {
            let mut body = Vec::new();
            write_value(&mut body, payload, program, interner);
            (String::from_utf8(body).unwrap_or_default(), full)
        }
        _ => (full, String::new()),
    };
    Job {
        id: format!("{:032x}", record.id),
        kind,
        url: url.to_owned(),
        body,
        record: record_text,
        attempts: 0,
        due_ms: 0,
        last_error: None,
    }
}

/// An action id as the hex text jobs carry, back to its number.
pub fn parse_id(text: &str) -> Option<u128> {
    u128::from_str_radix(text, 16).ok()
}

/// The outbox and its worker, together.
pub struct Delivery {
    pub outbox: Arc<Outbox>,
    worker: Option<Worker>,
}

impl Delivery {
    /// Start delivering from a new outbox.
    pub fn start(outbox: OutboxConfig, attempts: AttemptConfig) -> Result<Delivery, String> {
        let outbox = Arc::new(Outbox::new(outbox));
        let worker = Worker::spawn(Arc::clone(&outbox), attempts)?;
        Ok(Delivery {
            outbox,
            worker: Some(worker),
        })
    }

    /// No more jobs will come: the worker ends once every job is delivered or
    /// dead-lettered ([`Self::finished`]).
    pub fn close(&self) {
        self.outbox.close();
    }

    /// Whether the worker has ended.
    pub fn finished(&self) -> bool {
        self.worker.as_ref().is_none_or(Worker::finished)
    }

    /// Stop starting attempts; wait for those in flight; what is left stays in the
    /// outbox.
    pub fn halt(&mut self) {
        self.outbox.halt();
        if let Some(worker) = self.worker.take() {
            worker.join();
        }
    }
}
