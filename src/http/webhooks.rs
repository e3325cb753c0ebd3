//! `POST /webhooks/{provider}/{connection_id}`: find the connection, verify and parse with
//! its adapter, hand the webhook to the ingest use case (`calls::Calls::ingest`), and answer
//! once it is stored durably.

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
use callgate_adapters::kit::{Adapter, Generation, InboundRequest, ParseError, Parsed, Reply};
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
        let (adapter, connection) = connection_for(&st, &provider, &connection_id).await?;
        let provider = adapter.info().id;
        let body = read_body(body, st.config.body_limit)
            .await
            .inspect_err(|_| telemetry::webhook_rejected(provider, "body"))?;
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let req = InboundRequest {
            method: method.clone(),
            public_url: format!("{}{target}", st.public_url),
            headers,
            body,
        };
        let (parsed, replay_key) = verify_and_parse(&st, adapter, &connection, &req)?;
        if let Some(first) = parsed.events.first() {
            let span = tracing::Span::current();
            span.record("call", first.provider_call_id.as_str());
            span.record("dedupe_key", first.dedupe_key.as_str());
        }
        let webhook = Webhook {
            connection_id: connection.id.clone(),
            provider,
            method: method.to_string(),
            target,
            content_type: req.content_type(),
            body: req.body,
            events: parsed.events,
            replay_key,
        };
        st.calls().ingest(webhook).await.map_err(|e| match e {
            IngestError::NulCharacter => AppError::bad_request("malformed_webhook", e.to_string()),
            IngestError::Replayed => AppError::InvalidSignature,
            IngestError::Store(e) => e.into(),
        })?;
        Ok(match parsed.reply {
            Reply::NoContent => StatusCode::NO_CONTENT.into_response(),
            Reply::Empty => StatusCode::OK.into_response(),
            Reply::Markup { content_type, body } => {
                (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
            }
        })
    }
    .instrument(span)
    .await
}

/// The provider's adapter and the enabled connection of that provider the path names (404
/// otherwise).
async fn connection_for(
    st: &AppState,
    provider: &str,
    connection_id: &str,
) -> Result<(&'static dyn Adapter, std::sync::Arc<ReadyConnection>), AppError> {
    let Some(adapter) = callgate_adapters::by_id(provider) else {
        telemetry::webhook_rejected("unknown", "unknown_provider");
        return Err(AppError::not_found(
            "unknown_provider",
            format!("no provider adapter {provider:?}"),
        ));
    };
    let provider = adapter.info().id;
    // An id that cannot have been minted is unknown without any lookup or cache entry:
    // the same 404 as any unknown connection (the contract's answer), counted apart.
    if !crate::connections::is_connection_id(connection_id) {
        telemetry::webhook_rejected(provider, "invalid_connection_id");
        return Err(AppError::not_found(
            "unknown_connection",
            "no connection has this id: a connection id is conn_ followed by 32 lowercase hexadecimal digits, as in the connection's webhook_url",
        ));
    }
    match st.connections.ready(connection_id, st.clock.now()).await? {
        Some(connection) if connection.enabled && connection.adapter.info().id == provider => {
            Ok((adapter, connection))
        }
        _ => {
            telemetry::webhook_rejected(provider, "unknown_connection");
            Err(unknown_connection())
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
) -> Result<(Parsed, Option<callgate_adapters::kit::ReplayKey>), AppError> {
    let provider = adapter.info().id;
    let verified = adapter
        .verify(req, &connection.secrets, st.clock.as_ref())
        .map_err(|e| {
            tracing::warn!(reason = e.reason(), detail = %e, "webhook signature refused");
            telemetry::webhook_rejected(provider, e.reason());
            AppError::InvalidSignature
        })?;
    if verified.generation() == Generation::Previous {
        telemetry::previous_secret_used(provider);
    }
    let replay_key = verified.replay_key().cloned();
    let parsed = adapter.parse(&verified).map_err(|e| {
        tracing::warn!(reason = e.reason(), detail = %e, "webhook body refused");
        telemetry::webhook_rejected(provider, e.reason());
        match e {
            ParseError::UnsupportedContentType(ct) => AppError::UnsupportedMediaType(format!(
                "{provider} webhooks do not accept content type {ct:?}"
            )),
            other => AppError::bad_request("malformed_webhook", other.to_string()),
        }
    })?;
    Ok((parsed, replay_key))
}
