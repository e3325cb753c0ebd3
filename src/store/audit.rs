//! The audit trail: who did what, and when. Rows are only ever appended.

use super::StoreError;
use super::db::{Db, Row, args};
use super::{Listing, calls, from_millis, millis};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Appends an audit record. `actor` is the acting principal's id (`bootstrap`, a user id),
/// `ops` for the command line, or `system` for the pipeline.
pub fn record(
    db: &Db<'_>,
    at: OffsetDateTime,
    actor: &str,
    action: &str,
    call_id: Option<&str>,
    tenant_id: Option<&str>,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO audit (at, actor, action, call_id, tenant_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![millis(at), actor, action, call_id, tenant_id, detail.to_string()],
    )?;
    Ok(())
}

/// One audit record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// Increases with every record: the order of the trail, and the listing's cursor.
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub call_id: Option<String>,
    pub tenant_id: Option<String>,
    pub detail: serde_json::Value,
}

const COLUMNS: &str = "a.id, a.at, a.actor, a.action, a.call_id, a.tenant_id, a.detail";

fn from_row(r: &Row<'_, '_>) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: from_millis(r.get(1)?),
        actor: r.get(2)?,
        action: r.get(3)?,
        call_id: r.get(4)?,
        tenant_id: r.get(5)?,
        detail: serde_json::from_str(&r.get::<String>(6)?).unwrap_or_default(),
    })
}

/// The entries matching `condition` (on `audit`, its parameter `?1` being `param`), oldest
/// first.
pub fn matching(db: &Db<'_>, condition: &str, param: &str) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM audit a WHERE {condition} ORDER BY a.id");
    db.query(&sql, args![param], from_row)
}

/// The audit trail of one call, oldest first.
pub fn of_call(db: &Db<'_>, call_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM audit a WHERE a.call_id = ?1 ORDER BY a.id");
    db.query(&sql, args![call_id], from_row)
}

/// Filters of the audit listing. Each given filter must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub call_id: Option<String>,
    pub tenant_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Records at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Records before this time.
    pub until: Option<OffsetDateTime>,
    /// Only records older than this id (the cursor).
    pub before_id: Option<i64>,
    /// `Some`: the reader sees only these tenants (see [`calls::visible_sql`]). A record is
    /// then listed when its tenant, if any, is among them and its call, if any, is visible.
    pub only_tenants: Option<BTreeSet<String>>,
    pub limit: usize,
}

/// Audit records, newest first.
pub fn list(db: &Db<'_>, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let mut q = Listing::new(&format!("SELECT {COLUMNS} FROM audit a WHERE 1 = 1"));
    q.filter("a.call_id =", f.call_id.clone());
    q.filter("a.tenant_id =", f.tenant_id.clone());
    q.filter("a.actor =", f.actor.clone());
    q.filter("a.action =", f.action.clone());
    q.filter("a.at >=", f.since.map(millis));
    q.filter("a.at <", f.until.map(millis));
    q.filter("a.id <", f.before_id);
    if let Some(tenants) = &f.only_tenants {
        let n = q.bind(serde_json::to_string(tenants)?);
        q.and(&format!(
            "(a.tenant_id IS NULL OR a.tenant_id IN {})
             AND (a.call_id IS NULL OR EXISTS (SELECT 1 FROM calls c WHERE c.id = a.call_id AND {}))",
            db.json_array_values(n),
            calls::visible_sql(db, "c", n)
        ));
    }
    q.run(db, "a.id DESC", f.limit, from_row)
}
