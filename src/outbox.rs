//! The outbox worker: deletes discarded recordings at the provider. The adapter describes
//! the request; this worker sends it, with a timeout, and retries with exponential backoff
//! until the provider answers 2xx (deleted) or 404 (already gone). When the provider has no
//! delete API (`delete_recording` is `Ok(None)`), the job closes at once with the audit
//! action `recording.deletion_not_supported`, never a deletion confirmation.

use crate::config::OutboxConfig;
use crate::connections::Connections;
use crate::store::Store;
use crate::store::outbox::{self, Job};
use callgate_adapters::kit::{Clock, RecordingRef};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How a deletion job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    /// The provider answered 2xx, or 404 (already gone), with this status.
    Deleted(u16),
    /// The adapter describes no delete request (`delete_recording` is `Ok(None)`): nothing
    /// was sent. The recording stays discarded: never fetched, never exposed.
    NotSupported,
}

/// The worker's dependencies.
#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    pub connections: Arc<Connections>,
    pub clock: Arc<dyn Clock>,
    pub wake: Arc<Notify>,
    pub config: OutboxConfig,
    pub http: reqwest::Client,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The HTTP client for provider REST calls: no proxies, no redirects, bounded time.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    bounded_client(timeout, reqwest::redirect::Policy::none())
}

/// An HTTP client for callgate's own outgoing calls: no proxies, at most 5 s to connect,
/// `timeout` for the whole exchange (body included), and the given redirect policy.
pub fn bounded_client(timeout: Duration, redirect: reqwest::redirect::Policy) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(redirect)
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .user_agent(concat!("callgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

impl Worker {
    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let worked = match self.tick().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed; retrying");
                    0
                }
            };
            if worked > 0 {
                continue;
            }
            let sleep = self.sleep_for().await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    async fn sleep_for(&self) -> Duration {
        let next = self.store.read(outbox::next_due).await.ok().flatten();
        let now = self.clock.now();
        match next {
            Some(at) if at > now => Duration::try_from(at - now)
                .unwrap_or_default()
                .min(self.config.poll_interval),
            Some(_) => Duration::from_millis(10),
            None => self.config.poll_interval,
        }
    }

    /// Runs every due job once; returns how many ran.
    pub async fn tick(&self) -> Result<usize, crate::error::AppError> {
        let now = self.clock.now();
        // A claim outlasts the longest attempt: no other worker runs the job meanwhile, and if
        // this one dies the job falls due again when the claim ends.
        let lease_until = now + self.config.request_timeout + Duration::from_secs(30);
        let jobs = self
            .store
            .write(move |c| outbox::claim(c, now, lease_until, 32))
            .await?;
        let n = jobs.len();
        for job in jobs {
            self.attempt(job).await?;
        }
        Ok(n)
    }

    fn backoff(&self, attempts: i64) -> Duration {
        let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
        let base = self
            .config
            .retry_base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.config.retry_max);
        let jitter = rand::rng().random_range(0.8..1.2);
        base.mul_f64(jitter)
    }

    async fn attempt(&self, job: Job) -> Result<(), crate::error::AppError> {
        let outcome = self.send(&job).await;
        let now = self.clock.now();
        match outcome {
            Ok(Done::Deleted(status)) => {
                crate::telemetry::outbox_attempt("delete_recording", "done");
                tracing::info!(call = %job.call_id, recording = %job.recording_id, status, "recording deleted at the provider");
                let detail =
                    serde_json::json!({ "recording_id": job.recording_id, "status": status });
                self.store
                    .write(move |c| {
                        outbox::complete(c, &job, "recording.deletion_confirmed", &detail, now)
                    })
                    .await
            }
            Ok(Done::NotSupported) => {
                crate::telemetry::outbox_attempt("delete_recording", "not_supported");
                tracing::info!(call = %job.call_id, recording = %job.recording_id, "the provider has no API to delete recordings; the recording stays discarded");
                let detail = serde_json::json!({
                    "recording_id": job.recording_id,
                    "reason": "the provider has no API to delete recordings: the recording is discarded, never fetched or exposed, and stays at the provider until its retention ends",
                });
                self.store
                    .write(move |c| {
                        outbox::complete(c, &job, "recording.deletion_not_supported", &detail, now)
                    })
                    .await
            }
            Err(error) => {
                crate::telemetry::outbox_attempt("delete_recording", "retry");
                let next = now
                    + time::Duration::try_from(self.backoff(job.attempts))
                        .unwrap_or(time::Duration::HOUR);
                tracing::warn!(call = %job.call_id, recording = %job.recording_id, attempt = job.attempts + 1, error, "recording deletion failed; will retry");
                self.store
                    .write(move |c| outbox::retry(c, &job, &error, next, now))
                    .await
            }
        }
    }

    /// One try: the recording is gone, or there is nothing to send; `Err` to retry.
    async fn send(&self, job: &Job) -> Result<Done, String> {
        let now: OffsetDateTime = self.clock.now();
        let live = self
            .connections
            .load_by_id(&job.connection_id, now)
            .await
            .map_err(|e| format!("connection: {e}"))?
            .ok_or_else(|| "the connection no longer exists".to_owned())?;
        let rec = RecordingRef {
            provider_call_id: job.provider_call_id.clone(),
            recording_id: job.recording_id.clone(),
        };
        let spec = match live
            .adapter
            .delete_recording(&rec, &live.secrets, &live.options)
        {
            Ok(Some(spec)) => spec,
            // The provider has no delete API: discarding is all callgate can do.
            Ok(None) => return Ok(Done::NotSupported),
            Err(e) => return Err(e.to_string()),
        };
        let mut req = self.http.request(spec.method.clone(), &spec.url);
        for (name, value) in &spec.headers {
            req = req.header(name, value);
        }
        if let Some(body) = spec.body {
            req = req.body(body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| format!("request failed: {}", without_url(&e)))?;
        let status = res.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            Ok(Done::Deleted(status.as_u16()))
        } else {
            Err(format!("provider answered {status}"))
        }
    }
}

/// A reqwest error's text without the URL (it may carry account ids).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    kind.to_owned()
}
