//! SignalWire end to end: a connection with the contract's secret and option names, LaML
//! and RELAY webhooks signed as SignalWire signs them, the calls through the API, refusals,
//! and a discarded LaML recording deleted on the Space's LaML API.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SIGNING_KEY: &str = "PSK_e2e_signing_key";
const PROJECT: &str = "b3877c40-da60-4998-90ad-b792e98472af";
const API_TOKEN: &str = "PT_e2e_api_token";
const CALLER: &str = "+15125550123";

async fn setup(api_base: &str) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app
        .connection(
            "signalwire",
            json!({"signing_key": SIGNING_KEY, "project_id": PROJECT, "api_token": API_TOKEN}),
            json!({"space_url": "https://example.signalwire.com", "api_base_url": api_base}),
        )
        .await;
    (app, conn)
}

const SECRETS: [(&str, &str); 1] = [("signing_key", SIGNING_KEY)];

async fn relay(app: &TestApp, conn: &str, call_id: &str, state: &str, ts: f64, extra: Value) {
    let params = json!({
        "call_id": call_id, "node_id": "node-1@us-east", "call_state": state,
        "direction": "inbound",
        "device": {"type": "phone", "params": {"from_number": CALLER, "to_number": AUSTIN_LOCAL}},
    });
    let params = merged(params, extra);
    let body = json!({"event_type": "calling.call.state", "timestamp": ts, "project_id": PROJECT, "params": params});
    let res = app
        .signed_webhook(
            "signalwire",
            conn,
            "application/json",
            &body.to_string(),
            &SECRETS,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "{state}");
}

async fn laml(app: &TestApp, conn: &str, params: &[(&str, &str)]) -> reqwest::Response {
    app.signed_webhook(
        "signalwire",
        conn,
        "application/x-www-form-urlencoded",
        &form(params),
        &SECRETS,
    )
    .await
}

#[tokio::test]
async fn relay_call_states_make_a_resolved_call() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let call_id = "7a3c2f0e-5b1d-4e8a-9c6f-2d4b8e1a3c5f";
    relay(&app, &conn, call_id, "created", 1_795_457_101.0, json!({})).await;
    relay(&app, &conn, call_id, "answered", 1_795_457_106.5, json!({})).await;
    relay(&app, &conn, call_id, "ending", 1_795_457_159.0, json!({})).await;
    relay(
        &app,
        &conn,
        call_id,
        "ended",
        1_795_457_160.0,
        json!({"end_reason": "hangup"}),
    )
    .await;

    let call = app.call_by_sid(call_id).await;
    assert_eq!(call["provider"], "signalwire");
    assert_eq!(call["state"], "completed");
    assert_eq!(call["direction"], "inbound");
    assert_eq!(call["from"], CALLER);
    assert_eq!(call["to"], AUSTIN_LOCAL);
    assert_eq!(call["number_kind"], "local");
    assert_eq!(call["started_at"], "2026-11-23T18:05:01Z");
    assert_eq!(call["answered_at"], "2026-11-23T18:05:06.5Z");
    assert_eq!(call["ended_at"], "2026-11-23T18:06:00Z");
    assert_eq!(
        call["tenant"],
        json!({"status": "resolved", "tenant_id": "t-austin", "via": "local_number"})
    );
    assert_eq!(call["recording"]["status"], "none");
    app.stop().await;
}

#[tokio::test]
async fn swml_requests_get_an_swml_document() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let body = json!({"call": {"call_id": "c-swml-1", "call_state": "created", "direction": "inbound",
        "from_number": CALLER, "to_number": TOLL_FREE}, "vars": {}});
    let res = app
        .signed_webhook(
            "signalwire",
            &conn,
            "application/json",
            &body.to_string(),
            &SECRETS,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["sections"]["main"], json!([]));
    let call = app.call_by_sid("c-swml-1").await;
    assert_eq!(call["state"], "initiated");
    assert_eq!(call["number_kind"], "national");
    assert_eq!(call["tenant"]["status"], "pending");
    app.stop().await;
}

/// A LaML call to the national number ends without a tenant: its recording is discarded,
/// never shown, and deleted on the LaML API at `api_base_url` with the project's Basic
/// credentials.
#[tokio::test]
async fn laml_recording_of_a_call_without_tenant_is_deleted_at_signalwire() {
    let call_sid = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";
    let rec = "3e8f1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b";
    let mock = deletion_expected(
        &format!("/api/laml/2010-04-01/Accounts/{PROJECT}/Recordings/{rec}.json"),
        PROJECT,
        API_TOKEN,
    )
    .await;
    let (app, conn) = setup(&mock.uri()).await;
    let incoming = laml(
        &app,
        &conn,
        &[
            ("AccountSid", PROJECT),
            ("CallSid", call_sid),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("From", CALLER),
            ("To", TOLL_FREE),
        ],
    )
    .await;
    assert_eq!(incoming.status(), StatusCode::OK);
    assert!(incoming.text().await.unwrap().contains("<Response"));
    let rec_url = format!(
        "https://example.signalwire.com/api/laml/2010-04-01/Accounts/{PROJECT}/Recordings/{rec}"
    );
    for params in [
        vec![
            ("CallSid", call_sid),
            ("CallStatus", "completed"),
            ("CallbackSource", "call-progress-events"),
            ("SequenceNumber", "2"),
            ("Direction", "inbound"),
            ("From", CALLER),
            ("To", TOLL_FREE),
        ],
        vec![
            ("CallSid", call_sid),
            ("RecordingSid", rec),
            ("RecordingStatus", "completed"),
            ("RecordingUrl", rec_url.as_str()),
            ("RecordingDuration", "68"),
        ],
    ] {
        let res = laml(&app, &conn, &params).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    let call = app.call_by_sid(call_sid).await;
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(call["state"], "completed");
    assert_discarded(&call);
    assert_eq!(call["recording"]["provider_recording_id"], rec);
    assert_eq!(call["recording"]["duration_s"], 68);
    app.audit_reaches(&id, "recording.deletion_confirmed").await;
    assert!(
        !app.get("/api/v1/calls")
            .await
            .to_string()
            .contains(&rec_url)
    );
    app.stop().await;
    mock.verify().await;
}

#[tokio::test]
async fn bad_signatures_are_refused_with_401_json() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let body = json!({"event_type": "calling.call.state",
        "params": {"call_id": "c-forged", "call_state": "answered"}})
    .to_string();
    // Signed with another project's key.
    let res = app
        .signed_webhook(
            "signalwire",
            &conn,
            "application/json",
            &body,
            &[("signing_key", "PSK_someone_else")],
        )
        .await;
    assert_invalid_signature(res).await;
    // No signature header.
    let res = app
        .raw_webhook(
            "signalwire",
            &conn,
            &[("content-type", "application/json")],
            &body,
        )
        .await;
    assert_invalid_signature(res).await;
    // A LaML signature over another body.
    let res = app
        .raw_webhook(
            "signalwire",
            &conn,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            ],
            "CallSid=c-forged&CallStatus=completed",
        )
        .await;
    assert_invalid_signature(res).await;
    assert_eq!(count_rows(&app, "deliveries").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_space_written_as_a_bare_host_is_its_https_url_and_option_urls_carry_no_credentials() {
    let app = TestApp::spawn().await;
    let secrets =
        json!({"signing_key": SIGNING_KEY, "project_id": PROJECT, "api_token": API_TOKEN});
    let conn = app
        .connection(
            "signalwire",
            secrets.clone(),
            json!({"space_url": "example.signalwire.com"}),
        )
        .await;
    let shown = app.get(&format!("/api/v1/connections/{conn}")).await;
    assert_eq!(
        shown["options"]["space_url"], "https://example.signalwire.com",
        "{shown}"
    );
    for space in [
        "ftp://example.signalwire.com",
        "https://user:pw@example.signalwire.com",
    ] {
        let body = json!({"provider": "signalwire", "name": "space", "secrets": secrets,
            "options": {"space_url": space}});
        let (status, v) = app
            .api(reqwest::Method::POST, "/api/v1/connections", Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{space}: {v}");
        assert_eq!(v["error"]["code"], "invalid_option", "{v}");
        assert!(!v.to_string().contains("pw@"), "{v}");
    }
}
