//! Logs and metrics. This module is the only place metric names live: [`FAMILIES`] describes
//! every family, and the counters' known series are registered at 0 when the recorder is
//! installed, so that an alert sees a series from the first scrape.

use crate::config::LogFormat;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use time::OffsetDateTime;
use tracing_subscriber::EnvFilter;

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The kind of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric family: its name, kind and help text (the `# HELP` line).
pub const FAMILIES: &[(&str, Kind, &str)] = &[
    (
        "callgate_webhooks_total",
        Kind::Counter,
        "Webhooks accepted, by provider and outcome (stored, or duplicate of one already stored).",
    ),
    (
        "callgate_events_total",
        Kind::Counter,
        "Call events read from stored webhooks, by provider.",
    ),
    (
        "callgate_webhooks_rejected_total",
        Kind::Counter,
        "Webhooks refused, by provider and the check that failed (reason).",
    ),
    (
        "callgate_previous_secret_used_total",
        Kind::Counter,
        "Webhooks verified with the previous secret generation of a connection during its rotation grace period, by provider.",
    ),
    (
        "callgate_unmapped_events_total",
        Kind::Counter,
        "Provider values callgate does not know, kept as unmapped events, by provider and field.",
    ),
    (
        "callgate_unknown_numbers_total",
        Kind::Counter,
        "Calls to dialed numbers that are not in the directory.",
    ),
    (
        "callgate_agent_identities_unmatched_total",
        Kind::Counter,
        "Agent legs answered by an identity that is no user's: no call was claimed for them.",
    ),
    (
        "callgate_outbox_attempts_total",
        Kind::Counter,
        "Outbox jobs run, by kind (webhook, delete_recording) and outcome.",
    ),
    (
        "callgate_reconcile_lookups_total",
        Kind::Counter,
        "Questions the reconciler asked providers' APIs about calls whose webhooks stopped, by kind (call, recordings) and outcome.",
    ),
    (
        "callgate_calls_reconciled_total",
        Kind::Counter,
        "Calls whose end callgate learnt from a lookup at the provider's API, not from a webhook.",
    ),
    (
        "callgate_calls_timed_out_total",
        Kind::Counter,
        "Calls callgate ended itself, past the maximum call duration, with no answer from the provider.",
    ),
    (
        "callgate_recordings_found_by_listing_total",
        Kind::Counter,
        "Recordings of calls that ended without a tenant found by listing them at the provider, whose webhook never came.",
    ),
    (
        "callgate_connection_cap_reached_total",
        Kind::Counter,
        "Connections that arrived while the server held its maximum number of connections.",
    ),
    (
        "callgate_connections_closed_total",
        Kind::Counter,
        "Connections the server closed, by reason (header_timeout, idle_timeout, evicted).",
    ),
    (
        "callgate_http_request_seconds",
        Kind::Histogram,
        "HTTP request latency in seconds, by route and status.",
    ),
    (
        "callgate_store_batch_size",
        Kind::Histogram,
        "Writes committed together by one group commit of the store writer.",
    ),
    (
        "callgate_store_commit_seconds",
        Kind::Histogram,
        "Duration of one group commit of the store writer, in seconds.",
    ),
    (
        "callgate_store_sync_seconds",
        Kind::Histogram,
        "Duration of one sync of the embedded store's write-ahead log, in seconds.",
    ),
    (
        "callgate_oldest_unended_call_seconds",
        Kind::Gauge,
        "Age in seconds of the oldest call with no end recorded (0 when there is none).",
    ),
    (
        "callgate_outbox_pending_jobs",
        Kind::Gauge,
        "Outbox jobs (webhook deliveries, recording deletions) not yet done.",
    ),
    (
        "callgate_outbox_oldest_pending_seconds",
        Kind::Gauge,
        "Age in seconds of the oldest outbox job not yet done (0 when there is none).",
    ),
    (
        "callgate_pruned_rows_total",
        Kind::Counter,
        "Rows retention pruned, by kind (deliveries: raw bodies emptied; calls: ended calls deleted with their legs, events and deliveries; audit: entries deleted; refusals: refused webhooks deleted from the refusal log; duplicate_deliveries: deliveries that brought no new event, deleted; unknown_number_calls: calls to unlisted numbers forgotten).",
    ),
    (
        "callgate_oldest_row_seconds",
        Kind::Gauge,
        "Age in seconds of the oldest row retention keeps, by kind (deliveries and duplicate_deliveries: the oldest delivery their walk has not passed; calls; audit; refusals; unknown_number_calls), read after each pass, 0 when there is none.",
    ),
    (
        "callgate_retention_period_seconds",
        Kind::Gauge,
        "The configured retention period in seconds of each kind of callgate_oldest_row_seconds (refusals: the deliveries period; duplicate_deliveries and unknown_number_calls: the calls period).",
    ),
    (
        "callgate_store_writable",
        Kind::Gauge,
        "1 while the store takes writes, 0 while they fail for a storage reason (the condition /readyz answers 503 for).",
    ),
];

/// Why a webhook is refused before verification or after it (`callgate_webhooks_rejected_total`
/// `reason`), besides the adapters' own [`VERIFY_REASONS`] and [`PARSE_REASONS`].
pub const SERVICE_REASONS: &[&str] = &[
    "invalid_connection_id",
    "unknown_connection",
    "body",
    "nul_character",
    "replayed",
];
/// What `VerifyError::reason` answers.
pub const VERIFY_REASONS: &[&str] = &[
    "missing_header",
    "malformed_header",
    "no_credentials",
    "bad_signature",
    "body_hash_mismatch",
    "stale",
    "malformed_body",
];
/// What `ParseError::reason` answers.
pub const PARSE_REASONS: &[&str] = &[
    "unsupported_content_type",
    "missing_field",
    "invalid_field",
    "malformed",
];
/// The `provider` and `reason` of a webhook posted to a provider id no adapter has.
const UNKNOWN_PROVIDER: (&str, &str) = ("unknown", "unknown_provider");

/// Outbox job kinds and the outcomes each can have (`callgate_outbox_attempts_total`).
pub const OUTBOX_OUTCOMES: &[(&str, &[&str])] = &[
    ("webhook", &["done", "gone", "retry"]),
    ("delete_recording", &["done", "not_supported", "retry"]),
];

/// The reconciler's questions and the outcomes each can have
/// (`callgate_reconcile_lookups_total`).
pub const RECONCILE_OUTCOMES: &[(&str, &[&str])] = &[
    (
        "call",
        &[
            "in_progress",
            "ended",
            "not_found",
            "failed",
            "not_supported",
        ],
    ),
    ("recordings", &["listed", "failed", "not_supported"]),
];

/// The kinds of rows retention prunes (`callgate_pruned_rows_total`,
/// `callgate_oldest_row_seconds`).
pub const PRUNED_KINDS: &[&str] = &[
    "deliveries",
    "calls",
    "audit",
    "refusals",
    "duplicate_deliveries",
    "unknown_number_calls",
];

/// Why the server closes a connection (`callgate_connections_closed_total`).
pub const CLOSE_REASONS: &[&str] = &["header_timeout", "idle_timeout", "evicted"];

/// Installs the metrics recorder once per process, describes every family and registers the
/// counters' known series at 0.
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
        let installed = metrics::set_global_recorder(recorder).ok().map(|()| handle);
        if installed.is_some() {
            describe_families();
            register_known_series();
        }
        installed
    });
}

fn describe_families() {
    for &(name, kind, help) in FAMILIES {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
}

/// Every counter series whose labels are known in advance, at 0 (an increment of 0 never
/// lowers one already counted); the gauges at their idle values.
fn register_known_series() {
    for adapter in callgate_adapters::ADAPTERS {
        let provider = adapter.info().id;
        for outcome in ["stored", "duplicate"] {
            counter!("callgate_webhooks_total", "provider" => provider, "outcome" => outcome)
                .increment(0);
        }
        counter!("callgate_events_total", "provider" => provider).increment(0);
        counter!("callgate_previous_secret_used_total", "provider" => provider).increment(0);
        for field in adapter.info().unmapped_fields {
            counter!("callgate_unmapped_events_total", "provider" => provider, "field" => *field)
                .increment(0);
        }
        for reason in SERVICE_REASONS
            .iter()
            .chain(VERIFY_REASONS)
            .chain(PARSE_REASONS)
        {
            counter!("callgate_webhooks_rejected_total", "provider" => provider, "reason" => *reason)
                .increment(0);
        }
    }
    let (provider, reason) = UNKNOWN_PROVIDER;
    counter!("callgate_webhooks_rejected_total", "provider" => provider, "reason" => reason)
        .increment(0);
    counter!("callgate_unknown_numbers_total").increment(0);
    counter!("callgate_agent_identities_unmatched_total").increment(0);
    for (kind, outcomes) in OUTBOX_OUTCOMES {
        for outcome in *outcomes {
            counter!("callgate_outbox_attempts_total", "kind" => *kind, "outcome" => *outcome)
                .increment(0);
        }
    }
    for (kind, outcomes) in RECONCILE_OUTCOMES {
        for outcome in *outcomes {
            counter!("callgate_reconcile_lookups_total", "kind" => *kind, "outcome" => *outcome)
                .increment(0);
        }
    }
    counter!("callgate_calls_reconciled_total").increment(0);
    counter!("callgate_calls_timed_out_total").increment(0);
    counter!("callgate_recordings_found_by_listing_total").increment(0);
    counter!("callgate_connection_cap_reached_total").increment(0);
    for reason in CLOSE_REASONS {
        counter!("callgate_connections_closed_total", "reason" => *reason).increment(0);
    }
    for kind in PRUNED_KINDS {
        counter!("callgate_pruned_rows_total", "kind" => *kind).increment(0);
    }
    oldest_rows(&crate::store::retention::Oldest::default(), None);
    store_backlog(&crate::store::gauges::Backlog::default(), None);
    store_writable(true);
}

/// Rows retention pruned, of one of [`PRUNED_KINDS`].
pub fn rows_pruned(kind: &'static str, rows: u64) {
    counter!("callgate_pruned_rows_total", "kind" => kind).increment(rows);
}

/// The age of the oldest row of each kind retention keeps, as read at `now` (`None`: the
/// idle values).
pub fn oldest_rows(oldest: &crate::store::retention::Oldest, now: Option<OffsetDateTime>) {
    let age = |since: Option<OffsetDateTime>| match (since, now) {
        (Some(since), Some(now)) => (now - since).as_seconds_f64().max(0.0),
        _ => 0.0,
    };
    for (kind, since) in PRUNED_KINDS.iter().zip(oldest.by_kind()) {
        gauge!("callgate_oldest_row_seconds", "kind" => *kind).set(age(since));
    }
}

/// The configured period of each of [`PRUNED_KINDS`], in that order
/// (`callgate_retention_period_seconds`).
pub fn retention_periods(periods: &[std::time::Duration]) {
    for (kind, period) in PRUNED_KINDS.iter().zip(periods) {
        gauge!("callgate_retention_period_seconds", "kind" => *kind).set(period.as_secs_f64());
    }
}

/// The store's backlog gauges, as read at `now` (`None`: the idle values).
pub fn store_backlog(backlog: &crate::store::gauges::Backlog, now: Option<OffsetDateTime>) {
    let age = |since: Option<OffsetDateTime>| match (since, now) {
        (Some(since), Some(now)) => (now - since).as_seconds_f64().max(0.0),
        _ => 0.0,
    };
    gauge!("callgate_oldest_unended_call_seconds").set(age(backlog.oldest_unended_call));
    gauge!("callgate_outbox_pending_jobs").set(backlog.outbox_pending as f64);
    gauge!("callgate_outbox_oldest_pending_seconds").set(age(backlog.oldest_outbox_job));
}

/// Whether the store takes writes (`callgate_store_writable`).
pub fn store_writable(writable: bool) {
    gauge!("callgate_store_writable").set(if writable { 1.0 } else { 0.0 });
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
        // Colour only on a terminal: not in a file, a pipe or the journal.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
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

/// An agent leg was answered by an identity that is no user's.
pub fn agent_identity_unmatched() {
    counter!("callgate_agent_identities_unmatched_total").increment(1);
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

/// The reconciler asked a provider's API (`kind`: call, recordings) with this outcome.
pub fn reconcile_lookup(kind: &'static str, outcome: &'static str) {
    counter!("callgate_reconcile_lookups_total", "kind" => kind, "outcome" => outcome).increment(1);
}

/// A lookup at the provider's API ended a call.
pub fn call_reconciled() {
    counter!("callgate_calls_reconciled_total").increment(1);
}

/// callgate ended a call past the maximum call duration.
pub fn call_timed_out() {
    counter!("callgate_calls_timed_out_total").increment(1);
}

/// A listing at the provider found `n` recordings callgate had not heard of.
pub fn recordings_found_by_listing(n: usize) {
    counter!("callgate_recordings_found_by_listing_total").increment(n as u64);
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

#[cfg(test)]
mod tests {
    use super::{PARSE_REASONS, VERIFY_REASONS};
    use callgate_adapters::kit::{ParseError, VerifyError};

    /// The rejection reasons registered at 0 are exactly those the adapters' errors give.
    #[test]
    fn the_registered_rejection_reasons_are_the_adapters_own() {
        let verify = [
            VerifyError::MissingHeader("h"),
            VerifyError::MalformedHeader("h"),
            VerifyError::NoCredentials("s"),
            VerifyError::BadSignature,
            VerifyError::BodyHashMismatch,
            VerifyError::Stale { skew_secs: 1 },
            VerifyError::MalformedBody,
        ];
        let given: Vec<_> = verify.iter().map(VerifyError::reason).collect();
        assert_eq!(given, VERIFY_REASONS);
        let parse = [
            ParseError::UnsupportedContentType("text/plain".into()),
            ParseError::MissingField("f"),
            ParseError::InvalidField {
                field: "f",
                reason: "r",
            },
            ParseError::Malformed("m".into()),
        ];
        let given: Vec<_> = parse.iter().map(ParseError::reason).collect();
        assert_eq!(given, PARSE_REASONS);
    }
}
