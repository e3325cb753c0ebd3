//! The ingest transaction: delivery, events (deduplicated), call state, gate decisions and
//! outbox rows — all or nothing, inside the writer's batch.

use super::calls::{self, CallRow};
use super::db::{Db, args};
use super::millis;
use crate::domain::RecordingStatus;
use crate::domain::call::state_name;
use crate::error::AppError;
use bytes::Bytes;
use callgate_adapters::kit::{CallEvent, EventKind, ReplayKey};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A verified, parsed webhook ready to be stored.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub connection_id: String,
    pub provider: &'static str,
    /// SHA-256 of the method, request target and body: a retried webhook has the same.
    pub digest: [u8; 32],
    pub method: String,
    pub target: String,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub events: Vec<CallEvent>,
    /// The request's single-use value, for schemes that carry one.
    pub replay_key: Option<ReplayKey>,
}

/// A call as an ingest left it.
#[derive(Debug, Clone)]
pub struct ChangedCall {
    pub call: CallRow,
    /// The recording decision changed (to gated, saved or discarded).
    pub recording_decided: bool,
}

/// What storing a delivery did.
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// Stored; `calls` are the calls it changed, as stored; `outbox` says whether it queued
    /// work for the outbox worker.
    Stored {
        new_events: usize,
        calls: Vec<ChangedCall>,
        outbox: bool,
    },
    /// Every event of the delivery was stored before (a provider's retry): the delivery is
    /// kept as received, nothing else changed.
    Duplicate,
    /// The request's single-use value was seen before on this connection: nothing was
    /// stored, and the request is refused as a replay.
    Replayed,
}

/// `now` is read on the writer thread when the job runs, so recorded times follow the order
/// of commits (an agent's selection and a call's end compare as they were stored).
pub(super) fn ingest(
    db: &Db<'_>,
    d: &Delivery,
    now: OffsetDateTime,
) -> Result<IngestOutcome, AppError> {
    // First, so that a replay leaves nothing behind (the job has no savepoint).
    if let Some(replay) = &d.replay_key
        && !claim_replay_key(db, &d.connection_id, replay, now)?
    {
        return Ok(IngestOutcome::Replayed);
    }
    let delivery_id = db
        .insert_id(
        "INSERT INTO deliveries (connection_id, digest, received_at, method, target, content_type, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![
            d.connection_id,
            d.digest,
            millis(now),
            d.method,
            d.target,
            d.content_type,
            d.body.as_ref()
        ],
        "id",
    )?
        .ok_or_else(|| AppError::Internal("the delivery was not stored".into()))?;

    // Group the delivery's events by call, keeping only events not seen before.
    struct Touched {
        call: CallRow,
        before: Option<RecordingStatus>,
        fresh: usize,
    }
    let mut by_call: BTreeMap<&str, Touched> = BTreeMap::new();
    // Calls are taken in the order of their ids, so that two deliveries about
    // the same calls never wait for each other's locks in a circle.
    let mut ids: Vec<&str> = d
        .events
        .iter()
        .map(|e| e.provider_call_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for key in ids {
        let (call, existed) = calls::get_or_create(db, &d.connection_id, d.provider, key, now)?;
        let before = existed.then(|| call.recording_status());
        by_call.insert(
            key,
            Touched {
                call,
                before,
                fresh: 0,
            },
        );
    }
    let mut new_events = 0;
    for event in &d.events {
        let Some(t) = by_call.get_mut(event.provider_call_id.as_str()) else {
            continue;
        };
        let fresh = db.exec(
            "INSERT INTO events (call_seq, dedupe_key, delivery_id, recorded_at, kind)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (call_seq, dedupe_key) DO NOTHING",
            args![
                t.call.seq,
                event.dedupe_key,
                delivery_id,
                millis(now),
                kind_label(&event.kind)
            ],
        )?;
        if fresh > 0 {
            t.call.fold.apply(event, now);
            t.fresh += 1;
            new_events += 1;
        }
    }

    let mut changed = Vec::new();
    let mut outbox = false;
    for (_, mut t) in by_call {
        if t.fresh == 0 {
            continue;
        }
        calls::refresh_resolution(db, &mut t.call, now)?;
        outbox |= calls::save(db, &mut t.call, t.before, "system", now)?;
        let after = t.call.recording_status();
        changed.push(ChangedCall {
            recording_decided: t.before != Some(after) && after != RecordingStatus::None,
            call: t.call,
        });
    }
    if new_events == 0 && !d.events.is_empty() {
        return Ok(IngestOutcome::Duplicate);
    }
    Ok(IngestOutcome::Stored {
        new_events,
        calls: changed,
        outbox,
    })
}

/// Records a single-use value; false when it is already held (an expired one is taken over).
fn claim_replay_key(
    db: &Db<'_>,
    connection_id: &str,
    replay: &ReplayKey,
    now: OffsetDateTime,
) -> Result<bool, AppError> {
    let changed = db.exec(
        "INSERT INTO replay_keys (connection_id, key, keep_until) VALUES (?1, ?2, ?3)
         ON CONFLICT (connection_id, key) DO UPDATE SET keep_until = excluded.keep_until
         WHERE replay_keys.keep_until < ?4",
        args![
            connection_id,
            replay.key,
            replay.keep_until,
            now.unix_timestamp()
        ],
    )?;
    Ok(changed > 0)
}

/// Deletes single-use values past their keeping time.
pub(super) fn prune_replay_keys(db: &Db<'_>, now: OffsetDateTime) -> Result<usize, AppError> {
    db.exec(
        "DELETE FROM replay_keys WHERE keep_until < ?1",
        args![now.unix_timestamp()],
    )
}

/// A short label of what an event says, for the events table.
fn kind_label(kind: &EventKind) -> String {
    match kind {
        EventKind::Call { progress } => format!("call:{}", state_name(*progress)),
        EventKind::Recording(r) => format!("recording:{:?}", r.status).to_ascii_lowercase(),
        EventKind::Unmapped { field, .. } => format!("unmapped:{field}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use callgate_adapters::kit::{CallProgress, Party};
    use std::sync::Arc;

    fn delivery(progress: CallProgress, key: &str) -> Delivery {
        Delivery {
            connection_id: "conn-1".into(),
            provider: "twilio",
            digest: [0; 32],
            method: "POST".into(),
            target: "/webhooks/twilio/conn-1".into(),
            content_type: None,
            body: Bytes::from_static(b"x"),
            events: vec![CallEvent {
                dedupe_key: key.into(),
                provider_call_id: "CA1".into(),
                occurred_at: None,
                party: Party::default(),
                kind: EventKind::Call { progress },
            }],
            replay_key: None,
        }
    }

    fn state_of(outcome: &IngestOutcome) -> Option<CallProgress> {
        match outcome {
            IngestOutcome::Stored { calls, .. } => calls[0].call.fold.progress,
            _ => None,
        }
    }

    /// A write that is rolled back leaves nothing behind, in the store or in the writer's
    /// memory of recent calls: the next delivery folds onto what was committed.
    #[tokio::test]
    async fn a_rolled_back_ingest_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let clock: Arc<dyn callgate_adapters::kit::Clock> = Arc::new(
            callgate_adapters::kit::FixedClock(OffsetDateTime::UNIX_EPOCH),
        );
        let first = store
            .ingest(delivery(CallProgress::Ringing, "k-ringing"), clock.clone())
            .await
            .unwrap();
        assert_eq!(state_of(&first), Some(CallProgress::Ringing));

        // A job that stores the call's end and then fails: its savepoint is rolled back.
        let failed = store
            .write(|c| {
                ingest(
                    c,
                    &delivery(CallProgress::Completed, "k-completed"),
                    OffsetDateTime::UNIX_EPOCH,
                )?;
                Err::<(), _>(AppError::Internal("fails after writing".into()))
            })
            .await;
        assert!(failed.is_err());

        let next = store
            .ingest(
                delivery(CallProgress::Answered, "k-answered"),
                clock.clone(),
            )
            .await
            .unwrap();
        assert_eq!(state_of(&next), Some(CallProgress::Answered));
        // And the end, sent again, is new: the failed job left no event behind.
        let end = store
            .ingest(delivery(CallProgress::Completed, "k-completed"), clock)
            .await
            .unwrap();
        assert_eq!(state_of(&end), Some(CallProgress::Completed));
    }
}
