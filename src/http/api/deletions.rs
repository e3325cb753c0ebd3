//! Recording deletions at providers not done yet (`connections.manage`):
//! `GET /api/v1/recording-deletions` lists them, the soonest due first, and
//! `POST /api/v1/recording-deletions/{id}/retry` makes one due now ("Retry now" on the
//! console's Ops page).

use super::Page;
use crate::error::AppError;
use crate::http::auth::{Authorized, need};
use crate::http::{AppState, json_status};
use crate::store::audit;
use crate::store::outbound::{self, DeletionRetry, PendingDeletion};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/recording-deletions", get(list))
        .route("/api/v1/recording-deletions/{id}/retry", post(retry))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
}

/// A pending deletion as the API shows it.
pub(crate) fn deletion_json(d: &PendingDeletion) -> Value {
    json!({
        "id": d.id.to_string(),
        "connection_id": d.connection_id,
        "call_id": d.call_id,
        "recording_id": d.recording_id,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.format(&Rfc3339).unwrap_or_default(),
        "last_error": d.last_error,
        "created_at": d.created_at.format(&Rfc3339).unwrap_or_default(),
    })
}

async fn list(
    State(st): State<AppState>,
    _p: Authorized<need::ConnectionsManage>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let page = Page::parse(q.limit.as_deref(), None)?;
    let limit = i64::try_from(page.limit).unwrap_or(100);
    let rows = st
        .store
        .read(move |db| outbound::pending_deletions(db, limit))
        .await?;
    let list: Vec<Value> = rows.iter().map(deletion_json).collect();
    Ok(Json(json!({ "recording_deletions": list })))
}

async fn retry(
    State(st): State<AppState>,
    p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let deletion = retry_deletion(&st, &p.id, &id).await?;
    Ok(json_status(StatusCode::ACCEPTED, &deletion_json(&deletion)))
}

fn unknown_deletion() -> AppError {
    AppError::not_found("deletion_not_found", "no such recording deletion")
}

/// Makes a pending recording deletion due now, its backoff started over and its attempts
/// kept, audited as `recording.deletion_retried` with its actor: what
/// `POST /api/v1/recording-deletions/{id}/retry` and the console's Retry now do. 404 for an
/// id that names no deletion, 409 for a deletion that is over.
pub(crate) async fn retry_deletion(
    st: &AppState,
    actor: &str,
    id: &str,
) -> Result<PendingDeletion, AppError> {
    // Ids are the store's integers; anything else names no deletion.
    let id: i64 = id
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(unknown_deletion)?;
    let now = st.clock.now();
    let actor = actor.to_owned();
    let found = st
        .store
        .write(move |db| {
            let found = outbound::retry_deletion(db, id, now)?;
            if let DeletionRetry::Due(d) = &found {
                audit::record(
                    db,
                    now,
                    &actor,
                    "recording.deletion_retried",
                    Some(&d.call_id),
                    None,
                    &json!({
                        "deletion_id": d.id.to_string(),
                        "recording_id": d.recording_id,
                        "attempts": d.attempts,
                    }),
                )?;
            }
            Ok::<_, AppError>(found)
        })
        .await?;
    match found {
        DeletionRetry::Due(d) => {
            st.outbox_wake.notify_one();
            Ok(d)
        }
        DeletionRetry::Over => Err(AppError::conflict(
            "deletion_over",
            "this recording deletion is over (confirmed by the provider, closed, or called off): there is nothing to retry",
        )),
        DeletionRetry::Unknown => Err(unknown_deletion()),
    }
}
