//! The console's Ops page: connections created from each provider's own fields, the webhook
//! URL with where it goes, rotation, enable and disable, and a connection's refusals shown
//! with their reason and the URL checked, every value escaped and no secret ever rendered.

use crate::console::Visitor;
use crate::refusals::refusals_reach;
use crate::support::*;
use reqwest::{Method, StatusCode};

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
    assert!(page.body.contains("Nothing accepted among the newest"));
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
    // The refusal is logged off the answer's path.
    refusals_reach(&app, &conn, 1).await;
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

    // The pending deletion has Retry now: due at once, its attempts kept, audited.
    let deletion = pending_deletion_id(&app).await;
    let retry = format!("/console/ops/recording-deletions/{deletion}/retry");
    assert!(page.body.contains(&retry), "{}", page.body);
    assert!(page.body.contains(">Retry now<"), "{}", page.body);
    let forged = v.post(&retry, &[("csrf", "x")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        audit_rows(&app, "recording.deletion_retried")
            .await
            .is_empty()
    );
    let retried = v.post(&retry, &[("csrf", &csrf)]).await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER, "{}", retried.body);
    let page = v.get(retried.location()).await;
    assert!(page.body.contains("is tried again now"), "{}", page.body);
    let audits = audit_rows(&app, "recording.deletion_retried").await;
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].0, "olga");
    assert_eq!(audits[0].2["attempts"], 3);
    // The worker tries it at once (the connection's API is down: it fails again).
    eventually("the retried deletion is attempted", || async {
        audit_rows(&app, "recording.deletion_failed")
            .await
            .iter()
            .any(|(_, _, d)| d["attempt"] == 4)
    })
    .await;
    let unknown = v
        .post(
            "/console/ops/recording-deletions/999999/retry",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    // Once over, it cannot be retried: a sentence, not a code.
    close_deletion(&app, deletion).await;
    let over = v.post(&retry, &[("csrf", &csrf)]).await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.body);
    assert!(over.body.contains("nothing to retry"), "{}", over.body);
    assert!(!over.body.contains("deletion_over"), "{}", over.body);
    app.stop().await;
}

/// The id of the only pending recording deletion, through the API.
async fn pending_deletion_id(app: &TestApp) -> i64 {
    let list = app.get("/api/v1/recording-deletions").await;
    let all = list["recording_deletions"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{list}");
    all[0]["id"].as_str().unwrap().parse().unwrap()
}

/// Marks the deletion `id` done, as a confirmation does.
async fn close_deletion(app: &TestApp, id: i64) {
    let store = app.running.as_ref().unwrap().state.store.clone();
    store
        .write(move |db| {
            db.exec(
                "UPDATE outbox SET done_at = next_attempt_at WHERE id = ?1",
                callgate::store::db::args![id],
            )
        })
        .await
        .unwrap();
}

/// `POST /api/v1/recording-deletions/{id}/retry`: a deletion the provider kept refusing, far
/// into its backoff, is due at once; its attempt count is kept and its backoff starts over
/// (the next failure waits the first delay, not the longest); once the provider deletes it,
/// it leaves the list and a retry is 409. Unknown ids are 404; agents are refused.
#[tokio::test]
async fn the_api_retries_a_pending_recording_deletion_now_with_its_backoff_started_over() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let provider = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&provider)
        .await;
    // A first delay of a minute, a longest of an hour.
    let app = TestApp::spawn_with_outbox_table(
        &[],
        "poll_interval_ms = 50\nretry_base_ms = 60000\nretry_max_secs = 3600\nrequest_timeout_ms = 2000",
    )
    .await;
    let conn = app.twilio_connection(&provider.uri()).await;
    let ops = app.user_token("olga", &["connections.manage"], &[]).await;
    let agent = app.user_token("ana", &["contact_center.view"], &[]).await;
    let store = app.running.as_ref().unwrap().state.store.clone();
    let later = 4_102_444_800_000_i64; // 2100-01-01: deep in its backoff.
    store
        .write(move |db| {
            db.exec(
                "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id,
                     attempts, next_attempt_at, last_error, created_at)
                 VALUES ('delete_recording', ?1, 'call-r', 'CA0000000000000000000000000000000r',
                     'RE00000000000000000000000000000r01', 10, ?2, 'HTTP 500', ?2)",
                callgate::store::db::args![conn, later],
            )
        })
        .await
        .unwrap();
    let id = pending_deletion_id(&app).await;
    let listed = &app.get("/api/v1/recording-deletions").await["recording_deletions"][0];
    assert_eq!(listed["attempts"], 10);
    assert_eq!(listed["last_error"], "HTTP 500");
    assert_eq!(listed["recording_id"], "RE00000000000000000000000000000r01");

    let path = format!("/api/v1/recording-deletions/{id}/retry");
    let (s, v) = app.api_as(&agent, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = app
        .api_as(&agent, Method::GET, "/api/v1/recording-deletions", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");

    let asked = time::OffsetDateTime::now_utc();
    let (s, v) = app.api_as(&ops, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["id"], id.to_string());
    assert_eq!(v["attempts"], 10, "the attempts are kept");
    let due = rfc3339(&v["next_attempt_at"]);
    assert!((due - asked).abs() < time::Duration::seconds(30), "{v}");
    let audits = audit_rows(&app, "recording.deletion_retried").await;
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].0, "olga");
    assert_eq!(
        audits[0].2["recording_id"],
        "RE00000000000000000000000000000r01"
    );

    // The provider refuses again: the 11th attempt, and the next waits the first delay
    // (a minute, give or take its jitter), not the hour the 10 attempts before had reached.
    eventually("the retried attempt fails", || async {
        app.get("/api/v1/recording-deletions").await["recording_deletions"][0]["attempts"] == 11
    })
    .await;
    let failed_at = time::OffsetDateTime::now_utc();
    let listed = &app.get("/api/v1/recording-deletions").await["recording_deletions"][0];
    let wait = rfc3339(&listed["next_attempt_at"]) - failed_at;
    assert!(
        wait > time::Duration::seconds(30) && wait < time::Duration::seconds(90),
        "next attempt in {wait}: {listed}"
    );

    // The provider recovers: Retry now, and the deletion is confirmed.
    provider.reset().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&provider)
        .await;
    let (s, v) = app.api_as(&ops, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    eventually("the deletion is confirmed", || async {
        !audit_rows(&app, "recording.deletion_confirmed")
            .await
            .is_empty()
    })
    .await;
    assert_eq!(
        app.get("/api/v1/recording-deletions").await,
        serde_json::json!({"recording_deletions": []})
    );
    let (s, v) = app.api_as(&ops, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "deletion_over");
    assert_eq!(
        audit_rows(&app, "recording.deletion_retried").await.len(),
        2
    );

    for unknown in [
        "999999",
        "0",
        "-1",
        "abc",
        "RE00000000000000000000000000000r01",
    ] {
        let (s, v) = app
            .api_as(
                &ops,
                Method::POST,
                &format!("/api/v1/recording-deletions/{unknown}/retry"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{unknown}: {v}");
        assert_eq!(v["error"]["code"], "deletion_not_found", "{unknown}");
    }
    app.stop().await;
    provider.verify().await;
}

fn rfc3339(v: &serde_json::Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        v.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
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
