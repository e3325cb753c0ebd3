//! Tenants, numbers, contacts, settings: the directory calls resolve against.

use super::StoreError;
use super::db::{Arg, Db, Row, ToArg, args};
use super::rows::{self, StatementsByRows};
use super::{from_millis, millis};
use crate::directory::SyncPlan;
use crate::domain::numbers::{self, NumberKind, Resolution};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// A tenant: one business of the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub tenant_id: String,
    pub name: String,
    pub zip_codes: Vec<String>,
    pub trades: Vec<String>,
    pub booking_url: Option<String>,
}

/// A number of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberEntry {
    pub e164: String,
    pub kind: NumberKind,
    pub tenant_id: Option<String>,
    pub tenant_ids: Vec<String>,
}

/// Inserts or replaces a tenant; true when it was new (or had been removed: writing it again
/// brings it back).
pub fn put_tenant(db: &Db<'_>, t: &Tenant, now: OffsetDateTime) -> Result<bool, StoreError> {
    let existed = tenant_exists(db, &t.tenant_id)?;
    db.exec("INSERT INTO tenants (id, name, zip_codes, trades, booking_url, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (id) DO UPDATE SET name = ?2, zip_codes = ?3, trades = ?4, booking_url = ?5, updated_at = ?6,
             removed_at = NULL", args![t.tenant_id, t.name, serde_json::to_string(&t.zip_codes)?, serde_json::to_string(&t.trades)?, t.booking_url, millis(now)])?;
    db.exec(
        "DELETE FROM tenant_zip WHERE tenant_id = ?1",
        args![t.tenant_id],
    )?;
    db.exec(
        "DELETE FROM tenant_trade WHERE tenant_id = ?1",
        args![t.tenant_id],
    )?;
    for zip in &t.zip_codes {
        db.exec(
            "INSERT INTO tenant_zip (zip, tenant_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            args![zip, t.tenant_id],
        )?;
    }
    for trade in &t.trades {
        db.exec(
            "INSERT INTO tenant_trade (trade, tenant_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            args![trade, t.tenant_id],
        )?;
    }
    Ok(!existed)
}

/// True when the tenant exists and has not been removed by a sync. Every read of tenants
/// below skips removed ones too.
pub fn tenant_exists(db: &Db<'_>, id: &str) -> Result<bool, StoreError> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM tenants WHERE id = ?1 AND removed_at IS NULL",
            args![id],
            |_| Ok(()),
        )?
        .is_some())
}

/// A tenant row's columns, still encoded.
type TenantColumns = (String, String, String, String, Option<String>);

fn tenant_from_row(r: &Row<'_, '_>) -> Result<TenantColumns, StoreError> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn decode_tenant(
    (tenant_id, name, zips, trades, booking_url): TenantColumns,
) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        tenant_id,
        name,
        zip_codes: serde_json::from_str(&zips)?,
        trades: serde_json::from_str(&trades)?,
        booking_url,
    })
}

pub fn get_tenant(db: &Db<'_>, id: &str) -> Result<Option<Tenant>, StoreError> {
    db.query_opt("SELECT id, name, zip_codes, trades, booking_url FROM tenants WHERE id = ?1 AND removed_at IS NULL", args![id], tenant_from_row)?
    .map(decode_tenant)
    .transpose()
}

pub fn list_tenants(db: &Db<'_>) -> Result<Vec<Tenant>, StoreError> {
    db.query(
        "SELECT id, name, zip_codes, trades, booking_url FROM tenants WHERE removed_at IS NULL ORDER BY id",
        args![],
        tenant_from_row,
    )?
    .into_iter()
    .map(decode_tenant)
    .collect()
}

/// Marks a tenant removed (a sync no longer found it upstream). Its rows stay: numbers,
/// contacts, chats and bookings come back with it if it is written again.
pub fn remove_tenant(db: &Db<'_>, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    db.exec(
        "UPDATE tenants SET removed_at = ?2, updated_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
        args![id, millis(now)],
    )?;
    Ok(())
}

/// Applies a sync plan (in the caller's transaction) and audits it.
pub fn apply_sync(
    db: &Db<'_>,
    plan: &SyncPlan,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for t in &plan.put {
        put_tenant(db, t, now)?;
    }
    for id in &plan.remove {
        remove_tenant(db, id, now)?;
    }
    let detail = serde_json::to_value(&plan.report)?;
    super::audit::record(db, now, actor, "tenants.synced", None, None, &detail)
}

/// Tenants serving `zip`, offering `trade` when given, optionally limited to `among`.
pub fn search_tenants(
    db: &Db<'_>,
    zip: &str,
    trade: Option<&str>,
    among: Option<&[String]>,
) -> Result<Vec<Tenant>, StoreError> {
    let rows = db.query(
        "SELECT t.id, t.name, t.zip_codes, t.trades, t.booking_url FROM tenants t
         JOIN tenant_zip z ON z.tenant_id = t.id AND z.zip = ?1
         WHERE t.removed_at IS NULL
           AND (CAST(?2 AS TEXT) IS NULL
                OR EXISTS (SELECT 1 FROM tenant_trade tt WHERE tt.tenant_id = t.id AND tt.trade = ?2))
         ORDER BY t.name, t.id",
        args![zip, trade],
        tenant_from_row,
    )?;
    let mut out = Vec::new();
    for r in rows {
        let t = decode_tenant(r)?;
        if among.is_none_or(|set| set.contains(&t.tenant_id)) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Inserts or replaces a number; true when it was new.
pub fn put_number(db: &Db<'_>, n: &NumberEntry, now: OffsetDateTime) -> Result<bool, StoreError> {
    let existed = db
        .query_opt(
            "SELECT 1 FROM numbers WHERE e164 = ?1",
            args![n.e164],
            |_| Ok(()),
        )?
        .is_some();
    db.exec("INSERT INTO numbers (e164, kind, tenant_id, tenant_ids, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (e164) DO UPDATE SET kind = ?2, tenant_id = ?3, tenant_ids = ?4, updated_at = ?5", args![n.e164, n.kind.as_str(), n.tenant_id, serde_json::to_string(&n.tenant_ids)?, millis(now)])?;
    Ok(!existed)
}

pub fn get_number(db: &Db<'_>, e164: &str) -> Result<Option<NumberEntry>, StoreError> {
    db.query_opt(
        "SELECT e164, kind, tenant_id, tenant_ids FROM numbers WHERE e164 = ?1",
        args![e164],
        number_from_row,
    )
}

/// A number row: `e164, kind, tenant_id, tenant_ids`.
fn number_from_row(r: &Row<'_, '_>) -> Result<NumberEntry, StoreError> {
    Ok(NumberEntry {
        e164: r.get(0)?,
        kind: parse_kind(&r.get::<String>(1)?)?,
        tenant_id: r.get(2)?,
        tenant_ids: serde_json::from_str(&r.get::<String>(3)?)?,
    })
}

pub fn list_numbers(db: &Db<'_>) -> Result<Vec<NumberEntry>, StoreError> {
    let ids: Vec<String> = db.query("SELECT e164 FROM numbers ORDER BY e164", args![], |r| {
        r.get(0)
    })?;
    ids.iter()
        .filter_map(|id| get_number(db, id).transpose())
        .collect()
}

fn parse_kind(s: &str) -> Result<NumberKind, StoreError> {
    match s {
        "local" => Ok(NumberKind::Local),
        "national" => Ok(NumberKind::National),
        "regional" => Ok(NumberKind::Regional),
        other => Err(StoreError::Internal(format!(
            "stored number kind {other:?}"
        ))),
    }
}

/// How a number resolves now. Unlisted numbers: toll-free NANP is national, anything else
/// unknown (and counted). Removed tenants drop out: a local number of one is unknown, and a
/// regional number serves the rest of its set.
pub fn resolve(db: &Db<'_>, number: &str, now: OffsetDateTime) -> Result<Resolution, StoreError> {
    resolve_many(db, &[number], now)?
        .pop()
        .ok_or_else(|| StoreError::Internal("no resolution".into()))
}

static NUMBERS_IN: StatementsByRows = StatementsByRows::new(|rows| {
    format!(
        "SELECT e164, kind, tenant_id, tenant_ids FROM numbers WHERE e164 {}",
        rows::one_of(rows)
    )
});

static CURRENT_TENANTS_IN: StatementsByRows = StatementsByRows::new(|rows| {
    format!(
        "SELECT id FROM tenants WHERE removed_at IS NULL AND id {}",
        rows::one_of(rows)
    )
});

static COUNT_UNKNOWN: StatementsByRows = StatementsByRows::new(|rows| {
    format!(
        "INSERT INTO unknown_number_calls (e164, at) VALUES {}",
        rows::values(rows, &["?", "?"])
    )
});

/// [`resolve`] for each of `numbers`, in their order, with a few statements for all (one
/// call's number each: a number listed twice is resolved, and counted, twice).
pub fn resolve_many(
    db: &Db<'_>,
    numbers: &[&str],
    now: OffsetDateTime,
) -> Result<Vec<Resolution>, StoreError> {
    let mut distinct: Vec<&str> = numbers.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut listed: HashMap<String, NumberEntry> = HashMap::new();
    for run in rows::runs(db.dialect(), distinct.len()) {
        let args: Vec<Arg<'_>> = distinct[run.clone()].iter().map(|n| n.to_arg()).collect();
        for entry in db.query(NUMBERS_IN.get(run.len()), &args, number_from_row)? {
            listed.insert(entry.e164.clone(), entry);
        }
    }
    let mut tenants: Vec<&str> = listed
        .values()
        .flat_map(|n| n.tenant_id.iter().chain(&n.tenant_ids))
        .map(String::as_str)
        .collect();
    tenants.sort_unstable();
    tenants.dedup();
    let mut current: HashSet<String> = HashSet::new();
    for run in rows::runs(db.dialect(), tenants.len()) {
        let args: Vec<Arg<'_>> = tenants[run.clone()].iter().map(|t| t.to_arg()).collect();
        current.extend(db.query(CURRENT_TENANTS_IN.get(run.len()), &args, |r| r.get(0))?);
    }

    let resolutions: Vec<Resolution> = numbers
        .iter()
        .map(|&number| resolution(number, listed.get(number), &current))
        .collect();

    let unknown: Vec<&str> = resolutions
        .iter()
        .zip(numbers)
        .filter(|(r, _)| !listed.contains_key(r.number.as_str()))
        .map(|(_, n)| *n)
        .collect();
    let at = millis(now);
    for run in rows::runs(db.dialect(), unknown.len()) {
        let args: Vec<Arg<'_>> = unknown[run.clone()]
            .iter()
            .flat_map(|n| [n.to_arg(), Arg::Int(at)])
            .collect();
        db.exec(COUNT_UNKNOWN.get(run.len()), &args)?;
    }
    for _ in &unknown {
        crate::telemetry::unknown_number();
    }
    Ok(resolutions)
}

/// How `number` resolves, as the directory lists it (`None`: not listed), among the
/// `current` tenants.
fn resolution(number: &str, listed: Option<&NumberEntry>, current: &HashSet<String>) -> Resolution {
    let Some(n) = listed else {
        return Resolution {
            number: number.to_owned(),
            kind: numbers::unlisted_kind(number),
            tenant_id: None,
            tenant_ids: Vec::new(),
            forwarded_from: None,
            via_forwarded: false,
        };
    };
    // A local number whose tenant is gone no longer resolves to it.
    let tenant_id = n.tenant_id.clone().filter(|t| current.contains(t));
    let kind = if n.kind == NumberKind::Local && tenant_id.is_none() {
        NumberKind::Unknown
    } else {
        n.kind
    };
    Resolution {
        number: number.to_owned(),
        kind,
        tenant_id,
        tenant_ids: n
            .tenant_ids
            .iter()
            .filter(|t| current.contains(*t))
            .cloned()
            .collect(),
        forwarded_from: None,
        via_forwarded: false,
    }
}

/// A dialed number the directory does not list, with how its calls resolve meanwhile
/// (`national` for a toll-free NANP number, else `unknown`).
#[derive(Debug, Clone, Serialize)]
pub struct UnknownNumber {
    pub e164: String,
    pub kind: NumberKind,
    pub calls: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

/// The numbers calls dialed that the directory does not list now (a number listed since
/// is no longer unknown), most calls first.
pub fn unknown_numbers(db: &Db<'_>) -> Result<Vec<UnknownNumber>, StoreError> {
    db.query(
        "SELECT u.e164, COUNT(*), MIN(u.at), MAX(u.at) FROM unknown_number_calls u
         WHERE NOT EXISTS (SELECT 1 FROM numbers n WHERE n.e164 = u.e164)
         GROUP BY u.e164 ORDER BY COUNT(*) DESC, u.e164",
        args![],
        |r| {
            let e164: String = r.get(0)?;
            Ok(UnknownNumber {
                kind: numbers::unlisted_kind(&e164),
                e164,
                calls: r.get(1)?,
                first_seen: from_millis(r.get(2)?),
                last_seen: from_millis(r.get(3)?),
            })
        },
    )
}

pub fn put_contact(
    db: &Db<'_>,
    tenant_id: &str,
    e164: &str,
    name: &str,
) -> Result<bool, StoreError> {
    let existed = db
        .query_opt(
            "SELECT 1 FROM contacts WHERE tenant_id = ?1 AND e164 = ?2",
            args![tenant_id, e164],
            |_| Ok(()),
        )?
        .is_some();
    db.exec(
        "INSERT INTO contacts (tenant_id, e164, name) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_id, e164) DO UPDATE SET name = ?3",
        args![tenant_id, e164, name],
    )?;
    Ok(!existed)
}

pub fn contact_name(
    db: &Db<'_>,
    tenant_id: &str,
    e164: &str,
) -> Result<Option<String>, StoreError> {
    db.query_opt(
        "SELECT name FROM contacts WHERE tenant_id = ?1 AND e164 = ?2",
        args![tenant_id, e164],
        |r| r.get(0),
    )
}

/// The network's national search mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    #[default]
    ZipAndTrade,
    ZipOnly,
    None,
}

/// Network settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Settings {
    pub national_search_mode: SearchMode,
}

pub fn settings(db: &Db<'_>) -> Result<Settings, StoreError> {
    let raw: Option<String> = db.query_opt(
        "SELECT value FROM settings WHERE key = 'network'",
        args![],
        |r| r.get(0),
    )?;
    Ok(raw
        .map(|s| serde_json::from_str(&s))
        .transpose()?
        .unwrap_or_default())
}

pub fn put_settings(db: &Db<'_>, s: &Settings) -> Result<(), StoreError> {
    db.exec("INSERT INTO settings (key, value) VALUES ('network', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1", args![serde_json::to_string(s)?])?;
    Ok(())
}
