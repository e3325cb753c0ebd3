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

/// The ids of the calls whose stored fold may name `number` (those of it among them): a
/// read, for a reader, before the erasure's write.
pub fn calls_naming(db: &Db<'_>, number: &str) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT id FROM calls WHERE fold LIKE ?1",
        args![format!("%\"{number}\"%")],
        |r| r.get(0),
    )
}

/// The ids of the deliveries whose raw body holds `needle` (the number's digits, which every
/// spelling holds: E.164, URL-encoded, without the plus): a read, for a reader.
pub fn deliveries_holding(db: &Db<'_>, needle: &[u8]) -> Result<Vec<i64>, StoreError> {
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
pub fn calls_of(db: &Db<'_>, ids: &[String], number: &str) -> Result<Vec<CallRow>, StoreError> {
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

/// Deletes the number's contacts, chats (its threads with all their messages, its messages
/// elsewhere, its spam blocks) and web bookings; returns the tenants whose hub counts may
/// have changed.
pub fn delete_feeds(
    db: &Db<'_>,
    number: &str,
    erased: &mut Erased,
) -> Result<Vec<String>, StoreError> {
    erased.contacts = db.exec("DELETE FROM contacts WHERE e164 = ?1", args![number])? as u64;
    erased.chat_messages = db.exec(
        "DELETE FROM chat_messages WHERE sender = ?1 OR EXISTS (
             SELECT 1 FROM chat_threads t WHERE t.customer = ?1
                 AND t.tenant_id = chat_messages.tenant_id AND t.id = chat_messages.thread_id)",
        args![number],
    )? as u64;
    let mut tenants: Vec<String> = db.query(
        "DELETE FROM chat_threads WHERE customer = ?1 RETURNING tenant_id",
        args![number],
        |r| r.get(0),
    )?;
    erased.chat_threads = tenants.len() as u64;
    erased.chat_blocks = db.exec(
        "DELETE FROM chat_blocked_senders WHERE sender = ?1",
        args![number],
    )? as u64;
    let booked: Vec<String> = db.query(
        "DELETE FROM web_bookings WHERE phone = ?1 RETURNING tenant_id",
        args![number],
        |r| r.get(0),
    )?;
    erased.web_bookings = booked.len() as u64;
    tenants.extend(booked);
    tenants.sort();
    tenants.dedup();
    Ok(tenants)
}

/// Replaces the number with `[erased]` in the payload of every outbound webhook delivery
/// still holding it (one about a call kept, which named the number elsewhere than as its
/// customer); returns how many.
pub fn redact_webhook_payloads(db: &Db<'_>, number: &str) -> Result<u64, StoreError> {
    Ok(db.exec(
        "UPDATE webhook_deliveries SET payload = replace(payload, ?1, ?2) WHERE payload LIKE ?3",
        args![number, ERASED, format!("%{number}%")],
    )? as u64)
}

/// Replaces the number with `[erased]` in every audit entry's detail; returns how many.
pub fn redact_audit(db: &Db<'_>, number: &str) -> Result<u64, StoreError> {
    Ok(db.exec(
        "UPDATE audit SET detail = replace(detail, ?1, ?2) WHERE detail LIKE ?3",
        args![number, ERASED, format!("%{number}%")],
    )? as u64)
}
