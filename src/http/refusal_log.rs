//! The refusal log's edge: what the webhook path saw of a request it refused, and the write
//! that records it (`store::webhook_log`), off the answer's path. The provider gets its 4xx at
//! once, whatever becomes of the record: the write runs in its own task, a bounded number at a
//! time (under a flood, or while the store is down, records are dropped, never the answers).

use crate::error::AppError;
use crate::http::AppState;
use crate::store::webhook_log::{self, BODY_PREFIX, NewRefusal};
use axum::http::{HeaderMap, Method, header};
use tokio::sync::Semaphore;

/// Records being written at once, at most; past it a refusal is answered without its record.
static IN_FLIGHT: Semaphore = Semaphore::const_new(32);

/// Longest text kept of a value that came from the request (a path segment, a content type,
/// a parse error's sentence) or of the URL.
const MAX_TEXT: usize = 512;

/// Why a webhook was refused: its answer, and what the log keeps of the reason.
#[derive(Debug)]
pub struct Refusal {
    pub error: AppError,
    /// The stable code of the refusal.
    pub reason: &'static str,
    /// Which check failed, under that reason.
    pub check: Option<&'static str>,
    pub detail: Option<String>,
    pub skew_secs: Option<i64>,
}

impl Refusal {
    pub fn new(error: AppError, reason: &'static str) -> Self {
        Self {
            error,
            reason,
            check: None,
            detail: None,
            skew_secs: None,
        }
    }

    pub fn check(mut self, check: &'static str, detail: impl Into<String>) -> Self {
        self.check = Some(check);
        self.detail = Some(detail.into());
        self
    }
}

/// What the webhook path knows of a request, as it goes: never a header value but the
/// content type and length.
#[derive(Debug)]
pub struct Seen {
    pub provider: String,
    pub connection_id: Option<String>,
    pub method: String,
    pub url: String,
    pub content_type: Option<String>,
    pub body_size: i64,
    pub body_prefix: Vec<u8>,
}

impl Seen {
    /// What is known before the body is read: the body's size is its declared length.
    pub fn new(provider: &str, method: &Method, url: String, headers: &HeaderMap) -> Self {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        Self {
            provider: provider.to_owned(),
            connection_id: None,
            method: method.to_string(),
            url,
            content_type,
            body_size: declared,
            body_prefix: Vec::new(),
        }
    }

    /// The body was read whole.
    pub fn body(&mut self, body: &[u8]) {
        self.body_size = i64::try_from(body.len()).unwrap_or(i64::MAX);
        self.body_prefix = body[..body.len().min(BODY_PREFIX)].to_vec();
    }
}

/// Text from outside as the log keeps it: at most [`MAX_TEXT`] bytes, without NUL characters
/// (which PostgreSQL's text refuses).
fn kept(text: &str) -> String {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].replace('\0', "\u{fffd}")
}

/// The row a refusal becomes.
pub fn row(seen: Seen, r: &Refusal, at: time::OffsetDateTime) -> NewRefusal {
    NewRefusal {
        connection_id: seen.connection_id,
        provider: kept(&seen.provider),
        at,
        reason: r.reason.to_owned(),
        failed_check: r.check.map(str::to_owned),
        detail: r.detail.as_deref().map(kept),
        url: kept(&seen.url),
        skew_secs: r.skew_secs,
        method: kept(&seen.method),
        content_type: seen.content_type.as_deref().map(kept),
        body_size: seen.body_size,
        body_prefix: seen.body_prefix,
    }
}

/// Records the refusal in the background: the caller answers at once.
pub fn record(st: &AppState, seen: Seen, r: &Refusal) {
    let Ok(permit) = IN_FLIGHT.try_acquire() else {
        tracing::debug!(
            reason = r.reason,
            "refusal not recorded: too many being written"
        );
        return;
    };
    let row = row(seen, r, st.clock.now());
    let store = st.store.clone();
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(e) = store.write(move |db| webhook_log::record(db, &row)).await {
            tracing::warn!(error = %e, "a refused webhook could not be recorded");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_text_is_short_and_free_of_nul() {
        assert_eq!(kept("a\0b"), "a\u{fffd}b");
        let long = "é".repeat(400);
        let short = kept(&long);
        assert!(short.len() <= MAX_TEXT && short.chars().all(|c| c == 'é'));
    }

    #[test]
    fn the_body_keeps_only_its_first_bytes() {
        let mut seen = Seen::new("twilio", &Method::POST, "u".into(), &HeaderMap::new());
        assert_eq!(seen.body_size, 0);
        seen.body(&[b'x'; 1000]);
        assert_eq!(seen.body_size, 1000);
        assert_eq!(seen.body_prefix.len(), BODY_PREFIX);
    }
}
