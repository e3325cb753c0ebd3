//! Health, metrics, the OpenAPI document, settings, and unknown numbers.

use crate::error::{AppError, error_body};
use crate::http::auth::{Authorized, need};
use crate::http::{ApiJson, AppState};
use crate::store::audit;
use crate::store::directory::{self, Settings};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

/// The OpenAPI document of the HTTP API, as written.
const OPENAPI: &str = include_str!("../openapi.json");

/// Where the document lists provider ids: the webhook route's `{provider}` (both methods)
/// and a new connection's `provider`.
const PROVIDER_ENUMS: [&str; 3] = [
    "/paths/~1webhooks~1{provider}~1{connection_id}/post/parameters/0/schema",
    "/paths/~1webhooks~1{provider}~1{connection_id}/get/parameters/0/schema",
    "/components/schemas/ConnectionCreate/properties/provider",
];

/// The OpenAPI document as served: its provider lists are the registry's, so that adding a
/// provider changes no file outside its folder and the registry line.
fn document() -> &'static str {
    static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(OPENAPI) else {
            return OPENAPI.to_owned();
        };
        let ids: Vec<serde_json::Value> = callgate_adapters::ADAPTERS
            .iter()
            .map(|a| a.info().id.into())
            .collect();
        for pointer in PROVIDER_ENUMS {
            if let Some(schema) = doc.pointer_mut(pointer).and_then(|s| s.as_object_mut()) {
                schema.insert("enum".into(), ids.clone().into());
            }
        }
        doc.to_string()
    });
    &DOCUMENT
}

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    crate::telemetry::render_metrics(),
                )
            }),
        )
        .route(
            "/api/v1/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], document()) }),
        )
        .route("/api/v1/settings", get(get_settings).put(put_settings))
        .route("/api/v1/numbers/unknown", get(unknown_numbers))
}

/// Ready when the store answers a read and takes writes: once a write failed for a storage
/// reason (full disk, I/O error, read-only), 503 with that reason until a write that takes
/// new space succeeds (the store tries one of its own on each call meanwhile).
async fn readyz(State(st): State<AppState>) -> Response {
    if !st.store.ping().await {
        return AppError::Unavailable("the store does not answer".into()).into_response();
    }
    let writable = st.store.writable(st.clock.now()).await;
    crate::telemetry::store_writable(writable.is_ok());
    match writable {
        Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(fault) => {
            let mut body = error_body(
                "store_not_writable",
                &format!("the store's writes fail ({})", fault.as_str()),
            );
            body["status"] = "not_ready".into();
            body["reason"] = fault.as_str().into();
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn get_settings(
    State(st): State<AppState>,
    _p: Authorized<need::ContactCenterSettings>,
) -> Result<Json<Settings>, AppError> {
    Ok(Json(st.store.read(directory::settings).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    national_search_mode: directory::SearchMode,
}

async fn put_settings(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterSettings>,
    ApiJson(body): ApiJson<SettingsBody>,
) -> Result<Json<Settings>, AppError> {
    save_settings(&st, &p.id, body.national_search_mode)
        .await
        .map(Json)
}

/// Saves the national search mode, audited with its actor: what `PUT /api/v1/settings` and
/// the console's Save do.
pub(crate) async fn save_settings(
    st: &AppState,
    actor: &str,
    mode: directory::SearchMode,
) -> Result<Settings, AppError> {
    let now = st.clock.now();
    let settings = Settings {
        national_search_mode: mode,
    };
    let actor = actor.to_owned();
    st.store
        .write(move |db| {
            let before = directory::settings(db)?;
            directory::put_settings(db, &settings)?;
            let detail = serde_json::json!({"before": before, "after": settings});
            audit::record(db, now, &actor, "settings.changed", None, None, &detail)?;
            Ok(settings)
        })
        .await
}

async fn unknown_numbers(
    State(st): State<AppState>,
    _p: Authorized<need::DirectoryManage>,
) -> Result<Response, AppError> {
    let list = st.store.read(directory::unknown_numbers).await?;
    Ok((StatusCode::OK, Json(serde_json::json!({ "numbers": list }))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every place the served document lists providers names exactly the registered ones.
    #[test]
    fn the_served_document_lists_the_registered_providers() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        let registered: Vec<&str> = callgate_adapters::ADAPTERS
            .iter()
            .map(|a| a.info().id)
            .collect();
        assert!(registered.contains(&"telnyx") && registered.len() > 5);
        for pointer in PROVIDER_ENUMS {
            let listed: Vec<&str> = doc
                .pointer(pointer)
                .and_then(|s| s["enum"].as_array())
                .unwrap_or_else(|| panic!("{pointer} has no provider list"))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(listed, registered, "{pointer}");
        }
    }
}
