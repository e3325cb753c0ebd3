//! The agents' rules on a call, end to end: Find Tenant never prefills, a local call moves to
//! another tenant, only the claiming agent (or a manager) changes a claimed call's tenant,
//! wrap-up keeps the last call, and a pending regional call reaches only the agents of the
//! tenants its number serves.

use crate::events::Stream;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CALLER: &str = "+15125550123";
const NATIONAL: &str = "+18005550199";
const REGIONAL: &str = "+18335550123";
const AUSTIN_LINE: &str = "+15125550100";
const TS: &str = "Mon, 23 Nov 2026 18:00:01 +0000";
const VIEW: &[&str] = &["contact_center.view"];

async fn setup() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-round-rock", &["78664"], &["hvac"]).await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    app.number(NATIONAL, json!({"kind": "national"})).await;
    app.number(
        REGIONAL,
        json!({"kind": "regional", "tenant_ids": ["t-round-rock", "t-dallas"]}),
    )
    .await;
    app.number(
        AUSTIN_LINE,
        json!({"kind": "local", "tenant_id": "t-austin"}),
    )
    .await;
    (app, conn)
}

/// A call ringing on `to`: its callgate id.
async fn ringing_call(app: &TestApp, conn: &str, sid: &str, to: &str) -> String {
    deliver_all(app, conn, &[status(sid, CALLER, to, "ringing", 0, TS)]).await;
    app.call_by_sid(sid).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn end_call(app: &TestApp, conn: &str, sid: &str, to: &str) {
    let ts = "Mon, 23 Nov 2026 18:02:00 +0000";
    deliver_all(app, conn, &[status(sid, CALLER, to, "completed", 2, ts)]).await;
}

async fn enter(app: &TestApp, token: &str, call_id: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/api/v1/calls/{call_id}/tenant");
    app.api_as(token, Method::POST, &path, Some(body)).await
}

async fn go_to_tenant(app: &TestApp, token: &str, call_id: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/calls/{call_id}/go-to-tenant");
    app.api_as(token, Method::POST, &path, None).await
}

fn prefilled(v: &Value) -> (bool, bool) {
    let pop = &v["screen_pop"];
    (
        pop["call_bubble_selected"].as_bool().unwrap(),
        pop["customer_prefilled"].as_bool().unwrap(),
    )
}

#[tokio::test]
async fn find_tenant_never_prefills_and_only_the_first_entry_does() {
    let (app, conn) = setup().await;

    // Find Tenant (the tab was closed before entering): no prefill, nor for the tenant
    // entered after it without `find`.
    let id = ringing_call(&app, &conn, "CA0000000000000000000000000000f001", NATIONAL).await;
    let (s, v) = enter(
        &app,
        TOKEN,
        &id,
        json!({"tenant_id": "t-austin", "find": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["call"]["tenant"],
        json!({"status": "selected", "tenant_id": "t-austin", "via": "agent"})
    );
    assert_eq!(prefilled(&v), (false, false));
    let (_, pop) = go_to_tenant(&app, TOKEN, &id).await;
    assert_eq!(prefilled(&pop), (false, false), "{pop}");
    let (s, v) = enter(&app, TOKEN, &id, json!({"tenant_id": "t-dallas"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        prefilled(&v),
        (false, false),
        "a second entry does not prefill"
    );

    // The first entry from the call's own prompt prefills; `find` explicitly false too.
    let id = ringing_call(&app, &conn, "CA0000000000000000000000000000f002", NATIONAL).await;
    let (s, v) = enter(
        &app,
        TOKEN,
        &id,
        json!({"tenant_id": "t-austin", "find": false}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(prefilled(&v), (true, true));
    // The same tenant found again (Find Different Tenant picked it): no prefill any more.
    let (s, v) = enter(
        &app,
        TOKEN,
        &id,
        json!({"tenant_id": "t-austin", "find": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["call"]["tenant"]["tenant_id"], "t-austin");
    assert_eq!(prefilled(&v), (false, false));
    let (_, pop) = go_to_tenant(&app, TOKEN, &id).await;
    assert_eq!(prefilled(&pop), (false, false), "{pop}");
    let audit = app
        .get(&format!("/api/v1/calls/{id}/audit"))
        .await
        .to_string();
    assert!(audit.contains(r#""entry":"found""#), "{audit}");

    // `find` must be a boolean, and nothing else is taken.
    for body in [
        json!({"tenant_id": "t-austin", "find": "yes"}),
        json!({"tenant_id": "t-austin", "find": 1}),
        json!({"tenant_id": "t-austin", "found": true}),
    ] {
        let (s, v) = enter(&app, TOKEN, &id, body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["error"]["code"], "malformed_json", "{v}");
    }
}

#[tokio::test]
async fn a_local_call_moves_to_another_tenant_and_its_recording_follows() {
    let (app, conn) = setup().await;
    // The move is not a national search: mode `none` does not stop it.
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/settings",
            Some(json!({"national_search_mode": "none"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sid = "CA0000000000000000000000000000f101";
    let id = ringing_call(&app, &conn, sid, AUSTIN_LINE).await;
    deliver_all(
        &app,
        &conn,
        &[recording(
            sid,
            "RE0000000000000000000000000000f101",
            "in-progress",
        )],
    )
    .await;
    let ana = app.user_token("ana", VIEW, &["t-austin", "t-dallas"]).await;

    // The tenant it already has, entered again: nothing changes.
    let (s, v) = enter(&app, &ana, &id, json!({"tenant_id": "t-austin"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["call"]["tenant"]["status"], "resolved");
    assert_eq!(prefilled(&v), (true, true));

    let (s, v) = enter(&app, &ana, &id, json!({"tenant_id": "t-dallas"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["call"]["tenant"],
        json!({"status": "selected", "tenant_id": "t-dallas", "via": "agent"})
    );
    assert_eq!(v["call"]["recording"]["status"], "saved");
    assert_eq!(prefilled(&v), (false, false), "a moved call never prefills");
    let rows = audit_rows(&app, &id).await;
    let moved: Vec<&(String, Option<String>, Value)> =
        rows.iter().filter(|r| r.0 == "tenant.moved").collect();
    assert_eq!(moved.len(), 1, "{rows:?}");
    assert_eq!(moved[0].1.as_deref(), Some("t-dallas"));
    assert_eq!(moved[0].2["from_tenant_id"], "t-austin");
    assert!(
        !format!("{rows:?}").contains(&CALLER[2..]),
        "no phone number in the audit"
    );

    // Kept for the tenant it was moved to, whatever comes after the end.
    end_call(&app, &conn, sid, AUSTIN_LINE).await;
    deliver_all(
        &app,
        &conn,
        &[recording(
            sid,
            "RE0000000000000000000000000000f101",
            "completed",
        )],
    )
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["tenant"]["tenant_id"], "t-dallas");
    assert_eq!(call["recording"]["status"], "saved");
    let (s, v) = enter(&app, &ana, &id, json!({"tenant_id": "t-austin"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "call_ended");
}

/// The audit rows of a call: (action, tenant, detail), oldest first.
async fn audit_rows(app: &TestApp, call_id: &str) -> Vec<(String, Option<String>, Value)> {
    let v = app.get(&format!("/api/v1/calls/{call_id}/audit")).await;
    v["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["tenant_id"].as_str().map(str::to_owned),
                e["detail"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn only_the_claiming_agent_or_a_manager_enters_a_claimed_calls_tenant() {
    let (app, conn) = setup().await;
    let tenants = &["t-austin", "t-dallas"];
    let ana = app.user_token("ana", VIEW, tenants).await;
    let bob = app.user_token("bob", VIEW, tenants).await;
    let boss = app
        .user_token("boss", &["contact_center.view", "users.manage"], tenants)
        .await;
    let id = ringing_call(&app, &conn, "CA0000000000000000000000000000f201", NATIONAL).await;

    // Unclaimed: any agent who sees it.
    let (s, v) = enter(&app, &bob, &id, json!({"tenant_id": "t-austin"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let path = format!("/api/v1/calls/{id}/claim");
    let (s, v) = app.api_as(&ana, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let (s, v) = enter(&app, &bob, &id, json!({"tenant_id": "t-dallas"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "claimed_by_another_agent");
    // Also the tenant it has, and with `find`.
    let (s, v) = enter(
        &app,
        &bob,
        &id,
        json!({"tenant_id": "t-austin", "find": true}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(
        app.call_by_sid("CA0000000000000000000000000000f201").await["tenant"]["tenant_id"],
        "t-austin"
    );
    // Go to Tenant stays open to every agent who sees the call.
    let (s, v) = go_to_tenant(&app, &bob, &id).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let (s, v) = enter(&app, &ana, &id, json!({"tenant_id": "t-dallas"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = enter(&app, &boss, &id, json!({"tenant_id": "t-austin"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["call"]["tenant"]["tenant_id"], "t-austin");
    assert_eq!(
        v["call"]["agent_id"], "ana",
        "the manager does not take the call"
    );
}

#[tokio::test]
async fn wrap_up_keeps_the_last_call_and_go_to_tenant_after_the_end() {
    let (app, conn) = setup().await;
    let ana = app.user_token("ana", VIEW, &["t-austin"]).await;
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["last_call"], Value::Null, "{hub}");

    let sid = "CA0000000000000000000000000000f301";
    let id = ringing_call(&app, &conn, sid, NATIONAL).await;
    let (s, v) = app
        .api_as(
            &ana,
            Method::POST,
            &format!("/api/v1/calls/{id}/claim"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, entered) = enter(&app, &ana, &id, json!({"tenant_id": "t-austin"})).await;
    assert_eq!(s, StatusCode::OK, "{entered}");
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"]["call_id"], id.as_str());
    assert_eq!(
        hub["last_call"],
        Value::Null,
        "the call has not ended: {hub}"
    );

    end_call(&app, &conn, sid, NATIONAL).await;
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"], Value::Null, "{hub}");
    assert_eq!(hub["last_call"], entered["screen_pop"], "{hub}");
    let (s, v) = go_to_tenant(&app, &ana, &id).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["screen_pop"]["tenant_id"], "t-austin");
    assert_eq!(
        v["screen_pop"]["tenant_url"],
        "https://t-austin.example.com/bookings"
    );
    // Another agent's hub does not show it.
    let bob = app.user_token("bob", VIEW, &["t-austin"]).await;
    assert_eq!(
        app.get_as(&bob, "/api/v1/hub").await["last_call"],
        Value::Null
    );

    // A later call that ends replaces it; one that ended without a tenant has no Go to
    // Tenant.
    let sid = "CA0000000000000000000000000000f302";
    let later = ringing_call(&app, &conn, sid, NATIONAL).await;
    let (s, v) = app
        .api_as(
            &ana,
            Method::POST,
            &format!("/api/v1/calls/{later}/claim"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    end_call(&app, &conn, sid, NATIONAL).await;
    let hub = app.get("/api/v1/hub").await;
    assert_eq!(
        hub["last_call"],
        Value::Null,
        "the bootstrap token took no call"
    );
    let (s, v) = go_to_tenant(&app, TOKEN, &later).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "no_tenant");
    // Ana no longer sees the unresolved call: her last call is not shown.
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["last_call"], Value::Null, "{hub}");
}

#[tokio::test]
async fn a_pending_regional_call_reaches_only_the_agents_of_its_tenants() {
    let (app, conn) = setup().await;
    let austin = app.user_token("austin-agent", VIEW, &["t-austin"]).await;
    let dallas = app.user_token("dallas-agent", VIEW, &["t-dallas"]).await;
    let mut austin_stream = Stream::open_as(&app, &austin, None).await;
    let mut dallas_stream = Stream::open_as(&app, &dallas, None).await;

    let regional_sid = "CA0000000000000000000000000000f401";
    let national_sid = "CA0000000000000000000000000000f402";
    let regional = ringing_call(&app, &conn, regional_sid, REGIONAL).await;
    let national = ringing_call(&app, &conn, national_sid, NATIONAL).await;

    // Live stream: the Austin agent's first event is the national call.
    let first = austin_stream.next().await;
    assert_eq!(
        first.data["call"]["provider_call_id"], national_sid,
        "{first:?}"
    );
    let first = dallas_stream.next().await;
    assert_eq!(
        first.data["call"]["provider_call_id"], regional_sid,
        "{first:?}"
    );
    dallas_stream.call_update(national_sid).await;

    // Lists, with and without a filter.
    let sids = |v: &Value| -> Vec<String> {
        v["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["provider_call_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        sids(&app.get_as(&austin, "/api/v1/calls").await),
        [national_sid]
    );
    assert_eq!(
        sids(&app.get_as(&dallas, "/api/v1/calls").await),
        [national_sid, regional_sid]
    );
    assert_eq!(sids(&app.get("/api/v1/calls").await).len(), 2);
    let by_sid = format!("/api/v1/calls?provider_call_id={regional_sid}");
    assert!(sids(&app.get_as(&austin, &by_sid).await).is_empty());

    // One call, its audit, and the actions on it: unknown to the Austin agent.
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/calls/{regional}"), None),
        (Method::GET, format!("/api/v1/calls/{regional}/audit"), None),
        (
            Method::POST,
            format!("/api/v1/calls/{regional}/claim"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/calls/{regional}/tenant"),
            Some(json!({"tenant_id": "t-austin"})),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/search?zip=75201&trade=hvac&call_id={regional}"),
            None,
        ),
    ] {
        let (s, v) = app.api_as(&austin, method, &path, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let one = app
        .get_as(&dallas, &format!("/api/v1/calls/{regional}"))
        .await;
    assert_eq!(one["tenant"]["status"], "pending");
    app.get_as(&austin, &format!("/api/v1/calls/{national}"))
        .await;

    // The console's pending list follows the same rule.
    let mut austin_console = crate::console::Visitor::new(&app);
    austin_console.sign_in(&austin).await;
    let page = austin_console.get("/console/agent").await;
    assert!(
        page.body.contains(&format!("data-call=\"{national}\""))
            && !page.body.contains(&format!("data-call=\"{regional}\"")),
        "{}",
        page.body
    );
    let mut dallas_console = crate::console::Visitor::new(&app);
    dallas_console.sign_in(&dallas).await;
    let page = dallas_console.get("/console/agent").await;
    assert!(
        page.body.contains(&format!("data-call=\"{regional}\"")),
        "{}",
        page.body
    );

    // Once entered for Dallas, it is Dallas's call, as any other.
    let (s, v) = enter(&app, &dallas, &regional, json!({"tenant_id": "t-dallas"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        sids(&app.get_as(&austin, "/api/v1/calls").await),
        [national_sid]
    );
}
