//! Outbound webhooks: subscriptions, Standard Webhooks signatures, retries that survive the
//! receiver being down and callgate being restarted, the delivery log and replay, disabling
//! after prolonged failure, and the SSRF guard at the API.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const CALLER: &str = "+15125550123";
const TS: &str = "Mon, 23 Nov 2026 18:00:00 +0000";

/// A receiver that records what it gets and answers with a status the test sets.
#[derive(Clone)]
struct Receiver {
    url: String,
    status: Arc<Mutex<u16>>,
    got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
}

impl Receiver {
    async fn start(status: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let me = Self {
            url,
            status: Arc::new(Mutex::new(status)),
            got: Arc::default(),
        };
        let state = me.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    state.got.lock().unwrap().push((headers, body));
                    let s = *state.status.lock().unwrap();
                    axum::http::StatusCode::from_u16(s).unwrap()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        me
    }

    fn set_status(&self, s: u16) {
        *self.status.lock().unwrap() = s;
    }

    fn received(&self) -> Vec<(axum::http::HeaderMap, Value)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(h, b)| (h.clone(), serde_json::from_str(b).unwrap()))
            .collect()
    }
}

async fn app_allowing_local() -> TestApp {
    TestApp::spawn_with(&[("CALLGATE_EGRESS_ALLOW_PRIVATE", "true")], "").await
}

/// [`app_allowing_local`] with the Austin directory and a Twilio connection (its id).
async fn app_with_a_twilio_connection() -> (TestApp, String) {
    let app = app_allowing_local().await;
    app.austin_directory().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    (app, conn)
}

async fn subscribe(app: &TestApp, url: &str, types: &[&str]) -> Value {
    let (s, v) = app
        .api(
            Method::POST,
            "/api/v1/subscriptions",
            Some(json!({"url": url, "event_types": types})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// Checks a received request's signature as a subscriber would, with the standard's rules.
fn assert_signed(headers: &axum::http::HeaderMap, body: &Value, secret: &str) {
    use callgate_adapters::standard::signature;
    let id = headers["webhook-id"].to_str().unwrap();
    let ts: i64 = headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let given = headers["webhook-signature"].to_str().unwrap();
    let key = signature::key_of(secret).unwrap();
    assert_eq!(
        given,
        signature::sign(&key, id, ts, body.to_string().as_bytes()),
        "signature of {id}"
    );
}

#[tokio::test]
async fn subscribers_get_signed_call_events_in_sequence() {
    let (app, conn) = app_with_a_twilio_connection().await;
    let rx = Receiver::start(204).await;
    let sub = subscribe(&app, &rx.url, &["call.updated", "recording.decided"]).await;
    let secret = sub["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    // The secret is shown once: never again, and it is sealed at rest (the whole value and
    // the key it encodes).
    let listed = app.get("/api/v1/subscriptions").await;
    assert!(!listed.to_string().contains(&secret), "{listed}");
    assert_not_stored(&app, &secret).await;
    assert_not_stored(&app, secret.trim_start_matches("whsec_")).await;

    let sid = "CA00000000000000000000000000d0a1";
    deliver_all(
        &app,
        &conn,
        &[
            status(sid, CALLER, TOLL_FREE, "ringing", 0, TS),
            recording(sid, "RE000000000000000000000000000d0a1", "completed"),
        ],
    )
    .await;
    eventually("three events arrive", || async { rx.received().len() >= 3 }).await;
    let got = rx.received();
    let types: Vec<&str> = got
        .iter()
        .map(|(_, b)| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["call.updated", "recording.decided", "call.updated"]);
    let seqs: Vec<i64> = got
        .iter()
        .map(|(_, b)| b["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    for (headers, body) in &got {
        assert_signed(headers, body, &secret);
        assert_eq!(body["call_id"], got[0].1["call_id"]);
    }
    // A gated recording's location is never sent downstream either.
    assert_eq!(got[1].1["data"]["recording"]["status"], "gated");
    assert!(
        !got.iter()
            .any(|(_, b)| b.to_string().contains("api.twilio.com"))
    );
    app.stop().await;
}

/// An agent's action that queues outbound webhooks (a claim, an entered tenant) wakes the
/// outbox at once, as a webhook does: with the outbox polling once in ten minutes, each
/// event still arrives within seconds.
#[tokio::test]
async fn an_agents_action_delivers_its_outbound_webhooks_promptly() {
    let app = TestApp::spawn_with_outbox_table(
        &[("CALLGATE_EGRESS_ALLOW_PRIVATE", "true")],
        "poll_interval_ms = 600000\nretry_base_ms = 50\nretry_max_secs = 1\nrequest_timeout_ms = 2000",
    )
    .await;
    app.austin_directory().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let rx = Receiver::start(204).await;
    subscribe(&app, &rx.url, &["call.updated"]).await;
    let prompt = std::time::Duration::from_secs(5);
    let sid = "CA00000000000000000000000000d0a7";
    deliver_all(
        &app,
        &conn,
        &[status(sid, CALLER, TOLL_FREE, "ringing", 0, TS)],
    )
    .await;
    eventually_within("the webhook's event arrives", prompt, || async {
        !rx.received().is_empty()
    })
    .await;
    let id = app.call_by_sid(sid).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (s, v) = app
        .api(Method::POST, &format!("/api/v1/calls/{id}/claim"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually_within("the claim's event arrives", prompt, || async {
        rx.received().len() >= 2
    })
    .await;
    assert_eq!(rx.received()[1].1["data"]["call"]["agent_id"], "bootstrap");

    let (s, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/calls/{id}/tenant"),
            Some(json!({"tenant_id": "t-austin"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually_within("the entered tenant's event arrives", prompt, || async {
        rx.received().len() >= 3
    })
    .await;
    let got = rx.received();
    assert_eq!(got[2].1["data"]["call"]["tenant"]["status"], "selected");
    let seqs: Vec<i64> = got
        .iter()
        .map(|(_, b)| b["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    app.stop().await;
}

/// The receiver is down, then callgate is restarted, then the receiver is back: the event
/// arrives, with the same webhook-id on every attempt, and the log shows every attempt.
#[tokio::test]
async fn deliveries_survive_a_receiver_outage_and_a_restart() {
    let (app, conn) = app_with_a_twilio_connection().await;
    let rx = Receiver::start(503).await;
    let sub = subscribe(&app, &rx.url, &["call.updated"]).await;
    let sub_id = sub["id"].as_str().unwrap().to_owned();
    deliver_all(
        &app,
        &conn,
        &[status(
            "CA00000000000000000000000000d0a2",
            CALLER,
            AUSTIN_LOCAL,
            "ringing",
            0,
            TS,
        )],
    )
    .await;
    eventually("two failed attempts", || async { rx.received().len() >= 2 }).await;

    let dir = app.stop_keeping_store().await;
    rx.set_status(200);
    let app = TestApp::spawn_configured_in(dir, &[("CALLGATE_EGRESS_ALLOW_PRIVATE", "true")]).await;
    let deliveries = || async {
        app.get(&format!("/api/v1/subscriptions/{sub_id}/deliveries"))
            .await
    };
    eventually("the delivery succeeds after the restart", || async {
        deliveries().await["deliveries"][0]["status"] == "delivered"
    })
    .await;
    let got = rx.received();
    let ids: std::collections::BTreeSet<&str> = got
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "the webhook-id changed between attempts: {ids:?}"
    );
    let log = deliveries().await;
    let attempts = log["deliveries"][0]["attempts"].as_array().unwrap().clone();
    assert!(attempts.len() >= 3, "{log}");
    assert_eq!(attempts[0]["status"], 503);
    assert_eq!(attempts.last().unwrap()["status"], 200);

    // Replay: the same event again, same id.
    let id = log["deliveries"][0]["id"].as_str().unwrap().to_owned();
    let (s, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/webhook-deliveries/{id}/replay"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let before = got.len();
    eventually("the replay arrives", || async {
        rx.received().len() > before
    })
    .await;
    assert_eq!(rx.received().last().unwrap().0["webhook-id"], id.as_str());
    app.stop().await;
}

/// A subscription that keeps failing past the configured time is disabled, and audited.
#[tokio::test]
async fn a_subscription_failing_for_too_long_is_disabled() {
    let app = TestApp::spawn_with_outbox(
        &[("CALLGATE_EGRESS_ALLOW_PRIVATE", "true")],
        "subscription_disable_after_secs = 1",
    )
    .await;
    app.austin_directory().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let rx = Receiver::start(500).await;
    let sub = subscribe(&app, &rx.url, &["call.updated"]).await;
    let sub_id = sub["id"].as_str().unwrap().to_owned();
    deliver_all(
        &app,
        &conn,
        &[status(
            "CA00000000000000000000000000d0a3",
            CALLER,
            AUSTIN_LOCAL,
            "ringing",
            0,
            TS,
        )],
    )
    .await;
    let log = disabled_by_callgate(&app, &sub_id, "failed").await;
    assert_eq!(log["deliveries"][0]["status"], "failed", "{log}");
    app.stop().await;
}

/// Without the local-testing switch, provider URL options (`api_base_url`, `space_url`) at
/// private, loopback, link-local or metadata addresses are refused when a connection is
/// created (422 `url_not_allowed`, naming the option), and nothing is stored.
#[tokio::test]
async fn private_provider_urls_are_refused_at_the_api() {
    let app = TestApp::spawn_with(&[STRICT_EGRESS], "").await;
    let twilio = json!({"auth_token": AUTH_TOKEN, "account_sid": ACCOUNT_SID});
    let signalwire = json!({"signing_key": "PSK_1", "project_id": "p-1", "api_token": "PT1"});
    for (provider, secrets, option, url) in [
        ("twilio", &twilio, "api_base_url", "http://127.0.0.1:9000"),
        (
            "twilio",
            &twilio,
            "api_base_url",
            "http://169.254.169.254/latest",
        ),
        ("twilio", &twilio, "api_base_url", "https://10.0.0.7"),
        ("twilio", &twilio, "api_base_url", "http://[::1]:8080"),
        ("twilio", &twilio, "api_base_url", "http://0x7f.1/"),
        ("signalwire", &signalwire, "space_url", "192.168.1.20"),
        (
            "signalwire",
            &signalwire,
            "space_url",
            "http://[fd00:ec2::254]",
        ),
        (
            "signalwire",
            &signalwire,
            "api_base_url",
            "http://100.64.0.1",
        ),
    ] {
        let body = json!({"provider": provider, "name": "x", "secrets": secrets, "options": {option: url}});
        let (s, v) = app
            .api(Method::POST, "/api/v1/connections", Some(body))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{option}={url}: {v}");
        assert_eq!(v["error"]["code"], "url_not_allowed", "{url}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(option),
            "{v}"
        );
    }
    assert_eq!(count_rows(&app, "connections").await, 0);
    let body = json!({"provider": "signalwire", "name": "x", "secrets": signalwire, "options": {"space_url": "example.signalwire.com"}});
    let (s, v) = app
        .api(Method::POST, "/api/v1/connections", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "a public name is fine: {v}");
    app.stop().await;
}

/// Without the local-testing switch, subscriptions to private, loopback, link-local or
/// metadata addresses, odd spellings of them, and non-http URLs are refused at once.
#[tokio::test]
async fn private_targets_are_refused_at_the_api() {
    let app = TestApp::spawn_with(&[STRICT_EGRESS], "").await;
    for (url, code) in [
        ("http://127.0.0.1:9000/hooks", "url_not_allowed"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "url_not_allowed",
        ),
        ("http://[::ffff:10.0.0.1]/", "url_not_allowed"),
        ("http://2130706433/", "url_not_allowed"),
        ("http://0x7f.1/", "url_not_allowed"),
        ("http://[fd00:ec2::254]/", "url_not_allowed"),
        ("ftp://example.com/", "invalid_url"),
        ("http://user:pw@example.com/", "invalid_url"),
    ] {
        let (s, v) = app
            .api(
                Method::POST,
                "/api/v1/subscriptions",
                Some(json!({"url": url, "event_types": ["call.updated"]})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert_eq!(v["error"]["code"], code, "{url}");
    }
    let (s, v) = app
        .api(
            Method::POST,
            "/api/v1/subscriptions",
            Some(json!({"url": "https://crm.example.com/hooks", "event_types": ["call.exploded"]})),
        )
        .await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("unknown_event_type")
        )
    );
    app.stop().await;
}

/// Even when the URL passed the API's check, a name resolving to a loopback address is
/// refused at delivery time; and a redirect is never followed.
#[tokio::test]
async fn names_and_redirects_are_checked_when_delivering() {
    use callgate::egress::{self, EgressError, EgressPolicy};
    let strict = EgressPolicy {
        allow_private: false,
    };
    let http = egress::client(
        strict,
        Arc::new(egress::SystemLookup),
        std::time::Duration::from_secs(5),
    );
    let err = egress::send(&http, strict, "http://localhost:9/x", |r| r)
        .await
        .unwrap_err();
    assert!(matches!(err, EgressError::Forbidden(_)), "{err:?}");

    // A receiver that redirects: with local targets allowed, the redirect is the answer.
    let hits = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = hits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(uri.path().to_owned());
            (axum::http::StatusCode::FOUND, [("location", "/elsewhere")])
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let local = EgressPolicy {
        allow_private: true,
    };
    let http = egress::client(
        local,
        Arc::new(egress::SystemLookup),
        std::time::Duration::from_secs(5),
    );
    let err = egress::send(&http, local, &format!("{base}/hooks"), |r| r)
        .await
        .unwrap_err();
    assert_eq!(err, EgressError::Redirect(302));
    assert_eq!(*hits.lock().unwrap(), ["/hooks"]);
}

/// A delivery pending when callgate is killed with SIGKILL is made after the restart, with
/// the same webhook-id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_delivery_survives_sigkill() {
    use crate::crash::{command, send_ringing, serve};
    let rx = Receiver::start(503).await;
    let dir = tempfile::tempdir().unwrap();
    // Retries seconds apart: once the refused attempt is recorded, none is under way when
    // the process is killed (one that were would wait for its claim to end).
    let config = dir.path().join("callgate.toml");
    std::fs::write(
        &config,
        "[outbox]\npoll_interval_ms = 50\nretry_base_ms = 2000\nretry_max_secs = 4\nrequest_timeout_ms = 2000\n",
    )
    .unwrap();
    let start = || {
        let mut cmd = command(dir.path());
        cmd.env("CALLGATE_CONFIG", &config)
            .env("CALLGATE_EGRESS_ALLOW_PRIVATE", "true");
        serve(cmd)
    };
    let (mut child, addr) = start().await;
    let http = reqwest::Client::new();
    let post = |base: String, path: &'static str, body: Value| {
        let http = http.clone();
        async move {
            let res = http
                .post(format!("{base}{path}"))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<Value>().await.unwrap()
        }
    };
    let base = format!("http://{addr}");
    let conn = post(
        base.clone(),
        "/api/v1/connections",
        json!({"provider": "twilio", "name": "kill", "secrets": {"auth_token": AUTH_TOKEN}}),
    )
    .await;
    let conn = conn["id"].as_str().unwrap().to_owned();
    let sub = post(
        base.clone(),
        "/api/v1/subscriptions",
        json!({"url": rx.url, "event_types": ["call.updated"]}),
    )
    .await;
    let sub_id = sub["id"].as_str().unwrap().to_owned();
    let log = |base: String| {
        let (http, sub_id) = (http.clone(), sub_id.clone());
        async move {
            http.get(format!("{base}/api/v1/subscriptions/{sub_id}/deliveries"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert!(send_ringing(&http, &base, &conn, "CA00000000000000000000000000d0a4").await);
    // Killed once the refused attempt is recorded, the delivery is pending for its retry.
    eventually("a first attempt is refused and recorded", || async {
        !rx.received().is_empty()
            && log(base.clone()).await["deliveries"][0]["attempts"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
    })
    .await;

    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    rx.set_status(200);
    let (mut child, addr) = start().await;
    let base = format!("http://{addr}");
    eventually_within(
        "the delivery is made after the restart",
        std::time::Duration::from_secs(20),
        || async { log(base.clone()).await["deliveries"][0]["status"] == "delivered" },
    )
    .await;
    let ids: std::collections::BTreeSet<String> = rx
        .received()
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    child.start_kill().unwrap();
}

/// The gap between a delivery's (only) attempt and its next one, in seconds.
fn wait_after_first_attempt(delivery: &Value) -> i64 {
    let at = |v: &Value| {
        time::OffsetDateTime::parse(
            v.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{delivery}");
    (at(&delivery["next_attempt_at"]) - at(&attempts[0]["at"])).whole_seconds()
}

/// A receiver's `Retry-After` on 429 or 503 (seconds or an HTTP-date) sets the next attempt,
/// cut at 24 hours; on another status it is ignored (the backoff, at most 1 s here, applies).
#[tokio::test]
async fn retry_after_on_429_and_503_postpones_the_next_attempt() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let (app, conn) = app_with_a_twilio_connection().await;
    let rx = MockServer::start().await;
    let in_three_hours = (time::OffsetDateTime::now_utc() + time::Duration::hours(3))
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap();
    // (path, status, Retry-After, the expected wait in seconds, give or take 5).
    let cases = [
        ("/seconds", 429, "7200".to_owned(), 7200),
        ("/date", 503, in_three_hours, 3 * 3600),
        ("/ten-days", 503, "864000".to_owned(), 24 * 3600),
        ("/not-throttled", 500, "7200".to_owned(), 0),
    ];
    let mut subs = Vec::new();
    for (p, code, retry_after, _) in &cases {
        Mock::given(method("POST"))
            .and(path(*p))
            .respond_with(ResponseTemplate::new(*code).insert_header("retry-after", retry_after))
            .mount(&rx)
            .await;
        let sub = subscribe(&app, &format!("{}{p}", rx.uri()), &["call.updated"]).await;
        subs.push(sub["id"].as_str().unwrap().to_owned());
    }
    deliver_all(
        &app,
        &conn,
        &[status(
            "CA00000000000000000000000000d0a5",
            CALLER,
            AUSTIN_LOCAL,
            "ringing",
            0,
            TS,
        )],
    )
    .await;
    for (sub, (p, code, _, expected)) in subs.iter().zip(&cases) {
        let log_url = format!("/api/v1/subscriptions/{sub}/deliveries");
        eventually(&format!("{p}: an attempt"), || async {
            app.get(&log_url).await["deliveries"][0]["attempts"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .await;
        if *code == 500 {
            // Its Retry-After is ignored: the backoff (at most 1 s here) brings a second try.
            eventually(&format!("{p}: a second attempt"), || async {
                app.get(&log_url).await["deliveries"][0]["attempts"]
                    .as_array()
                    .is_some_and(|a| a.len() >= 2)
            })
            .await;
            continue;
        }
        let log = app.get(&log_url).await;
        let delivery = &log["deliveries"][0];
        let waited = wait_after_first_attempt(delivery);
        assert!(
            (expected - 5..=expected + 5).contains(&waited),
            "{p}: next attempt {waited} s after the first, expected about {expected}: {log}"
        );
        assert_eq!(delivery["status"], "pending", "{p}: {log}");
        assert_eq!(delivery["attempts"][0]["status"], *code, "{p}: {log}");
    }
    // The throttled endpoints were asked once each: nothing was retried early.
    let received = rx.received_requests().await.unwrap();
    for (p, _, _, _) in &cases[..3] {
        let n = received.iter().filter(|r| r.url.path() == *p).count();
        assert_eq!(n, 1, "{p} was sent {n} requests");
    }
    app.stop().await;
}

/// Waits until callgate disables the subscription itself; checks that its `disabled_reason`
/// and its one `subscription.disabled` audit entry say `why`. Returns its delivery log.
async fn disabled_by_callgate(app: &TestApp, sub_id: &str, why: &str) -> Value {
    eventually("the subscription is disabled", || async {
        app.get(&format!("/api/v1/subscriptions/{sub_id}")).await["enabled"] == false
    })
    .await;
    let v = app.get(&format!("/api/v1/subscriptions/{sub_id}")).await;
    assert!(v["disabled_reason"].as_str().unwrap().contains(why), "{v}");
    let audit = app.get("/api/v1/audit?action=subscription.disabled").await;
    let entries = audit["audit"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "system", "{audit}");
    assert!(entries[0].to_string().contains(why), "{audit}");
    app.get(&format!("/api/v1/subscriptions/{sub_id}/deliveries"))
        .await
}

/// A 410 Gone disables the subscription at once, audited like any automatic disabling, and
/// nothing more is sent to it.
#[tokio::test]
async fn a_410_gone_disables_the_subscription() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let (app, conn) = app_with_a_twilio_connection().await;
    let rx = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410))
        .expect(1)
        .mount(&rx)
        .await;
    let sub = subscribe(&app, &format!("{}/hooks", rx.uri()), &["call.updated"]).await;
    let sub_id = sub["id"].as_str().unwrap().to_owned();
    let call = "CA00000000000000000000000000d0a6";
    deliver_all(
        &app,
        &conn,
        &[status(call, CALLER, AUSTIN_LOCAL, "ringing", 0, TS)],
    )
    .await;
    let log = disabled_by_callgate(&app, &sub_id, "410").await;
    assert_eq!(log["deliveries"][0]["status"], "failed", "{log}");
    assert_eq!(log["deliveries"][0]["attempts"][0]["status"], 410, "{log}");
    // Another change of the call queues nothing for a disabled subscription.
    deliver_all(
        &app,
        &conn,
        &[status(call, CALLER, AUSTIN_LOCAL, "in-progress", 1, TS)],
    )
    .await;
    let log = app
        .get(&format!("/api/v1/subscriptions/{sub_id}/deliveries"))
        .await;
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 1, "{log}");
    app.stop().await;
    rx.verify().await;
}
