//! `GET /api/v1/events`: live call updates and recording decisions, ids, and catching up
//! with `Last-Event-ID`.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const CALLER: &str = "+15125550123";
const NATIONAL: &str = "+18005550199";
const TS: &str = "Mon, 23 Nov 2026 18:00:00 +0000";

/// One server-sent event as received.
#[derive(Debug, Clone)]
pub(crate) struct Sse {
    pub(crate) id: Option<String>,
    pub(crate) event: String,
    pub(crate) data: Value,
}

/// A subscription read event by event.
pub(crate) struct Stream {
    res: reqwest::Response,
    buf: String,
}

impl Stream {
    pub(crate) async fn open(app: &TestApp, last_event_id: Option<&str>) -> Self {
        Self::open_as(app, TOKEN, last_event_id).await
    }

    /// A subscription to every kind of event.
    pub(crate) async fn open_as(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Self {
        Self::open_for(
            app,
            token,
            "?types=call.updated,recording.decided,hub.updated",
            last_event_id,
        )
        .await
    }

    pub(crate) async fn open_for(
        app: &TestApp,
        token: &str,
        query: &str,
        last_event_id: Option<&str>,
    ) -> Self {
        let mut req = app
            .http
            .get(format!("{}/api/v1/events{query}", app.base))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Self {
            res,
            buf: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), within a bound.
    pub(crate) async fn next(&mut self) -> Sse {
        self.next_or_end().await.expect("stream ended")
    }

    /// Reads until the server ends the stream, within a bound: the events it still sent.
    pub(crate) async fn ends(mut self) -> Vec<Sse> {
        let mut sent = Vec::new();
        while let Some(e) = self.next_or_end().await {
            sent.push(e);
        }
        sent
    }

    /// The next event, or `None` when the server ended the stream, within a bound.
    async fn next_or_end(&mut self) -> Option<Sse> {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    let (mut id, mut event, mut data) = (None, String::new(), String::new());
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("id:") {
                            id = Some(v.trim().to_owned());
                        } else if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        }
                    }
                    if event.is_empty() && data.is_empty() {
                        continue;
                    }
                    return Some(Sse {
                        id,
                        event,
                        data: serde_json::from_str(&data).unwrap(),
                    });
                }
                let chunk = self.res.chunk().await.unwrap()?;
                self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("no event within 10 s")
    }

    /// The next `call.updated` event of the call `sid` (others skipped).
    pub(crate) async fn call_update(&mut self, sid: &str) -> Sse {
        loop {
            let e = self.next().await;
            if e.event == "call.updated" && e.data["call"]["provider_call_id"] == sid {
                return e;
            }
        }
    }
}

#[tokio::test]
async fn subscribers_see_call_updates_and_recording_decisions_as_they_are_stored() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.number(NATIONAL, json!({"kind": "national"})).await;
    let mut stream = Stream::open(&app, None).await;

    let sid = "CA00000000000000000000000000000e01";
    deliver_all(
        &app,
        &conn,
        &[status(sid, CALLER, NATIONAL, "ringing", 0, TS)],
    )
    .await;
    let e = stream.call_update(sid).await;
    assert_eq!(e.data["type"], "call.updated");
    assert_eq!(e.data["call"]["state"], "ringing");
    assert_eq!(e.data["call"]["tenant"]["status"], "pending");
    assert!(e.id.as_deref().is_some_and(|id| !id.is_empty()));

    deliver_all(
        &app,
        &conn,
        &[recording(
            sid,
            "RE00000000000000000000000000000e01",
            "completed",
        )],
    )
    .await;
    let decided = stream.next().await;
    assert_eq!(decided.event, "recording.decided", "{decided:?}");
    assert_eq!(decided.data["type"], "recording.decided");
    assert_eq!(decided.data["recording"]["status"], "gated");
    // A gated recording's location is never exposed, the live stream included.
    assert!(decided.data["recording"]["url"].is_null());
    let e = stream.call_update(sid).await;
    assert_eq!(e.data["call"]["recording"]["status"], "gated");
    assert!(!e.data.to_string().contains("api.twilio.com"));
}

#[tokio::test]
async fn last_event_id_replays_what_was_missed_and_unknown_ids_resync() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let mut stream = Stream::open(&app, None).await;
    let first = "CA00000000000000000000000000000e02";
    deliver_all(
        &app,
        &conn,
        &[status(first, CALLER, NATIONAL, "ringing", 0, TS)],
    )
    .await;
    let seen = stream.call_update(first).await;
    drop(stream);

    // Missed while disconnected.
    let missed = "CA00000000000000000000000000000e03";
    deliver_all(
        &app,
        &conn,
        &[status(missed, CALLER, NATIONAL, "ringing", 0, TS)],
    )
    .await;

    let mut stream = Stream::open(&app, seen.id.as_deref()).await;
    let replayed = stream.next().await;
    assert_eq!(replayed.event, "call.updated");
    assert_eq!(replayed.data["call"]["provider_call_id"], missed);
    assert_ne!(replayed.id, seen.id);

    // An id this process never issued (an earlier run, garbage): the client must re-read.
    for id in ["1-5", "not-an-id"] {
        let mut stream = Stream::open(&app, Some(id)).await;
        let e = stream.next().await;
        assert_eq!(e.event, "resync", "{id}");
        assert_eq!(e.data["type"], "resync");
    }
}

#[tokio::test]
async fn agents_see_only_their_tenants_calls_and_pending_ones() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    let austin_line = "+15125550100";
    app.number(
        austin_line,
        json!({"kind": "local", "tenant_id": "t-austin"}),
    )
    .await;
    app.number(NATIONAL, json!({"kind": "national"})).await;
    let ana = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let bob = app
        .user_token("bob", &["contact_center.view"], &["t-dallas"])
        .await;
    let mut ana_stream = Stream::open_as(&app, &ana, None).await;
    let mut bob_stream = Stream::open_as(&app, &bob, None).await;

    let local = "CA00000000000000000000000000000e04";
    let pending = "CA00000000000000000000000000000e05";
    deliver_all(
        &app,
        &conn,
        &[
            status(local, CALLER, austin_line, "ringing", 0, TS),
            status(pending, CALLER, NATIONAL, "ringing", 0, TS),
        ],
    )
    .await;
    // Ana sees her tenant's call, then the pending one.
    let first = ana_stream.next().await;
    assert_eq!(first.data["call"]["provider_call_id"], local, "{first:?}");
    assert_eq!(first.data["call"]["tenant"]["tenant_id"], "t-austin");
    let second = ana_stream.next().await;
    assert_eq!(second.data["call"]["provider_call_id"], pending);
    // Bob never hears of Austin's call: his first event is the pending call.
    let first = bob_stream.next().await;
    assert_eq!(first.data["call"]["provider_call_id"], pending, "{first:?}");

    // Without contact_center.view: 403.
    let ops = app.user_token("ops-1", &["connections.manage"], &[]).await;
    let res = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(&ops)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn chat_and_booking_feeds_announce_hub_changes() {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    let mut stream = Stream::open(&app, None).await;
    app.inbound_chat("t-austin", "th-1").await;
    let e = stream.next().await;
    assert_eq!(e.event, "hub.updated");
    assert_eq!(
        e.data,
        json!({"type": "hub.updated", "tenant_id": "t-austin"})
    );
    let (s, v) = app.web_booking("t-austin", "wb-1", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(stream.next().await.event, "hub.updated");
}

/// `hub.updated` reaches only the agents assigned the tenant whose counts changed.
#[tokio::test]
async fn hub_updates_reach_only_the_agents_of_the_tenant() {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    let ana = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let bob = app
        .user_token("bob", &["contact_center.view"], &["t-dallas"])
        .await;
    let hub_only = "?types=hub.updated";
    let mut ana_stream = Stream::open_for(&app, &ana, hub_only, None).await;
    let mut bob_stream = Stream::open_for(&app, &bob, hub_only, None).await;
    app.inbound_chat("t-dallas", "th-d").await;
    app.inbound_chat("t-austin", "th-a").await;
    // Each agent's first hub event is its own tenant's: Ana never hears of Dallas.
    assert_eq!(ana_stream.next().await.data["tenant_id"], "t-austin");
    assert_eq!(bob_stream.next().await.data["tenant_id"], "t-dallas");
    let (s, v) = app.web_booking("t-dallas", "wb-1", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(bob_stream.next().await.data["tenant_id"], "t-dallas");
    let (s, v) = app.web_booking("t-austin", "wb-2", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        ana_stream.next().await.data,
        json!({"type": "hub.updated", "tenant_id": "t-austin"}),
        "Ana's next event is her own tenant's booking, not Dallas's"
    );
}

/// Without `types`, a client hears `call.updated` only: every event carries the call.
#[tokio::test]
async fn by_default_the_stream_sends_call_updates_only() {
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let mut stream = Stream::open_for(&app, TOKEN, "", None).await;
    let sid = "CA00000000000000000000000000000e31";
    deliver_all(
        &app,
        &conn,
        &[
            status(sid, CALLER, NATIONAL, "ringing", 0, TS),
            recording(sid, "RE00000000000000000000000000000e31", "completed"),
        ],
    )
    .await;
    app.inbound_chat("t-austin", "th-31").await;
    deliver_all(
        &app,
        &conn,
        &[status(sid, CALLER, NATIONAL, "completed", 3, TS)],
    )
    .await;
    // One update per stored change; neither `recording.decided` (it would come before the
    // gated update) nor `hub.updated` (before the discarded one).
    for expected in ["none", "gated", "discarded"] {
        let e = stream.next().await;
        assert_eq!(e.event, "call.updated", "{e:?}");
        assert_eq!(e.data["type"], "call.updated");
        assert_eq!(e.data["call"]["provider_call_id"], sid);
        assert_eq!(e.data["call"]["recording"]["status"], expected, "{e:?}");
    }

    let res = app
        .http
        .get(format!(
            "{}/api/v1/events?types=call.updated,call.deleted",
            app.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_parameter");
}

#[tokio::test]
async fn the_stream_needs_a_token() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}

/// What an agent's stream shows after a change of their tenants, permissions or tokens.
async fn agent_stream(app: &TestApp, tenants: &[&str]) -> (String, String, Stream) {
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    app.user("ana", &["contact_center.view"], tenants).await;
    let (token_id, token) = app.token("ana").await;
    let stream = Stream::open_as(app, &token, None).await;
    (token_id, token, stream)
}

/// The tenant of the next event, which must be `hub.updated`.
pub(crate) async fn next_hub_tenant(stream: &mut Stream) -> String {
    let e = stream.next().await;
    assert_eq!(e.event, "hub.updated", "{e:?}");
    e.data["tenant_id"].as_str().unwrap().to_owned()
}

/// A revoked token's open stream ends at once; another token of the same user goes on.
#[tokio::test]
async fn a_revoked_token_ends_its_open_stream() {
    let app = TestApp::spawn().await;
    let (token_id, _, stream) = agent_stream(&app, &["t-austin"]).await;
    let (_, other) = app.token("ana").await;
    let mut other_stream = Stream::open_as(&app, &other, None).await;
    let (s, _) = app.revoke("ana", &token_id).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    app.inbound_chat("t-austin", "th-1").await;
    let sent = stream.ends().await;
    assert!(sent.is_empty(), "nothing after the revocation: {sent:?}");
    // The other token's rights did not change: no resync, the event arrives.
    assert_eq!(next_hub_tenant(&mut other_stream).await, "t-austin");
    app.stop().await;
}

/// A tenant taken from a user stops reaching their open stream at once: a `resync` tells the
/// client to re-read, and the stream goes on with the remaining tenants.
#[tokio::test]
async fn a_tenant_taken_away_no_longer_reaches_the_open_stream() {
    let app = TestApp::spawn().await;
    let (_, _, mut stream) = agent_stream(&app, &["t-austin", "t-dallas"]).await;
    app.inbound_chat("t-dallas", "th-0").await;
    assert_eq!(next_hub_tenant(&mut stream).await, "t-dallas");
    app.user("ana", &["contact_center.view"], &["t-austin"])
        .await;
    app.inbound_chat("t-dallas", "th-1").await;
    app.inbound_chat("t-austin", "th-2").await;
    let e = stream.next().await;
    assert_eq!(
        (e.event.as_str(), &e.data),
        (
            "resync",
            &json!({"type": "resync", "reason": "rights_changed"})
        )
    );
    assert_eq!(
        next_hub_tenant(&mut stream).await,
        "t-austin",
        "t-dallas's update is not sent"
    );
    app.stop().await;
}

/// Losing `contact_center.view` ends the open stream; a new one is refused.
#[tokio::test]
async fn losing_contact_center_view_ends_the_open_stream() {
    let app = TestApp::spawn().await;
    let (_, token, stream) = agent_stream(&app, &["t-austin"]).await;
    app.user("ana", &["feeds.write"], &["t-austin"]).await;
    app.inbound_chat("t-austin", "th-1").await;
    let sent = stream.ends().await;
    assert!(sent.is_empty(), "nothing after the change: {sent:?}");
    let res = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}
