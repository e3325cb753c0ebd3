//! What agents do with calls: claim one, enter its tenant, go to its tenant, and see their
//! active call. Each action decides here who may do what (the call must be among the
//! agent's, the tenant among its tenants) and refuses with a [`Refusal`]; the store only
//! reads and writes the rows, in the action's transaction.

use super::written::{self, Written};
use super::{Calls, Effects};
use crate::access::Viewer;
use crate::domain::Selection;
use crate::domain::call::Entry;
use crate::domain::gate::{self, TenantStatus};
use crate::domain::numbers::NumberKind;
use crate::domain::refusal::Refusal;
use crate::domain::screen_pop::{PopContext, ScreenPop, screen_pop};
use crate::store::calls::{self as rows, CallRow};
use crate::store::directory::{self, SearchMode};
use crate::store::{Db, StoreError, audit, subscriptions};
use time::OffsetDateTime;

/// A call as an agent's action left it, with its screen pop.
#[derive(Debug)]
pub struct Handled {
    pub call: CallRow,
    pub screen_pop: ScreenPop,
}

impl Calls<'_> {
    /// The call `call_id` if the viewer sees it; a call it does not see is unknown to it.
    pub async fn visible(&self, viewer: &Viewer, call_id: String) -> Result<CallRow, StoreError> {
        let call = self.store.read(move |db| rows::get(db, &call_id)).await?;
        call.filter(|c| viewer.sees_call(c))
            .ok_or(StoreError::Refused(Refusal::CallNotFound))
    }

    /// The agent claims the call as their one active call: see [`claim`].
    pub async fn claim(&self, agent: Viewer, call_id: String) -> Result<Handled, StoreError> {
        self.act(move |db, now| claim(db, &agent, &call_id, now))
            .await
    }

    /// The agent enters a tenant for the call (`find`: through Find Tenant or Find
    /// Different Tenant): see [`enter_tenant`].
    pub async fn enter_tenant(
        &self,
        agent: Viewer,
        call_id: String,
        tenant_id: String,
        find: bool,
    ) -> Result<Handled, StoreError> {
        self.act(move |db, now| enter_tenant(db, &agent, &call_id, &tenant_id, find, now))
            .await
    }

    /// Runs an agent's action in a write of its own, then applies its effects once the
    /// write is durable. The time is read when the store runs the job: selections and call
    /// ends are timed in the order they are stored.
    async fn act<F>(&self, action: F) -> Result<Handled, StoreError>
    where
        F: Fn(&Db<'_>, OffsetDateTime) -> Result<(Handled, Effects), StoreError> + Send + 'static,
    {
        let clock = self.clock.clone();
        let (handled, effects) = self.store.write(move |db| action(db, clock.now())).await?;
        effects.apply(self.events, self.outbox);
        Ok(handled)
    }

    /// The screen pop of the call's tenant, for an agent who sees the call; refused while
    /// the call has no tenant.
    pub async fn go_to_tenant(
        &self,
        agent: &Viewer,
        call_id: String,
    ) -> Result<ScreenPop, StoreError> {
        let call = self.visible(agent, call_id).await?;
        let tenant = call.tenant();
        if !matches!(
            tenant.status,
            TenantStatus::Resolved | TenantStatus::Selected
        ) {
            return Err(Refusal::NoTenant.into());
        }
        self.store.read(move |db| screen_pop_of(db, &call)).await
    }
}

/// The agent's active call, as its screen pop, if it has one it still sees.
pub fn active_call(db: &Db<'_>, agent: &Viewer) -> Result<Option<ScreenPop>, StoreError> {
    match rows::active_call(db, &agent.id)? {
        Some(call) if agent.sees_call(&call) => screen_pop_of(db, &call).map(Some),
        _ => Ok(None),
    }
}

/// The agent's most recent call that ended, as its screen pop, if it still sees it: Go to
/// Tenant during wrap-up.
pub fn last_call(db: &Db<'_>, agent: &Viewer) -> Result<Option<ScreenPop>, StoreError> {
    match rows::last_call(db, &agent.id)? {
        Some(call) if agent.sees_call(&call) => screen_pop_of(db, &call).map(Some),
        _ => Ok(None),
    }
}

/// The screen pop of a call, with the directory lookups it needs.
pub fn screen_pop_of(db: &Db<'_>, call: &CallRow) -> Result<ScreenPop, StoreError> {
    let tenant = call.tenant();
    let from = call.fold.from.as_ref().map(|e| e.value.clone());
    let mut ctx = PopContext {
        provider_caller_name: call.fold.caller_name.as_ref().map(|e| e.value.clone()),
        ..PopContext::default()
    };
    if let Some(t) = &tenant.tenant_id {
        ctx.booking_url = directory::get_tenant(db, t)?.and_then(|t| t.booking_url);
        if let Some(f) = &from {
            ctx.contact_name = directory::contact_name(db, t, f)?;
        }
    }
    Ok(screen_pop(&call.id, from.as_deref(), &tenant, ctx))
}

/// The call, locked for the action, if the agent sees it: a call the agent does not see
/// answers as an unknown one, ended or not, so that no answer tells it exists.
fn seen_call(db: &Db<'_>, agent: &Viewer, call_id: &str) -> Result<CallRow, StoreError> {
    rows::get_for_update(db, call_id)?
        .filter(|c| agent.sees_call(c))
        .ok_or(StoreError::Refused(Refusal::CallNotFound))
}

/// An agent claims a call as their one active call; a new claim is audited. Refused for a
/// call the agent does not see (404), an ended call, a call another agent claimed, and an
/// agent with another active call (409). An active call the agent no longer sees (another
/// agent moved it to a tenant not theirs) is no longer theirs to hold, and does not keep
/// them busy.
pub fn claim(
    db: &Db<'_>,
    agent: &Viewer,
    call_id: &str,
    now: OffsetDateTime,
) -> Result<(Handled, Effects), StoreError> {
    let mut call = seen_call(db, agent, call_id)?;
    if call.fold.has_ended() {
        return Err(Refusal::CallEnded.into());
    }
    if call
        .agent_id
        .as_ref()
        .is_some_and(|other| *other != agent.id)
    {
        return Err(Refusal::CallClaimed.into());
    }
    if let Some(active) = rows::lock_agent(db, &agent.id)?
        && active != call_id
        && rows::get(db, &active)?.is_some_and(|c| !c.fold.has_ended() && agent.sees_call(&c))
    {
        return Err(Refusal::AgentBusy.into());
    }
    rows::set_active_call(db, &agent.id, call_id)?;
    let mut queued = false;
    if call.agent_id.as_deref() != Some(agent.id.as_str()) {
        call.agent_id = Some(agent.id.clone());
        rows::set_agent(db, &call)?;
        let wanted = subscriptions::enabled(db)?;
        queued = written::announce(db, &call, false, now, &wanted)?;
        audit::record(
            db,
            now,
            &agent.id,
            "call.claimed",
            Some(call_id),
            call.tenant().tenant_id.as_deref(),
            &serde_json::json!({}),
        )?;
    }
    // Live subscribers hear of the call after every claim, a repeated one too.
    let effects = Effects::of_call(call.clone(), false, queued);
    let screen_pop = screen_pop_of(db, &call)?;
    Ok((Handled { call, screen_pop }, effects))
}

/// An agent enters a tenant for a call; `find`: it came through Find Tenant or Find
/// Different Tenant, and the screen pop neither selects the call bubble nor fills in the
/// customer. On a call its local number resolved, entering another tenant moves the call
/// (the caller dialed the wrong location). Refusals, in this order: unknown call 404, ended
/// call 409 (also for an agent who no longer sees it: it ended unresolved), call not among
/// the agent's 404, call claimed by another agent 409 (a manager may), mode `none` 409 (but
/// for a local call), unknown tenant 404, tenant not among the agent's 403, tenant not
/// served by the regional number 422.
pub fn enter_tenant(
    db: &Db<'_>,
    agent: &Viewer,
    call_id: &str,
    tenant_id: &str,
    find: bool,
    now: OffsetDateTime,
) -> Result<(Handled, Effects), StoreError> {
    let mut call = seen_call(db, agent, call_id)?;
    check_selection(db, agent, &call, tenant_id)?;
    let entry = if gate::number_tenant(call.resolution.as_ref()).is_some() {
        Entry::Moved
    } else if find {
        Entry::Found
    } else {
        Entry::Entered
    };
    // The tenant the call already has, entered again (a retry, a double click): nothing
    // changes, and the agent sees again what the first entry showed; unless it came through
    // Find Tenant to a screen pop that prefills, which it no longer may.
    let current = call.tenant();
    let effects = if current.tenant_id.as_deref() == Some(tenant_id)
        && matches!(
            current.status,
            TenantStatus::Selected | TenantStatus::Resolved
        )
        && !(find && current.first_choice)
    {
        // Live subscribers hear of the call after every entry, a repeated one too.
        Effects::of_call(call.clone(), false, false)
    } else {
        select(db, agent, &mut call, tenant_id, entry, now)?
    };
    let screen_pop = screen_pop_of(db, &call)?;
    Ok((Handled { call, screen_pop }, effects))
}

/// The refusals of [`enter_tenant`] after the call's visibility, in their order.
fn check_selection(
    db: &Db<'_>,
    agent: &Viewer,
    call: &CallRow,
    tenant_id: &str,
) -> Result<(), StoreError> {
    if call.fold.has_ended() {
        return Err(Refusal::CallEndedBeforeSelection.into());
    }
    if call.agent_id.as_ref().is_some_and(|a| *a != agent.id) && !agent.manages_users {
        return Err(Refusal::ClaimedByAnotherAgent.into());
    }
    let resolution = call.resolution.as_ref();
    if gate::number_tenant(resolution).is_none()
        && directory::settings(db)?.national_search_mode == SearchMode::None
    {
        return Err(Refusal::TenantSelectionDisabled.into());
    }
    if !directory::tenant_exists(db, tenant_id)? {
        return Err(Refusal::TenantNotFound(Some(tenant_id.to_owned())).into());
    }
    if !agent.tenants.contains(tenant_id) {
        return Err(Refusal::TenantNotAssigned.into());
    }
    if resolution.is_some_and(|r| {
        r.kind == NumberKind::Regional && !r.tenant_ids.iter().any(|t| t == tenant_id)
    }) {
        return Err(Refusal::TenantNotServed.into());
    }
    Ok(())
}

/// Selects the tenant for the call, audited (`tenant.selected`, or `tenant.moved` for a call
/// its local number resolved; the detail names the tenant it had), and writes the call with
/// what its change sets off.
fn select(
    db: &Db<'_>,
    agent: &Viewer,
    call: &mut CallRow,
    tenant_id: &str,
    entry: Entry,
    now: OffsetDateTime,
) -> Result<Effects, StoreError> {
    // After an earlier selection, whatever the clocks say: the one stored last is the last.
    let now = call.fold.not_before_selections(now);
    let before = call.recording_decision();
    let from = call.tenant().tenant_id;
    let seq = call.fold.selections.len() as u64;
    call.fold.select(Selection {
        at: now,
        seq,
        tenant_id: tenant_id.to_owned(),
        agent_id: Some(agent.id.clone()),
        entry,
    });
    let action = match entry {
        Entry::Moved => "tenant.moved",
        Entry::Entered | Entry::Found => "tenant.selected",
    };
    let detail = serde_json::json!({ "first": seq == 0, "entry": entry, "from_tenant_id": from });
    audit::record(
        db,
        now,
        &agent.id,
        action,
        Some(&call.id),
        Some(tenant_id),
        &detail,
    )?;
    let Written {
        queued,
        recording_decided,
    } = written::save(db, call, Some(&before), &agent.id, now)?;
    Ok(Effects::of_call(call.clone(), recording_decided, queued))
}
