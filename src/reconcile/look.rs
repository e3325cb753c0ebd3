//! One look at a watched call: ask the provider (through the adapter's described request),
//! fold the answer in through the ingest path, and decide when to look again.

use super::Reconciler;
use crate::calls::{IngestError, Webhook};
use crate::domain::TenantStatus;
use crate::domain::call::EndedBy;
use crate::store::StoreError;
use crate::store::calls::{self as rows, CallRow};
use crate::store::ingest::{LOOKUP_METHOD, TIMEOUT_METHOD};
use crate::store::reconcile::{self as schedule, Due, Next};
use crate::telemetry;
use callgate_adapters::kit::{
    CallEvent, CallProgress, EventKind, Fresh, Leg, Party, RecordingProgress,
};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// How many times the recordings of a call that ended without a tenant are listed: at once,
/// and once more `CALLGATE_RECONCILE_AFTER_SECS` later (a recording still processing at the
/// first listing is complete by the second).
const LISTINGS: i64 = 2;

/// How long after a call's end a recording still processing keeps it listed.
const KEEP_LISTING_FOR: time::Duration = time::Duration::DAY;

/// An audit entry about the call: its action and detail.
type Audit = Option<(&'static str, serde_json::Value)>;

/// What the provider was asked about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Question {
    Call,
    Recordings,
}

impl Question {
    fn label(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Recordings => "recordings",
        }
    }
}

/// What asking gave.
#[derive(Debug)]
enum Asked {
    /// No request could be made: the provider has no such API, the connection lacks a
    /// secret or an option, or is gone, or the call's events gave no handle to look it up
    /// by. The reason never holds a secret.
    Cannot(String),
    /// The provider answered 404, or what its adapter reads as the same
    /// (`Adapter::call_unknown`): it does not know the call (any more).
    NotFound,
    /// No usable answer (transport, any other status than those, an answer not in the
    /// documented shape): asked again after the backoff.
    Failed(String),
    /// The answer, and the events the adapter read from it.
    Answered {
        provider: &'static str,
        body: Vec<u8>,
        events: Vec<CallEvent>,
    },
}

fn again(at: OffsetDateTime, attempts: i64, listings: i64, error: Option<String>) -> Next {
    Next::Again {
        at,
        attempts,
        listings,
        error,
    }
}

impl Reconciler {
    /// Looks at the watched call `d` once and records what comes next.
    pub(super) async fn look(&self, d: Due) -> Result<(), StoreError> {
        let id = d.id.clone();
        let call = self.worker.store.read(move |db| rows::get(db, &id)).await?;
        let (next, audit) = match call {
            None => (Next::Done, None),
            Some(call) if !call.fold.has_ended() => self.unended(&d, &call).await?,
            Some(call) => (self.ended(&d, &call).await?, None),
        };
        let now = self.worker.clock.now();
        self.worker
            .store
            .write(move |db| {
                let entry = audit.as_ref().map(|(action, detail)| (*action, detail));
                schedule::record(db, &d.id, &next, entry, now)
            })
            .await
    }

    /// A call with no end: looked up once it has been quiet long enough; ended as timed out
    /// past the maximum duration when the provider cannot or will not answer for it.
    async fn unended(&self, d: &Due, call: &CallRow) -> Result<(Next, Audit), StoreError> {
        let now = self.worker.clock.now();
        let deadline = call.created_at + self.max_call();
        let quiet_until = call.updated_at + self.after();
        if quiet_until > now && deadline > now {
            return Ok((again(quiet_until.min(deadline), 0, d.listings, None), None));
        }
        let (provider, body, events) = match self.ask(call, Question::Call).await {
            Asked::Answered {
                provider,
                body,
                events,
            } => (provider, body, events),
            Asked::Cannot(why) if now >= deadline => return self.time_out(d, call, &why).await,
            Asked::Cannot(_) => return Ok((again(deadline, 0, d.listings, None), None)),
            Asked::NotFound if now >= deadline => {
                return self
                    .time_out(d, call, "the provider does not know the call")
                    .await;
            }
            Asked::NotFound => {
                let at = (now + self.after()).min(deadline);
                return Ok((again(at, 0, d.listings, None), None));
            }
            Asked::Failed(e) => {
                let at = self.retry_at(d, now);
                return Ok((again(at, d.attempts + 1, d.listings, Some(e)), None));
            }
        };
        if let Err(e) = self
            .ingest(call, provider, LOOKUP_METHOD, body, events)
            .await?
        {
            let at = self.retry_at(d, now);
            return Ok((again(at, d.attempts + 1, d.listings, Some(e)), None));
        }
        let id = call.id.clone();
        let after = self.worker.store.read(move |db| rows::get(db, &id)).await?;
        let Some(after) = after.filter(|c| c.fold.has_ended()) else {
            // Still in progress, as the provider says: only the next lookup moves.
            telemetry::reconcile_lookup("call", "in_progress");
            return Ok((again(now + self.after(), 0, d.listings, None), None));
        };
        telemetry::reconcile_lookup("call", "ended");
        let mut audit = None;
        if after.fold.ended_by() == Some(EndedBy::Reconciled) {
            telemetry::call_reconciled();
            tracing::info!(call = %call.id, "a lookup at the provider ended a call whose end webhook never came");
            let state = after.fold.progress.map(crate::domain::call::state_name);
            audit = Some((
                "call.reconciled",
                serde_json::json!({ "state": state, "ended_by": "reconciled" }),
            ));
        }
        // Its recordings are listed next, if it ended without a tenant.
        Ok((again(now, 0, d.listings, None), audit))
    }

    /// Ends the call as timed out, through the ingest path: a delivery of callgate's own,
    /// whose end counts as `timed_out`.
    async fn time_out(
        &self,
        d: &Due,
        call: &CallRow,
        why: &str,
    ) -> Result<(Next, Audit), StoreError> {
        let now = self.worker.clock.now();
        let event = CallEvent {
            dedupe_key: format!("{}:timed_out", call.provider_call_id),
            provider_call_id: call.provider_call_id.clone(),
            occurred_at: None,
            party: Party::default(),
            kind: EventKind::Call {
                progress: CallProgress::Failed,
            },
            leg: Leg::default(),
        };
        let max_call_secs = self.config.max_call.as_secs();
        let detail = serde_json::json!({ "reason": why, "max_call_secs": max_call_secs });
        let provider = callgate_adapters::by_id(&call.provider).map_or("unknown", |a| a.info().id);
        let body = detail.to_string().into_bytes();
        if let Err(e) = self
            .ingest(call, provider, TIMEOUT_METHOD, body, vec![event])
            .await?
        {
            let at = self.retry_at(d, now);
            return Ok((again(at, d.attempts + 1, d.listings, Some(e)), None));
        }
        telemetry::call_timed_out();
        tracing::warn!(call = %call.id, reason = why, max_call_secs, "a call past the maximum call duration was ended as timed out");
        Ok((
            again(now, 0, d.listings, None),
            Some(("call.timed_out", detail)),
        ))
    }

    /// An ended call: its recordings are listed when it ended without a tenant, twice, and
    /// each one found is folded in (the gate discards it, the outbox deletes it).
    async fn ended(&self, d: &Due, call: &CallRow) -> Result<Next, StoreError> {
        if call.tenant().status != TenantStatus::Unresolved || d.listings >= LISTINGS {
            return Ok(Next::Done);
        }
        let now = self.worker.clock.now();
        let events = match self.ask(call, Question::Recordings).await {
            Asked::Cannot(_) => return Ok(Next::Done),
            Asked::NotFound => Vec::new(),
            Asked::Failed(e) => {
                let at = self.retry_at(d, now);
                return Ok(again(at, d.attempts + 1, d.listings, Some(e)));
            }
            Asked::Answered {
                provider,
                body,
                events,
            } => {
                let unheard = unheard_of(call, &events);
                if unheard > 0 {
                    telemetry::recordings_found_by_listing(unheard);
                    tracing::warn!(call = %call.id, recordings = unheard, "listing found recordings of an unresolved call whose webhooks never came; they are discarded and deleted");
                }
                if !events.is_empty()
                    && let Err(e) = self
                        .ingest(call, provider, LOOKUP_METHOD, body, events.clone())
                        .await?
                {
                    let at = self.retry_at(d, now);
                    return Ok(again(at, d.attempts + 1, d.listings, Some(e)));
                }
                events
            }
        };
        telemetry::reconcile_lookup("recordings", "listed");
        tracing::debug!(call = %call.id, listed = events.len(), "recordings listed");
        let listings = d.listings + 1;
        if listings < LISTINGS {
            return Ok(again(now + self.after(), 0, listings, None));
        }
        // A recording still processing is deleted once complete: listed again until it is,
        // for a day after the call ended.
        let processing = events.iter().any(|e| {
            matches!(&e.kind, EventKind::Recording(r) if r.status == RecordingProgress::InProgress)
        });
        let ended_at = call.fold.end_recorded_at.unwrap_or(call.updated_at);
        if processing && now - ended_at < KEEP_LISTING_FOR {
            return Ok(again(now + self.after(), 0, LISTINGS - 1, None));
        }
        if processing {
            tracing::warn!(call = %call.id, "a recording of an unresolved call was still processing a day after the call ended; no longer listed");
        }
        Ok(Next::Done)
    }

    /// Asks the provider about the call: the adapter describes the request, the outbox's
    /// client sends it through the egress guard, the adapter reads a 2xx answer.
    async fn ask(&self, call: &CallRow, question: Question) -> Asked {
        let label = question.label();
        let asked = self.ask_once(call, question).await;
        match &asked {
            Asked::Cannot(why) => {
                telemetry::reconcile_lookup(label, "not_supported");
                tracing::debug!(call = %call.id, question = label, reason = %why, "the provider cannot be asked");
            }
            Asked::NotFound if question == Question::Call => {
                telemetry::reconcile_lookup(label, "not_found");
            }
            Asked::Failed(e) => {
                telemetry::reconcile_lookup(label, "failed");
                tracing::warn!(call = %call.id, question = label, error = %e, "asking the provider failed; will retry");
            }
            _ => {}
        }
        asked
    }

    async fn ask_once(&self, call: &CallRow, question: Question) -> Asked {
        let now = self.worker.clock.now();
        let live = match self
            .worker
            .connections
            .load_by_id(&call.connection_id, now)
            .await
        {
            Ok(Some(live)) => live,
            Ok(None) => return Asked::Cannot("the connection no longer exists".to_owned()),
            Err(e) => return Asked::Failed(format!("connection: {e}")),
        };
        let (adapter, pcid) = (live.adapter, call.provider_call_id.as_str());
        // A call is asked about by its customer's leg, and the handle that leg's events gave.
        let target = call.fold.lookup_target(pcid);
        let mut nonce = [0; 16];
        rand::fill(&mut nonce);
        let fresh = Fresh { now, nonce };
        let (secrets, options) = (&live.secrets, &live.options);
        let described = match question {
            Question::Call => adapter.lookup_call(&target, secrets, options, &fresh),
            Question::Recordings => adapter.list_recordings(pcid, secrets, options, &fresh),
        };
        let spec = match described {
            Ok(Some(spec)) => spec,
            Ok(None) => return Asked::Cannot("the provider has no such API".to_owned()),
            Err(e) => return Asked::Cannot(e.to_string()),
        };
        let (status, body) = match self.worker.exchange(spec, true).await {
            Ok(answer) => answer,
            Err(e) => return Asked::Failed(e.to_string()),
        };
        let unknown = match question {
            Question::Call => adapter.call_unknown(status.as_u16(), &body),
            Question::Recordings => status == reqwest::StatusCode::NOT_FOUND,
        };
        if unknown {
            return Asked::NotFound;
        }
        if !status.is_success() {
            return Asked::Failed(format!("provider answered {status}"));
        }
        let read = match question {
            Question::Call => adapter.looked_up_call(&target, &body),
            Question::Recordings => adapter.listed_recordings(pcid, &body),
        };
        match read {
            Ok(events) => Asked::Answered {
                provider: adapter.info().id,
                body,
                events,
            },
            Err(e) => Asked::Failed(e),
        }
    }

    /// Stores what the provider answered (or callgate's own time-out) as a delivery of the
    /// call's connection, through the webhooks' ingest path. `Ok(Err(reason))` when it was
    /// refused as input (a NUL character); a store error stops the pass.
    async fn ingest(
        &self,
        call: &CallRow,
        provider: &'static str,
        method: &str,
        body: Vec<u8>,
        events: Vec<CallEvent>,
    ) -> Result<Result<(), String>, StoreError> {
        let what = if method == TIMEOUT_METHOD {
            "timeout"
        } else {
            "lookup"
        };
        let delivery = Webhook {
            connection_id: call.connection_id.clone(),
            provider,
            method: method.to_owned(),
            target: format!("/reconcile/{}/{what}", call.id),
            content_type: Some("application/json".to_owned()),
            body: body.into(),
            events,
            replay_key: None,
        };
        match self.calls().ingest(delivery).await {
            Ok(_) => Ok(Ok(())),
            Err(IngestError::Store(e)) => Err(e),
            Err(e) => Ok(Err(e.to_string())),
        }
    }
}

/// How many recordings the listing names that the call had not heard of.
fn unheard_of(call: &CallRow, events: &[CallEvent]) -> usize {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Recording(r) if !call.fold.recordings.contains_key(&r.recording_id) => {
                Some(r.recording_id.as_str())
            }
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .len()
}
