//! The web console over HTTP: sign-in and sessions, CSRF, security headers, permissions,
//! escaping, and the event stream opened with the session cookie. (The browser tests in
//! `browser.rs` drive the same pages in Chromium.)

use crate::support::*;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use std::collections::HashMap;

/// The URL of the page's asset with extension `ext`.
fn asset_url(page: &str, ext: &str) -> String {
    page.match_indices("/console/assets/console.")
        .map(|(i, _)| &page[i..i + page[i..].find('"').unwrap()])
        .find(|url| url.ends_with(ext))
        .unwrap_or_else(|| panic!("no {ext} asset in {page}"))
        .to_owned()
}

/// A browser-like client: keeps cookies, follows no redirects.
pub struct Visitor<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

/// What a console request answered.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Set-Cookie` line for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value of the hidden input `name` (the first one).
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name}"))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.app.base));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for line in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let pair = line.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || line.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let body = res.text().await.unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Signs in with `token` through the form: the answer to the form's post.
    pub async fn sign_in(&mut self, token: &str) -> Answer {
        let page = self.get("/").await;
        let csrf = page.hidden("csrf");
        self.post("/console/sign-in", &[("csrf", &csrf), ("token", token)])
            .await
    }

    /// The agent page's CSRF token (signed in).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/console/agent").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.hidden("csrf")
    }
}

#[tokio::test]
async fn the_sign_in_page_is_served_without_a_token_with_a_strict_policy() {
    let app = TestApp::spawn().await;
    let mut v = Visitor::new(&app);
    let page = v.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let ct = page.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert_eq!(
        page.body.matches("name=\"token\"").count(),
        1,
        "{}",
        page.body
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp} lacks {directive}");
    }
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(!page.body.contains("<script>"), "no inline script");
    assert!(!page.body.contains("style="), "no inline style");

    // The page's assets: hashed names, cached for a year, revalidated by ETag.
    for ext in ["css", "js"] {
        let url = asset_url(&page.body, ext);
        let asset = v.get(&url).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert!(
            asset.headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let etag = asset.headers["etag"].to_str().unwrap().to_owned();
        let again = v
            .http
            .get(format!("{}{url}", app.base))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    let gone = v.get("/console/assets/console.0000000000000000.css").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_becomes_a_locked_down_session_cookie_and_sign_out_ends_it() {
    let app = TestApp::spawn().await;
    let token = app.user_token("ana", &["contact_center.view"], &[]).await;
    let mut v = Visitor::new(&app);

    let refused = v.sign_in("cgt_not-a-real-token").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.body.contains("That token was not accepted"),
        "{}",
        refused.body
    );
    assert!(refused.set_cookie("callgate_session").is_none());

    let ok = v.sign_in(&token).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let cookie = ok.set_cookie("callgate_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let session = v.cookies["callgate_session"].clone();
    assert!(!cookie.contains(&token) && session.len() >= 43);
    // The store keeps only a hash of the session id.
    let rows = stored_session_ids(&app).await;
    use sha2::Digest;
    let hashed: String = sha2::Sha256::digest(session.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    assert_eq!(rows, [hashed]);

    let home = v.get("/").await;
    assert_eq!(
        (home.status, home.location()),
        (StatusCode::SEE_OTHER, "/console/agent")
    );
    let csrf = v.csrf().await;
    assert_ne!(csrf, session, "the CSRF token is not the session id");

    // Sign-out needs the CSRF token too.
    let forged = v.post("/console/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(v.get("/console/agent").await.status, StatusCode::OK);
    let out = v.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/"));
    assert!(!v.cookies.contains_key("callgate_session"));
    // The old cookie is worth nothing now.
    v.cookies.insert("callgate_session".into(), session);
    let after = v.get("/console/agent").await;
    assert_eq!(
        (after.status, after.location()),
        (StatusCode::SEE_OTHER, "/")
    );
}

/// The `console_sessions` rows' id hashes, as hex.
async fn stored_session_ids(app: &TestApp) -> Vec<String> {
    let store = app.running.as_ref().unwrap().state.store.clone();
    let rows: Vec<Vec<u8>> = store
        .read(|c| c.query("SELECT id_hash FROM console_sessions", &[], |r| r.get(0)))
        .await
        .unwrap();
    rows.iter()
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
        .collect()
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_csrf_value() {
    let app = TestApp::spawn().await;
    let mut v = Visitor::new(&app);
    v.get("/").await;
    let forged = v
        .post("/console/sign-in", &[("csrf", "guessed"), ("token", TOKEN)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.set_cookie("callgate_session").is_none());
    // Without the form's cookie (another site's form) neither.
    let mut stranger = Visitor::new(&app);
    let cross = stranger
        .post("/console/sign-in", &[("csrf", ""), ("token", TOKEN)])
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert!(cross.set_cookie("callgate_session").is_none());
}

#[tokio::test]
async fn a_revoked_token_ends_its_sessions_and_their_live_stream() {
    let app = TestApp::spawn().await;
    app.user("ana", &["contact_center.view"], &[]).await;
    let (token_id, token) = app.token("ana").await;
    let mut v = Visitor::new(&app);
    assert_eq!(v.sign_in(&token).await.status, StatusCode::SEE_OTHER);
    assert_eq!(v.get("/console/agent").await.status, StatusCode::OK);

    // The event stream takes the session cookie.
    let cookie = format!("callgate_session={}", v.cookies["callgate_session"]);
    let stream = events(&app, &cookie, None).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );

    let (s, body) = app.revoke("ana", &token_id).await;
    assert!(s.is_success(), "{body}");
    // The open stream ends, and the session with it.
    let rest = tokio::time::timeout(std::time::Duration::from_secs(10), stream.text())
        .await
        .expect("the stream of a revoked token ends")
        .unwrap_or_default();
    assert!(!rest.contains("call.updated"), "{rest}");
    let page = v.get("/console/agent").await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/"));
    assert!(stored_session_ids(&app).await.is_empty());
    let again = events(&app, &cookie, None).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // A bearer request is a bearer request, whatever cookie it carries.
    let bearer = events(&app, &cookie, Some("wrong")).await;
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
}

/// `GET /api/v1/events` with a cookie, and a bearer token when given.
async fn events(app: &TestApp, cookie: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut req = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .header("cookie", cookie);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_page_is_403_for_a_user_lacking_its_permission() {
    let app = TestApp::spawn().await;
    let token = app.user_token("mia", &["feeds.write"], &[]).await;
    let mut v = Visitor::new(&app);
    assert_eq!(v.sign_in(&token).await.status, StatusCode::SEE_OTHER);
    let home = v.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Nothing to show yet"), "{}", home.body);
    let page = v.get("/console/agent").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.body
            .contains("lacks the permission contact_center.view"),
        "{}",
        page.body
    );
    // Nor can it act through the console.
    let csrf = v.get("/").await.hidden("csrf");
    let claim = v.post("/console/calls/c-1/claim", &[("csrf", &csrf)]).await;
    assert_eq!(claim.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_caller_name_from_a_webhook_renders_as_text() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    let mut d = ringing(
        "CA00000000000000000000000000000c01",
        "+15125550123",
        TOLL_FREE,
    );
    d.push(("CallerName", "<script>alert(1)</script> & \"Jo\"".into()));
    let res = app.twilio(&conn, &pairs(&d)).await;
    assert!(res.status().is_success(), "{}", res.status());
    let token = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let mut v = Visitor::new(&app);
    v.sign_in(&token).await;
    let page = v.get("/console/agent").await;
    assert_eq!(page.status, StatusCode::OK);
    // Escaped (askama writes numeric character references), never markup.
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;Jo&#34;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    // The number is written for people, its E.164 form on hover.
    assert!(
        page.body.contains("title=\"+15125550123\">(512) 555-0123<"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn an_agent_claims_finds_and_enters_a_tenant_through_the_console() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    let sid = "CA00000000000000000000000000000c02";
    let res = app
        .twilio(&conn, &pairs(&ringing(sid, "+15125550123", TOLL_FREE)))
        .await;
    assert!(res.status().is_success());
    let call_id = app.call_by_sid(sid).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let mut v = Visitor::new(&app);
    v.sign_in(&token).await;
    let csrf = v.csrf().await;

    // A forged claim changes nothing.
    let forged = v
        .post(&format!("/console/calls/{call_id}/claim"), &[("csrf", "x")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call_by_sid(sid).await["agent_id"],
        serde_json::Value::Null
    );

    let claimed = v
        .post(
            &format!("/console/calls/{call_id}/claim"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        claimed.location(),
        format!("/console/agent?call={call_id}#find")
    );
    let page = v.get(&format!("/console/agent?call={call_id}")).await;
    assert!(page.body.contains(">Find Tenant<"), "{}", page.body);
    assert!(
        page.body
            .contains("The first tenant entered on this call opens with the call bubble selected")
    );
    // zip_and_trade (the default) asks for both; Dallas is not hers.
    let found = v
        .get(&format!(
            "/console/agent?call={call_id}&zip=78701&trade=hvac"
        ))
        .await;
    assert!(
        found.body.contains("Tenant t-austin") && !found.body.contains("Tenant t-dallas"),
        "{}",
        found.body
    );
    let missing = v
        .get(&format!("/console/agent?call={call_id}&zip=78701"))
        .await;
    assert!(
        missing
            .body
            .contains("Trade is required in mode zip_and_trade."),
        "{}",
        missing.body
    );

    let entered = v
        .post(
            &format!("/console/calls/{call_id}/tenant"),
            &[("csrf", &csrf), ("tenant_id", "t-austin")],
        )
        .await;
    assert_eq!(entered.status, StatusCode::SEE_OTHER, "{}", entered.body);
    let opened = v.get(entered.location()).await;
    assert_eq!(opened.status, StatusCode::OK);
    assert!(
        opened
            .body
            .contains("url=https://t-austin.example.com/bookings"),
        "{}",
        opened.body
    );
    assert!(
        opened.body.contains("Call bubble selected: <strong>yes"),
        "{}",
        opened.body
    );
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["tenant"]["tenant_id"], "t-austin");
    // Now the pop offers Go to Tenant and Find Different Tenant.
    let page = v.get("/console/agent").await;
    assert!(page.body.contains(">Go to Tenant<") && page.body.contains(">Find Different Tenant<"));
    // A refused action is a sentence on a page, not a code.
    let refused = v
        .post(
            &format!("/console/calls/{call_id}/tenant"),
            &[("csrf", &csrf), ("tenant_id", "t-dallas")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
}

/// Find Tenant and Find Different Tenant enter with `find` (no prefill), the call's own
/// prompt without; after the call ends, the wrap-up card keeps Go to Tenant.
#[tokio::test]
async fn the_console_enters_through_find_without_prefill_and_keeps_the_last_call() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    let token = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let mut v = Visitor::new(&app);
    v.sign_in(&token).await;
    let csrf = v.csrf().await;
    let page = v.get("/console/agent").await;
    assert!(
        page.body.contains("id=\"wrap-up\"")
            && page.body.contains("No call of yours has ended yet"),
        "{}",
        page.body
    );

    // From the pending list, Find Tenant opens the panel with `find`, and enters with it.
    let sid = "CA00000000000000000000000000000c21";
    let res = app
        .twilio(&conn, &pairs(&ringing(sid, "+15125550123", TOLL_FREE)))
        .await;
    assert!(res.status().is_success());
    let call_id = app.call_by_sid(sid).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = v.get("/console/agent").await;
    let link = format!("/console/agent?call={call_id}&amp;find=1#find");
    assert!(page.body.contains(&link), "{}", page.body);
    let found = v
        .get(&format!(
            "/console/agent?call={call_id}&find=1&zip=78701&trade=hvac"
        ))
        .await;
    assert!(
        found
            .body
            .contains("opens without the call bubble selected"),
        "{}",
        found.body
    );
    assert_eq!(
        found.hidden("find"),
        "1",
        "the search and Enter Tenant keep it"
    );
    let bad = v
        .get(&format!("/console/agent?call={call_id}&find=maybe"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);

    // Claimed: the prompt enters without `find`, and that first tenant prefills.
    let claimed = v
        .post(
            &format!("/console/calls/{call_id}/claim"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        claimed.location(),
        format!("/console/agent?call={call_id}#find")
    );
    let prompt = v
        .get(&format!(
            "/console/agent?call={call_id}&zip=78701&trade=hvac"
        ))
        .await;
    assert!(!prompt.body.contains("name=\"find\""), "{}", prompt.body);
    // Entered with `find` all the same (through Find Tenant): no prefill.
    let entered = v
        .post(
            &format!("/console/calls/{call_id}/tenant"),
            &[("csrf", &csrf), ("tenant_id", "t-austin"), ("find", "1")],
        )
        .await;
    assert_eq!(entered.status, StatusCode::SEE_OTHER, "{}", entered.body);
    let opened = v.get(entered.location()).await;
    assert!(
        opened.body.contains("Call bubble selected: <strong>no")
            && opened.body.contains("Customer prefilled: <strong>no"),
        "{}",
        opened.body
    );
    let page = v.get("/console/agent").await;
    let different = format!("/console/agent?call={call_id}&amp;find=1#find");
    assert!(
        page.body.contains(&different),
        "Find Different Tenant: {}",
        page.body
    );

    // The call ends: the pop empties, the wrap-up card offers Go to Tenant.
    let end = status(
        sid,
        "+15125550123",
        TOLL_FREE,
        "completed",
        2,
        "Mon, 23 Nov 2026 18:02:00 +0000",
    );
    deliver_all(&app, &conn, &[end]).await;
    let page = v.get("/console/agent").await;
    assert!(page.body.contains("No active call."), "{}", page.body);
    assert!(
        page.body.contains(&format!("data-last-call=\"{call_id}\""))
            && page
                .body
                .contains(&format!("/console/calls/{call_id}/tenant-page")),
        "{}",
        page.body
    );
    let reopened = v
        .get(&format!("/console/calls/{call_id}/tenant-page"))
        .await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.body);
    assert!(
        reopened
            .body
            .contains("url=https://t-austin.example.com/bookings"),
        "{}",
        reopened.body
    );
}

/// A call her phone answered pops with Open Tenant, which the page's script opens on its
/// own, and says so; a call she claimed by hand keeps Go to Tenant, never opened for her.
#[tokio::test]
async fn a_call_her_phone_answered_pops_with_open_tenant() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/users/ana",
            Some(
                serde_json::json!({"name": "Ana", "permissions": ["contact_center.view"],
                "tenant_ids": ["t-austin"], "identities": ["client:ana"]}),
            ),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (_, ana) = app.token("ana").await;
    let bo = app
        .user_token("bo", &["contact_center.view"], &["t-austin"])
        .await;
    let call_id = app
        .phone_answers(
            &conn,
            "CA00000000000000000000000000000e01",
            "CA00000000000000000000000000000e02",
            "client:ana",
        )
        .await;
    let mut v = Visitor::new(&app);
    v.sign_in(&ana).await;
    let page = v.get("/console/agent").await;
    let open = format!(
        "<a class=\"button\" href=\"/console/calls/{call_id}/tenant-page\" target=\"_blank\" rel=\"noopener\" data-open-tenant>Open Tenant</a>"
    );
    assert!(page.body.contains(&open), "{}", page.body);
    assert!(
        page.body.contains("Your phone answered this call"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(">Go to Tenant<"), "{}", page.body);

    // Bo claims another call by hand: Go to Tenant, nothing opened on its own.
    let other_id = app
        .ring(
            &conn,
            "CA00000000000000000000000000000e03",
            "+15125550124",
            AUSTIN_LOCAL,
        )
        .await;
    let (s, v) = app
        .api_as(
            &bo,
            Method::POST,
            &format!("/api/v1/calls/{other_id}/claim"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut b = Visitor::new(&app);
    b.sign_in(&bo).await;
    let page = b.get("/console/agent").await;
    assert!(page.body.contains(&other_id), "{}", page.body);
    assert!(page.body.contains(">Go to Tenant<"), "{}", page.body);
    assert!(!page.body.contains("data-open-tenant"), "{}", page.body);
    assert!(!page.body.contains("Open Tenant"), "{}", page.body);
    app.stop().await;
}
