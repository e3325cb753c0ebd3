//! The Ops page's outbound work (`connections.manage`): recording deletions at providers not
//! done yet, each with Retry now (what `POST /api/v1/recording-deletions/{id}/retry` does),
//! and outbound webhook deliveries that failed or are being retried, each with Replay (what
//! `POST /api/v1/webhook-deliveries/{id}/replay` does).

use super::ops::Stamp;
use super::{Chrome, PageError, form_action, html, signed_in};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::api::deletions::retry_deletion;
use crate::http::api::subscriptions::replay_delivery;
use crate::http::auth::Permission;
use crate::store::outbound::{self, PendingDeletion, TroubledDelivery};
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// Rows of each list shown.
const SHOWN: i64 = 50;

#[derive(Debug)]
struct DeletionRow {
    id: i64,
    connection_id: String,
    call_id: String,
    recording_id: String,
    attempts: i64,
    next: Stamp,
    last_error: String,
}

#[derive(Debug)]
struct DeliveryRow {
    id: String,
    subscription_id: String,
    event_type: String,
    call_id: String,
    /// `Failed` or `Retrying`.
    state: &'static str,
    attempts: i64,
    last: String,
    created: Stamp,
}

fn deletion_row(d: PendingDeletion) -> DeletionRow {
    DeletionRow {
        id: d.id,
        connection_id: d.connection_id,
        call_id: d.call_id,
        recording_id: d.recording_id,
        attempts: d.attempts,
        next: Stamp::of(d.next_attempt_at),
        last_error: d.last_error.unwrap_or_default(),
    }
}

fn delivery_row(d: TroubledDelivery) -> DeliveryRow {
    let last = match (d.last_status, d.last_error) {
        (Some(s), Some(e)) => format!("HTTP {s}: {e}"),
        (Some(s), None) => format!("HTTP {s}"),
        (None, Some(e)) => e,
        (None, None) => String::new(),
    };
    DeliveryRow {
        state: if d.status == "failed" {
            "Failed"
        } else {
            "Retrying"
        },
        id: d.id,
        subscription_id: d.subscription_id,
        event_type: d.event_type,
        call_id: d.call_id.unwrap_or_default(),
        attempts: d.attempts,
        last,
        created: Stamp::of(d.created_at),
    }
}

#[derive(Template)]
#[template(path = "ops_outbound.html")]
struct OutboundPage {
    chrome: Chrome,
    csrf: String,
    notice: Option<String>,
    deletions: Vec<DeletionRow>,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OutboundQuery {
    replayed: Option<String>,
    /// The deletion just made due.
    retried: Option<String>,
}

/// `GET /console/ops/outbound`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<OutboundQuery>,
) -> Result<Response, PageError> {
    let user = signed_in(&st, &headers).await?;
    user.principal.require(Permission::ConnectionsManage)?;
    let (deletions, deliveries) = st
        .store
        .read(|db| {
            Ok::<_, AppError>((
                outbound::pending_deletions(db, SHOWN)?,
                outbound::troubled_deliveries(db, SHOWN)?,
            ))
        })
        .await?;
    let replayed = q
        .replayed
        .filter(|id| crate::ids::check_id("delivery id", id).is_ok())
        .map(|id| {
            format!("Delivery {id} is sent again now; its subscription's log shows the attempt.")
        });
    let retried = q
        .retried
        .and_then(|id| id.parse::<i64>().ok())
        .map(|id| match deletions.iter().find(|d| d.id == id) {
            Some(d) => format!(
                "The deletion of recording {} is tried again now; its call's audit shows the attempt.",
                d.recording_id
            ),
            None => "The recording deletion was tried again, and has left this list: its call's audit says how it ended.".to_owned(),
        });
    let notice = replayed.or(retried);
    let page = OutboundPage {
        chrome: Chrome::of(&user, "/console/ops"),
        csrf: user.csrf.clone(),
        notice,
        deletions: deletions.into_iter().map(deletion_row).collect(),
        deliveries: deliveries.into_iter().map(delivery_row).collect(),
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /console/ops/webhook-deliveries/{id}/replay` (form: `csrf`).
pub async fn replay(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    let (user, _) = form_action(&st, &headers, body, Permission::ConnectionsManage).await?;
    let delivery = replay_delivery(&st, &user.principal.id, id).await?;
    Ok(Redirect::to(&format!("/console/ops/outbound?replayed={}", delivery.id)).into_response())
}

/// `POST /console/ops/recording-deletions/{id}/retry` (form: `csrf`).
pub async fn retry(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    let (user, _) = form_action(&st, &headers, body, Permission::ConnectionsManage).await?;
    let deletion = retry_deletion(&st, &user.principal.id, &id).await?;
    Ok(Redirect::to(&format!("/console/ops/outbound?retried={}", deletion.id)).into_response())
}
