//! The ingest transaction: deliveries, their events (deduplicated), the calls' folds, gate
//! decisions and their effects, all or nothing. The store runs it over whatever deliveries
//! are waiting together (embedded: the writer's batch; PostgreSQL: an ingest thread's).

use super::legs::{self, Routing};
use super::written::{self, Written};
use crate::domain::gate::RecordingDecision;
use crate::store::calls::{self as rows, CallKey, CallRow};
use crate::store::ingest::{self as deliveries, ChangedCall, Delivery, EventRow, IngestOutcome};
use crate::store::{Db, StoreError, subscriptions};
use std::collections::HashSet;
use time::OffsetDateTime;

/// Stores deliveries in the open transaction, as if one after the other, with a few
/// statements for all: each delivery's row, its events (deduplicated per call, within the
/// batch too: the first delivery carrying an event has it), the calls' folds, resolutions,
/// gate decisions and their effects. Returns each delivery's outcome, in order; a call
/// changed by several deliveries is reported, as the batch left it, by the last of them.
///
/// `now` is read by the caller when the batch runs; a call's events are folded as recorded
/// no earlier than the selections the call already holds, so that an agent's selection and
/// a call's end compare as they were stored, on either backend.
pub fn ingest_batch(
    db: &Db<'_>,
    batch: &[&Delivery],
    now: OffsetDateTime,
) -> Result<Vec<IngestOutcome>, StoreError> {
    let mut entries = store_deliveries(db, batch, now)?;
    let routing = Routing::find(
        db,
        entries
            .iter()
            .filter(|e| e.row.is_some())
            .map(|e| e.delivery),
    )?;
    // The calls the deliveries are about, taken in key order, so that two transactions
    // about the same calls never wait for each other's locks in a circle.
    let mut keys: Vec<CallKey<'_>> = entries
        .iter()
        .filter(|e| e.row.is_some())
        .flat_map(|e| {
            e.delivery
                .events
                .iter()
                .map(|ev| routing.key(e.delivery, ev))
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut calls: Vec<BatchCall> = rows::get_or_create_many(db, &keys, now)?
        .into_iter()
        .map(|(call, existed)| BatchCall {
            before: existed.then(|| call.recording_decision()),
            call,
            new_events: 0,
            last: 0,
            answered: Vec::new(),
        })
        .collect();
    fold_new_events(db, &mut entries, &routing, &keys, &mut calls, now)?;
    let recounted: Vec<(i64, usize)> = entries
        .iter()
        .filter(|e| e.new_events != e.delivery.events.len())
        .filter_map(|e| Some((e.row?, e.new_events)))
        .collect();
    deliveries::recount_events(db, &recounted)?;

    let (mut changed, unchanged): (Vec<BatchCall>, Vec<BatchCall>) =
        calls.into_iter().partition(|c| c.new_events > 0);
    for c in &unchanged {
        rows::give_back(db, &c.call);
    }
    let mut popped = Vec::with_capacity(changed.len());
    for c in &mut changed {
        popped.push(claim_answered(db, c, now)?);
    }
    {
        let mut written: Vec<&mut CallRow> = changed.iter_mut().map(|c| &mut c.call).collect();
        rows::refresh_resolutions(db, &mut written, now)?;
        rows::write_many(db, &mut written, now)?;
    }
    let wanted = if changed.is_empty() {
        Default::default()
    } else {
        subscriptions::enabled(db)?
    };
    for (c, screen_pop) in changed.into_iter().zip(popped) {
        let Written {
            queued,
            recording_decided,
        } = written::after_write(db, &c.call, c.before.as_ref(), "system", now, &wanted)?;
        let entry = &mut entries[c.last];
        entry.outbox |= queued;
        entry.changed.push(ChangedCall {
            recording_decided,
            call: c.call,
            screen_pop,
        });
    }
    Ok(entries.into_iter().map(Entry::outcome).collect())
}

/// One delivery of the batch, as the transaction goes.
struct Entry<'d> {
    delivery: &'d Delivery,
    /// Its row's id; `None` when it was refused as a replay (nothing of it is stored).
    row: Option<i64>,
    /// How many of its events were new.
    new_events: usize,
    /// The calls it changed last in the batch, as the batch left them.
    changed: Vec<ChangedCall>,
    /// It queued work for the outbox.
    outbox: bool,
}

impl Entry<'_> {
    fn outcome(self) -> IngestOutcome {
        if self.row.is_none() {
            IngestOutcome::Replayed
        } else if self.new_events == 0 && !self.delivery.events.is_empty() {
            IngestOutcome::Duplicate
        } else {
            IngestOutcome::Stored {
                new_events: self.new_events,
                calls: self.changed,
                outbox: self.outbox,
            }
        }
    }
}

/// A call a batch is about, as the batch changes it.
struct BatchCall {
    call: CallRow,
    /// Its recording decision before the batch (`None`: a new call).
    before: Option<RecordingDecision>,
    /// How many of the batch's events were new for it.
    new_events: usize,
    /// The last delivery (batch index) with a new event for it.
    last: usize,
    /// Its agent legs answered by the batch's new events: (leg id, identity).
    answered: Vec<(String, String)>,
}

/// Claims the call for the user whose phone answered its agent leg (the last answered in
/// the batch decides), with the screen pop pushed to them.
fn claim_answered(
    db: &Db<'_>,
    c: &mut BatchCall,
    now: OffsetDateTime,
) -> Result<Option<(String, crate::domain::screen_pop::ScreenPop)>, StoreError> {
    let Some((leg, identity)) = c.answered.last() else {
        return Ok(None);
    };
    legs::claim_answered(db, &mut c.call, leg, identity, now)
}

/// Refuses replays (first, so that a replay leaves nothing behind; one by one, so that a
/// value twice in the batch is refused the second time), then stores the other
/// deliveries' rows.
fn store_deliveries<'d>(
    db: &Db<'_>,
    batch: &[&'d Delivery],
    now: OffsetDateTime,
) -> Result<Vec<Entry<'d>>, StoreError> {
    let mut admitted = Vec::with_capacity(batch.len());
    for d in batch {
        let fresh = match &d.replay_key {
            Some(replay) => deliveries::claim_replay_key(db, d, replay, now)?,
            None => true,
        };
        admitted.push(fresh);
    }
    let stored = batch.iter().zip(&admitted).filter(|(_, a)| **a);
    let mut ids = deliveries::insert_deliveries(db, stored.map(|(d, _)| *d), now)?.into_iter();
    Ok(batch
        .iter()
        .zip(admitted)
        .map(|(&delivery, admitted)| Entry {
            delivery,
            row: if admitted { ids.next() } else { None },
            new_events: 0,
            changed: Vec::new(),
            outbox: false,
        })
        .collect())
}

/// Inserts every stored delivery's events, once per call (later copies in the batch are
/// duplicates already), and folds those that were new into their calls.
fn fold_new_events(
    db: &Db<'_>,
    entries: &mut [Entry<'_>],
    routing: &Routing<'_>,
    keys: &[CallKey<'_>],
    calls: &mut [BatchCall],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut events: Vec<EventRow<'_>> = Vec::new();
    let mut seen: HashSet<(usize, &str)> = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(delivery_id) = entry.row else {
            continue;
        };
        for event in &entry.delivery.events {
            let Ok(call) = keys.binary_search(&routing.key(entry.delivery, event)) else {
                continue;
            };
            if seen.insert((call, &event.dedupe_key)) {
                events.push(EventRow {
                    call_seq: calls[call].call.seq,
                    call,
                    delivery: i,
                    delivery_id,
                    event,
                });
            }
        }
    }
    let fresh = deliveries::insert_events(db, &events, now)?;
    let mut new_legs = Vec::new();
    for (r, _) in events.iter().zip(&fresh).filter(|(_, new)| **new) {
        let c = &mut calls[r.call];
        let delivery = entries[r.delivery].delivery;
        let event = routing.event(delivery, r.event);
        // On PostgreSQL `now` was read before the call's row was locked: an end stored
        // after a selection must never void it.
        let recorded_at = c.call.fold.not_before_selections(now);
        let by = delivery.ends_as();
        c.call.fold.apply_as(&event, recorded_at, by);
        if let Some(identity) = legs::answered_identity(&event) {
            c.answered
                .push((event.provider_call_id.clone(), identity.to_owned()));
        }
        c.new_events += 1;
        c.last = r.delivery;
        entries[r.delivery].new_events += 1;
        new_legs.push((r.event, delivery.connection_id.as_str(), r.call));
    }
    let new_legs: Vec<_> = new_legs
        .into_iter()
        .map(|(e, connection, call)| (e, connection, &calls[call].call))
        .collect();
    legs::record_legs(db, &new_legs)
}
