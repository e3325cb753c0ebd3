//! Erasure of a person's number: through the API, on both backends (every place it was is
//! emptied, its recordings are deleted at the provider, no answer holds it afterwards), and
//! on the embedded store down to the bytes of the data directory's files.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The person whose number is erased.
pub(crate) const PERSON: &str = "+15125550123";
/// The number's digits: every spelling of it holds them (E.164, `%2B1512…`, `1512…`).
pub(crate) const DIGITS: &str = "5125550123";
/// Someone else, whose data stays.
const OTHER: &str = "+15125550199";
const PERSON_CALL: &str = "CA30000000000000000000000000000001";
const OTHER_CALL: &str = "CA30000000000000000000000000000002";
const RECORDING: &str = "RE30000000000000000000000000000001";
/// A callback: an outbound call from Austin's local number to the person.
const CALLBACK: &str = "CA30000000000000000000000000000003";
/// The callback's agent leg.
const CALLBACK_AGENT: &str = "CA30000000000000000000000000000004";
const CALLBACK_RECORDING: &str = "RE30000000000000000000000000000003";
/// Where the subscription's outbound webhooks go: nothing listens, so they stay pending.
const SUBSCRIBER: &str = "http://127.0.0.1:9/callgate-events";

/// Twilio status callbacks of a call placed by `from` to `to` (`Direction=outbound-api`).
fn outbound(sid: &str, from: &str, to: &str) -> Vec<Vec<(&'static str, String)>> {
    let mut forms = vec![
        ringing(sid, from, to),
        status(
            sid,
            from,
            to,
            "completed",
            1,
            "Mon, 23 Nov 2026 18:03:00 +0000",
        ),
    ];
    for (name, value) in forms.iter_mut().flatten() {
        if *name == "Direction" {
            *value = "outbound-api".into();
        }
    }
    forms
}

/// A subscription to calls' outbound webhooks, whose deliveries stay pending; its id.
async fn subscribe(app: &TestApp) -> String {
    let (s, v) = app
        .api(
            Method::POST,
            "/api/v1/subscriptions",
            Some(json!({"url": SUBSCRIBER, "event_types": ["call.updated", "recording.decided"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// A subscription to outbound webhooks (its id, returned), a call from each number to
/// Austin's local number (the person's recorded), a callback from that number to the person
/// (recorded, with an agent's leg), the person as a contact, a chat customer blocked as
/// spam, and a web booking.
pub(crate) async fn seed(app: &TestApp, api_base: &str) -> String {
    let conn = app.twilio_connection(api_base).await;
    app.austin_directory().await;
    let subscription = subscribe(app).await;
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/tenants/t-austin/contacts/%2B15125550123",
            Some(json!({"name": "Jane Doe"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for (sid, from) in [(PERSON_CALL, PERSON), (OTHER_CALL, OTHER)] {
        deliver_all(
            app,
            &conn,
            &[
                ringing(sid, from, AUSTIN_LOCAL),
                status(
                    sid,
                    from,
                    AUSTIN_LOCAL,
                    "completed",
                    1,
                    "Mon, 23 Nov 2026 18:02:00 +0000",
                ),
            ],
        )
        .await;
    }
    deliver_all(app, &conn, &outbound(CALLBACK, AUSTIN_LOCAL, PERSON)).await;
    let agent = agent_leg(
        CALLBACK,
        CALLBACK_AGENT,
        "client:ana",
        "completed",
        0,
        "Mon, 23 Nov 2026 18:02:30 +0000",
    );
    deliver_all(
        app,
        &conn,
        &[
            agent,
            recording(PERSON_CALL, RECORDING, "completed"),
            recording(CALLBACK, CALLBACK_RECORDING, "completed"),
        ],
    )
    .await;
    app.inbound_chat("t-austin", "th-jane").await;
    let (s, v) = app
        .api(
            Method::POST,
            "/api/v1/chat-threads/th-jane/block-spam",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.web_booking("t-austin", "wb-jane", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    subscription
}

/// Asserts that `counts` (an erasure's, or an export's) count what [`seed`] stored of the
/// person.
pub(crate) fn assert_seeded_counts(counts: &Value) {
    for (kind, n) in [
        ("calls", 2),
        ("recordings", 2),
        ("recordings_not_deletable", 0),
        ("contacts", 1),
        ("chat_threads", 1),
        ("chat_messages", 1),
        ("chat_blocks", 1),
        ("web_bookings", 1),
    ] {
        assert_eq!(counts[kind], n, "{kind}: {counts}");
    }
    for (kind, at_least) in [
        ("events", 5),
        ("deliveries", 6),
        ("webhook_deliveries", 2),
        ("audit_entries", 1),
    ] {
        assert!(
            counts[kind].as_u64().unwrap() >= at_least,
            "{kind}: {counts}"
        );
    }
}

pub(crate) async fn erase(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.api(Method::POST, "/api/v1/privacy/erase", Some(body))
        .await
}

/// What the API answers about the tenant, its calls (their legs among them), the audit
/// trail, the recording deletions and the subscription's outbound webhooks, as one text.
async fn answers(app: &TestApp, subscription: &str) -> String {
    let mut all = String::new();
    for path in [
        "/api/v1/calls",
        "/api/v1/audit?limit=1000",
        "/api/v1/tenants/t-austin/chat-threads?state=spam",
        "/api/v1/tenants/t-austin/chat-threads",
        "/api/v1/tenants/t-austin",
        "/api/v1/hub",
        "/api/v1/recording-deletions",
        &format!("/api/v1/subscriptions/{subscription}/deliveries?limit=1000"),
    ] {
        let (s, v) = app.api(Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        all.push_str(&v.to_string());
    }
    all
}

/// The path of a recording's deletion at the Twilio mock.
fn deletion_path(recording: &str) -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording}.json")
}

#[tokio::test]
async fn erasing_a_number_leaves_it_in_no_answer_and_deletes_its_recordings() {
    let mock = MockServer::start().await;
    let deletions = [RECORDING, CALLBACK_RECORDING].map(deletion_path);
    for delete_path in &deletions {
        Mock::given(method("DELETE"))
            .and(path(delete_path.as_str()))
            .respond_with(ResponseTemplate::new(204))
            .mount(&mock)
            .await;
    }
    let app = TestApp::spawn().await;
    let subscription = seed(&app, &mock.uri()).await;
    assert!(answers(&app, &subscription).await.contains(DIGITS));
    // The callback names the person as its customer, in the call, its legs and the
    // outbound webhooks about it.
    let callback = app.call_by_sid(CALLBACK).await;
    assert_eq!(callback["direction"], "outbound", "{callback}");
    assert_eq!(callback["to"], PERSON, "{callback}");
    assert!(
        callback["legs"].to_string().contains(CALLBACK_AGENT),
        "{callback}"
    );
    let callback_id = callback["id"].as_str().unwrap().to_owned();
    let outbound_webhooks = format!("/api/v1/subscriptions/{subscription}/deliveries?limit=1000");
    let queued = app.get(&outbound_webhooks).await;
    assert!(queued.to_string().contains(&callback_id), "{queued}");

    let (s, erased) = erase(&app, json!({"number": "+1 512 555 0123"})).await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    assert_seeded_counts(&erased);

    let after = answers(&app, &subscription).await;
    assert!(!after.contains(DIGITS), "{after}");
    let (_, calls) = app.api(Method::GET, "/api/v1/calls", None).await;
    let calls = calls["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["from"], OTHER);
    for gone in [
        format!("/api/v1/calls/{callback_id}"),
        format!("/api/v1/calls?provider_call_id={CALLBACK_AGENT}"),
    ] {
        let (s, v) = app.api(Method::GET, &gone, None).await;
        assert!(
            s == StatusCode::NOT_FOUND || v["calls"] == json!([]),
            "{gone}: {s} {v}"
        );
    }
    let (_, audit) = app
        .api(Method::GET, "/api/v1/audit?action=privacy.erased", None)
        .await;
    assert_eq!(audit["audit"][0]["detail"]["calls"], 2, "{audit}");
    eventually("both recordings deleted at the provider", || async {
        let sent = mock.received_requests().await.unwrap_or_default();
        deletions.iter().all(|p| {
            sent.iter()
                .any(|r| r.method.as_str() == "DELETE" && r.url.path() == p)
        })
    })
    .await;

    let (s, again) = erase(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["calls"], 0, "{again}");
}

/// An inbound call to the erased number is not the person's (that number is the one the
/// business was dialed on): it stays, and only its outbound webhooks say `[erased]`.
#[tokio::test]
async fn an_inbound_call_to_the_number_is_not_erased() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    let subscription = subscribe(&app).await;
    let dialed = "CA30000000000000000000000000000005";
    deliver_all(&app, &conn, &[ringing(dialed, OTHER, PERSON)]).await;

    let (s, erased) = erase(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    assert_eq!(erased["calls"], 0, "{erased}");
    assert!(
        erased["webhook_deliveries"].as_u64().unwrap() >= 1,
        "{erased}"
    );
    let call = app.call_by_sid(dialed).await;
    assert_eq!(call["from"], OTHER, "{call}");
    assert_eq!(call["to"], PERSON, "{call}");
    let sent = app
        .get(&format!("/api/v1/subscriptions/{subscription}/deliveries"))
        .await;
    assert!(!sent["deliveries"].as_array().unwrap().is_empty(), "{sent}");
    let sent = sent.to_string();
    assert!(!sent.contains(DIGITS), "{sent}");
    assert!(sent.contains("[erased]"), "{sent}");
}

/// A recording at a provider with no API to delete it (Dialpad) is counted apart, for the
/// data-protection officer to ask the provider for by hand.
#[tokio::test]
async fn recordings_no_api_can_delete_are_counted_apart() {
    const SECRET: &str = "privacy-dialpad-webhook-secret";
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app
        .connection("dialpad", json!({"webhook_secret": SECRET}), json!({}))
        .await;
    for (state, extra) in [
        ("ringing", json!({})),
        (
            "recording",
            json!({"recording_id": "rec-erased-1", "recording_url": ["https://dialpad.example/r/1"]}),
        ),
        ("hangup", json!({})),
    ] {
        let mut claims = json!({"call_id": 4004, "state": state, "direction": "inbound",
            "external_number": PERSON, "internal_number": AUSTIN_LOCAL,
            "date_started": 1_795_457_100_000_u64});
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let secrets = [("webhook_secret", SECRET)];
        let res = app
            .signed_webhook(
                "dialpad",
                &conn,
                "application/jwt",
                &claims.to_string(),
                &secrets,
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(app.call_by_sid("4004").await["from"], PERSON);

    let (s, erased) = erase(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    assert_eq!(erased["calls"], 1, "{erased}");
    assert_eq!(erased["recordings_not_deletable"], 1, "{erased}");
}

/// Asserts that `path` (erasure or export) refuses anything but a number in E.164 form with
/// 422 `invalid_number`, and a token without `privacy.manage` with 403.
pub(crate) async fn assert_only_e164_and_only_privacy_managers(app: &TestApp, path: &str) {
    for body in [
        json!({"number": "5125550123"}),
        json!({"number": "+1"}),
        json!({"number": 15125550123_u64}),
        json!({}),
    ] {
        let (s, v) = app.api(Method::POST, path, Some(body.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}: {v}");
        assert_eq!(v["error"]["code"], "invalid_number", "{path} {body}: {v}");
    }
    let token = app
        .user_token("viewer", &["contact_center.view"], &[])
        .await;
    let body = Some(json!({"number": PERSON}));
    let (s, _) = app.api_as(&token, Method::POST, path, body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
}

#[tokio::test]
async fn only_a_number_in_e164_form_is_erased() {
    let app = TestApp::spawn().await;
    assert_only_e164_and_only_privacy_managers(&app, "/api/v1/privacy/erase").await;
}

/// Every file under `dir`, with its bytes.
fn files(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
}

fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    files(dir, &mut all);
    all.into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
        .map(|(path, _)| path)
        .collect()
}

#[tokio::test]
#[cfg_attr(
    callgate_test_postgres,
    ignore = "checks the embedded store's files: run without CALLGATE_TEST_POSTGRES"
)]
async fn on_the_embedded_store_no_file_keeps_a_byte_of_the_number() {
    require_embedded_store();
    let app = TestApp::spawn().await;
    seed(&app, "http://127.0.0.1:9").await;
    app.call_by_sid(CALLBACK).await;
    // Before: the number is in the files, in its spellings.
    assert!(!files_holding(app.dir.path(), DIGITS.as_bytes()).is_empty());
    assert!(!files_holding(app.dir.path(), b"%2B15125550123").is_empty());

    let (s, erased) = erase(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    for spelling in [PERSON, "%2B15125550123", "15125550123", DIGITS] {
        let holding = files_holding(app.dir.path(), spelling.as_bytes());
        assert!(holding.is_empty(), "{spelling} is still in {holding:?}");
    }
    // The other caller's data stays.
    assert!(!files_holding(app.dir.path(), b"5125550199").is_empty());
}

/// A client catching up after an erasure is not replayed the erased caller's events: what it
/// missed comes back without them.
#[tokio::test]
async fn a_catch_up_after_an_erasure_replays_none_of_the_number_s_events() {
    use crate::events::Stream;
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    let mut stream = Stream::open(&app, None).await;
    let before = "CA30000000000000000000000000000010";
    deliver_all(&app, &conn, &[ringing(before, OTHER, AUSTIN_LOCAL)]).await;
    let seen = stream.call_update(before).await;
    drop(stream);
    deliver_all(&app, &conn, &[ringing(PERSON_CALL, PERSON, AUSTIN_LOCAL)]).await;
    deliver_all(&app, &conn, &[ringing(OTHER_CALL, OTHER, AUSTIN_LOCAL)]).await;
    let (s, erased) = erase(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK, "{erased}");

    let mut stream = Stream::open(&app, seen.id.as_deref()).await;
    let first = stream.next().await;
    assert_eq!(first.event, "call.updated", "{first:?}");
    assert_eq!(
        first.data["call"]["provider_call_id"], OTHER_CALL,
        "{first:?}"
    );
    assert!(!first.data.to_string().contains(DIGITS), "{first:?}");
}
