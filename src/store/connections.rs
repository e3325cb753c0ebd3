//! Provider connections. Secrets arrive here already sealed; the store never sees them in
//! clear.

use super::{from_millis, millis};
use crate::error::AppError;
use rusqlite::{Connection, OptionalExtension, Row, params};
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

fn from_row(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        ConnectionRow {
            id: r.get(0)?,
            provider: r.get(1)?,
            name: r.get(2)?,
            enabled: r.get(3)?,
            options: BTreeMap::new(),
            secret_names: Vec::new(),
            sealed_current: r.get(6)?,
            sealed_previous: r.get(7)?,
            previous_until: r.get::<_, Option<i64>>(8)?.map(from_millis),
            created_at: from_millis(r.get(9)?),
            updated_at: from_millis(r.get(10)?),
        },
        r.get(4)?,
        r.get(5)?,
    ))
}

fn decode((mut row, options, names): Raw) -> Result<ConnectionRow, AppError> {
    row.options = serde_json::from_str(&options)?;
    row.secret_names = serde_json::from_str(&names)?;
    Ok(row)
}

pub fn insert(conn: &Connection, c: &ConnectionRow) -> Result<(), AppError> {
    conn.prepare_cached(&format!(
        "INSERT INTO connections ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        c.id,
        c.provider,
        c.name,
        c.enabled,
        serde_json::to_string(&c.options)?,
        serde_json::to_string(&c.secret_names)?,
        c.sealed_current,
        c.sealed_previous,
        c.previous_until.map(millis),
        millis(c.created_at),
        millis(c.updated_at),
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<ConnectionRow>, AppError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM connections WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .map(decode)
        .transpose()
}

pub fn list(conn: &Connection) -> Result<Vec<ConnectionRow>, AppError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM connections ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.map(|r| decode(r?)).collect()
}

pub fn set_enabled(
    conn: &Connection,
    id: &str,
    enabled: bool,
    now: OffsetDateTime,
) -> Result<Option<ConnectionRow>, AppError> {
    conn.prepare_cached("UPDATE connections SET enabled = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, enabled, millis(now)])?;
    get(conn, id)
}

/// Replaces the current secrets; the old ones stay accepted until `previous_until`.
pub fn rotate(
    conn: &Connection,
    id: &str,
    sealed_current: &str,
    names: &[String],
    sealed_previous: &str,
    previous_until: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    conn.prepare_cached(
        "UPDATE connections SET secrets = ?2, secret_names = ?3, previous_secrets = ?4, previous_until = ?5, updated_at = ?6
         WHERE id = ?1",
    )?
    .execute(params![id, sealed_current, serde_json::to_string(names)?, sealed_previous, millis(previous_until), millis(now)])?;
    Ok(())
}
