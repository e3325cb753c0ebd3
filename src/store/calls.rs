//! Calls' rows: loading, creating and locking, saving with their derived columns, the
//! agents' active calls, and the call list.

use super::StoreError;
use super::db::{Db, Row, args};
use super::gauges::UNENDED;
use super::hot::{self, CallColumns};
use super::{Listing, directory, from_millis, millis};
use crate::domain::CallFold;
use crate::domain::gate::{self, RecordingDecision, RecordingStatus, TenantOutcome, TenantStatus};
use crate::domain::numbers::Resolution;
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
    /// A call just created, before any event: its row's key `seq` is the store's.
    pub(super) fn new(seq: i64, id: String, key: &CallKey<'_>, now: OffsetDateTime) -> Self {
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
pub(super) use call_columns;

pub(super) fn from_row(r: &Row<'_, '_>) -> Result<(CallRow, String, Option<String>), StoreError> {
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

pub(super) fn decode(
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
pub fn get_for_update(db: &Db<'_>, id: &str) -> Result<Option<CallRow>, StoreError> {
    let sql = format!(
        concat!("SELECT ", call_columns!(), " FROM calls WHERE id = ?1{}"),
        db.for_update()
    );
    db.query_opt(&sql, args![id], from_row)?
        .map(decode)
        .transpose()
}

/// A call as deliveries name it: the provider's call id on a connection. Ordered as the
/// calls' unique key, the order in which an ingest locks their rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallKey<'a> {
    pub provider_call_id: &'a str,
    pub connection_id: &'a str,
    /// The connection's provider (the same for every call of a connection).
    pub provider: &'a str,
}

/// The calls `keys` name (sorted, distinct), created when first seen, each with whether it
/// existed, in the order of `keys`. On PostgreSQL their rows stay locked until the
/// transaction ends, taken in key order: deliveries of one call that reach several
/// instances (or batches) at once are folded one after the other.
pub fn get_or_create_many(
    db: &Db<'_>,
    keys: &[CallKey<'_>],
    now: OffsetDateTime,
) -> Result<Vec<(CallRow, bool)>, StoreError> {
    debug_assert!(keys.windows(2).all(|w| w[0] < w[1]));
    // Most deliveries are about a call the embedded writer stored moments before: it is
    // remembered as stored, and neither read nor decoded again.
    let mut found: Vec<Option<(CallRow, bool)>> = keys
        .iter()
        .map(|k| {
            db.memory()
                .and_then(|m| m.take_call(k.connection_id, k.provider_call_id))
                .map(|call| (call, true))
        })
        .collect();
    let missing: Vec<usize> = (0..keys.len()).filter(|&i| found[i].is_none()).collect();
    for (i, call, existed) in hot::get_or_create_calls(db, keys, &missing, now)? {
        found[i] = Some((call, existed));
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

/// Gives back a call [`get_or_create_many`] took, unchanged: the embedded writer keeps
/// remembering it.
pub fn give_back(db: &Db<'_>, call: &CallRow) {
    if let Some(memory) = db.memory() {
        memory.put_call(call);
    }
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Re-resolves the tenant of each call whose numbers changed: its own number (the dialed
/// number of an inbound call, the calling number of an outbound one) and the number it was
/// forwarded from ([`Resolution::choose`]). A call whose fold names neither has no
/// resolution: what is stored never depends on the order its events arrived in.
pub fn refresh_resolutions(
    db: &Db<'_>,
    calls: &mut [&mut CallRow],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut stale = Vec::new();
    for (i, call) in calls.iter_mut().enumerate() {
        // Reported numbers were normalized at the edge (`numbers::normalize_reported`).
        let (own, forwarded) = (call.fold.tenant_number(), call.fold.forwarded_number());
        match (own, forwarded) {
            (None, None) => call.resolution = None,
            _ if call
                .resolution
                .as_ref()
                .is_none_or(|r| !r.answers(own, forwarded)) =>
            {
                stale.push(i)
            }
            _ => {}
        }
    }
    let numbers: Vec<&str> = stale
        .iter()
        .flat_map(|&i| {
            [
                calls[i].fold.forwarded_number(),
                calls[i].fold.tenant_number(),
            ]
        })
        .flatten()
        .collect();
    let mut resolved = directory::resolve_many(db, &numbers, now)?.into_iter();
    for i in stale {
        let fold = &calls[i].fold;
        let forwarded = fold.forwarded_number().and_then(|_| resolved.next());
        let own = fold.tenant_number().and_then(|_| resolved.next());
        calls[i].resolution = Resolution::choose(forwarded, own);
    }
    Ok(())
}

/// Writes the calls' rows (made by [`get_or_create_many`] or read by [`get_for_update`]):
/// their folds and the columns derived from them, a few statements for all. The embedded
/// writer remembers them as written.
pub fn write_many(
    db: &Db<'_>,
    calls: &mut [&mut CallRow],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for call in calls.iter_mut() {
        call.updated_at = now;
    }
    let mut columns = Vec::with_capacity(calls.len());
    for call in calls.iter() {
        let tenant = call.tenant();
        columns.push(CallColumns {
            seq: call.seq,
            state: call.fold.progress.map(crate::domain::call::state_name),
            kind: call.resolution.as_ref().map(|r| r.kind.as_str()),
            tenant_status: tenant_status_name(tenant.status),
            tenant_id: tenant.tenant_id,
            recording: call.recording_status().as_str(),
            agent_id: call.agent_id.as_deref(),
            fold: serde_json::to_string(&call.fold)?,
            resolution: call
                .resolution
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
        });
    }
    hot::update_calls(db, &columns, millis(now))?;
    if let Some(memory) = db.memory() {
        for call in calls.iter() {
            memory.put_call(call);
        }
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

/// The agent's most recent active call that ended, if any.
pub fn last_call(db: &Db<'_>, agent_id: &str) -> Result<Option<CallRow>, StoreError> {
    let last: Option<String> = db
        .query_opt(
            "SELECT last_call_id FROM agents WHERE agent_id = ?1",
            args![agent_id],
            |r| r.get(0),
        )?
        .flatten();
    last.map_or(Ok(None), |id| get(db, &id))
}

/// The agent's row, created when missing and locked until the transaction ends (two claims
/// by one agent on two instances are decided one after the other), with its active call id.
pub fn lock_agent(db: &Db<'_>, agent_id: &str) -> Result<Option<String>, StoreError> {
    db.exec(
        "INSERT INTO agents (agent_id) VALUES (?1) ON CONFLICT (agent_id) DO NOTHING",
        args![agent_id],
    )?;
    db.query_one(
        &format!(
            "SELECT active_call_id FROM agents WHERE agent_id = ?1{}",
            db.for_update()
        ),
        args![agent_id],
        |r| r.get(0),
    )
}

/// Makes `call_id` the agent's active call (its row locked by [`lock_agent`]).
pub fn set_active_call(db: &Db<'_>, agent_id: &str, call_id: &str) -> Result<(), StoreError> {
    db.exec(
        "UPDATE agents SET active_call_id = ?2 WHERE agent_id = ?1",
        args![agent_id, call_id],
    )?;
    Ok(())
}

/// The call is no longer any agent's active call (it ended): it is that agent's last call.
pub fn end_active_call(db: &Db<'_>, call_id: &str) -> Result<(), StoreError> {
    db.exec(
        "UPDATE agents SET active_call_id = NULL, last_call_id = ?1 WHERE active_call_id = ?1",
        args![call_id],
    )?;
    Ok(())
}

/// Writes the call's agent (`call.agent_id`, set by the caller) alone.
pub fn set_agent(db: &Db<'_>, call: &CallRow) -> Result<(), StoreError> {
    db.exec(
        "UPDATE calls SET agent_id = ?1 WHERE seq = ?2",
        args![call.agent_id, call.seq],
    )?;
    if let Some(memory) = db.memory() {
        memory.put_call(call);
    }
    Ok(())
}

/// The next sequence number of the call's outbound events (`calls.events_sent`).
pub fn next_event_sequence(db: &Db<'_>, call: &CallRow) -> Result<i64, StoreError> {
    db.query_one(
        "UPDATE calls SET events_sent = events_sent + 1 WHERE seq = ?1 RETURNING events_sent",
        args![call.seq],
        |r| r.get::<i64>(0),
    )
}

/// Filters of the call list.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub provider_call_id: Option<String>,
    pub state: Option<String>,
    pub tenant_id: Option<String>,
    /// Only calls whose tenant status has this name (`pending`: waiting for an agent's
    /// choice).
    pub tenant_status: Option<&'static str>,
    /// Only calls before this sequence number (the cursor).
    pub before_seq: Option<i64>,
    /// `Some`: the reader sees only these tenants (see [`visible_sql`]).
    pub only_tenants: Option<BTreeSet<String>>,
    pub limit: usize,
}

/// SQL that holds when a reader limited to the tenants of the JSON array parameter `?{param}`
/// sees the call row aliased `alias` (the rule of `access::Audience::of_call`): the call's
/// tenant is among them, or the call is still pending, a national or unknown call waiting
/// for any agent, or a regional call whose number serves one of them. Ended calls without a
/// tenant (`unresolved`) are seen only by readers of every tenant.
pub(super) fn visible_sql(db: &Db<'_>, alias: &str, param: usize) -> String {
    let mine = db.json_array_values(param);
    format!(
        "({alias}.tenant_id IN {mine} OR {})",
        pending_visible_sql(db, alias, param)
    )
}

/// The pending calls of [`visible_sql`]'s rule.
fn pending_visible_sql(db: &Db<'_>, alias: &str, param: usize) -> String {
    let mine = db.json_array_values(param);
    let served =
        db.dialect()
            .json_field_values(&format!("{alias}.resolution"), "tenant_ids", "served");
    format!(
        "({alias}.tenant_status = 'pending' AND \
         (COALESCE({alias}.number_kind, '') <> 'regional' OR \
         EXISTS (SELECT 1 FROM {served} WHERE served.value IN {mine})))"
    )
}

/// Readers of at most this many tenants have their calls found tenant by tenant (see
/// [`list`]); those of more, among the newest calls of all.
const FEW_TENANTS: usize = 32;

/// Calls, newest first. Only the filters given enter the statement, so each can use its
/// index. Visibility is part of the statement, so a page holds `limit` visible calls.
///
/// A reader of few tenants (an agent) is not served by a walk over the newest calls, which
/// reads the whole table when their tenants' calls are rare: their page is the newest of the
/// newest `limit` calls of each of their tenants (index `calls_tenant`, by tenant then
/// sequence) and of the pending calls they see (a call waits for a tenant only until it
/// ends, so those are among the few calls not ended, index `calls_unended`).
pub fn list(db: &Db<'_>, f: &CallFilter) -> Result<Vec<CallRow>, StoreError> {
    let by_tenant = f
        .only_tenants
        .as_ref()
        .is_some_and(|t| t.len() <= FEW_TENANTS);
    list_by(db, f, by_tenant)
}

/// [`list`], finding a reader's calls tenant by tenant or not.
pub(super) fn list_by(
    db: &Db<'_>,
    f: &CallFilter,
    by_tenant: bool,
) -> Result<Vec<CallRow>, StoreError> {
    let mut q = Listing::new(concat!(
        "SELECT ",
        call_columns!(),
        " FROM calls c WHERE 1 = 1"
    ));
    let mut filters = Vec::new();
    if let Some(id) = &f.provider_call_id {
        // The call's own id, or any of its legs'.
        let n = q.bind(id.clone());
        filters.push(format!(
            "(provider_call_id = ?{n} OR seq IN (SELECT call_seq FROM call_legs WHERE leg_id = ?{n}))"
        ));
    }
    // A call no call event has reached yet (only a recording's) is shown as `initiated`.
    let mut filter = |clause: &str, value: Option<super::db::OwnedArg>| {
        if let Some(v) = value {
            let n = q.bind(v);
            filters.push(format!("{clause} ?{n}"));
        }
    };
    filter(
        "COALESCE(state, 'initiated') =",
        f.state.clone().map(Into::into),
    );
    filter("tenant_id =", f.tenant_id.clone().map(Into::into));
    filter("tenant_status =", f.tenant_status.map(Into::into));
    filter("seq <", f.before_seq.map(Into::into));
    match &f.only_tenants {
        None => {
            for clause in &filters {
                q.and(clause);
            }
        }
        Some(tenants) if !by_tenant => {
            for clause in &filters {
                q.and(clause);
            }
            let n = q.bind(serde_json::to_string(tenants)?);
            q.and(&visible_sql(db, "c", n));
        }
        Some(tenants) => {
            let filtered = filters
                .iter()
                .map(|c| format!(" AND {c}"))
                .collect::<String>();
            // Bound only when used: PostgreSQL refuses a parameter no clause types.
            let limit = if tenants.is_empty() {
                0
            } else {
                q.bind(i64::try_from(f.limit).unwrap_or(i64::MAX))
            };
            let mut found: Vec<String> = tenants
                .iter()
                .enumerate()
                .map(|(i, tenant)| {
                    let n = q.bind(tenant.clone());
                    format!(
                        "SELECT seq FROM (SELECT seq FROM calls WHERE tenant_id = ?{n}{filtered} \
                         ORDER BY seq DESC LIMIT ?{limit}) AS tenant_{i}"
                    )
                })
                .collect();
            let mine = q.bind(serde_json::to_string(tenants)?);
            found.push(format!(
                "SELECT p.seq FROM calls p WHERE ({UNENDED}) AND {}{filtered}",
                pending_visible_sql(db, "p", mine)
            ));
            q.and(&format!("c.seq IN ({})", found.join(" UNION ALL ")));
        }
    }
    let rows = q.run(db, "seq DESC", f.limit, from_row)?;
    rows.into_iter().map(decode).collect()
}
