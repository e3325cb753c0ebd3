//! Plivo end to end: a connection with the contract's secret names, V3-signed callbacks, a
//! a retried request a duplicate, and a discarded recording deleted on Plivo's REST API.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

const AUTH_ID: &str = "MAE2EAUTHID00000000";
const AUTH_TOKEN_PLIVO: &str = "plivo-e2e-auth-token";
const SECRETS: [(&str, &str); 1] = [("auth_token", AUTH_TOKEN_PLIVO)];

fn callback(call: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![
        ("CallUUID", call),
        ("Direction", "inbound"),
        ("From", "15125550123"),
        ("To", &TOLL_FREE[1..]),
    ];
    all.extend_from_slice(fields);
    form(&all)
}

#[tokio::test]
async fn a_discarded_recording_is_deleted_at_plivo_and_nonces_are_single_use() {
    let call = "4d5a1c2e-0000-4000-8000-00000000e2e1";
    let rec = "rec-e2e-0001";
    let mock = deletion_expected(
        &format!("/v1/Account/{AUTH_ID}/Recording/{rec}/"),
        AUTH_ID,
        AUTH_TOKEN_PLIVO,
    )
    .await;
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app
        .connection(
            "plivo",
            json!({"auth_token": AUTH_TOKEN_PLIVO, "auth_id": AUTH_ID}),
            json!({"api_base_url": mock.uri()}),
        )
        .await;
    let ct = "application/x-www-form-urlencoded";
    for body in [
        callback(call, &[("CallStatus", "ringing")]),
        callback(call, &[("RecordingID", rec), ("RecordingDuration", "41")]),
        callback(call, &[("CallStatus", "completed")]),
    ] {
        let res = app
            .signed_webhook("plivo", &conn, ct, &body, &SECRETS)
            .await;
        assert!(res.status().is_success(), "{}", res.status());
    }
    let listed = app.call_by_sid(call).await;
    assert_eq!(listed["from"], "+15125550123");
    assert_discarded(&listed);
    let id = listed["id"].as_str().unwrap().to_owned();
    app.audit_reaches(&id, "recording.deletion_confirmed").await;

    // The same signed request again (same nonce, byte for byte): a duplicate delivery, 2xx,
    // no new event.
    let body = callback(call, &[("CallStatus", "busy")]);
    let (path, headers) = sign_webhook("plivo", &conn, ct, &body, &SECRETS);
    let first = app.post_webhook(&path, &headers, &body).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let events = count_rows(&app, "events").await;
    let again = app.post_webhook(&path, &headers, &body).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(count_rows(&app, "events").await, events);
    assert_eq!(app.call_by_sid(call).await["state"], "completed");
    app.stop().await;
    mock.verify().await;
}
