//! What came in on a connection (`connections.manage`): `GET /api/v1/connections/{id}/refusals`
//! (the refusal log) and `GET /api/v1/connections/{id}/deliveries` (the deliveries it
//! accepted), newest first, paged like every listing.

use super::{Page, check_id};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Authorized, need};
use crate::store::webhook_log::{self, DeliverySummary, Refusal};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/connections/{id}/refusals", get(refusals))
        .route("/api/v1/connections/{id}/deliveries", get(deliveries))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// The page asked for, once the connection is known to exist (404 otherwise).
async fn page_of(st: &AppState, id: &str, q: &PageQuery) -> Result<Page, AppError> {
    check_id("connection id", id)?;
    let page = Page::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    st.connections.get(id, st.clock.now()).await?;
    Ok(page)
}

fn delivery_json(d: &DeliverySummary) -> Value {
    json!({
        "id": d.id.to_string(),
        "received_at": d.received_at.format(&Rfc3339).unwrap_or_default(),
        "method": d.method,
        "target": d.target,
        "content_type": d.content_type,
        "body_size": d.body_size,
        "events": d.events,
        "outcome": if d.events > 0 { "events" } else { "no_new_events" },
    })
}

async fn refusals(
    State(st): State<AppState>,
    _p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, AppError> {
    let page = page_of(&st, &id, &q).await?;
    let rows = st
        .store
        .read(move |db| webhook_log::refusals(db, &id, page.before, page.limit))
        .await?;
    let next_cursor = page.next_cursor(rows.iter().map(|r| r.id));
    let list: Vec<Value> = rows.iter().map(Refusal::to_json).collect();
    Ok(Json(
        json!({ "refusals": list, "next_cursor": next_cursor }),
    ))
}

async fn deliveries(
    State(st): State<AppState>,
    _p: Authorized<need::ConnectionsManage>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, AppError> {
    let page = page_of(&st, &id, &q).await?;
    let found = st
        .store
        .read(move |db| webhook_log::deliveries(db, &id, page.before, page.limit))
        .await?;
    let next_cursor = found.next_before.map(|id| id.to_string());
    let list: Vec<Value> = found.deliveries.iter().map(delivery_json).collect();
    Ok(Json(
        json!({ "deliveries": list, "next_cursor": next_cursor }),
    ))
}
