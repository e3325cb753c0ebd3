//! Bandwidth end to end: a connection with the contract's secret names, callbacks with the
//! configured HTTP Basic credentials, the calls through the API, refusals, and a discarded
//! recording deleted on the Voice API v2.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CALLBACK_USER: &str = "bw-e2e-callback-user";
const CALLBACK_PASSWORD: &str = "bw-e2e-callback-password";
const API_USER: &str = "bw-e2e-api-user";
const API_PASSWORD: &str = "bw-e2e-api-password";
const ACCOUNT: &str = "9900001";
const CALLER: &str = "+15125550123";

async fn setup(api_base: &str) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app
        .connection(
            "bandwidth",
            json!({
                "callback_username": CALLBACK_USER, "callback_password": CALLBACK_PASSWORD,
                "api_username": API_USER, "api_password": API_PASSWORD, "account_id": ACCOUNT,
            }),
            json!({"api_base_url": api_base}),
        )
        .await;
    (app, conn)
}

const SECRETS: [(&str, &str); 2] = [
    ("callback_username", CALLBACK_USER),
    ("callback_password", CALLBACK_PASSWORD),
];

fn callback(event_type: &str, call_id: &str, to: &str, extra: Value) -> String {
    let body = json!({
        "eventType": event_type, "eventTime": "2026-11-23T18:05:01.554Z",
        "accountId": ACCOUNT, "applicationId": "3f2b8c1d-6e4a-4b9f-a1c2-7d8e9f0a1b2c",
        "from": CALLER, "to": to, "direction": "inbound", "callId": call_id,
        "startTime": "2026-11-23T18:05:01.234Z",
    });
    merged(body, extra).to_string()
}

async fn send(app: &TestApp, conn: &str, body: &str) -> reqwest::Response {
    app.signed_webhook("bandwidth", conn, "application/json", body, &SECRETS)
        .await
}

#[tokio::test]
async fn a_local_call_is_resolved_and_its_recording_kept() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let call_id = "c-2a913f94-7c6e40d1-8b5f-4a3e-9d2c-1f0e9d8c7b6a";
    let rec = "r-6e8f0a2b-4c6d-4e8f-a0b2-c4d6e8f0a2b4";
    let media = format!(
        "https://voice.bandwidth.com/api/v2/accounts/{ACCOUNT}/calls/{call_id}/recordings/{rec}/media"
    );
    let initiate = send(
        &app,
        &conn,
        &callback("initiate", call_id, AUSTIN_LOCAL, json!({})),
    )
    .await;
    assert_eq!(initiate.status(), StatusCode::OK);
    assert!(
        initiate.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    assert!(initiate.text().await.unwrap().contains("<Response/>"));
    let recording = json!({"recordingId": rec, "duration": "PT41.2S", "mediaUrl": media});
    let mut available = recording.clone();
    available["status"] = json!("complete");
    for (event_type, extra, status) in [
        ("recordComplete", recording, StatusCode::OK),
        (
            "disconnect",
            json!({"cause": "hangup", "endTime": "2026-11-23T18:07:12.123Z"}),
            StatusCode::NO_CONTENT,
        ),
        ("recordingAvailable", available, StatusCode::NO_CONTENT),
    ] {
        let res = send(
            &app,
            &conn,
            &callback(event_type, call_id, AUSTIN_LOCAL, extra),
        )
        .await;
        assert_eq!(res.status(), status, "{event_type}");
    }

    let call = app.call_by_sid(call_id).await;
    assert_eq!(call["provider"], "bandwidth");
    assert_eq!(call["state"], "completed");
    assert_eq!(call["from"], CALLER);
    assert_eq!(call["to"], AUSTIN_LOCAL);
    assert_eq!(call["started_at"], "2026-11-23T18:05:01.234Z");
    assert_eq!(call["ended_at"], "2026-11-23T18:07:12.123Z");
    assert_eq!(call["tenant"]["status"], "resolved");
    assert_eq!(call["recording"]["status"], "saved");
    assert_eq!(call["recording"]["provider_recording_id"], rec);
    assert_eq!(call["recording"]["duration_s"], 41);
    assert_eq!(call["recording"]["url"], media.as_str());
    app.stop().await;
}

/// A call to the national number ends without a tenant: its recording is discarded and
/// deleted on the Voice API at `api_base_url`, with the API user's Basic credentials.
#[tokio::test]
async fn the_recording_of_a_call_without_tenant_is_deleted_at_bandwidth() {
    let call_id = "c-5d7e9f1a-3b4c5d6e-a7f8-4e9d-8c1b-2a3f4e5d6c7b";
    let rec = "r-7f9a1b3c-5d7e-4f9a-b1c3-d5e7f9a1b3c5";
    let mock = deletion_expected(
        &format!("/api/v2/accounts/{ACCOUNT}/calls/{call_id}/recordings/{rec}"),
        API_USER,
        API_PASSWORD,
    )
    .await;
    let (app, conn) = setup(&mock.uri()).await;
    for (event_type, extra) in [
        ("initiate", json!({})),
        ("recordComplete", json!({"recordingId": rec})),
        ("disconnect", json!({"cause": "hangup"})),
        (
            "recordingAvailable",
            json!({"recordingId": rec, "status": "complete"}),
        ),
    ] {
        let res = send(
            &app,
            &conn,
            &callback(event_type, call_id, TOLL_FREE, extra),
        )
        .await;
        assert!(res.status().is_success(), "{event_type}: {}", res.status());
    }
    let call = app.call_by_sid(call_id).await;
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(call["number_kind"], "national");
    assert_discarded(&call);
    app.audit_reaches(&id, "recording.deletion_confirmed").await;
    app.stop().await;
    mock.verify().await;
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_refused_with_401_json() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let body = callback(
        "disconnect",
        "c-forged",
        AUSTIN_LOCAL,
        json!({"cause": "hangup"}),
    );
    let res = app
        .signed_webhook(
            "bandwidth",
            &conn,
            "application/json",
            &body,
            &[
                ("callback_username", CALLBACK_USER),
                ("callback_password", "guessed"),
            ],
        )
        .await;
    assert_invalid_signature(res).await;
    let res = app
        .raw_webhook(
            "bandwidth",
            &conn,
            &[("content-type", "application/json")],
            &body,
        )
        .await;
    assert_invalid_signature(res).await;
    // The API user's credentials are not the callback credentials.
    let api_basic = callgate_adapters::kit::adapter::basic_auth(API_USER, API_PASSWORD);
    let res = app
        .raw_webhook(
            "bandwidth",
            &conn,
            &[
                ("content-type", "application/json"),
                ("authorization", api_basic.as_str()),
            ],
            &body,
        )
        .await;
    assert_invalid_signature(res).await;
    assert_eq!(count_rows(&app, "deliveries").await, 0);
    app.stop().await;
}
