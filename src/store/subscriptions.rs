//! Outbound webhook subscriptions, their deliveries and the delivery log.
//!
//! An event about a call is queued in the transaction that changed the call, one delivery per
//! subscription that wants its type. A delivery keeps its id (the `webhook-id`) on every
//! attempt; its next attempt time is stored, so retries survive restarts and any instance may
//! make them.

use super::StoreError;
use super::db::{Arg, Db, Row, args};
use super::{audit, from_millis, millis};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A stored subscription. The secret stays sealed here.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub sealed_secret: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str =
    "id, url, event_types, secret, enabled, disabled_reason, failing_since, created_at, updated_at";

fn from_row(r: &Row<'_, '_>) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        id: r.get(0)?,
        url: r.get(1)?,
        event_types: serde_json::from_str(&r.get::<String>(2)?)?,
        sealed_secret: r.get(3)?,
        enabled: r.flag(4)?,
        disabled_reason: r.get(5)?,
        failing_since: r.get::<Option<i64>>(6)?.map(from_millis),
        created_at: from_millis(r.get(7)?),
        updated_at: from_millis(r.get(8)?),
    })
}

pub use super::memory::EnabledSubscriptions;

/// The enabled subscriptions and their event types: read once per transaction that may
/// change calls, and handed to [`enqueue_call`] for each.
pub fn enabled(db: &Db<'_>) -> Result<std::sync::Arc<EnabledSubscriptions>, StoreError> {
    // The embedded writer remembers them: every ingest asks, and most of the time there are
    // none. On PostgreSQL other instances write them too: always read.
    if let Some(w) = db.memory().and_then(|m| m.subscriptions()) {
        return Ok(w);
    }
    let read: EnabledSubscriptions = db.query(
        "SELECT id, event_types FROM subscriptions WHERE enabled = 1",
        args![],
        |r| {
            Ok((
                r.get::<String>(0)?,
                serde_json::from_str(&r.get::<String>(1)?)?,
            ))
        },
    )?;
    Ok(match db.memory() {
        Some(memory) => memory.put_subscriptions(read),
        None => std::sync::Arc::new(read),
    })
}

/// A subscription changes: what the embedded writer remembers of them is stale.
fn subscriptions_changed(db: &Db<'_>) {
    if let Some(memory) = db.memory() {
        memory.subscriptions_changed();
    }
}

pub fn insert(db: &Db<'_>, s: &Subscription) -> Result<(), StoreError> {
    subscriptions_changed(db);
    db.exec(
        &format!(
            "INSERT INTO subscriptions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        args![
            s.id,
            s.url,
            serde_json::to_string(&s.event_types)?,
            s.sealed_secret,
            s.enabled,
            s.disabled_reason,
            s.failing_since.map(millis),
            millis(s.created_at),
            millis(s.updated_at)
        ],
    )?;
    Ok(())
}

pub fn get(db: &Db<'_>, id: &str) -> Result<Option<Subscription>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM subscriptions WHERE id = ?1"),
        args![id],
        from_row,
    )
}

pub fn list(db: &Db<'_>) -> Result<Vec<Subscription>, StoreError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM subscriptions ORDER BY created_at, id"),
        args![],
        from_row,
    )
}

/// Enables (its failure clock starts over) or disables a subscription. Disabling gives up
/// its pending deliveries; they stay in the log and can be replayed.
pub fn set_enabled(
    db: &Db<'_>,
    id: &str,
    enabled: bool,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<Subscription>, StoreError> {
    subscriptions_changed(db);
    db.exec(
        "UPDATE subscriptions SET enabled = ?2, disabled_reason = ?3, failing_since = NULL, updated_at = ?4
         WHERE id = ?1",
        args![id, enabled, reason, millis(now)],
    )?;
    if !enabled {
        db.exec(
            "UPDATE webhook_deliveries SET status = 'failed' WHERE subscription_id = ?1 AND status = 'pending'",
            args![id],
        )?;
    }
    get(db, id)
}

/// Deletes a subscription and its deliveries; false when there was none.
pub fn delete(db: &Db<'_>, id: &str) -> Result<bool, StoreError> {
    subscriptions_changed(db);
    db.exec(
        "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE subscription_id = ?1)",
        args![id],
    )?;
    db.exec(
        "DELETE FROM webhook_deliveries WHERE subscription_id = ?1",
        args![id],
    )?;
    Ok(db.exec("DELETE FROM subscriptions WHERE id = ?1", args![id])? > 0)
}

/// Queues one outbound delivery of an event about a call (its payload rendered by the
/// caller) for a subscription.
pub fn queue_delivery(
    db: &Db<'_>,
    subscription_id: &str,
    event: &QueuedEvent<'_>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    db.exec(
        "INSERT INTO webhook_deliveries (id, subscription_id, event_type, call_id, sequence, payload, status,
             next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)",
        args![
            id,
            subscription_id,
            event.event_type,
            event.call_id,
            event.sequence,
            event.payload,
            millis(now)
        ],
    )?;
    Ok(())
}

/// An outbound event about a call, as its deliveries store it.
#[derive(Debug, Clone, Copy)]
pub struct QueuedEvent<'a> {
    pub event_type: &'a str,
    pub call_id: &'a str,
    /// The call's event number (`calls.events_sent`).
    pub sequence: i64,
    /// The body sent, rendered above the store.
    pub payload: &'a str,
}

/// A delivery to attempt, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: String,
    pub subscription_id: String,
    pub url: String,
    pub sealed_secret: String,
    pub payload: String,
    pub attempts: i64,
}

/// Claims the deliveries due at `now` until `lease_until` (see `outbox::claim`: the same
/// lease, the same skipping of rows another instance is claiming).
pub fn claim(
    db: &Db<'_>,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: usize,
) -> Result<Vec<Due>, StoreError> {
    let lock = db.skip_locked(Some("d"));
    super::claim_due(
        db,
        "webhook_deliveries",
        &format!(
            "SELECT d.id, d.subscription_id, s.url, s.secret, d.payload, d.attempts
             FROM webhook_deliveries d JOIN subscriptions s ON s.id = d.subscription_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND s.enabled = 1
             ORDER BY d.next_attempt_at, d.id LIMIT ?2{lock}"
        ),
        args![millis(now), i64::try_from(limit).unwrap_or(100)],
        |r| {
            Ok(Due {
                id: r.get(0)?,
                subscription_id: r.get(1)?,
                url: r.get(2)?,
                sealed_secret: r.get(3)?,
                payload: r.get(4)?,
                attempts: r.get(5)?,
            })
        },
        |d| Arg::Text(&d.id),
        lease_until,
    )
}

/// Gives back claimed deliveries a worker did not finish (see [`super::release`]).
pub fn release(
    db: &Db<'_>,
    ids: &[String],
    leased_until: OffsetDateTime,
    due_at: OffsetDateTime,
) -> Result<usize, StoreError> {
    let ids = ids.iter().map(|id| Arg::Text(id));
    super::release(db, "webhook_deliveries", ids, leased_until, due_at)
}

/// The earliest pending attempt, to know how long the worker may sleep.
pub fn next_due(db: &Db<'_>) -> Result<Option<OffsetDateTime>, StoreError> {
    let at: Option<i64> = db.query_one(
        "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'",
        args![],
        |r| r.get(0),
    )?;
    Ok(at.map(from_millis))
}

fn log_attempt(
    db: &Db<'_>,
    due: &Due,
    status: Option<u16>,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            due.id,
            due.attempts + 1,
            millis(now),
            status.map(i64::from),
            error
        ],
    )?;
    Ok(())
}

/// The endpoint took the delivery.
pub fn delivered(
    db: &Db<'_>,
    due: &Due,
    status: u16,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    log_attempt(db, due, Some(status), None, now)?;
    db.exec(
        "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?2,
             last_error = NULL, delivered_at = ?3
         WHERE id = ?1",
        args![due.id, i64::from(status), millis(now)],
    )?;
    db.exec(
        "UPDATE subscriptions SET failing_since = NULL WHERE id = ?1",
        args![due.subscription_id],
    )?;
    Ok(())
}

/// The attempt failed: the next one is at `next`, unless the subscription has now failed
/// for `disable_after` without a success, which disables it. Returns whether it did.
pub fn failed(
    db: &Db<'_>,
    due: &Due,
    status: Option<u16>,
    error: &str,
    next: OffsetDateTime,
    disable_after: std::time::Duration,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    log_attempt(db, due, status, Some(error), now)?;
    db.exec(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?2, last_status = ?3,
             last_error = ?4
         WHERE id = ?1",
        args![due.id, millis(next), status.map(i64::from), error],
    )?;
    db.exec(
        "UPDATE subscriptions SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1",
        args![due.subscription_id, millis(now)],
    )?;
    let Some(sub) = get(db, &due.subscription_id)? else {
        return Ok(false);
    };
    let failing_for = sub.failing_since.map_or(time::Duration::ZERO, |t| now - t);
    if !sub.enabled || failing_for < disable_after {
        return Ok(false);
    }
    let reason = format!(
        "every delivery failed for {} s (last: {error})",
        failing_for.whole_seconds()
    );
    disable(db, &sub.id, &reason, now)?;
    Ok(true)
}

/// The endpoint answered `status` (410 Gone): it wants no more deliveries. The attempt is
/// logged, and the subscription disabled at once (its pending deliveries fail), audited as
/// any automatic disabling is.
pub fn gone(db: &Db<'_>, due: &Due, status: u16, now: OffsetDateTime) -> Result<(), StoreError> {
    let error = format!("the endpoint answered {status} Gone");
    log_attempt(db, due, Some(status), Some(&error), now)?;
    db.exec(
        "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, last_status = ?2,
             last_error = ?3
         WHERE id = ?1",
        args![due.id, i64::from(status), error],
    )?;
    let Some(sub) = get(db, &due.subscription_id)? else {
        return Ok(());
    };
    if sub.enabled {
        let reason = format!("{error}: it asks for no more deliveries");
        disable(db, &sub.id, &reason, now)?;
    }
    Ok(())
}

/// Disables a subscription on callgate's own decision, with the audit entry
/// `subscription.disabled` (actor `system`).
fn disable(db: &Db<'_>, id: &str, reason: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    set_enabled(db, id, false, Some(reason), now)?;
    audit::record(
        db,
        now,
        "system",
        "subscription.disabled",
        None,
        None,
        &serde_json::json!({ "subscription_id": id, "reason": reason }),
    )?;
    Ok(())
}

/// One attempt, as logged.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attempt {
    pub attempt: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status: Option<i64>,
    pub error: Option<String>,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryView {
    pub id: String,
    pub subscription_id: String,
    pub event_type: String,
    pub call_id: Option<String>,
    pub sequence: Option<i64>,
    pub status: String,
    pub attempts: Vec<Attempt>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    pub payload: serde_json::Value,
}

const DELIVERY_COLUMNS: &str = "id, subscription_id, event_type, call_id, sequence, status, next_attempt_at, created_at, delivered_at, payload";

fn delivery_from_row(r: &Row<'_, '_>) -> Result<DeliveryView, StoreError> {
    let status: String = r.get(5)?;
    let pending = status == "pending";
    Ok(DeliveryView {
        id: r.get(0)?,
        subscription_id: r.get(1)?,
        event_type: r.get(2)?,
        call_id: r.get(3)?,
        sequence: r.get(4)?,
        status,
        attempts: Vec::new(),
        next_attempt_at: pending
            .then(|| r.get::<i64>(6))
            .transpose()?
            .map(from_millis),
        created_at: from_millis(r.get(7)?),
        delivered_at: r.get::<Option<i64>>(8)?.map(from_millis),
        payload: serde_json::from_str(&r.get::<String>(9)?)?,
    })
}

fn with_attempts(
    db: &Db<'_>,
    mut views: Vec<DeliveryView>,
) -> Result<Vec<DeliveryView>, StoreError> {
    let mut by_id: BTreeMap<String, Vec<Attempt>> = BTreeMap::new();
    for v in &views {
        let attempts = db.query(
            "SELECT attempt, at, status, error FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY attempt",
            args![v.id],
            |r| {
                Ok(Attempt {
                    attempt: r.get(0)?,
                    at: from_millis(r.get(1)?),
                    status: r.get(2)?,
                    error: r.get(3)?,
                })
            },
        )?;
        by_id.insert(v.id.clone(), attempts);
    }
    for v in &mut views {
        v.attempts = by_id.remove(&v.id).unwrap_or_default();
    }
    Ok(views)
}

/// A subscription's deliveries, newest first, with their attempts.
pub fn deliveries(
    db: &Db<'_>,
    subscription_id: &str,
    limit: usize,
) -> Result<Vec<DeliveryView>, StoreError> {
    let views = db.query(
        &format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE subscription_id = ?1
             ORDER BY created_at DESC, id DESC LIMIT ?2"
        ),
        args![subscription_id, i64::try_from(limit).unwrap_or(100)],
        delivery_from_row,
    )?;
    with_attempts(db, views)
}

/// Sends a delivery again, with the same id, whatever became of it (`None`: no such
/// delivery). Its subscription must be enabled to send it.
pub fn replay(
    db: &Db<'_>,
    id: &str,
    now: OffsetDateTime,
) -> Result<Option<DeliveryView>, StoreError> {
    db.exec(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?2 WHERE id = ?1",
        args![id, millis(now)],
    )?;
    let views = db.query(
        &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?1"),
        args![id],
        delivery_from_row,
    )?;
    Ok(with_attempts(db, views)?.pop())
}
