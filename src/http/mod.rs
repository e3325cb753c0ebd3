//! The HTTP edge: routes, extractors, middleware. Handlers are thin: they check the caller,
//! decode input, call the store or the pure core, and encode the answer.

pub mod api;
pub mod auth;
pub(crate) mod console;
mod redact;
mod refusal_log;
mod webhooks;

use crate::config::Config;
use crate::connections::Connections;
use crate::error::{AppError, LoggedError, error_body};
use crate::store::Store;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use callgate_adapters::kit::Clock;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};

/// Everything a handler may use: one shared allocation, so that handing it to a request
/// costs one reference count.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// The call use cases, with the store, clock, event hub and outbox of this state.
    pub fn calls(&self) -> crate::calls::Calls<'_> {
        crate::calls::Calls {
            store: &self.store,
            clock: &self.clock,
            events: &self.events,
            outbox: &self.outbox_wake,
        }
    }

    /// Erasure of a person's number, likewise.
    pub fn privacy(&self) -> crate::privacy::Privacy<'_> {
        crate::privacy::Privacy {
            store: &self.store,
            clock: &self.clock,
            events: &self.events,
            outbox: &self.outbox_wake,
            connections: &self.connections,
        }
    }

    /// The feeds' use cases (chat threads, web bookings), likewise.
    pub fn feeds(&self) -> crate::feeds::Feeds<'_> {
        crate::feeds::Feeds {
            store: &self.store,
            clock: &self.clock,
            events: &self.events,
            outbox: &self.outbox_wake,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub store: Store,
    pub connections: Arc<Connections>,
    pub config: Arc<Config>,
    /// The public base URL providers call (no trailing slash).
    pub public_url: Arc<str>,
    pub clock: Arc<dyn Clock>,
    /// Wakes the outbox worker after a commit that may have queued work.
    pub outbox_wake: Arc<Notify>,
    /// The event hub of live subscribers (`GET /api/v1/events`).
    pub events: Arc<crate::events::EventHub>,
    /// Cancelled when the server stops: long-lived responses (event streams) end with it, so
    /// that a graceful stop does not wait for their clients.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(webhooks::routes())
        .merge(api::routes())
        .merge(console::routes())
        .fallback(|| async { AppError::not_found("route_not_found", "no such route") })
        // Innermost first: the timeout and the panic guard sit inside `json_errors`, so their
        // answers get a JSON body and are counted too.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        // A body that does not arrive whole in time ends in 408 (see `read_body`), before the
        // handler's own timeout.
        .layer(RequestBodyDeadlineLayer::new(
            state.config.server.body_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal("handler panicked".into()).into_response()
        }))
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// Makes every error response JSON (framework rejections included) but the console's HTML
/// pages, logs 5xx details once,
/// and records request metrics.
async fn json_errors(req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let started = Instant::now();
    let mut res = next.run(req).await;
    let status = res.status();
    crate::telemetry::http_request(route, status.as_u16(), started.elapsed().as_secs_f64());
    if let Some(LoggedError(detail)) = res.extensions().get::<LoggedError>() {
        tracing::error!(route, status = status.as_u16(), error = %detail, "request failed");
    }
    // JSON errors stay as they are, and so do the console's error pages (HTML).
    let is_json_or_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_json_or_page {
        let (code, message) = match status {
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "this route does not accept that method",
            ),
            StatusCode::NOT_FOUND => ("not_found", "no such resource"),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "payload_too_large",
                "the request body is larger than the limit",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "the content type is not accepted here",
            ),
            StatusCode::SERVICE_UNAVAILABLE => {
                ("unavailable", "the service is unavailable; retry later")
            }
            s if s.is_server_error() => ("internal", "internal error"),
            _ => ("bad_request", "the request is not valid"),
        };
        // Headers that belong to the answer stay: a 405's `Allow` (RFC 9110, section 15.5.6).
        let allow = res.headers().get(header::ALLOW).cloned();
        let detail = match res.into_body().collect().await {
            Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
            Err(_) => String::new(),
        };
        let message = if detail.is_empty() || status.is_server_error() {
            message.to_owned()
        } else {
            format!("{message}: {detail}")
        };
        res = (status, axum::Json(error_body(code, &message))).into_response();
        if let Some(allow) = allow {
            res.headers_mut().insert(header::ALLOW, allow);
        }
    }
    res
}

/// Reads a body up to `limit` bytes: 413 past it.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, AppError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(AppError::PayloadTooLarge),
        Err(e) if timed_out(e.as_ref()) => Err(AppError::RequestTimeout),
        Err(e) => Err(AppError::bad_request(
            "unreadable_body",
            format!("the body could not be read: {e}"),
        )),
    }
}

/// True when the error, or one it wraps, is the body deadline's.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// A JSON request body: 415 without a JSON content type, 413 past the limit, 400 when it
/// does not decode (with the decoder's reason, which never repeats a value: `redact`).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(AppError::UnsupportedMediaType(
                "send the body as application/json".into(),
            ));
        }
        let bytes = read_body(req.into_body(), state.config.body_limit).await?;
        if has_nul_escape(&bytes) {
            return Err(AppError::nul_character());
        }
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            // A syntax error's message is a position; a data error's may quote the value it
            // refuses, and any value may be a secret: told again without values.
            let reason = if e.is_data() {
                serde_json::from_slice(&bytes)
                    .ok()
                    .and_then(redact::reason::<T>)
                    .unwrap_or_else(|| "it does not match what this route takes".to_owned())
            } else {
                e.to_string()
            };
            AppError::bad_request(
                "malformed_json",
                format!("the JSON body is not valid: {reason}"),
            )
        })
    }
}

/// True when JSON text holds a NUL character: the only way to write one is the escape
/// `\u0000` (an escaped backslash before `u0000` is not one).
fn has_nul_escape(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(&b"0000"[..]) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// A JSON response with an explicit status.
pub fn json_status<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::has_nul_escape;

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not_mistaken_for_them() {
        assert!(has_nul_escape(br#"{"name": "a\u0000b"}"#));
        assert!(has_nul_escape(br#"["\\\u0000"]"#));
        assert!(!has_nul_escape(br#"{"name": "a\\u0000b"}"#));
        assert!(!has_nul_escape(br#"{"name": "\u0001", "x": "u0000"}"#));
        assert!(!has_nul_escape(br#"\"#));
    }
}
