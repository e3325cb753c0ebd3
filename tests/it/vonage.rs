//! Vonage end to end: a connection with the contract's secret name, webhooks with a signed
//! JWT, numbers without `+` normalised, the calls through the API, refusals (a replayed
//! token included), and a discarded recording that Vonage cannot delete: audited as
//! `recording.deletion_not_supported`, nothing sent.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "vonage-e2e-signature-secret";
const SECRETS: [(&str, &str); 1] = [("signature_secret", SECRET)];
/// The caller and the numbers as Vonage writes them: digits without `+`.
const CALLER_DIGITS: &str = "15125550123";

fn digits(e164: &str) -> &str {
    e164.trim_start_matches('+')
}

async fn setup(api_base: &str) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app
        .connection(
            "vonage",
            json!({"signature_secret": SECRET}),
            json!({"api_base_url": api_base}),
        )
        .await;
    (app, conn)
}

fn event(conversation: &str, leg: &str, status: &str, to: &str, extra: Value) -> String {
    let body = json!({
        "from": CALLER_DIGITS, "to": digits(to), "uuid": leg,
        "conversation_uuid": conversation, "status": status, "direction": "inbound",
        "timestamp": "2026-11-23T18:05:01.000Z",
    });
    merged(body, extra).to_string()
}

fn record(conversation: &str, recording: &str) -> String {
    json!({
        "start_time": "2026-11-23T18:05:05Z",
        "recording_url": format!("https://api.nexmo.com/v1/files/{recording}"),
        "size": 412_044, "recording_uuid": recording,
        "end_time": "2026-11-23T18:06:46Z",
        "conversation_uuid": conversation, "timestamp": "2026-11-23T18:06:47.000Z",
    })
    .to_string()
}

async fn send(app: &TestApp, conn: &str, body: &str) {
    let res = app
        .signed_webhook("vonage", conn, "application/json", body, &SECRETS)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn a_local_call_is_resolved_with_e164_numbers_and_its_recording_kept() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let conversation = "CON-6f1d2c3b-4a5e-4f60-8b7a-9c0d1e2f3a4b";
    let leg = "6f1d2c3b-4a5e-4f60-8b7a-9c0d1e2f3a4b";
    let rec = "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a";
    for status in ["started", "ringing", "answered"] {
        send(
            &app,
            &conn,
            &event(conversation, leg, status, AUSTIN_LOCAL, json!({})),
        )
        .await;
    }
    send(&app, &conn, &record(conversation, rec)).await;
    let completed = event(
        conversation,
        leg,
        "completed",
        AUSTIN_LOCAL,
        json!({"timestamp": "2026-11-23T18:06:50.000Z", "duration": "109"}),
    );
    send(&app, &conn, &completed).await;

    // The call is found by its customer's leg; the record event names the conversation.
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["provider"], "vonage");
    assert_eq!(call["state"], "completed");
    // Sent without `+`, shown in E.164: the directory resolved the local number.
    assert_eq!(call["from"], "+15125550123");
    assert_eq!(call["to"], AUSTIN_LOCAL);
    assert_eq!(call["number_kind"], "local");
    assert_eq!(call["ended_at"], "2026-11-23T18:06:50Z");
    assert_eq!(call["tenant"]["tenant_id"], "t-austin");
    assert_eq!(call["recording"]["status"], "saved");
    assert_eq!(call["recording"]["provider_recording_id"], rec);
    assert_eq!(call["recording"]["duration_s"], 101);
    assert_eq!(
        call["recording"]["url"],
        format!("https://api.nexmo.com/v1/files/{rec}")
    );
    app.stop().await;
}

/// A call to the national number ends without a tenant. Vonage has no API to delete its
/// recording: the recording is discarded (no location anywhere), the audit says
/// `recording.deletion_not_supported` rather than a confirmation, and nothing is sent to
/// the provider.
#[tokio::test]
async fn a_discarded_recording_is_audited_as_deletion_not_supported() {
    let provider = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&provider)
        .await;
    let (app, conn) = setup(&provider.uri()).await;
    let conversation = "CON-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    let leg = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    let rec = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f";
    for status in ["started", "answered", "completed"] {
        send(
            &app,
            &conn,
            &event(conversation, leg, status, TOLL_FREE, json!({})),
        )
        .await;
    }
    send(&app, &conn, &record(conversation, rec)).await;

    let call = app.call_by_sid(leg).await;
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(call["number_kind"], "national");
    assert_discarded(&call);
    app.audit_reaches(&id, "recording.deletion_not_supported")
        .await;
    assert_eq!(
        app.audit_actions(&id).await,
        [
            "recording.discarded",
            "recording.deletion_requested",
            "recording.deletion_not_supported"
        ]
    );
    let audit = app.get(&format!("/api/v1/calls/{id}/audit")).await;
    let entry = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "recording.deletion_not_supported")
        .unwrap()
        .clone();
    assert_eq!(entry["detail"]["recording_id"], rec);
    assert!(entry["detail"].get("status").is_none(), "{entry}");
    assert!(
        entry["detail"]["reason"]
            .as_str()
            .unwrap()
            .contains("never fetched or exposed")
    );
    let everything = format!("{}{audit}", app.get("/api/v1/calls").await);
    assert!(!everything.contains("api.nexmo.com/v1/files"));
    assert!(!everything.contains(SECRET));
    app.stop().await;
    provider.verify().await;
}

#[tokio::test]
async fn forged_stale_and_replayed_tokens_are_refused_with_401_json() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let body = event("CON-forged", "leg-1", "answered", AUSTIN_LOCAL, json!({}));
    // Another account's secret.
    let res = app
        .signed_webhook(
            "vonage",
            &conn,
            "application/json",
            &body,
            &[("signature_secret", "someone-else")],
        )
        .await;
    assert_invalid_signature(res).await;
    // No token.
    let res = app
        .raw_webhook(
            "vonage",
            &conn,
            &[("content-type", "application/json")],
            &body,
        )
        .await;
    assert_invalid_signature(res).await;
    // A valid token over another body.
    let (target, headers) = sign_webhook("vonage", &conn, "application/json", &body, &SECRETS);
    let res = app
        .post_webhook(&target, &headers, &body.replace("answered", "completed"))
        .await;
    assert_invalid_signature(res).await;
    // A token issued 20 minutes ago.
    let old = {
        use callgate_adapters::kit::{Adapter, FixedClock, InboundRequest, SecretSet};
        let mut req = InboundRequest {
            method: http::Method::POST,
            public_url: format!("{PUBLIC}/webhooks/vonage/{conn}"),
            headers: http::HeaderMap::new(),
            body: body.clone().into(),
        };
        let then = time::OffsetDateTime::now_utc() - time::Duration::minutes(20);
        callgate_adapters::vonage::Vonage
            .sign(&mut req, &SecretSet::from_pairs(SECRETS), &FixedClock(then))
            .unwrap();
        req.headers["authorization"].to_str().unwrap().to_owned()
    };
    let res = app
        .raw_webhook(
            "vonage",
            &conn,
            &[
                ("content-type", "application/json"),
                ("authorization", old.as_str()),
            ],
            &body,
        )
        .await;
    assert_invalid_signature(res).await;
    assert_eq!(count_rows(&app, "deliveries").await, 0);

    // Its `jti` is single-use on the connection: the same request again is a duplicate
    // delivery (2xx, no new event); another request bearing the token (it does not cover
    // the URL) is a replay.
    let res = app.post_webhook(&target, &headers, &body).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.post_webhook(&target, &headers, &body).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(count_rows(&app, "events").await, 1);
    let elsewhere = format!("{target}?again=1");
    let res = app.post_webhook(&elsewhere, &headers, &body).await;
    assert_invalid_signature(res).await;
    assert_eq!(count_rows(&app, "deliveries").await, 2);
    // A valid token over another body (its own `payload_hash`) that reuses a `jti` already
    // seen: a replay, refused 401; a fresh `jti` on that body is accepted.
    let other = event("CON-forged", "leg-1", "completed", AUSTIN_LOCAL, json!({}));
    let token = |jti: &str| {
        use sha2::{Digest, Sha256};
        let hash: String = Sha256::digest(other.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let claims = json!({
            "iat": time::OffsetDateTime::now_utc().unix_timestamp(),
            "jti": jti, "payload_hash": hash,
        });
        let jwt = callgate_adapters::kit::jwt::sign_hs256(&claims, SECRET.as_bytes());
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("authorization".to_owned(), format!("Bearer {jwt}")),
        ]
    };
    let first_jti = callgate_adapters::kit::jwt::claims_of(
        headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1
            .trim_start_matches("Bearer ")
            .as_bytes(),
    )
    .unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.post_webhook(&target, &token(&first_jti), &other).await;
    assert_invalid_signature(res).await;
    assert_eq!(count_rows(&app, "deliveries").await, 2);
    let res = app
        .post_webhook(&target, &token("a-fresh-jti"), &other)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(count_rows(&app, "deliveries").await, 3);
    app.stop().await;
}

/// The body of Vonage's published `started` event (sample `published-event-started.http`).
fn published_started() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/webhook-samples/vonage/published-event-started.http"
    );
    let sample =
        callgate_adapters::kit::samples::HttpSample::parse(&std::fs::read(path).unwrap()).unwrap();
    String::from_utf8(sample.body).unwrap()
}

/// Vonage's published `started` event (sample `published-event-started.http`, from its Voice
/// API webhook reference) carries numbers without `+`, and `to` 447700900000 is in a range the
/// phone-number library does not know. Both are stored in E.164, so the directory entries
/// `+442079460000` and `+447700900000` match: the published outbound call by its calling
/// number, and the same event inbound (the reference says `direction` is either), with the
/// leading space a Vonage tutorial shows in `from`, by its dialed number; that call's
/// recording is kept, not discarded.
#[tokio::test]
async fn published_numbers_without_plus_match_the_directory() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    app.tenant("t-london", &["78799"], &["hvac"]).await;
    for n in ["+447700900000", "+442079460000"] {
        app.number(n, json!({"kind": "local", "tenant_id": "t-london"}))
            .await;
    }
    let published = published_started();

    send(&app, &conn, &published).await;
    let call = app
        .call_by_sid("aaaaaaaa-bbbb-cccc-dddd-0123456789ab")
        .await;
    assert_eq!(call["from"], "+442079460000");
    assert_eq!(call["to"], "+447700900000");
    assert_eq!(call["number_kind"], "local");
    assert_eq!(call["tenant"]["tenant_id"], "t-london");

    // Another call: its own leg and conversation.
    let leg = "bbbbbbbb-bbbb-cccc-dddd-0123456789ab";
    let conversation = format!("CON-{leg}");
    let inbound = published
        .replace("aaaaaaaa-bbbb-cccc-dddd-0123456789ab", leg)
        .replace(r#""direction": "outbound""#, r#""direction": "inbound""#)
        .replace(r#""from": "442079460000""#, r#""from": " 442079460000""#);
    send(&app, &conn, &inbound).await;
    let rec = "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a";
    send(&app, &conn, &record(&conversation, rec)).await;
    send(
        &app,
        &conn,
        &inbound.replace(r#""status": "started""#, r#""status": "completed""#),
    )
    .await;
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["from"], "+442079460000", "trimmed, then given its +");
    assert_eq!(call["to"], "+447700900000");
    assert_eq!(call["number_kind"], "local");
    assert_eq!(call["tenant"]["tenant_id"], "t-london");
    assert_eq!(call["state"], "completed");
    assert_eq!(call["recording"]["status"], "saved");
    app.stop().await;
}

/// A formatted number (`+44 7700 900000`, in a range the phone-number library does not know)
/// gets the same rule as bare digits, in a webhook and in the directory alike: the calls
/// match the directory entries `+447700900000` and (listed formatted) `+447700900001`.
#[tokio::test]
async fn formatted_numbers_match_the_directory() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    app.tenant("t-london", &["78799"], &["hvac"]).await;
    for n in ["+447700900000", "+44%207700%20900001"] {
        app.number(n, json!({"kind": "local", "tenant_id": "t-london"}))
            .await;
    }
    let published = published_started();
    let formatted = [
        (
            "cccccccc-bbbb-cccc-dddd-0123456789ab",
            "+44 7700 900000",
            "+447700900000",
        ),
        (
            "dddddddd-bbbb-cccc-dddd-0123456789ab",
            "44 7700 900001",
            "+447700900001",
        ),
    ];
    // Each call its own leg and conversation (`CON-` + the leg).
    for (leg, to, e164) in formatted {
        let inbound = published
            .replace("aaaaaaaa-bbbb-cccc-dddd-0123456789ab", leg)
            .replace(r#""direction": "outbound""#, r#""direction": "inbound""#)
            .replace(r#""to": "447700900000""#, &format!(r#""to": "{to}""#));
        send(&app, &conn, &inbound).await;
        let call = app.call_by_sid(leg).await;
        assert_eq!(call["to"], e164, "{to}");
        assert_eq!(call["number_kind"], "local", "{to}");
        assert_eq!(call["tenant"]["tenant_id"], "t-london", "{to}");
    }
    app.stop().await;
}
