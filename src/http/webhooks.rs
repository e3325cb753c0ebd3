//! `POST /webhooks/{provider}/{connection_id}`: verify, parse, store durably, acknowledge.

use super::{AppState, read_body};
use crate::domain::numbers;
use crate::error::AppError;
use crate::store::{Delivery, IngestOutcome};
use crate::telemetry;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use callgate_adapters::kit::{CallEvent, EventKind, Generation, InboundRequest, ParseError, Reply};
use sha2::{Digest, Sha256};
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
        let Some(adapter) = callgate_adapters::by_id(&provider) else {
            telemetry::webhook_rejected("unknown", "unknown_provider");
            return Err(AppError::not_found(
                "unknown_provider",
                format!("no provider adapter {provider:?}"),
            ));
        };
        let provider = adapter.info().id;
        // An id that cannot have been minted is unknown without any lookup or cache entry:
        // the same 404 as any unknown connection (the contract's answer), counted apart.
        if !crate::connections::is_connection_id(&connection_id) {
            telemetry::webhook_rejected(provider, "invalid_connection_id");
            return Err(AppError::not_found(
                "unknown_connection",
                "no connection has this id: a connection id is conn_ followed by 32 lowercase hexadecimal digits, as in the connection's webhook_url",
            ));
        }
        let now = st.clock.now();
        let live = match st.connections.live(&connection_id, now).await? {
            Some(live) if live.enabled && live.adapter.info().id == provider => live,
            _ => {
                telemetry::webhook_rejected(provider, "unknown_connection");
                return Err(unknown_connection());
            }
        };
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

        let verified = adapter
            .verify(&req, &live.secrets, st.clock.as_ref())
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
        if !parsed.events.iter().all(nul_free) {
            telemetry::webhook_rejected(provider, "nul_character");
            return Err(AppError::bad_request(
                "malformed_webhook",
                "a value of the webhook contains a NUL character",
            ));
        }
        if let Some(first) = parsed.events.first() {
            let span = tracing::Span::current();
            span.record("call", first.provider_call_id.as_str());
            span.record("dedupe_key", first.dedupe_key.as_str());
        }
        let mut parsed = parsed;
        for e in &mut parsed.events {
            for n in [&mut e.party.from, &mut e.party.to].into_iter().flatten() {
                *n = numbers::normalize_reported(n);
            }
            if let EventKind::Unmapped { field, value } = &e.kind {
                tracing::info!(field, value, "unmapped provider value kept");
                telemetry::unmapped_event(provider, field);
            }
        }

        let mut digest = Sha256::new();
        digest.update(method.as_str().as_bytes());
        digest.update([0]);
        digest.update(target.as_bytes());
        digest.update([0]);
        digest.update(&req.body);
        let delivery = Delivery {
            connection_id: live.id.clone(),
            provider,
            digest: digest.finalize().into(),
            method: method.to_string(),
            target,
            content_type: req.content_type(),
            events: parsed.events,
            body: req.body.clone(),
            replay_key,
        };
        let events = delivery.events.len();
        match st.store.ingest(delivery, st.clock.clone()).await? {
            IngestOutcome::Duplicate => telemetry::webhook_accepted(provider, "duplicate", 0),
            IngestOutcome::Replayed => {
                tracing::warn!(reason = "replayed", "webhook signature refused");
                telemetry::webhook_rejected(provider, "replayed");
                return Err(AppError::InvalidSignature);
            }
            IngestOutcome::Stored {
                new_events,
                calls,
                outbox,
            } => {
                telemetry::webhook_accepted(provider, "stored", new_events);
                tracing::debug!(events, new_events, calls = calls.len(), "webhook stored");
                if outbox {
                    st.outbox_wake.notify_one();
                }
                for changed in calls {
                    st.live
                        .publish_call(changed.call, changed.recording_decided);
                }
            }
        }
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

/// True when no text of the event holds a NUL character, which no store keeps alike.
fn nul_free(e: &CallEvent) -> bool {
    let party = &e.party;
    let mut texts = vec![e.dedupe_key.as_str(), e.provider_call_id.as_str()];
    texts.extend(
        [&party.from, &party.to, &party.caller_name]
            .into_iter()
            .flatten()
            .map(String::as_str),
    );
    match &e.kind {
        EventKind::Recording(r) => {
            texts.push(&r.recording_id);
            texts.extend(r.url.as_deref());
        }
        EventKind::Unmapped { field, value } => texts.extend([field.as_str(), value.as_str()]),
        EventKind::Call { .. } => {}
    }
    texts.iter().all(|t| !t.contains('\0'))
}
