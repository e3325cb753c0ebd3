//! The recording gate end to end: held until a tenant is chosen, kept for the tenant chosen
//! last before the end, discarded and deleted at the provider otherwise.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NATIONAL: &str = "+18005550199";
const REGIONAL: &str = "+18335550123";
const CALLER: &str = "+15125550123";

async fn setup(api_base: &str) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection(api_base).await;
    app.tenant("t-austin", &["78701"], &["hvac", "plumbing"])
        .await;
    app.tenant("t-round-rock", &["78701", "78664"], &["hvac"])
        .await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    app.number(NATIONAL, json!({"kind": "national"})).await;
    app.number(
        REGIONAL,
        json!({"kind": "regional", "tenant_ids": ["t-round-rock", "t-dallas"]}),
    )
    .await;
    let (s, v) = app
        .api(
            Method::PUT,
            &format!(
                "/api/v1/tenants/t-round-rock/contacts/{}",
                CALLER.replace('+', "%2B")
            ),
            Some(json!({"name": "Jane Doe"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (app, conn)
}

fn start(sid: &str, to: &str) -> Vec<Vec<(&'static str, String)>> {
    vec![
        status(
            sid,
            CALLER,
            to,
            "ringing",
            0,
            "Mon, 23 Nov 2026 18:00:01 +0000",
        ),
        status(
            sid,
            CALLER,
            to,
            "in-progress",
            1,
            "Mon, 23 Nov 2026 18:00:05 +0000",
        ),
    ]
}

fn end(sid: &str, to: &str) -> Vec<(&'static str, String)> {
    status(
        sid,
        CALLER,
        to,
        "completed",
        2,
        "Mon, 23 Nov 2026 18:01:00 +0000",
    )
}

async fn select(app: &TestApp, call_id: &str, tenant: &str) -> (StatusCode, Value) {
    app.api(
        Method::POST,
        &format!("/api/v1/calls/{call_id}/tenant"),
        Some(json!({"tenant_id": tenant})),
    )
    .await
}

async fn call_id(app: &TestApp, sid: &str) -> String {
    app.call_by_sid(sid).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A national call that has started (not ended): its id.
async fn live_national_call(app: &TestApp, conn: &str, sid: &str) -> String {
    deliver_all(app, conn, &start(sid, NATIONAL)).await;
    call_id(app, sid).await
}

async fn set_search_mode(app: &TestApp, mode: &str) {
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/settings",
            Some(json!({ "national_search_mode": mode })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn rec_url(rec: &str) -> String {
    format!("/Recordings/{rec}")
}

#[tokio::test]
async fn a_national_recording_is_gated_then_kept_for_the_tenant_chosen_last() {
    let mock = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&mock)
        .await;
    let (app, conn) = setup(&mock.uri()).await;
    let sid = "CA10000000000000000000000000000001";
    let rec = "RE10000000000000000000000000000001";
    deliver_all(&app, &conn, &start(sid, NATIONAL)).await;
    deliver_all(&app, &conn, &[recording(sid, rec, "in-progress")]).await;

    let call = app.call_by_sid(sid).await;
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(call["number_kind"], "national");
    assert_eq!(call["tenant"]["status"], "pending");
    assert_eq!(call["recording"]["status"], "gated");
    assert_eq!(call["recording"]["url"], Value::Null);
    for path in [
        "/api/v1/calls".to_owned(),
        format!("/api/v1/calls/{id}"),
        format!("/api/v1/calls/{id}/audit"),
    ] {
        let body = app.get(&path).await.to_string();
        assert!(
            !body.contains(&rec_url(rec)),
            "{path} exposes the gated recording's location"
        );
    }

    // Enter a first tenant: the call bubble is selected and the customer filled in.
    let (s, v) = select(&app, &id, "t-austin").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["call"]["tenant"],
        json!({"status": "selected", "tenant_id": "t-austin", "via": "agent"})
    );
    assert_eq!(v["screen_pop"]["call_bubble_selected"], true);
    assert_eq!(v["screen_pop"]["customer_prefilled"], true);
    assert_eq!(v["screen_pop"]["needs_tenant"], false);
    assert_eq!(
        v["screen_pop"]["tenant_url"],
        "https://t-austin.example.com/bookings"
    );
    assert_eq!(v["screen_pop"]["caller_name"], Value::Null);
    assert_eq!(v["call"]["recording"]["status"], "saved");

    // The same tenant entered again (a retry, a double click): nothing changes, the screen
    // pop is the first one's (and the audit trail below has one entry of it).
    let (s, again) = select(&app, &id, "t-austin").await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["screen_pop"], v["screen_pop"]);
    assert_eq!(again["call"]["tenant"], v["call"]["tenant"]);

    // Find a different tenant: no prefill, and the caller's name comes from its contacts.
    let (s, v) = select(&app, &id, "t-round-rock").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["call"]["tenant"]["tenant_id"], "t-round-rock");
    assert_eq!(v["screen_pop"]["call_bubble_selected"], false);
    assert_eq!(v["screen_pop"]["customer_prefilled"], false);
    assert_eq!(v["screen_pop"]["caller_name"], "Jane Doe");

    // Go to tenant re-opens the current tenant.
    let (s, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/calls/{id}/go-to-tenant"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["screen_pop"]["tenant_id"], "t-round-rock");
    assert_eq!(
        v["screen_pop"]["tenant_url"],
        "https://t-round-rock.example.com/bookings"
    );

    deliver_all(
        &app,
        &conn,
        &[end(sid, NATIONAL), recording(sid, rec, "completed")],
    )
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(
        call["tenant"],
        json!({"status": "selected", "tenant_id": "t-round-rock", "via": "agent"})
    );
    assert_eq!(call["recording"]["status"], "saved");
    assert!(
        call["recording"]["url"]
            .as_str()
            .unwrap()
            .contains(&rec_url(rec))
    );

    // After the end, no tenant can be entered.
    let (s, v) = select(&app, &id, "t-austin").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "call_ended");

    // Each decision is audited with the tenant it is for.
    let audit = app.get(&format!("/api/v1/calls/{id}/audit")).await;
    let trail: Vec<(&str, Option<&str>)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["tenant_id"].as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            ("recording.gated", None),
            ("tenant.selected", Some("t-austin")),
            ("recording.saved", Some("t-austin")),
            ("tenant.selected", Some("t-round-rock")),
            // Kept for the tenant entered last: a new decision, audited with that tenant.
            ("recording.saved", Some("t-round-rock")),
        ],
        "{audit}"
    );
    app.stop().await;
    mock.verify().await;
}

#[tokio::test]
async fn a_call_that_ends_without_a_tenant_has_its_recording_discarded_and_deleted() {
    let mock = MockServer::start().await;
    let rec = "RE20000000000000000000000000000001";
    let delete_path = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{rec}.json");
    // The provider fails twice, then deletes.
    Mock::given(method("DELETE"))
        .and(path(delete_path.as_str()))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .mount(&mock)
        .await;
    let expected_auth = callgate_adapters::kit::adapter::basic_auth(ACCOUNT_SID, AUTH_TOKEN);
    Mock::given(method("DELETE"))
        .and(path(delete_path.as_str()))
        .and(header("authorization", expected_auth.as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&mock)
        .await;
    let (app, conn) = setup(&mock.uri()).await;
    let sid = "CA20000000000000000000000000000001";
    // The recording callback comes after the end, as it usually does.
    deliver_all(&app, &conn, &start(sid, NATIONAL)).await;
    deliver_all(
        &app,
        &conn,
        &[end(sid, NATIONAL), recording(sid, rec, "completed")],
    )
    .await;

    let call = app.call_by_sid(sid).await;
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call["tenant"],
        json!({"status": "unresolved", "tenant_id": null, "via": null})
    );
    assert_eq!(call["recording"]["status"], "discarded");
    assert_eq!(call["recording"]["url"], Value::Null);
    assert!(
        !app.get("/api/v1/calls")
            .await
            .to_string()
            .contains(&rec_url(rec))
    );

    let (s, v) = select(&app, &id, "t-austin").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(v["error"]["message"].as_str().unwrap().contains("ended"));

    eventually("the deletion is confirmed", || async {
        app.audit_actions(&id)
            .await
            .iter()
            .any(|a| a == "recording.deletion_confirmed")
    })
    .await;
    let actions = app.audit_actions(&id).await;
    assert_eq!(
        actions,
        [
            "recording.discarded",
            "recording.deletion_requested",
            "recording.deletion_failed",
            "recording.deletion_failed",
            "recording.deletion_confirmed"
        ]
    );
    let audit_text = app
        .get(&format!("/api/v1/calls/{id}/audit"))
        .await
        .to_string();
    assert!(!audit_text.contains(AUTH_TOKEN));
    app.stop().await;
    mock.verify().await;
}

#[tokio::test]
async fn the_decision_does_not_depend_on_webhook_order() {
    let mock = provider_api(204).await;
    let (app, conn) = setup(&mock.uri()).await;
    // Recording completed arrives first, then the end, then the start.
    let sid = "CA30000000000000000000000000000001";
    let rec = "RE30000000000000000000000000000001";
    let mut all = vec![recording(sid, rec, "completed"), end(sid, NATIONAL)];
    all.extend(start(sid, NATIONAL));
    deliver_all(&app, &conn, &all).await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["recording"]["status"], "discarded");
    assert_eq!(call["state"], "completed");
    assert_eq!(call["tenant"]["status"], "unresolved");

    // Selected during the call, recording reported only after the end: kept.
    let sid = "CA30000000000000000000000000000002";
    let rec = "RE30000000000000000000000000000002";
    deliver_all(&app, &conn, &start(sid, NATIONAL)).await;
    let id = call_id(&app, sid).await;
    assert_eq!(select(&app, &id, "t-dallas").await.0, StatusCode::OK);
    deliver_all(
        &app,
        &conn,
        &[end(sid, NATIONAL), recording(sid, rec, "completed")],
    )
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["recording"]["status"], "saved");
    assert_eq!(call["tenant"]["tenant_id"], "t-dallas");
    app.stop().await;
}

#[tokio::test]
async fn regional_calls_search_and_select_among_their_tenants_only() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let sid = "CA40000000000000000000000000000001";
    deliver_all(&app, &conn, &start(sid, REGIONAL)).await;
    let call = app.call_by_sid(sid).await;
    let id = call["id"].as_str().unwrap();
    assert_eq!(call["number_kind"], "regional");

    let all = app.get("/api/v1/tenants/search?zip=78701&trade=hvac").await;
    let ids: Vec<&str> = all["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{all}");
    let limited = app
        .get(&format!(
            "/api/v1/tenants/search?zip=78701&trade=hvac&call_id={id}"
        ))
        .await;
    let ids: Vec<&str> = limited["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["t-round-rock"]);

    let (s, v) = select(&app, id, "t-austin").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = select(&app, id, "t-nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = select(&app, id, "t-round-rock").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["screen_pop"]["caller_name"], "Jane Doe");
    app.stop().await;
}

#[tokio::test]
async fn search_follows_the_network_setting() {
    let (app, _conn) = setup("http://127.0.0.1:9").await;
    let settings = app.get("/api/v1/settings").await;
    assert_eq!(settings["national_search_mode"], "zip_and_trade");

    let (s, v) = app
        .api(Method::GET, "/api/v1/tenants/search?zip=78701", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "trade is required: {v}");
    let v = app
        .get("/api/v1/tenants/search?zip=78701&trade=plumbing")
        .await;
    assert_eq!(v["tenants"].as_array().unwrap().len(), 1);

    set_search_mode(&app, "zip_only").await;
    let v = app
        .get("/api/v1/tenants/search?zip=78701&trade=plumbing")
        .await;
    assert_eq!(
        v["tenants"].as_array().unwrap().len(),
        2,
        "trade is ignored in zip_only: {v}"
    );
    let (s, _) = app
        .api(Method::GET, "/api/v1/tenants/search?trade=hvac", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    set_search_mode(&app, "none").await;
    let (s, v) = app
        .api(
            Method::GET,
            "/api/v1/tenants/search?zip=78701&trade=hvac",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "search_disabled");

    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/settings",
            Some(json!({"national_search_mode": "zip_and_phase_of_moon"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn an_agent_has_one_active_call_which_ends_with_the_call() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let (a, b) = (
        "CA50000000000000000000000000000001",
        "CA50000000000000000000000000000002",
    );
    let id_a = live_national_call(&app, &conn, a).await;
    let id_b = live_national_call(&app, &conn, b).await;
    let (s, v) = app
        .api(Method::POST, &format!("/api/v1/calls/{id_a}/claim"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["call"]["agent_id"], "bootstrap");
    assert_eq!(v["screen_pop"]["from"], CALLER);
    assert_eq!(v["screen_pop"]["needs_tenant"], true);
    assert_eq!(v["screen_pop"]["tenant_url"], Value::Null);
    let (s, v) = app
        .api(Method::POST, &format!("/api/v1/calls/{id_b}/claim"), None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "agent_busy", "{v}");
    let (s, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/calls/{id_a}/go-to-tenant"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "no tenant yet: {v}");
    deliver_all(&app, &conn, &[end(a, NATIONAL)]).await;
    let (s, v) = app
        .api(Method::POST, &format!("/api/v1/calls/{id_b}/claim"), None)
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the first call ended, so the agent is free: {v}"
    );

    // Two claims at once, of two calls: one wins, the other is refused.
    deliver_all(&app, &conn, &[end(b, NATIONAL)]).await;
    let (c, d) = (
        "CA50000000000000000000000000000003",
        "CA50000000000000000000000000000004",
    );
    let id_c = live_national_call(&app, &conn, c).await;
    let id_d = live_national_call(&app, &conn, d).await;
    let (path_c, path_d) = (
        format!("/api/v1/calls/{id_c}/claim"),
        format!("/api/v1/calls/{id_d}/claim"),
    );
    let ((s_c, v_c), (s_d, v_d)) = tokio::join!(
        app.api(Method::POST, &path_c, None),
        app.api(Method::POST, &path_d, None)
    );
    let mut statuses = [s_c, s_d];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{v_c} {v_d}"
    );
    let refused = if s_c == StatusCode::CONFLICT {
        v_c
    } else {
        v_d
    };
    assert_eq!(refused["error"]["code"], "agent_busy", "{refused}");
    app.stop().await;
}

/// An agent's active call moved to a tenant they do not see (a manager entered another
/// tenant for it) is no longer theirs: their hub shows none, and they may claim another.
#[tokio::test]
async fn an_active_call_moved_out_of_the_agents_tenants_no_longer_keeps_them_busy() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let ana = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let (a, b) = (
        "CA50000000000000000000000000000011",
        "CA50000000000000000000000000000012",
    );
    let id_a = live_national_call(&app, &conn, a).await;
    let id_b = live_national_call(&app, &conn, b).await;
    let claim = |id: &str| {
        let path = format!("/api/v1/calls/{id}/claim");
        let app = &app;
        let ana = ana.clone();
        async move { app.api_as(&ana, Method::POST, &path, None).await }
    };
    let (s, v) = claim(&id_a).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = claim(&id_b).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "agent_busy", "{v}");

    let (s, v) = select(&app, &id_a, "t-round-rock").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"], Value::Null, "{hub}");
    let (s, v) = claim(&id_b).await;
    assert_eq!(s, StatusCode::OK, "no longer busy: {v}");
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"]["call_id"], id_b, "{hub}");
    app.stop().await;
}

/// A deletion the provider keeps refusing is still pending after a restart, and done once
/// the provider accepts it.
#[tokio::test]
async fn pending_deletions_survive_a_restart() {
    let failing = provider_api(503).await;
    let (app, conn) = setup(&failing.uri()).await;
    let sid = "CA60000000000000000000000000000009";
    let rec = "RE60000000000000000000000000000009";
    deliver_all(&app, &conn, &start(sid, NATIONAL)).await;
    deliver_all(
        &app,
        &conn,
        &[end(sid, NATIONAL), recording(sid, rec, "completed")],
    )
    .await;
    let id = call_id(&app, sid).await;
    eventually("a failed attempt", || async {
        app.audit_actions(&id)
            .await
            .iter()
            .any(|a| a == "recording.deletion_failed")
    })
    .await;

    // The provider recovers while callgate is down; the connection is pointed at it.
    let working = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&working)
        .await;
    let dir = app.stop_keeping_store().await;
    let app = TestApp::spawn_in(dir).await;
    let store = app.running.as_ref().unwrap().state.store.clone();
    let (uri, c) = (working.uri(), conn.clone());
    store
        .write(move |db| {
            db.exec(
                "UPDATE connections SET options = ?1 WHERE id = ?2",
                callgate::store::db::args![json!({"api_base_url": uri}).to_string(), c],
            )?;
            Ok::<_, callgate::store::StoreError>(())
        })
        .await
        .unwrap();
    eventually("the deletion is confirmed after the restart", || async {
        app.audit_actions(&id)
            .await
            .iter()
            .any(|a| a == "recording.deletion_confirmed")
    })
    .await;
    app.stop().await;
    working.verify().await;
}

/// The call's first webhook arrives last and names a tenant's local number: the recording,
/// discarded until then, is kept after all, and its deletion (still failing at the
/// provider) is called off and audited, and the job closed; discarded once more, the
/// recording's deletion is queued again.
#[tokio::test]
async fn a_late_first_webhook_naming_a_local_number_calls_off_the_deletion() {
    let failing = provider_api(503).await;
    let (app, conn) = setup(&failing.uri()).await;
    let local = "+15125550188";
    app.number(local, json!({"kind": "local", "tenant_id": "t-austin"}))
        .await;
    let sid = "CA60000000000000000000000000000010";
    let rec = "RE60000000000000000000000000000010";
    deliver_all(
        &app,
        &conn,
        &[end(sid, NATIONAL), recording(sid, rec, "completed")],
    )
    .await;
    let id = call_id(&app, sid).await;
    assert_eq!(
        app.call_by_sid(sid).await["recording"]["status"],
        "discarded"
    );
    eventually("a failed deletion attempt", || async {
        app.audit_actions(&id)
            .await
            .iter()
            .any(|a| a == "recording.deletion_failed")
    })
    .await;

    // The earlier webhooks, with the number the caller dialed.
    deliver_all(&app, &conn, &start(sid, local)).await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["tenant"]["status"], "resolved", "{call}");
    assert_eq!(call["tenant"]["tenant_id"], "t-austin");
    assert_eq!(call["recording"]["status"], "saved", "{call}");
    let actions = app.audit_actions(&id).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "recording.deletion_cancelled")
            .count(),
        1,
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "recording.saved"),
        "{actions:?}"
    );

    let store = app.running.as_ref().unwrap().state.store.clone();
    let pending: i64 = store
        .read(|db| {
            db.query_one(
                "SELECT COUNT(*) FROM outbox WHERE done_at IS NULL",
                callgate::store::db::args![],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(pending, 0, "the worker claims only jobs not done");

    // An even earlier webhook names the national number again: discarded again, and the
    // deletion queued again.
    let queued = status(
        sid,
        CALLER,
        NATIONAL,
        "queued",
        0,
        "Mon, 23 Nov 2026 17:59:59 +0000",
    );
    deliver_all(&app, &conn, &[queued]).await;
    assert_eq!(
        app.call_by_sid(sid).await["recording"]["status"],
        "discarded"
    );
    let actions = app.audit_actions(&id).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "recording.deletion_requested")
            .count(),
        2,
        "{actions:?}"
    );
    app.stop().await;
}

/// One national call as an agent lives it: claim, search, enter a tenant, find a different
/// one, go to it, the call ends — the screen pop and the recording at each step, then the
/// audit trail with who did what.
#[tokio::test]
async fn an_agent_walks_a_national_call_from_claim_to_its_end() {
    let mock = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&mock)
        .await;
    let (app, conn) = setup(&mock.uri()).await;
    let ana = app
        .user_token(
            "ana",
            &["contact_center.view"],
            &["t-austin", "t-round-rock"],
        )
        .await;
    let as_ana = |m: Method, path: String, body: Option<Value>| {
        let app = &app;
        let ana = ana.clone();
        async move { app.api_as(&ana, m, &path, body).await }
    };
    let sid = "CA10000000000000000000000000000009";
    let rec = "RE10000000000000000000000000000009";
    deliver_all(&app, &conn, &start(sid, NATIONAL)).await;
    deliver_all(&app, &conn, &[recording(sid, rec, "in-progress")]).await;
    let id = call_id(&app, sid).await;

    // Claim: the screen pop asks for a tenant; the recording is held.
    let (s, v) = as_ana(Method::POST, format!("/api/v1/calls/{id}/claim"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pop = &v["screen_pop"];
    assert_eq!(pop["from"], CALLER);
    assert_eq!(pop["needs_tenant"], true);
    assert_eq!(pop["tenant_id"], Value::Null);
    assert_eq!(pop["tenant_url"], Value::Null);
    assert_eq!(v["call"]["agent_id"], "ana");
    assert_eq!(v["call"]["recording"]["status"], "gated");
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"]["call_id"], id.as_str(), "{hub}");

    // Search by ZIP and trade: Ana's tenants only (t-dallas is not hers, nor in 78701).
    let (s, v) = as_ana(
        Method::GET,
        format!("/api/v1/tenants/search?zip=78701&trade=hvac&call_id={id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut found: Vec<&str> = v["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap())
        .collect();
    found.sort_unstable();
    assert_eq!(found, ["t-austin", "t-round-rock"]);

    // Enter the first tenant: bubble selected, customer prefilled, recording kept.
    let (s, v) = as_ana(
        Method::POST,
        format!("/api/v1/calls/{id}/tenant"),
        Some(json!({"tenant_id": "t-austin"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pop = &v["screen_pop"];
    assert_eq!(pop["needs_tenant"], false);
    assert_eq!(pop["tenant_id"], "t-austin");
    assert_eq!(pop["tenant_url"], "https://t-austin.example.com/bookings");
    assert_eq!(pop["call_bubble_selected"], true);
    assert_eq!(pop["customer_prefilled"], true);
    assert_eq!(v["call"]["recording"]["status"], "saved");

    // Find a different tenant: neither bubble nor prefill; the caller's name from its contacts.
    let (s, v) = as_ana(
        Method::POST,
        format!("/api/v1/calls/{id}/tenant"),
        Some(json!({"tenant_id": "t-round-rock"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pop = &v["screen_pop"];
    assert_eq!(pop["tenant_id"], "t-round-rock");
    assert_eq!(pop["call_bubble_selected"], false);
    assert_eq!(pop["customer_prefilled"], false);
    assert_eq!(pop["caller_name"], "Jane Doe");
    assert_eq!(v["call"]["recording"]["status"], "saved");

    // Go to tenant: the current tenant's page again.
    let (s, v) = as_ana(
        Method::POST,
        format!("/api/v1/calls/{id}/go-to-tenant"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["screen_pop"]["tenant_url"],
        "https://t-round-rock.example.com/bookings"
    );

    // The call ends: the active call is released, the recording stays with the last tenant.
    deliver_all(
        &app,
        &conn,
        &[end(sid, NATIONAL), recording(sid, rec, "completed")],
    )
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["state"], "completed");
    assert_eq!(call["tenant"]["tenant_id"], "t-round-rock");
    assert_eq!(call["recording"]["status"], "saved");
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"], Value::Null, "{hub}");

    // The audit trail: who did what, in order.
    let audit = app.get(&format!("/api/v1/calls/{id}/audit")).await;
    let trail: Vec<(String, String)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_owned(),
                a["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("recording.gated", "system"),
        ("call.claimed", "ana"),
        ("tenant.selected", "ana"),
        ("recording.saved", "ana"),
        ("tenant.selected", "ana"),
        ("recording.saved", "ana"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(trail, expected);
    app.stop().await;
    mock.verify().await;
}

/// Mode `none`: national calls are not resolved by an agent either; they end `unresolved`
/// and their recordings are discarded.
#[tokio::test]
async fn in_mode_none_national_calls_end_unresolved() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    set_search_mode(&app, "none").await;
    let sid = "CA20000000000000000000000000000n01";
    let rec = "RE20000000000000000000000000000n01";
    deliver_all(&app, &conn, &start(sid, NATIONAL)).await;
    deliver_all(&app, &conn, &[recording(sid, rec, "in-progress")]).await;
    let id = call_id(&app, sid).await;
    let (s, v) = select(&app, &id, "t-austin").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "tenant_selection_disabled");
    deliver_all(
        &app,
        &conn,
        &[end(sid, NATIONAL), recording(sid, rec, "completed")],
    )
    .await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["tenant"]["status"], "unresolved");
    assert_eq!(call["recording"]["status"], "discarded");
    app.stop().await;
}

/// A local call's screen pop: the tenant known at once, its booking page, the call bubble
/// selected and the customer prefilled, the caller named from the tenant's contacts.
#[tokio::test]
async fn a_local_call_pops_its_tenant_with_bubble_prefill_and_contact_name() {
    let (app, conn) = setup("http://127.0.0.1:9").await;
    let local = "+15125550177";
    app.number(local, json!({"kind": "local", "tenant_id": "t-round-rock"}))
        .await;
    let sid = "CA70000000000000000000000000000001";
    deliver_all(&app, &conn, &start(sid, local)).await;
    let id = call_id(&app, sid).await;
    let (s, v) = app
        .api(Method::POST, &format!("/api/v1/calls/{id}/claim"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["screen_pop"],
        json!({
            "call_id": id,
            "from": CALLER,
            "caller_name": "Jane Doe",
            "tenant_id": "t-round-rock",
            "needs_tenant": false,
            "tenant_url": "https://t-round-rock.example.com/bookings",
            "call_bubble_selected": true,
            "customer_prefilled": true,
        })
    );
    assert_eq!(
        v["call"]["tenant"],
        json!({"status": "resolved", "tenant_id": "t-round-rock", "via": "local_number"})
    );
    // Go to tenant shows the same page; the hub shows the same pop.
    let (s, again) = app
        .api(
            Method::POST,
            &format!("/api/v1/calls/{id}/go-to-tenant"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["screen_pop"], v["screen_pop"]);
    assert_eq!(app.get("/api/v1/hub").await["active_call"], v["screen_pop"]);
    app.stop().await;
}

/// Under the default egress policy a provider URL at a private address is never called with
/// the provider's credentials: not one stored before the policy applied, written as an
/// address, nor one whose name resolves to loopback. The deletion fails (audited, retried)
/// and the provider mock hears nothing.
#[tokio::test]
async fn a_provider_url_at_a_private_address_gets_no_request_by_default() {
    let mock = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&mock)
        .await;
    // Configured under the test setting, which allows loopback.
    let (app, by_address) = setup(&mock.uri()).await;
    let port = mock.address().port();
    let by_name = app
        .twilio_connection(&format!("http://localhost:{port}"))
        .await;
    let dir = app.stop_keeping_store().await;
    let app = TestApp::spawn_configured_in(dir, &[STRICT_EGRESS]).await;
    for (conn, sid, rec) in [
        (
            &by_address,
            "CA71000000000000000000000000000001",
            "RE71000000000000000000000000000001",
        ),
        (
            &by_name,
            "CA71000000000000000000000000000002",
            "RE71000000000000000000000000000002",
        ),
    ] {
        deliver_all(&app, conn, &start(sid, NATIONAL)).await;
        deliver_all(
            &app,
            conn,
            &[end(sid, NATIONAL), recording(sid, rec, "completed")],
        )
        .await;
        eventually("a refused deletion attempt", || async {
            audit_rows(&app, "recording.deletion_failed")
                .await
                .iter()
                .any(|(_, _, d)| d["recording_id"] == rec)
        })
        .await;
        let failed = audit_rows(&app, "recording.deletion_failed").await;
        let (_, _, detail) = failed
            .iter()
            .find(|(_, _, d)| d["recording_id"] == rec)
            .unwrap();
        let error = detail["error"].as_str().unwrap();
        assert!(
            error.contains("refused") && error.contains("not allowed"),
            "{rec}: {error}"
        );
    }
    app.stop().await;
    mock.verify().await;
}
