//! `/api/v1/connections` (`connections.manage`).

use super::check_id;
use crate::connections::{ConnectionView, NewConnection};
use crate::error::AppError;
use crate::http::auth::{Authorized, Principal, need};
use crate::http::{ApiJson, AppState, json_status};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use callgate_adapters::kit::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/connections", post(create).get(list))
        .route("/api/v1/connections/{id}", get(show))
        .route("/api/v1/connections/{id}/rotate", post(rotate))
        .route("/api/v1/connections/{id}/disable", post(disable))
        .route("/api/v1/connections/{id}/enable", post(enable))
}

/// Secret values as received; they become [`Secret`]s at once. A body that does not decode
/// is told without its values (`ApiJson`).
#[derive(Deserialize)]
#[serde(transparent)]
struct SecretsIn(BTreeMap<String, String>);

impl std::fmt::Debug for SecretsIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl SecretsIn {
    fn into_secrets(self) -> BTreeMap<String, Secret> {
        self.0
            .into_iter()
            .map(|(k, v)| (k, Secret::new(v)))
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    provider: String,
    name: String,
    secrets: SecretsIn,
    #[serde(default)]
    options: BTreeMap<String, String>,
}

async fn create(
    State(st): State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, AppError> {
    let new = NewConnection {
        provider: body.provider,
        name: body.name,
        secrets: body.secrets.into_secrets(),
        options: body.options,
    };
    let view = st.connections.create(new, &p.id, st.clock.now()).await?;
    Ok(json_status(StatusCode::CREATED, &view))
}

async fn list(
    State(st): State<AppState>,
    _p: Authorized<need::ConnectionsManage>,
) -> Result<Json<serde_json::Value>, AppError> {
    let all = st.connections.list(st.clock.now()).await?;
    Ok(Json(serde_json::json!({ "connections": all })))
}

async fn show(
    State(st): State<AppState>,
    _p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, AppError> {
    check_id("connection id", &id)?;
    Ok(Json(st.connections.get(&id, st.clock.now()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    secrets: SecretsIn,
    /// How long the previous secrets stay accepted (default: the configured grace, 24 h).
    grace_period_secs: Option<u64>,
}

async fn rotate(
    State(st): State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RotateBody>,
) -> Result<Json<ConnectionView>, AppError> {
    check_id("connection id", &id)?;
    let grace = body.grace_period_secs.map(Duration::from_secs);
    Ok(Json(
        st.connections
            .rotate(
                &id,
                body.secrets.into_secrets(),
                grace,
                &p.id,
                st.clock.now(),
            )
            .await?,
    ))
}

async fn disable(
    st: State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    id: Path<String>,
) -> Result<Json<ConnectionView>, AppError> {
    set_enabled(st, &p, id, false).await
}

async fn enable(
    st: State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    id: Path<String>,
) -> Result<Json<ConnectionView>, AppError> {
    set_enabled(st, &p, id, true).await
}

async fn set_enabled(
    State(st): State<AppState>,
    p: &Principal,
    Path(id): Path<String>,
    enabled: bool,
) -> Result<Json<ConnectionView>, AppError> {
    check_id("connection id", &id)?;
    Ok(Json(
        st.connections
            .set_enabled(&id, enabled, &p.id, st.clock.now())
            .await?,
    ))
}
