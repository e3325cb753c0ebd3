//! Users, their tokens, and the audit trail of who changed what.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An audit record's time (RFC 3339 strings do not compare as times: `03Z` > `03.5Z`).
fn time_of(entry: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(entry["at"].as_str().unwrap(), &Rfc3339).unwrap()
}

fn actions(page: &Value) -> Vec<(String, String)> {
    page["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn users_are_created_replaced_and_listed() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "Ana", "permissions": ["contact_center.view", "contact_center.view"], "tenant_ids": ["t-dallas", "t-austin"]});
    let (s, v) = app
        .api(Method::PUT, "/api/v1/users/ana", Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["user_id"], "ana");
    assert_eq!(v["name"], "Ana");
    assert_eq!(v["permissions"], json!(["contact_center.view"]));
    assert_eq!(
        v["tenant_ids"],
        json!(["t-austin", "t-dallas"]),
        "sorted, tenants need not exist"
    );
    let created_at = v["created_at"].clone();

    let (s, v) = app.api(Method::PUT, "/api/v1/users/ana", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "the same again: {v}");
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/users/ana",
            Some(json!({"name": "Ana B.", "permissions": ["users.manage"], "tenant_ids": []})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["permissions"], json!(["users.manage"]));
    assert_eq!(v["tenant_ids"], json!([]));
    assert_eq!(v["created_at"], created_at);
    assert_eq!(app.get("/api/v1/users/ana").await, v);
    app.user("ben", &["contact_center.view"], &["t-austin"])
        .await;
    let list = app.get("/api/v1/users").await;
    let ids: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ana", "ben"]);
    let (s, v) = app.api(Method::GET, "/api/v1/users/nobody", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "user_not_found");

    // Creation and the two changes are audited with their diffs; the repeat is not.
    let audit = app.get("/api/v1/audit?actor=bootstrap&limit=3").await;
    let entries = audit["audit"].as_array().unwrap();
    assert_eq!(entries[0]["action"], "user.created");
    assert_eq!(entries[0]["detail"]["user_id"], "ben");
    assert_eq!(entries[1]["action"], "user.updated");
    assert_eq!(
        entries[1]["detail"],
        json!({
            "user_id": "ana",
            "name": {"before": "Ana", "after": "Ana B."},
            "permissions": {"added": ["users.manage"], "removed": ["contact_center.view"]},
            "tenant_ids": {"added": [], "removed": ["t-austin", "t-dallas"]},
        })
    );
    assert_eq!(entries[2]["action"], "user.created");
    assert_eq!(
        entries[2]["detail"]["tenant_ids"],
        json!({"added": ["t-austin", "t-dallas"], "removed": []})
    );
    app.stop().await;
}

/// An e-mail address is a user id: the user is created, acts with its token, and the audit
/// trail filters by it.
#[tokio::test]
async fn an_email_address_is_a_user_id() {
    let app = TestApp::spawn().await;
    let token = app
        .user_token("ana.b@example.com", &["users.manage"], &[])
        .await;
    let me = app.get("/api/v1/users/ana.b@example.com").await;
    assert_eq!(me["user_id"], "ana.b@example.com");
    let (s, v) = app
        .api_as(
            &token,
            Method::PUT,
            "/api/v1/users/ben@example.com",
            Some(json!({"name": "Ben", "permissions": [], "tenant_ids": []})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let trail = app
        .get("/api/v1/audit?actor=ana.b@example.com&action=user.created")
        .await;
    let subjects: Vec<&Value> = trail["audit"].as_array().unwrap().iter().collect();
    assert_eq!(subjects.len(), 1, "{trail}");
    assert_eq!(subjects[0]["actor"], "ana.b@example.com");
    let long = format!("{}@example.com", "a".repeat(120));
    let (s, v) = app
        .api(
            Method::PUT,
            &format!("/api/v1/users/{long}"),
            Some(json!({"name": "Long", "permissions": [], "tenant_ids": []})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_id"))
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_user_input_gets_clear_400s_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let put = |path: &'static str, ct: &'static str, body: &'static str| {
        app.http
            .put(format!("{}{path}", app.base))
            .bearer_auth(TOKEN)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let cases: [(&str, &str, &str, &str, u16, &str); 10] = [
        (
            "unknown permission",
            "/api/v1/users/ana",
            "application/json",
            r#"{"name":"Ana","permissions":["contact_center.admin"],"tenant_ids":[]}"#,
            400,
            "unknown_permission",
        ),
        (
            "permission in the wrong case",
            "/api/v1/users/ana",
            "application/json",
            r#"{"name":"Ana","permissions":["Users.Manage"],"tenant_ids":[]}"#,
            400,
            "unknown_permission",
        ),
        (
            "missing permissions",
            "/api/v1/users/ana",
            "application/json",
            r#"{"name":"Ana","tenant_ids":[]}"#,
            400,
            "missing_field",
        ),
        (
            "missing name",
            "/api/v1/users/ana",
            "application/json",
            r#"{"permissions":[],"tenant_ids":[]}"#,
            400,
            "missing_field",
        ),
        (
            "blank name",
            "/api/v1/users/ana",
            "application/json",
            r#"{"name":"  ","permissions":[],"tenant_ids":[]}"#,
            400,
            "invalid_name",
        ),
        (
            "malformed tenant id",
            "/api/v1/users/ana",
            "application/json",
            r#"{"name":"Ana","permissions":[],"tenant_ids":["t austin"]}"#,
            400,
            "invalid_tenant_id",
        ),
        (
            "malformed user id",
            "/api/v1/users/a%20na",
            "application/json",
            r#"{"name":"Ana","permissions":[],"tenant_ids":[]}"#,
            400,
            "invalid_id",
        ),
        (
            "reserved user id",
            "/api/v1/users/bootstrap",
            "application/json",
            r#"{"name":"Ana","permissions":[],"tenant_ids":[]}"#,
            400,
            "reserved_user_id",
        ),
        (
            "unknown field",
            "/api/v1/users/ana",
            "application/json",
            r#"{"name":"Ana","permissions":[],"tenant_ids":[],"role":"admin"}"#,
            400,
            "malformed_json",
        ),
        (
            "not JSON",
            "/api/v1/users/ana",
            "text/plain",
            r#"{"name":"Ana","permissions":[],"tenant_ids":[]}"#,
            415,
            "unsupported_media_type",
        ),
    ];
    for (name, path, ct, body, status, code) in cases {
        let res = put(path, ct, body).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{name}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{name}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().len() > 5, "{name}");
    }
    assert_eq!(app.get("/api/v1/users").await, json!({"users": []}));
    assert_eq!(count_rows(&app, "audit").await, 0, "nothing audited");
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_shown_once_stored_as_a_hash_and_revoked_at_once() {
    let app = TestApp::spawn().await;
    app.user("ana", &["contact_center.view"], &[]).await;
    let (s, created) = app
        .api(Method::POST, "/api/v1/users/ana/tokens", None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let token_id = created["token_id"].as_str().unwrap().to_owned();
    assert!(
        token.starts_with("cgt_") && token.len() >= 4 + 43,
        "{token}"
    );
    assert_eq!(created["user_id"], "ana");
    assert_eq!(created["created_by"], "bootstrap");
    let (other_id, _) = app.token("ana").await;

    let (s, _) = app.api_as(&token, Method::GET, "/api/v1/calls", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .api_as(
            &format!("Bearer {token}"),
            Method::GET,
            "/api/v1/calls",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = app
        .api_as(&format!("{token}x"), Method::GET, "/api/v1/calls", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Listed without values; stored as the SHA-256 of the value only.
    let listed = app.get("/api/v1/users/ana/tokens").await;
    assert!(!listed.to_string().contains(&token));
    let ids: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [token_id.as_str(), other_id.as_str()]);
    let store = app.running.as_ref().unwrap().state.store.clone();
    let tid = token_id.clone();
    let hash: Vec<u8> = store
        .read(move |c| {
            c.query_one(
                "SELECT hash FROM tokens WHERE id = ?1",
                callgate::store::db::args![tid],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(hash, Sha256::digest(token.as_bytes()).to_vec());
    let bytes = stored_bytes(&app).await;
    assert!(
        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
        "the store holds the token's value"
    );

    let (s, v) = app.revoke("ana", &token_id).await;
    assert_eq!((s, v), (StatusCode::NO_CONTENT, Value::Null));
    let (s, v) = app.api_as(&token, Method::GET, "/api/v1/calls", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = app.revoke("ana", &token_id).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "revoking again is harmless");
    let listed = app.get("/api/v1/users/ana/tokens").await;
    assert!(listed["tokens"][0]["revoked_at"].is_string());
    assert!(listed["tokens"][1]["revoked_at"].is_null());

    for (method, path, code) in [
        (
            Method::POST,
            "/api/v1/users/nobody/tokens",
            "user_not_found",
        ),
        (Method::GET, "/api/v1/users/nobody/tokens", "user_not_found"),
        (
            Method::DELETE,
            "/api/v1/users/nobody/tokens/tok_x",
            "user_not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/users/ana/tokens/tok_x",
            "token_not_found",
        ),
    ] {
        let (s, v) = app.api(method.clone(), path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], code, "{method} {path}");
    }

    let trail = app.get("/api/v1/audit?action=token.revoked").await;
    assert_eq!(
        trail["audit"].as_array().unwrap().len(),
        1,
        "audited once: {trail}"
    );
    assert_eq!(
        trail["audit"][0]["detail"],
        json!({"user_id": "ana", "token_id": token_id})
    );
    let trail = app.get("/api/v1/audit").await;
    assert!(
        !trail.to_string().contains(&token),
        "the audit shows a token"
    );
    app.stop().await;
}

/// Changes carry the principal who made them: a manager's user changes and tokens, an ops
/// user's connection, a settings change.
#[tokio::test]
async fn changes_are_audited_with_the_acting_principal() {
    let app = TestApp::spawn().await;
    let manager = app
        .user_token(
            "mia",
            &["users.manage", "contact_center.view"],
            &["t-austin"],
        )
        .await;
    let ops = app
        .user_token(
            "otto",
            &["connections.manage", "contact_center.settings"],
            &[],
        )
        .await;
    let (s, v) = app
        .api_as(
            &manager,
            Method::PUT,
            "/api/v1/users/ana",
            Some(json!({"name": "Ana", "permissions": ["contact_center.view"], "tenant_ids": ["t-austin"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .api_as(&manager, Method::POST, "/api/v1/users/ana/tokens", None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["created_by"], "mia");
    let (s, v) = app
        .api_as(
            &ops,
            Method::POST,
            "/api/v1/connections",
            Some(json!({"provider": "twilio", "name": "Main", "secrets": {"auth_token": AUTH_TOKEN}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let conn = v["id"].as_str().unwrap().to_owned();
    let (s, _) = app
        .api_as(
            &ops,
            Method::POST,
            &format!("/api/v1/connections/{conn}/disable"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .api_as(
            &ops,
            Method::PUT,
            "/api/v1/settings",
            Some(json!({"national_search_mode": "zip_only"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let trail = app.get_as(&manager, "/api/v1/audit").await;
    assert_eq!(
        actions(&trail),
        [
            ("settings.changed", "otto"),
            ("connection.disabled", "otto"),
            ("connection.created", "otto"),
            ("token.created", "mia"),
            ("user.created", "mia"),
            ("token.created", "bootstrap"),
            ("user.created", "bootstrap"),
            ("token.created", "bootstrap"),
            ("user.created", "bootstrap"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let settings = &trail["audit"][0];
    assert_eq!(
        settings["detail"],
        json!({"before": {"national_search_mode": "zip_and_trade"}, "after": {"national_search_mode": "zip_only"}})
    );
    assert!(settings["at"].as_str().unwrap().ends_with('Z'));
    app.stop().await;
}

/// The audit listing: filters, newest first, pages by cursor, and 400 for bad filters.
#[tokio::test]
async fn the_audit_trail_filters_and_pages_newest_first() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    app.number("+18005550199", json!({"kind": "national"}))
        .await;
    let ana = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let austin_manager = app
        .user_token("mia", &["users.manage"], &["t-austin"])
        .await;
    let mut calls = Vec::new();
    for (i, (token, tenant)) in [(ana.as_str(), "t-austin"), (TOKEN, "t-dallas")]
        .into_iter()
        .enumerate()
    {
        let sid = format!("CA8000000000000000000000000000000{i}");
        let ring = ringing(&sid, "+15125550123", "+18005550199");
        deliver_all(&app, &conn, &[ring]).await;
        let id = app.call_by_sid(&sid).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, v) = app
            .api_as(
                token,
                Method::POST,
                &format!("/api/v1/calls/{id}/tenant"),
                Some(json!({"tenant_id": tenant})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        calls.push(id);
    }

    let all = app.get("/api/v1/audit?limit=1000").await;
    let entries = all["audit"].as_array().unwrap();
    assert!(all["next_cursor"].is_null());
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let mut paged = Vec::new();
    let mut path = "/api/v1/audit?limit=2".to_owned();
    loop {
        let page = app.get(&path).await;
        assert!(page["audit"].as_array().unwrap().len() <= 2);
        paged.extend(page["audit"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/audit?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(&paged, entries);

    let selected = app.get("/api/v1/audit?action=tenant.selected").await;
    assert_eq!(
        actions(&selected),
        [
            ("tenant.selected".to_owned(), "bootstrap".to_owned()),
            ("tenant.selected".to_owned(), "ana".to_owned())
        ]
    );
    let by_ana = app.get("/api/v1/audit?actor=ana").await;
    assert_eq!(by_ana["audit"].as_array().unwrap().len(), 1);
    assert_eq!(by_ana["audit"][0]["call_id"], calls[0].as_str());
    let of_call = app
        .get(&format!("/api/v1/audit?call_id={}", calls[1]))
        .await;
    assert!(
        of_call["audit"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["call_id"] == calls[1].as_str())
    );
    assert!(!of_call["audit"].as_array().unwrap().is_empty());
    let of_tenant = app.get("/api/v1/audit?tenant_id=t-austin&actor=ana").await;
    assert_eq!(of_tenant["audit"].as_array().unwrap().len(), 1);
    let none = app
        .get("/api/v1/audit?tenant_id=t-austin&actor=bootstrap&action=tenant.selected")
        .await;
    assert_eq!(none["audit"], json!([]));

    // Time windows: [since, ...) and (..., until) split the trail at any record's time.
    for e in entries {
        let at = e["at"].as_str().unwrap();
        let since = app
            .get(&format!("/api/v1/audit?limit=1000&since={at}"))
            .await;
        let until = app
            .get(&format!("/api/v1/audit?limit=1000&until={at}"))
            .await;
        let (a, b) = (
            since["audit"].as_array().unwrap(),
            until["audit"].as_array().unwrap(),
        );
        assert!(a.iter().all(|x| time_of(x) >= time_of(e)));
        assert!(b.iter().all(|x| time_of(x) < time_of(e)));
        assert_eq!(a.len() + b.len(), entries.len());
        assert!(a.contains(e));
    }

    // A manager limited to Austin sees Austin's call and the records of no call and no
    // tenant, never Dallas's.
    let scoped = app
        .get_as(&austin_manager, "/api/v1/audit?limit=1000")
        .await;
    let scoped = scoped["audit"].as_array().unwrap();
    assert!(scoped.iter().any(|e| e["call_id"] == calls[0].as_str()));
    assert!(scoped.iter().any(|e| e["action"] == "user.created"));
    assert!(
        scoped
            .iter()
            .all(|e| e["call_id"] != calls[1].as_str() && e["tenant_id"] != "t-dallas"),
        "{scoped:?}"
    );

    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=1001", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("cursor=abc", "invalid_cursor"),
        ("since=yesterday", "invalid_since"),
        ("until=2026-13-01T00:00:00Z", "invalid_until"),
        (
            "since=2026-11-23T00:00:00Z&until=2026-11-22T00:00:00Z",
            "invalid_range",
        ),
        ("action=Tenant%20Selected", "invalid_action"),
        ("actor=a%20b", "invalid_id"),
        ("call_id=%2Fetc", "invalid_id"),
        ("colour=red", "bad_request"),
    ] {
        let (s, v) = app
            .api(Method::GET, &format!("/api/v1/audit?{query}"), None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert_eq!(v["error"]["code"], code, "{query}");
    }
    app.stop().await;
}

/// A manager grants only what it holds, and changes only users who hold no more than it does;
/// the bootstrap token is exempt.
#[tokio::test]
async fn a_manager_grants_only_what_it_holds() {
    let app = TestApp::spawn().await;
    let mia = app
        .user_token("mia", &["users.manage", "contact_center.view"], &["t-a"])
        .await;
    app.user(
        "boss",
        &["users.manage", "connections.manage"],
        &["t-a", "t-b"],
    )
    .await;
    app.user("peer", &["contact_center.view"], &["t-a"]).await;
    let put = async |id: &str, permissions: Value, tenants: Value| {
        let path = format!("/api/v1/users/{id}");
        let body = json!({"name": "Someone", "permissions": permissions, "tenant_ids": tenants});
        app.api_as(&mia, Method::PUT, &path, Some(body)).await
    };
    let refused = [
        // More permissions, for itself and for others.
        (
            "mia",
            json!(["users.manage", "contact_center.view", "connections.manage"]),
            json!(["t-a"]),
        ),
        ("new", json!(["feeds.write"]), json!([])),
        // More tenants.
        ("mia", json!(["users.manage"]), json!(["t-a", "t-b"])),
        ("new", json!(["contact_center.view"]), json!(["t-b"])),
        // A user who holds more, even when the change would narrow them.
        ("boss", json!(["contact_center.view"]), json!(["t-a"])),
    ];
    for (id, permissions, tenants) in refused {
        let (s, v) = put(id, permissions.clone(), tenants.clone()).await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "{id} {permissions} {tenants}: {v}"
        );
        assert_eq!(v["error"]["code"], "forbidden");
    }
    let me = app.get("/api/v1/users/mia").await;
    assert_eq!(
        me["permissions"],
        json!(["contact_center.view", "users.manage"])
    );
    assert_eq!(me["tenant_ids"], json!(["t-a"]));
    let boss = app.get("/api/v1/users/boss").await;
    assert_eq!(boss["tenant_ids"], json!(["t-a", "t-b"]));
    let (s, _) = app.api(Method::GET, "/api/v1/users/new", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was created");

    // A token carries its user's rights: none for a user who holds more, nor a revocation.
    let (s, v) = app
        .api_as(&mia, Method::POST, "/api/v1/users/boss/tokens", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (boss_token_id, _) = app.token("boss").await;
    let (s, v) = app
        .api_as(
            &mia,
            Method::DELETE,
            &format!("/api/v1/users/boss/tokens/{boss_token_id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(
        app.get("/api/v1/users/boss/tokens").await["tokens"][0]["revoked_at"],
        Value::Null
    );

    // Within its own rights: allowed.
    let (s, v) = put("new", json!(["contact_center.view"]), json!(["t-a"])).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = put("peer", json!([]), json!(["t-a"])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .api_as(&mia, Method::POST, "/api/v1/users/peer/tokens", None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The bootstrap token grants anything.
    app.user("peer", &["feeds.write", "users.manage"], &["t-z"])
        .await;
    app.stop().await;
}

/// A tenant-scoped manager reads only the users within its reach (whose permissions and
/// tenants are all among its own); any other is as unknown (404), its tokens too. The
/// bootstrap token reads them all.
#[tokio::test]
async fn a_manager_reads_only_users_within_its_reach() {
    let app = TestApp::spawn().await;
    let mia = app
        .user_token("mia", &["users.manage", "contact_center.view"], &["t-a"])
        .await;
    app.user("boss", &["users.manage"], &["t-a", "t-b"]).await;
    app.user("admin", &["connections.manage"], &["t-a"]).await;
    app.user("peer", &["contact_center.view"], &["t-a"]).await;
    let (s, v) = app.api_as(&mia, Method::GET, "/api/v1/users", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut ids: Vec<&str> = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["user_id"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["mia", "peer"]);
    for path in [
        "/api/v1/users/boss",
        "/api/v1/users/admin",
        "/api/v1/users/boss/tokens",
        "/api/v1/users/admin/tokens",
        "/api/v1/users/nobody",
        "/api/v1/users/nobody/tokens",
    ] {
        let (s, v) = app.api_as(&mia, Method::GET, path, None).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("user_not_found")),
            "{path}: {v}"
        );
    }
    for path in ["/api/v1/users/peer", "/api/v1/users/peer/tokens"] {
        let (s, v) = app.api_as(&mia, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    let all = app.get("/api/v1/users").await;
    assert_eq!(all["users"].as_array().map(Vec::len), Some(4), "{all}");
    assert_eq!(app.get("/api/v1/users/boss").await["user_id"], "boss");
    app.stop().await;
}
