//! Logs and metrics. This module is the only place metric names live.

use crate::config::LogFormat;
use metrics::{counter, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the metrics recorder once per process.
pub fn init_metrics() {
    PROMETHEUS.get_or_init(|| {
        // Histograms with fixed buckets: constant memory, and they aggregate across instances.
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5, 5.0, 10.0,
            ])
            .and_then(|b| {
                b.set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full("callgate_store_batch_size".into()),
                    &[
                        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                    ],
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).ok().map(|()| handle)
    });
}

/// Folds recorded samples into the histograms; call it every few seconds, so that memory
/// stays flat when nobody scrapes `/metrics`.
pub fn run_upkeep() {
    if let Some(Some(handle)) = PROMETHEUS.get() {
        handle.run_upkeep();
    }
}

/// The Prometheus text exposition of every metric.
pub fn render_metrics() -> String {
    PROMETHEUS
        .get()
        .and_then(|h| h.as_ref())
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// Installs the log subscriber (`RUST_LOG` filters, default `info`).
pub fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Handles of metrics recorded on every request, by label values, per thread: a lookup in
/// the recorder's registry hashes the name and labels and takes a lock; a cached handle is
/// an atomic add.
mod hot {
    use metrics::{Counter, Histogram, counter, histogram};
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// Webhooks and events accepted, by provider and outcome.
    type Accepted = HashMap<(&'static str, &'static str), (Counter, Counter)>;

    thread_local! {
        static ACCEPTED: RefCell<Accepted> = RefCell::new(HashMap::new());
        static REQUESTS: RefCell<HashMap<(u16, String), Histogram>> = RefCell::new(HashMap::new());
    }

    pub(super) fn accepted(provider: &'static str, outcome: &'static str, events: u64) {
        ACCEPTED.with_borrow_mut(|m| {
            let (webhooks, evts) = m.entry((provider, outcome)).or_insert_with(|| {
                (
                    counter!("callgate_webhooks_total", "provider" => provider, "outcome" => outcome),
                    counter!("callgate_events_total", "provider" => provider),
                )
            });
            webhooks.increment(1);
            evts.increment(events);
        });
    }

    pub(super) fn request(route: &str, status: u16, seconds: f64) {
        REQUESTS.with_borrow_mut(|m| {
            // Looked up without building a key: routes are few, statuses fewer.
            if let Some(h) = m
                .iter()
                .find(|((s, r), _)| *s == status && r == route)
                .map(|(_, h)| h)
            {
                return h.record(seconds);
            }
            let h = histogram!("callgate_http_request_seconds", "route" => route.to_owned(), "status" => status.to_string());
            h.record(seconds);
            m.insert((status, route.to_owned()), h);
        });
    }
}

/// A webhook was stored (`outcome`: stored or duplicate).
pub fn webhook_accepted(provider: &'static str, outcome: &'static str, events: usize) {
    hot::accepted(provider, outcome, events as u64);
}

/// A webhook was refused; `reason` says which check failed.
pub fn webhook_rejected(provider: &str, reason: &'static str) {
    counter!("callgate_webhooks_rejected_total", "provider" => provider.to_owned(), "reason" => reason).increment(1);
}

/// A webhook was verified with the previous secret generation (rotation in progress).
pub fn previous_secret_used(provider: &'static str) {
    counter!("callgate_previous_secret_used_total", "provider" => provider).increment(1);
}

/// An event carried a value callgate does not know.
pub fn unmapped_event(provider: &'static str, field: &str) {
    counter!("callgate_unmapped_events_total", "provider" => provider, "field" => field.to_owned())
        .increment(1);
}

/// A dialed number not in the directory.
pub fn unknown_number() {
    counter!("callgate_unknown_numbers_total").increment(1);
}

/// One group commit of the store writer: how many jobs, how long the commit took.
pub fn store_batch(size: usize, commit: std::time::Duration) {
    histogram!("callgate_store_batch_size").record(size as f64);
    histogram!("callgate_store_commit_seconds").record(commit.as_secs_f64());
}

/// One sync of the write-ahead log (it makes every commit before it durable).
pub fn store_sync(took: std::time::Duration) {
    histogram!("callgate_store_sync_seconds").record(took.as_secs_f64());
}

/// An outbox job ran (`outcome`: done, retry).
pub fn outbox_attempt(kind: &'static str, outcome: &'static str) {
    counter!("callgate_outbox_attempts_total", "kind" => kind, "outcome" => outcome).increment(1);
}

/// A request's latency by route.
pub fn http_request(route: &str, status: u16, seconds: f64) {
    hot::request(route, status, seconds);
}

/// A connection arrived while `max_connections` were open.
pub fn connection_cap_reached() {
    counter!("callgate_connection_cap_reached_total").increment(1);
}

/// A connection was closed by the server: `reason` is `header_timeout`, `idle_timeout` or
/// `evicted` (the cap was full and it was the longest without a request).
pub fn connection_closed(reason: &'static str) {
    counter!("callgate_connections_closed_total", "reason" => reason).increment(1);
}
