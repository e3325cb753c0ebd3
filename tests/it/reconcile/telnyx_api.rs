//! A mock Telnyx API for the reconciler: Call Control's call status
//! (`GET /v2/calls/{call_control_id}`, asked by the customer leg's call control id its
//! webhooks carried) and the session's recordings (`GET /v2/recordings`).

use super::{
    app_with, audit_has, deleted_soon, reconciled_unresolved, requests_to, still_as_reconciled,
    untouched_after_two_lookups,
};
use crate::support::*;
use crate::telnyx::{API_KEY, event, send, telnyx_connection};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The call control id the webhooks of `leg` carry (`crate::telnyx::event`).
fn handle(leg: &str) -> String {
    format!("v3:{leg}")
}

fn status_path(leg: &str) -> String {
    format!("/v2/calls/{}", handle(leg))
}

/// The call status of `leg` as Telnyx answers it (the API reference's example's fields).
fn call_status(leg: &str, is_alive: bool) -> Value {
    let mut data = json!({"record_type": "call", "call_control_id": handle(leg),
        "call_leg_id": leg, "call_session_id": format!("session-{leg}"),
        "client_state": null, "is_alive": is_alive, "call_duration": 55,
        "start_time": "2026-11-23T18:05:01Z"});
    if !is_alive {
        data["end_time"] = json!("2026-11-23T18:06:00Z");
    }
    json!({ "data": data })
}

/// The call status of `leg` answers its lookup with `status` and `body`, asked with the
/// connection's bearer key.
async fn answer_status(mock: &MockServer, leg: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(status_path(leg)))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(mock)
        .await;
}

/// The session of `leg` lists the completed recording `rec`, which must be deleted once.
async fn list_and_expect_deletion(mock: &MockServer, leg: &str, rec: &str) {
    let session = format!("session-{leg}");
    let listed = json!({"data": [{"record_type": "recording", "id": rec, "call_leg_id": leg,
        "call_session_id": session, "status": "completed", "duration_millis": 41000,
        "recording_started_at": "2026-11-23T18:05:03Z"}],
        "meta": {"page_number": 1, "total_pages": 1}});
    Mock::given(method("GET"))
        .and(path("/v2/recordings"))
        .and(query_param("filter[call_session_id]", session.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(listed))
        .mount(mock)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v2/recordings/{rec}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": rec}})))
        .expect(1)
        .mount(mock)
        .await;
}

/// An app whose calls time out after `max_call` seconds, with the Austin directory and a
/// Telnyx connection whose API is `mock`, and the national call `leg` as its first two
/// webhooks tell it (initiated, answered); its id.
async fn live_call(mock: &MockServer, max_call: &str, leg: &str) -> (TestApp, String, String) {
    let app = app_with(max_call).await;
    app.austin_directory().await;
    let conn = telnyx_connection(&app, &mock.uri()).await;
    for (n, kind) in ["call.initiated", "call.answered"].into_iter().enumerate() {
        let body = event(&format!("ev-{leg}-{n}"), kind, leg, TOLL_FREE, json!({}));
        assert_eq!(send(&app, &conn, &body).await.status(), StatusCode::OK);
    }
    let id = app.call_by_sid(leg).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (app, conn, id)
}

/// The end webhook (`call.hangup`) of a national call is lost, and so is its recording's:
/// Telnyx's call status, asked by the customer leg's call control id, says the call is no
/// longer alive, so the lookup ends it (`reconciled`, at the answer's `end_time`),
/// unresolved; the session's recordings are listed and the one never heard of is deleted.
/// The late `call.hangup` then changes nothing.
#[tokio::test]
async fn a_telnyx_call_whose_end_webhook_is_lost_is_reconciled_and_its_recording_deleted() {
    let mock = MockServer::start().await;
    let (leg, rec) = ("leg-reconcile-telnyx-0002", "rec-reconcile-telnyx-2");
    answer_status(&mock, leg, 200, call_status(leg, false)).await;
    list_and_expect_deletion(&mock, leg, rec).await;
    let (app, conn, id) = live_call(&mock, "3600", leg).await;

    let call = reconciled_unresolved(&app, leg, &id, "2026-11-23T18:06:00Z", rec).await;
    assert!(requests_to(&mock, "GET", &status_path(leg)).await >= 1);

    let hangup = event(
        "ev-late-hangup",
        "call.hangup",
        leg,
        TOLL_FREE,
        json!({"hangup_cause": "normal_clearing"}),
    );
    assert_eq!(send(&app, &conn, &hangup).await.status(), StatusCode::OK);
    still_as_reconciled(&app, leg, &call).await;
    app.stop().await;
    mock.verify().await;
}

/// A call Telnyx says is still alive is left alone, even past the maximum call duration:
/// looked up again later, never ended, its recordings never listed.
#[tokio::test]
async fn a_telnyx_call_still_alive_is_untouched() {
    let mock = MockServer::start().await;
    let leg = "leg-reconcile-telnyx-0003";
    answer_status(&mock, leg, 200, call_status(leg, true)).await;
    let (app, _conn, id) = live_call(&mock, "1", leg).await;
    untouched_after_two_lookups(&app, &mock, (leg, &id), &status_path(leg), "/v2/recordings").await;
    app.stop().await;
}

/// A call Telnyx no longer knows (its status is kept 10 minutes after the call ended; a 404
/// here) is never ended on that answer: it ends at the maximum call duration (`timed_out`),
/// unresolved, and the session's recordings are listed and deleted.
#[tokio::test]
async fn a_telnyx_call_whose_status_is_unknown_times_out_and_its_recordings_are_deleted() {
    let mock = MockServer::start().await;
    let (leg, rec) = ("leg-reconcile-telnyx-0001", "rec-reconcile-telnyx-1");
    let not_found = json!({"errors": [{"code": "10005", "title": "Resource not found",
        "detail": "The requested resource or URL could not be found."}]});
    answer_status(&mock, leg, 404, not_found).await;
    list_and_expect_deletion(&mock, leg, rec).await;
    let (app, _conn, id) = live_call(&mock, "2", leg).await;

    deleted_soon(&app, &id, "the listed recording deleted").await;
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["ended_by"], "timed_out", "{call}");
    assert_eq!(call["tenant"]["status"], "unresolved", "{call}");
    assert_eq!(call["recording"]["status"], "discarded", "{call}");
    assert_eq!(call["recording"]["provider_recording_id"], rec, "{call}");
    assert!(audit_has(&app, &id, "call.timed_out").await);
    assert!(!audit_has(&app, &id, "call.reconciled").await);
    assert!(requests_to(&mock, "GET", &status_path(leg)).await >= 1);
    app.stop().await;
    mock.verify().await;
}
