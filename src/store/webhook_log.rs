//! What came in on a connection, for ops: the refusal log (`webhook_refusals`, bounded per
//! connection) and a summary of the deliveries it accepted (`deliveries`, with their events
//! counted). Neither holds a header value, a secret or a signature.

use super::StoreError;
use super::db::{Db, Dialect, Row, args};
use super::{Listing, from_millis, millis};
use time::OffsetDateTime;

/// Refusals kept per connection (and for the paths that named no connection, together): the
/// write that records one deletes the older ones past this.
pub const KEEP_PER_CONNECTION: i64 = 200;

/// Bytes of a refused body that are kept, at most.
pub const BODY_PREFIX: usize = 256;

/// A refused webhook, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefusal {
    /// The connection the path named, when callgate has it (disabled, or of another
    /// provider); `None` otherwise.
    pub connection_id: Option<String>,
    /// The provider the path named (`unknown` when no adapter has that id).
    pub provider: String,
    pub at: OffsetDateTime,
    /// The stable code of the refusal (`invalid_signature`, `unknown_connection`, ...).
    pub reason: String,
    /// Which check failed, when there are several under one reason (`bad_signature`,
    /// `stale`, `missing_header`, `missing_field`, ...).
    pub failed_check: Option<String>,
    /// A sentence on what failed, naming no value of the request beyond the body's.
    pub detail: Option<String>,
    /// The URL the request was checked against: the configured public URL, its path and query.
    pub url: String,
    /// How far the signed timestamp was from callgate's clock, when that refused it.
    pub skew_secs: Option<i64>,
    pub method: String,
    pub content_type: Option<String>,
    /// The body's size in bytes (its declared length when it was too large to be read).
    pub body_size: i64,
    /// The first [`BODY_PREFIX`] bytes of the body, at most.
    pub body_prefix: Vec<u8>,
}

/// A recorded refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Increases with every refusal: the listing's order and cursor.
    pub id: i64,
    pub refusal: NewRefusal,
}

/// Records a refusal and deletes its connection's refusals past the newest
/// [`KEEP_PER_CONNECTION`], in the same write.
pub fn record(db: &Db<'_>, r: &NewRefusal) -> Result<(), StoreError> {
    let connection = r.connection_id.as_deref().unwrap_or("");
    let prefix = &r.body_prefix[..r.body_prefix.len().min(BODY_PREFIX)];
    db.exec(
        "INSERT INTO webhook_refusals (connection_id, provider, at, reason, failed_check, detail,
             url, skew_secs, method, content_type, body_size, body_prefix)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        args![
            connection,
            r.provider,
            millis(r.at),
            r.reason,
            r.failed_check,
            r.detail,
            r.url,
            r.skew_secs,
            r.method,
            r.content_type,
            r.body_size,
            prefix
        ],
    )?;
    db.exec(
        "DELETE FROM webhook_refusals WHERE connection_id = ?1 AND id <= (
             SELECT id FROM webhook_refusals WHERE connection_id = ?1
             ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        args![connection, KEEP_PER_CONNECTION],
    )?;
    Ok(())
}

fn refusal_from_row(r: &Row<'_, '_>) -> Result<Refusal, StoreError> {
    let connection: String = r.get(1)?;
    Ok(Refusal {
        id: r.get(0)?,
        refusal: NewRefusal {
            connection_id: (!connection.is_empty()).then_some(connection),
            provider: r.get(2)?,
            at: from_millis(r.get(3)?),
            reason: r.get(4)?,
            failed_check: r.get(5)?,
            detail: r.get(6)?,
            url: r.get(7)?,
            skew_secs: r.get(8)?,
            method: r.get(9)?,
            content_type: r.get(10)?,
            body_size: r.get(11)?,
            body_prefix: r.get(12)?,
        },
    })
}

/// The refusals of a connection, newest first, older than `before_id` when given.
pub fn refusals(
    db: &Db<'_>,
    connection_id: &str,
    before_id: Option<i64>,
    limit: usize,
) -> Result<Vec<Refusal>, StoreError> {
    let mut q = Listing::new(
        "SELECT id, connection_id, provider, at, reason, failed_check, detail, url, skew_secs,
             method, content_type, body_size, body_prefix
         FROM webhook_refusals WHERE 1 = 1",
    );
    q.filter("connection_id =", Some(connection_id));
    q.filter("id <", before_id);
    q.run(db, "id DESC", limit, refusal_from_row)
}

/// Deletes up to `batch` refusals recorded before `before`, oldest first: how many it deleted.
/// They hold the first bytes of bodies, kept no longer than raw bodies are.
pub fn delete_refusals_before(
    db: &Db<'_>,
    before: OffsetDateTime,
    batch: i64,
) -> Result<u64, StoreError> {
    let n = db.exec(
        "DELETE FROM webhook_refusals WHERE id IN (
             SELECT id FROM webhook_refusals WHERE at < ?1 ORDER BY at LIMIT ?2)",
        args![millis(before), batch],
    )?;
    Ok(n as u64)
}

/// Deletes the refusals whose URL, detail or first bytes hold `needle` (an erased number's
/// digits, which every spelling of it holds): how many it deleted.
pub fn delete_refusals_holding(db: &Db<'_>, needle: &str) -> Result<u64, StoreError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "DELETE FROM webhook_refusals WHERE instr(body_prefix, ?1) > 0
                 OR instr(url, ?2) > 0 OR instr(COALESCE(detail, ''), ?2) > 0"
        }
        Dialect::Postgres => {
            "DELETE FROM webhook_refusals WHERE position(?1 IN body_prefix) > 0
                 OR position(?2 IN url) > 0 OR position(?2 IN COALESCE(detail, '')) > 0"
        }
    };
    let n = db.exec(sql, args![needle.as_bytes().to_vec(), needle])?;
    Ok(n as u64)
}

/// An accepted delivery of a connection, summed up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySummary {
    pub id: i64,
    pub received_at: OffsetDateTime,
    /// The HTTP method, or `LOOKUP` / `TIMEOUT` for what the reconciler stored.
    pub method: String,
    /// The path and query it was posted to.
    pub target: String,
    pub content_type: Option<String>,
    /// The raw body's size in bytes: 0 once retention emptied it.
    pub body_size: i64,
    /// Events it brought that were new (a repeated event is stored once, with its first
    /// delivery).
    pub events: i64,
}

/// The deliveries a connection accepted, newest first, older than `before_id` when given.
pub fn deliveries(
    db: &Db<'_>,
    connection_id: &str,
    before_id: Option<i64>,
    limit: usize,
) -> Result<Vec<DeliverySummary>, StoreError> {
    let mut q = Listing::new(
        "SELECT d.id, d.received_at, d.method, d.target, d.content_type, CAST(length(d.body) AS BIGINT),
             (SELECT COUNT(*) FROM events e WHERE e.delivery_id = d.id)
         FROM deliveries d WHERE 1 = 1",
    );
    q.filter("d.connection_id =", Some(connection_id));
    q.filter("d.id <", before_id);
    q.run(db, "d.id DESC", limit, |r| {
        Ok(DeliverySummary {
            id: r.get(0)?,
            received_at: from_millis(r.get(1)?),
            method: r.get(2)?,
            target: r.get(3)?,
            content_type: r.get(4)?,
            body_size: r.get(5)?,
            events: r.get(6)?,
        })
    })
}
