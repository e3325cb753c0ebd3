//! Telnyx end to end: a connection holding only the public key (and the API key),
//! Ed25519-signed Call Control events making the same call as Twilio's, forgeries refused, and
//! a discarded recording deleted on Telnyx's REST API with the Bearer key.

use crate::support::*;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) const API_KEY: &str = "KEYe2eTelnyxApiKey0000";
const JSON: &str = "application/json";

/// The key pair of these tests: made up from a fixed seed (never a real key).
pub(crate) fn keys() -> (String, String) {
    let key = callgate_adapters::telnyx::signature::signing_key("telnyx-e2e-seed");
    let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
    (public, "telnyx-e2e-seed".to_owned())
}

/// A Call Control event of the leg `leg`, whose session is `session-{leg}`.
pub(crate) fn event(id: &str, event_type: &str, leg: &str, to: &str, extra: Value) -> String {
    let payload = merged(
        json!({"call_control_id": format!("v3:{leg}"), "call_leg_id": leg,
        "call_session_id": format!("session-{leg}"), "from": "+15125550123", "to": to,
        "direction": "incoming"}),
        extra,
    );
    json!({"data": {"record_type": "event", "event_type": event_type, "id": id,
        "occurred_at": "2026-11-23T18:05:01.000000Z", "payload": payload}})
    .to_string()
}

async fn app_with_telnyx(api_base: &str) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = telnyx_connection(&app, api_base).await;
    (app, conn)
}

/// A Telnyx connection of `app` (the public key, the API key) whose API is at `api_base`.
pub(crate) async fn telnyx_connection(app: &TestApp, api_base: &str) -> String {
    let (public, _) = keys();
    app.connection(
        "telnyx",
        json!({"public_key": public, "api_key": API_KEY}),
        json!({"api_base_url": api_base}),
    )
    .await
}

/// Delivers `body`, signed with the test key, to the connection `conn`.
pub(crate) async fn send(app: &TestApp, conn: &str, body: &str) -> reqwest::Response {
    let (_, seed) = keys();
    app.signed_webhook(
        "telnyx",
        conn,
        JSON,
        body,
        &[("signing_key", seed.as_str())],
    )
    .await
}

/// A local call (start, answer, end, recording): the same CALL fields as Twilio's.
#[tokio::test]
async fn a_local_call_is_resolved_and_its_recording_kept() {
    let (app, conn) = app_with_telnyx("http://127.0.0.1:9").await;
    let leg = "leg-e2e-local-0001";
    for body in [
        event(
            "ev-1",
            "call.initiated",
            leg,
            AUSTIN_LOCAL,
            json!({"state": "parked"}),
        ),
        event("ev-2", "call.answered", leg, AUSTIN_LOCAL, json!({})),
        event(
            "ev-3",
            "call.recording.saved",
            leg,
            AUSTIN_LOCAL,
            json!({"recording_id": "rec-local-1", "recording_urls": {"mp3": "https://s3.example/rec-local-1.mp3"}}),
        ),
        event(
            "ev-4",
            "call.hangup",
            leg,
            AUSTIN_LOCAL,
            json!({"hangup_cause": "normal_clearing"}),
        ),
    ] {
        let res = send(&app, &conn, &body).await;
        assert_eq!(res.status(), StatusCode::OK, "{body}");
        assert_eq!(res.text().await.unwrap(), "");
    }
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["from"], "+15125550123");
    assert_eq!(call["to"], AUSTIN_LOCAL);
    assert_eq!(call["state"], "completed");
    assert_eq!(call["number_kind"], "local");
    assert_eq!(call["tenant"]["tenant_id"], "t-austin");
    assert_eq!(call["recording"]["status"], "saved");
    app.stop().await;
}

/// A national call that ends without a tenant: its recording is deleted at Telnyx with the
/// Bearer key; tampered, stale and wrongly keyed deliveries are refused with 401.
#[tokio::test]
async fn an_unresolved_recording_is_deleted_at_telnyx_and_forgeries_are_refused() {
    let rec = "rec-e2e-national-1";
    let mock = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("DELETE"))
        .and(wiremock::matchers::path(format!("/v2/recordings/{rec}")))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(json!({"data": {"id": rec}})),
        )
        .expect(1)
        .mount(&mock)
        .await;
    let (app, conn) = app_with_telnyx(&mock.uri()).await;
    let leg = "leg-e2e-national-0001";
    for body in [
        event("ev-n1", "call.initiated", leg, TOLL_FREE, json!({})),
        event(
            "ev-n2",
            "call.recording.saved",
            leg,
            TOLL_FREE,
            json!({"recording_id": rec}),
        ),
        event(
            "ev-n3",
            "call.hangup",
            leg,
            TOLL_FREE,
            json!({"hangup_cause": "normal_clearing"}),
        ),
    ] {
        assert_eq!(send(&app, &conn, &body).await.status(), StatusCode::OK);
    }
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["number_kind"], "national");
    assert_discarded(&call);
    app.audit_reaches(call["id"].as_str().unwrap(), "recording.deletion_confirmed")
        .await;

    // Forgeries.
    let body = event("ev-n4", "call.answered", leg, TOLL_FREE, json!({}));
    let (path, headers) = sign_webhook("telnyx", &conn, JSON, &body, &[("signing_key", &keys().1)]);
    let tampered = body.replace("+15125550123", "+15125550124");
    assert_invalid_signature(app.post_webhook(&path, &headers, &tampered).await).await;
    let (_, wrong) = sign_webhook(
        "telnyx",
        &conn,
        JSON,
        &body,
        &[("signing_key", "another-seed")],
    );
    assert_invalid_signature(app.post_webhook(&path, &wrong, &body).await).await;
    // The timestamp is signed: moving it breaks the signature (signing in the past is
    // refused as stale: tests/it/providers.rs).
    let moved: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            if n == "telnyx-timestamp" {
                let t: i64 = v.parse().unwrap();
                (n.clone(), (t - 600).to_string())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    assert_invalid_signature(app.post_webhook(&path, &moved, &body).await).await;
    app.stop().await;
    mock.verify().await;
}

/// `call.recording.saved` exactly as Telnyx's OpenAPI spec publishes it (sample
/// `published-call-recording-saved.http`) has no `recording_id`. It is accepted (200, not
/// 400), and when its call ends without a tenant the outbox finds the recording's id through
/// Telnyx's recordings API (`GET /v2/recordings?filter[call_leg_id]=`; the page's fields are
/// telnyx-python's `RecordingResponseData`), picks the one that started when the webhook
/// says, and deletes that one only.
#[tokio::test]
async fn a_published_recording_without_its_id_is_looked_up_then_deleted() {
    use wiremock::matchers::{header, method, path, path_regex, query_param};
    use wiremock::{Mock, ResponseTemplate};
    let leg = "428c31b6-7af4-4bcb-b7f5-5013ef9657c1";
    let bearer = format!("Bearer {API_KEY}");
    let mock = wiremock::MockServer::start().await;
    let page = json!({"data": [
        {"record_type": "recording", "id": "rec-later", "call_leg_id": leg,
         "call_session_id": leg, "recording_started_at": "2018-02-02T22:24:03.000000Z",
         "status": "completed", "channels": "single"},
        {"record_type": "recording", "id": "rec-published", "call_leg_id": leg,
         "call_session_id": leg, "recording_started_at": "2018-02-02T22:20:27.521992Z",
         "status": "completed", "channels": "single"}],
        "meta": {"page_number": 1, "page_size": 250, "total_pages": 1, "total_results": 2}});
    Mock::given(method("GET"))
        .and(path("/v2/recordings"))
        .and(query_param("filter[call_leg_id]", leg))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .expect(1)
        .mount(&mock)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/recordings/rec-published"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"id": "rec-published"}})),
        )
        .expect(1)
        .mount(&mock)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex("^/v2/recordings/"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&mock)
        .await;
    let (app, conn) = app_with_telnyx(&mock.uri()).await;
    let sample = callgate_adapters::kit::samples::HttpSample::parse(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/webhook-samples/telnyx/published-call-recording-saved.http"
        ))
        .unwrap(),
    )
    .unwrap();
    let published = String::from_utf8(sample.body).unwrap();
    for body in [
        event("ev-p1", "call.initiated", leg, TOLL_FREE, json!({})),
        published,
        event(
            "ev-p3",
            "call.hangup",
            leg,
            TOLL_FREE,
            json!({"hangup_cause": "normal_clearing"}),
        ),
    ] {
        let res = send(&app, &conn, &body).await;
        assert_eq!(res.status(), StatusCode::OK, "{body}");
    }
    let call = app.call_by_sid(leg).await;
    assert_eq!(call["number_kind"], "national");
    assert_discarded(&call);
    let id = call["id"].as_str().unwrap().to_owned();
    app.audit_reaches(&id, "recording.deletion_confirmed").await;
    let audit = app.get(&format!("/api/v1/calls/{id}/audit")).await;
    let confirmed = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "recording.deletion_confirmed")
        .unwrap()
        .clone();
    assert_eq!(
        confirmed["detail"]["provider_recording_id"],
        "rec-published"
    );
    assert_eq!(confirmed["detail"]["status"], 200);
    assert_eq!(
        confirmed["detail"]["recording_id"],
        format!("call_leg:{leg}@2018-02-02T22:20:27.521992Z")
    );
    app.stop().await;
    mock.verify().await;
}

/// The lookup of a recording reported without its id: an error answer is retried (audited
/// `recording.deletion_failed`, nothing deleted), and so is a page listing no recording of
/// the call leg, since Telnyx's list may lag the webhook; only once the job has waited 24
/// hours is the recording taken as already gone (confirmed with a 404 status and
/// `listed: false`), with no DELETE ever sent.
#[tokio::test]
async fn a_failed_or_empty_lookup_is_retried_and_a_day_unlisted_means_gone() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let leg = "5b6c7d8e-0000-4000-8000-00000000f001";
    let mock = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/recordings"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/recordings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "meta": {}})))
        .mount(&mock)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&mock)
        .await;
    let (app, conn) = app_with_telnyx(&mock.uri()).await;
    for body in [
        event("ev-f1", "call.initiated", leg, TOLL_FREE, json!({})),
        event(
            "ev-f2",
            "call.recording.saved",
            leg,
            TOLL_FREE,
            json!({"recording_started_at": "2026-11-23T18:05:02.000000Z",
                "recording_ended_at": "2026-11-23T18:05:40.000000Z"}),
        ),
        event(
            "ev-f3",
            "call.hangup",
            leg,
            TOLL_FREE,
            json!({"hangup_cause": "normal_clearing"}),
        ),
    ] {
        assert_eq!(send(&app, &conn, &body).await.status(), StatusCode::OK);
    }
    let id = app.call_by_sid(leg).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The empty listing is a failed attempt, not a confirmation.
    eventually("an empty listing retried", || async {
        audit_rows(&app, "recording.deletion_failed")
            .await
            .iter()
            .any(|(_, _, d)| d["error"].as_str().is_some_and(|e| e.contains("yet")))
    })
    .await;
    let failed = audit_rows(&app, "recording.deletion_failed").await;
    let error = failed[0].2["error"].as_str().unwrap().to_owned();
    assert!(error.contains("503") && error.contains("lookup"), "{error}");
    assert!(
        !app.audit_actions(&id)
            .await
            .iter()
            .any(|a| a == "recording.deletion_confirmed")
    );
    // A day later, still unlisted: taken as gone.
    let store = app.running.as_ref().unwrap().state.store.clone();
    store
        .write(|c| {
            c.exec(
                "UPDATE outbox SET created_at = created_at - 90000000, next_attempt_at = 0",
                &[],
            )
        })
        .await
        .unwrap();
    app.audit_reaches(&id, "recording.deletion_confirmed").await;
    let actions = app.audit_actions(&id).await;
    assert_eq!(
        actions[..3],
        [
            "recording.gated",
            "recording.discarded",
            "recording.deletion_requested",
        ]
    );
    assert_eq!(actions.last().unwrap(), "recording.deletion_confirmed");
    let confirmed = audit_rows(&app, "recording.deletion_confirmed").await;
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].2["status"], 404);
    assert_eq!(confirmed[0].2["listed"], false);
    app.stop().await;
    mock.verify().await;
}
