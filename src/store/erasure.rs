//! The statements of erasing one person's number (`crate::privacy` decides and runs them):
//! finding what holds it, and deleting or redacting it.

use super::calls::{self as rows, CallRow};
use super::db::{Db, Dialect, args};
use super::retention::{Deleted, delete_calls_where};
use super::{StoreError, recordings};
use serde::Serialize;
use time::OffsetDateTime;

/// What an erasure deleted or redacted, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// Calls of the number (from it, or placed to it: a callback), deleted with their legs,
    /// their events and the deliveries those came from.
    pub calls: u64,
    pub events: u64,
    /// Raw deliveries deleted (with their calls), or whose body was emptied.
    pub deliveries: u64,
    /// Recording deletions queued at the provider.
    pub recordings: u64,
    /// Recordings of the erased calls that no deletion can reach: their provider has no API
    /// to delete recordings (the audit's `recording.deletion_not_supported` entries name
    /// each). They stay at the provider until its own retention ends, unless asked of it.
    pub recordings_not_deletable: u64,
    /// Outbound webhook deliveries to subscribers, pending, failed or delivered: deleted
    /// with their calls, or whose payload now says `[erased]` instead of the number.
    pub webhook_deliveries: u64,
    /// Directory contacts of the number, at every tenant.
    pub contacts: u64,
    pub chat_threads: u64,
    pub chat_messages: u64,
    /// Spam blocks of the number as a chat sender.
    pub chat_blocks: u64,
    pub web_bookings: u64,
    /// Audit entries whose detail named the number, which now says `[erased]` instead.
    pub audit_entries: u64,
    /// Refused webhooks of the refusal log whose URL, detail or first bytes held the number.
    pub refusals: u64,
}

/// What an erased number is replaced with where a row is kept.
const ERASED: &str = "[erased]";

/// What holds the number, found by a read (for a reader, before an erasure's write): what
/// erasure erases and an export lists.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Calls whose fold names the number (those of it, [`calls_of`], are erased).
    pub calls: Vec<String>,
    /// Those of them that are the number's, as read.
    pub of_number: Vec<CallRow>,
    /// Deliveries whose raw body holds the number's digits.
    pub deliveries: Vec<i64>,
}

/// Finds what holds `number` (E.164) and its digits (which every spelling holds).
pub fn find(db: &Db<'_>, number: &str) -> Result<Found, StoreError> {
    let calls = calls_naming(db, number)?;
    let of_number = calls_of(db, &calls, number)?;
    let digits = digits_of(number);
    let deliveries = deliveries_holding(db, digits.as_bytes())?;
    Ok(Found {
        calls,
        of_number,
        deliveries,
    })
}

/// The number's digits, which every spelling of it holds (E.164, URL-encoded `%2B…`,
/// without the plus).
pub fn digits_of(number: &str) -> String {
    number.trim_start_matches('+').to_owned()
}

/// The ids of the calls whose stored fold may name `number`.
fn calls_naming(db: &Db<'_>, number: &str) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT id FROM calls WHERE fold LIKE ?1",
        args![like(&format!("\"{number}\""))],
        |r| r.get(0),
    )
}

/// The ids of the deliveries whose raw body holds `needle` (the number's digits, which every
/// spelling holds: E.164, URL-encoded, without the plus).
fn deliveries_holding(db: &Db<'_>, needle: &[u8]) -> Result<Vec<i64>, StoreError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT id FROM deliveries WHERE instr(body, ?1) > 0",
        Dialect::Postgres => "SELECT id FROM deliveries WHERE position(?1 IN body) > 0",
    };
    db.query(sql, args![needle.to_vec()], |r| r.get(0))
}

/// Whether the call is the number's: from it, or its customer's number (an outbound call
/// placed to it). An inbound call to it is not: that number is the business's.
fn is_of(call: &CallRow, number: &str) -> bool {
    let fold = &call.fold;
    fold.from.as_ref().is_some_and(|f| f.value == number) || fold.customer_number() == Some(number)
}

/// The calls among `ids` that are the number's (see [`call_of`]), unlocked: a read, for a
/// reader, before the erasure's write.
fn calls_of(db: &Db<'_>, ids: &[String], number: &str) -> Result<Vec<CallRow>, StoreError> {
    let mut calls = Vec::new();
    for id in ids {
        calls.extend(rows::get(db, id)?.filter(|c| is_of(c, number)));
    }
    Ok(calls)
}

/// The call `id`, locked, if it is the number's: from it, or placed to it (its customer's
/// number, [`crate::domain::call::CallFold::customer_number`]).
pub fn call_of(db: &Db<'_>, id: &str, number: &str) -> Result<Option<CallRow>, StoreError> {
    Ok(rows::get_for_update(db, id)?.filter(|c| is_of(c, number)))
}

/// Queues the deletion at the provider of every recording of `call`; returns how many were
/// queued (a deletion already queued counts once).
pub fn delete_recordings(
    db: &Db<'_>,
    call: &CallRow,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut queued = 0;
    for recording_id in call.fold.recordings.keys() {
        if recordings::queue_deletion(db, call, recording_id, now)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Deletes the call, with its events and the deliveries its events came from.
pub fn delete_call(db: &Db<'_>, call: &CallRow) -> Result<Deleted, StoreError> {
    delete_calls_where(db, "seq = ?1", args![call.seq])
}

/// Empties the raw body of the delivery, if it is still there; true if it was.
pub fn empty_body(db: &Db<'_>, delivery_id: i64) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE deliveries SET body = ?2 WHERE id = ?1 AND length(body) > 0",
        args![delivery_id, Vec::<u8>::new()],
    )? > 0)
}

/// Where the number's rows of each feed are (`FROM` and `WHERE`, the number as `?1`): what
/// erasure deletes and an export lists, one definition for both.
pub(crate) mod feeds {
    pub const CONTACTS: &str = "contacts WHERE e164 = ?1";
    /// Its own messages anywhere, and every message of its threads.
    pub const CHAT_MESSAGES: &str = "chat_messages WHERE sender = ?1 OR EXISTS (
             SELECT 1 FROM chat_threads t WHERE t.customer = ?1
                 AND t.tenant_id = chat_messages.tenant_id AND t.id = chat_messages.thread_id)";
    pub const CHAT_THREADS: &str = "chat_threads WHERE customer = ?1";
    pub const CHAT_BLOCKS: &str = "chat_blocked_senders WHERE sender = ?1";
    pub const WEB_BOOKINGS: &str = "web_bookings WHERE phone = ?1";
}

/// Deletes the number's contacts, chats (its threads with all their messages, its messages
/// elsewhere, its spam blocks) and web bookings; returns the tenants whose hub counts may
/// have changed.
pub fn delete_feeds(
    db: &Db<'_>,
    number: &str,
    erased: &mut Erased,
) -> Result<Vec<String>, StoreError> {
    let delete = |rows: &str| db.exec(&format!("DELETE FROM {rows}"), args![number]);
    erased.contacts = delete(feeds::CONTACTS)? as u64;
    erased.chat_messages = delete(feeds::CHAT_MESSAGES)? as u64;
    let returning_tenant = |rows: &str| -> Result<Vec<String>, StoreError> {
        let sql = format!("DELETE FROM {rows} RETURNING tenant_id");
        db.query(&sql, args![number], |r| r.get(0))
    };
    let mut tenants = returning_tenant(feeds::CHAT_THREADS)?;
    erased.chat_threads = tenants.len() as u64;
    erased.chat_blocks = delete(feeds::CHAT_BLOCKS)? as u64;
    let booked = returning_tenant(feeds::WEB_BOOKINGS)?;
    erased.web_bookings = booked.len() as u64;
    tenants.extend(booked);
    tenants.sort();
    tenants.dedup();
    Ok(tenants)
}

/// Which outbound webhook deliveries name the number, about a call kept or not (a condition
/// on `webhook_deliveries`, `?1` the [`like`] pattern of the number): what erasure redacts
/// and an export lists.
pub(crate) const PAYLOAD_NAMING: &str = "payload LIKE ?1";
/// Which audit entries name the number (a condition on `audit`, `?1` as above).
pub(crate) const DETAIL_NAMING: &str = "detail LIKE ?1";

/// The `LIKE` pattern of text holding `number`.
pub(crate) fn like(number: &str) -> String {
    format!("%{number}%")
}

/// Replaces the number with `[erased]` in the payload of every outbound webhook delivery
/// still holding it (one about a call kept, which named the number elsewhere than as its
/// customer); returns how many.
pub fn redact_webhook_payloads(db: &Db<'_>, number: &str) -> Result<u64, StoreError> {
    let sql = format!(
        "UPDATE webhook_deliveries SET payload = replace(payload, ?2, ?3) WHERE {PAYLOAD_NAMING}"
    );
    Ok(db.exec(&sql, args![like(number), number, ERASED])? as u64)
}

/// Replaces the number with `[erased]` in every audit entry's detail; returns how many.
pub fn redact_audit(db: &Db<'_>, number: &str) -> Result<u64, StoreError> {
    let sql = format!("UPDATE audit SET detail = replace(detail, ?2, ?3) WHERE {DETAIL_NAMING}");
    Ok(db.exec(&sql, args![like(number), number, ERASED])? as u64)
}
