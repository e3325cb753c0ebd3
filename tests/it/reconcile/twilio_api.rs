//! The mock Twilio REST API the reconciler's tests talk to: the paths, the resources as
//! Twilio answers them, and the answers mounted on a wiremock server.

use crate::support::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::CALLER;

pub(super) fn calls_path(sid: &str) -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json")
}

pub(super) fn recordings_path() -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings.json")
}

pub(super) fn delete_path(rec: &str) -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{rec}.json")
}

/// The Call resource as Twilio answers it.
pub(super) fn call_resource(sid: &str, status: &str) -> Value {
    json!({
        "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "caller_name": null,
        "direction": "inbound", "from": CALLER, "to": TOLL_FREE, "parent_call_sid": null,
        "sid": sid, "status": status, "duration": "55",
        "start_time": "Mon, 23 Nov 2026 18:00:01 +0000",
        "end_time": if status == "completed" { json!("Mon, 23 Nov 2026 18:01:00 +0000") } else { Value::Null },
    })
}

/// A page of the Recordings list naming `recs` of `sid`, each `completed`.
pub(super) fn recordings_page(sid: &str, recs: &[&str]) -> Value {
    let recordings: Vec<Value> = recs
        .iter()
        .map(|rec| json!({"sid": rec, "call_sid": sid, "status": "completed", "duration": "41", "account_sid": ACCOUNT_SID}))
        .collect();
    json!({"recordings": recordings, "page": 0, "page_size": 1000, "next_page_uri": null})
}

/// The Call resource of `sid`, in `status`, answers its lookup.
pub(super) async fn answer_lookup(mock: &MockServer, sid: &str, status: &str) {
    Mock::given(method("GET"))
        .and(path(calls_path(sid)))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_resource(sid, status)))
        .mount(mock)
        .await;
}

/// The Recordings list of `sid`, naming `recs` (each completed), answers its listing.
pub(super) async fn answer_listing(mock: &MockServer, sid: &str, recs: &[&str]) {
    Mock::given(method("GET"))
        .and(path(recordings_path()))
        .and(query_param("CallSid", sid))
        .respond_with(ResponseTemplate::new(200).set_body_json(recordings_page(sid, recs)))
        .mount(mock)
        .await;
}

/// The recording `rec` must be deleted once.
pub(super) async fn expect_deletion(mock: &MockServer, rec: &str) {
    Mock::given(method("DELETE"))
        .and(path(delete_path(rec)))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(mock)
        .await;
}
