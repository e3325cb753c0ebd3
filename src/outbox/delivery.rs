//! Delivering an outbound webhook. Each delivery is signed as Standard Webhooks prescribes
//! (`webhook-id`, the same on every attempt; `webhook-timestamp`; `webhook-signature` `v1,`
//! HMAC-SHA256 under the subscription's `whsec_` secret), sent through the SSRF guard
//! (`egress`), and retried with backoff and jitter until a 2xx, or later when the receiver's
//! `Retry-After` asks; a 410 Gone disables the subscription at once, and so does failing for
//! too long.

use super::{AttemptError, Worker};
use crate::store::StoreError;
use crate::store::subscriptions::{self, Due};
use std::time::Duration;
use time::OffsetDateTime;

impl Worker {
    /// One attempt of an outbound webhook, and its record.
    pub(super) async fn deliver(&self, due: Due) -> Result<(), StoreError> {
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
                    .write(move |db| subscriptions::delivered(db, &due, status, done))
                    .await
            }
            // 410 Gone: the receiver wants no more (Standard Webhooks: disable the endpoint).
            Ok(answer) if answer.status == 410 => {
                crate::telemetry::outbox_attempt("webhook", "gone");
                tracing::warn!(subscription = %due.subscription_id, delivery = %due.id, "the endpoint answered 410 Gone; the subscription is disabled");
                self.store
                    .write(move |db| subscriptions::gone(db, &due, 410, done))
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
                    .write(move |db| {
                        subscriptions::failed(db, &due, status, &error, next, disable_after, done)
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
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
