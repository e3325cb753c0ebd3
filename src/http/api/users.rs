//! Users and their tokens (`users.manage`). Every change is audited with its actor.

use super::{check_id, check_user_ref};
use crate::accounts;
use crate::error::AppError;
use crate::http::auth::{Authorized, Principal, need};
use crate::http::{ApiJson, AppState, json_status};
use crate::store::Db;
use crate::store::users::{self as rows, User};
use crate::users::{self as input, UserInput};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::json;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list))
        .route("/api/v1/users/{user_id}", get(show).put(put_user))
        .route(
            "/api/v1/users/{user_id}/tokens",
            post(create_token).get(list_tokens),
        )
        .route(
            "/api/v1/users/{user_id}/tokens/{token_id}",
            delete(revoke_token),
        )
}

/// A manager changes only users who hold no more than it does (their permissions and tenants
/// are among its own): otherwise a manager could take over a wider account by giving it a
/// token, or strip rights it could never grant back. 403 for anyone else.
fn within_reach(p: &Principal, user: &User) -> Result<(), AppError> {
    p.covers(&user.permissions, &user.tenant_ids, "this user holds")
}

/// Tells this instance's live streams of the user to check their token again (other
/// instances hear of it from the store write itself: `Signal::Rights`).
fn rights_changed(st: &AppState, user_id: &str) {
    st.events.publish(crate::events::Change::RightsChanged {
        user_id: user_id.to_owned(),
    });
}

fn user_not_found() -> AppError {
    AppError::not_found("user_not_found", "no such user")
}

/// The user, or 404 also when it is beyond the reader's reach ([`within_reach`]): a
/// manager neither reads a user it could not change nor learns that one exists.
fn readable(db: &Db<'_>, p: &Principal, user_id: &str) -> Result<User, AppError> {
    accounts::existing(db, user_id)
        .and_then(|u| within_reach(p, &u).map(|()| u))
        .map_err(|e| match e {
            AppError::Forbidden(_) => user_not_found(),
            e => e,
        })
}

/// The users within the manager's reach ([`within_reach`]); the bootstrap token and a
/// manager of every tenant holding every permission see them all.
async fn list(
    State(st): State<AppState>,
    p: Authorized<need::UsersManage>,
) -> Result<Json<serde_json::Value>, AppError> {
    let users = users_in_reach(&st, &p).await?;
    Ok(Json(json!({ "users": users })))
}

/// The users within the principal's reach: what `GET /api/v1/users` and the console's
/// managers page list.
pub(crate) async fn users_in_reach(st: &AppState, p: &Principal) -> Result<Vec<User>, AppError> {
    let mut users = st.store.read(rows::list).await?;
    users.retain(|u| within_reach(p, u).is_ok());
    Ok(users)
}

async fn show(
    State(st): State<AppState>,
    p: Authorized<need::UsersManage>,
    Path(user_id): Path<String>,
) -> Result<Json<User>, AppError> {
    check_user_ref(&user_id)?;
    let principal = Principal::clone(&p);
    Ok(Json(
        st.store
            .read(move |db| readable(db, &principal, &user_id))
            .await?,
    ))
}

/// Creates (201) or replaces (200) a user. The change takes effect on the user's next
/// request.
async fn put_user(
    State(st): State<AppState>,
    p: Authorized<need::UsersManage>,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<UserInput>,
) -> Result<Response, AppError> {
    let spec = input::validate(&user_id, body)?;
    let (user, created) = save_user(&st, &p, spec).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_status(status, &user))
}

/// Creates or replaces a user as `p` (a manager grants only what it holds, and changes only
/// users within its reach), audited, and tells the user's live streams: what
/// `PUT /api/v1/users/{id}` and the console's managers page do. The user, and whether it was
/// created.
pub(crate) async fn save_user(
    st: &AppState,
    p: &Principal,
    spec: input::UserSpec,
) -> Result<(User, bool), AppError> {
    p.covers(&spec.permissions, &spec.tenant_ids, "the user would hold")?;
    let actor = p.id.clone();
    let clock = st.clock.clone();
    let principal = p.clone();
    let put = st
        .store
        .write(move |db| {
            let reach = |u: &User| within_reach(&principal, u);
            accounts::put_user(db, spec.clone(), &actor, clock.now(), &reach)
        })
        .await?;
    if put.changed {
        rights_changed(st, &put.user.user_id);
    }
    Ok((put.user, put.created))
}

/// Makes a token for the user: its value is in this answer and nowhere else, ever.
async fn create_token(
    State(st): State<AppState>,
    p: Authorized<need::UsersManage>,
    Path(user_id): Path<String>,
) -> Result<Response, AppError> {
    let (info, token) = make_token(&st, &p, user_id).await?;
    let mut body = serde_json::to_value(&info)?;
    body["token"] = token.value.expose().into();
    Ok(json_status(StatusCode::CREATED, &body))
}

/// A new token of the user, made by `p` (the user within its reach), audited: its record
/// and its value, which the caller shows once. What `POST /api/v1/users/{id}/tokens` and the
/// console's managers page do.
pub(crate) async fn make_token(
    st: &AppState,
    p: &Principal,
    user_id: String,
) -> Result<(rows::TokenInfo, input::NewToken), AppError> {
    check_user_ref(&user_id)?;
    let token = input::new_token()?;
    let actor = p.id.clone();
    let clock = st.clock.clone();
    let (token_id, hash) = (token.token_id.clone(), token.hash);
    let principal = p.clone();
    let info = st
        .store
        .write(move |db| {
            let reach = |u: &User| within_reach(&principal, u);
            let token = (token_id.as_str(), &hash);
            accounts::add_token(db, &user_id, token, &actor, clock.now(), &reach)
        })
        .await?;
    Ok((info, token))
}

async fn list_tokens(
    State(st): State<AppState>,
    p: Authorized<need::UsersManage>,
    Path(user_id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    check_user_ref(&user_id)?;
    let principal = Principal::clone(&p);
    let tokens = st
        .store
        .read(move |db| {
            readable(db, &principal, &user_id)?;
            Ok::<_, AppError>(rows::tokens_of(db, &user_id)?)
        })
        .await?;
    Ok(Json(json!({ "tokens": tokens })))
}

/// Revokes a token (204): it is refused from the next request on. Revoking it again is
/// harmless.
async fn revoke_token(
    State(st): State<AppState>,
    p: Authorized<need::UsersManage>,
    Path((user_id, token_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    check_user_ref(&user_id)?;
    check_id("token id", &token_id)?;
    let actor = p.id.clone();
    let clock = st.clock.clone();
    let principal = Principal::clone(&p);
    let user = user_id.clone();
    let revoked = st
        .store
        .write(move |db| {
            let reach = |u: &User| within_reach(&principal, u);
            accounts::revoke_token(db, &user_id, &token_id, &actor, clock.now(), &reach)
        })
        .await?;
    if revoked {
        rights_changed(&st, &user);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
