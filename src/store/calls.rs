//! Calls: loading, saving with their derived columns, the gate's effects, agent actions and
//! queries.

use super::Signal;
use super::audit;
use super::db::{Db, Dialect, Row, args};
use super::{Listing, directory, from_millis, millis};
use crate::domain::gate::{self, RecordingStatus, TenantOutcome, TenantStatus};
use crate::domain::numbers::{self, Resolution};
use crate::domain::{CallFold, Selection};
use crate::error::AppError;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// A stored call.
#[derive(Debug, Clone)]
pub struct CallRow {
    pub seq: i64,
    pub id: String,
    pub connection_id: String,
    pub provider: String,
    pub provider_call_id: String,
    pub fold: CallFold,
    pub resolution: Option<Resolution>,
    pub agent_id: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl CallRow {
    fn new(
        id: String,
        connection_id: &str,
        provider: &str,
        provider_call_id: &str,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            seq: 0,
            id,
            connection_id: connection_id.to_owned(),
            provider: provider.to_owned(),
            provider_call_id: provider_call_id.to_owned(),
            fold: CallFold::default(),
            resolution: None,
            agent_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn tenant(&self) -> TenantOutcome {
        gate::tenant_outcome(&self.fold, self.resolution.as_ref())
    }

    pub fn recording_status(&self) -> RecordingStatus {
        let exists = self.fold.recordings.values().any(|r| r.exists());
        gate::recording_status(self.tenant().status, exists)
    }
}

/// The columns [`from_row`] reads, as a literal for `concat!` (statements stay `&'static`).
macro_rules! call_columns {
    () => {
        "seq, id, connection_id, provider, provider_call_id, fold, resolution, agent_id, created_at, updated_at"
    };
}

fn from_row(r: &Row<'_, '_>) -> Result<(CallRow, String, Option<String>), AppError> {
    Ok((
        CallRow {
            seq: r.get(0)?,
            id: r.get(1)?,
            connection_id: r.get(2)?,
            provider: r.get(3)?,
            provider_call_id: r.get(4)?,
            fold: CallFold::default(),
            resolution: None,
            agent_id: r.get(7)?,
            created_at: from_millis(r.get(8)?),
            updated_at: from_millis(r.get(9)?),
        },
        r.get(5)?,
        r.get(6)?,
    ))
}

fn decode(
    (mut row, fold, resolution): (CallRow, String, Option<String>),
) -> Result<CallRow, AppError> {
    row.fold = serde_json::from_str(&fold)?;
    row.resolution = resolution
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    Ok(row)
}

/// The call with callgate id `id`.
pub fn get(db: &Db<'_>, id: &str) -> Result<Option<CallRow>, AppError> {
    let sql = concat!("SELECT ", call_columns!(), " FROM calls WHERE id = ?1");
    db.query_opt(sql, args![id], from_row)?
        .map(decode)
        .transpose()
}

/// The call with callgate id `id`, locked until the transaction ends (on PostgreSQL; the
/// embedded store's single writer excludes other writers anyway).
fn get_for_update(db: &Db<'_>, id: &str) -> Result<Option<CallRow>, AppError> {
    let sql = format!(
        concat!("SELECT ", call_columns!(), " FROM calls WHERE id = ?1{}"),
        db.for_update()
    );
    db.query_opt(&sql, args![id], from_row)?
        .map(decode)
        .transpose()
}

/// Calls the writer thread stored recently, as stored, by provider call id: most deliveries
/// are about a call seen moments before, and this spares reading and decoding its row again.
/// Only the writer thread writes calls, and every write goes through [`save`] (or [`claim`]),
/// which put the entry back; the writer forgets them all when a transaction or a job's
/// savepoint is rolled back ([`forget_recent`]).
mod recent {
    use super::CallRow;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// Beyond this many calls, the memory starts over.
    const CAPACITY: usize = 4096;

    thread_local! {
        /// Keyed by the provider's call id alone (a lookup allocates nothing); an entry of
        /// another connection is a miss.
        static CALLS: RefCell<HashMap<String, CallRow>> = RefCell::new(HashMap::new());
    }

    /// Takes the call out: whoever changes it puts it back with [`put`].
    pub(super) fn take(connection_id: &str, provider_call_id: &str) -> Option<CallRow> {
        CALLS.with_borrow_mut(|calls| match calls.get(provider_call_id) {
            Some(call) if call.connection_id == connection_id => calls.remove(provider_call_id),
            _ => None,
        })
    }

    pub(super) fn put(call: &CallRow) {
        CALLS.with_borrow_mut(|calls| {
            if calls.len() >= CAPACITY {
                calls.clear();
            }
            calls.insert(call.provider_call_id.clone(), call.clone());
        });
    }

    pub(super) fn clear() {
        CALLS.with_borrow_mut(HashMap::clear);
    }
}

/// Forgets the calls the writer remembers: called when a rollback undid writes.
pub(super) fn forget_recent() {
    recent::clear();
}

/// The call a provider's call id names on a connection, created when first seen; the flag
/// says whether it existed. On PostgreSQL the call's row stays locked until the transaction
/// ends: deliveries of one call that reach several instances at once are folded one after
/// the other.
pub(super) fn get_or_create(
    db: &Db<'_>,
    connection_id: &str,
    provider: &str,
    provider_call_id: &str,
    now: OffsetDateTime,
) -> Result<(CallRow, bool), AppError> {
    let embedded = db.dialect() == Dialect::Sqlite;
    if embedded && let Some(call) = recent::take(connection_id, provider_call_id) {
        return Ok((call, true));
    }
    let select = if embedded {
        concat!(
            "SELECT ",
            call_columns!(),
            " FROM calls WHERE provider_call_id = ?1 AND connection_id = ?2"
        )
    } else {
        concat!(
            "SELECT ",
            call_columns!(),
            " FROM calls WHERE provider_call_id = ?1 AND connection_id = ?2 FOR UPDATE"
        )
    };
    if let Some(raw) = db.query_opt(select, args![provider_call_id, connection_id], from_row)? {
        return Ok((decode(raw)?, true));
    }
    let mut row = CallRow::new(new_id(), connection_id, provider, provider_call_id, now);
    // Another instance may create the same call at the same moment: the unique key lets one
    // insert win, and the other then reads (and locks) the winner's row.
    let inserted = db.insert_id(
        "INSERT INTO calls (id, connection_id, provider, provider_call_id, tenant_status, recording_status,
             fold, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', 'none', '{}', ?5, ?5)
         ON CONFLICT (provider_call_id, connection_id) DO NOTHING",
        args![row.id, connection_id, provider, provider_call_id, millis(now)],
        "seq",
    )?;
    match inserted {
        Some(seq) => {
            row.seq = seq;
            Ok((row, false))
        }
        None => {
            let raw = db.query_one(select, args![provider_call_id, connection_id], from_row)?;
            Ok((decode(raw)?, true))
        }
    }
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Re-resolves the call's tenant number when the fold's number changed.
pub(super) fn refresh_resolution(
    db: &Db<'_>,
    call: &mut CallRow,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    // Reported numbers were normalized at the edge (`numbers::normalize_reported`).
    let Some(number) = call.fold.tenant_number() else {
        return Ok(());
    };
    if call.resolution.as_ref().is_some_and(|r| r.number == number) {
        return Ok(());
    }
    call.resolution = Some(directory::resolve(db, number, now)?);
    Ok(())
}

/// Writes the call, its derived columns, and the effects of any change in the recording
/// decision: an audit row, and outbox rows that delete discarded recordings.
/// Returns whether it queued work for the outbox.
pub(super) fn save(
    db: &Db<'_>,
    call: &mut CallRow,
    before: Option<RecordingStatus>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<bool, AppError> {
    let tenant = call.tenant();
    let recording = gate::recording_status(
        tenant.status,
        call.fold.recordings.values().any(|r| r.exists()),
    );
    call.updated_at = now;
    let fold = serde_json::to_string(&call.fold)?;
    let resolution = call
        .resolution
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    let state = call.fold.progress.map(crate::domain::call::state_name);
    let kind = call.resolution.as_ref().map(|r| r.kind.as_str());
    let tenant_status = tenant_status_name(tenant.status);
    // The row exists (made by `get_or_create`): update it by its rowid.
    let updated = db.exec(
        "UPDATE calls SET state = ?2, number_kind = ?3, tenant_status = ?4, tenant_id = ?5,
             recording_status = ?6, agent_id = ?7, fold = ?8, resolution = ?9, updated_at = ?10
         WHERE seq = ?1",
        args![
            call.seq,
            state,
            kind,
            tenant_status,
            tenant.tenant_id,
            recording.as_str(),
            call.agent_id,
            fold,
            resolution,
            millis(now),
        ],
    )?;
    if updated != 1 {
        return Err(AppError::Internal(format!(
            "call {} is not stored",
            call.id
        )));
    }
    if db.dialect() == Dialect::Sqlite {
        recent::put(call);
    }
    let recording_decided = before != Some(recording) && recording != RecordingStatus::None;
    db.announce(&Signal::Call {
        id: call.id.clone(),
        recording_decided,
    })?;
    let mut queued = super::subscriptions::enqueue_call(db, call, recording_decided, now)?;
    if before != Some(recording) && recording != RecordingStatus::None {
        let detail =
            serde_json::json!({ "recording_ids": call.fold.recordings.keys().collect::<Vec<_>>() });
        audit::record(
            db,
            now,
            actor,
            &format!("recording.{}", recording.as_str()),
            Some(&call.id),
            tenant.tenant_id.as_deref(),
            &detail,
        )?;
    }
    for recording_id in gate::recordings_to_delete(&call.fold, recording) {
        let inserted = db.exec(
            "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id, next_attempt_at, created_at)
             VALUES ('delete_recording', ?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (kind, connection_id, recording_id) DO NOTHING",
            args![call.connection_id, call.id, call.provider_call_id, recording_id, millis(now)],
        )?;
        if inserted > 0 {
            queued = true;
            let detail = serde_json::json!({ "recording_id": recording_id });
            audit::record(
                db,
                now,
                "system",
                "recording.deletion_requested",
                Some(&call.id),
                None,
                &detail,
            )?;
        }
    }
    // An agent's active call ends with the call.
    if call.fold.has_ended() {
        db.exec(
            "UPDATE agents SET active_call_id = NULL WHERE active_call_id = ?1",
            args![call.id],
        )?;
    }
    Ok(queued)
}

pub fn tenant_status_name(s: TenantStatus) -> &'static str {
    match s {
        TenantStatus::Resolved => "resolved",
        TenantStatus::Pending => "pending",
        TenantStatus::Selected => "selected",
        TenantStatus::Unresolved => "unresolved",
    }
}

/// An agent enters a tenant for a call.
pub fn select_tenant(
    db: &Db<'_>,
    call_id: &str,
    tenant_id: &str,
    agent_id: &str,
    now: OffsetDateTime,
) -> Result<CallRow, AppError> {
    let mut call = get_for_update(db, call_id)?
        .ok_or_else(|| AppError::not_found("call_not_found", format!("no call {call_id}")))?;
    if call.fold.has_ended() {
        return Err(AppError::conflict(
            "call_ended",
            "the call has ended: a tenant can no longer be selected, and its recording is not kept",
        ));
    }
    let resolution = call.resolution.clone();
    if let Some(r) = &resolution
        && r.kind == numbers::NumberKind::Local
        && r.tenant_id.is_some()
    {
        {
            return Err(AppError::conflict(
                "call_resolved",
                "the call dialed a tenant's local number: its tenant is already resolved",
            ));
        }
    }
    if !directory::tenant_exists(db, tenant_id)? {
        return Err(AppError::not_found(
            "tenant_not_found",
            format!("no tenant {tenant_id}"),
        ));
    }
    if let Some(r) = &resolution
        && r.kind == numbers::NumberKind::Regional
        && !r.tenant_ids.iter().any(|t| t == tenant_id)
    {
        return Err(AppError::unprocessable(
            "tenant_not_served",
            "this regional number does not serve that tenant",
        ));
    }
    let before = call.recording_status();
    let seq = call.fold.selections.len() as u64;
    call.fold.select(Selection {
        at: now,
        seq,
        tenant_id: tenant_id.to_owned(),
        agent_id: Some(agent_id.to_owned()),
    });
    let detail = serde_json::json!({ "first": seq == 0 });
    audit::record(
        db,
        now,
        agent_id,
        "tenant.selected",
        Some(&call.id),
        Some(tenant_id),
        &detail,
    )?;
    save(db, &mut call, Some(before), agent_id, now)?;
    Ok(call)
}

/// The agent's active call, if any.
pub fn active_call(db: &Db<'_>, agent_id: &str) -> Result<Option<CallRow>, AppError> {
    let active: Option<String> = db
        .query_opt(
            "SELECT active_call_id FROM agents WHERE agent_id = ?1",
            args![agent_id],
            |r| r.get(0),
        )?
        .flatten();
    active.map_or(Ok(None), |id| get(db, &id))
}

/// An agent claims a call as their one active call. A new claim is audited.
pub fn claim(
    db: &Db<'_>,
    call_id: &str,
    agent_id: &str,
    now: OffsetDateTime,
) -> Result<CallRow, AppError> {
    let mut call = get_for_update(db, call_id)?
        .ok_or_else(|| AppError::not_found("call_not_found", format!("no call {call_id}")))?;
    if call.fold.has_ended() {
        return Err(AppError::conflict("call_ended", "the call has ended"));
    }
    if let Some(other) = &call.agent_id
        && other != agent_id
    {
        return Err(AppError::conflict(
            "call_claimed",
            "another agent has claimed this call",
        ));
    }
    // The agent's row exists and is locked before it is read: two claims by one agent on
    // two instances are decided one after the other.
    db.exec(
        "INSERT INTO agents (agent_id) VALUES (?1) ON CONFLICT (agent_id) DO NOTHING",
        args![agent_id],
    )?;
    let active: Option<String> = db.query_one(
        &format!(
            "SELECT active_call_id FROM agents WHERE agent_id = ?1{}",
            db.for_update()
        ),
        args![agent_id],
        |r| r.get(0),
    )?;
    if let Some(active) = active
        && active != call_id
    {
        return Err(AppError::conflict(
            "agent_busy",
            "the agent already has an active call",
        ));
    }
    db.exec(
        "UPDATE agents SET active_call_id = ?2 WHERE agent_id = ?1",
        args![agent_id, call_id],
    )?;
    if call.agent_id.as_deref() != Some(agent_id) {
        call.agent_id = Some(agent_id.to_owned());
        db.exec(
            "UPDATE calls SET agent_id = ?1 WHERE id = ?2",
            args![agent_id, call_id],
        )?;
        if db.dialect() == Dialect::Sqlite {
            recent::put(&call);
        }
        db.announce(&Signal::Call {
            id: call.id.clone(),
            recording_decided: false,
        })?;
        super::subscriptions::enqueue_call(db, &call, false, now)?;
        audit::record(
            db,
            now,
            agent_id,
            "call.claimed",
            Some(call_id),
            call.tenant().tenant_id.as_deref(),
            &serde_json::json!({}),
        )?;
    }
    Ok(call)
}

/// Filters of the call list.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub provider_call_id: Option<String>,
    pub state: Option<String>,
    pub tenant_id: Option<String>,
    /// Only calls before this sequence number (the cursor).
    pub before_seq: Option<i64>,
    /// `Some`: the reader sees only these tenants (see [`visible_sql`]).
    pub only_tenants: Option<BTreeSet<String>>,
    pub limit: usize,
}

/// SQL that holds when a reader limited to the tenants of the JSON array parameter `?{param}`
/// sees the call row aliased `alias`: the call's tenant is among them, or the call is still
/// pending (a national or regional call waiting for any agent). Ended calls without a tenant
/// (`unresolved`) are seen only by readers of every tenant.
pub(super) fn visible_sql(db: &Db<'_>, alias: &str, param: usize) -> String {
    format!(
        "({alias}.tenant_status = 'pending' OR {alias}.tenant_id IN {})",
        db.json_array_values(param)
    )
}

/// Calls, newest first. Only the filters given enter the statement, so each can use its
/// index. Visibility is part of the statement, so a page holds `limit` visible calls.
pub fn list(db: &Db<'_>, f: &CallFilter) -> Result<Vec<CallRow>, AppError> {
    let mut q = Listing::new(concat!(
        "SELECT ",
        call_columns!(),
        " FROM calls c WHERE 1 = 1"
    ));
    q.filter("provider_call_id =", f.provider_call_id.clone());
    q.filter("state =", f.state.clone());
    q.filter("tenant_id =", f.tenant_id.clone());
    q.filter("seq <", f.before_seq);
    if let Some(tenants) = &f.only_tenants {
        let n = q.bind(serde_json::to_string(tenants)?);
        q.and(&visible_sql(db, "c", n));
    }
    let rows = q.run(db, "seq DESC", f.limit, from_row)?;
    rows.into_iter().map(decode).collect()
}
