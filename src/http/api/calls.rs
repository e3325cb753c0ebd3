//! Calls (`contact_center.view`): list, show, claim, enter tenant, go to tenant.

use super::check_id;
use crate::domain::gate::TenantStatus;
use crate::domain::screen_pop::{PopContext, ScreenPop, screen_pop};
use crate::error::AppError;
use crate::http::auth::{Permission, Principal};
use crate::http::dto::{CallDto, STATE_NAMES};
use crate::http::{ApiJson, AppState};
use crate::store::calls::{self, CallFilter, CallRow};
use crate::store::directory;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::Connection;
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

/// A principal sees a call when it sees the call's tenant, or when the call has none yet.
pub(super) fn visible(p: &Principal, call: &CallRow) -> bool {
    let t = call.tenant();
    match t.tenant_id {
        Some(id) if matches!(t.status, TenantStatus::Resolved | TenantStatus::Selected) => {
            p.sees_tenant(&id)
        }
        _ => true,
    }
}

fn not_found() -> AppError {
    AppError::not_found("call_not_found", "no such call")
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    provider_call_id: Option<String>,
    state: Option<String>,
    tenant_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list(
    State(st): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    p.require(Permission::ContactCenterView)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad_request(
            "invalid_limit",
            "limit must be between 1 and 1000",
        ));
    }
    if let Some(s) = &q.state
        && !STATE_NAMES.contains(&s.as_str())
    {
        return Err(AppError::bad_request(
            "invalid_state",
            format!("state must be one of {STATE_NAMES:?}"),
        ));
    }
    let before_seq = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            AppError::bad_request("invalid_cursor", "cursor is not one this API returned")
        })?),
    };
    let filter = CallFilter {
        provider_call_id: q.provider_call_id,
        state: q.state,
        tenant_id: q.tenant_id,
        before_seq,
        limit,
    };
    let rows = st.store.read(move |c| calls::list(c, &filter)).await?;
    let next_cursor = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    let calls: Vec<CallDto> = rows
        .iter()
        .filter(|c| visible(&p, c))
        .map(CallDto::from)
        .collect();
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
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<CallDto>, AppError> {
    p.require(Permission::ContactCenterView)?;
    let call = load_visible(&st, &p, id).await?;
    Ok(Json(CallDto::from(&call)))
}

async fn audit(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    p.require(Permission::ContactCenterView)?;
    let call = load_visible(&st, &p, id).await?;
    let entries = st
        .store
        .read(move |c| calls::audit_of_call(c, &call.id))
        .await?;
    Ok(Json(json!({ "audit": entries })))
}

/// The screen pop of a call, with the directory lookups it needs.
pub(super) fn pop_for(conn: &Connection, call: &CallRow) -> Result<ScreenPop, AppError> {
    let tenant = call.tenant();
    let from = call.fold.from.as_ref().map(|e| e.value.clone());
    let mut ctx = PopContext {
        provider_caller_name: call.fold.caller_name.as_ref().map(|e| e.value.clone()),
        ..PopContext::default()
    };
    if let Some(t) = &tenant.tenant_id {
        ctx.booking_url = directory::get_tenant(conn, t)?.and_then(|t| t.booking_url);
        if let Some(f) = &from {
            ctx.contact_name = directory::contact_name(conn, t, f)?;
        }
    }
    Ok(screen_pop(&call.id, from.as_deref(), &tenant, ctx))
}

async fn claim(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    p.require(Permission::ContactCenterView)?;
    load_visible(&st, &p, id.clone()).await?;
    let agent = p.id.clone();
    let (call, pop) = st
        .store
        .write(move |c| {
            let call = calls::claim(c, &id, &agent)?;
            let pop = pop_for(c, &call)?;
            Ok((call, pop))
        })
        .await?;
    Ok(Json(
        json!({ "call": CallDto::from(&call), "screen_pop": pop }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantBody {
    tenant_id: String,
}

async fn enter_tenant(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantBody>,
) -> Result<Json<Value>, AppError> {
    p.require(Permission::ContactCenterView)?;
    check_id("tenant_id", &body.tenant_id)?;
    load_visible(&st, &p, id.clone()).await?;
    if !p.sees_tenant(&body.tenant_id) {
        return Err(AppError::Forbidden(
            "this tenant is not among the tenants assigned to you".into(),
        ));
    }
    let agent = p.id.clone();
    let clock = st.clock.clone();
    let (call, pop) = st
        .store
        .write(move |c| {
            // The time is read when the writer runs the job: selections and call ends are
            // timed in the order they are stored.
            let call = calls::select_tenant(c, &id, &body.tenant_id, &agent, clock.now())?;
            let pop = pop_for(c, &call)?;
            Ok((call, pop))
        })
        .await?;
    Ok(Json(
        json!({ "call": CallDto::from(&call), "screen_pop": pop }),
    ))
}

async fn go_to_tenant(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    p.require(Permission::ContactCenterView)?;
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
