//! The managers' page (`users.manage`): the users within the manager's reach with their
//! permissions, identities and tenants, assigning tenants, and new tokens (shown once). Every
//! change goes through the functions `PUT /api/v1/users/{id}` and
//! `POST /api/v1/users/{id}/tokens` use, with their rules: a manager grants only the tenants it sees, and changes only users who
//! hold no more than it does.

use super::{Chrome, PageError, form_action, html, signed_in};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::api::users::{make_token, save_user, users_in_reach};
use crate::http::auth::Permission;
use crate::ids::check_user_ref;
use crate::store::directory;
use crate::users::UserSpec;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// A tenant the manager may assign, and whether the user has it.
#[derive(Debug)]
struct TenantBox {
    tenant_id: String,
    name: String,
    checked: bool,
}

#[derive(Debug)]
struct UserRow {
    user_id: String,
    name: String,
    permissions: String,
    /// The strings providers report for this agent's phone.
    identities: String,
    tenants: Vec<TenantBox>,
}

#[derive(Template)]
#[template(path = "managers.html")]
struct ManagersPage {
    chrome: Chrome,
    csrf: String,
    notice: Option<String>,
    users: Vec<UserRow>,
}

#[derive(Template)]
#[template(path = "new_token.html")]
struct NewTokenPage {
    chrome: Chrome,
    user_id: String,
    token: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ManagersQuery {
    saved: Option<String>,
}

/// `GET /console/users`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ManagersQuery>,
) -> Result<Response, PageError> {
    let user = signed_in(&st, &headers).await?;
    let p = &user.principal;
    p.require(Permission::UsersManage)?;
    let users = users_in_reach(&st, p).await?;
    let mut tenants = st
        .store
        .read(directory::list_tenants)
        .await
        .map_err(AppError::from)?;
    tenants.retain(|t| p.sees_tenant(&t.tenant_id));
    let rows = users
        .into_iter()
        .map(|u| UserRow {
            permissions: u.permissions.join(", "),
            identities: u.identities.join(", "),
            tenants: tenants
                .iter()
                .map(|t| TenantBox {
                    checked: u.tenant_ids.contains(&t.tenant_id),
                    tenant_id: t.tenant_id.clone(),
                    name: t.name.clone(),
                })
                .collect(),
            user_id: u.user_id,
            name: u.name,
        })
        .collect();
    let page = ManagersPage {
        chrome: Chrome::of(&user, "/console/users"),
        csrf: user.csrf.clone(),
        notice: q
            .saved
            .filter(|id| check_user_ref(id).is_ok())
            .map(|id| format!("The tenants of {id} were saved; their open pages follow at once.")),
        users: rows,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /console/users/{id}/tenants` (form: `csrf`, a `tenant:<id>` field per tenant
/// checked): the user keeps its name and permissions and sees exactly the tenants checked
/// among those the manager sees, plus those it had beyond them.
pub async fn save_tenants(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    let (user, form) = form_action(&st, &headers, body, Permission::UsersManage).await?;
    let p = &user.principal;
    check_user_ref(&user_id)?;
    let current = users_in_reach(&st, p)
        .await?
        .into_iter()
        .find(|u| u.user_id == user_id)
        .ok_or_else(|| AppError::not_found("user_not_found", "no such user"))?;
    let checked = form
        .keys()
        .filter_map(|k| k.strip_prefix("tenant:"))
        .map(str::to_owned);
    let kept = current
        .tenant_ids
        .iter()
        .filter(|t| !p.sees_tenant(t))
        .cloned();
    let spec = UserSpec {
        user_id: current.user_id.clone(),
        name: current.name,
        permissions: current.permissions.into_iter().collect(),
        tenant_ids: checked.chain(kept).collect(),
        identities: current.identities.into_iter().collect(),
    };
    save_user(&st, p, spec).await?;
    Ok(Redirect::to(&format!("/console/users?saved={user_id}")).into_response())
}

/// `POST /console/users/{id}/tokens` (form: `csrf`): a new token of the user, shown on this
/// page once and never again.
pub async fn new_token(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    let (user, _) = form_action(&st, &headers, body, Permission::UsersManage).await?;
    let (info, token) = make_token(&st, &user.principal, user_id).await?;
    let page = NewTokenPage {
        chrome: Chrome::of(&user, "/console/users"),
        user_id: info.user_id,
        token: token.value.expose().to_owned(),
    };
    Ok(html(StatusCode::CREATED, &page))
}
