//! A mock Plivo API for the reconciler: "Retrieve a call"
//! (`GET /v1/Account/{auth_id}/Call/{call_uuid}/`, the record of a call that ended) and the
//! call's recordings (`GET /v1/Account/{auth_id}/Recording/?call_uuid=`), with HTTP Basic
//! `auth_id:auth_token`.

use super::{
    app_with, reconciled_unresolved, requests_to, still_as_reconciled, untouched_after_two_lookups,
};
use crate::plivo::{AUTH_ID, AUTH_TOKEN_PLIVO, SECRETS, callback, plivo_connection};
use crate::support::*;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FORM: &str = "application/x-www-form-urlencoded";

fn call_path(call: &str) -> String {
    format!("/v1/Account/{AUTH_ID}/Call/{call}/")
}

fn recordings_path() -> String {
    format!("/v1/Account/{AUTH_ID}/Recording/")
}

/// The record of `call`, answered and ended normally, as "Retrieve a call" answers it (the
/// fields of the API reference's example; times in the account's zone, +05:30).
fn record(call: &str) -> Value {
    json!({"api_id": "a7a3f0f2-0000-4000-8000-000000000001",
        "answer_time": "2026-11-23 23:35:05+05:30", "bill_duration": 55,
        "billed_duration": 60, "call_direction": "inbound", "call_duration": 55,
        "call_uuid": call, "end_time": "2026-11-23 23:36:00+05:30",
        "from_number": "15125550123", "initiation_time": "2026-11-23 23:35:01+05:30",
        "parent_call_uuid": null,
        "resource_uri": format!("/v1/Account/{AUTH_ID}/Call/{call}/"),
        "to_number": &TOLL_FREE[1..], "total_amount": "0.00850", "total_rate": "0.00850",
        "hangup_cause_name": "Normal Hangup", "hangup_cause_code": 4000,
        "hangup_source": "Caller"})
}

/// "Retrieve a call" of `call` answers `status` and `body`, asked with the connection's
/// HTTP Basic credentials.
async fn answer_lookup(mock: &MockServer, call: &str, status: u16, body: Value) {
    let authorization = callgate_adapters::kit::adapter::basic_auth(AUTH_ID, AUTH_TOKEN_PLIVO);
    Mock::given(method("GET"))
        .and(path(call_path(call)))
        .and(header("authorization", authorization.as_str()))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(mock)
        .await;
}

/// The recordings of `call` list `rec`, which must be deleted once.
async fn list_and_expect_deletion(mock: &MockServer, call: &str, rec: &str) {
    let listed = json!({"api_id": "a7a3f0f2-0000-4000-8000-000000000002",
        "meta": {"count": 1, "limit": 20, "next": null, "offset": 0, "previous": null},
        "objects": [{"add_time": "2026-11-23 23:36:01.000000+05:30", "call_uuid": call,
            "recording_duration_ms": "41000.00000", "recording_format": "mp3",
            "recording_id": rec, "recording_type": "trunk"}]});
    Mock::given(method("GET"))
        .and(path(recordings_path()))
        .and(query_param("call_uuid", call))
        .respond_with(ResponseTemplate::new(200).set_body_json(listed))
        .mount(mock)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/Account/{AUTH_ID}/Recording/{rec}/")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(mock)
        .await;
}

/// Sends the callback of `call` with `fields`, signed: accepted.
async fn send(app: &TestApp, conn: &str, call: &str, fields: &[(&str, &str)]) {
    let body = callback(call, fields);
    let res = app
        .signed_webhook("plivo", conn, FORM, &body, &SECRETS)
        .await;
    assert!(res.status().is_success(), "{}", res.status());
}

/// An app whose calls time out after `max_call` seconds, with the Austin directory and a
/// Plivo connection whose API is `mock`, and the national call `call` as its ring and answer
/// callbacks tell it; the connection and the call's id.
async fn live_call(mock: &MockServer, max_call: &str, call: &str) -> (TestApp, String, String) {
    let app = app_with(max_call).await;
    app.austin_directory().await;
    let conn = plivo_connection(&app, &mock.uri()).await;
    for status in ["ringing", "in-progress"] {
        send(&app, &conn, call, &[("CallStatus", status)]).await;
    }
    let id = app.call_by_sid(call).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (app, conn, id)
}

/// The hangup callback of a national call is lost, and so is its recording's: Plivo's record
/// of the call says it ended (answered, "Normal Hangup"), so the lookup ends it
/// (`reconciled`, at the record's `end_time`), unresolved; its recordings are listed and the
/// one never heard of is deleted. The late hangup callback then changes nothing.
#[tokio::test]
async fn a_plivo_call_whose_hangup_callback_is_lost_is_reconciled_and_its_recording_deleted() {
    let mock = MockServer::start().await;
    let (call, rec) = (
        "4d5a1c2e-0000-4000-8000-00000000ec01",
        "rec-reconcile-plivo-1",
    );
    answer_lookup(&mock, call, 200, record(call)).await;
    list_and_expect_deletion(&mock, call, rec).await;
    let (app, conn, id) = live_call(&mock, "3600", call).await;

    let ended = reconciled_unresolved(&app, call, &id, "2026-11-23T18:06:00Z", rec).await;
    assert!(requests_to(&mock, "GET", &call_path(call)).await >= 1);

    let events = count_rows(&app, "events").await;
    send(&app, &conn, call, &[("CallStatus", "completed")]).await;
    assert_eq!(
        count_rows(&app, "events").await,
        events,
        "the late hangup callback is the lookup's event"
    );
    still_as_reconciled(&app, call, &ended).await;
    app.stop().await;
    mock.verify().await;
}

/// A 404 (Plivo keeps records of calls that ended: a live call's lookup answers 404 too) is
/// never an end: before the maximum call duration the call is looked up again and left in
/// progress, its recordings never listed.
#[tokio::test]
async fn a_plivo_call_plivo_has_no_record_of_is_untouched_before_the_maximum_duration() {
    let mock = MockServer::start().await;
    let call = "4d5a1c2e-0000-4000-8000-00000000ec02";
    let not_found = json!({"api_id": "a7a3f0f2-0000-4000-8000-000000000003",
        "error": "not found"});
    answer_lookup(&mock, call, 404, not_found).await;
    let (app, _conn, id) = live_call(&mock, "3600", call).await;
    untouched_after_two_lookups(
        &app,
        &mock,
        (call, &id),
        &call_path(call),
        &recordings_path(),
    )
    .await;
    app.stop().await;
}
