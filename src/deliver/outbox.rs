//! The outbox: actions waiting to be delivered, shared by the engine (which adds
//! them, waiting while it is full) and the delivery worker (which takes the due ones,
//! at most `per_endpoint` at a time per URL, and settles each attempt). Its rows are
//! plain data ([`Job`]), so a checkpoint holds them ([`Outbox::snapshot`]).

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an action is delivered as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Webhook,
    Email,
}

/// One action to deliver: what is sent, and how far its attempts have got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The action id (32 hex digits): the `webhook-id` of every attempt.
    pub id: String,
    pub kind: JobKind,
    pub url: String,
    /// The exact bytes sent (and signed): a webhook's payload, an email's record.
    pub body: String,
    /// The output record, for the dead letters (empty for an email: its body).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this (unix ms): the backoff after the last failure.
    pub due_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Job {
    /// The output record (an email's is its body).
    pub fn record(&self) -> &str {
        if self.record.is_empty() {
            &self.body
        } else {
            &self.record
        }
    }
}

/// Counts of the deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStats {
    pub delivered: u64,
    /// Attempts that failed and were tried again.
    pub retries: u64,
    pub dead_letters: u64,
    /// Endpoints that answered 410, after which nothing more was sent to them.
    pub endpoints_gone: u64,
    /// Actions that were already delivered before a restart (not sent again).
    pub skipped_done: u64,
}

/// How a job left the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// To the dead letters, with the reason.
    Dead(String),
}

/// Told of every job that leaves the outbox, under the outbox's lock (so a
/// checkpoint's snapshot and the marks agree): the durable state marks it done.
pub trait Settled: Send + Sync {
    fn settled(&self, generation: u64, job: &Job, outcome: &Outcome);
}

/// The outbox's contents as a checkpoint holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxState {
    pub jobs: Vec<Job>,
    /// URLs that answered 410.
    #[serde(default)]
    pub gone: Vec<String>,
    #[serde(default)]
    pub stats: DeliveryStats,
}

#[derive(Default)]
struct Endpoint {
    /// Waiting jobs by (due, sequence).
    queue: BTreeSet<(u64, u64)>,
    in_flight: usize,
    gone: bool,
}

#[derive(Default)]
struct Inner {
    jobs: HashMap<u64, Job>,
    endpoints: HashMap<String, Endpoint>,
    next_seq: u64,
    in_flight: usize,
    /// No more jobs will come: the worker ends once the outbox is empty.
    closing: bool,
    /// Stop starting attempts: the worker ends once none is in flight.
    halting: bool,
    /// The checkpoint generation marks are written under ([`Settled`]).
    generation: u64,
    stats: DeliveryStats,
}

/// How an [`Outbox`] is set up.
pub struct OutboxConfig {
    /// The most jobs held: the engine waits for room past it.
    pub capacity: usize,
    /// The most attempts in flight to one URL.
    pub per_endpoint: usize,
    /// Hears of every job that leaves the outbox.
    pub settled: Option<Box<dyn Settled>>,
    /// The dead-letter file, opened for appending.
    pub dead_letters: Option<File>,
}

/// See the module docs.
pub struct Outbox {
    inner: Mutex<Inner>,
    /// Signalled when a job leaves (room for the engine).
    room: Condvar,
    /// Signalled when a job arrives or becomes ready (work for the worker).
    pub(super) work: tokio::sync::Notify,
    capacity: usize,
    per_endpoint: usize,
    settled: Option<Box<dyn Settled>>,
    /// `--dead-letter`: appended to, one line per job that was not delivered.
    dead_letters: Option<Mutex<File>>,
}

/// What the worker is to do next ([`Outbox::dispatch`]).
pub(super) enum Dispatch {
    /// Start these attempts (the sequence number and a copy of the job), then wait
    /// for more work at most this long.
    Start(Vec<(u64, Job)>, Duration),
    /// Nothing more will be due: the worker ends.
    Finished,
}

impl Outbox {
    /// An empty outbox (see [`OutboxConfig`]).
    pub fn new(config: OutboxConfig) -> Outbox {
        Outbox {
            inner: Mutex::new(Inner::default()),
            room: Condvar::new(),
            work: tokio::sync::Notify::new(),
            capacity: config.capacity.max(1),
            per_endpoint: config.per_endpoint.max(1),
            settled: config.settled,
            dead_letters: config.dead_letters.map(Mutex::new),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere aborts the process (release) or fails a test: a poisoned
        // lock's data is still the best there is.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Restore a checkpoint's outbox under `generation`.
    pub fn restore(&self, state: OutboxState, generation: u64) {
        let mut inner = self.lock();
        inner.generation = generation;
        inner.stats = state.stats;
        for url in state.gone {
            inner.endpoints.entry(url).or_default().gone = true;
        }
        for job in state.jobs {
            insert(&mut inner, job);
        }
        drop(inner);
        self.work.notify_one();
    }

    /// Add a job, waiting while the outbox is full unless `stop()` says the run is
    /// stopping (then it is taken over the bound: it goes into the checkpoint).
    pub fn push(&self, job: Job, stop: &dyn Fn() -> bool) {
        let mut inner = self.lock();
        while inner.jobs.len() >= self.capacity && !inner.halting && !stop() {
            inner = match self.room.wait_timeout(inner, Duration::from_millis(100)) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
        if inner.endpoints.get(&job.url).is_some_and(|e| e.gone) {
            let outcome = Outcome::Dead("the endpoint answered 410 Gone before".into());
            self.leave(&mut inner, &job, &outcome);
            return;
        }
        insert(&mut inner, job);
        drop(inner);
        self.work.notify_one();
    }

    /// Jobs waiting or in flight.
    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn stats(&self) -> DeliveryStats {
        self.lock().stats.clone()
    }

    /// Count an action not delivered again since it was before a restart.
    pub fn skip_done(&self) {
        self.lock().stats.skipped_done += 1;
    }

    /// The outbox as a checkpoint holds it (jobs in flight included: a crash
    /// before they settle sends them again), and the generation marks move on to:
    /// the checkpoint is written under it.
    pub fn snapshot(&self) -> (OutboxState, u64) {
        let mut inner = self.lock();
        inner.generation += 1;
        let mut jobs: Vec<(u64, Job)> = inner.jobs.iter().map(|(s, j)| (*s, j.clone())).collect();
        jobs.sort_by_key(|(seq, _)| *seq);
        let mut gone: Vec<String> = inner
            .endpoints
            .iter()
            .filter(|(_, e)| e.gone)
            .map(|(url, _)| url.clone())
            .collect();
        gone.sort();
        let state = OutboxState {
            jobs: jobs.into_iter().map(|(_, j)| j).collect(),
            gone,
            stats: inner.stats.clone(),
        };
        (state, inner.generation)
    }

    /// No more jobs will come: the worker ends once every job has settled.
    pub fn close(&self) {
        self.lock().closing = true;
        self.work.notify_one();
    }

    /// Start no more attempts: the worker ends once those in flight have settled
    /// (what is left stays in the outbox, for the checkpoint).
    pub fn halt(&self) {
        self.lock().halting = true;
        self.room.notify_all();
        self.work.notify_one();
    }

    /// For the worker: the jobs due by `now_ms` that their endpoints have room for
    /// (marked in flight), or that it is done.
    pub(super) fn dispatch(&self, now_ms: u64) -> Dispatch {
        let mut inner = self.lock();
        let inner = &mut *inner;
        if (inner.halting && inner.in_flight == 0) || (inner.closing && inner.jobs.is_empty()) {
            return Dispatch::Finished;
        }
        let mut start = Vec::new();
        let mut next = u64::MAX;
        if !inner.halting {
            for endpoint in inner.endpoints.values_mut() {
                while endpoint.in_flight < self.per_endpoint {
                    let Some(&(due, seq)) = endpoint.queue.first() else {
                        break;
                    };
                    if due > now_ms {
                        next = next.min(due);
                        break;
                    }
                    endpoint.queue.remove(&(due, seq));
                    if let Some(job) = inner.jobs.get(&seq) {
                        endpoint.in_flight += 1;
                        inner.in_flight += 1;
                        start.push((seq, job.clone()));
                    }
                }
            }
        }
        let wait = Duration::from_millis(next.saturating_sub(now_ms).min(1000));
        Dispatch::Start(start, wait)
    }

    /// For the worker: attempt `seq` failed and is tried again at `due_ms`.
    pub(super) fn retry(&self, seq: u64, due_ms: u64, error: String) {
        let mut inner = self.lock();
        inner.stats.retries += 1;
        let url = match inner.jobs.get_mut(&seq) {
            Some(job) => {
                job.attempts += 1;
                job.due_ms = due_ms;
                job.last_error = Some(error);
                job.url.clone()
            }
            None => return,
        };
        inner.in_flight = inner.in_flight.saturating_sub(1);
        if let Some(endpoint) = inner.endpoints.get_mut(&url) {
            endpoint.in_flight = endpoint.in_flight.saturating_sub(1);
            endpoint.queue.insert((due_ms, seq));
        }
        drop(inner);
        self.work.notify_one();
    }

    /// For the worker: attempt `seq` settled the job; with `gone`, its endpoint
    /// answered 410 and every job waiting for it goes to the dead letters too.
    pub(super) fn settle(&self, seq: u64, outcome: Outcome, gone: bool) {
        let mut inner = self.lock();
        let Some(mut job) = inner.jobs.remove(&seq) else {
            return;
        };
        job.attempts += 1;
        inner.in_flight = inner.in_flight.saturating_sub(1);
        let mut waiting = Vec::new();
        if let Some(endpoint) = inner.endpoints.get_mut(&job.url) {
            endpoint.in_flight = endpoint.in_flight.saturating_sub(1);
            if gone && !endpoint.gone {
                endpoint.gone = true;
                waiting = std::mem::take(&mut endpoint.queue).into_iter().collect();
            }
        }
        if gone {
            inner.stats.endpoints_gone += 1;
        }
        self.leave(&mut inner, &job, &outcome);
        for (_, seq) in waiting {
            if let Some(job) = inner.jobs.remove(&seq) {
                let outcome = Outcome::Dead("the endpoint answered 410 Gone".into());
                self.leave(&mut inner, &job, &outcome);
            }
        }
        drop(inner);
        self.room.notify_all();
        self.work.notify_one();
    }

    /// `job` leaves the outbox: counted, written to the dead letters if it goes
    /// there, then marked settled (in that order: a crash between the two repeats
    /// a dead letter rather than losing one).
    fn leave(&self, inner: &mut Inner, job: &Job, outcome: &Outcome) {
        match outcome {
            Outcome::Delivered => inner.stats.delivered += 1,
            Outcome::Dead(error) => {
                inner.stats.dead_letters += 1;
                if let Some(file) = &self.dead_letters {
                    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
                    let line = dead_letter_line(job, error);
                    if let Err(e) = file.write_all(line.as_bytes()) {
                        eprintln!("trigc: cannot write the dead letters: {e}");
                    }
                }
            }
        }
        if let Some(settled) = &self.settled {
            settled.settled(inner.generation, job, outcome);
        }
    }
}

/// One dead letter: `{"id","url","attempts","error","record"}`, the record as
/// written on stdout.
fn dead_letter_line(job: &Job, error: &str) -> String {
    let record = serde_json::from_str::<serde_json::Value>(job.record())
        .unwrap_or_else(|_| serde_json::Value::String(job.record().to_owned()));
    let line = serde_json::json!({
        "id": job.id,
        "action": job.kind,
        "url": job.url,
        "attempts": job.attempts,
        "error": error,
        "record": record,
    });
    format!("{line}\n")
}

/// Queue `job` at its endpoint.
fn insert(inner: &mut Inner, job: Job) {
    let seq = inner.next_seq;
    inner.next_seq += 1;
    let endpoint = inner.endpoints.entry(job.url.clone()).or_default();
    endpoint.queue.insert((job.due_ms, seq));
    inner.jobs.insert(seq, job);
}
