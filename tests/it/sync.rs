//! Tenant sync with the upstream directory (a wiremock server).

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn upstream_tenant(id: &str, name: &str, zips: &[&str]) -> Value {
    json!({"tenant_id": id, "name": name, "zip_codes": zips, "trades": ["hvac"], "booking_url": format!("https://{id}.example.com/bookings")})
}

/// Serves `body` as the directory document at /tenants.
async fn serve_directory(mock: &MockServer, body: Value) {
    mock.reset().await;
    Mock::given(method("GET"))
        .and(path("/tenants"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(mock)
        .await;
}

async fn sync(app: &TestApp) -> (StatusCode, Value) {
    app.api(Method::POST, "/api/v1/tenants/sync", None).await
}

async fn tenant_ids(app: &TestApp) -> Vec<String> {
    app.get("/api/v1/tenants").await["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn directory_app(mock: &MockServer, file_lines: &str) -> TestApp {
    let url = format!("{}/tenants", mock.uri());
    TestApp::spawn_with(&[("CALLGATE_DIRECTORY_URL", url.as_str())], file_lines).await
}

#[tokio::test]
async fn a_sync_adds_updates_and_removes_tenants_and_removed_tenants_numbers_stop_resolving() {
    let mock = MockServer::start().await;
    let app = directory_app(&mock, "").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-dallas", &["78701"], &["hvac"]).await;
    app.tenant("t-houston", &["77001"], &["hvac"]).await;
    app.number(
        "+15125550100",
        json!({"kind": "local", "tenant_id": "t-dallas"}),
    )
    .await;
    app.number(
        "+15125550300",
        json!({"kind": "regional", "tenant_ids": ["t-austin", "t-dallas"]}),
    )
    .await;
    // The helper's tenants as the upstream lists them: t-austin unchanged, t-houston
    // renamed, t-waco new, t-dallas gone.
    let mut listed = vec![
        json!({"tenant_id": "t-waco", "name": "Waco HVAC", "zip_codes": ["76701"], "trades": ["hvac"], "booking_url": null}),
        upstream_tenant("t-houston", "Houston Heating", &["77001"]),
        upstream_tenant("t-austin", "Tenant t-austin", &["78701"]),
    ];
    serve_directory(&mock, json!({ "tenants": listed })).await;
    let (s, v) = sync(&app).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"added": ["t-waco"], "updated": ["t-houston"], "removed": ["t-dallas"]})
    );
    assert_eq!(tenant_ids(&app).await, ["t-austin", "t-houston", "t-waco"]);
    assert_eq!(
        app.get("/api/v1/tenants/t-houston").await["name"],
        "Houston Heating"
    );
    let (s, _) = app.api(Method::GET, "/api/v1/tenants/t-dallas", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let hub = app.get("/api/v1/hub").await;
    assert!(!hub.to_string().contains("t-dallas"), "{hub}");
    let audit = audit_rows(&app, "tenants.synced").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "bootstrap");
    assert_eq!(audit[0].2, v);

    // The removed tenant's local number is unknown now; its regional number serves the rest.
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let local_sid = "CA91000000000000000000000000000001";
    let regional_sid = "CA91000000000000000000000000000002";
    deliver_all(
        &app,
        &conn,
        &[
            status(
                local_sid,
                "+15125550123",
                "+15125550100",
                "ringing",
                0,
                "Mon, 23 Nov 2026 18:00:01 +0000",
            ),
            status(
                regional_sid,
                "+15125550123",
                "+15125550300",
                "ringing",
                0,
                "Mon, 23 Nov 2026 18:00:01 +0000",
            ),
        ],
    )
    .await;
    let local = app.call_by_sid(local_sid).await;
    assert_eq!(local["number_kind"], "unknown");
    assert_eq!(local["tenant"]["status"], "pending");
    let regional = app.call_by_sid(regional_sid).await;
    let regional_id = regional["id"].as_str().unwrap();
    let found = app
        .get(&format!(
            "/api/v1/tenants/search?zip=78701&trade=hvac&call_id={regional_id}"
        ))
        .await;
    let found: Vec<_> = found["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["t-austin"]);
    let (s, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/calls/{regional_id}/tenant"),
            Some(json!({"tenant_id": "t-dallas"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // The same directory again changes nothing.
    let (s, v) = sync(&app).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({"added": [], "updated": [], "removed": []}));

    // t-dallas comes back upstream: it is added, and its local number resolves again.
    listed.push(upstream_tenant("t-dallas", "Dallas HVAC", &["78701"]));
    serve_directory(&mock, json!({ "tenants": listed })).await;
    let (_, v) = sync(&app).await;
    assert_eq!(
        v,
        json!({"added": ["t-dallas"], "updated": [], "removed": []})
    );
    let back_sid = "CA91000000000000000000000000000003";
    deliver_all(
        &app,
        &conn,
        &[status(
            back_sid,
            "+15125550123",
            "+15125550100",
            "ringing",
            0,
            "Mon, 23 Nov 2026 18:05:01 +0000",
        )],
    )
    .await;
    let back = app.call_by_sid(back_sid).await;
    assert_eq!(
        back["tenant"],
        json!({"status": "resolved", "tenant_id": "t-dallas", "via": "local_number"})
    );
    app.stop().await;
}

/// Each upstream failure answers its error, and nothing is written.
#[tokio::test]
async fn upstream_errors_answer_502_and_write_nothing() {
    let mock = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let app = directory_app(
        &mock,
        "directory_timeout_ms = 300\ndirectory_max_bytes = 4096",
    )
    .await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    let good = json!({"tenants": [upstream_tenant("t-new", "New", &["78701"])]});
    let padding = "x".repeat(5000);
    let cases: Vec<(&str, ResponseTemplate, &str, &str)> = vec![
        (
            "server error",
            ResponseTemplate::new(500),
            "directory_unavailable",
            "HTTP 500",
        ),
        (
            "not found",
            ResponseTemplate::new(404),
            "directory_unavailable",
            "HTTP 404",
        ),
        (
            "too slow",
            ResponseTemplate::new(200)
                .set_body_json(good.clone())
                .set_delay(std::time::Duration::from_secs(3)),
            "directory_unavailable",
            "did not answer within 300 ms",
        ),
        (
            "redirect to another host",
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/tenants", elsewhere.uri())),
            "directory_unavailable",
            "redirected",
        ),
        (
            "not JSON",
            ResponseTemplate::new(200).set_body_string("<html>"),
            "directory_invalid",
            "not {\"tenants\"",
        ),
        (
            "wrong shape",
            ResponseTemplate::new(200).set_body_json(json!([1, 2])),
            "directory_invalid",
            "not {\"tenants\"",
        ),
        (
            "an invalid tenant",
            ResponseTemplate::new(200).set_body_json(json!({"tenants": [
                upstream_tenant("t-new", "New", &["78701"]),
                {"tenant_id": "t-bad", "name": "Bad", "trades": ["Plumbing"]},
            ]})),
            "directory_invalid",
            "tenant #1 (\"t-bad\")",
        ),
        (
            "a tenant listed twice",
            ResponseTemplate::new(200).set_body_json(json!({"tenants": [
                upstream_tenant("t-new", "New", &["78701"]),
                upstream_tenant("t-new", "New again", &["78701"]),
            ]})),
            "directory_invalid",
            "listed twice",
        ),
        (
            "too large",
            ResponseTemplate::new(200).set_body_json(json!({"tenants": [], "padding": padding})),
            "directory_invalid",
            "larger than 4096 bytes",
        ),
    ];
    for (name, response, code, names) in cases {
        mock.reset().await;
        Mock::given(method("GET"))
            .and(path("/tenants"))
            .respond_with(response)
            .mount(&mock)
            .await;
        let (s, v) = sync(&app).await;
        assert_eq!(s, StatusCode::BAD_GATEWAY, "{name}: {v}");
        assert_eq!(v["error"]["code"], code, "{name}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{name}: {message}");
        assert!(
            !message.contains(&mock.uri()),
            "{name}: the URL is not shown"
        );
        assert_eq!(
            tenant_ids(&app).await,
            ["t-austin"],
            "{name}: nothing written"
        );
    }
    assert!(audit_rows(&app, "tenants.synced").await.is_empty());

    // A redirect within the same origin is followed.
    mock.reset().await;
    Mock::given(method("GET"))
        .and(path("/tenants"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/v2/tenants"))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/tenants"))
        .respond_with(ResponseTemplate::new(200).set_body_json(good))
        .mount(&mock)
        .await;
    let (s, v) = sync(&app).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"added": ["t-new"], "updated": [], "removed": ["t-austin"]})
    );
    app.stop().await;
}

#[tokio::test]
async fn sync_needs_a_directory_url_and_a_reachable_directory() {
    let app = TestApp::spawn().await;
    let (s, v) = sync(&app).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "directory_not_configured");
    app.stop().await;

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tenants", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::spawn_with(&[("CALLGATE_DIRECTORY_URL", url.as_str())], "").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    let (s, v) = sync(&app).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert_eq!(v["error"]["code"], "directory_unavailable");
    assert_eq!(tenant_ids(&app).await, ["t-austin"]);
    app.stop().await;
}

/// The settings screen: a user holding only `contact_center.settings` reads the tenant
/// details list (every tenant with its ZIP codes and trades, not only the tenants assigned
/// to the user) and syncs it, but writes no tenant, number or contact.
#[tokio::test]
async fn the_settings_permission_reads_the_tenant_details_and_syncs_them() {
    let mock = MockServer::start().await;
    let app = directory_app(&mock, "").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-dallas", &["75201", "75202"], &["plumbing"])
        .await;
    let settings = app
        .user_token("sam", &["contact_center.settings"], &["t-austin"])
        .await;

    let list = app.get_as(&settings, "/api/v1/tenants").await;
    let details: Vec<(Value, Value, Value)> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tenant_id"].clone(),
                t["zip_codes"].clone(),
                t["trades"].clone(),
            )
        })
        .collect();
    assert_eq!(
        details,
        [
            (json!("t-austin"), json!(["78701"]), json!(["hvac"])),
            (
                json!("t-dallas"),
                json!(["75201", "75202"]),
                json!(["plumbing"])
            ),
        ]
    );
    let one = app.get_as(&settings, "/api/v1/tenants/t-dallas").await;
    assert_eq!(one["zip_codes"], json!(["75201", "75202"]));

    let body = json!({"name": "Renamed", "zip_codes": ["78701"], "trades": ["hvac"]});
    for (m, p, b) in [
        (Method::PUT, "/api/v1/tenants/t-austin", Some(body)),
        (
            Method::PUT,
            "/api/v1/numbers/%2B15125550100",
            Some(json!({"kind": "national"})),
        ),
        (Method::GET, "/api/v1/numbers", None),
    ] {
        let (s, v) = app.api_as(&settings, m.clone(), p, b).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {p}: {v}");
    }
    assert_eq!(
        app.get("/api/v1/tenants/t-austin").await["name"],
        "Tenant t-austin"
    );

    serve_directory(
        &mock,
        json!({"tenants": [upstream_tenant("t-austin", "Austin HVAC", &["78701", "78702"])]}),
    )
    .await;
    let (s, v) = app
        .api_as(&settings, Method::POST, "/api/v1/tenants/sync", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["removed"], json!(["t-dallas"]));
    let list = app.get_as(&settings, "/api/v1/tenants").await;
    assert_eq!(list["tenants"][0]["zip_codes"], json!(["78701", "78702"]));
    app.stop().await;
}

/// Without the local-testing switch the upstream directory is held to the egress policy: a
/// URL written with a private address stops the start-up with a message naming the
/// setting (never the URL, which may hold credentials), and a name resolving to loopback is
/// refused at sync time (502), before any request reaches it.
#[tokio::test]
async fn a_private_directory_url_is_refused_by_default() {
    let mock = MockServer::start().await;
    serve_directory(
        &mock,
        json!({"tenants": [upstream_tenant("t-a", "A", &["78701"])]}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "http://sync:s3cret@127.0.0.1:8080/tenants",
        "http://169.254.169.254/latest",
        "https://[::ffff:10.0.0.1]/tenants",
    ] {
        let mut env = test_env(dir.path());
        env.insert("CALLGATE_DIRECTORY_URL".into(), url.into());
        env.insert(STRICT_EGRESS.0.into(), STRICT_EGRESS.1.into());
        let e = callgate::config::Config::load(None, &MapEnv(env))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("CALLGATE_DIRECTORY_URL") && e.contains("not allowed"),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "{e}");
    }

    let url = format!("http://localhost:{}/tenants", mock.address().port());
    let app = TestApp::spawn_with(
        &[("CALLGATE_DIRECTORY_URL", url.as_str()), STRICT_EGRESS],
        "",
    )
    .await;
    let (s, v) = sync(&app).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert_eq!(v["error"]["code"], "directory_unavailable");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not allowed"),
        "{v}"
    );
    assert!(tenant_ids(&app).await.is_empty());
    assert!(mock.received_requests().await.unwrap().is_empty());
    app.stop().await;
}
