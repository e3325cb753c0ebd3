//! `GET /api/v1/events`: the live event stream (server-sent events), limited to what the
//! caller may see.

use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Permission, Principal};
use crate::live::{KINDS, LiveEvent, LiveEvents, Subscription};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
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
fn wanted_kinds(types: Option<&str>) -> Result<Vec<&'static str>, AppError> {
    let Some(types) = types else {
        return Ok(vec!["call.updated"]);
    };
    let mut kinds = Vec::new();
    for name in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let kind = KINDS.iter().find(|k| **k == name).ok_or_else(|| {
            AppError::bad_request(
                "invalid_parameter",
                format!(
                    "unknown event type {name:?}: types is a comma-separated list of {}",
                    KINDS.join(", ")
                ),
            )
        })?;
        if !kinds.contains(kind) {
            kinds.push(*kind);
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

async fn events(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<impl IntoResponse, AppError> {
    p.require(Permission::ContactCenterView)?;
    let kinds = wanted_kinds(q.types.as_deref())?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let sub = st.live.subscribe(last);
    let stream = event_stream(
        st.live.clone(),
        Filter {
            principal: p,
            kinds,
        },
        sub,
    )
    // A stopping server ends its streams: a graceful stop waits for no client.
    .take_until(st.shutdown.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// What one client receives: the events its principal may see, of the kinds it asked for.
struct Filter {
    principal: Principal,
    kinds: Vec<&'static str>,
}

impl Filter {
    fn passes(&self, e: &LiveEvent) -> bool {
        self.kinds.contains(&e.kind) && self.principal.sees(&e.audience)
    }
}

fn sse_event(live: &LiveEvents, e: &LiveEvent) -> Event {
    Event::default()
        .id(live.id_of(e))
        .event(e.kind)
        .data(e.data())
}

/// Tells the client it missed events and must re-read the state it shows.
fn resync(reason: &str) -> Event {
    Event::default()
        .event("resync")
        .data(serde_json::json!({ "type": "resync", "reason": reason }).to_string())
}

struct Cursor {
    live: Arc<LiveEvents>,
    filter: Filter,
    pending: VecDeque<Event>,
    sub: tokio::sync::broadcast::Receiver<Arc<LiveEvent>>,
}

fn event_stream(
    live: Arc<LiveEvents>,
    filter: Filter,
    sub: Subscription,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut pending = VecDeque::new();
    if sub.resync {
        pending.push_back(resync("last_event_id_unknown"));
    }
    pending.extend(
        sub.replay
            .iter()
            .filter(|e| filter.passes(e))
            .map(|e| sse_event(&live, e)),
    );
    let cursor = Cursor {
        live,
        filter,
        pending,
        sub: sub.live,
    };
    stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(e) = c.pending.pop_front() {
                return Some((Ok(e), c));
            }
            match c.sub.recv().await {
                Ok(e) if c.filter.passes(&e) => {
                    let event = sse_event(&c.live, &e);
                    return Some((Ok(event), c));
                }
                Ok(_) => {}
                // Too slow: the skipped events are gone; the client re-reads.
                Err(RecvError::Lagged(_)) => return Some((Ok(resync("lagged")), c)),
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
