//! The ops and directory API: connections, secrets, rotation, auth, validation.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn connections_never_show_secrets_and_rotate_with_a_grace_period() {
    let app = TestApp::spawn().await;
    let (s, v) = app
        .api(Method::POST, "/api/v1/connections", Some(json!({"provider": "twilio", "name": "Main account", "secrets": {"auth_token": AUTH_TOKEN, "account_sid": ACCOUNT_SID}, "options": {"api_base_url": "https://api.twilio.com"}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["provider"], "twilio");
    assert_eq!(v["name"], "Main account");
    assert_eq!(v["enabled"], true);
    assert_eq!(v["webhook_url"], format!("{PUBLIC}/webhooks/twilio/{id}"));
    for body in [
        v.to_string(),
        app.get("/api/v1/connections").await.to_string(),
        app.get(&format!("/api/v1/connections/{id}"))
            .await
            .to_string(),
    ] {
        assert!(
            !body.contains(AUTH_TOKEN),
            "a response shows a secret: {body}"
        );
    }
    // Secrets are sealed at rest.
    assert_not_stored(&app, AUTH_TOKEN).await;

    let sid = "CA60000000000000000000000000000001";
    let call = status(
        sid,
        "+15125550123",
        "+18005550199",
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    );
    assert_eq!(
        app.twilio(&id, &pairs(&call)).await.status(),
        StatusCode::NO_CONTENT
    );

    let (s, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/connections/{id}/rotate"),
            Some(json!({"secrets": {"auth_token": "twilio-auth-token-2"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["previous_secrets_until"].is_string());
    assert!(!v.to_string().contains("twilio-auth-token-2"));
    let next = status(
        sid,
        "+15125550123",
        "+18005550199",
        "in-progress",
        1,
        "Mon, 23 Nov 2026 18:00:05 +0000",
    );
    assert_eq!(
        app.twilio_signed(&id, &pairs(&next), "twilio-auth-token-2")
            .await
            .status(),
        StatusCode::NO_CONTENT,
        "new token"
    );
    let late = status(
        sid,
        "+15125550123",
        "+18005550199",
        "completed",
        2,
        "Mon, 23 Nov 2026 18:01:05 +0000",
    );
    assert_eq!(
        app.twilio_signed(&id, &pairs(&late), AUTH_TOKEN)
            .await
            .status(),
        StatusCode::NO_CONTENT,
        "old token in grace"
    );

    // With no grace, the old token stops at once.
    let (s, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/connections/{id}/rotate"),
            Some(json!({"secrets": {"auth_token": "twilio-auth-token-3"}, "grace_period_secs": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let again = status(
        "CA60000000000000000000000000000002",
        "+15125550123",
        "+18005550199",
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    );
    assert_eq!(
        app.twilio_signed(&id, &pairs(&again), "twilio-auth-token-2")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.twilio_signed(&id, &pairs(&again), "twilio-auth-token-3")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    // Every generation, current and previous, is sealed at rest too.
    for token in [AUTH_TOKEN, "twilio-auth-token-2", "twilio-auth-token-3"] {
        assert_not_stored(&app, token).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn the_api_requires_a_valid_token() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/connections",
        "/api/v1/tenants",
        "/api/v1/calls",
        "/api/v1/settings",
        "/api/v1/numbers",
    ] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], "unauthorized");
        let (s, _) = app.api_as("wrong-token", Method::GET, path, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
    }
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_api_input_gets_clear_4xx_json_errors() {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    let raw = |method: Method, path: &str, ct: &str, body: &str| {
        app.http
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(TOKEN)
            .header("content-type", ct.to_owned())
            .body(body.to_owned())
            .send()
    };
    let cases: Vec<(&str, reqwest::Response, u16)> = vec![
        ("malformed JSON", raw(Method::PUT, "/api/v1/tenants/t-x", "application/json", "{\"name\": ").await.unwrap(), 400),
        ("JSON of the wrong shape", raw(Method::PUT, "/api/v1/tenants/t-x", "application/json", "[1,2]").await.unwrap(), 400),
        ("unknown field", raw(Method::PUT, "/api/v1/tenants/t-x", "application/json", r#"{"name":"x","colour":"red"}"#).await.unwrap(), 400),
        ("a tenant id other than the path's", raw(Method::PUT, "/api/v1/tenants/t-x", "application/json", r#"{"tenant_id":"t-y","name":"x"}"#).await.unwrap(), 422),
        ("not JSON content type", raw(Method::PUT, "/api/v1/tenants/t-x", "text/plain", r#"{"name":"x"}"#).await.unwrap(), 415),
        ("uppercase trade", raw(Method::PUT, "/api/v1/tenants/t-x", "application/json", r#"{"name":"x","trades":["HVAC"]}"#).await.unwrap(), 422),
        ("bad tenant id", raw(Method::PUT, "/api/v1/tenants/t%20x", "application/json", r#"{"name":"x"}"#).await.unwrap(), 400),
        ("unknown number kind", raw(Method::PUT, "/api/v1/numbers/%2B15125550100", "application/json", r#"{"kind":"mobile"}"#).await.unwrap(), 400),
        ("not E.164", raw(Method::PUT, "/api/v1/numbers/5125550100", "application/json", r#"{"kind":"national"}"#).await.unwrap(), 400),
        ("local number of an unknown tenant", raw(Method::PUT, "/api/v1/numbers/%2B15125550100", "application/json", r#"{"kind":"local","tenant_id":"t-nope"}"#).await.unwrap(), 422),
        ("unknown provider", raw(Method::POST, "/api/v1/connections", "application/json", r#"{"provider":"acme","name":"x","secrets":{}}"#).await.unwrap(), 422),
        ("missing secret", raw(Method::POST, "/api/v1/connections", "application/json", r#"{"provider":"twilio","name":"x","secrets":{}}"#).await.unwrap(), 422),
        ("unknown secret", raw(Method::POST, "/api/v1/connections", "application/json", r#"{"provider":"twilio","name":"x","secrets":{"auth_token":"a","pasword":"b"}}"#).await.unwrap(), 422),
        ("connection name too long", raw(Method::POST, "/api/v1/connections", "application/json", &format!(r#"{{"provider":"twilio","name":"{}","secrets":{{"auth_token":"a"}}}}"#, "n".repeat(201))).await.unwrap(), 422),
        ("not an Ed25519 public key", raw(Method::POST, "/api/v1/connections", "application/json", r#"{"provider":"telnyx","name":"x","secrets":{"public_key":"not base64 key"}}"#).await.unwrap(), 422),
        ("bad api_base_url", raw(Method::POST, "/api/v1/connections", "application/json", r#"{"provider":"twilio","name":"x","secrets":{"auth_token":"a"},"options":{"api_base_url":"file:///etc/passwd"}}"#).await.unwrap(), 422),
        ("unknown connection", raw(Method::GET, "/api/v1/connections/conn_nope", "application/json", "").await.unwrap(), 404),
        ("unknown tenant", raw(Method::GET, "/api/v1/tenants/t-nope", "application/json", "").await.unwrap(), 404),
        ("unknown call", raw(Method::GET, "/api/v1/calls/nope", "application/json", "").await.unwrap(), 404),
        ("bad limit", raw(Method::GET, "/api/v1/calls?limit=5000", "application/json", "").await.unwrap(), 400),
        ("bad cursor", raw(Method::GET, "/api/v1/calls?cursor=abc", "application/json", "").await.unwrap(), 400),
        ("unknown state", raw(Method::GET, "/api/v1/calls?state=sleeping", "application/json", "").await.unwrap(), 400),
        ("unknown route", raw(Method::GET, "/api/v1/nope", "application/json", "").await.unwrap(), 404),
        ("wrong method", raw(Method::DELETE, "/api/v1/settings", "application/json", "").await.unwrap(), 405),
        ("contact of an unknown tenant", raw(Method::PUT, "/api/v1/tenants/t-nope/contacts/%2B15125550100", "application/json", r#"{"name":"Jane"}"#).await.unwrap(), 404),
    ];
    for (name, res, want) in cases {
        assert_eq!(res.status().as_u16(), want, "{name}");
        let v: Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{name}: {v}"
        );
    }
    // A secret that can never work is named, not repeated.
    let (s, v) = app
        .api(
            Method::POST,
            "/api/v1/connections",
            Some(json!({"provider": "telnyx", "name": "x", "secrets": {"public_key": "not-a-key-4f9c"}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "invalid_secret", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("public_key") && !message.contains("4f9c"),
        "{v}"
    );
    let (s, v) = app
        .api(
            Method::POST,
            "/api/v1/connections",
            Some(json!({"provider": "twilio", "name": format!("  {}  ", "n".repeat(200)), "secrets": {"auth_token": "a"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "200 characters once trimmed: {v}");
    let tenants = app.get("/api/v1/tenants").await;
    assert_eq!(
        tenants["tenants"].as_array().unwrap().len(),
        1,
        "nothing half-written: {tenants}"
    );
    app.stop().await;
}

#[tokio::test]
async fn directory_round_trips_and_lists_pages_of_calls() {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701", "78702"], &["hvac", "plumbing"])
        .await;
    let t = app.get("/api/v1/tenants/t-austin").await;
    assert_eq!(t["zip_codes"], json!(["78701", "78702"]));
    assert_eq!(t["trades"], json!(["hvac", "plumbing"]));
    let (s, _) = app.api(Method::PUT, "/api/v1/tenants/t-austin", Some(json!({"name": "Austin HVAC", "zip_codes": ["78701"], "trades": ["hvac"], "booking_url": "https://a.example.com/b"}))).await;
    assert_eq!(s, StatusCode::OK, "an update answers 200");
    // The shape tenant files and the upstream directory use (with the tenant's id) is
    // accepted too, as is a tenant read back.
    let (s, v) = app.api(Method::PUT, "/api/v1/tenants/t-austin", Some(json!({"tenant_id": "t-austin", "name": "Austin HVAC", "zip_codes": ["78701"], "trades": ["hvac"], "booking_url": "https://a.example.com/b"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let read_back = app.get("/api/v1/tenants/t-austin").await;
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/tenants/t-austin",
            Some(read_back.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{read_back} {v}");
    app.number(
        "+1 (512) 555-0100",
        json!({"kind": "local", "tenant_id": "t-austin"}),
    )
    .await;
    let n = app.get("/api/v1/numbers/%2B15125550100").await;
    assert_eq!(n["kind"], "local");
    assert_eq!(n["e164"], "+15125550100");
    // Numbers of every kind read back can be written as they are.
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    app.number("+18005550199", json!({"kind": "national"}))
        .await;
    app.number(
        "+15125550111",
        json!({"kind": "regional", "tenant_ids": ["t-austin", "t-dallas"]}),
    )
    .await;
    let listed = app.get("/api/v1/numbers").await;
    let numbers = listed["numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 3, "{listed}");
    for number in numbers {
        let path = format!(
            "/api/v1/numbers/{}",
            number["e164"].as_str().unwrap().replace('+', "%2B")
        );
        let (s, v) = app.api(Method::PUT, &path, Some(number.clone())).await;
        assert_eq!(s, StatusCode::OK, "{number}: {v}");
        assert_eq!(app.get(&path).await, *number);
    }
    // A field the kind does not use is refused when it says something.
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/numbers/%2B18005550199",
            Some(json!({"kind": "national", "tenant_id": "t-austin"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["code"], "malformed_json", "{v}");

    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    for i in 0..5 {
        let sid = format!("CA7000000000000000000000000000000{i}");
        deliver_all(
            &app,
            &conn,
            &[status(
                &sid,
                "+15125550123",
                "+15125550100",
                "ringing",
                0,
                "Mon, 23 Nov 2026 18:00:01 +0000",
            )],
        )
        .await;
    }
    let page1 = app.get("/api/v1/calls?limit=2").await;
    let c1 = page1["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        page1["calls"][0]["provider_call_id"], "CA70000000000000000000000000000004",
        "newest first"
    );
    let page2 = app.get(&format!("/api/v1/calls?limit=2&cursor={c1}")).await;
    let page3 = app
        .get(&format!(
            "/api/v1/calls?limit=2&cursor={}",
            page2["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page3["calls"].as_array().unwrap().len(), 1);
    assert_eq!(page3["next_cursor"], Value::Null);
    let filtered = app
        .get("/api/v1/calls?tenant_id=t-austin&state=ringing")
        .await;
    assert_eq!(filtered["calls"].as_array().unwrap().len(), 5);
    let none = app.get("/api/v1/calls?state=completed").await;
    assert_eq!(none["calls"].as_array().unwrap().len(), 0);
    // A call only a recording callback has reached yet is `initiated`, listed and filtered
    // alike.
    let early = "CA7000000000000000000000000000000e";
    deliver_all(
        &app,
        &conn,
        &[recording(
            early,
            "RE7000000000000000000000000000000e",
            "in-progress",
        )],
    )
    .await;
    let initiated = app.get("/api/v1/calls?state=initiated").await;
    let initiated = initiated["calls"].as_array().unwrap();
    assert_eq!(initiated.len(), 1, "{initiated:?}");
    assert_eq!(initiated[0]["provider_call_id"], early);
    assert_eq!(initiated[0]["state"], "initiated");
    app.stop().await;
}

/// A connection takes only the options its provider declares (and `api_base_url`), and
/// needs the required ones: 422 with a code, and a message naming the valid options.
#[tokio::test]
async fn connection_options_are_those_the_provider_declares() {
    let app = TestApp::spawn().await;
    let twilio = json!({"auth_token": AUTH_TOKEN});
    let signalwire = json!({"signing_key": "PSK_x", "project_id": "p", "api_token": "t"});
    for (provider, secrets, options, code, named) in [
        (
            "twilio",
            &twilio,
            json!({"foo": "bar"}),
            "unknown_option",
            "api_base_url",
        ),
        (
            "twilio",
            &twilio,
            json!({"space_url": "x.signalwire.com"}),
            "unknown_option",
            "\"space_url\"",
        ),
        (
            "signalwire",
            &signalwire,
            json!({}),
            "missing_option",
            "space_url",
        ),
        (
            "signalwire",
            &signalwire,
            json!({"api_base_url": "https://example.com"}),
            "missing_option",
            "space_url",
        ),
    ] {
        let body =
            json!({"provider": provider, "name": "x", "secrets": secrets, "options": options});
        let (s, v) = app
            .api(Method::POST, "/api/v1/connections", Some(body))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{options}: {v}");
        assert_eq!(v["error"]["code"], code, "{options}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(named),
            "{v}"
        );
    }
    let body = json!({"provider": "twillio", "name": "x", "secrets": twilio});
    let (s, v) = app
        .api(Method::POST, "/api/v1/connections", Some(body))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "unknown_provider", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("twilio, "),
        "the valid ids are named: {message}"
    );
    let body = json!({"provider": "bandwidth", "name": "x",
        "secrets": {"callback_username": "u", "callback_password": "p"},
        "options": {"account_id": "9900000"}});
    let (s, v) = app
        .api(Method::POST, "/api/v1/connections", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.stop().await;
}
