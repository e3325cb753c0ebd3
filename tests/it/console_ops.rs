//! The console's Ops page: connections created from each provider's own fields, the webhook
//! URL with where it goes, rotation, enable and disable, and a connection's refusals shown
//! with their reason and the URL checked, every value escaped and no secret ever rendered.

use crate::console::Visitor;
use crate::refusals::refusals_reach;
use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_ops_pages_need_connections_manage() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let agent = app.user_token("ana", &["contact_center.view"], &[]).await;
    let mut v = Visitor::new(&app);
    v.sign_in(&agent).await;
    for path in [
        "/console/ops".to_owned(),
        format!("/console/ops/connections/{conn}"),
    ] {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
    }
    let agent_page = v.get("/console/agent").await;
    assert!(!agent_page.body.contains("/console/ops"), "not in her bar");
    let csrf = agent_page.hidden("csrf");
    let res = v
        .post(
            "/console/ops/connections",
            &[
                ("csrf", &csrf),
                ("provider", "twilio"),
                ("name", "x"),
                ("secret:auth_token", "t"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = v
        .post(
            &format!("/console/ops/connections/{conn}/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/api/v1/connections/{conn}")).await["enabled"],
        true
    );
    app.stop().await;
}

/// A Twilio connection from the page's form: its URL is shown with where it goes, its secret
/// never; a refused webhook then shows on its page with the reason and the URL checked, its
/// body as text.
#[tokio::test]
async fn ops_create_a_connection_and_see_why_a_webhook_was_refused() {
    let app = TestApp::spawn().await;
    let ops = app.user_token("olga", &["connections.manage"], &[]).await;
    let mut v = Visitor::new(&app);
    v.sign_in(&ops).await;
    let page = v.get("/console/ops").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("No connections yet"), "{}", page.body);
    assert!(
        page.body.contains("No webhook was refused for naming"),
        "{}",
        page.body
    );
    // Every provider's form, with its own secret and option names.
    for a in callgate_adapters::ADAPTERS {
        let info = a.info();
        for name in info.secret_names() {
            let field = format!("name=\"secret:{name}\"");
            assert!(page.body.contains(&field), "{}: {field}", info.id);
        }
        for o in info.options {
            assert!(page.body.contains(&format!("name=\"option:{}\"", o.name)));
        }
    }
    let csrf = page.hidden("csrf");
    let secret = "twilio-auth-token-from-form";
    let forged = v
        .post(
            "/console/ops/connections",
            &[
                ("csrf", "nope"),
                ("provider", "twilio"),
                ("name", "Main"),
                ("secret:auth_token", secret),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = v
        .post(
            "/console/ops/connections",
            &[("csrf", &csrf), ("provider", "twilio"), ("name", "Main")],
        )
        .await;
    assert!(missing.status.is_client_error(), "{}", missing.status);
    assert!(
        missing.body.contains("Nothing was changed"),
        "{}",
        missing.body
    );
    assert!(missing.body.contains("auth_token"), "{}", missing.body);

    let created = v
        .post(
            "/console/ops/connections",
            &[
                ("csrf", &csrf),
                ("provider", "twilio"),
                ("name", "Main <b>account</b>"),
                ("secret:auth_token", secret),
                ("secret:account_sid", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let list = app.get("/api/v1/connections").await;
    let conn = list["connections"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        list["connections"][0]["secret_names"],
        serde_json::json!(["auth_token"])
    );
    let page = v.get(created.location()).await;
    let url = format!("{PUBLIC}/webhooks/twilio/{conn}");
    assert!(
        page.body.contains(&format!("value=\"{url}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("data-copy=\"url-"), "a copy button");
    assert!(
        page.body.contains("A call comes in"),
        "where it goes: {}",
        page.body
    );
    assert!(
        page.body.contains("Main &#60;b&#62;account&#60;/b&#62;")
            || page.body.contains("Main &lt;b&gt;account&lt;/b&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<b>account"), "escaped");
    assert!(!page.body.contains(secret), "no secret");

    // A webhook signed over another URL, with a script in its body.
    let body = form(&[
        ("CallSid", "CA01"),
        ("CallerName", "<script>alert(1)</script>"),
    ]);
    let signature = twilio_signature("http://10.0.0.5/hook", &body, secret);
    let res = app
        .raw_webhook(
            "twilio",
            &conn,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-twilio-signature", &signature),
            ],
            &body,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    refusals_reach(&app, &conn, 1).await;
    let page = v.get(&format!("/console/ops/connections/{conn}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("The signature was not accepted"),
        "{}",
        page.body
    );
    assert!(page.body.contains("bad_signature"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("<code class=\"url\">{url}</code>")),
        "{}",
        page.body
    );
    assert!(page.body.contains("CALLGATE_PUBLIC_URL"), "the hint");
    assert!(
        !page.body.contains("<script>alert"),
        "the body as text: {}",
        page.body
    );
    assert!(page.body.contains("%3Cscript%3Ealert"), "{}", page.body);
    assert!(!page.body.contains(&signature), "no header value");
    assert!(!page.body.contains(secret), "no secret");
    app.stop().await;
}

/// A body prefix with markup renders as text, not as markup.
#[tokio::test]
async fn a_script_in_a_refused_body_renders_as_text() {
    let app = TestApp::spawn().await;
    let conn = app
        .connection(
            "standard",
            serde_json::json!({"secret": "s3cret-standard"}),
            serde_json::json!({}),
        )
        .await;
    let res = app
        .raw_webhook(
            "standard",
            &conn,
            &[("content-type", "application/json")],
            "{\"caller_name\": \"<script>alert(2)</script>\"}",
        )
        .await;
    assert!(res.status().is_client_error());
    refusals_reach(&app, &conn, 1).await;
    let ops = app.user_token("olga", &["connections.manage"], &[]).await;
    let mut v = Visitor::new(&app);
    v.sign_in(&ops).await;
    let page = v.get(&format!("/console/ops/connections/{conn}")).await;
    assert!(!page.body.contains("<script>alert(2)"), "{}", page.body);
    assert!(
        page.body.contains("alert(2)"),
        "shown as text: {}",
        page.body
    );
    app.stop().await;
}

/// Rotation keeps the previous secret for the grace period; disable and enable change what
/// the webhook path accepts.
#[tokio::test]
async fn ops_rotate_disable_and_enable_a_connection() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let ops = app.user_token("olga", &["connections.manage"], &[]).await;
    let mut v = Visitor::new(&app);
    v.sign_in(&ops).await;
    let page = v.get(&format!("/console/ops/connections/{conn}")).await;
    assert!(
        page.body
            .contains("No webhook of this connection was refused")
    );
    assert!(page.body.contains("Nothing accepted yet"));
    let csrf = page.hidden("csrf");
    let bad = v
        .post(
            &format!("/console/ops/connections/{conn}/rotate"),
            &[
                ("csrf", &csrf),
                ("secret:auth_token", "new-token"),
                ("grace_hours", "soon"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let rotated = v
        .post(
            &format!("/console/ops/connections/{conn}/rotate"),
            &[
                ("csrf", &csrf),
                ("secret:auth_token", "new-token"),
                ("grace_hours", "2"),
            ],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
    let page = v.get(rotated.location()).await;
    assert!(
        page.body.contains("The secrets were rotated"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("previous secrets are accepted until"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("new-token"));
    let ring = ringing(
        "CA0000000000000000000000000000bb",
        "+15125550111",
        "+15125550100",
    );
    assert!(
        app.twilio_signed(&conn, &pairs(&ring), "new-token")
            .await
            .status()
            .is_success()
    );
    assert!(
        app.twilio(&conn, &pairs(&ring)).await.status().is_success(),
        "the old one, in grace"
    );

    let disabled = v
        .post(
            &format!("/console/ops/connections/{conn}/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/v1/connections/{conn}")).await["enabled"],
        false
    );
    assert_eq!(
        app.twilio_signed(&conn, &pairs(&ring), "new-token")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let page = v.get(&format!("/console/ops/connections/{conn}")).await;
    assert!(
        page.body.contains("The connection is disabled"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Recent deliveries"));
    assert!(page.body.contains(&format!("/webhooks/twilio/{conn}")));
    let enabled = v
        .post(
            &format!("/console/ops/connections/{conn}/enable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/v1/connections/{conn}")).await["enabled"],
        true
    );
    app.stop().await;
}

/// Outbound work: a delivery that failed for good is listed with Replay, which sends it
/// again (audited); a recording deletion not done yet is listed with its last error.
#[tokio::test]
async fn ops_see_failed_outbound_work_and_replay_a_delivery() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let app = TestApp::spawn().await;
    app.austin_directory().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let ops = app.user_token("olga", &["connections.manage"], &[]).await;
    let mut v = Visitor::new(&app);
    v.sign_in(&ops).await;
    let page = v.get("/console/ops/outbound").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("No recording is waiting"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Every outbound webhook delivery was accepted")
    );

    let rx = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&rx)
        .await;
    let (s, sub) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/subscriptions",
            Some(serde_json::json!({"url": format!("{}/hooks", rx.uri()), "event_types": ["call.updated"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    let sub_id = sub["id"].as_str().unwrap().to_owned();
    let call = "CA00000000000000000000000000d0a7";
    deliver_all(
        &app,
        &conn,
        &[status(
            call,
            "+15125550123",
            AUSTIN_LOCAL,
            "ringing",
            0,
            "Mon, 23 Nov 2026 18:00:00 +0000",
        )],
    )
    .await;
    let log_path = format!("/api/v1/subscriptions/{sub_id}/deliveries");
    eventually("the delivery failed for good", || async {
        app.get(&log_path).await["deliveries"][0]["status"] == "failed"
    })
    .await;
    let delivery = app.get(&log_path).await["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let store = app.running.as_ref().unwrap().state.store.clone();
    let later = 4_102_444_800_000_i64; // 2100-01-01: the worker leaves it alone.
    let (c, d) = (conn.clone(), call.to_owned());
    store
        .write(move |db| {
            db.exec(
                "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id,
                     attempts, next_attempt_at, last_error, created_at)
                 VALUES ('delete_recording', ?1, 'call-x', ?2, 'RE<b>1</b>', 3, ?3, 'HTTP 500', ?3)",
                callgate::store::db::args![c, d, later],
            )
        })
        .await
        .unwrap();

    let page = v.get("/console/ops/outbound").await;
    assert!(page.body.contains("Failed"), "{}", page.body);
    assert!(page.body.contains("call.updated"), "{}", page.body);
    assert!(page.body.contains("HTTP 410"), "{}", page.body);
    assert!(
        page.body.contains("RE&#60;b&#62;1&#60;/b&#62;") || page.body.contains("RE&lt;b&gt;1"),
        "{}",
        page.body
    );
    assert!(page.body.contains("HTTP 500"), "{}", page.body);
    let action = format!("/console/ops/webhook-deliveries/{delivery}/replay");
    assert!(page.body.contains(&action), "{}", page.body);
    let csrf = page.hidden("csrf");
    let forged = v.post(&action, &[("csrf", "x")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let replayed = v.post(&action, &[("csrf", &csrf)]).await;
    assert_eq!(replayed.status, StatusCode::SEE_OTHER, "{}", replayed.body);
    let page = v.get(replayed.location()).await;
    assert!(page.body.contains("is sent again now"), "{}", page.body);
    assert_eq!(
        app.get(&log_path).await["deliveries"][0]["status"],
        "pending"
    );
    assert_eq!(audit_rows(&app, "webhook.replayed").await.len(), 1);
    let missing = v
        .post(
            "/console/ops/webhook-deliveries/nope/replay",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    app.stop().await;
}

/// A webhook whose path names no connection is refused as before, and listed on the Ops page
/// with the URL it was sent to, escaped.
#[tokio::test]
async fn webhooks_to_no_connection_are_listed_on_the_ops_page() {
    let app = TestApp::spawn().await;
    let unknown = "conn_0000000000000000000000000000abcd";
    let res = app
        .raw_webhook(
            "twilio",
            &format!("{unknown}?x=%3Cscript%3E"),
            &[("content-type", "application/x-www-form-urlencoded")],
            "CallSid=CA1",
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    eventually("the refusal is recorded", || async {
        count_rows(&app, "webhook_refusals").await == 1
    })
    .await;
    let ops = app.user_token("olga", &["connections.manage"], &[]).await;
    let mut v = Visitor::new(&app);
    v.sign_in(&ops).await;
    let page = v.get("/console/ops").await;
    assert!(
        page.body.contains("No such connection for this provider"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!(
            "{PUBLIC}/webhooks/twilio/{unknown}?x=%3Cscript%3E"
        )),
        "{}",
        page.body
    );
    app.stop().await;
}
