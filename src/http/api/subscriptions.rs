//! Outbound webhooks: `/api/v1/subscriptions` and the delivery log (`connections.manage`).

use super::check_id;
use crate::dto::EventType;
use crate::egress::{self, EgressError};
use crate::error::AppError;
use crate::http::auth::{Authorized, need};
use crate::http::{ApiJson, AppState, json_status};
use crate::outbox::subscription_context;
use crate::store::audit;
use crate::store::subscriptions::{self as rows, Subscription};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/subscriptions", post(create).get(list))
        .route("/api/v1/subscriptions/{id}", get(show).delete(remove))
        .route("/api/v1/subscriptions/{id}/enable", post(enable))
        .route("/api/v1/subscriptions/{id}/disable", post(disable))
        .route("/api/v1/subscriptions/{id}/deliveries", get(deliveries))
        .route("/api/v1/webhook-deliveries/{id}/replay", post(replay))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    event_types: Vec<String>,
    /// `whsec_` + base64 of 24-64 bytes; made up when absent.
    #[serde(default)]
    secret: Option<String>,
}

impl std::fmt::Debug for CreateBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateBody")
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .finish_non_exhaustive()
    }
}

/// A subscription as the API shows it: never its secret.
#[derive(Debug, Serialize)]
struct View {
    id: String,
    url: String,
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    failing_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl From<&Subscription> for View {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.clone(),
            url: s.url.clone(),
            event_types: s.event_types.clone(),
            enabled: s.enabled,
            disabled_reason: s.disabled_reason.clone(),
            failing_since: s.failing_since,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

fn not_found() -> AppError {
    AppError::not_found("subscription_not_found", "no such subscription")
}

/// The secret given, checked, or a new one.
fn secret_of(given: Option<String>) -> Result<String, AppError> {
    let Some(secret) = given else {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        return Ok(format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ));
    };
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok());
    match key {
        Some(k) if (24..=64).contains(&k.len()) => Ok(secret),
        _ => Err(AppError::unprocessable(
            "invalid_secret",
            "secret must be whsec_ followed by the base64 of 24 to 64 bytes (or left out: one is made)",
        )),
    }
}

async fn create(
    State(st): State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, AppError> {
    let url = egress::check_url(body.url.trim(), st.config.egress).map_err(|e| {
        let code = match e {
            EgressError::Forbidden(_) => "url_not_allowed",
            _ => "invalid_url",
        };
        AppError::unprocessable(code, e.to_string())
    })?;
    let mut event_types = body.event_types;
    event_types.sort();
    event_types.dedup();
    if event_types.is_empty() {
        return Err(AppError::unprocessable(
            "invalid_event_types",
            "event_types must name at least one event type",
        ));
    }
    if let Some(unknown) = event_types
        .iter()
        .find(|t| EventType::parse(t, &EventType::OF_CALLS).is_none())
    {
        let known: Vec<&str> = EventType::OF_CALLS.iter().map(|k| k.as_str()).collect();
        return Err(AppError::unprocessable(
            "unknown_event_type",
            format!(
                "unknown event type {unknown:?}; known: {}",
                known.join(", ")
            ),
        ));
    }
    let secret = secret_of(body.secret)?;
    let now = st.clock.now();
    let id = format!("sub_{}", uuid::Uuid::now_v7().simple());
    let sub = Subscription {
        sealed_secret: st
            .connections
            .master_key()
            .seal(secret.as_bytes(), &subscription_context(&id)),
        id,
        url: url.to_string(),
        event_types,
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    let stored = sub.clone();
    let actor = p.id.clone();
    st.store
        .write(move |db| {
            rows::insert(db, &stored)?;
            audit::record(
                db,
                now,
                &actor,
                "subscription.created",
                None,
                None,
                &json!({ "subscription_id": stored.id, "url": stored.url }),
            )
        })
        .await?;
    // The secret is shown this once.
    let mut out = serde_json::to_value(View::from(&sub))?;
    out["secret"] = json!(secret);
    Ok(json_status(StatusCode::CREATED, &out))
}

async fn list(
    State(st): State<AppState>,
    _p: Authorized<need::ConnectionsManage>,
) -> Result<Json<serde_json::Value>, AppError> {
    let all = st.store.read(rows::list).await?;
    let views: Vec<View> = all.iter().map(View::from).collect();
    Ok(Json(json!({ "subscriptions": views })))
}

async fn show(
    State(st): State<AppState>,
    _p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
) -> Result<Json<View>, AppError> {
    check_id("subscription id", &id)?;
    let sub = st
        .store
        .read(move |db| rows::get(db, &id))
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(View::from(&sub)))
}

async fn remove(
    State(st): State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    check_id("subscription id", &id)?;
    let now = st.clock.now();
    let actor = p.id.clone();
    let removed = st
        .store
        .write(move |db| {
            let removed = rows::delete(db, &id)?;
            if removed {
                audit::record(
                    db,
                    now,
                    &actor,
                    "subscription.deleted",
                    None,
                    None,
                    &json!({ "subscription_id": id }),
                )?;
            }
            Ok::<_, AppError>(removed)
        })
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

async fn set_enabled(
    st: AppState,
    actor: String,
    id: String,
    enabled: bool,
) -> Result<Json<View>, AppError> {
    check_id("subscription id", &id)?;
    let now = st.clock.now();
    let sub = st
        .store
        .write(move |db| {
            let reason = (!enabled).then_some("disabled by an operator");
            let sub = rows::set_enabled(db, &id, enabled, reason, now)?;
            if sub.is_some() {
                let action = if enabled {
                    "subscription.enabled"
                } else {
                    "subscription.disabled"
                };
                audit::record(
                    db,
                    now,
                    &actor,
                    action,
                    None,
                    None,
                    &json!({ "subscription_id": id }),
                )?;
            }
            Ok::<_, AppError>(sub)
        })
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(View::from(&sub)))
}

async fn enable(
    State(st): State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
) -> Result<Json<View>, AppError> {
    set_enabled(st, p.id.clone(), id, true).await
}

async fn disable(
    State(st): State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
) -> Result<Json<View>, AppError> {
    set_enabled(st, p.id.clone(), id, false).await
}

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<String>,
}

async fn deliveries(
    State(st): State<AppState>,
    _p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    check_id("subscription id", &id)?;
    let page = super::Page::parse(q.limit.as_deref(), None)?;
    let found = st
        .store
        .read(move |db| {
            if rows::get(db, &id)?.is_none() {
                return Ok::<_, AppError>(None);
            }
            Ok(Some(rows::deliveries(db, &id, page.limit)?))
        })
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(json!({ "deliveries": found })))
}

async fn replay(
    State(st): State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let delivery = replay_delivery(&st, &p.id, id).await?;
    Ok(json_status(StatusCode::ACCEPTED, &delivery))
}

/// Sends an outbound delivery again (its subscription must be enabled to send it), audited
/// as `webhook.replayed` with its actor: what `POST /api/v1/webhook-deliveries/{id}/replay`
/// and the console's Replay do.
pub(crate) async fn replay_delivery(
    st: &AppState,
    actor: &str,
    id: String,
) -> Result<rows::DeliveryView, AppError> {
    check_id("delivery id", &id)?;
    let now = st.clock.now();
    let actor = actor.to_owned();
    let delivery = st
        .store
        .write(move |db| {
            let view = rows::replay(db, &id, now)?;
            if view.is_some() {
                audit::record(
                    db,
                    now,
                    &actor,
                    "webhook.replayed",
                    None,
                    None,
                    &json!({ "delivery_id": id }),
                )?;
            }
            Ok::<_, AppError>(view)
        })
        .await?
        .ok_or_else(|| AppError::not_found("delivery_not_found", "no such delivery"))?;
    st.outbox_wake.notify_one();
    Ok(delivery)
}
