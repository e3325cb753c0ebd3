//! The ingest transaction: delivery, events (deduplicated), call state, gate decisions and
//! outbox rows — all or nothing, inside the writer's batch.

use super::calls::{self, CallRow};
use super::millis;
use crate::error::AppError;
use bytes::Bytes;
use callgate_adapters::kit::CallEvent;
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A verified, parsed webhook ready to be stored.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub connection_id: String,
    pub provider: &'static str,
    /// SHA-256 of the method, request target and body: a retried webhook has the same.
    pub digest: [u8; 32],
    pub received_at: OffsetDateTime,
    pub method: String,
    pub target: String,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub events: Vec<CallEvent>,
}

/// What storing a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Stored; `calls` are the ids of the calls it changed.
    Stored {
        new_events: usize,
        calls: Vec<String>,
    },
    /// The same delivery was stored before: nothing changed.
    Duplicate,
}

pub(super) fn ingest(conn: &Connection, d: &Delivery) -> Result<IngestOutcome, AppError> {
    let now = d.received_at;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO deliveries (connection_id, digest, received_at, method, target, content_type, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (connection_id, digest) DO NOTHING",
        )?
        .execute(params![d.connection_id, d.digest.as_slice(), millis(now), d.method, d.target, d.content_type, d.body.as_ref()])?;
    if inserted == 0 {
        return Ok(IngestOutcome::Duplicate);
    }
    let delivery_id = conn.last_insert_rowid();

    // Group the delivery's events by call, keeping only events not seen before.
    let mut by_call: BTreeMap<&str, (CallRow, Option<crate::domain::RecordingStatus>, usize)> =
        BTreeMap::new();
    let mut new_events = 0;
    for event in &d.events {
        let call = match by_call.get_mut(event.provider_call_id.as_str()) {
            Some(entry) => entry,
            None => {
                let row = calls::get_or_new(
                    conn,
                    &d.connection_id,
                    d.provider,
                    &event.provider_call_id,
                    now,
                )?;
                let before = (row.seq != 0).then(|| row.recording_status());
                by_call
                    .entry(event.provider_call_id.as_str())
                    .or_insert((row, before, 0))
            }
        };
        let json = serde_json::to_string(event)?;
        let fresh = conn
            .prepare_cached(
                "INSERT INTO events (connection_id, dedupe_key, delivery_id, call_id, recorded_at, event)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (connection_id, dedupe_key) DO NOTHING",
            )?
            .execute(params![d.connection_id, event.dedupe_key, delivery_id, call.0.id, millis(now), json])?;
        if fresh > 0 {
            call.0.fold.apply(event, now);
            call.2 += 1;
            new_events += 1;
        }
    }

    let mut changed = Vec::new();
    for (_, (mut call, before, fresh)) in by_call {
        if fresh == 0 {
            continue;
        }
        calls::refresh_resolution(conn, &mut call, now)?;
        calls::save(conn, &mut call, before, "system", now)?;
        changed.push(call.id);
    }
    Ok(IngestOutcome::Stored {
        new_events,
        calls: changed,
    })
}
