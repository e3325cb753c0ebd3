//! Tenants, numbers and contacts (`directory.manage`; the tenant list and a tenant also
//! with `contact_center.settings`, for the settings screen's tenant details), tenant search
//! (`contact_center.view`), and the tenant sync with the upstream directory
//! (`contact_center.settings`).

use super::check_id;
use crate::access::Audience;
use crate::directory::{self as input, NumberInput, TenantInput};
use crate::domain::refusal::Refusal;
use crate::error::AppError;
use crate::http::auth::{Authorized, Principal, need};
use crate::http::{ApiJson, AppState, json_status};
use crate::store::{calls, directory};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants", get(list_tenants))
        .route("/api/v1/tenants/search", get(search))
        .route("/api/v1/tenants/sync", post(sync))
        .route(
            "/api/v1/tenants/{tenant_id}",
            put(put_tenant).get(get_tenant),
        )
        .route(
            "/api/v1/tenants/{tenant_id}/contacts/{e164}",
            put(put_contact),
        )
        .route("/api/v1/numbers", get(list_numbers))
        .route("/api/v1/numbers/{e164}", put(put_number).get(get_number))
}

fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

async fn put_tenant(
    State(st): State<AppState>,
    _p: Authorized<need::DirectoryManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantInput>,
) -> Result<Response, AppError> {
    let tenant = input::tenant(&id, body)?;
    let now = st.clock.now();
    let stored = tenant.clone();
    let created = st
        .store
        .write(move |db| directory::put_tenant(db, &stored, now))
        .await?;
    Ok(json_status(created_or_ok(created), &tenant))
}

async fn get_tenant(
    State(st): State<AppState>,
    _p: Authorized<need::TenantDetails>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    check_id("tenant id", &id)?;
    let tenant = st
        .store
        .read(move |db| directory::get_tenant(db, &id))
        .await?;
    let tenant = tenant.ok_or_else(|| AppError::not_found("tenant_not_found", "no such tenant"))?;
    Ok(json_status(StatusCode::OK, &tenant))
}

async fn list_tenants(
    State(st): State<AppState>,
    _p: Authorized<need::TenantDetails>,
) -> Result<Json<serde_json::Value>, AppError> {
    let tenants = st.store.read(directory::list_tenants).await?;
    Ok(Json(json!({ "tenants": tenants })))
}

async fn put_number(
    State(st): State<AppState>,
    _p: Authorized<need::DirectoryManage>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<NumberInput>,
) -> Result<Response, AppError> {
    let entry = input::number(&raw, body)?;
    let now = st.clock.now();
    let stored = entry.clone();
    let created = st
        .store
        .write(move |db| {
            for t in input::named_tenants(&stored) {
                if !directory::tenant_exists(db, t)? {
                    return Err(AppError::unprocessable(
                        "tenant_not_found",
                        format!("no tenant {t}: create it first"),
                    ));
                }
            }
            Ok(directory::put_number(db, &stored, now)?)
        })
        .await?;
    Ok(json_status(created_or_ok(created), &entry))
}

async fn get_number(
    State(st): State<AppState>,
    _p: Authorized<need::DirectoryManage>,
    Path(raw): Path<String>,
) -> Result<Response, AppError> {
    let e164 = input::e164(&raw)?;
    let n = st
        .store
        .read(move |db| directory::get_number(db, &e164))
        .await?;
    let n = n.ok_or_else(|| {
        AppError::not_found(
            "number_not_found",
            "the directory does not list this number",
        )
    })?;
    Ok(json_status(StatusCode::OK, &n))
}

async fn list_numbers(
    State(st): State<AppState>,
    _p: Authorized<need::DirectoryManage>,
) -> Result<Json<serde_json::Value>, AppError> {
    let numbers = st.store.read(directory::list_numbers).await?;
    Ok(Json(json!({ "numbers": numbers })))
}

/// Re-reads the tenants from the upstream directory and applies the difference in one
/// store write: added and changed tenants are written, tenants it no longer lists are
/// marked removed. Nothing is written when the directory cannot be read or is invalid.
async fn sync(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterSettings>,
) -> Result<Json<input::SyncReport>, AppError> {
    Ok(Json(sync_tenants(&st, &p.id).await?))
}

/// Sync Tenant Updates for `actor`: what `POST /api/v1/tenants/sync` and the console's
/// settings page do.
pub(crate) async fn sync_tenants(
    st: &AppState,
    actor: &str,
) -> Result<input::SyncReport, AppError> {
    let upstream = crate::upstream::fetch_tenants(&st.config.directory, st.config.egress).await?;
    let now = st.clock.now();
    let actor = actor.to_owned();
    let report = st
        .store
        .write(move |db| {
            let plan = input::plan_sync(&directory::list_tenants(db)?, upstream.clone());
            directory::apply_sync(db, &plan, &actor, now)?;
            Ok::<_, AppError>(plan.report)
        })
        .await?;
    tracing::info!(
        added = report.added.len(),
        updated = report.updated.len(),
        removed = report.removed.len(),
        "tenants synced with the upstream directory"
    );
    Ok(report)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactBody {
    name: String,
}

async fn put_contact(
    State(st): State<AppState>,
    _p: Authorized<need::DirectoryManage>,
    Path((tenant_id, raw)): Path<(String, String)>,
    ApiJson(body): ApiJson<ContactBody>,
) -> Result<Response, AppError> {
    check_id("tenant id", &tenant_id)?;
    let e164 = input::e164(&raw)?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.len() > 200 {
        return Err(AppError::unprocessable(
            "invalid_name",
            "name must be 1-200 characters",
        ));
    }
    let (t, n, nm) = (tenant_id.clone(), e164.clone(), name.clone());
    let created = st
        .store
        .write(move |db| {
            if !directory::tenant_exists(db, &t)? {
                return Err(AppError::not_found("tenant_not_found", "no such tenant"));
            }
            Ok(directory::put_contact(db, &t, &n, &nm)?)
        })
        .await?;
    Ok(json_status(
        created_or_ok(created),
        &json!({ "tenant_id": tenant_id, "e164": e164, "name": name }),
    ))
}

/// The parameters of a tenant search.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchQuery {
    pub zip: Option<String>,
    pub trade: Option<String>,
    pub call_id: Option<String>,
}

async fn search(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (tenants, mode) = search_tenants(&st, &p, q).await?;
    Ok(Json(json!({ "tenants": tenants, "mode": mode })))
}

/// Tenant search for a national or regional call, by the network's search mode, among the
/// tenants the principal sees: what `GET /api/v1/tenants/search` and the console's Find
/// Tenant answer. 409 in mode `none`, 400 when a parameter the mode needs is missing.
pub(crate) async fn search_tenants(
    st: &AppState,
    p: &Principal,
    q: SearchQuery,
) -> Result<(Vec<directory::Tenant>, directory::SearchMode), AppError> {
    let zip = q.zip.map(|z| z.trim().to_owned()).filter(|z| !z.is_empty());
    let trade = q
        .trade
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty());
    let call_id = q.call_id;
    let principal = p.clone();
    let (tenants, mode) = st
        .store
        .read(move |db| {
            let mode = directory::settings(db)?.national_search_mode;
            let trade = match mode {
                directory::SearchMode::None => {
                    return Err(AppError::conflict("search_disabled", "national search is off (mode none): national and regional calls cannot be resolved by search"));
                }
                directory::SearchMode::ZipOnly => None,
                directory::SearchMode::ZipAndTrade => {
                    Some(trade.as_deref().ok_or_else(|| AppError::bad_request("missing_parameter", "trade is required in mode zip_and_trade"))?)
                }
            };
            let zip = zip.as_deref().ok_or_else(|| AppError::bad_request("missing_parameter", "zip is required"))?;
            let among = match &call_id {
                None => None,
                Some(id) => {
                    check_id("call_id", id)?;
                    let call = calls::get(db, id)?
                        .filter(|call| principal.sees(&Audience::of_call(call)))
                        .ok_or(Refusal::CallNotFound)?;
                    call.resolution.filter(|r| r.kind == crate::domain::NumberKind::Regional).map(|r| r.tenant_ids)
                }
            };
            Ok((directory::search_tenants(db, zip, trade, among.as_deref())?, mode))
        })
        .await?;
    // Only the tenants the principal sees: an agent with no tenants finds none.
    let visible: Vec<_> = tenants
        .into_iter()
        .filter(|t| p.sees_tenant(&t.tenant_id))
        .collect();
    Ok((visible, mode))
}
