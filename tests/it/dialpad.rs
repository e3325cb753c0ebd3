//! Dialpad end to end: signed-token call events make the same call as Twilio's; a
//! discarded recording is audited as not deletable (Dialpad has no delete API); unsigned and
//! wrongly signed bodies are refused.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRET: &str = "e2e-dialpad-webhook-secret";
const CT: &str = "application/jwt";

fn claims(call_id: u64, state: &str, to: &str, extra: Value) -> String {
    let c = merged(
        json!({"call_id": call_id, "state": state, "direction": "inbound",
        "external_number": "+15125550123", "internal_number": to,
        "date_started": 1_795_457_100_000_u64}),
        extra,
    );
    // `sign` turns these claims into the signed token that is the body.
    c.to_string()
}

async fn send(app: &TestApp, conn: &str, body: &str) -> reqwest::Response {
    app.signed_webhook("dialpad", conn, CT, body, &[("webhook_secret", SECRET)])
        .await
}

#[tokio::test]
async fn calls_match_twilio_and_a_discarded_recording_is_audited_not_deletable() {
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app
        .connection("dialpad", json!({"webhook_secret": SECRET}), json!({}))
        .await;
    for state in ["calling", "ringing", "connected", "hangup"] {
        let res = send(&app, &conn, &claims(1001, state, AUSTIN_LOCAL, json!({}))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let call = app.call_by_sid("1001").await;
    assert_eq!(call["from"], "+15125550123");
    assert_eq!(call["to"], AUSTIN_LOCAL);
    assert_eq!(call["state"], "completed");
    assert_eq!(call["number_kind"], "local");
    assert_eq!(call["tenant"]["tenant_id"], "t-austin");

    for (state, extra) in [
        ("ringing", json!({})),
        (
            "recording",
            json!({"recording_id": "rec-e2e-1", "recording_url": ["https://dialpad.example/r/1"]}),
        ),
        ("hangup", json!({})),
    ] {
        let res = send(&app, &conn, &claims(2002, state, TOLL_FREE, extra)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let call = app.call_by_sid("2002").await;
    assert_eq!(call["number_kind"], "national");
    assert_discarded(&call);
    app.audit_reaches(
        call["id"].as_str().unwrap(),
        "recording.deletion_not_supported",
    )
    .await;

    // A plain JSON body (a webhook without a secret) and a token under another secret.
    let plain = claims(3003, "ringing", TOLL_FREE, json!({}));
    let (path, headers) = sign_webhook("dialpad", &conn, CT, &plain, &[("webhook_secret", SECRET)]);
    assert_invalid_signature(app.post_webhook(&path, &headers, &plain).await).await;
    let wrong = app
        .signed_webhook(
            "dialpad",
            &conn,
            CT,
            &plain,
            &[("webhook_secret", "guessed")],
        )
        .await;
    assert_invalid_signature(wrong).await;
    app.stop().await;
}
