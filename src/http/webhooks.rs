//! `POST /webhooks/{provider}/{connection_id}`: find the connection, verify and parse with
//! its adapter, hand the webhook to the ingest use case (`calls::Calls::ingest`), and answer
//! once it is stored durably. A refused webhook is answered at once and recorded in the
//! refusal log in the background (`refusal_log`).

use super::refusal_log::{self, Refusal, Seen};
use super::{AppState, read_body};
use crate::calls::{IngestError, Webhook};
use crate::connections::ReadyConnection;
use crate::error::AppError;
use crate::telemetry;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use callgate_adapters::kit::{
    Adapter, Generation, InboundRequest, ParseError, Parsed, Reply, VerifyError,
};
use tracing::Instrument;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(
        "/webhooks/{provider}/{connection_id}",
        post(receive).get(receive),
    )
}

fn unknown_connection() -> AppError {
    AppError::not_found(
        "unknown_connection",
        "no enabled connection with this id for this provider",
    )
}

async fn receive(
    State(st): State<AppState>,
    Path((provider, connection_id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let span = tracing::info_span!("webhook", provider = %provider, connection = %connection_id, call = tracing::field::Empty, dedupe_key = tracing::field::Empty);
    async move {
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let url = format!("{}{target}", st.public_url);
        let mut seen = Seen::new(&provider, &method, url, &headers);
        let request = Request {
            method,
            target,
            headers,
            body,
        };
        match handle(&st, &provider, &connection_id, request, &mut seen).await {
            Ok(answer) => Ok(answer),
            Err(Failure::Failed(e)) => Err(e),
            Err(Failure::Refused(refusal)) => {
                refusal_log::record(&st, seen, &refusal);
                Err(refusal.error)
            }
        }
    }
    .instrument(span)
    .await
}

/// The parts of a webhook request `handle` takes.
struct Request {
    method: Method,
    target: String,
    headers: HeaderMap,
    body: Body,
}

/// How a webhook failed: refused (a 4xx the refusal log records), or not taken for a reason
/// of callgate's own (the store: a 503 the provider retries).
enum Failure {
    Refused(Refusal),
    Failed(AppError),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

/// The webhook path, noting in `seen` what it learns for the refusal log.
async fn handle(
    st: &AppState,
    provider: &str,
    connection_id: &str,
    request: Request,
    seen: &mut Seen,
) -> Result<Response, Failure> {
    let (adapter, connection) = connection_for(st, provider, connection_id, seen).await?;
    let provider = adapter.info().id;
    let body = read_body(request.body, st.config.body_limit)
        .await
        .map_err(|e| {
            telemetry::webhook_rejected(provider, "body");
            let reason = match e {
                AppError::PayloadTooLarge => "body_too_large",
                AppError::RequestTimeout => "body_timeout",
                _ => "unreadable_body",
            };
            Refusal::new(e, reason)
        })?;
    seen.body(&body);
    let req = InboundRequest {
        method: request.method.clone(),
        public_url: seen.url.clone(),
        headers: request.headers,
        body,
    };
    let (parsed, replay_key) = verify_and_parse(st, adapter, &connection, &req)?;
    if let Some(first) = parsed.events.first() {
        let span = tracing::Span::current();
        span.record("call", first.provider_call_id.as_str());
        span.record("dedupe_key", first.dedupe_key.as_str());
    }
    let webhook = Webhook {
        connection_id: connection.id.clone(),
        provider,
        method: request.method.to_string(),
        target: request.target,
        content_type: req.content_type(),
        body: req.body,
        events: parsed.events,
        replay_key,
    };
    st.calls().ingest(webhook).await.map_err(|e| match e {
        IngestError::NulCharacter => Failure::Refused(
            Refusal::new(
                AppError::bad_request("malformed_webhook", e.to_string()),
                "malformed_webhook",
            )
            .check("nul_character", e.to_string()),
        ),
        IngestError::Replayed => {
            Failure::Refused(Refusal::new(AppError::InvalidSignature, "replayed").check(
                "replay",
                "a request with this single-use value was already accepted on this connection",
            ))
        }
        IngestError::Store(e) => Failure::Failed(e.into()),
    })?;
    Ok(match parsed.reply {
        Reply::NoContent => StatusCode::NO_CONTENT.into_response(),
        Reply::Empty => StatusCode::OK.into_response(),
        Reply::Markup { content_type, body } => {
            (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
    })
}

/// The provider's adapter and the enabled connection of that provider the path names (404
/// otherwise).
async fn connection_for(
    st: &AppState,
    provider: &str,
    connection_id: &str,
    seen: &mut Seen,
) -> Result<(&'static dyn Adapter, std::sync::Arc<ReadyConnection>), Failure> {
    let Some(adapter) = callgate_adapters::by_id(provider) else {
        telemetry::webhook_rejected("unknown", "unknown_provider");
        let e = AppError::not_found(
            "unknown_provider",
            format!("no provider adapter {provider:?}"),
        );
        return Err(Refusal::new(e, "unknown_provider").into());
    };
    let provider = adapter.info().id;
    // An id that cannot have been minted is unknown without any lookup or cache entry:
    // the same 404 as any unknown connection (the contract's answer), counted apart.
    if !crate::connections::is_connection_id(connection_id) {
        telemetry::webhook_rejected(provider, "invalid_connection_id");
        let e = AppError::not_found(
            "unknown_connection",
            "no connection has this id: a connection id is conn_ followed by 32 lowercase hexadecimal digits, as in the connection's webhook_url",
        );
        return Err(Refusal::new(e, "unknown_connection")
            .check(
                "connection_id",
                "the path's connection id is not one callgate mints",
            )
            .into());
    }
    match st.connections.ready(connection_id, st.clock.now()).await? {
        Some(connection) if connection.enabled && connection.adapter.info().id == provider => {
            seen.connection_id = Some(connection.id.clone());
            Ok((adapter, connection))
        }
        Some(connection) => {
            telemetry::webhook_rejected(provider, "unknown_connection");
            seen.connection_id = Some(connection.id.clone());
            let theirs = connection.adapter.info().id;
            let refusal = if connection.enabled {
                Refusal::new(unknown_connection(), "unknown_connection").check(
                    "provider",
                    format!("the connection is {theirs}'s, not {provider}'s"),
                )
            } else {
                Refusal::new(unknown_connection(), "connection_disabled")
            };
            Err(refusal.into())
        }
        None => {
            telemetry::webhook_rejected(provider, "unknown_connection");
            Err(Refusal::new(unknown_connection(), "unknown_connection").into())
        }
    }
}

/// The request verified against the connection's secrets (401) and parsed (400, 415), with
/// its single-use value, if its scheme carries one.
fn verify_and_parse(
    st: &AppState,
    adapter: &'static dyn Adapter,
    connection: &ReadyConnection,
    req: &InboundRequest,
) -> Result<(Parsed, Option<callgate_adapters::kit::ReplayKey>), Refusal> {
    let provider = adapter.info().id;
    let verified = adapter
        .verify(req, &connection.secrets, st.clock.as_ref())
        .map_err(|e| {
            tracing::warn!(reason = e.reason(), detail = %e, "webhook signature refused");
            telemetry::webhook_rejected(provider, e.reason());
            let mut refusal = Refusal::new(AppError::InvalidSignature, "invalid_signature")
                .check(e.reason(), e.to_string());
            if let VerifyError::Stale { skew_secs } = e {
                refusal.skew_secs = Some(skew_secs);
            }
            refusal
        })?;
    if verified.generation() == Generation::Previous {
        telemetry::previous_secret_used(provider);
    }
    let replay_key = verified.replay_key().cloned();
    let parsed = adapter.parse(&verified).map_err(|e| {
        tracing::warn!(reason = e.reason(), detail = %e, "webhook body refused");
        telemetry::webhook_rejected(provider, e.reason());
        let (check, detail) = (e.reason(), e.to_string());
        match e {
            ParseError::UnsupportedContentType(ct) => Refusal::new(
                AppError::UnsupportedMediaType(format!(
                    "{provider} webhooks do not accept content type {ct:?}"
                )),
                "unsupported_content_type",
            ),
            other => Refusal::new(
                AppError::bad_request("malformed_webhook", other.to_string()),
                "malformed_webhook",
            ),
        }
        .check(check, detail)
    })?;
    Ok((parsed, replay_key))
}
