//! The standard format has no API to look a call up: its lost end is a time-out.

use super::{CALLER, app_with, audit_has, send_json, soon};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SECRET: &str = "whsec_cmVjb25jaWxlLXN0YW5kYXJkLXNlY3JldA==";

async fn send(app: &TestApp, conn: &str, body: Value) {
    send_json(app, "standard", conn, &body, &[("secret", SECRET)]).await;
}

/// A national call through the standard format whose end never comes: past the maximum call
/// duration it ends `timed_out`, unresolved, its recording discarded, and the agent who
/// claimed it is free again.
#[tokio::test]
async fn a_standard_call_whose_end_never_comes_times_out_and_frees_its_agent() {
    let app = app_with("2").await;
    app.austin_directory().await;
    let conn = app
        .connection("standard", json!({"secret": SECRET}), json!({}))
        .await;
    let ana = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let call = json!({"call_id": "pbx-lost-end-1", "from": CALLER, "to": TOLL_FREE,
        "direction": "inbound"});
    send(
        &app,
        &conn,
        merged(call.clone(), json!({"type": "call.answered"})),
    )
    .await;
    let recording = json!({"type": "recording.completed", "recording": {"id": "rec-lost-end-1"}});
    send(&app, &conn, merged(call, recording)).await;
    let id = app.call_by_sid("pbx-lost-end-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/calls/{id}/claim");
    let (s, v) = app.api_as(&ana, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The audit entry is written just after the call ends: waited for too.
    soon("the standard call timed out", || async {
        app.call_by_sid("pbx-lost-end-1").await["ended_by"] == "timed_out"
            && audit_has(&app, &id, "call.timed_out").await
    })
    .await;
    let c = app.call_by_sid("pbx-lost-end-1").await;
    assert_eq!(c["tenant"]["status"], "unresolved", "{c}");
    assert_eq!(c["recording"]["status"], "discarded", "{c}");
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"], Value::Null, "the agent is free: {hub}");
    app.stop().await;
}
