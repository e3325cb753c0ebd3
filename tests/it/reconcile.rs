//! Webhooks that never come: the reconciler looks calls up at a mock Twilio REST API on
//! loopback (and Telnyx's, in `telnyx_api`, Vonage's, in `vonage_api`, and Plivo's, in
//! `plivo_api`), lists the recordings of calls that ended without a tenant, and ends calls
//! nobody can answer for. The settings are small (a call is quiet after 1 s, the reconciler runs every second); each
//! phase waits for what it needs, never for a fixed time.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod plivo_api;
mod standard;
mod telnyx_api;
mod twilio_api;
mod vonage_api;
use twilio_api::*;

const CALLER: &str = "+15125550123";

/// Quiet after 1 s, a pass every second, and calls never too long unless `max_call` says.
async fn app_with(max_call: &str) -> TestApp {
    TestApp::spawn_with(
        &[
            ("CALLGATE_RECONCILE_AFTER_SECS", "1"),
            ("CALLGATE_RECONCILE_INTERVAL_SECS", "1"),
            ("CALLGATE_MAX_CALL_SECS", max_call),
        ],
        "",
    )
    .await
}

/// The national call `sid` as far as its first two webhooks tell (ringing, answered).
async fn live_call(app: &TestApp, conn: &str, sid: &str) -> String {
    let start = [
        status(
            sid,
            CALLER,
            TOLL_FREE,
            "ringing",
            0,
            "Mon, 23 Nov 2026 18:00:01 +0000",
        ),
        status(
            sid,
            CALLER,
            TOLL_FREE,
            "in-progress",
            1,
            "Mon, 23 Nov 2026 18:00:05 +0000",
        ),
    ];
    deliver_all(app, conn, &start).await;
    app.call_by_sid(sid).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An app (see [`app_with`]) with the Austin directory and a Twilio connection whose API is
/// `mock`.
async fn twilio_app(max_call: &str, mock: &MockServer) -> (TestApp, String) {
    let app = app_with(max_call).await;
    app.austin_directory().await;
    let conn = app.twilio_connection(&mock.uri()).await;
    (app, conn)
}

/// The end webhook of the call `sid` (`completed`, after [`live_call`]'s two).
fn end_webhook(sid: &str) -> Vec<(&'static str, String)> {
    status(
        sid,
        CALLER,
        TOLL_FREE,
        "completed",
        2,
        "Mon, 23 Nov 2026 18:01:00 +0000",
    )
}

async fn requests_to(mock: &MockServer, verb: &str, p: &str) -> usize {
    mock.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == p)
        .count()
}

/// Waits until `check` holds: the reconciler runs once a second, and a loaded machine (the
/// whole suite at once) may need several passes.
async fn soon<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(what, std::time::Duration::from_secs(30), check).await;
}

/// The `last_error` of the reconciler's row of the call `id`.
async fn last_error(app: &TestApp, id: &str) -> Option<String> {
    let store = app.running.as_ref().unwrap().state.store.clone();
    let id = id.to_owned();
    store
        .read(move |db| {
            db.query_opt(
                "SELECT last_error FROM reconciliations WHERE id = ?1",
                callgate::store::db::args![id],
                |r| r.get::<Option<String>>(0),
            )
        })
        .await
        .unwrap()
        .flatten()
}

async fn audit_has(app: &TestApp, id: &str, action: &str) -> bool {
    app.audit_actions(id).await.iter().any(|a| a == action)
}

/// The call `sid` (id `id`) as a lookup ended it at `ended_at`, after the deletion of its
/// recording `rec`: completed (`reconciled`), unresolved, the recording discarded, audited
/// `call.reconciled` and never timed out. Its listing.
async fn reconciled_unresolved(
    app: &TestApp,
    sid: &str,
    id: &str,
    ended_at: &str,
    rec: &str,
) -> Value {
    deleted_soon(app, id, "the listed recording deleted").await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["state"], "completed", "{call}");
    assert_eq!(call["ended_by"], "reconciled", "{call}");
    assert_eq!(call["ended_at"], ended_at, "{call}");
    assert_eq!(call["tenant"]["status"], "unresolved", "{call}");
    assert_eq!(call["recording"]["status"], "discarded", "{call}");
    assert_eq!(call["recording"]["provider_recording_id"], rec, "{call}");
    assert!(audit_has(app, id, "call.reconciled").await);
    assert!(!audit_has(app, id, "call.timed_out").await);
    call
}

/// After a late end webhook, the call `sid` is still as the lookup left it (`ended`).
async fn still_as_reconciled(app: &TestApp, sid: &str, ended: &Value) {
    let again = app.call_by_sid(sid).await;
    assert_eq!(again["ended_by"], "reconciled", "{again}");
    assert_eq!(again["state"], ended["state"], "{again}");
    assert_eq!(again["ended_at"], ended["ended_at"], "{again}");
    assert_eq!(again["tenant"], ended["tenant"], "{again}");
    assert_eq!(again["recording"]["status"], "discarded", "{again}");
}

/// Once `lookup_path` of `mock` is asked twice, the call `sid` (id `id`) is still in
/// progress, pending, neither ended nor timed out, and `recordings_path` was never asked.
async fn untouched_after_two_lookups(
    app: &TestApp,
    mock: &MockServer,
    (sid, id): (&str, &str),
    lookup_path: &str,
    recordings_path: &str,
) {
    soon("two lookups", || async {
        requests_to(mock, "GET", lookup_path).await >= 2
    })
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["state"], "in_progress", "{call}");
    assert_eq!(call["ended_by"], Value::Null, "{call}");
    assert_eq!(call["tenant"]["status"], "pending", "{call}");
    let actions = app.audit_actions(id).await;
    assert!(
        !actions
            .iter()
            .any(|a| a == "call.timed_out" || a == "call.reconciled"),
        "{actions:?}"
    );
    assert_eq!(requests_to(mock, "GET", recordings_path).await, 0);
}

/// Waits until a recording of the call `id` is deleted at the provider (`what` says which).
async fn deleted_soon(app: &TestApp, id: &str, what: &str) {
    soon(what, || async {
        audit_has(app, id, "recording.deletion_confirmed").await
    })
    .await;
}

/// Sends `body` as a JSON webhook of `provider` on `conn`, signed with `secrets`: accepted.
async fn send_json(
    app: &TestApp,
    provider: &str,
    conn: &str,
    body: &Value,
    secrets: &[(&str, &str)],
) {
    let body = body.to_string();
    let res = app
        .signed_webhook(provider, conn, "application/json", &body, secrets)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "{body}");
}

/// An agent enters the Austin tenant on the call `id`.
async fn enter_austin(app: &TestApp, id: &str) -> (StatusCode, Value) {
    app.api(
        Method::POST,
        &format!("/api/v1/calls/{id}/tenant"),
        Some(json!({"tenant_id": "t-austin"})),
    )
    .await
}

/// The end webhook is lost: the lookup ends the call (`ended_by: "reconciled"`, audited),
/// it ends unresolved, and its recording, heard of in progress only, is found by listing
/// and deleted.
#[tokio::test]
async fn a_lost_end_webhook_is_reconciled_and_the_recording_deleted() {
    let mock = MockServer::start().await;
    let (sid, rec) = (
        "CA70000000000000000000000000000001",
        "RE70000000000000000000000000000001",
    );
    answer_lookup(&mock, sid, "completed").await;
    answer_listing(&mock, sid, &[rec]).await;
    expect_deletion(&mock, rec).await;
    let (app, conn) = twilio_app("3600", &mock).await;
    let id = live_call(&app, &conn, sid).await;
    deliver_all(&app, &conn, &[recording(sid, rec, "in-progress")]).await;
    assert_eq!(app.call_by_sid(sid).await["ended_by"], Value::Null);

    deleted_soon(&app, &id, "the recording deleted at the provider").await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["state"], "completed", "{call}");
    assert_eq!(call["ended_by"], "reconciled", "{call}");
    assert_eq!(call["tenant"]["status"], "unresolved", "{call}");
    assert_eq!(call["recording"]["status"], "discarded", "{call}");
    assert!(audit_has(&app, &id, "call.reconciled").await);
    // A tenant entered now is refused: the call ended before any selection.
    let (s, v) = enter_austin(&app, &id).await;
    assert!(s.is_client_error(), "{s} {v}");
    let metrics = app.metrics().await;
    // The recorder is the process's: other tests count too.
    assert!(sample(&metrics, "callgate_calls_reconciled_total") >= 1.0);
    assert!(
        sample(
            &metrics,
            r#"callgate_reconcile_lookups_total{kind="call",outcome="ended"}"#
        ) >= 1.0
    );
    // The late end webhook changes nothing: the call is the same as either order alone.
    deliver_all(&app, &conn, &[end_webhook(sid)]).await;
    let again = app.call_by_sid(sid).await;
    assert_eq!(again["ended_by"], "reconciled");
    assert_eq!(again["state"], call["state"]);
    assert_eq!(again["ended_at"], call["ended_at"]);
    app.stop().await;
}

/// A tenant entered before the lookup ends the call counts: the call ends selected, its
/// recording is saved, and nothing is listed or deleted.
#[tokio::test]
async fn a_tenant_entered_before_the_lookup_keeps_the_recording() {
    let mock = MockServer::start().await;
    let (sid, rec) = (
        "CA70000000000000000000000000000008",
        "RE70000000000000000000000000000008",
    );
    answer_lookup(&mock, sid, "completed").await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&mock)
        .await;
    let (app, conn) = twilio_app("3600", &mock).await;
    let id = live_call(&app, &conn, sid).await;
    deliver_all(&app, &conn, &[recording(sid, rec, "completed")]).await;
    let (s, v) = enter_austin(&app, &id).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    soon("the lookup ended the call", || async {
        app.call_by_sid(sid).await["ended_by"] == "reconciled"
    })
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["tenant"]["status"], "selected", "{call}");
    assert_eq!(call["tenant"]["tenant_id"], "t-austin", "{call}");
    assert_eq!(call["recording"]["status"], "saved", "{call}");
    assert_eq!(requests_to(&mock, "GET", &recordings_path()).await, 0);
    assert!(!audit_has(&app, &id, "recording.deletion_requested").await);
    app.stop().await;
}

/// The recording webhook is lost: the call ended without a tenant, and listing its
/// recordings finds one callgate never heard of, which is deleted.
#[tokio::test]
async fn a_lost_recording_webhook_is_found_by_listing_and_deleted() {
    let mock = MockServer::start().await;
    let (sid, rec) = (
        "CA70000000000000000000000000000002",
        "RE70000000000000000000000000000002",
    );
    answer_listing(&mock, sid, &[rec]).await;
    expect_deletion(&mock, rec).await;
    let (app, conn) = twilio_app("3600", &mock).await;
    let id = live_call(&app, &conn, sid).await;
    deliver_all(&app, &conn, &[end_webhook(sid)]).await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["ended_by"], "provider", "{call}");
    assert_eq!(call["recording"]["status"], "none", "{call}");

    deleted_soon(&app, &id, "the listed recording deleted").await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["recording"]["status"], "discarded", "{call}");
    assert_eq!(call["recording"]["provider_recording_id"], rec, "{call}");
    soon("the second listing", || async {
        requests_to(&mock, "GET", &recordings_path()).await >= 2
    })
    .await;
    let metrics = app.metrics().await;
    assert!(sample(&metrics, "callgate_recordings_found_by_listing_total") >= 1.0);
    app.stop().await;
}

/// A recording still processing at both listings (its completion webhook lost too) keeps the
/// call listed until it is complete, and is then deleted.
#[tokio::test]
async fn a_recording_still_processing_is_listed_until_complete_then_deleted() {
    let mock = MockServer::start().await;
    let (sid, rec) = (
        "CA70000000000000000000000000000009",
        "RE70000000000000000000000000000009",
    );
    let mut processing = recordings_page(sid, &[rec]);
    processing["recordings"][0]["status"] = json!("processing");
    Mock::given(method("GET"))
        .and(path(recordings_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(processing))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path(recordings_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(recordings_page(sid, &[rec])))
        .mount(&mock)
        .await;
    expect_deletion(&mock, rec).await;
    let (app, conn) = twilio_app("3600", &mock).await;
    let id = live_call(&app, &conn, sid).await;
    deliver_all(&app, &conn, &[end_webhook(sid)]).await;
    deleted_soon(&app, &id, "the recording deleted once complete").await;
    assert!(requests_to(&mock, "GET", &recordings_path()).await >= 4);
    app.stop().await;
}

/// A connection with no API credentials cannot be looked up: past the maximum call duration
/// the call ends `timed_out`, unresolved, and the agent who claimed it is free again.
#[tokio::test]
async fn a_call_nobody_can_look_up_times_out_and_frees_its_agent() {
    let app = app_with("2").await;
    app.austin_directory().await;
    let conn = app
        .connection("twilio", json!({"auth_token": AUTH_TOKEN}), json!({}))
        .await;
    let ana = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let sid = "CA70000000000000000000000000000003";
    let id = live_call(&app, &conn, sid).await;
    let (s, v) = app
        .api_as(
            &ana,
            Method::POST,
            &format!("/api/v1/calls/{id}/claim"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The audit entry is written just after the call ends: waited for too.
    soon("the call timed out", || async {
        app.call_by_sid(sid).await["ended_by"] == "timed_out"
            && audit_has(&app, &id, "call.timed_out").await
    })
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["tenant"]["status"], "unresolved", "{call}");
    assert_ne!(call["ended_at"], Value::Null, "{call}");
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"], Value::Null, "{hub}");
    let other = live_call(&app, &conn, "CA70000000000000000000000000000004").await;
    let (s, v) = app
        .api_as(
            &ana,
            Method::POST,
            &format!("/api/v1/calls/{other}/claim"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the agent is free again: {v}");
    assert!(
        app.metrics()
            .await
            .contains("callgate_calls_timed_out_total 1")
    );
    app.stop().await;
}

/// A provider answering 500 is asked again (with backoff), and the call is never ended on
/// a guess, even past the maximum call duration.
#[tokio::test]
async fn provider_errors_are_retried_and_never_end_the_call() {
    let mock = MockServer::start().await;
    let sid = "CA70000000000000000000000000000005";
    Mock::given(method("GET"))
        .and(path(calls_path(sid)))
        .respond_with(ResponseTemplate::new(500))
        .mount(&mock)
        .await;
    let (app, conn) = twilio_app("1", &mock).await;
    let id = live_call(&app, &conn, sid).await;
    soon("three failed lookups", || async {
        requests_to(&mock, "GET", &calls_path(sid)).await >= 3
    })
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["state"], "in_progress", "{call}");
    assert_eq!(call["ended_by"], Value::Null, "{call}");
    assert!(!audit_has(&app, &id, "call.timed_out").await);
    let metrics = app.metrics().await;
    assert!(
        sample(
            &metrics,
            r#"callgate_reconcile_lookups_total{kind="call",outcome="failed"}"#
        ) >= 3.0
    );
    app.stop().await;
}

/// A call the provider says is still in progress is left alone: looked up again later,
/// never ended, even past the maximum call duration.
#[tokio::test]
async fn a_call_still_in_progress_is_untouched() {
    let mock = MockServer::start().await;
    let sid = "CA70000000000000000000000000000006";
    answer_lookup(&mock, sid, "in-progress").await;
    let (app, conn) = twilio_app("1", &mock).await;
    let id = live_call(&app, &conn, sid).await;
    soon("two lookups", || async {
        requests_to(&mock, "GET", &calls_path(sid)).await >= 2
    })
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["state"], "in_progress", "{call}");
    assert_eq!(call["ended_by"], Value::Null, "{call}");
    assert_eq!(call["tenant"]["status"], "pending", "{call}");
    let actions = app.audit_actions(&id).await;
    assert!(
        !actions.iter().any(|a| a.starts_with("call.")),
        "{actions:?}"
    );
    app.stop().await;
}

/// The egress guard holds for lookups: a connection whose API origin is on loopback, made
/// while private addresses were allowed, is never sent a lookup once they are not; the call
/// stays as it was.
#[tokio::test]
async fn lookups_go_through_the_egress_guard() {
    let mock = MockServer::start().await;
    let sid = "CA70000000000000000000000000000007";
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_resource(sid, "completed")))
        .expect(0)
        .mount(&mock)
        .await;
    let (app, conn) = twilio_app("3600", &mock).await;
    let id = live_call(&app, &conn, sid).await;
    let dir = app.stop_keeping_store().await;
    let app = TestApp::spawn_configured_in(
        dir,
        &[
            STRICT_EGRESS,
            ("CALLGATE_RECONCILE_AFTER_SECS", "1"),
            ("CALLGATE_RECONCILE_INTERVAL_SECS", "1"),
        ],
    )
    .await;
    soon("a lookup refused by the guard", || async {
        last_error(&app, &id)
            .await
            .is_some_and(|e| e.contains("is refused"))
    })
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["state"], "in_progress", "{call}");
    assert_eq!(call["ended_by"], Value::Null, "{call}");
    app.stop().await;
}

/// Two instances on one PostgreSQL database: each question is asked once, by one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn two_instances_look_each_call_up_once() {
    required_postgres_server();
    let mock = MockServer::start().await;
    let sids: Vec<String> = (0..6).map(|i| format!("CA8{i:031x}")).collect();
    for sid in &sids {
        answer_lookup(&mock, sid, "completed").await;
    }
    Mock::given(method("GET"))
        .and(path(recordings_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"recordings": []})))
        .mount(&mock)
        .await;
    let a = app_with("3600").await;
    let url = postgres_schema(a.dir.path()).expect("a schema on the PostgreSQL server");
    let b = TestApp::spawn_with(
        &[
            ("CALLGATE_DATABASE_URL", &url),
            ("CALLGATE_RECONCILE_AFTER_SECS", "1"),
            ("CALLGATE_RECONCILE_INTERVAL_SECS", "1"),
            ("CALLGATE_MAX_CALL_SECS", "3600"),
        ],
        "",
    )
    .await;
    a.austin_directory().await;
    let conn = a.twilio_connection(&mock.uri()).await;
    for (i, sid) in sids.iter().enumerate() {
        live_call(if i % 2 == 0 { &a } else { &b }, &conn, sid).await;
    }
    // Each call is looked up (it ended), then its recordings listed twice.
    // Several passes of both instances, one second apart: under a loaded machine this can
    // take longer than the usual wait.
    let limit = std::time::Duration::from_secs(40);
    eventually_within("every call reconciled and listed twice", limit, || async {
        requests_to(&mock, "GET", &recordings_path()).await >= 2 * sids.len()
    })
    .await;
    for sid in &sids {
        assert_eq!(a.call_by_sid(sid).await["ended_by"], "reconciled");
        assert_eq!(
            requests_to(&mock, "GET", &calls_path(sid)).await,
            1,
            "{sid}"
        );
    }
    let store = a.running.as_ref().unwrap().state.store.clone();
    let done: i64 = store
        .read(|db| {
            db.query_one(
                "SELECT COUNT(*) FROM reconciliations WHERE done_at IS NOT NULL",
                &[],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(done, sids.len() as i64);
    assert_eq!(
        requests_to(&mock, "GET", &recordings_path()).await,
        2 * sids.len()
    );
    a.stop().await;
    b.stop().await;
}
