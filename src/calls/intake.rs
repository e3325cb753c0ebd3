//! A verified webhook's way into the store: its reported numbers normalized, its texts
//! checked, its digest taken, stored durably with everything it changes
//! ([`super::ingest_batch`]), and the effects applied once it is committed.

use super::{Calls, Effects};
use crate::domain::numbers;
use crate::store::ingest::{LOOKUP_METHOD, TIMEOUT_METHOD};
use crate::store::{Delivery, IngestOutcome, StoreError};
use crate::telemetry;
use bytes::Bytes;
use callgate_adapters::kit::{CallEvent, EventKind, ReplayKey};
use sha2::{Digest, Sha256};

/// A webhook the edge verified and parsed.
#[derive(Debug)]
pub struct Webhook {
    pub connection_id: String,
    pub provider: &'static str,
    pub method: String,
    /// The request target (path and query), as received.
    pub target: String,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub events: Vec<CallEvent>,
    /// The request's single-use value, for schemes that carry one.
    pub replay_key: Option<ReplayKey>,
}

/// A webhook stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Stored, with this many new events.
    Stored { new_events: usize },
    /// Every event was stored before (a provider's retry): kept as received, nothing else
    /// changed.
    Duplicate,
}

/// A webhook not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A value holds a NUL character, which no store keeps alike.
    #[error("a value of the webhook contains a NUL character")]
    NulCharacter,
    /// The request's single-use value was seen before on this connection with another
    /// request: nothing was stored.
    #[error("the request's single-use value was used before")]
    Replayed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Calls<'_> {
    /// Stores the webhook durably, with everything it changes, then applies the effects.
    /// Counts the outcome (`webhook_accepted`, `webhook_rejected`).
    pub async fn ingest(&self, webhook: Webhook) -> Result<Ingested, IngestError> {
        let provider = webhook.provider;
        // A lookup's answer or a time-out (the reconciler's) is not a webhook: not counted
        // as one.
        let counted = !matches!(webhook.method.as_str(), LOOKUP_METHOD | TIMEOUT_METHOD);
        let delivery = prepare(webhook).inspect_err(|_| {
            if counted {
                telemetry::webhook_rejected(provider, "nul_character");
            }
        })?;
        let events = delivery.events.len();
        let outcome = self
            .store
            .ingest(delivery, super::ingest_batch, self.clock.clone())
            .await?;
        match outcome {
            IngestOutcome::Duplicate => {
                if counted {
                    telemetry::webhook_accepted(provider, "duplicate", 0);
                }
                Ok(Ingested::Duplicate)
            }
            IngestOutcome::Replayed => {
                tracing::warn!(reason = "replayed", "webhook signature refused");
                telemetry::webhook_rejected(provider, "replayed");
                Err(IngestError::Replayed)
            }
            IngestOutcome::Stored {
                new_events,
                calls,
                outbox,
            } => {
                if counted {
                    telemetry::webhook_accepted(provider, "stored", new_events);
                }
                tracing::debug!(events, new_events, calls = calls.len(), "webhook stored");
                let effects = Effects {
                    wake_outbox: outbox,
                    calls,
                    hubs: Vec::new(),
                };
                effects.apply(self.events, self.outbox);
                Ok(Ingested::Stored { new_events })
            }
        }
    }
}

/// The delivery to store: the events' reported numbers in E.164 (the tenant lookups and
/// the directory agree on one form), every text checked for NUL, and the digest that tells
/// a provider's retry.
fn prepare(webhook: Webhook) -> Result<Delivery, IngestError> {
    let Webhook {
        connection_id,
        provider,
        method,
        target,
        content_type,
        body,
        mut events,
        replay_key,
    } = webhook;
    if !events.iter().all(nul_free) {
        return Err(IngestError::NulCharacter);
    }
    for e in &mut events {
        let party = &mut e.party;
        for n in [&mut party.from, &mut party.to, &mut party.forwarded_from]
            .into_iter()
            .flatten()
        {
            *n = numbers::normalize_reported(n);
        }
        if let EventKind::Unmapped { field, value } = &e.kind {
            tracing::info!(field, value, "unmapped provider value kept");
            telemetry::unmapped_event(provider, field);
        }
    }
    let mut digest = Sha256::new();
    digest.update(method.as_bytes());
    digest.update([0]);
    digest.update(target.as_bytes());
    digest.update([0]);
    digest.update(&body);
    Ok(Delivery {
        connection_id,
        provider,
        digest: digest.finalize().into(),
        method,
        target,
        content_type,
        body,
        events,
        replay_key,
    })
}

/// True when no text of the event holds a NUL character, which no store keeps alike.
fn nul_free(e: &CallEvent) -> bool {
    let (party, leg) = (&e.party, &e.leg);
    let mut texts = vec![e.dedupe_key.as_str(), e.provider_call_id.as_str()];
    texts.extend(
        [
            &party.from,
            &party.to,
            &party.caller_name,
            &party.forwarded_from,
            &leg.parent_call_id,
            &leg.session_id,
            &leg.agent_identity,
        ]
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
