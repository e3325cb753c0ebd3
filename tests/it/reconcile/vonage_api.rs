//! Vonage's lost webhooks: the reconciler lists the conversation's legs at a mock Voice API
//! (`GET /v1/calls?conversation_uuid=`), signed with an application JWT. Vonage has no API
//! that lists or deletes a call's recordings: a recording heard of is discarded, and its
//! deletion audited as not supported.

use super::{CALLER, app_with, audit_has, enter_austin, requests_to, sample, send_json, soon};
use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callgate_adapters::kit::rsa::RsaKey;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{header_regex, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "vonage-reconcile-signature-secret";
const APPLICATION: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const LEGS_PATH: &str = "/v1/calls";

/// An app that looks calls up after 1 s, with the Austin directory and a Vonage connection
/// whose API is `mock`.
async fn vonage_app(max_call: &str, mock: &MockServer) -> (TestApp, String) {
    let app = app_with(max_call).await;
    app.austin_directory().await;
    let conn = app
        .connection(
            "vonage",
            json!({
                "signature_secret": SECRET,
                "application_id": APPLICATION,
                "private_key": RsaKey::generate_pem().unwrap(),
            }),
            json!({"api_base_url": mock.uri()}),
        )
        .await;
    (app, conn)
}

async fn send(app: &TestApp, conn: &str, body: Value) {
    send_json(app, "vonage", conn, &body, &[("signature_secret", SECRET)]).await;
}

/// The customer's leg `leg` of `conversation`, to the national number, in `status`.
fn leg_event(conversation: &str, leg: &str, status: &str) -> Value {
    json!({
        "from": CALLER.trim_start_matches('+'), "to": TOLL_FREE.trim_start_matches('+'),
        "uuid": leg, "conversation_uuid": conversation, "status": status,
        "direction": "inbound", "timestamp": "2026-11-23T18:00:01.000Z",
    })
}

/// The national call as far as its webhooks tell (started, answered), and its recording.
async fn live_call(app: &TestApp, conn: &str, conversation: &str, leg: &str, rec: &str) -> String {
    for status in ["started", "answered"] {
        send(app, conn, leg_event(conversation, leg, status)).await;
    }
    let record = json!({
        "recording_uuid": rec, "conversation_uuid": conversation,
        "recording_url": format!("https://api.nexmo.com/v1/files/{rec}"),
        "start_time": "2026-11-23T18:00:05Z", "end_time": "2026-11-23T18:00:50Z",
        "timestamp": "2026-11-23T18:00:51.000Z",
    });
    send(app, conn, record).await;
    app.call_by_sid(leg).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The conversation's call records as the Voice API lists them: the customer's leg in
/// `status`.
fn legs_page(conversation: &str, leg: &str, status: &str) -> Value {
    let ended = status == "completed";
    json!({
        "count": 1, "page_size": 100, "record_index": 0,
        "_links": {"self": {"href": "/v1/calls?page_size=100&record_index=0"}},
        "_embedded": {"calls": [{
            "_links": {"self": {"href": format!("/v1/calls/{leg}")}},
            "uuid": leg, "conversation_uuid": conversation, "status": status,
            "direction": "inbound",
            "from": {"type": "phone", "number": CALLER.trim_start_matches('+')},
            "to": {"type": "phone", "number": TOLL_FREE.trim_start_matches('+')},
            "start_time": "2026-11-23T18:00:01.000Z",
            "end_time": if ended { json!("2026-11-23T18:01:00.000Z") } else { Value::Null },
        }]},
    })
}

/// The conversation's legs answer its lookup, to a request bearing an RS256 token.
async fn answer_legs(mock: &MockServer, conversation: &str, page: Value) {
    Mock::given(method("GET"))
        .and(path(LEGS_PATH))
        .and(query_param("conversation_uuid", conversation))
        .and(header_regex(
            "authorization",
            r"^Bearer [\w-]+\.[\w-]+\.[\w-]+$",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(mock)
        .await;
}

/// The claims of the first lookup's token.
async fn first_claims(mock: &MockServer) -> Value {
    let requests = mock.received_requests().await.unwrap_or_default();
    let auth = requests[0].headers["authorization"].to_str().unwrap();
    let payload = auth.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The end webhook is lost: the legs listed say the customer's leg completed, so the call
/// ends `reconciled`, unresolved, and its recording is discarded (Vonage cannot delete it:
/// audited as not supported, nothing sent). The late end webhook changes nothing.
#[tokio::test]
async fn a_lost_end_webhook_is_reconciled_from_the_conversations_legs() {
    let mock = MockServer::start().await;
    let conversation = "CON-7a000000-0000-4000-8000-000000000001";
    let (leg, rec) = (
        "7a000000-0000-4000-8000-000000000001",
        "7b000000-0000-4000-8000-000000000001",
    );
    answer_legs(
        &mock,
        conversation,
        legs_page(conversation, leg, "completed"),
    )
    .await;
    let (app, conn) = vonage_app("3600", &mock).await;
    let id = live_call(&app, &conn, conversation, leg, rec).await;
    assert_eq!(app.call_by_sid(leg).await["recording"]["status"], "gated");

    soon("the lookup ended the call", || async {
        app.call_by_sid(leg).await["ended_by"] == "reconciled"
    })
    .await;
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["state"], "completed", "{call}");
    assert_eq!(call["tenant"]["status"], "unresolved", "{call}");
    assert_eq!(call["recording"]["status"], "discarded", "{call}");
    assert_eq!(call["ended_at"], "2026-11-23T18:01:00Z", "{call}");
    // The audit entry is written just after the call ends.
    app.audit_reaches(&id, "call.reconciled").await;
    app.audit_reaches(&id, "recording.deletion_not_supported")
        .await;
    let claims = first_claims(&mock).await;
    assert_eq!(claims["application_id"], APPLICATION, "{claims}");
    assert!(
        claims["jti"].is_string() && claims["iat"].is_i64(),
        "{claims}"
    );
    // Only the lookup was sent: nothing lists or deletes a Vonage recording.
    let requests = mock.received_requests().await.unwrap_or_default();
    assert!(requests.iter().all(|r| r.url.path() == LEGS_PATH));
    let (s, v) = enter_austin(&app, &id).await;
    assert!(s.is_client_error(), "{s} {v}");

    send(&app, &conn, leg_event(conversation, leg, "completed")).await;
    let again = app.call_by_sid(leg).await;
    assert_eq!(again["ended_by"], "reconciled");
    assert_eq!(again["ended_at"], call["ended_at"]);
    app.stop().await;
}

/// A conversation whose customer is still on the line is looked up again and again, and
/// never ended: a tenant can still be entered.
#[tokio::test]
async fn a_conversation_still_in_progress_is_left_alone() {
    let mock = MockServer::start().await;
    let conversation = "CON-7a000000-0000-4000-8000-000000000002";
    let (leg, rec) = (
        "7a000000-0000-4000-8000-000000000002",
        "7b000000-0000-4000-8000-000000000002",
    );
    answer_legs(
        &mock,
        conversation,
        legs_page(conversation, leg, "answered"),
    )
    .await;
    let (app, conn) = vonage_app("3600", &mock).await;
    let id = live_call(&app, &conn, conversation, leg, rec).await;

    soon("two lookups", || async {
        requests_to(&mock, "GET", LEGS_PATH).await >= 2
    })
    .await;
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["ended_by"], Value::Null, "{call}");
    assert_eq!(call["ended_at"], Value::Null, "{call}");
    assert_eq!(call["recording"]["status"], "gated", "{call}");
    assert!(!audit_has(&app, &id, "call.reconciled").await);
    let metrics = app.metrics().await;
    assert!(
        sample(
            &metrics,
            r#"callgate_reconcile_lookups_total{kind="call",outcome="in_progress"}"#
        ) >= 1.0
    );
    let (s, v) = enter_austin(&app, &id).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.stop().await;
}

/// A conversation Vonage lists no leg of is one it does not know: past the maximum call
/// duration the call ends `timed_out`, unresolved, its recording discarded.
#[tokio::test]
async fn a_conversation_vonage_does_not_know_times_out() {
    let mock = MockServer::start().await;
    let conversation = "CON-7a000000-0000-4000-8000-000000000003";
    let (leg, rec) = (
        "7a000000-0000-4000-8000-000000000003",
        "7b000000-0000-4000-8000-000000000003",
    );
    let none = json!({"count": 0, "page_size": 100, "record_index": 0,
        "_links": {"self": {"href": "/v1/calls?page_size=100&record_index=0"}}});
    answer_legs(&mock, conversation, none).await;
    let (app, conn) = vonage_app("2", &mock).await;
    let id = live_call(&app, &conn, conversation, leg, rec).await;

    soon("the call timed out", || async {
        app.call_by_sid(leg).await["ended_by"] == "timed_out"
    })
    .await;
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["tenant"]["status"], "unresolved", "{call}");
    assert_eq!(call["recording"]["status"], "discarded", "{call}");
    // Timed out because Vonage answered it does not know the call, not for want of asking.
    let entry = app.audit_entry(&id, "call.timed_out").await;
    assert_eq!(
        entry["detail"]["reason"], "the provider does not know the call",
        "{entry}"
    );
    assert!(requests_to(&mock, "GET", LEGS_PATH).await >= 1);
    app.stop().await;
}
