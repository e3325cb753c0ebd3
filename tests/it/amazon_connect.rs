//! Amazon Connect end to end: contact events with the API-key header make the same call as
//! Twilio's, the numbers coming from the flow's contact attributes; a wrong key is refused.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const KEY: &str = "e2e-eventbridge-api-key";

fn contact_event(id: &str, event_type: &str, contact: &str, extra: Value) -> String {
    let detail = merged(
        json!({"eventType": event_type, "contactId": contact,
        "initialContactId": contact, "channel": "VOICE", "initiationMethod": "INBOUND"}),
        extra,
    );
    json!({"version": "0", "id": id, "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect", "time": "2026-11-23T18:05:01Z", "detail": detail})
    .to_string()
}

#[tokio::test]
async fn a_contact_makes_the_same_call_as_twilio_and_a_wrong_key_is_refused() {
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app
        .connection("amazon_connect", json!({"api_key": KEY}), json!({}))
        .await;
    for (contact, to, kind, tenant) in [
        ("contact-local-1", AUSTIN_LOCAL, "local", Some("t-austin")),
        ("contact-national-1", TOLL_FREE, "national", None),
    ] {
        let attributes =
            json!({"attributes": {"callgate_from": "+15125550123", "callgate_to": to}});
        for (i, (event_type, extra)) in [
            ("INITIATED", json!({})),
            ("CONTACT_DATA_UPDATED", attributes),
            ("CONNECTED_TO_SYSTEM", json!({})),
            ("DISCONNECTED", json!({})),
        ]
        .into_iter()
        .enumerate()
        {
            let body = contact_event(&format!("{contact}-ev{i}"), event_type, contact, extra);
            let res = app
                .signed_webhook(
                    "amazon_connect",
                    &conn,
                    "application/json",
                    &body,
                    &[("api_key", KEY)],
                )
                .await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "{body}");
        }
        let call = app.call_by_sid(contact).await;
        assert_eq!(call["from"], "+15125550123");
        assert_eq!(call["to"], to);
        assert_eq!(call["state"], "completed");
        assert_eq!(call["number_kind"], kind);
        match tenant {
            Some(t) => assert_eq!(call["tenant"]["tenant_id"], t),
            None => assert_eq!(call["tenant"]["status"], "unresolved"),
        }
    }
    let body = contact_event("forged-1", "INITIATED", "contact-forged", json!({}));
    let wrong = app
        .signed_webhook(
            "amazon_connect",
            &conn,
            "application/json",
            &body,
            &[("api_key", "guessed")],
        )
        .await;
    assert_invalid_signature(wrong).await;
    app.stop().await;
}
