//! The audit trail for managers (`users.manage`): who did what, and when, newest first.

use super::{Page, check_id, check_user_ref};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Authorized, need};
use crate::store::audit::{self, AuditFilter};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    call_id: Option<String>,
    tenant_id: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn time_param(
    name: &'static str,
    code: &'static str,
    value: Option<String>,
) -> Result<Option<OffsetDateTime>, AppError> {
    value
        .map(|v| {
            OffsetDateTime::parse(&v, &Rfc3339).map_err(|_| {
                AppError::bad_request(
                    code,
                    format!("{name} must be an RFC 3339 time, e.g. 2026-11-23T18:00:00Z"),
                )
            })
        })
        .transpose()
}

/// Action names: `tenant.selected`, `user.updated`, ...
fn is_action(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._".contains(&b))
}

/// Audit records, newest first. A principal limited to some tenants sees the records of
/// those tenants and of the calls it sees, and the records that name no tenant and no call.
async fn list(
    State(st): State<AppState>,
    p: Authorized<need::UsersManage>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, AppError> {
    let page = Page::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    for (kind, id) in [("call_id", &q.call_id), ("tenant_id", &q.tenant_id)] {
        if let Some(id) = id {
            check_id(kind, id)?;
        }
    }
    if let Some(actor) = &q.actor {
        check_user_ref(actor)?;
    }
    if let Some(a) = &q.action
        && !is_action(a)
    {
        return Err(AppError::bad_request(
            "invalid_action",
            "action is an audit action name, e.g. tenant.selected",
        ));
    }
    let since = time_param("since", "invalid_since", q.since)?;
    let until = time_param("until", "invalid_until", q.until)?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(AppError::bad_request(
            "invalid_range",
            "since must be before until",
        ));
    }
    let filter = AuditFilter {
        call_id: q.call_id,
        tenant_id: q.tenant_id,
        actor: q.actor,
        action: q.action,
        since,
        until,
        before_id: page.before,
        only_tenants: p.only_tenants(),
        limit: page.limit,
    };
    let entries = st.store.read(move |db| audit::list(db, &filter)).await?;
    let next_cursor = page.next_cursor(entries.iter().map(|e| e.id));
    Ok(Json(
        json!({ "audit": entries, "next_cursor": next_cursor }),
    ))
}
