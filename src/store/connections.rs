//! Provider connections. Secrets arrive here already sealed; the store never sees them in
//! clear.

use super::Signal;
use super::StoreError;
use super::db::{Db, Row, args};
use super::{from_millis, millis};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A stored connection.
#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub id: String,
    pub provider: String,
    pub name: String,
    pub enabled: bool,
    pub options: BTreeMap<String, String>,
    pub secret_names: Vec<String>,
    pub sealed_current: String,
    pub sealed_previous: Option<String>,
    pub previous_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str = "id, provider, name, enabled, options, secret_names, secrets, previous_secrets, previous_until, created_at, updated_at";

type Raw = (ConnectionRow, String, String);

fn from_row(r: &Row<'_, '_>) -> Result<Raw, StoreError> {
    Ok((
        ConnectionRow {
            id: r.get(0)?,
            provider: r.get(1)?,
            name: r.get(2)?,
            enabled: r.flag(3)?,
            options: BTreeMap::new(),
            secret_names: Vec::new(),
            sealed_current: r.get(6)?,
            sealed_previous: r.get(7)?,
            previous_until: r.get::<Option<i64>>(8)?.map(from_millis),
            created_at: from_millis(r.get(9)?),
            updated_at: from_millis(r.get(10)?),
        },
        r.get(4)?,
        r.get(5)?,
    ))
}

fn decode((mut row, options, names): Raw) -> Result<ConnectionRow, StoreError> {
    row.options = serde_json::from_str(&options)?;
    row.secret_names = serde_json::from_str(&names)?;
    Ok(row)
}

pub fn insert(db: &Db<'_>, c: &ConnectionRow) -> Result<(), StoreError> {
    db.exec(&format!(
        "INSERT INTO connections ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ), args![c.id, c.provider, c.name, c.enabled, serde_json::to_string(&c.options)?, serde_json::to_string(&c.secret_names)?, c.sealed_current, c.sealed_previous, c.previous_until.map(millis), millis(c.created_at), millis(c.updated_at)])?;
    // Another instance may have cached the id as unknown.
    db.announce(&Signal::Connection { id: c.id.clone() })
}

pub fn get(db: &Db<'_>, id: &str) -> Result<Option<ConnectionRow>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM connections WHERE id = ?1"),
        args![id],
        from_row,
    )?
    .map(decode)
    .transpose()
}

pub fn list(db: &Db<'_>) -> Result<Vec<ConnectionRow>, StoreError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM connections ORDER BY created_at, id"),
        args![],
        from_row,
    )?
    .into_iter()
    .map(decode)
    .collect()
}

pub fn set_enabled(
    db: &Db<'_>,
    id: &str,
    enabled: bool,
    now: OffsetDateTime,
) -> Result<Option<ConnectionRow>, StoreError> {
    db.exec(
        "UPDATE connections SET enabled = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, enabled, millis(now)],
    )?;
    db.announce(&Signal::Connection { id: id.to_owned() })?;
    get(db, id)
}

/// Replaces the current secrets; the old ones stay accepted until `previous_until`.
pub fn rotate(
    db: &Db<'_>,
    id: &str,
    sealed_current: &str,
    names: &[String],
    sealed_previous: &str,
    previous_until: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    db.exec("UPDATE connections SET secrets = ?2, secret_names = ?3, previous_secrets = ?4, previous_until = ?5, updated_at = ?6
         WHERE id = ?1", args![id, sealed_current, serde_json::to_string(names)?, sealed_previous, millis(previous_until), millis(now)])?;
    db.announce(&Signal::Connection { id: id.to_owned() })
}
