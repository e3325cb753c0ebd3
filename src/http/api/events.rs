//! `GET /api/v1/events`: the live event stream (server-sent events), limited to what the
//! caller may see.
//!
//! A stream holds no more rights than its token has now. When its user's permissions or
//! tenants change, or one of its tokens is revoked (on this instance or, through the store's
//! signals, on another), the stream checks its token again, in order with the events around
//! the change: a revoked or unknown token, or one that lost `contact_center.view`, ends the
//! stream (a reconnecting client gets 401 or 403); otherwise the stream goes on at once with
//! the new rights (narrowed or widened), after a `resync` event (reason `rights_changed`) that
//! tells the client to re-read what it shows.
//!
//! The web console opens the stream with its session cookie instead of a bearer token (a
//! browser's `EventSource` sends no header): the session stands for the token it was signed in
//! with, checked the same way, and the stream ends when the session reaches its absolute end.
//! A request with an `Authorization` header is always a bearer request.

use crate::dto::EventType;
use crate::error::AppError;
use crate::events::{EventHub, HubEvent, Subscription};
use crate::http::AppState;
use crate::http::auth::{self, Permission, Principal};
use crate::http::console::session;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::StreamExt;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(events))
}

/// Comment lines sent while nothing happens, so proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize)]
struct EventsQuery {
    /// Comma-separated kinds of event to receive (default `call.updated`).
    types: Option<String>,
}

/// The kinds of event a client asked for: `call.updated` unless it names others.
fn wanted_kinds(types: Option<&str>) -> Result<Vec<EventType>, AppError> {
    let Some(types) = types else {
        return Ok(vec![EventType::CallUpdated]);
    };
    let mut kinds = Vec::new();
    for name in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let kind = EventType::parse(name, &EventType::ALL).ok_or_else(|| {
            let all: Vec<&str> = EventType::ALL.iter().map(|k| k.as_str()).collect();
            AppError::bad_request(
                "invalid_parameter",
                format!(
                    "unknown event type {name:?}: types is a comma-separated list of {}",
                    all.join(", ")
                ),
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(AppError::bad_request(
            "invalid_parameter",
            "types names no event type",
        ));
    }
    Ok(kinds)
}

/// Whose stream it is: the SHA-256 of the token to check again, and, for the web console's
/// session cookie, the session's absolute end (the stream ends with it). A request with an
/// `Authorization` header is a bearer request, whatever cookies it carries; without one, the
/// console's session cookie stands for the token it was signed in with.
async fn credential(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<([u8; 32], Option<OffsetDateTime>), AppError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Ok((crate::users::token_hash(auth::bearer(headers)?), None));
    }
    let (token, until) = session::stream_credential(st, headers).await?;
    Ok((token, Some(until)))
}

async fn events(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (token, until) = credential(&st, &headers).await?;
    auth::authenticate_hash(&st, token)
        .await?
        .ok_or(AppError::Unauthorized)?
        .require(Permission::ContactCenterView)?;
    let kinds = wanted_kinds(q.types.as_deref())?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let sub = st.events.subscribe(last);
    // Checked again once subscribed: a change made between the first check and the
    // subscription is not missed.
    let p = allowed(&st, token).await.ok_or(AppError::Unauthorized)?;
    let stream = event_stream(
        st.clone(),
        token,
        Filter {
            principal: p,
            kinds,
        },
        sub,
    )
    // A stopping server ends its streams: a graceful stop waits for no client; a console
    // session's stream ends when the session does.
    .take_until(st.shutdown.clone().cancelled_owned())
    .take_until(session_end(st.clock.now(), until));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Completes when a session ending at `until` ends (never without one).
async fn session_end(now: OffsetDateTime, until: Option<OffsetDateTime>) {
    match until {
        Some(until) => {
            let left = (until - now).max(time::Duration::ZERO);
            tokio::time::sleep(left.unsigned_abs()).await;
        }
        None => std::future::pending().await,
    }
}

/// The principal the stream's token stands for now, when it may still follow the stream;
/// `None` ends the stream (a store failure too: a stream never outlives a check it could not
/// make).
async fn allowed(st: &AppState, token: [u8; 32]) -> Option<Principal> {
    match auth::authenticate_hash(st, token).await {
        Ok(Some(p)) if p.require(Permission::ContactCenterView).is_ok() => Some(p),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "a live stream's rights could not be checked: it ends");
            None
        }
    }
}

/// What one client receives: the events its principal may see, of the kinds it asked for.
struct Filter {
    principal: Principal,
    kinds: Vec<EventType>,
}

impl Filter {
    fn passes(&self, e: &HubEvent) -> bool {
        // A screen pop is addressed to its agent, who hears it whatever kinds they asked for.
        e.kind
            .is_some_and(|k| k == EventType::ScreenPop || self.kinds.contains(&k))
            && self.principal.sees(&e.audience)
    }
}

fn sse_event(hub: &EventHub, e: &HubEvent) -> Event {
    Event::default()
        .id(hub.id_of(e))
        .event(e.kind.map_or("", EventType::as_str))
        .data(e.data())
}

/// Tells the client it missed events and must re-read the state it shows.
fn resync(reason: &str) -> Event {
    Event::default()
        .event("resync")
        .data(serde_json::json!({ "type": "resync", "reason": reason }).to_string())
}

struct Cursor {
    state: AppState,
    /// The SHA-256 of the stream's token, to check it again.
    token: [u8; 32],
    hub: Arc<EventHub>,
    filter: Filter,
    pending: VecDeque<Event>,
    sub: tokio::sync::broadcast::Receiver<Arc<HubEvent>>,
}

impl Cursor {
    /// Checks the token again: `None` ends the stream; a `resync` event when the rights are
    /// not what the stream had.
    async fn recheck(&mut self) -> Option<Option<Event>> {
        let now = allowed(&self.state, self.token).await?;
        if now == self.filter.principal {
            return Some(None);
        }
        self.filter.principal = now;
        Some(Some(resync("rights_changed")))
    }
}

fn event_stream(
    state: AppState,
    token: [u8; 32],
    filter: Filter,
    sub: Subscription,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let hub = state.events.clone();
    let mut pending = VecDeque::new();
    if sub.resync {
        pending.push_back(resync("last_event_id_unknown"));
    }
    pending.extend(
        sub.replay
            .iter()
            .filter(|e| filter.passes(e))
            .map(|e| sse_event(&hub, e)),
    );
    let cursor = Cursor {
        state,
        token,
        hub,
        filter,
        pending,
        sub: sub.receiver,
    };
    stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(e) = c.pending.pop_front() {
                return Some((Ok(e), c));
            }
            match c.sub.recv().await {
                Ok(e) if e.rights_of() == Some(c.filter.principal.id.as_str()) => {
                    if let Some(event) = c.recheck().await? {
                        return Some((Ok(event), c));
                    }
                }
                Ok(e) if c.filter.passes(&e) => {
                    let event = sse_event(&c.hub, &e);
                    return Some((Ok(event), c));
                }
                Ok(_) => {}
                // Too slow: the skipped events are gone, a change of rights among them
                // perhaps; the client re-reads.
                Err(RecvError::Lagged(_)) => {
                    c.recheck().await?;
                    return Some((Ok(resync("lagged")), c));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
