//! Calls (`contact_center.view`): list, show, claim, enter tenant, go to tenant.

use super::{Page, check_id};
use crate::calls::Handled;
use crate::dto::{CallDto, STATE_NAMES};
use crate::error::AppError;
use crate::http::auth::{Authorized, Principal, need};
use crate::http::{ApiJson, AppState};
use crate::store::audit;
use crate::store::calls::{self, CallFilter, CallRow};
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
        tenant_status: None,
        before_seq: page.before,
        only_tenants: p.only_tenants(),
        limit: page.limit,
    };
    let rows = st.store.read(move |db| calls::list(db, &filter)).await?;
    let next_cursor = page.next_cursor(rows.iter().map(|r| r.seq));
    let calls: Vec<CallDto> = rows.iter().map(CallDto::from).collect();
    Ok(Json(json!({ "calls": calls, "next_cursor": next_cursor })))
}

async fn load_visible(st: &AppState, p: &Principal, id: String) -> Result<CallRow, AppError> {
    check_id("call id", &id)?;
    Ok(st.calls().visible(&p.viewer(), id).await?)
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
    let entries = st
        .store
        .read(move |db| audit::of_call(db, &call.id))
        .await?;
    // A record naming a tenant the principal does not see (an earlier choice of another
    // agent) is left out.
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| e.tenant_id.as_deref().is_none_or(|t| p.sees_tenant(t)))
        .collect();
    Ok(Json(json!({ "audit": entries })))
}

async fn claim(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    check_id("call id", &id)?;
    let handled = st.calls().claim(p.viewer(), id).await?;
    Ok(Json(answer(&handled)))
}

/// What an agent's action answers: the call as it left it, and its screen pop.
fn answer(handled: &Handled) -> Value {
    json!({ "call": CallDto::from(&handled.call), "screen_pop": handled.screen_pop })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantBody {
    tenant_id: String,
    /// The agent came through Find Tenant or Find Different Tenant: no prefill.
    #[serde(default)]
    find: bool,
}

async fn enter_tenant(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantBody>,
) -> Result<Json<Value>, AppError> {
    check_id("call id", &id)?;
    check_id("tenant_id", &body.tenant_id)?;
    let handled = st
        .calls()
        .enter_tenant(p.viewer(), id, body.tenant_id, body.find)
        .await?;
    Ok(Json(answer(&handled)))
}

async fn go_to_tenant(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    check_id("call id", &id)?;
    let pop = st.calls().go_to_tenant(&p.viewer(), id).await?;
    Ok(Json(json!({ "screen_pop": pop })))
}
