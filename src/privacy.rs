//! Erasure: one person's number taken out of everything callgate holds, on request (the
//! contract's "Data lifecycle"). Every call of the number (from it, or placed to it: an
//! outbound call whose customer it is) is deleted with its legs, events, raw deliveries and
//! outbound webhook deliveries, and its recordings are deleted at the provider through the
//! outbox; every other raw body holding the number is emptied, and every other outbound
//! webhook payload naming it says `[erased]`; its directory contacts, chat threads and
//! messages, spam blocks and web bookings are deleted; audit details naming it say
//! `[erased]`; refused webhooks holding it leave the refusal log. An inbound call to the
//! number is not the person's (that number is the business's) and stays. The erasure is
//! audited (`privacy.erased`) with its counts, never the number; the counts say how many of
//! the recordings no deletion can reach, their provider having no API to delete them.
//!
//! What to erase is found on a reader first (a scan of the calls and the raw bodies, which
//! must not hold the writer), then erased in one write. The embedded store zeroes what it
//! deletes (`secure_delete`), and the write-ahead log is then checkpointed and truncated, so
//! that no file of the data directory keeps a byte of the number. Every instance's live event
//! ring forgets the erased calls' events (this one's also any other event naming the number,
//! the others' through `Signal::Erased`), so that no catch-up replays them.

use crate::calls::Effects;
use crate::connections::Connections;
use crate::dto::CallDto;
use crate::events::EventHub;
use crate::store::calls::CallRow;
use crate::store::erasure::{self, Erased, Found};
use crate::store::export::{self, Holdings};
use crate::store::{Db, Signal, Store, StoreError, audit, webhook_log};
use callgate_adapters::kit::{Clock, RecordingRef};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::Notify;

/// The number to erase, in E.164 form, from what a caller typed (a leading `+` required);
/// `None` when it is not a phone number.
pub fn number(raw: &str) -> Option<String> {
    crate::domain::numbers::to_e164(raw).filter(|_| raw.trim().starts_with('+'))
}

/// What erasure works with: the store, the clock, and where its effects go.
#[derive(Clone, Copy)]
pub struct Privacy<'a> {
    pub store: &'a Store,
    pub clock: &'a Arc<dyn Clock>,
    /// The live event hub.
    pub events: &'a EventHub,
    /// Wakes the outbox worker.
    pub outbox: &'a Notify,
    /// The provider connections, to tell those whose adapter cannot delete a recording.
    pub connections: &'a Connections,
}

impl std::fmt::Debug for Privacy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy").finish_non_exhaustive()
    }
}

impl Privacy<'_> {
    /// Erases `number` (in E.164 form, validated by the caller) for `actor`.
    pub async fn erase(&self, number: String, actor: String) -> Result<Erased, StoreError> {
        let digits = erasure::digits_of(&number);
        let n = number.clone();
        let found = self.store.read(move |db| erasure::find(db, &n)).await?;
        let undeletable = self.undeletable(&found.of_number).await;
        let clock = self.clock.clone();
        let done = self
            .store
            .write(move |db| {
                let to_erase = ToErase {
                    number: &number,
                    found: &found,
                    undeletable: &undeletable,
                };
                erase(db, &to_erase, &actor, clock.now())
            })
            .await?;
        self.events.forget(&digits);
        self.events.forget_calls(&done.call_ids);
        Effects {
            wake_outbox: done.erased.recordings > 0,
            calls: Vec::new(),
            hubs: done.tenants,
        }
        .apply(self.events, self.outbox);
        if !self.store.truncate_log().await? {
            tracing::warn!(
                "the write-ahead log could not be truncated after an erasure (readers kept it); the next checkpoint overwrites it"
            );
        }
        Ok(done.erased)
    }

    /// Everything held about `number` (in E.164 form, validated by the caller), as an erasure
    /// of it would find it, for `actor`; audited (`privacy.exported`) with the counts, never
    /// the number.
    pub async fn export(&self, number: String, actor: String) -> Result<Export, StoreError> {
        let n = number.clone();
        let mut held = self.store.read(move |db| export::holdings(db, &n)).await?;
        let undeletable = self.undeletable(&held.calls).await;
        held.counts.recordings_not_deletable = held
            .calls
            .iter()
            .map(|call| not_deletable(call, &undeletable))
            .sum();
        let detail = serde_json::to_value(held.counts)?;
        let now = self.clock.now();
        self.store
            .write(move |db| {
                audit::record(db, now, &actor, "privacy.exported", None, None, &detail)
            })
            .await?;
        Ok(Export::new(number, held))
    }

    /// The connections, among those of `calls` with recordings, whose adapter describes no
    /// request to delete one (`delete_recording` is `Ok(None)`, as the outbox worker finds
    /// when it audits `recording.deletion_not_supported`). A connection that cannot be
    /// loaded is left out: its deletions wait in the outbox until it can.
    async fn undeletable(&self, calls: &[CallRow]) -> BTreeSet<String> {
        let mut checked = BTreeSet::new();
        let mut undeletable = BTreeSet::new();
        let now = self.clock.now();
        for call in calls {
            let Some(recording_id) = call.fold.recordings.keys().next() else {
                continue;
            };
            if !checked.insert(call.connection_id.clone()) {
                continue;
            }
            let live = match self.connections.load_by_id(&call.connection_id, now).await {
                Ok(Some(live)) => live,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(connection = %call.connection_id, error = %e, "erasure: the connection could not be loaded to tell whether it can delete recordings");
                    continue;
                }
            };
            let rec = RecordingRef {
                provider_call_id: call.provider_call_id.clone(),
                recording_id: recording_id.clone(),
            };
            if let Ok(None) = live
                .adapter
                .delete_recording(&rec, &live.secrets, &live.options)
            {
                undeletable.insert(call.connection_id.clone());
            }
        }
        undeletable
    }
}

/// How many of the call's recordings no deletion can reach, among the `undeletable`
/// connections' ([`Privacy::undeletable`]).
fn not_deletable(call: &CallRow, undeletable: &BTreeSet<String>) -> u64 {
    if undeletable.contains(&call.connection_id) {
        call.fold.recordings.len() as u64
    } else {
        0
    }
}

/// What the read found to erase.
struct ToErase<'a> {
    number: &'a str,
    found: &'a Found,
    /// Connections whose adapter cannot delete a recording at the provider.
    undeletable: &'a BTreeSet<String>,
}

/// What the erasure's write did.
struct Done {
    erased: Erased,
    /// The tenants whose hub counts changed.
    tenants: Vec<String>,
    /// The calls erased.
    call_ids: Vec<String>,
}

/// The erasure's write.
fn erase(
    db: &Db<'_>,
    found: &ToErase<'_>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Done, StoreError> {
    let mut erased = Erased::default();
    let mut call_ids = Vec::new();
    for id in &found.found.calls {
        let Some(call) = erasure::call_of(db, id, found.number)? else {
            continue;
        };
        call_ids.push(call.id.clone());
        erased.recordings += erasure::delete_recordings(db, &call, now)?;
        erased.recordings_not_deletable += not_deletable(&call, found.undeletable);
        let deleted = erasure::delete_call(db, &call)?;
        erased.calls += deleted.calls;
        erased.events += deleted.events;
        erased.deliveries += deleted.deliveries;
        erased.webhook_deliveries += deleted.webhook_deliveries;
    }
    if !call_ids.is_empty() {
        // Other instances' live event rings forget them.
        db.announce(&Signal::Erased {
            call_ids: call_ids.clone(),
        })?;
    }
    erased.webhook_deliveries += erasure::redact_webhook_payloads(db, found.number)?;
    for id in &found.found.deliveries {
        if erasure::empty_body(db, *id)? {
            erased.deliveries += 1;
        }
    }
    let tenants = erasure::delete_feeds(db, found.number, &mut erased)?;
    for tenant in &tenants {
        db.announce_hub(tenant)?;
    }
    erased.audit_entries = erasure::redact_audit(db, found.number)?;
    erased.refusals =
        webhook_log::delete_refusals_holding(db, found.number.trim_start_matches('+'))?;
    let detail = serde_json::to_value(erased)?;
    audit::record(db, now, actor, "privacy.erased", None, None, &detail)?;
    Ok(Done {
        erased,
        tenants,
        call_ids,
    })
}

/// An export: everything callgate holds about one number, and (`counts`) what an erasure of
/// it would count. Raw deliveries and outbound webhook deliveries are listed up to
/// [`export::LISTED`] each, the oldest first (`truncated` says when one list was cut); the
/// counts count them all.
#[derive(Debug, Serialize)]
pub struct Export {
    pub number: String,
    /// As the API's call detail shows them, with their legs and recordings.
    pub calls: Vec<CallDto>,
    #[serde(flatten)]
    pub held: Holdings,
}

impl Export {
    fn new(number: String, held: Holdings) -> Self {
        Self {
            number,
            calls: held.calls.iter().map(CallDto::from).collect(),
            held,
        }
    }
}
