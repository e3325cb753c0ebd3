//! Erasure of a person's number: through the API, on both backends (every place it was is
//! emptied, its recordings are deleted at the provider, no answer holds it afterwards), and
//! on the embedded store down to the bytes of the data directory's files.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The person whose number is erased.
const PERSON: &str = "+15125550123";
/// The number's digits: every spelling of it holds them (E.164, `%2B1512…`, `1512…`).
const DIGITS: &str = "5125550123";
/// Someone else, whose data stays.
const OTHER: &str = "+15125550199";
const PERSON_CALL: &str = "CA30000000000000000000000000000001";
const OTHER_CALL: &str = "CA30000000000000000000000000000002";
const RECORDING: &str = "RE30000000000000000000000000000001";

/// A call from each number to Austin's local number (the person's recorded), the person as
/// a contact, a chat customer blocked as spam, and a web booking.
async fn seed(app: &TestApp, api_base: &str) {
    let conn = app.twilio_connection(api_base).await;
    app.austin_directory().await;
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
    deliver_all(
        app,
        &conn,
        &[recording(PERSON_CALL, RECORDING, "completed")],
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
}

async fn erase(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.api(Method::POST, "/api/v1/privacy/erase", Some(body))
        .await
}

/// What the API answers about the tenant, its calls and the audit trail, as one text.
async fn answers(app: &TestApp) -> String {
    let mut all = String::new();
    for path in [
        "/api/v1/calls",
        "/api/v1/audit?limit=1000",
        "/api/v1/tenants/t-austin/chat-threads?state=spam",
        "/api/v1/tenants/t-austin/chat-threads",
        "/api/v1/tenants/t-austin",
        "/api/v1/hub",
    ] {
        let (s, v) = app.api(Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        all.push_str(&v.to_string());
    }
    all
}

#[tokio::test]
async fn erasing_a_number_leaves_it_in_no_answer_and_deletes_its_recordings() {
    let mock = MockServer::start().await;
    let delete_path = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING}.json");
    Mock::given(method("DELETE"))
        .and(path(delete_path.as_str()))
        .respond_with(ResponseTemplate::new(204))
        .mount(&mock)
        .await;
    let app = TestApp::spawn().await;
    seed(&app, &mock.uri()).await;
    assert!(answers(&app).await.contains(DIGITS));

    let (s, erased) = erase(&app, json!({"number": "+1 512 555 0123"})).await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    for (kind, n) in [
        ("calls", 1),
        ("recordings", 1),
        ("contacts", 1),
        ("chat_threads", 1),
        ("chat_messages", 1),
        ("chat_blocks", 1),
        ("web_bookings", 1),
    ] {
        assert_eq!(erased[kind], n, "{kind}: {erased}");
    }
    assert!(erased["events"].as_u64().unwrap() >= 2, "{erased}");
    assert!(erased["deliveries"].as_u64().unwrap() >= 3, "{erased}");
    assert!(erased["audit_entries"].as_u64().unwrap() >= 1, "{erased}");

    let after = answers(&app).await;
    assert!(!after.contains(DIGITS), "{after}");
    let (_, calls) = app.api(Method::GET, "/api/v1/calls", None).await;
    let calls = calls["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["from"], OTHER);
    let (_, audit) = app
        .api(Method::GET, "/api/v1/audit?action=privacy.erased", None)
        .await;
    assert_eq!(audit["audit"][0]["detail"]["calls"], 1, "{audit}");
    eventually("the recording deleted at the provider", || async {
        mock.received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .any(|r| r.method.as_str() == "DELETE" && r.url.path() == delete_path)
    })
    .await;

    let (s, again) = erase(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["calls"], 0, "{again}");
}

#[tokio::test]
async fn only_a_number_in_e164_form_is_erased() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"number": "5125550123"}),
        json!({"number": "+1"}),
        json!({"number": 15125550123_u64}),
        json!({}),
    ] {
        let (s, v) = erase(&app, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["code"], "invalid_number", "{body}: {v}");
    }
    let token = app
        .user_token("viewer", &["contact_center.view"], &[])
        .await;
    let (s, _) = app
        .api_as(
            &token,
            Method::POST,
            "/api/v1/privacy/erase",
            Some(json!({"number": PERSON})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
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
