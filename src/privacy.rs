//! Erasure: one person's number taken out of everything callgate holds, on request (the
//! contract's "Data lifecycle"). Every call from the number is deleted with its events and
//! raw deliveries, and its recordings are deleted at the provider through the outbox; every
//! other raw body holding the number is emptied; its directory contacts, chat threads and
//! messages, spam blocks and web bookings are deleted; audit details naming it say
//! `[erased]`; refused webhooks holding it leave the refusal log. The erasure is audited
//! (`privacy.erased`) with its counts, never the number.
//!
//! What to erase is found on a reader first (a scan of the calls and the raw bodies, which
//! must not hold the writer), then erased in one write. The embedded store zeroes what it
//! deletes (`secure_delete`), and the write-ahead log is then checkpointed and truncated, so
//! that no file of the data directory keeps a byte of the number. This instance's live event
//! ring forgets the events that named it, and other instances' forget those of the erased
//! calls (`Signal::Erased`), so that no catch-up replays them.

use crate::calls::Effects;
use crate::events::EventHub;
use crate::store::erasure::{self, Erased};
use crate::store::{Db, Signal, Store, StoreError, audit, webhook_log};
use callgate_adapters::kit::Clock;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::Notify;

/// The number to erase, in E.164 form, from what a caller typed (a leading `+` required);
/// `None` when it is not a phone number.
pub fn number(raw: &str) -> Option<String> {
    crate::domain::numbers::to_e164(raw).filter(|_| raw.trim().starts_with('+'))
}

/// The number's digits, which every spelling of it holds (E.164, URL-encoded `%2B…`,
/// without the plus).
fn digits_of(number: &str) -> String {
    number.trim_start_matches('+').to_owned()
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
}

impl std::fmt::Debug for Privacy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy").finish_non_exhaustive()
    }
}

impl Privacy<'_> {
    /// Erases `number` (in E.164 form, validated by the caller) for `actor`.
    pub async fn erase(&self, number: String, actor: String) -> Result<Erased, StoreError> {
        let digits = digits_of(&number);
        let (n, d) = (number.clone(), digits.clone().into_bytes());
        let (calls, deliveries) = self
            .store
            .read(move |db| {
                Ok::<_, StoreError>((
                    erasure::calls_naming(db, &n)?,
                    erasure::deliveries_holding(db, &d)?,
                ))
            })
            .await?;
        let clock = self.clock.clone();
        let (erased, tenants) = self
            .store
            .write(move |db| {
                let found = Found {
                    number: &number,
                    calls: &calls,
                    deliveries: &deliveries,
                };
                erase(db, &found, &actor, clock.now())
            })
            .await?;
        self.events.forget(&digits);
        Effects {
            wake_outbox: erased.recordings > 0,
            calls: Vec::new(),
            hubs: tenants,
        }
        .apply(self.events, self.outbox);
        if !self.store.truncate_log().await? {
            tracing::warn!(
                "the write-ahead log could not be truncated after an erasure (readers kept it); the next checkpoint overwrites it"
            );
        }
        Ok(erased)
    }
}

/// What the read found to erase.
struct Found<'a> {
    number: &'a str,
    /// Calls whose fold names the number (those from it are erased).
    calls: &'a [String],
    /// Deliveries whose raw body holds the number's digits.
    deliveries: &'a [i64],
}

/// The erasure's write: returns what it erased and the tenants whose hub counts changed.
fn erase(
    db: &Db<'_>,
    found: &Found<'_>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(Erased, Vec<String>), StoreError> {
    let mut erased = Erased::default();
    let mut call_ids = Vec::new();
    for id in found.calls {
        let Some(call) = erasure::call_from(db, id, found.number)? else {
            continue;
        };
        call_ids.push(call.id.clone());
        erased.recordings += erasure::delete_recordings(db, &call, now)?;
        let deleted = erasure::delete_call(db, &call)?;
        erased.calls += deleted.calls;
        erased.events += deleted.events;
        erased.deliveries += deleted.deliveries;
    }
    if !call_ids.is_empty() {
        // Other instances' live event rings forget them (this one's forgets the number).
        db.announce(&Signal::Erased { call_ids })?;
    }
    for id in found.deliveries {
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
    Ok((erased, tenants))
}
