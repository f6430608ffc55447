//! `--metrics HOST:PORT`: Prometheus text on `/metrics` and `ok` on `/healthz`,
//! from `prometheus-client`. Names carry the `trigc_` prefix and base units
//! (seconds); counters get their `_total` from the crate. No label holds a
//! customer key: the only labels are trigger names (a program's, bounded) and
//! HTTP status codes.
//!
//! The engine task owns the session, so it copies the session's counts into the
//! metrics after each submission and each firing ([`ServiceMetrics::sync`], by
//! differences: a counter only goes up); sources count their own connections.
//! Other parts of the service add their metrics by registering a group like
//! [`DeliveryMetrics`] in [`ServiceMetrics::new`].

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio_util::sync::CancellationToken;

use crate::driver::Session;
use crate::ir::Program;

/// Labels as name-value pairs (a trigger, an HTTP status code).
type Labels = Vec<(&'static str, String)>;

/// Every metric of a service, registered once at start.
pub struct ServiceMetrics {
    registry: Registry,
    events: Counter,
    rejected: Counter,
    late: Counter,
    ignored: Counter,
    /// By trigger name: a reload keeps a kept trigger's counter (its ids change).
    actions: Family<Labels, Counter>,
    timers_pending: Gauge,
    customers: Gauge,
    timer_lateness: Histogram,
    pub connections_open: Gauge,
    pub connections: Counter,
    http_responses: Family<Labels, Counter>,
    pub delivery: DeliveryMetrics,
}

/// Lateness buckets, seconds: 0.5 ms to about 65 s.
fn lateness_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0005, 2.0, 18)
}

impl ServiceMetrics {
    pub fn new(program: &Program) -> ServiceMetrics {
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix("trigc");
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let events = counter(registry, "events_received", "Input lines read (not blank).");
        let rejected = counter(
            registry,
            "events_rejected",
            "Input lines rejected (bad JSON, unknown fields, too long, times outside the wall-clock bounds).",
        );
        let late = counter(registry, "events_late", "Events older than the watermark.");
        let ignored = counter(
            registry,
            "events_ignored",
            "Lines of event types no rule declares.",
        );
        let family = Family::<Labels, Counter>::default();
        registry.register("actions", "Action records, by trigger.", family.clone());
        // Created now: a scrape sees every trigger's counter from the start.
        for t in &program.triggers {
            let _ = family.get_or_create(&vec![("trigger", t.name.clone())]);
        }
        let timers_pending = Gauge::default();
        registry.register(
            "timers_pending",
            "Steps waiting for their timer.",
            timers_pending.clone(),
        );
        let customers = Gauge::default();
        registry.register(
            "customers",
            "Customer keys holding state.",
            customers.clone(),
        );
        let timer_lateness = Histogram::new(lateness_buckets());
        registry.register_with_unit(
            "timer_lateness",
            "Wall-clock firings: wall time minus the due instant of each record.",
            Unit::Seconds,
            timer_lateness.clone(),
        );
        let connections_open = Gauge::default();
        registry.register(
            "connections_open",
            "Socket connections open now.",
            connections_open.clone(),
        );
        let connections = counter(registry, "connections", "Socket connections accepted.");
        let http_responses = Family::<Labels, Counter>::default();
        registry.register(
            "http_responses",
            "Responses of the ingestion endpoint, by status code.",
            http_responses.clone(),
        );
        let delivery = DeliveryMetrics::register(registry);
        ServiceMetrics {
            registry: root,
            events,
            rejected,
            late,
            ignored,
            actions: family,
            timers_pending,
            customers,
            timer_lateness,
            connections_open,
            connections,
            http_responses,
            delivery,
        }
    }

    /// A record fired on the wall clock `late_ms` after its due instant.
    pub fn timer_fired(&self, late_ms: i64) {
        self.timer_lateness.observe(late_ms.max(0) as f64 / 1000.0);
    }

    /// The ingestion endpoint answered `code`.
    pub fn http_response(&self, code: u16) {
        self.http_responses
            .get_or_create(&vec![("code", code.to_string())])
            .inc();
    }

    /// Bring the metrics up to the session's counts (`tally`: what was added so far).
    pub fn sync(&self, session: &Session<'_>, tally: &mut Tally) {
        let input = &session.input;
        let stats = session.runtime.stats();
        let ignored = input
            .ignored
            .values()
            .fold(0u64, |a, &n| a.saturating_add(n));
        for (counter, now, before) in [
            (&self.events, input.read, &mut tally.events),
            (&self.rejected, input.rejected, &mut tally.rejected),
            (&self.late, stats.late, &mut tally.late),
            (&self.ignored, ignored, &mut tally.ignored),
        ] {
            counter.inc_by(now.saturating_sub(*before));
            *before = now;
        }
        for ((counter, before), &now) in tally.actions.iter_mut().zip(&stats.actions) {
            if now != *before {
                counter.inc_by(now.saturating_sub(*before));
                *before = now;
            }
        }
        self.timers_pending
            .set(i64::try_from(session.runtime.pending_timers()).unwrap_or(i64::MAX));
        self.customers
            .set(i64::try_from(session.runtime.customers()).unwrap_or(i64::MAX));
    }

    /// The tally of a session of `program` that nothing was counted of yet.
    pub fn tally(&self, program: &Program) -> Tally {
        Tally {
            actions: self.action_counters(program).map(|c| (c, 0)).collect(),
            ..Tally::default()
        }
    }

    /// The session runs another program (a reload), whose action counts start
    /// where [`crate::runtime::carry`] left them: a kept trigger's (already
    /// counted, under its name), 0 for a new one. `tally` was synced just before.
    pub fn rules_changed(&self, session: &Session<'_>, tally: &mut Tally) {
        let counts = &session.runtime.stats().actions;
        tally.actions = self
            .action_counters(session.runtime.program())
            .zip(counts.iter().copied().chain(std::iter::repeat(0)))
            .collect();
    }

    /// The action counter of each trigger of `program`, by id.
    fn action_counters(&self, program: &Program) -> impl Iterator<Item = Counter> {
        program.triggers.iter().map(|t| {
            self.actions
                .get_or_create(&vec![("trigger", t.name.clone())])
                .clone()
        })
    }

    /// The text `/metrics` answers.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String does not fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// What [`ServiceMetrics::sync`] has counted so far (owned by the engine task).
#[derive(Debug, Default)]
pub struct Tally {
    events: u64,
    rejected: u64,
    late: u64,
    ignored: u64,
    /// Each trigger's counter and the count it holds, by trigger id.
    actions: Vec<(Counter, u64)>,
}

/// The metrics of delivery and durable state (`--deliver`, `--state`): registered
/// with the others so the names are fixed and scrapes see them from the start;
/// the delivery and checkpoint code update them.
pub struct DeliveryMetrics {
    /// `trigc_delivery_latency_seconds`: due instant to a 2xx answer.
    pub latency: Histogram,
    /// `trigc_delivery_retries_total`.
    pub retries: Counter,
    /// `trigc_dead_letters_total`.
    pub dead_letters: Counter,
    /// `trigc_checkpoint_duration_seconds`.
    pub checkpoint_duration: Histogram,
}

impl DeliveryMetrics {
    pub fn register(registry: &mut Registry) -> DeliveryMetrics {
        let latency = Histogram::new(lateness_buckets());
        registry.register_with_unit(
            "delivery_latency",
            "From an action's due instant to its delivery's 2xx answer.",
            Unit::Seconds,
            latency.clone(),
        );
        let retries = Counter::default();
        registry.register(
            "delivery_retries",
            "Delivery attempts retried.",
            retries.clone(),
        );
        let dead_letters = Counter::default();
        registry.register(
            "dead_letters",
            "Actions given up on and written to the dead letters.",
            dead_letters.clone(),
        );
        let checkpoint_duration = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register_with_unit(
            "checkpoint_duration",
            "Time to write one checkpoint of the state.",
            Unit::Seconds,
            checkpoint_duration.clone(),
        );
        DeliveryMetrics {
            latency,
            retries,
            dead_letters,
            checkpoint_duration,
        }
    }
}

/// Serve `/metrics` and `/healthz` on `addr` until `stop`.
pub async fn serve(
    addr: &str,
    metrics: Arc<ServiceMetrics>,
    stop: CancellationToken,
) -> Result<(), String> {
    let listener = super::http::bind(addr, "--metrics").await?;
    if let Ok(local) = listener.local_addr() {
        eprintln!("trigc: metrics on http://{local}/metrics");
    }
    let answer = move |path: String| {
        let metrics = Arc::clone(&metrics);
        async move {
            match path.as_str() {
                "/metrics" => super::http::reply(
                    200,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    metrics.render(),
                ),
                "/healthz" => super::http::reply(200, "text/plain", "ok\n".into()),
                _ => super::http::reply(404, "text/plain", "not found\n".into()),
            }
        }
    };
    tokio::spawn(super::http::serve_get(listener, stop, answer));
    Ok(())
}
