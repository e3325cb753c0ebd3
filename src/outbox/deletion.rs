//! Deleting a discarded recording at the provider. The adapter describes the request; the
//! worker sends it, with a timeout, and retries until the provider answers 2xx (deleted) or
//! 404 (already gone). A recording reported without the provider's id (the adapter gave it a
//! stand-in) is first looked up: the adapter describes the lookup (`find_recording`) and
//! reads its answer (`found_recording`), which names the recording to delete. When the
//! provider has no delete API (`delete_recording` is `Ok(None)`), the job closes at once with
//! the audit action `recording.deletion_not_supported`, never a deletion confirmation.

use super::{AttemptError, Worker};
use crate::store::StoreError;
use crate::store::outbox::{self, Job};
use callgate_adapters::kit::{HttpRequestSpec, RecordingRef};
use time::OffsetDateTime;

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

impl Worker {
    /// One attempt at a deletion job, and its record: confirmed, closed as not supported, or
    /// due again after the backoff.
    pub(super) async fn attempt(&self, job: Job) -> Result<(), StoreError> {
        // Called off since it was claimed (the call's recording is no longer discarded):
        // nothing to send. A deletion already under way cannot be called back; it is
        // confirmed as it happened.
        let id = job.id;
        if !self.store.read(move |db| outbox::pending(db, id)).await? {
            return Ok(());
        }
        let outcome = self.send(&job).await;
        let now = self.clock.now();
        let (action, detail) = match outcome {
            Ok(Done::Deleted { status, found }) => {
                crate::telemetry::outbox_attempt("delete_recording", "done");
                tracing::info!(call = %job.call_id, recording = %job.recording_id, found = found.as_deref(), status, "recording deleted at the provider");
                let mut detail =
                    serde_json::json!({ "recording_id": job.recording_id, "status": status });
                if let Some(found) = found {
                    detail["provider_recording_id"] = found.into();
                }
                ("recording.deletion_confirmed", detail)
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
                ("recording.deletion_confirmed", detail)
            }
            Ok(Done::NotSupported) => {
                crate::telemetry::outbox_attempt("delete_recording", "not_supported");
                tracing::info!(call = %job.call_id, recording = %job.recording_id, "the provider has no API to delete recordings; the recording stays discarded");
                let detail = serde_json::json!({
                    "recording_id": job.recording_id,
                    "reason": "the provider has no API to delete recordings: the recording is discarded, never fetched or exposed, and stays at the provider until its retention ends",
                });
                ("recording.deletion_not_supported", detail)
            }
            Err(error) => {
                crate::telemetry::outbox_attempt("delete_recording", "retry");
                let next = now
                    + time::Duration::try_from(self.backoff(job.backoff_attempts()))
                        .unwrap_or(time::Duration::HOUR);
                tracing::warn!(call = %job.call_id, recording = %job.recording_id, attempt = job.attempts + 1, error = %error, "recording deletion failed; will retry");
                let error = error.to_string();
                return self
                    .store
                    .write(move |db| outbox::retry(db, &job, &error, next, now))
                    .await;
            }
        };
        self.store
            .write(move |db| outbox::complete(db, &job, action, &detail, now))
            .await
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
    pub(crate) async fn exchange(
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
pub(super) const ANSWER_LIMIT: usize = 1 << 20;

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
