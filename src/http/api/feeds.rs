//! Chats and web bookings: messages and bookings arrive from the tenants' systems
//! (`feeds.write`); agents act on threads and mark bookings booked (`contact_center.view`).
//!
//! Visibility: a route that names a tenant in its path answers 403 when the caller does not
//! see that tenant (and 404 when it does not exist); a route that names a thread or a booking
//! answers 404 when its tenant is not visible, as for an unknown one.

use super::check_id;
use crate::directory as input;
use crate::domain::chat::{Direction, ThreadAction, ThreadState};
use crate::error::AppError;
use crate::feeds::Named;
use crate::http::auth::{Authorized, Principal, need};
use crate::http::{ApiJson, AppState, json_status};
use crate::store::bookings::{self, NewBooking};
use crate::store::chats::{self, NewMessage, Thread};
use crate::store::directory;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/tenants/{tenant_id}/chat-messages",
            post(post_message),
        )
        .route(
            "/api/v1/tenants/{tenant_id}/chat-threads",
            get(list_threads),
        )
        .route(
            "/api/v1/chat-threads/{thread_id}/mark-read",
            post(|st, p, id, q| thread_action(st, p, id, q, ThreadAction::MarkRead)),
        )
        .route(
            "/api/v1/chat-threads/{thread_id}/mark-unread",
            post(|st, p, id, q| thread_action(st, p, id, q, ThreadAction::MarkUnread)),
        )
        .route(
            "/api/v1/chat-threads/{thread_id}/close",
            post(|st, p, id, q| thread_action(st, p, id, q, ThreadAction::Close)),
        )
        .route(
            "/api/v1/chat-threads/{thread_id}/block-spam",
            post(|st, p, id, q| thread_action(st, p, id, q, ThreadAction::BlockSpam)),
        )
        .route(
            "/api/v1/tenants/{tenant_id}/web-bookings",
            post(post_booking),
        )
        .route(
            "/api/v1/web-bookings/{booking_id}/booked",
            post(mark_booked),
        )
}

/// Tells this instance's live subscribers that a tenant's hub counts may have changed
/// (other instances hear of it from the store write itself: `Db::announce_hub`).
fn hub_changed(st: &AppState, tenant_id: &str) {
    crate::calls::Effects::of_hub(tenant_id.to_owned()).apply(&st.events, &st.outbox_wake);
}

/// 400 for a bad id, 403 for a tenant the caller does not see.
fn check_tenant(p: &Principal, tenant_id: &str) -> Result<(), AppError> {
    check_id("tenant id", tenant_id)?;
    if p.sees_tenant(tenant_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this tenant is not among the tenants assigned to you".into(),
        ))
    }
}

/// A chat sender: a phone number in E.164 form (normalized), or another address (a web
/// chat visitor id, an email) of 1-200 characters without control characters.
fn sender(raw: &str) -> Result<String, AppError> {
    let s = raw.trim();
    if s.starts_with('+') {
        return input::e164(s);
    }
    if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(AppError::unprocessable(
            "invalid_sender",
            "from must be an E.164 number or 1-200 characters without control characters",
        ));
    }
    Ok(s.to_owned())
}

const MAX_BODY_CHARS: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    /// Optional idempotency key, unique per tenant.
    message_id: Option<String>,
    thread_id: String,
    from: String,
    direction: Direction,
    body: String,
}

async fn post_message(
    State(st): State<AppState>,
    p: Authorized<need::FeedsWrite>,
    Path(tenant_id): Path<String>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<Response, AppError> {
    check_tenant(&p, &tenant_id)?;
    check_id("thread_id", &body.thread_id)?;
    if let Some(id) = &body.message_id {
        check_id("message_id", id)?;
    }
    let from = sender(&body.from)?;
    if body.body.trim().is_empty() || body.body.chars().count() > MAX_BODY_CHARS {
        return Err(AppError::unprocessable(
            "invalid_body",
            format!("body must hold 1-{MAX_BODY_CHARS} characters, not only blanks"),
        ));
    }
    let message = NewMessage {
        message_id: body.message_id,
        tenant_id,
        thread_id: body.thread_id,
        sender: from,
        direction: body.direction,
        body: body.body,
    };
    let now = st.clock.now();
    let actor = p.id.clone();
    let posted = st
        .store
        .write(move |db| chats::post_message(db, &message, &actor, now))
        .await?;
    if posted.counted && !posted.duplicate {
        hub_changed(&st, &posted.thread.tenant_id);
    }
    let status = if posted.counted {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok(json_status(
        status,
        &json!({
            "message_id": posted.message_id,
            "counted": posted.counted,
            "duplicate": posted.duplicate,
            "thread": posted.thread,
        }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThreadsQuery {
    state: Option<String>,
    limit: Option<usize>,
}

async fn list_threads(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(tenant_id): Path<String>,
    Query(q): Query<ThreadsQuery>,
) -> Result<Json<Value>, AppError> {
    check_tenant(&p, &tenant_id)?;
    let state = q
        .state
        .as_deref()
        .map(|s| {
            ThreadState::parse(s).ok_or_else(|| {
                AppError::bad_request("invalid_state", "state must be open, closed or spam")
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad_request(
            "invalid_limit",
            "limit must be between 1 and 1000",
        ));
    }
    let threads = st
        .store
        .read(move |db| {
            if !directory::tenant_exists(db, &tenant_id)? {
                return Err(AppError::not_found("tenant_not_found", "no such tenant"));
            }
            Ok(chats::threads(db, &tenant_id, state, limit)?)
        })
        .await?;
    Ok(Json(json!({ "threads": threads })))
}

/// `?tenant_id=`: which tenant's thread or booking an agent means, when several of its
/// tenants use the id (ids are each tenant's own). Other query parameters are ignored, as
/// these routes did before they read a query at all.
#[derive(Debug, Deserialize)]
struct TenantOfId {
    tenant_id: Option<String>,
}

impl TenantOfId {
    fn checked(self) -> Result<Option<String>, AppError> {
        if let Some(t) = &self.tenant_id {
            check_id("tenant_id", t)?;
        }
        Ok(self.tenant_id)
    }
}

async fn thread_action(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(thread_id): Path<String>,
    Query(q): Query<TenantOfId>,
    action: ThreadAction,
) -> Result<Json<Thread>, AppError> {
    check_id("thread id", &thread_id)?;
    let tenant = q.checked()?;
    let named = Named {
        id: thread_id,
        tenant,
    };
    let thread = st.feeds().act_on_thread(p.viewer(), named, action).await?;
    Ok(Json(thread))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingBody {
    booking_id: String,
    customer_name: String,
    phone: String,
    zip: String,
    trade: String,
}

async fn post_booking(
    State(st): State<AppState>,
    p: Authorized<need::FeedsWrite>,
    Path(tenant_id): Path<String>,
    ApiJson(body): ApiJson<BookingBody>,
) -> Result<Response, AppError> {
    check_tenant(&p, &tenant_id)?;
    check_id("booking_id", &body.booking_id)?;
    let customer_name = body.customer_name.trim().to_owned();
    if customer_name.is_empty() || customer_name.chars().count() > 200 {
        return Err(AppError::unprocessable(
            "invalid_customer_name",
            "customer_name must be 1-200 characters",
        ));
    }
    let booking = NewBooking {
        booking_id: body.booking_id,
        tenant_id,
        customer_name,
        phone: input::e164(&body.phone)?,
        zip: input::zip_code(&body.zip)?,
        trade: input::trade(&body.trade)?,
    };
    let now = st.clock.now();
    let stored = st
        .store
        .write(move |db| bookings::put(db, &booking, now))
        .await?;
    hub_changed(&st, &stored.request.tenant_id);
    Ok(json_status(StatusCode::CREATED, &stored))
}

/// What an agent learns from marking a booking booked: its ids and status, never its contents
/// (the customer's name, phone and ZIP stay on the tenant's own bookings page).
#[derive(Debug, serde::Serialize)]
struct BookingMark {
    booking_id: String,
    tenant_id: String,
    status: bookings::BookingStatus,
    #[serde(with = "time::serde::rfc3339")]
    received_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    booked_at: Option<time::OffsetDateTime>,
    booked_by: Option<String>,
}

impl From<bookings::Booking> for BookingMark {
    fn from(b: bookings::Booking) -> Self {
        Self {
            booking_id: b.request.booking_id,
            tenant_id: b.request.tenant_id,
            status: b.status,
            received_at: b.received_at,
            booked_at: b.booked_at,
            booked_by: b.booked_by,
        }
    }
}

async fn mark_booked(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
    Path(booking_id): Path<String>,
    Query(q): Query<TenantOfId>,
) -> Result<Json<BookingMark>, AppError> {
    check_id("booking id", &booking_id)?;
    let tenant = q.checked()?;
    let named = Named {
        id: booking_id,
        tenant,
    };
    let booking = st.feeds().mark_booked(p.viewer(), named).await?;
    Ok(Json(BookingMark::from(booking)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::auth::{Permission, TenantScope};

    #[test]
    fn senders_are_numbers_or_plain_addresses() {
        assert_eq!(sender(" +1 512 555 0100 ").unwrap(), "+15125550100");
        assert_eq!(sender("visitor-42@chat").unwrap(), "visitor-42@chat");
        assert_eq!(sender("+1").unwrap_err().code(), "invalid_number");
        assert_eq!(sender("  ").unwrap_err().code(), "invalid_sender");
        assert_eq!(sender("a\nb").unwrap_err().code(), "invalid_sender");
    }

    #[test]
    fn a_tenant_outside_the_scope_is_forbidden() {
        let p = Principal {
            id: "agent-1".into(),
            permissions: [Permission::ContactCenterView].into_iter().collect(),
            tenants: TenantScope::Only(["t-austin".to_owned()].into_iter().collect()),
        };
        assert!(check_tenant(&p, "t-austin").is_ok());
        assert_eq!(
            check_tenant(&p, "t-dallas").unwrap_err().code(),
            "forbidden"
        );
        assert_eq!(
            check_tenant(&p, "t dallas").unwrap_err().code(),
            "invalid_id"
        );
    }
}
