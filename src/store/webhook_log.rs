//! What came in on a connection, for ops: the refusal log (`webhook_refusals`, bounded per
//! connection) and a summary of the deliveries it accepted (`deliveries`, with the count of
//! new events each brought). Neither holds a header value, a secret or a signature.

use super::StoreError;
use super::db::{Db, Dialect, Row, args};
use super::{Listing, from_millis, millis};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

impl Refusal {
    /// The refusal as the API shows it (the connection's refusal log, a privacy export). The
    /// body's first bytes are text (invalid UTF-8 replaced).
    pub fn to_json(&self) -> Value {
        let f = &self.refusal;
        json!({
            "id": self.id.to_string(),
            "at": f.at.format(&Rfc3339).unwrap_or_default(),
            "provider": f.provider,
            "reason": f.reason,
            "failed_check": f.failed_check,
            "detail": f.detail,
            "url": f.url,
            "skew_secs": f.skew_secs,
            "method": f.method,
            "content_type": f.content_type,
            "body_size": f.body_size,
            "body_prefix": String::from_utf8_lossy(&f.body_prefix),
            "body_truncated": f.body_size > i64::try_from(f.body_prefix.len()).unwrap_or(i64::MAX),
        })
    }
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

const REFUSAL_COLUMNS: &str = "id, connection_id, provider, at, reason, failed_check, detail, url,
     skew_secs, method, content_type, body_size, body_prefix";

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
    let sql = format!("SELECT {REFUSAL_COLUMNS} FROM webhook_refusals WHERE 1 = 1");
    let mut q = Listing::new(&sql);
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

/// Which refusals hold `?1` (bytes) and `?2` (text), an erased number's digits, in their URL,
/// detail or first bytes: what erasure deletes and an export lists.
fn holding(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "instr(body_prefix, ?1) > 0 OR instr(url, ?2) > 0 OR instr(COALESCE(detail, ''), ?2) > 0"
        }
        Dialect::Postgres => {
            "position(?1 IN body_prefix) > 0
                 OR position(?2 IN url) > 0 OR position(?2 IN COALESCE(detail, '')) > 0"
        }
    }
}

/// Deletes the refusals whose URL, detail or first bytes hold `needle` (an erased number's
/// digits, which every spelling of it holds): how many it deleted.
pub fn delete_refusals_holding(db: &Db<'_>, needle: &str) -> Result<u64, StoreError> {
    let sql = format!(
        "DELETE FROM webhook_refusals WHERE {}",
        holding(db.dialect())
    );
    let n = db.exec(&sql, args![needle.as_bytes().to_vec(), needle])?;
    Ok(n as u64)
}

/// The refusals [`delete_refusals_holding`] would delete, oldest first.
pub fn refusals_holding(db: &Db<'_>, needle: &str) -> Result<Vec<Refusal>, StoreError> {
    let sql = format!(
        "SELECT {REFUSAL_COLUMNS} FROM webhook_refusals WHERE {} ORDER BY id",
        holding(db.dialect())
    );
    db.query(
        &sql,
        args![needle.as_bytes().to_vec(), needle],
        refusal_from_row,
    )
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

/// Deliveries (of every connection) one page of a connection's reads at most, newest first:
/// a connection's deliveries are found among the newest by a scan of the primary key, so that
/// listing them asks no index of ingest.
pub const SCANNED: i64 = 10_000;

/// A page of a connection's deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPage {
    /// Newest first.
    pub deliveries: Vec<DeliverySummary>,
    /// Where the next page starts (deliveries below this id); `None` when none is left.
    /// A page that read [`SCANNED`] deliveries without filling up ends early, with this set.
    pub next_before: Option<i64>,
}

/// The deliveries a connection accepted, newest first, below `before_id` when given: at most
/// `limit`, found among the [`SCANNED`] newest deliveries below it.
pub fn deliveries(
    db: &Db<'_>,
    connection_id: &str,
    before_id: Option<i64>,
    limit: usize,
) -> Result<DeliveryPage, StoreError> {
    deliveries_within(db, connection_id, before_id, limit, SCANNED)
}

/// [`deliveries`], found among the `scanned` newest deliveries below `before_id`.
fn deliveries_within(
    db: &Db<'_>,
    connection_id: &str,
    before_id: Option<i64>,
    limit: usize,
    scanned: i64,
) -> Result<DeliveryPage, StoreError> {
    let before = before_id.unwrap_or(i64::MAX);
    let deliveries = db.query(
        "SELECT id, received_at, method, target, content_type, body_size, events FROM (
             SELECT id, connection_id, received_at, method, target, content_type,
                 CAST(length(body) AS BIGINT) AS body_size, events
             FROM deliveries WHERE id < ?1 ORDER BY id DESC LIMIT ?2) AS scanned
         WHERE connection_id = ?3 ORDER BY id DESC LIMIT ?4",
        args![
            before,
            scanned,
            connection_id,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| {
            Ok(DeliverySummary {
                id: r.get(0)?,
                received_at: from_millis(r.get(1)?),
                method: r.get(2)?,
                target: r.get(3)?,
                content_type: r.get(4)?,
                body_size: r.get(5)?,
                events: r.get(6)?,
            })
        },
    )?;
    let next_before = match deliveries.last() {
        Some(last) if deliveries.len() == limit => Some(last.id),
        // The scan's last delivery, when one is left below it.
        _ => {
            let edge: Vec<i64> = db.query(
                "SELECT id FROM deliveries WHERE id < ?1 ORDER BY id DESC LIMIT 2 OFFSET ?2",
                args![before, scanned - 1],
                |r| r.get(0),
            )?;
            (edge.len() == 2).then(|| edge[0])
        }
    };
    Ok(DeliveryPage {
        deliveries,
        next_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Stores one delivery of `connection_id` per name, in order; returns their ids.
    fn deliver(db: &Db<'_>, connections: &[&str]) -> Vec<i64> {
        connections
            .iter()
            .map(|c| {
                db.query_one(
                    "INSERT INTO deliveries (connection_id, digest, received_at, method, target, body, events)
                     VALUES (?1, ?2, 0, 'POST', '/webhooks/twilio/x', ?2, 1) RETURNING id",
                    args![*c, b"x".to_vec()],
                    |r| r.get(0),
                )
                .unwrap()
            })
            .collect()
    }

    fn ids(page: &DeliveryPage) -> Vec<i64> {
        page.deliveries.iter().map(|d| d.id).collect()
    }

    /// A page reads at most its window of the newest deliveries: a connection quiet in it
    /// gets an empty page that says where to read on, and every delivery of it is found by
    /// following the cursors, none twice.
    #[tokio::test]
    async fn a_connection_s_deliveries_are_found_window_by_window() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let pages = store
            .write(|db| {
                let quiet = deliver(db, &["a", "b", "a"]);
                deliver(db, &["b"; 7]);
                let mut pages = Vec::new();
                let mut before = None;
                loop {
                    let page = deliveries_within(db, "a", before, 2, 4)?;
                    before = page.next_before;
                    pages.push(page);
                    if before.is_none() {
                        break;
                    }
                }
                Ok::<_, StoreError>((quiet, pages))
            })
            .await
            .unwrap();
        let (quiet, pages) = pages;
        let found: Vec<Vec<i64>> = pages.iter().map(ids).collect();
        assert_eq!(found, vec![vec![], vec![quiet[2]], vec![quiet[0]]]);
        // An empty page's cursor is the last delivery it read: the window moves by four.
        assert_eq!(pages[0].next_before, Some(quiet[2] + 4));
        assert_eq!(pages[1].next_before, Some(quiet[2]));
        assert!(pages[2].deliveries.iter().all(|d| d.events == 1));
    }

    /// A full page ends at its last delivery, and the last window ends the walk.
    #[tokio::test]
    async fn a_full_page_continues_after_its_last_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let (made, first, rest) = store
            .write(|db| {
                let made = deliver(db, &["a"; 3]);
                let first = deliveries_within(db, "a", None, 2, 100)?;
                let rest = deliveries_within(db, "a", first.next_before, 2, 100)?;
                Ok::<_, StoreError>((made, first, rest))
            })
            .await
            .unwrap();
        assert_eq!(ids(&first), [made[2], made[1]]);
        assert_eq!(first.next_before, Some(made[1]));
        assert_eq!(ids(&rest), [made[0]]);
        assert_eq!(rest.next_before, None);
    }
}
