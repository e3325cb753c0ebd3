//! `GET /api/v1/events`: the live event stream (server-sent events), limited to what the
//! caller may see.

use crate::http::AppState;
use crate::http::auth::{Permission, Principal};
use crate::live::{LiveEvent, LiveEvents, Subscription};
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
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

async fn events(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
) -> Result<impl IntoResponse, crate::error::AppError> {
    p.require(Permission::ContactCenterView)?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let sub = st.live.subscribe(last);
    let stream = event_stream(st.live.clone(), p, sub);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
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
    principal: Principal,
    pending: VecDeque<Event>,
    sub: tokio::sync::broadcast::Receiver<Arc<LiveEvent>>,
}

fn event_stream(
    live: Arc<LiveEvents>,
    principal: Principal,
    sub: Subscription,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut pending = VecDeque::new();
    if sub.resync {
        pending.push_back(resync("last_event_id_unknown"));
    }
    pending.extend(
        sub.replay
            .iter()
            .filter(|e| principal.sees(&e.audience))
            .map(|e| sse_event(&live, e)),
    );
    let cursor = Cursor {
        live,
        principal,
        pending,
        sub: sub.live,
    };
    stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(e) = c.pending.pop_front() {
                return Some((Ok(e), c));
            }
            match c.sub.recv().await {
                Ok(e) if c.principal.sees(&e.audience) => {
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
