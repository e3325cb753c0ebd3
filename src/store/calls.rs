//! Calls: loading, saving with their derived columns, the gate's effects, agent actions and
//! queries.

use super::Signal;
use super::StoreError;
use super::audit;
use super::db::{Arg, Db, Dialect, Row, ToArg, args};
use super::rows::{self, Texts};
use super::subscriptions::Wanted;
use super::{Listing, directory, from_millis, millis};
use crate::domain::gate::{self, RecordingDecision, RecordingStatus, TenantOutcome, TenantStatus};
use crate::domain::numbers::{self, Resolution};
use crate::domain::refusal::Refusal;
use crate::domain::{CallFold, Selection};
use std::collections::{BTreeSet, HashSet};
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
    /// A call just created, before any event: its row's key `seq` is the store's.
    fn new(seq: i64, id: String, key: &CallKey<'_>, now: OffsetDateTime) -> Self {
        Self {
            seq,
            id,
            connection_id: key.connection_id.to_owned(),
            provider: key.provider.to_owned(),
            provider_call_id: key.provider_call_id.to_owned(),
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
        self.recording_decision().status
    }

    pub fn recording_decision(&self) -> RecordingDecision {
        let exists = self.fold.recordings.values().any(|r| r.exists());
        RecordingDecision::new(&self.tenant(), exists)
    }
}

/// The columns [`from_row`] reads, as a literal for `concat!` (statements stay `&'static`).
macro_rules! call_columns {
    () => {
        "seq, id, connection_id, provider, provider_call_id, fold, resolution, agent_id, created_at, updated_at"
    };
}

fn from_row(r: &Row<'_, '_>) -> Result<(CallRow, String, Option<String>), StoreError> {
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
) -> Result<CallRow, StoreError> {
    row.fold = serde_json::from_str(&fold)?;
    row.resolution = resolution
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    Ok(row)
}

/// The call with callgate id `id`.
pub fn get(db: &Db<'_>, id: &str) -> Result<Option<CallRow>, StoreError> {
    let sql = concat!("SELECT ", call_columns!(), " FROM calls WHERE id = ?1");
    db.query_opt(sql, args![id], from_row)?
        .map(decode)
        .transpose()
}

/// The call with callgate id `id`, locked until the transaction ends (on PostgreSQL; the
/// embedded store's single writer excludes other writers anyway).
fn get_for_update(db: &Db<'_>, id: &str) -> Result<Option<CallRow>, StoreError> {
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

/// A call as deliveries name it: the provider's call id on a connection. Ordered as the
/// calls' unique key, the order in which an ingest locks their rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct CallKey<'a> {
    pub provider_call_id: &'a str,
    pub connection_id: &'a str,
    /// The connection's provider (the same for every call of a connection).
    pub provider: &'a str,
}

/// Creates the calls that do not exist yet and locks those that do (the no-op update takes
/// the row lock), row after row in the order given (PostgreSQL): one statement reads,
/// creates and locks them all, so transactions about the same calls always take their locks
/// in the same order.
static UPSERT: Texts = Texts::new(|rows| {
    format!(
        concat!(
            "INSERT INTO calls (id, connection_id, provider, provider_call_id, tenant_status,
                 recording_status, fold, created_at, updated_at)
             VALUES {}
             ON CONFLICT (provider_call_id, connection_id) DO UPDATE SET updated_at = calls.updated_at
             RETURNING ",
            call_columns!()
        ),
        rows::values(rows, &["?", "?", "?", "?", "'pending'", "'none'", "'{}'", "?", "?"])
    )
});

/// The calls `keys` name (sorted, distinct), created when first seen, each with whether it
/// existed, in the order of `keys`. On PostgreSQL their rows stay locked until the
/// transaction ends, taken in key order: deliveries of one call that reach several
/// instances (or batches) at once are folded one after the other.
pub(super) fn get_or_create_many(
    db: &Db<'_>,
    keys: &[CallKey<'_>],
    now: OffsetDateTime,
) -> Result<Vec<(CallRow, bool)>, StoreError> {
    debug_assert!(keys.windows(2).all(|w| w[0] < w[1]));
    let embedded = db.dialect() == Dialect::Sqlite;
    let mut found: Vec<Option<(CallRow, bool)>> = keys
        .iter()
        .map(|k| {
            embedded
                .then(|| recent::take(k.connection_id, k.provider_call_id))
                .flatten()
                .map(|call| (call, true))
        })
        .collect();
    let missing: Vec<usize> = (0..keys.len()).filter(|&i| found[i].is_none()).collect();
    if embedded {
        // The single writer excludes every other: no lock to take, and a call that exists
        // is read, not rewritten.
        for i in missing {
            found[i] = Some(read_or_create(db, &keys[i], now)?);
        }
        return collect_found(found, keys);
    }
    let at = millis(now);
    for run in rows::runs(db.dialect(), missing.len()) {
        // The ids a new row would get: a row that comes back with another id existed.
        let ids: Vec<String> = run.clone().map(|_| new_id()).collect();
        let args: Vec<Arg<'_>> = missing[run.clone()]
            .iter()
            .zip(&ids)
            .flat_map(|(&i, id)| {
                let k = &keys[i];
                [
                    id.to_arg(),
                    k.connection_id.to_arg(),
                    k.provider.to_arg(),
                    k.provider_call_id.to_arg(),
                    Arg::Int(at),
                    Arg::Int(at),
                ]
            })
            .collect();
        let made: HashSet<&str> = ids.iter().map(String::as_str).collect();
        for call in db.query(UPSERT.get(run.len()), &args, |r| decode(from_row(r)?))? {
            let key = CallKey {
                provider_call_id: &call.provider_call_id,
                connection_id: &call.connection_id,
                provider: &call.provider,
            };
            if let Ok(i) = keys.binary_search(&key) {
                let existed = !made.contains(call.id.as_str());
                found[i] = Some((call, existed));
            }
        }
    }
    collect_found(found, keys)
}

/// Every call of `keys`, found; an error names the first one missing.
fn collect_found(
    found: Vec<Option<(CallRow, bool)>>,
    keys: &[CallKey<'_>],
) -> Result<Vec<(CallRow, bool)>, StoreError> {
    found
        .into_iter()
        .zip(keys)
        .map(|(f, k)| {
            f.ok_or_else(|| {
                StoreError::Internal(format!("call {} is not stored", k.provider_call_id))
            })
        })
        .collect()
}

/// The call `key` names, read, or created when it is not stored (SQLite), with whether it
/// existed.
fn read_or_create(
    db: &Db<'_>,
    key: &CallKey<'_>,
    now: OffsetDateTime,
) -> Result<(CallRow, bool), StoreError> {
    let select = concat!(
        "SELECT ",
        call_columns!(),
        " FROM calls WHERE provider_call_id = ?1 AND connection_id = ?2"
    );
    if let Some(raw) = db.query_opt(
        select,
        args![key.provider_call_id, key.connection_id],
        from_row,
    )? {
        return Ok((decode(raw)?, true));
    }
    let id = new_id();
    let seq = db
        .insert_id(
            "INSERT INTO calls (id, connection_id, provider, provider_call_id, tenant_status,
                 recording_status, fold, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', 'none', '{}', ?5, ?5)",
            args![
                id,
                key.connection_id,
                key.provider,
                key.provider_call_id,
                millis(now)
            ],
            "seq",
        )?
        .ok_or_else(|| StoreError::Internal("the call was not stored".into()))?;
    Ok((CallRow::new(seq, id, key, now), false))
}

/// Gives back a call [`get_or_create_many`] took and nothing changed: the embedded writer
/// keeps remembering it.
pub(super) fn unchanged(db: &Db<'_>, call: &CallRow) {
    if db.dialect() == Dialect::Sqlite {
        recent::put(call);
    }
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Re-resolves the tenant number of each call whose fold's number changed. A call whose
/// fold no longer names one (an outbound call without a calling number) has no resolution:
/// what is stored never depends on the order its events arrived in.
pub(super) fn refresh_resolutions(
    db: &Db<'_>,
    calls: &mut [&mut CallRow],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut stale = Vec::new();
    for (i, call) in calls.iter_mut().enumerate() {
        // Reported numbers were normalized at the edge (`numbers::normalize_reported`).
        match call.fold.tenant_number() {
            None => call.resolution = None,
            Some(n) if call.resolution.as_ref().is_none_or(|r| r.number != n) => stale.push(i),
            Some(_) => {}
        }
    }
    let numbers: Vec<&str> = stale
        .iter()
        .filter_map(|&i| calls[i].fold.tenant_number())
        .collect();
    let resolved = directory::resolve_many(db, &numbers, now)?;
    for (i, resolution) in stale.into_iter().zip(resolved) {
        calls[i].resolution = Some(resolution);
    }
    Ok(())
}

/// A call's row, the same parameters as [`UPDATE_CALLS`] for one row: what SQLite runs, a
/// call at a time (its statements are cheap; the join of a `VALUES` list is not).
const UPDATE_CALL: &str = "UPDATE calls SET state = ?2, number_kind = ?3, tenant_status = ?4,
         tenant_id = ?5, recording_status = ?6, agent_id = ?7, fold = ?8, resolution = ?9,
         updated_at = ?10
     WHERE seq = ?1";

/// Calls' rows, many at once (PostgreSQL).
static UPDATE_CALLS: Texts =
    Texts::new(|rows| {
        format!(
        "UPDATE calls SET state = v.column2, number_kind = v.column3, tenant_status = v.column4,
             tenant_id = v.column5, recording_status = v.column6, agent_id = v.column7,
             fold = v.column8, resolution = v.column9, updated_at = v.column10
         FROM (VALUES {}) AS v WHERE calls.seq = v.column1",
        rows::values(
            rows,
            &["CAST(? AS BIGINT)", "?", "?", "?", "?", "?", "?", "?", "?", "CAST(? AS BIGINT)"]
        )
    )
    });

/// Writes the call, its derived columns, and the effects of any change in the recording
/// decision: an audit row, and outbox rows that delete discarded recordings.
pub(super) fn save(
    db: &Db<'_>,
    call: &mut CallRow,
    before: Option<&RecordingDecision>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Effects, StoreError> {
    write_many(db, &mut [&mut *call], now)?;
    let wanted = super::subscriptions::wanted(db)?;
    after_write(db, call, before, actor, now, &wanted)
}

/// Writes the calls' rows (made by [`get_or_create_many`]): their folds and the columns
/// derived from them, a few statements for all.
pub(super) fn write_many(
    db: &Db<'_>,
    calls: &mut [&mut CallRow],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    struct Columns {
        seq: i64,
        state: Option<&'static str>,
        kind: Option<&'static str>,
        tenant_status: &'static str,
        tenant_id: Option<String>,
        recording: &'static str,
        fold: String,
        resolution: Option<String>,
    }
    let mut columns = Vec::with_capacity(calls.len());
    for call in calls.iter_mut() {
        call.updated_at = now;
        let tenant = call.tenant();
        columns.push(Columns {
            seq: call.seq,
            state: call.fold.progress.map(crate::domain::call::state_name),
            kind: call.resolution.as_ref().map(|r| r.kind.as_str()),
            tenant_status: tenant_status_name(tenant.status),
            tenant_id: tenant.tenant_id,
            recording: call.recording_status().as_str(),
            fold: serde_json::to_string(&call.fold)?,
            resolution: call
                .resolution
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
        });
    }
    let at = millis(now);
    let embedded = db.dialect() == Dialect::Sqlite;
    for run in rows::runs(db.dialect(), calls.len()) {
        let args: Vec<Arg<'_>> = columns[run.clone()]
            .iter()
            .zip(&calls[run.clone()])
            .flat_map(|(c, call)| {
                [
                    Arg::Int(c.seq),
                    c.state.to_arg(),
                    c.kind.to_arg(),
                    c.tenant_status.to_arg(),
                    c.tenant_id.to_arg(),
                    c.recording.to_arg(),
                    call.agent_id.to_arg(),
                    c.fold.to_arg(),
                    c.resolution.to_arg(),
                    Arg::Int(at),
                ]
            })
            .collect();
        let sql = if embedded {
            UPDATE_CALL
        } else {
            UPDATE_CALLS.get(run.len())
        };
        let updated = db.exec(sql, &args)?;
        if updated != run.len() {
            return Err(StoreError::Internal(format!(
                "{} of {} calls are not stored",
                run.len() - updated.min(run.len()),
                run.len()
            )));
        }
    }
    Ok(())
}

/// What [`after_write`] set off.
#[derive(Debug, Clone, Copy)]
pub(super) struct Effects {
    /// It queued work for the outbox.
    pub queued: bool,
    /// The recording decision is new (audited, announced as `recording.decided`).
    pub recording_decided: bool,
}

/// What a written call's change sets off: other instances and subscribers are told, and a
/// new recording decision is audited (a kept recording with the tenant it is kept for) and
/// queues the deletion of discarded recordings. `before` is the decision before the change
/// (`None` for a new call).
pub(super) fn after_write(
    db: &Db<'_>,
    call: &CallRow,
    before: Option<&RecordingDecision>,
    actor: &str,
    now: OffsetDateTime,
    wanted: &Wanted,
) -> Result<Effects, StoreError> {
    if db.dialect() == Dialect::Sqlite {
        recent::put(call);
    }
    let tenant = call.tenant();
    let decision = call.recording_decision();
    let recording = decision.status;
    let recording_decided = decision.is_new(before);
    db.announce(&Signal::Call {
        id: call.id.clone(),
        recording_decided,
    })?;
    let mut queued = super::subscriptions::enqueue_call(db, wanted, call, recording_decided, now)?;
    if recording_decided {
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
    if before.is_some_and(|b| b.status == RecordingStatus::Discarded)
        && recording != RecordingStatus::Discarded
    {
        cancel_deletions(db, call, now)?;
    }
    for recording_id in gate::recordings_to_delete(&call.fold, recording) {
        // A deletion called off before is queued again.
        let inserted = db.exec(
            "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id, next_attempt_at, created_at)
             VALUES ('delete_recording', ?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (kind, connection_id, recording_id) DO UPDATE
             SET done_at = NULL, next_attempt_at = excluded.next_attempt_at, last_error = NULL
             WHERE outbox.last_error = ?6",
            args![
                call.connection_id,
                call.id,
                call.provider_call_id,
                recording_id,
                millis(now),
                DELETION_CANCELLED
            ],
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
    // An agent's active call ends with the call. Only a claimed call is an agent's active
    // call (`claim` sets both).
    if call.fold.has_ended() && call.agent_id.is_some() {
        db.exec(
            "UPDATE agents SET active_call_id = NULL WHERE active_call_id = ?1",
            args![call.id],
        )?;
    }
    Ok(Effects {
        queued,
        recording_decided,
    })
}

/// What a called-off deletion's outbox row says in `last_error`.
const DELETION_CANCELLED: &str = "cancelled: the recording is no longer discarded";

/// Calls off the deletions of a call's recordings that are not done yet: its recordings
/// were discarded, and are not any more (a webhook that arrived late moved the call to a
/// tenant's local number). Each is audited as `recording.deletion_cancelled`. A deletion
/// the provider has already carried out cannot be undone; its confirmation stays in the
/// audit trail.
fn cancel_deletions(db: &Db<'_>, call: &CallRow, now: OffsetDateTime) -> Result<(), StoreError> {
    let cancelled: Vec<String> = db.query(
        "UPDATE outbox SET done_at = ?1, last_error = ?3
         WHERE kind = 'delete_recording' AND call_id = ?2 AND done_at IS NULL
         RETURNING recording_id",
        args![millis(now), call.id, DELETION_CANCELLED],
        |r| r.get(0),
    )?;
    for recording_id in cancelled {
        let detail = serde_json::json!({ "recording_id": recording_id });
        audit::record(
            db,
            now,
            "system",
            "recording.deletion_cancelled",
            Some(&call.id),
            None,
            &detail,
        )?;
    }
    Ok(())
}

pub fn tenant_status_name(s: TenantStatus) -> &'static str {
    match s {
        TenantStatus::Resolved => "resolved",
        TenantStatus::Pending => "pending",
        TenantStatus::Selected => "selected",
        TenantStatus::Unresolved => "unresolved",
    }
}

/// Who enters a tenant, and what they may see.
pub struct Agent<'a> {
    pub id: &'a str,
    /// Whether the call is among the agent's calls (else it is unknown to them: 404).
    pub sees_call: &'a dyn Fn(&CallRow) -> bool,
    /// Whether the tenant entered is among the agent's tenants (else 403).
    pub sees_tenant: bool,
}

impl std::fmt::Debug for Agent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("id", &self.id)
            .field("sees_tenant", &self.sees_tenant)
            .finish_non_exhaustive()
    }
}

/// An agent enters a tenant for a call. Refusals, in this order: unknown call 404, ended
/// call 409 (also for an agent who no longer sees it: it ended unresolved), call not among
/// the agent's 404, local call 409, mode `none` 409, unknown tenant 404, tenant not among
/// the agent's 403, tenant not served by the regional number 422. Returns the call, and
/// whether its recording decision is new.
pub fn select_tenant(
    db: &Db<'_>,
    call_id: &str,
    tenant_id: &str,
    agent: &Agent<'_>,
    now: OffsetDateTime,
) -> Result<(CallRow, bool), StoreError> {
    // Visibility first: a call the agent does not see answers as an unknown one, ended or
    // not, so that no answer tells it exists.
    let mut call = get_for_update(db, call_id)?
        .filter(|c| (agent.sees_call)(c))
        .ok_or(Refusal::CallNotFound)?;
    if call.fold.has_ended() {
        return Err(Refusal::CallEndedBeforeSelection.into());
    }
    let resolution = call.resolution.clone();
    if let Some(r) = &resolution
        && r.kind == numbers::NumberKind::Local
        && r.tenant_id.is_some()
    {
        return Err(Refusal::CallResolved.into());
    }
    if directory::settings(db)?.national_search_mode == directory::SearchMode::None {
        return Err(Refusal::TenantSelectionDisabled.into());
    }
    if !directory::tenant_exists(db, tenant_id)? {
        return Err(Refusal::TenantNotFound(Some(tenant_id.to_owned())).into());
    }
    if !agent.sees_tenant {
        return Err(Refusal::TenantNotAssigned.into());
    }
    if let Some(r) = &resolution
        && r.kind == numbers::NumberKind::Regional
        && !r.tenant_ids.iter().any(|t| t == tenant_id)
    {
        return Err(Refusal::TenantNotServed.into());
    }
    // The tenant the call already has, entered again (a retry, a double click): nothing
    // changes, and the agent sees again what the first entry showed.
    let current = call.tenant();
    if current.status == TenantStatus::Selected && current.tenant_id.as_deref() == Some(tenant_id) {
        return Ok((call, false));
    }
    // After an earlier selection, whatever the clocks say: the one stored last is the last.
    let now = call.fold.not_before_selections(now);
    let before = call.recording_decision();
    let seq = call.fold.selections.len() as u64;
    call.fold.select(Selection {
        at: now,
        seq,
        tenant_id: tenant_id.to_owned(),
        agent_id: Some(agent.id.to_owned()),
    });
    let detail = serde_json::json!({ "first": seq == 0 });
    audit::record(
        db,
        now,
        agent.id,
        "tenant.selected",
        Some(&call.id),
        Some(tenant_id),
        &detail,
    )?;
    let effects = save(db, &mut call, Some(&before), agent.id, now)?;
    Ok((call, effects.recording_decided))
}

/// The agent's active call, if any.
pub fn active_call(db: &Db<'_>, agent_id: &str) -> Result<Option<CallRow>, StoreError> {
    let active: Option<String> = db
        .query_opt(
            "SELECT active_call_id FROM agents WHERE agent_id = ?1",
            args![agent_id],
            |r| r.get(0),
        )?
        .flatten();
    active.map_or(Ok(None), |id| get(db, &id))
}

/// An agent claims a call as their one active call. A new claim is audited. `sees` says
/// whether the agent sees a call: an active call they no longer see (another agent moved it
/// to a tenant not theirs) is no longer theirs to hold, and does not keep them busy.
pub fn claim(
    db: &Db<'_>,
    call_id: &str,
    agent_id: &str,
    sees: &dyn Fn(&CallRow) -> bool,
    now: OffsetDateTime,
) -> Result<CallRow, StoreError> {
    // As for a tenant selection: a call the agent does not see is an unknown one.
    let mut call = get_for_update(db, call_id)?
        .filter(|c| sees(c))
        .ok_or(Refusal::CallNotFound)?;
    if call.fold.has_ended() {
        return Err(Refusal::CallEnded.into());
    }
    if let Some(other) = &call.agent_id
        && other != agent_id
    {
        return Err(Refusal::CallClaimed.into());
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
        && get(db, &active)?.is_some_and(|c| !c.fold.has_ended() && sees(&c))
    {
        return Err(Refusal::AgentBusy.into());
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
        let wanted = super::subscriptions::wanted(db)?;
        super::subscriptions::enqueue_call(db, &wanted, &call, false, now)?;
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
pub fn list(db: &Db<'_>, f: &CallFilter) -> Result<Vec<CallRow>, StoreError> {
    let mut q = Listing::new(concat!(
        "SELECT ",
        call_columns!(),
        " FROM calls c WHERE 1 = 1"
    ));
    q.filter("provider_call_id =", f.provider_call_id.clone());
    // A call no call event has reached yet (only a recording's) is shown as `initiated`.
    q.filter("COALESCE(state, 'initiated') =", f.state.clone());
    q.filter("tenant_id =", f.tenant_id.clone());
    q.filter("seq <", f.before_seq);
    if let Some(tenants) = &f.only_tenants {
        let n = q.bind(serde_json::to_string(tenants)?);
        q.and(&visible_sql(db, "c", n));
    }
    let rows = q.run(db, "seq DESC", f.limit, from_row)?;
    rows.into_iter().map(decode).collect()
}
