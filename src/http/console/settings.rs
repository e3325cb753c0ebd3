//! The settings page (`contact_center.settings`): the national search mode with Save, the
//! tenant details list (ZIP codes and trades), and Sync Tenant Updates with what it changed.
//! Save and sync call the same functions as `PUT /api/v1/settings` and
//! `POST /api/v1/tenants/sync`.

use super::{Chrome, PageError, form_action, html, signed_in};
use crate::directory::SyncReport;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::api::directory::sync_tenants;
use crate::http::api::ops::save_settings;
use crate::http::auth::Permission;
use crate::store::directory::{self, SearchMode, Tenant};
use askama::Template;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;

/// A search mode as offered.
#[derive(Debug)]
struct ModeChoice {
    value: &'static str,
    label: &'static str,
    current: bool,
}

const MODES: [(SearchMode, &str, &str); 3] = [
    (
        SearchMode::ZipAndTrade,
        "zip_and_trade",
        "ZIP code and trade: agents give both",
    ),
    (
        SearchMode::ZipOnly,
        "zip_only",
        "ZIP code only: the trade is not asked",
    ),
    (
        SearchMode::None,
        "none",
        "No search: national and regional calls end without a tenant",
    ),
];

/// A tenant in the details list.
#[derive(Debug)]
struct TenantRow {
    name: String,
    url: Option<String>,
    zip_codes: String,
    trades: String,
}

/// What a sync changed, by tenant name.
#[derive(Debug)]
struct SyncView {
    nothing: bool,
    added: Vec<String>,
    updated: Vec<UpdatedTenant>,
    removed: Vec<String>,
}

/// An updated tenant, with each field that changed.
#[derive(Debug)]
struct UpdatedTenant {
    name: String,
    changes: Vec<crate::directory::FieldChange>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    csrf: String,
    notice: Option<&'static str>,
    modes: Vec<ModeChoice>,
    tenants: Vec<TenantRow>,
    sync: Option<SyncView>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    saved: Option<String>,
}

/// `GET /console/settings`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, PageError> {
    let notice = q.saved.is_some().then_some("The search mode was saved.");
    render(&st, &headers, notice, None).await
}

async fn render(
    st: &AppState,
    headers: &HeaderMap,
    notice: Option<&'static str>,
    sync: Option<SyncReport>,
) -> Result<Response, PageError> {
    let user = signed_in(st, headers).await?;
    user.principal.require(Permission::ContactCenterSettings)?;
    let (settings, tenants) = st
        .store
        .read(|db| Ok::<_, AppError>((directory::settings(db)?, directory::list_tenants(db)?)))
        .await?;
    let names: HashMap<&str, &str> = tenants
        .iter()
        .map(|t| (t.tenant_id.as_str(), t.name.as_str()))
        .collect();
    let named = |ids: Vec<String>| -> Vec<String> {
        ids.into_iter()
            .map(|id| {
                names
                    .get(id.as_str())
                    .map_or(id.clone(), |n| format!("{n} ({id})"))
            })
            .collect()
    };
    let sync = sync.map(|mut r| SyncView {
        nothing: r.added.is_empty() && r.updated.is_empty() && r.removed.is_empty(),
        added: named(r.added),
        updated: r
            .updated
            .iter()
            .zip(named(r.updated.clone()))
            .map(|(id, name)| UpdatedTenant {
                name,
                changes: r.changes.remove(id).unwrap_or_default(),
            })
            .collect(),
        removed: r.removed,
    });
    let page = SettingsPage {
        chrome: Chrome::of(&user, "/console/settings"),
        csrf: user.csrf.clone(),
        notice,
        modes: MODES
            .iter()
            .map(|&(mode, value, label)| ModeChoice {
                value,
                label,
                current: mode == settings.national_search_mode,
            })
            .collect(),
        tenants: tenants.into_iter().map(tenant_row).collect(),
        sync,
    };
    Ok(html(StatusCode::OK, &page))
}

fn tenant_row(t: Tenant) -> TenantRow {
    TenantRow {
        name: t.name,
        url: t.booking_url,
        zip_codes: t.zip_codes.join(", "),
        trades: t.trades.join(", "),
    }
}

/// `POST /console/settings` (form: `csrf`, `national_search_mode`): saves the mode, then
/// shows the page again with a confirmation.
pub async fn save(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let (user, form) = form_action(&st, &headers, body, Permission::ContactCenterSettings).await?;
    let chosen = form.get("national_search_mode").map(String::as_str);
    let mode = MODES
        .iter()
        .find(|(_, value, _)| Some(*value) == chosen)
        .map(|(mode, _, _)| *mode)
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_search_mode",
                "choose one of the search modes offered",
            )
        })?;
    save_settings(&st, &user.principal.id, mode).await?;
    Ok(Redirect::to("/console/settings?saved=1").into_response())
}

/// `POST /console/settings/sync` (form: `csrf`): Sync Tenant Updates, then the page with
/// what it added, updated and removed.
pub async fn sync(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let (user, _) = form_action(&st, &headers, body, Permission::ContactCenterSettings).await?;
    let report = sync_tenants(&st, &user.principal.id).await?;
    render(&st, &headers, None, Some(report)).await
}
