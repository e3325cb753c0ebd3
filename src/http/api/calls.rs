//! Calls (`contact_center.view`): list, show, claim, enter tenant, go to tenant.

use super::{Page, check_id};
use crate::domain::gate::TenantStatus;
use crate::domain::screen_pop::{PopContext, ScreenPop, screen_pop};
use crate::dto::{CallDto, STATE_NAMES};
use crate::error::AppError;
use crate::http::auth::{Audience, Authorized, Principal, need};
use crate::http::{ApiJson, AppState};
use crate::store::Db;
use crate::store::audit;
use crate::store::calls::{self, CallFilter, CallRow};
use crate::store::directory;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calls", get(list))
        .route("/api/v1/calls/{call_id}", get(show))
        .route("/api/v1/calls/{call_id}/audit", get(audit))
        .route("/api/v1/calls/{call_id}/claim", post(claim))
        .route("/api/v1/calls/{call_id}/tenant", post(enter_tenant))
        .route("/api/v1/calls/{call_id}/go-to-tenant", post(go_to_tenant))
}

/// A principal sees a call when it sees the call's tenant, or when the call is pending (a
/// national or regional call waiting for any agent). An ended call without a tenant
/// (`unresolved`) is seen only by principals of every tenant. The same rule, in SQL, limits
/// the call list: `store::calls::visible_sql`.
pub(crate) fn visible(p: &Principal, call: &CallRow) -> bool {
    p.sees(&Audience::of_call(call))
}

/// 404 for an unknown call and for a call the principal does not see alike, so that its
/// existence does not leak.
pub(crate) fn not_found() -> AppError {
    AppError::not_found("call_not_found", "no such call")
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    provider_call_id: Option<String>,
    state: Option<String>,
    tenant_id: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

async fn list(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let page = Page::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    if let Some(s) = &q.state
        && !STATE_NAMES.contains(&s.as_str())
    {
        return Err(AppError::bad_request(
            "invalid_state",
            format!("state must be one of {STATE_NAMES:?}"),
        ));
    }
    let filter = CallFilter {
        provider_call_id: q.provider_call_id,
        state: q.state,
        tenant_id: q.tenant_id,
        before_seq: page.before,
        only_tenants: p.only_tenants(),
        limit: page.limit,
    };
    let rows = st.store.read(move |c| calls::list(c, &filter)).await?;
    let next_cursor = page.next_cursor(rows.iter().map(|r| r.seq));
    let calls: Vec<CallDto> = rows.iter().map(CallDto::from).collect();
    Ok(Json(json!({ "calls": calls, "next_cursor": next_cursor })))
}

async fn load_visible(st: &AppState, p: &Principal, id: String) -> Result<CallRow, AppError> {
    check_id("call id", &id)?;
    let call = st
        .store
        .read(move |c| calls::get(c, &id))
        .await?
        .ok_or_else(not_found)?;
    if !visible(p, &call) {
        return Err(not_found());
    }
    Ok(call)
}

async fn show(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(id): Path<String>,
) -> Result<Json<CallDto>, AppError> {
    let call = load_visible(&st, &p, id).await?;
    Ok(Json(CallDto::from(&call)))
}

async fn audit(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let call = load_visible(&st, &p, id).await?;
    let entries = st.store.read(move |c| audit::of_call(c, &call.id)).await?;
    // A record naming a tenant the principal does not see (an earlier choice of another
    // agent) is left out.
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| e.tenant_id.as_deref().is_none_or(|t| p.sees_tenant(t)))
        .collect();
    Ok(Json(json!({ "audit": entries })))
}

/// The screen pop of a call, with the directory lookups it needs.
pub(super) fn pop_for(db: &Db<'_>, call: &CallRow) -> Result<ScreenPop, AppError> {
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

async fn claim(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    load_visible(&st, &p, id.clone()).await?;
    let principal = Principal::clone(&p);
    let clock = st.clock.clone();
    let (call, pop) = st
        .store
        .write(move |c| {
            let sees = |call: &CallRow| visible(&principal, call);
            let call = calls::claim(c, &id, &principal.id, &sees, clock.now())?;
            let pop = pop_for(c, &call)?;
            Ok::<_, AppError>((call, pop))
        })
        .await?;
    let body = json!({ "call": CallDto::from(&call), "screen_pop": pop });
    st.live.publish_call(call, false);
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantBody {
    tenant_id: String,
}

async fn enter_tenant(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantBody>,
) -> Result<Json<Value>, AppError> {
    check_id("call id", &id)?;
    check_id("tenant_id", &body.tenant_id)?;
    let principal = Principal::clone(&p);
    let clock = st.clock.clone();
    let (call, pop, decided) = st
        .store
        .write(move |c| {
            let agent = calls::Agent {
                id: &principal.id,
                sees_call: &|call| visible(&principal, call),
                sees_tenant: principal.sees_tenant(&body.tenant_id),
            };
            // The time is read when the writer runs the job: selections and call ends are
            // timed in the order they are stored.
            let (call, decided) =
                calls::select_tenant(c, &id, &body.tenant_id, &agent, clock.now())?;
            let pop = pop_for(c, &call)?;
            Ok::<_, AppError>((call, pop, decided))
        })
        .await?;
    let body = json!({ "call": CallDto::from(&call), "screen_pop": pop });
    st.live.publish_call(call, decided);
    Ok(Json(body))
}

async fn go_to_tenant(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let call = load_visible(&st, &p, id).await?;
    let tenant = call.tenant();
    if !matches!(
        tenant.status,
        TenantStatus::Resolved | TenantStatus::Selected
    ) {
        return Err(AppError::conflict(
            "no_tenant",
            "the call has no tenant yet: find and enter one first",
        ));
    }
    let pop = st.store.read(move |c| pop_for(c, &call)).await?;
    Ok(Json(json!({ "screen_pop": pop })))
}
