//! Export of a person's number, on both backends: it lists every kind of data erasure finds,
//! counted as erasure counts, so that an erasure after it erases exactly what it listed.

use crate::privacy::{
    DIGITS, PERSON, assert_only_e164_and_only_privacy_managers, assert_seeded_counts, erase, seed,
};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn export(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.api(Method::POST, "/api/v1/privacy/export", Some(body))
        .await
}

/// The kinds whose every row the export lists, with the count of each.
const LISTED_KINDS: [&str; 9] = [
    "calls",
    "deliveries",
    "webhook_deliveries",
    "contacts",
    "chat_threads",
    "chat_blocks",
    "web_bookings",
    "audit_entries",
    "refusals",
];

#[tokio::test]
async fn an_export_lists_what_an_erasure_then_erases() {
    let app = TestApp::spawn().await;
    seed(&app, "http://127.0.0.1:9").await;

    let (s, exported) = export(&app, json!({"number": "+1 512 555 0123"})).await;
    assert_eq!(s, StatusCode::OK, "{exported}");
    assert_eq!(exported["number"], PERSON, "{exported}");
    assert_eq!(exported["truncated"], false, "{exported}");
    let counts = &exported["counts"];
    assert_seeded_counts(counts);
    for kind in LISTED_KINDS {
        let listed = exported[kind].as_array().unwrap().len() as u64;
        assert_eq!(Some(listed), counts[kind].as_u64(), "{kind}: {exported}");
    }
    // The number is where it is the person's: its calls (with their legs and recordings),
    // raw bodies, contact, chat, booking.
    for call in exported["calls"].as_array().unwrap() {
        assert!(call["from"] == PERSON || call["to"] == PERSON, "{call}");
        assert!(
            call["legs"].as_array().is_some_and(|l| !l.is_empty()),
            "{call}"
        );
        assert_ne!(call["recording"]["status"], "none", "{call}");
    }
    let bodies = exported["deliveries"].as_array().unwrap();
    assert!(
        bodies
            .iter()
            .any(|d| d["body"].as_str().unwrap().contains(DIGITS)),
        "{bodies:?}"
    );
    assert_eq!(exported["contacts"][0]["name"], "Jane Doe", "{exported}");
    assert_eq!(exported["web_bookings"][0]["phone"], PERSON, "{exported}");
    let thread = &exported["chat_threads"][0];
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1, "{thread}");
    assert_eq!(
        exported["chat_blocks"][0]["tenant_id"], "t-austin",
        "{exported}"
    );

    // Audited with the counts, never the number.
    let audit = app.get("/api/v1/audit?action=privacy.exported").await;
    assert_eq!(&audit["audit"][0]["detail"], counts, "{audit}");
    assert!(!audit.to_string().contains(DIGITS), "{audit}");

    let (s, erased) = erase(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    assert_eq!(
        &erased, counts,
        "what the erasure erased is what the export listed"
    );

    let (s, after) = export(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    for (kind, n) in after["counts"].as_object().unwrap() {
        assert_eq!(n, 0, "{kind}: {after}");
    }
    for kind in LISTED_KINDS.iter().chain(&["chat_messages_elsewhere"]) {
        assert_eq!(after[kind], json!([]), "{kind}: {after}");
    }
}

#[tokio::test]
async fn only_a_number_in_e164_form_is_exported_and_only_by_whom_may_manage_privacy() {
    let app = TestApp::spawn().await;
    assert_only_e164_and_only_privacy_managers(&app, "/api/v1/privacy/export").await;
    let (s, v) = export(&app, json!({"number": PERSON, "extra": 1})).await;
    assert!(s.is_client_error(), "{s} {v}");
    let audit = app.get("/api/v1/audit?action=privacy.exported").await;
    assert_eq!(audit["audit"], json!([]), "{audit}");
}

/// A frequent caller's raw deliveries are listed up to the cap, oldest first, the answer says
/// it was cut, and the counts still count every one (what an erasure would erase).
#[tokio::test]
async fn a_long_history_is_listed_up_to_the_cap_and_counted_in_full() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let over = callgate::store::export::LISTED + 1;
    let calls: Vec<_> = (0..over)
        .map(|i| ringing(&format!("CA{:032x}", 0x4000 + i), PERSON, AUSTIN_LOCAL))
        .collect();
    deliver_all(&app, &conn, &calls).await;

    let (s, exported) = export(&app, json!({"number": PERSON})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(exported["truncated"], true);
    assert_eq!(exported["counts"]["deliveries"], over as u64);
    assert_eq!(exported["counts"]["calls"], over as u64);
    let ids: Vec<i64> = exported["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), over - 1, "listed up to the cap");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
}
