//! Authorization: every route of the OpenAPI document against every permission, and what
//! agents assigned different tenants see.

use crate::support::*;
use crate::tidy::openapi;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const PERMISSIONS: [&str; 7] = [
    "contact_center.view",
    "contact_center.settings",
    "users.manage",
    "directory.manage",
    "connections.manage",
    "feeds.write",
    "privacy.manage",
];

/// A value for each path parameter of the document. Ids that name nothing are fine: the
/// matrix only asks whether the caller got past authentication and authorization.
fn path_value(name: &str) -> &'static str {
    match name {
        "call_id" => "call-nope",
        "tenant_id" => "t-austin",
        "e164" => "%2B15125550100",
        "id" => "conn_nope",
        "user_id" => "u-target",
        "token_id" => "tok_nope",
        "thread_id" => "th-nope",
        "booking_id" => "wb-nope",
        other => panic!("the authorization matrix has no value for the path parameter {other}"),
    }
}

fn fill(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str(path_value(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// One operation of the document.
struct Operation {
    method: Method,
    path: String,
    /// The permissions that admit the caller (any one of them).
    permissions: Vec<String>,
    /// The request body example, when the operation takes a body.
    example: Option<Value>,
}

/// Every bearer-token operation of the document, with the permission it names.
fn operations() -> Vec<Operation> {
    let doc = openapi();
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            // Webhooks are authenticated by their provider's scheme (webhooks.rs and each
            // provider's tests); `security: []` is public.
            let public = op["security"] == json!([]);
            let signed = path.starts_with("/webhooks/");
            if public || signed {
                assert!(
                    op.get("x-required-permission").is_none(),
                    "{method} {path}: a public route names a permission"
                );
                continue;
            }
            let named = &op["x-required-permission"];
            let permissions: Vec<String> = match named {
                Value::String(one) => vec![one.clone()],
                Value::Array(any) => any
                    .iter()
                    .filter_map(|p| p.as_str())
                    .map(Into::into)
                    .collect(),
                _ => panic!("{method} {path} names no x-required-permission"),
            };
            assert!(
                !permissions.is_empty(),
                "{method} {path}: an empty permission list"
            );
            for permission in &permissions {
                assert!(
                    PERMISSIONS.contains(&permission.as_str()),
                    "{method} {path}: unknown permission {permission}"
                );
            }
            // `example`, or else the first of `examples`.
            let content = &op["requestBody"]["content"]["application/json"];
            let example = content.get("example").cloned().or_else(|| {
                content["examples"]
                    .as_object()
                    .and_then(|all| all.values().next())
                    .map(|e| e["value"].clone())
            });
            if op.get("requestBody").is_some() {
                assert!(
                    example.is_some(),
                    "{method} {path}: the request body has no example"
                );
            }
            out.push(Operation {
                method: m,
                path: path.clone(),
                permissions,
                example,
            });
        }
    }
    out
}

async fn send(app: &TestApp, op: &Operation, token: Option<&str>, with_body: bool) -> StatusCode {
    let mut req = app
        .http
        .request(op.method.clone(), format!("{}{}", app.base, fill(&op.path)));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if with_body && let Some(body) = &op.example {
        req = req.json(body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer",
            "{} {}",
            op.method,
            op.path
        );
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        let v: Value = res.json().await.unwrap();
        let want = if status == StatusCode::UNAUTHORIZED {
            "unauthorized"
        } else {
            "forbidden"
        };
        assert_eq!(v["error"]["code"], want, "{} {}", op.method, op.path);
    }
    status
}

/// Every operation: 401 without a valid token, 403 with a token lacking the operation's
/// permission (sent without its body: the permission is checked first), and neither with a
/// token holding only that permission.
#[tokio::test]
async fn every_route_refuses_the_wrong_permissions_and_admits_its_own() {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    let mut holders = BTreeMap::new();
    for p in PERMISSIONS {
        let id = format!("only-{}", p.replace('.', "-"));
        holders.insert(p, app.user_token(&id, &[p], &["t-austin"]).await);
    }
    let nothing = app.user_token("no-permissions", &[], &["t-austin"]).await;
    let (revoked_id, revoked) = app.token("no-permissions").await;
    let (s, _) = app.revoke("no-permissions", &revoked_id).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let mut ops = operations();
    // A manager grants only what it holds, and changes only users who hold no more than it
    // does: the target user gets what the `users.manage` holder has, so that every users
    // route admits that holder.
    for op in &mut ops {
        if op.method == Method::PUT && op.path == "/api/v1/users/{user_id}" {
            op.example = Some(
                json!({"name": "Target", "permissions": ["users.manage"], "tenant_ids": ["t-austin"]}),
            );
        }
    }
    assert!(ops.len() > 25, "operations found: {}", ops.len());
    for op in &ops {
        let what = format!("{} {}", op.method, op.path);
        for token in [
            None,
            Some("wrong-token"),
            Some("cgt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            Some(revoked.as_str()),
        ] {
            assert_eq!(
                send(&app, op, token, true).await,
                StatusCode::UNAUTHORIZED,
                "{what} with {token:?}"
            );
        }
        assert_eq!(
            send(&app, op, Some(&nothing), false).await,
            StatusCode::FORBIDDEN,
            "{what} without permissions"
        );
        for (p, token) in &holders {
            let admitted = op.permissions.iter().any(|named| named == p);
            let status = send(&app, op, Some(token), admitted).await;
            if admitted {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{what} with only {p}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what} with only {p}");
            }
        }
        let status = send(&app, op, Some(TOKEN), true).await;
        assert!(
            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
            "{what} with the bootstrap token: {status}"
        );
    }
    app.stop().await;
}

const AUSTIN_LOCAL: &str = "+15125550100";
const DALLAS_LOCAL: &str = "+12145550100";
const NATIONAL: &str = "+18005550199";
const CALLER: &str = "+15125550123";

/// Two agents with different tenants, one with none, and calls of each kind.
struct Floor {
    app: TestApp,
    ana: String,
    ben: String,
    cy: String,
    /// Call ids by name: `austin`, `pending`, `unresolved`, `dallas1`..`dallas3`.
    calls: BTreeMap<&'static str, String>,
}

async fn floor() -> Floor {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-dallas", &["78701", "75201"], &["hvac"]).await;
    app.number(
        AUSTIN_LOCAL,
        json!({"kind": "local", "tenant_id": "t-austin"}),
    )
    .await;
    app.number(
        DALLAS_LOCAL,
        json!({"kind": "local", "tenant_id": "t-dallas"}),
    )
    .await;
    app.number(NATIONAL, json!({"kind": "national"})).await;
    let view = ["contact_center.view"];
    let ana = app.user_token("ana", &view, &["t-austin"]).await;
    let ben = app.user_token("ben", &view, &["t-dallas"]).await;
    let cy = app.user_token("cy", &view, &[]).await;

    // Oldest first: the Dallas calls are the newest, so a page cut before filtering would
    // hold none of Ana's calls.
    let plan: [(&str, &str, &str); 6] = [
        ("austin", "CA90000000000000000000000000000001", AUSTIN_LOCAL),
        ("pending", "CA90000000000000000000000000000002", NATIONAL),
        ("unresolved", "CA90000000000000000000000000000003", NATIONAL),
        (
            "dallas1",
            "CA90000000000000000000000000000004",
            DALLAS_LOCAL,
        ),
        (
            "dallas2",
            "CA90000000000000000000000000000005",
            DALLAS_LOCAL,
        ),
        (
            "dallas3",
            "CA90000000000000000000000000000006",
            DALLAS_LOCAL,
        ),
    ];
    let mut calls = BTreeMap::new();
    for (name, sid, to) in plan {
        deliver_all(&app, &conn, &[ringing(sid, CALLER, to)]).await;
        if name == "unresolved" {
            let end = status(
                sid,
                CALLER,
                to,
                "completed",
                1,
                "Mon, 23 Nov 2026 18:01:00 +0000",
            );
            deliver_all(&app, &conn, &[end]).await;
        }
        let id = app.call_by_sid(sid).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        calls.insert(name, id);
    }
    Floor {
        app,
        ana,
        ben,
        cy,
        calls,
    }
}

impl Floor {
    /// The names of the calls `token` lists, newest first, following every cursor.
    async fn listed(&self, token: &str, query: &str) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => format!("/api/v1/calls?{query}"),
                Some(c) => format!("/api/v1/calls?{query}&cursor={c}"),
            };
            let page = self.app.get_as(token, &path).await;
            for c in page["calls"].as_array().unwrap() {
                let id = c["id"].as_str().unwrap();
                let name = self.calls.iter().find(|(_, v)| *v == id).unwrap().0;
                names.push(*name);
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return names,
            }
        }
    }

    fn call(&self, name: &str) -> &str {
        &self.calls[name]
    }

    async fn tenant_search(&self, token: &str, extra: &str) -> (StatusCode, Value) {
        self.app
            .api_as(
                token,
                Method::GET,
                &format!("/api/v1/tenants/search?zip=78701&trade=hvac{extra}"),
                None,
            )
            .await
    }
}

fn tenant_ids(v: &Value) -> Vec<&str> {
    v["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap())
        .collect()
}

/// Each agent lists the calls of its tenants and the pending ones, page after full page:
/// visibility is applied before the limit.
#[tokio::test]
async fn call_lists_hold_the_agents_tenants_and_pending_calls() {
    let f = floor().await;
    assert_eq!(f.listed(&f.ana, "").await, ["pending", "austin"]);
    assert_eq!(
        f.listed(&f.ben, "").await,
        ["dallas3", "dallas2", "dallas1", "pending"]
    );
    assert_eq!(
        f.listed(&f.cy, "").await,
        ["pending"],
        "no tenants: pending calls only"
    );
    assert_eq!(
        f.listed(TOKEN, "").await,
        [
            "dallas3",
            "dallas2",
            "dallas1",
            "unresolved",
            "pending",
            "austin"
        ]
    );

    // The three newest calls are Dallas's: a full page for Ana still holds two of hers.
    let page = f.app.get_as(&f.ana, "/api/v1/calls?limit=2").await;
    assert_eq!(page["calls"].as_array().unwrap().len(), 2, "{page}");
    assert!(page["next_cursor"].is_string());
    for limit in [1, 3] {
        assert_eq!(
            f.listed(&f.ana, &format!("limit={limit}")).await,
            ["pending", "austin"],
            "limit {limit}"
        );
        assert_eq!(
            f.listed(&f.ben, &format!("limit={limit}")).await,
            ["dallas3", "dallas2", "dallas1", "pending"],
            "limit {limit}"
        );
    }
    assert!(f.listed(&f.ana, "tenant_id=t-dallas").await.is_empty());
    assert_eq!(
        f.listed(&f.ben, "tenant_id=t-dallas&limit=1").await,
        ["dallas3", "dallas2", "dallas1"]
    );
    f.app.stop().await;
}

/// A call an agent does not see answers 404 everywhere, exactly like an unknown call.
#[tokio::test]
async fn an_invisible_call_is_not_found_by_any_route() {
    let f = floor().await;
    let unknown = f
        .app
        .api_as(&f.ana, Method::GET, "/api/v1/calls/call-nope", None)
        .await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND);
    for name in ["dallas1", "unresolved"] {
        let id = f.call(name);
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/calls/{id}"), None),
            (Method::GET, format!("/api/v1/calls/{id}/audit"), None),
            (Method::POST, format!("/api/v1/calls/{id}/claim"), None),
            (
                Method::POST,
                format!("/api/v1/calls/{id}/go-to-tenant"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/calls/{id}/tenant"),
                Some(json!({"tenant_id": "t-austin"})),
            ),
        ] {
            // Also entering a tenant on the ended, unresolved call, which the agent saw only
            // while it was pending: 404 as for an unknown id, never 409 `call_ended`, which
            // would tell that it exists.
            let (s, v) = f.app.api_as(&f.ana, method.clone(), &path, body).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {v}");
            assert_eq!(v["error"], unknown.1["error"], "{method} {path}");
        }
    }
    // Whoever sees the ended call is told what it is.
    let (s, v) = f
        .app
        .api(
            Method::POST,
            &format!("/api/v1/calls/{}/tenant", f.call("unresolved")),
            Some(json!({"tenant_id": "t-austin"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("call_ended"))
    );
    // What each does see.
    f.app
        .get_as(&f.ana, &format!("/api/v1/calls/{}", f.call("austin")))
        .await;
    f.app
        .get_as(&f.ben, &format!("/api/v1/calls/{}", f.call("dallas1")))
        .await;
    for token in [&f.ana, &f.ben, &f.cy] {
        f.app
            .get_as(token, &format!("/api/v1/calls/{}", f.call("pending")))
            .await;
    }
    f.app
        .get_as(TOKEN, &format!("/api/v1/calls/{}", f.call("unresolved")))
        .await;
    f.app.stop().await;
}

/// Entering a tenant the agent does not see is refused (403); once entered, the call
/// belongs to that tenant and leaves the other agents' view.
#[tokio::test]
async fn agents_enter_only_their_tenants_and_then_only_those_agents_see_the_call() {
    let f = floor().await;
    let pending = f.call("pending").to_owned();
    let enter = |token: String, tenant: &'static str| {
        let path = format!("/api/v1/calls/{pending}/tenant");
        let app = &f.app;
        async move {
            app.api_as(
                &token,
                Method::POST,
                &path,
                Some(json!({"tenant_id": tenant})),
            )
            .await
        }
    };
    for (token, tenant) in [
        (&f.ana, "t-dallas"),
        (&f.cy, "t-austin"),
        (&f.ben, "t-austin"),
    ] {
        let (s, v) = enter(token.clone(), tenant).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{tenant}: {v}");
        assert_eq!(v["error"]["code"], "forbidden");
    }
    // An unknown tenant is 404 before any question of visibility.
    let (s, v) = enter(f.ana.clone(), "t-nowhere").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["code"], "tenant_not_found");
    let (s, v) = f
        .app
        .api_as(
            &f.ana,
            Method::POST,
            &format!("/api/v1/calls/{pending}/claim"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["call"]["agent_id"], "ana");
    let (s, v) = enter(f.ana.clone(), "t-austin").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["call"]["tenant"]["tenant_id"], "t-austin");

    let audit = f
        .app
        .get_as(&f.ana, &format!("/api/v1/calls/{pending}/audit"))
        .await;
    let entries: Vec<(&str, &str)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        entries,
        [("call.claimed", "ana"), ("tenant.selected", "ana")]
    );

    let (s, _) = f
        .app
        .api_as(
            &f.ben,
            Method::GET,
            &format!("/api/v1/calls/{pending}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the call is Austin's now");
    assert!(!f.listed(&f.ben, "").await.contains(&"pending"));
    assert!(!f.listed(&f.cy, "").await.contains(&"pending"));
    assert_eq!(f.listed(&f.ana, "").await, ["pending", "austin"]);

    // The bootstrap moves the call to Dallas ("find different tenant"): Ben sees it, and
    // its audit trail, less Ana's choice of a tenant he does not see.
    let (s, v) = f
        .app
        .api(
            Method::POST,
            &format!("/api/v1/calls/{pending}/tenant"),
            Some(json!({"tenant_id": "t-dallas"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ben_sees = f.app.audit_actions_as(&f.ben, &pending).await;
    assert_eq!(
        ben_sees,
        ["call.claimed", "tenant.selected"],
        "{ben_sees:?}"
    );
    let all = f.app.audit_actions(&pending).await;
    assert_eq!(all, ["call.claimed", "tenant.selected", "tenant.selected"]);
    f.app.stop().await;
}

/// A user's tenants may name tenants the directory does not list yet: once the tenant
/// exists, the user can enter it.
#[tokio::test]
async fn a_tenant_assigned_before_it_exists_becomes_usable_when_it_is_added() {
    let f = floor().await;
    let dee = f
        .app
        .user_token("dee", &["contact_center.view"], &["t-future"])
        .await;
    let path = format!("/api/v1/calls/{}/tenant", f.call("pending"));
    let body = json!({"tenant_id": "t-future"});
    let (s, v) = f
        .app
        .api_as(&dee, Method::POST, &path, Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["code"], "tenant_not_found");
    f.app.tenant("t-future", &["78701"], &["hvac"]).await;
    let (s, v) = f.app.api_as(&dee, Method::POST, &path, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    f.app.stop().await;
}

/// Searches return only the tenants the agent sees; a call the agent does not see cannot
/// scope a search.
#[tokio::test]
async fn search_results_hold_only_visible_tenants() {
    let f = floor().await;
    for (token, want) in [
        (TOKEN, vec!["t-austin", "t-dallas"]),
        (f.ana.as_str(), vec!["t-austin"]),
        (f.ben.as_str(), vec!["t-dallas"]),
        (f.cy.as_str(), vec![]),
    ] {
        let (s, v) = f.tenant_search(token, "").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(tenant_ids(&v), want);
    }
    let (s, v) = f
        .tenant_search(&f.ana, &format!("&call_id={}", f.call("pending")))
        .await;
    assert_eq!((s, tenant_ids(&v)), (StatusCode::OK, vec!["t-austin"]));
    let (s, v) = f
        .tenant_search(&f.ana, &format!("&call_id={}", f.call("dallas1")))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["code"], "call_not_found");
    f.app.stop().await;
}

/// A change to a user applies to the next request; a revoked token is refused at once.
#[tokio::test]
async fn user_changes_and_revocations_apply_to_the_next_request() {
    let f = floor().await;
    assert_eq!(f.listed(&f.ana, "").await, ["pending", "austin"]);
    f.app
        .user("ana", &["contact_center.view"], &["t-dallas"])
        .await;
    assert_eq!(
        f.listed(&f.ana, "").await,
        ["dallas3", "dallas2", "dallas1", "pending"]
    );
    f.app.user("ana", &[], &["t-dallas"]).await;
    let (s, _) = f
        .app
        .api_as(&f.ana, Method::GET, "/api/v1/calls", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    f.app
        .user("ana", &["contact_center.view"], &["t-austin"])
        .await;

    let (second_id, second) = f.app.token("ana").await;
    let tokens = f.app.get("/api/v1/users/ana/tokens").await;
    let first_id = tokens["tokens"][0]["token_id"].as_str().unwrap().to_owned();
    let (s, _) = f.app.revoke("ana", &first_id).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = f
        .app
        .api_as(&f.ana, Method::GET, "/api/v1/calls", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(f.listed(&second, "").await, ["pending", "austin"]);
    // A token of one user cannot be revoked through another.
    let (s, v) = f.app.revoke("ben", &second_id).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(f.listed(&second, "").await, ["pending", "austin"]);
    f.app.stop().await;
}
