//! The outbox worker: deletes discarded recordings at the provider, and delivers outbound
//! webhooks to subscribers.
//!
//! Deletion: the adapter describes the request; this worker sends it, with a timeout, and
//! retries with exponential backoff until the provider answers 2xx (deleted) or 404 (already
//! gone). A recording reported without the provider's id (the adapter gave it a stand-in) is
//! first looked up: the adapter describes the lookup (`find_recording`) and reads its answer
//! (`found_recording`), which names the recording to delete. When the provider has no delete API (`delete_recording` is `Ok(None)`), the job
//! closes at once with the audit action `recording.deletion_not_supported`, never a deletion
//! confirmation.
//!
//! Webhooks: each delivery is signed as Standard Webhooks prescribes (`webhook-id`, the same
//! on every attempt; `webhook-timestamp`; `webhook-signature` `v1,` HMAC-SHA256 under the
//! subscription's `whsec_` secret), sent through the SSRF guard (`egress`), and retried with
//! backoff and jitter until a 2xx; a subscription failing for too long is disabled.

use crate::config::OutboxConfig;
use crate::connections::Connections;
use crate::store::outbox::{self, Job};
use crate::store::subscriptions::{self, Due};
use crate::store::{Store, StoreError};
use callgate_adapters::kit::{Clock, HttpRequestSpec, RecordingRef};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How a deletion job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Done {
    /// The provider answered 2xx, or 404 (already gone), with this status; `found` is the
    /// recording's id when it had to be looked up first (`Adapter::find_recording`). A
    /// lookup that lists no such recording is retried, as the list may lag the webhook,
    /// until [`Done::NotListed`].
    Deleted { status: u16, found: Option<String> },
    /// The provider's recordings list has not named the recording for [`NOT_LISTED_FOR`]
    /// since the job was queued: it is taken as already gone.
    NotListed,
    /// The adapter describes no delete request (`delete_recording` is `Ok(None)`): nothing
    /// was sent. The recording stays discarded: never fetched, never exposed.
    NotSupported,
}

/// How long a recording looked up by its call leg (a Telnyx recording reported without its
/// id) may stay unlisted before it is taken as already gone: the provider's list can lag the
/// webhook, so until then an empty listing is retried with the usual backoff.
const NOT_LISTED_FOR: time::Duration = time::Duration::hours(24);

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
enum AttemptError {
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
            .write(move |c| outbox::claim(c, now, lease_until, 32))
            .await?;
        let mut n = jobs.len();
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            let id = job.id;
            if let Err(e) = self.attempt(job).await {
                let left: Vec<i64> = std::iter::once(id).chain(jobs.map(|j| j.id)).collect();
                let released = self
                    .store
                    .write(move |c| outbox::release(c, &left, lease_until, now))
                    .await;
                return Err(self.stopped(e, released));
            }
        }
        let deliveries = self
            .store
            .write(move |c| subscriptions::claim(c, now, lease_until, 32))
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
                    .write(move |c| subscriptions::release(c, &left, lease_until, now))
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

    /// One attempt of an outbound webhook, and its record.
    async fn deliver(&self, due: Due) -> Result<(), StoreError> {
        let now = self.clock.now();
        let outcome = match self.sign(&due, now) {
            Ok(signature) => {
                let (id, body) = (due.id.clone(), due.payload.clone());
                crate::egress::send(&self.webhooks, self.egress, &due.url, move |req| {
                    req.header("content-type", "application/json")
                        .header("webhook-id", id)
                        .header("webhook-timestamp", now.unix_timestamp().to_string())
                        .header("webhook-signature", signature)
                        .body(body)
                })
                .await
                .map_err(|e| AttemptError::Delivery(e.to_string()))
            }
            Err(e) => Err(e),
        };
        let done = self.clock.now();
        match outcome {
            Ok(answer) if (200..300).contains(&answer.status) => {
                crate::telemetry::outbox_attempt("webhook", "done");
                let status = answer.status;
                self.store
                    .write(move |c| subscriptions::delivered(c, &due, status, done))
                    .await
            }
            // 410 Gone: the receiver wants no more (Standard Webhooks: disable the endpoint).
            Ok(answer) if answer.status == 410 => {
                crate::telemetry::outbox_attempt("webhook", "gone");
                tracing::warn!(subscription = %due.subscription_id, delivery = %due.id, "the endpoint answered 410 Gone; the subscription is disabled");
                self.store
                    .write(move |c| subscriptions::gone(c, &due, 410, done))
                    .await
            }
            failure => {
                let (status, error, wait) = match failure {
                    Ok(answer) => (
                        Some(answer.status),
                        AttemptError::Endpoint(answer.status),
                        retry_after(&answer, done),
                    ),
                    Err(e) => (None, e, None),
                };
                crate::telemetry::outbox_attempt("webhook", "retry");
                // A receiver's `Retry-After` (429, 503) postpones the attempt; it never brings
                // it earlier than the backoff would.
                let backoff = self.backoff(due.attempts);
                let delay = wait.map_or(backoff, |w| w.max(backoff));
                let next = done + time::Duration::try_from(delay).unwrap_or(time::Duration::HOUR);
                let disable_after = self.config.subscription_disable_after;
                tracing::warn!(subscription = %due.subscription_id, delivery = %due.id, attempt = due.attempts + 1, error = %error, "webhook delivery failed; will retry");
                let error = error.to_string();
                let disabled = self
                    .store
                    .write(move |c| {
                        subscriptions::failed(c, &due, status, &error, next, disable_after, done)
                    })
                    .await?;
                if disabled {
                    tracing::warn!("a subscription failing for too long was disabled");
                }
                Ok(())
            }
        }
    }

    /// The `webhook-signature` of a delivery sent at `now`.
    fn sign(&self, due: &Due, now: OffsetDateTime) -> Result<String, AttemptError> {
        let secret = self
            .connections
            .master_key()
            .open(
                &due.sealed_secret,
                &subscription_context(&due.subscription_id),
            )
            .map_err(|e| {
                AttemptError::Secret(format!("the subscription's secret cannot be opened: {e}"))
            })?;
        let secret = std::str::from_utf8(&secret)
            .map_err(|_| AttemptError::Secret("the secret is not text".into()))?;
        let key = callgate_adapters::standard::signature::key_of(secret)
            .ok_or_else(|| AttemptError::Secret("the subscription has an empty secret".into()))?;
        Ok(callgate_adapters::standard::signature::sign(
            &key,
            &due.id,
            now.unix_timestamp(),
            due.payload.as_bytes(),
        ))
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

    async fn attempt(&self, job: Job) -> Result<(), StoreError> {
        // Called off since it was claimed (the call's recording is no longer discarded):
        // nothing to send. A deletion already under way cannot be called back; it is
        // confirmed as it happened.
        let id = job.id;
        if !self.store.read(move |c| outbox::pending(c, id)).await? {
            return Ok(());
        }
        let outcome = self.send(&job).await;
        let now = self.clock.now();
        match outcome {
            Ok(Done::Deleted { status, found }) => {
                crate::telemetry::outbox_attempt("delete_recording", "done");
                tracing::info!(call = %job.call_id, recording = %job.recording_id, found = found.as_deref(), status, "recording deleted at the provider");
                let mut detail =
                    serde_json::json!({ "recording_id": job.recording_id, "status": status });
                if let Some(found) = found {
                    detail["provider_recording_id"] = found.into();
                }
                self.store
                    .write(move |c| {
                        outbox::complete(c, &job, "recording.deletion_confirmed", &detail, now)
                    })
                    .await
            }
            Ok(Done::NotListed) => {
                crate::telemetry::outbox_attempt("delete_recording", "done");
                tracing::warn!(call = %job.call_id, recording = %job.recording_id, attempts = job.attempts + 1, "the provider never listed the recording; taken as already gone");
                let detail = serde_json::json!({
                    "recording_id": job.recording_id,
                    "status": reqwest::StatusCode::NOT_FOUND.as_u16(),
                    "listed": false,
                    "reason": "the provider's recordings list named no such recording for 24 hours after it was discarded: taken as already gone, nothing was deleted",
                });
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
                tracing::warn!(call = %job.call_id, recording = %job.recording_id, attempt = job.attempts + 1, error = %error, "recording deletion failed; will retry");
                let error = error.to_string();
                self.store
                    .write(move |c| outbox::retry(c, &job, &error, next, now))
                    .await
            }
        }
    }

    /// One try: the recording is gone, or there is nothing to send; `Err` to retry.
    async fn send(&self, job: &Job) -> Result<Done, AttemptError> {
        let now: OffsetDateTime = self.clock.now();
        let live = self
            .connections
            .load_by_id(&job.connection_id, now)
            .await
            .map_err(|e| AttemptError::Connection(e.to_string()))?
            .ok_or(AttemptError::ConnectionGone)?;
        let mut rec = RecordingRef {
            provider_call_id: job.provider_call_id.clone(),
            recording_id: job.recording_id.clone(),
        };
        // A recording reported without the provider's id is looked up first.
        let mut found = None;
        match live
            .adapter
            .find_recording(&rec, &live.secrets, &live.options)
        {
            Ok(Some(lookup)) => {
                let (status, body) = self.exchange(lookup, true).await?;
                if !status.is_success() {
                    return Err(AttemptError::LookupStatus(status));
                }
                match live.adapter.found_recording(&rec, &body) {
                    Ok(Some(id)) => {
                        rec.recording_id.clone_from(&id);
                        found = Some(id);
                    }
                    Ok(None) if now - job.created_at >= NOT_LISTED_FOR => {
                        return Ok(Done::NotListed);
                    }
                    Ok(None) => {
                        return Err(AttemptError::NotListedYet);
                    }
                    Err(e) => return Err(AttemptError::Lookup(e.to_string())),
                }
            }
            Ok(None) => {}
            Err(e) => return Err(AttemptError::Adapter(e.to_string())),
        }
        let spec = match live
            .adapter
            .delete_recording(&rec, &live.secrets, &live.options)
        {
            Ok(Some(spec)) => spec,
            // The provider has no delete API: discarding is all callgate can do.
            Ok(None) => return Ok(Done::NotSupported),
            Err(e) => return Err(AttemptError::Adapter(e.to_string())),
        };
        let (status, _) = self.exchange(spec, false).await?;
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            Ok(Done::Deleted {
                status: status.as_u16(),
                found,
            })
        } else {
            Err(AttemptError::Status(status))
        }
    }

    /// Sends a request an adapter described, through the egress guard; its status, and its
    /// body when `read_body` (at most [`ANSWER_LIMIT`] bytes).
    async fn exchange(
        &self,
        spec: HttpRequestSpec,
        read_body: bool,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), AttemptError> {
        // An address written in the URL is not resolved, so the guard checks it here.
        crate::egress::check_url(&spec.url, self.egress)
            .map_err(|e| AttemptError::UrlRefused(e.to_string()))?;
        let mut req = self.http.request(spec.method.clone(), &spec.url);
        for (name, value) in &spec.headers {
            req = req.header(name, value);
        }
        if let Some(body) = spec.body {
            req = req.body(body);
        }
        let failed = |e: reqwest::Error| match crate::egress::refusal(&e) {
            Some(refused) => AttemptError::UrlRefused(refused.to_string()),
            None => AttemptError::Transport(without_url(&e)),
        };
        let mut res = req.send().await.map_err(failed)?;
        let mut body = Vec::new();
        while read_body && let Some(chunk) = res.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > ANSWER_LIMIT {
                return Err(AttemptError::AnswerTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((res.status(), body))
    }
}

/// The largest provider answer read (a page of recordings).
const ANSWER_LIMIT: usize = 1 << 20;

/// The longest wait a receiver's `Retry-After` can impose on one attempt: the longest step
/// of Standard Webhooks' example retry schedule. A longer one is cut to it.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(24 * 3600);

/// The wait a 429 or 503 answer asks for in `Retry-After` (RFC 9110 10.2.3: delay-seconds or
/// an HTTP-date, here taken as of `now`), at most [`RETRY_AFTER_MAX`]. `None` for any other
/// status, and for a value that is neither (it is ignored: the backoff applies).
pub fn retry_after(answer: &crate::egress::Answer, now: OffsetDateTime) -> Option<Duration> {
    if !matches!(answer.status, 429 | 503) {
        return None;
    }
    let value = answer.retry_after.as_deref()?.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits beyond u64 are a very long wait, cut below anyway.
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let at = http_date(value)?;
        Duration::try_from(at - now).unwrap_or_default()
    };
    Some(wait.min(RETRY_AFTER_MAX))
}

/// An HTTP-date in its preferred form, `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 5.6.7).
fn http_date(value: &str) -> Option<OffsetDateTime> {
    let numeric = value.strip_suffix(" GMT").map(|v| format!("{v} +0000"))?;
    callgate_adapters::kit::dates::rfc2822(&numeric)
}

/// What a subscription's sealed secret is bound to.
pub fn subscription_context(id: &str) -> String {
    format!("subscription:{id}")
}

/// A reqwest error's text without the URL (it may carry account ids).
fn without_url(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::NewConnection;
    use crate::crypto::MasterKey;
    use crate::store::db::args;
    use callgate_adapters::kit::{FixedClock, Secret};
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const ACCOUNT: &str = "AC00000000000000000000000000000001";
    const LOCAL: crate::egress::EgressPolicy = crate::egress::EgressPolicy {
        allow_private: true,
    };

    /// A deletion claimed by the worker and then called off (a late webhook moved the call
    /// to a tenant) is not sent; one still pending is.
    /// `Retry-After`: delay-seconds or an HTTP-date, on 429 and 503 only, cut at 24 hours;
    /// a date past or a value of neither form gives no wait of its own.
    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = OffsetDateTime::from_unix_timestamp(1_795_457_000).unwrap();
        let answer = |status: u16, value: &str| crate::egress::Answer {
            status,
            retry_after: Some(value.to_owned()),
        };
        let secs = |s: u64| Some(Duration::from_secs(s));
        assert_eq!(retry_after(&answer(429, "120"), now), secs(120));
        assert_eq!(retry_after(&answer(503, " 0 "), now), secs(0));
        assert_eq!(
            retry_after(&answer(503, "99999999999999999999999"), now),
            secs(86_400)
        );
        assert_eq!(retry_after(&answer(429, "172800"), now), secs(86_400));
        // An hour later, and a day earlier, in the HTTP-date form.
        let later = (now + time::Duration::HOUR)
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap()
            .replace(" +0000", " GMT");
        assert_eq!(retry_after(&answer(503, &later), now), secs(3600));
        let earlier = (now - time::Duration::DAY)
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap()
            .replace(" +0000", " GMT");
        assert_eq!(retry_after(&answer(503, &earlier), now), secs(0));
        assert_eq!(retry_after(&answer(500, "120"), now), None);
        assert_eq!(retry_after(&answer(429, "soon"), now), None);
        assert_eq!(retry_after(&answer(429, "-5"), now), None);
        assert_eq!(retry_after(&answer(429, ""), now), None);
        let none = crate::egress::Answer {
            status: 429,
            retry_after: None,
        };
        assert_eq!(retry_after(&none, now), None);
    }

    /// A store, a Twilio connection whose API is `provider`, and a worker on them at `now`.
    async fn worker_for(provider: &MockServer, dir: &tempfile::TempDir) -> (Worker, String) {
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_795_457_000).unwrap();
        let key = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let connections = Arc::new(Connections::new(
            store.clone(),
            key,
            "https://hooks.example.test".into(),
            Duration::from_secs(60),
            LOCAL,
        ));
        let secrets = [("account_sid", ACCOUNT), ("auth_token", "token")]
            .map(|(k, v)| (k.to_owned(), Secret::new(v.to_owned())))
            .into();
        let options = [("api_base_url".to_owned(), provider.uri())].into();
        let conn = connections
            .create(
                NewConnection {
                    provider: "twilio".into(),
                    name: "deletions".into(),
                    secrets,
                    options,
                },
                "test",
                now,
            )
            .await
            .unwrap();
        let worker = Worker {
            store,
            connections,
            clock: Arc::new(FixedClock(now)),
            wake: Arc::new(Notify::new()),
            config: OutboxConfig {
                poll_interval: Duration::from_secs(1),
                retry_base: Duration::from_secs(1),
                retry_max: Duration::from_secs(60),
                request_timeout: Duration::from_secs(5),
                subscription_disable_after: Duration::from_secs(3600),
            },
            // The provider is a mock on loopback.
            http: http_client(LOCAL, Duration::from_secs(5)),
            webhooks: http_client(LOCAL, Duration::from_secs(5)),
            egress: LOCAL,
        };
        (worker, conn.id)
    }

    /// Queues a deletion of each of `recordings`, due at `now`.
    fn queue_deletions(
        db: &crate::store::Db<'_>,
        conn_id: &str,
        recordings: &[&str],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for recording in recordings {
            db.exec(
                "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id, next_attempt_at, created_at)
                 VALUES ('delete_recording', ?1, 'call-1', 'CA1', ?2, ?3, ?3)",
                args![conn_id, recording, crate::store::millis(now)],
            )?;
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_deletion_called_off_after_its_claim_is_not_sent() {
        let provider = MockServer::start().await;
        for (recording, sent) in [("RE-called-off", 0), ("RE-pending", 1)] {
            Mock::given(method("DELETE"))
                .and(path_regex(format!("/Recordings/{recording}")))
                .respond_with(ResponseTemplate::new(204))
                .expect(sent)
                .mount(&provider)
                .await;
        }
        let dir = tempfile::tempdir().unwrap();
        let (worker, conn_id) = worker_for(&provider, &dir).await;
        let (store, now) = (worker.store.clone(), worker.clock.now());
        let jobs = store
            .write(move |db| {
                queue_deletions(db, &conn_id, &["RE-called-off", "RE-pending"], now)?;
                let jobs = outbox::claim(db, now, now + time::Duration::minutes(5), 10)?;
                // Called off while claimed, as the call's fold does when the recording is
                // no longer discarded.
                db.exec(
                    "UPDATE outbox SET done_at = ?1, last_error = 'cancelled' WHERE recording_id = 'RE-called-off'",
                    args![crate::store::millis(now)],
                )?;
                Ok::<_, StoreError>(jobs)
            })
            .await
            .unwrap();
        assert_eq!(jobs.len(), 2);
        for job in jobs {
            worker.attempt(job).await.unwrap();
        }
        let still_cancelled: Option<String> = store
            .read(|db| {
                db.query_one(
                    "SELECT last_error FROM outbox WHERE recording_id = 'RE-called-off'",
                    args![],
                    |r| r.get(0),
                )
            })
            .await
            .unwrap();
        assert_eq!(still_cancelled.as_deref(), Some("cancelled"));
        provider.verify().await;
    }

    /// A pass that meets a store error (here: recording a deletion's outcome fails) stops,
    /// and gives back every job it claimed and did not finish: they are due again at once,
    /// not when the lease ends.
    #[tokio::test]
    async fn a_store_error_in_a_pass_releases_what_it_claimed() {
        let provider = MockServer::start().await;
        Mock::given(method("DELETE"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&provider)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let (worker, conn_id) = worker_for(&provider, &dir).await;
        let (store, now) = (worker.store.clone(), worker.clock.now());
        store
            .write(move |db| {
                queue_deletions(db, &conn_id, &["RE-1", "RE-2", "RE-3"], now)?;
                db.batch(
                    "CREATE TRIGGER refuse_done BEFORE UPDATE OF done_at ON outbox
                     WHEN NEW.done_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'refused'); END",
                )
            })
            .await
            .unwrap();
        let failed = worker.tick().await;
        assert!(matches!(failed, Err(OutboxError::Store(_))), "{failed:?}");
        let due: Vec<i64> = store
            .read(|db| {
                db.query(
                    "SELECT next_attempt_at FROM outbox WHERE done_at IS NULL ORDER BY id",
                    args![],
                    |r| r.get(0),
                )
            })
            .await
            .unwrap();
        assert_eq!(
            due,
            vec![crate::store::millis(now); 3],
            "all three due again now"
        );
        // The next pass takes them at once (and fails alike, releasing them again).
        let again: Result<Vec<Job>, StoreError> = store
            .write(move |db| outbox::claim(db, now, now + time::Duration::minutes(5), 10))
            .await;
        assert_eq!(again.unwrap().len(), 3);
    }
}
