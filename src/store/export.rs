//! What callgate holds about one person's number, listed for an export (`crate::privacy`):
//! found by [`erasure::find`] and the same conditions erasure deletes by, and counted as an
//! erasure of it would count, so that an erasure after an export erases what it listed.

use super::audit::{self, AuditEntry};
use super::calls::CallRow;
use super::db::{Db, Row, args};
use super::erasure::{self, DETAIL_NAMING, Erased, Found, PAYLOAD_NAMING, feeds, like};
use super::{StoreError, from_millis, recordings, webhook_log};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use time::format_description::well_known::Rfc3339;

/// How many raw deliveries, and how many outbound webhook deliveries, an export lists in
/// full at most (the oldest first); the counts still count every one.
pub const LISTED: usize = 500;

/// What holds the number (serialized without its calls, which the API shows as its DTO).
#[derive(Debug, Default, serde::Serialize)]
pub struct Holdings {
    /// What an erasure would count (all but `recordings_not_deletable`, which asks the
    /// providers' adapters).
    pub counts: Erased,
    /// Whether a list was cut at [`LISTED`].
    pub truncated: bool,
    /// The number's calls.
    #[serde(skip)]
    pub calls: Vec<CallRow>,
    /// Raw deliveries: of its calls, or whose body holds its digits.
    pub deliveries: Vec<Value>,
    /// Outbound webhook deliveries: about its calls, or whose payload names it.
    pub webhook_deliveries: Vec<Value>,
    pub contacts: Vec<Value>,
    /// Its chat threads, each with its messages.
    pub chat_threads: Vec<Value>,
    /// Its messages in threads that are not its own.
    pub chat_messages_elsewhere: Vec<Value>,
    pub chat_blocks: Vec<Value>,
    pub web_bookings: Vec<Value>,
    pub audit_entries: Vec<AuditEntry>,
    /// Refused webhooks holding its digits.
    pub refusals: Vec<Value>,
}

/// Everything held about `number` (E.164): a read.
pub fn holdings(db: &Db<'_>, number: &str) -> Result<Holdings, StoreError> {
    let found = erasure::find(db, number)?;
    let mut h = Holdings::default();
    let deliveries = calls(db, &found, &mut h)?;
    raw_deliveries(db, &deliveries, &mut h)?;
    webhook_deliveries(db, number, &found.of_number, &mut h)?;
    feeds_of(db, number, &mut h)?;
    h.audit_entries = audit::matching(db, DETAIL_NAMING, &like(number))?;
    h.counts.audit_entries = h.audit_entries.len() as u64;
    let digits = erasure::digits_of(number);
    h.refusals = webhook_log::refusals_holding(db, &digits)?
        .iter()
        .map(|r| {
            let mut v = r.to_json();
            v["connection_id"] = json!(r.refusal.connection_id);
            v
        })
        .collect();
    h.counts.refusals = h.refusals.len() as u64;
    Ok(h)
}

/// The number's calls, their events and the recording deletions an erasure would queue;
/// returns the deliveries to list: those of the calls' events, and those holding the digits.
fn calls(db: &Db<'_>, found: &Found, h: &mut Holdings) -> Result<BTreeSet<i64>, StoreError> {
    let mut deliveries: BTreeSet<i64> = found.deliveries.iter().copied().collect();
    for call in &found.of_number {
        let of_events: Vec<i64> = db.query(
            "SELECT delivery_id FROM events WHERE call_seq = ?1",
            args![call.seq],
            |r| r.get(0),
        )?;
        h.counts.events += of_events.len() as u64;
        deliveries.extend(of_events);
        for recording_id in call.fold.recordings.keys() {
            if recordings::deletion_would_queue(db, call, recording_id)? {
                h.counts.recordings += 1;
            }
        }
    }
    h.counts.calls = found.of_number.len() as u64;
    h.calls = found.of_number.clone();
    Ok(deliveries)
}

/// The deliveries still kept among `ids`, counted, the first [`LISTED`] with their body.
fn raw_deliveries(db: &Db<'_>, ids: &BTreeSet<i64>, h: &mut Holdings) -> Result<(), StoreError> {
    for id in ids {
        if h.deliveries.len() == LISTED {
            h.truncated = true;
            let kept = db.query_opt("SELECT id FROM deliveries WHERE id = ?1", args![id], |r| {
                r.get::<i64>(0)
            })?;
            h.counts.deliveries += u64::from(kept.is_some());
            continue;
        }
        let row = db.query_opt(
            "SELECT id, connection_id, received_at, body FROM deliveries WHERE id = ?1",
            args![id],
            |r| {
                Ok(
                    json!({"id": r.get::<i64>(0)?, "connection_id": r.get::<String>(1)?,
                    "received_at": text_at(from_millis(r.get(2)?)),
                    "body": String::from_utf8_lossy(&r.get::<Vec<u8>>(3)?)}),
                )
            },
        )?;
        if let Some(row) = row {
            h.counts.deliveries += 1;
            h.deliveries.push(row);
        }
    }
    Ok(())
}

/// The outbound webhook deliveries about the calls, or whose payload names the number.
fn webhook_deliveries(
    db: &Db<'_>,
    number: &str,
    calls: &[CallRow],
    h: &mut Holdings,
) -> Result<(), StoreError> {
    const COLUMNS: &str = "id, subscription_id, event_type, call_id, status, created_at, payload";
    let map = |r: &Row<'_, '_>| {
        let id: String = r.get(0)?;
        let row = json!({"id": id, "subscription_id": r.get::<String>(1)?,
            "event_type": r.get::<String>(2)?, "call_id": r.get::<Option<String>>(3)?,
            "status": r.get::<String>(4)?, "created_at": text_at(from_millis(r.get(5)?)),
            "payload": r.get::<String>(6)?});
        Ok((id, row))
    };
    let mut rows = std::collections::BTreeMap::new();
    for call in calls {
        let sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE call_id = ?1");
        rows.extend(db.query(&sql, args![call.id], map)?);
    }
    let sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE {PAYLOAD_NAMING}");
    rows.extend(db.query(&sql, args![like(number)], map)?);
    h.counts.webhook_deliveries = rows.len() as u64;
    h.truncated |= rows.len() > LISTED;
    h.webhook_deliveries = rows.into_values().take(LISTED).collect();
    Ok(())
}

/// The number's contacts, chats and web bookings.
fn feeds_of(db: &Db<'_>, number: &str, h: &mut Holdings) -> Result<(), StoreError> {
    let select = |columns: &str, rows: &str, map: fn(&Row<'_, '_>) -> Result<Value, StoreError>| {
        db.query(&format!("SELECT {columns} FROM {rows}"), args![number], map)
    };
    h.contacts = select("tenant_id, e164, name", feeds::CONTACTS, |r| {
        Ok(
            json!({"tenant_id": r.get::<String>(0)?, "number": r.get::<String>(1)?,
            "name": r.get::<String>(2)?}),
        )
    })?;
    let mut threads = select(
        "id, tenant_id, state, created_at, updated_at",
        feeds::CHAT_THREADS,
        |r| {
            Ok(
                json!({"id": r.get::<String>(0)?, "tenant_id": r.get::<String>(1)?,
                "state": r.get::<String>(2)?, "created_at": text_at(from_millis(r.get(3)?)),
                "updated_at": text_at(from_millis(r.get(4)?)), "messages": []}),
            )
        },
    )?;
    let messages = select(
        "id, tenant_id, thread_id, sender, direction, body, received_at",
        &format!("{} ORDER BY seq", feeds::CHAT_MESSAGES),
        |r| {
            Ok(
                json!({"id": r.get::<String>(0)?, "tenant_id": r.get::<String>(1)?,
                "thread_id": r.get::<String>(2)?, "sender": r.get::<String>(3)?,
                "direction": r.get::<String>(4)?, "body": r.get::<String>(5)?,
                "received_at": text_at(from_millis(r.get(6)?))}),
            )
        },
    )?;
    h.counts.contacts = h.contacts.len() as u64;
    h.counts.chat_threads = threads.len() as u64;
    h.counts.chat_messages = messages.len() as u64;
    for message in messages {
        let thread = threads
            .iter_mut()
            .find(|t| t["id"] == message["thread_id"] && t["tenant_id"] == message["tenant_id"]);
        match thread.and_then(|t| t["messages"].as_array_mut()) {
            Some(of_thread) => of_thread.push(message),
            None => h.chat_messages_elsewhere.push(message),
        }
    }
    h.chat_threads = threads;
    h.chat_blocks = select(
        "tenant_id, thread_id, blocked_by, blocked_at",
        feeds::CHAT_BLOCKS,
        |r| {
            Ok(
                json!({"tenant_id": r.get::<String>(0)?, "thread_id": r.get::<String>(1)?,
                "blocked_by": r.get::<String>(2)?, "blocked_at": text_at(from_millis(r.get(3)?))}),
            )
        },
    )?;
    h.counts.chat_blocks = h.chat_blocks.len() as u64;
    h.web_bookings = select(
        "id, tenant_id, customer_name, phone, zip, trade, received_at, booked_at, booked_by",
        feeds::WEB_BOOKINGS,
        |r| {
            Ok(
                json!({"id": r.get::<String>(0)?, "tenant_id": r.get::<String>(1)?,
                "customer_name": r.get::<String>(2)?, "phone": r.get::<String>(3)?,
                "zip": r.get::<String>(4)?, "trade": r.get::<String>(5)?,
                "received_at": text_at(from_millis(r.get(6)?)),
                "booked_at": r.get::<Option<i64>>(7)?.map(|ms| text_at(from_millis(ms))),
                "booked_by": r.get::<Option<String>>(8)?}),
            )
        },
    )?;
    h.counts.web_bookings = h.web_bookings.len() as u64;
    Ok(())
}

/// A time as RFC 3339 text.
fn text_at(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
