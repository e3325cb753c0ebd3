//! Plivo end to end: a connection with the contract's secret names, V3-signed callbacks, a
//! a retried request a duplicate, and a discarded recording deleted on Plivo's REST API.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

pub(crate) const AUTH_ID: &str = "MAE2EAUTHID00000000";
pub(crate) const AUTH_TOKEN_PLIVO: &str = "plivo-e2e-auth-token";
pub(crate) const SECRETS: [(&str, &str); 1] = [("auth_token", AUTH_TOKEN_PLIVO)];

/// A callback about `call`, an inbound call to the national number, with `fields`.
pub(crate) fn callback(call: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![
        ("CallUUID", call),
        ("Direction", "inbound"),
        ("From", "15125550123"),
        ("To", &TOLL_FREE[1..]),
    ];
    all.extend_from_slice(fields);
    form(&all)
}

/// A Plivo connection of `app` (the Auth Token, the Auth ID) whose API is at `api_base`.
pub(crate) async fn plivo_connection(app: &TestApp, api_base: &str) -> String {
    app.connection(
        "plivo",
        json!({"auth_token": AUTH_TOKEN_PLIVO, "auth_id": AUTH_ID}),
        json!({"api_base_url": api_base}),
    )
    .await
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
    let conn = plivo_connection(&app, &mock.uri()).await;
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
    // The same nonce on another body, validly signed with it: a replay, refused 401, and
    // nothing stored.
    let deliveries = count_rows(&app, "deliveries").await;
    let other = callback(call, &[("CallStatus", "no-answer")]);
    let reused = resign_with_nonce(&path, &headers, &other);
    let refused = app.post_webhook(&path, &reused, &other).await;
    assert_invalid_signature(refused).await;
    assert_eq!(count_rows(&app, "deliveries").await, deliveries);
    assert_eq!(count_rows(&app, "events").await, events);
    assert_eq!(app.call_by_sid(call).await["state"], "completed");
    app.stop().await;
    mock.verify().await;
}

/// `headers` (a signed request's) re-signed over `body` with the same nonce.
fn resign_with_nonce(
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> Vec<(String, String)> {
    use callgate_adapters::kit::{Adapter, FixedClock, InboundRequest, SecretSet};
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("x-plivo-signature-v3") {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
    }
    let mut req = InboundRequest {
        method: http::Method::POST,
        public_url: format!("{PUBLIC}{path}"),
        headers: map,
        body: body.to_owned().into(),
    };
    let clock = FixedClock(time::OffsetDateTime::now_utc());
    callgate_adapters::plivo::Plivo
        .sign(&mut req, &SecretSet::from_pairs(SECRETS), &clock)
        .unwrap();
    let nonce = |h: &[(String, String)]| {
        h.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-plivo-signature-v3-nonce"))
            .map(|(_, v)| v.clone())
    };
    let resigned: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    assert_eq!(nonce(&resigned), nonce(headers), "the nonce is kept");
    resigned
}
