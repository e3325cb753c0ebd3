//! The outbox worker: after a commit, what callgate owes the outside world. It deletes
//! discarded recordings at the provider (`deletion.rs`) and delivers outbound webhooks to
//! subscribers (`delivery.rs`).
//!
//! The worker loop is here: a pass claims the due jobs under a lease, runs each once, and
//! records its outcome; a failed attempt is retried with exponential backoff and jitter. The
//! worker sleeps until the next job is due (at most a poll interval), or until it is woken
//! (`Worker::wake`) by a commit that queued work. A store error stops the pass and releases
//! what it claimed.

use crate::config::OutboxConfig;
use crate::connections::Connections;
use crate::store::outbox;
use crate::store::subscriptions;
use crate::store::{Store, StoreError};
use callgate_adapters::kit::Clock;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

mod deletion;
mod delivery;
#[cfg(test)]
mod tests;

use deletion::ANSWER_LIMIT;
pub use delivery::{RETRY_AFTER_MAX, retry_after, subscription_context};

/// Why an outbox pass stopped: the store failed (what it claimed is released first).
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one attempt (a deletion at the provider, a webhook delivery) failed. It is retried
/// with backoff, and its text is the attempt's `last_error`: it never holds a URL or a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AttemptError {
    /// The job's provider connection cannot be loaded.
    #[error("connection: {0}")]
    Connection(String),
    #[error("the connection no longer exists")]
    ConnectionGone,
    /// The adapter could not describe the request, or read the lookup's answer.
    #[error("{0}")]
    Adapter(String),
    #[error("recording lookup: {0}")]
    Lookup(String),
    /// The lookup lists no such recording, for now (see `NOT_LISTED_FOR`).
    #[error("the provider lists no such recording yet (its list may lag the webhook)")]
    NotListedYet,
    #[error("provider answered {0} to the recording lookup")]
    LookupStatus(reqwest::StatusCode),
    #[error("provider answered {0}")]
    Status(reqwest::StatusCode),
    /// The egress guard refused the URL (a private address).
    #[error("the provider URL is refused: {0}")]
    UrlRefused(String),
    /// The request did not get an answer: `timeout`, `connect` or `transport`.
    #[error("request failed: {0}")]
    Transport(&'static str),
    #[error("the provider's answer is over {ANSWER_LIMIT} bytes")]
    AnswerTooLarge,
    /// The subscription's secret cannot sign the delivery.
    #[error("{0}")]
    Secret(String),
    /// The webhook was not delivered (no answer, or the guard refused the URL).
    #[error("{0}")]
    Delivery(String),
    /// The receiver answered other than 2xx or 410.
    #[error("the endpoint answered {0}")]
    Endpoint(u16),
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
    /// The client for subscribers' URLs (through the SSRF guard), and what it may reach.
    pub webhooks: reqwest::Client,
    pub egress: crate::egress::EgressPolicy,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The HTTP client for provider REST calls: through the SSRF guard (a configured
/// `api_base_url` or `space_url` whose name resolves to a private address is refused), no
/// proxies, no redirects, bounded time.
pub fn http_client(policy: crate::egress::EgressPolicy, timeout: Duration) -> reqwest::Client {
    crate::egress::client(policy, Arc::new(crate::egress::SystemLookup), timeout)
}

impl Worker {
    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let sleep = match self.tick().await {
                Ok(0) => self.sleep_for().await,
                Ok(_) => continue,
                // The jobs it released are due at once, for other instances too; this one
                // waits a poll interval, so that a store failing on every pass is not asked
                // (nor a provider sent the same request) in a tight loop.
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed; retrying");
                    self.config.poll_interval
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    async fn sleep_for(&self) -> Duration {
        let next = self
            .store
            .read(|db| {
                let a = outbox::next_due(db)?;
                let b = subscriptions::next_due(db)?;
                Ok::<_, StoreError>(a.into_iter().chain(b).min())
            })
            .await
            .ok()
            .flatten();
        let now = self.clock.now();
        match next {
            Some(at) if at > now => Duration::try_from(at - now)
                .unwrap_or_default()
                .min(self.config.poll_interval),
            Some(_) => Duration::from_millis(10),
            None => self.config.poll_interval,
        }
    }

    /// Runs every due job once; returns how many ran. A store error stops the pass, and
    /// releases what it claimed and did not finish: due again at once, for this worker's
    /// next pass or another instance's, not when the lease ends.
    pub async fn tick(&self) -> Result<usize, OutboxError> {
        let now = self.clock.now();
        // A claim outlasts the longest attempt: no other worker runs the job meanwhile, and if
        // this one dies the job falls due again when the claim ends.
        let lease_until = now + self.config.request_timeout + Duration::from_secs(30);
        let jobs = self
            .store
            .write(move |db| outbox::claim(db, now, lease_until, 32))
            .await?;
        let mut n = jobs.len();
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            let id = job.id;
            if let Err(e) = self.attempt(job).await {
                let left: Vec<i64> = std::iter::once(id).chain(jobs.map(|j| j.id)).collect();
                let released = self
                    .store
                    .write(move |db| outbox::release(db, &left, lease_until, now))
                    .await;
                return Err(self.stopped(e, released));
            }
        }
        let deliveries = self
            .store
            .write(move |db| subscriptions::claim(db, now, lease_until, 32))
            .await?;
        n += deliveries.len();
        let mut deliveries = deliveries.into_iter();
        while let Some(due) = deliveries.next() {
            let id = due.id.clone();
            if let Err(e) = self.deliver(due).await {
                let left: Vec<String> = std::iter::once(id)
                    .chain(deliveries.map(|d| d.id))
                    .collect();
                let released = self
                    .store
                    .write(move |db| subscriptions::release(db, &left, lease_until, now))
                    .await;
                return Err(self.stopped(e, released));
            }
        }
        Ok(n)
    }

    /// The error a pass stopped with, once what it claimed was released (or not: then it
    /// falls due when its lease ends).
    fn stopped(&self, e: StoreError, released: Result<usize, StoreError>) -> OutboxError {
        match released {
            Ok(n) => {
                tracing::warn!(error = %e, released = n, "an outbox pass failed; the jobs it claimed are due again")
            }
            Err(r) => {
                tracing::warn!(error = %e, release_error = %r, "an outbox pass failed, and releasing its jobs too; they fall due when their lease ends")
            }
        }
        OutboxError::Store(e)
    }

    pub(crate) fn backoff(&self, attempts: i64) -> Duration {
        let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
        let base = self
            .config
            .retry_base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.config.retry_max);
        let jitter = rand::rng().random_range(0.8..1.2);
        base.mul_f64(jitter)
    }
}
