//! The web console in headless Chromium, through chromedriver (WebDriver): an agent signs in,
//! sees only her tenants, watches a call arrive live, and sees a tenant a manager assigns her
//! join her hub; she finds and enters a tenant, with the prefill rules visible; Sync Tenant
//! Updates shows what it changed; ops create a Twilio connection, copy its URL and see why a
//! webhook was refused.
//!
//! They run when `CALLGATE_CHROMEDRIVER` names Debian's `chromedriver` (`.ci/run` installs it
//! with `chromium` and sets it; build.rs turns it into `cfg(callgate_browser)`); without it they
//! are reported as ignored, with the reason. With `CALLGATE_SCREENSHOTS` set to a directory,
//! they also save the pages they see there as PNG (how `docs/screenshots/` is made).

use crate::support::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::time::Duration;
use tokio::process::{Child, Command};

/// A browser session on a chromedriver of its own; the driver ends with it.
struct Browser {
    client: Client,
    _driver: Child,
}

impl Browser {
    async fn start() -> Self {
        let driver_path = std::env::var("CALLGATE_CHROMEDRIVER")
            .expect("the browser tests need CALLGATE_CHROMEDRIVER: the path of chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{driver_path} does not start: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let status = reqwest::Client::new();
        eventually("chromedriver answers", || async {
            status
                .get(format!("{url}/status"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--window-size=1280,800"]}),
        );
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("no Chromium session: {e}"));
        Self {
            client,
            _driver: driver,
        }
    }

    /// The text of the element `css` once `ok` holds for it (bounded wait, then a failure
    /// naming what was seen).
    async fn text_when(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut seen = String::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = e.text().await
            {
                if ok(&text) {
                    return text;
                }
                seen = text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} never became as expected; last seen: {seen:?}");
    }

    /// Clicks the element `css`; found again when a live update replaced it meanwhile.
    async fn click(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let e = self
                .client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("no {css}: {e}"));
            match e.click().await {
                Ok(()) => return,
                Err(e)
                    if e.is_stale_element_reference() && tokio::time::Instant::now() < deadline => {
                }
                Err(e) => panic!("{css} cannot be clicked: {e}"),
            }
        }
    }

    /// Enters the first tenant found: the tenant's booking page `expected` opens in a new
    /// tab, which is closed once it is there (so the request it made is complete).
    async fn enter_first_found(&self, main: &fantoccini::wd::WindowHandle, expected: &str) {
        self.click("#find .results li:first-child button").await;
        self.tab_shows(main, expected).await;
    }

    /// A tab besides `main` opened and shows the page `expected`; it is closed once it is
    /// there (so the request it made is complete), and `main` is current again.
    async fn tab_shows(&self, main: &fantoccini::wd::WindowHandle, expected: &str) {
        let tab = opened_tab(self, main).await;
        self.client.switch_to_window(tab).await.unwrap();
        eventually("the new tab shows the tenant's booking page", || async {
            self.client
                .current_url()
                .await
                .is_ok_and(|u| u.as_str() == expected)
        })
        .await;
        self.client.close_window().await.unwrap();
        self.client.switch_to_window(main.clone()).await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Fills in and sends the Find Tenant search.
    async fn search(&self, zip: &str, trade: &str) {
        self.type_into("#zip", zip).await;
        self.type_into("#trade", trade).await;
        self.click("#find form button[type=submit]").await;
    }

    /// Signs in through the form with `token`, and waits for the agent's page.
    async fn sign_in(&self, base: &str, token: &str) {
        self.client.goto(&format!("{base}/")).await.unwrap();
        self.screenshot("sign-in").await;
        self.type_into("input[name=token]", token).await;
        self.click("form button[type=submit]").await;
        self.text_when("#hub-title", |t| t == "Hub").await;
    }

    /// Saves the page as `docs/screenshots`-style PNG when `CALLGATE_SCREENSHOTS` says where.
    async fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("CALLGATE_SCREENSHOTS") {
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
        }
    }

    /// Marks the page, so that a reload (which drops the mark) can be told apart.
    async fn mark(&self) {
        self.client
            .execute("window.callgateMark = 'kept'; return true;", vec![])
            .await
            .unwrap();
    }

    async fn still_marked(&self) -> bool {
        self.client
            .execute("return window.callgateMark === 'kept';", vec![])
            .await
            .unwrap()
            == json!(true)
    }
}

/// The app, two tenants with booking pages on the app itself (so a tab can open them),
/// national number, and ana, who sees Austin only.
async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    for (id, name, zips) in [
        ("t-austin", "Austin HVAC", ["78701", "78702"]),
        ("t-round-rock", "Round Rock Heating", ["78701", "78664"]),
        ("t-dallas", "Dallas Plumbing", ["75201", "75202"]),
    ] {
        let body = json!({"name": name, "zip_codes": zips, "trades": ["hvac"],
                          "booking_url": format!("{}/healthz?booking={id}", app.base)});
        let (s, v) = app
            .api(
                reqwest::Method::PUT,
                &format!("/api/v1/tenants/{id}"),
                Some(body),
            )
            .await;
        assert!(s.is_success(), "{v}");
    }
    app.number(TOLL_FREE, json!({"kind": "national"})).await;
    let token = app
        .user_token(
            "ana",
            &["contact_center.view"],
            &["t-austin", "t-round-rock"],
        )
        .await;
    (app, conn, token)
}

/// A national call ringing from `caller`, named `name` by the provider.
async fn national_call(app: &TestApp, conn: &str, sid: &str, name: &str) -> String {
    let mut d = ringing(sid, "+15125550123", TOLL_FREE);
    d.push(("CallerName", name.into()));
    let res = app.twilio(conn, &pairs(&d)).await;
    assert!(res.status().is_success(), "{}", res.status());
    app.call_by_sid(sid).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
#[cfg_attr(
    not(callgate_browser),
    ignore = "needs Chromium: set CALLGATE_CHROMEDRIVER to chromedriver (bash .ci/run installs chromium and chromium-driver)"
)]
async fn an_agent_signs_in_sees_only_her_tenants_and_watches_calls_and_assignments_arrive_live() {
    let (app, conn, token) = setup().await;
    app.inbound_chat("t-austin", "th-1").await;
    app.inbound_chat("t-dallas", "th-2").await;
    let b = Browser::start().await;
    b.sign_in(&app.base, &token).await;
    let hub = b.text_when("#hub", |t| t.contains("Austin HVAC")).await;
    assert!(hub.contains("Round Rock Heating"), "{hub}");
    assert!(!hub.contains("Dallas"), "another tenant's counts: {hub}");
    b.text_when("#pending", |t| t.contains("No call is waiting"))
        .await;
    b.text_when("[data-live-status]", |t| t.starts_with("Live"))
        .await;
    b.mark().await;

    national_call(
        &app,
        &conn,
        "CA00000000000000000000000000000b01",
        "Jo Caller",
    )
    .await;
    let pending = b.text_when("#pending", |t| t.contains("Jo Caller")).await;
    assert!(pending.contains("(512) 555-0123"), "{pending}");
    // And a chat for Austin moves its count, live too.
    app.inbound_chat("t-austin", "th-3").await;
    b.text_when("#hub tbody tr:first-child", |t| {
        t.contains("Austin HVAC") && t.contains('2')
    })
    .await;
    // A manager assigns her another tenant: it joins her hub, live.
    app.user(
        "ana",
        &["contact_center.view"],
        &["t-austin", "t-round-rock", "t-dallas"],
    )
    .await;
    b.text_when("#hub", |t| t.contains("Dallas Plumbing")).await;
    assert!(b.still_marked().await, "the page was reloaded");
    b.screenshot("agent").await;
    // At phone width the page is one column; everything stays reachable.
    b.client.set_window_size(390, 844).await.unwrap();
    b.text_when("#pending", |t| t.contains("Jo Caller")).await;
    b.screenshot("agent-phone").await;
    b.client.clone().close().await.unwrap();
}

#[tokio::test]
#[cfg_attr(
    not(callgate_browser),
    ignore = "needs Chromium: set CALLGATE_CHROMEDRIVER to chromedriver (bash .ci/run installs chromium and chromium-driver)"
)]
async fn an_agent_finds_and_enters_a_tenant_with_the_prefill_rules_visible() {
    let (app, conn, token) = setup().await;
    let call_id = national_call(
        &app,
        &conn,
        "CA00000000000000000000000000000b02",
        "Jo Caller",
    )
    .await;
    let b = Browser::start().await;
    b.sign_in(&app.base, &token).await;
    b.click(&format!("tr[data-call='{call_id}'] form button"))
        .await;
    b.text_when("#find-title", |t| t.starts_with("Find Tenant"))
        .await;
    b.text_when("[data-prefill-rule]", |t| {
        t.contains("opens with the call bubble selected and the customer filled in")
    })
    .await;
    b.search("78701", "hvac").await;
    let found = b
        .text_when("#find .results", |t| t.contains("Austin HVAC"))
        .await;
    assert!(
        found.contains("Round Rock Heating") && !found.contains("Dallas"),
        "{found}"
    );
    b.screenshot("find-tenant").await;
    b.mark().await;
    let main = b.client.window().await.unwrap();

    // The tenant opens in a new tab, on its booking page.
    let austin = format!("{}/healthz?booking=t-austin", app.base);
    b.enter_first_found(&main, &austin).await;
    // The screen pop says what it opened with, live.
    let pop = b.text_when("#pop", |t| t.contains("Austin HVAC")).await;
    assert!(
        pop.contains("Call bubble selected: yes") && pop.contains("Customer prefilled: yes"),
        "{pop}"
    );
    assert!(b.still_marked().await, "the page was reloaded");
    // The search panel follows: it is Find Different Tenant now.
    b.text_when("#find-title", |t| t.starts_with("Find Different Tenant"))
        .await;
    b.text_when("[data-prefill-rule]", |t| {
        t.contains("opens without the call bubble selected")
    })
    .await;
    b.client
        .execute("window.scrollTo(0, 0); return true;", vec![])
        .await
        .unwrap();
    b.screenshot("screen-pop").await;

    // Find Different Tenant: a later tenant opens without the prefill.
    b.click("#pop a.secondary").await;
    b.text_when("#find-title", |t| t.starts_with("Find Different Tenant"))
        .await;
    b.text_when("[data-prefill-rule]", |t| {
        t.contains("opens without the call bubble selected")
    })
    .await;
    b.search("78664", "hvac").await;
    b.text_when("#find .results", |t| t.contains("Round Rock Heating"))
        .await;
    let round_rock = format!("{}/healthz?booking=t-round-rock", app.base);
    b.enter_first_found(&main, &round_rock).await;
    let pop = b
        .text_when("#pop", |t| t.contains("Round Rock Heating"))
        .await;
    assert!(
        pop.contains("Call bubble selected: no") && pop.contains("Customer prefilled: no"),
        "{pop}"
    );
    // Clear Search empties the form.
    b.click("#find a.secondary").await;
    b.text_when("#find-title", |t| t.contains("Tenant")).await;
    let zip = b.client.find(Locator::Css("#zip")).await.unwrap();
    assert_eq!(zip.prop("value").await.unwrap().as_deref(), Some(""));
    b.client.clone().close().await.unwrap();
}

#[tokio::test]
#[cfg_attr(
    not(callgate_browser),
    ignore = "needs Chromium: set CALLGATE_CHROMEDRIVER to chromedriver (bash .ci/run installs chromium and chromium-driver)"
)]
async fn her_phone_answers_a_call_and_its_tenant_opens_in_a_new_tab_on_its_own() {
    let (app, conn, _) = setup().await;
    app.number(
        AUSTIN_LOCAL,
        json!({"kind": "local", "tenant_id": "t-austin"}),
    )
    .await;
    let (s, v) = app
        .api(
            reqwest::Method::PUT,
            "/api/v1/users/ana",
            Some(
                json!({"name": "Ana", "permissions": ["contact_center.view"],
                "tenant_ids": ["t-austin", "t-round-rock"], "identities": ["client:ana"]}),
            ),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (_, token) = app.token("ana").await;
    let b = Browser::start().await;
    b.sign_in(&app.base, &token).await;
    b.text_when("#pop", |t| t.contains("No active call")).await;
    b.text_when("[data-live-status]", |t| t.starts_with("Live"))
        .await;
    b.mark().await;
    let main = b.client.window().await.unwrap();

    // A customer calls Austin's local number; the agent leg rings Ana's phone, which answers.
    let call_id = app
        .phone_answers(
            &conn,
            "CA00000000000000000000000000000b05",
            "CA00000000000000000000000000000b06",
            "client:ana",
        )
        .await;

    // The screen pop appears without a reload, with Open Tenant...
    let pop = b
        .text_when("#pop", |t| {
            t.contains("Austin HVAC") && t.contains("Open Tenant")
        })
        .await;
    assert!(pop.contains("Your phone answered this call"), "{pop}");
    assert!(b.still_marked().await, "the page was reloaded");
    let link = b
        .client
        .find(Locator::Css("#pop a[data-open-tenant]"))
        .await
        .unwrap();
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(format!("/console/calls/{call_id}/tenant-page").as_str())
    );
    assert_eq!(
        link.attr("target").await.unwrap().as_deref(),
        Some("_blank")
    );
    b.screenshot("phone-answer").await;
    // ...and the tenant opened in a new tab on its own, on its booking page.
    let austin = format!("{}/healthz?booking=t-austin", app.base);
    b.tab_shows(&main, &austin).await;
    // Once: later updates of the same call open nothing more.
    app.inbound_chat("t-austin", "th-9").await;
    b.text_when("#hub tbody tr:first-child", |t| t.contains('1'))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.client.windows().await.unwrap(), vec![main]);
    let pop = b.text_when("#pop", |t| t.contains("Open Tenant")).await;
    assert!(pop.contains("Austin HVAC"), "{pop}");
    b.client.clone().close().await.unwrap();
}

/// The tab a click opened, besides `main` (bounded wait).
async fn opened_tab(
    b: &Browser,
    main: &fantoccini::wd::WindowHandle,
) -> fantoccini::wd::WindowHandle {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        let windows = b.client.windows().await.unwrap();
        if let Some(tab) = windows.into_iter().find(|w| w != main) {
            return tab;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no new tab opened");
}

#[tokio::test]
#[cfg_attr(
    not(callgate_browser),
    ignore = "needs Chromium: set CALLGATE_CHROMEDRIVER to chromedriver (bash .ci/run installs chromium and chromium-driver)"
)]
async fn settings_sync_tenant_updates_shows_what_changed() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let mock = MockServer::start().await;
    let url = format!("{}/tenants", mock.uri());
    let app = TestApp::spawn_with(&[("CALLGATE_DIRECTORY_URL", url.as_str())], "").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-waco", &["76701"], &["roofing"]).await;
    Mock::given(method("GET"))
        .and(path("/tenants"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tenants": [
            {"tenant_id": "t-austin", "name": "Austin HVAC", "zip_codes": ["78701", "78702"], "trades": ["hvac"], "booking_url": null},
            {"tenant_id": "t-dallas", "name": "Dallas Plumbing", "zip_codes": ["75201"], "trades": ["plumbing"], "booking_url": null},
        ]})))
        .mount(&mock)
        .await;
    let token = app
        .user_token(
            "max",
            &[
                "contact_center.settings",
                "users.manage",
                "contact_center.view",
            ],
            &["t-austin", "t-dallas"],
        )
        .await;
    app.user("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let b = Browser::start().await;
    b.client.goto(&format!("{}/", app.base)).await.unwrap();
    b.type_into("input[name=token]", &token).await;
    b.click("form button[type=submit]").await;
    b.text_when("#hub-title", |t| t == "Hub").await;
    b.click("nav a[href='/console/settings']").await;
    b.text_when("#tenants-title", |t| t == "Tenant details")
        .await;
    b.click("#zip_only-choice").await;
    b.click("form[action='/console/settings'] button").await;
    b.text_when("[role=status]", |t| {
        t.contains("The search mode was saved.")
    })
    .await;
    b.click("form[action='/console/settings/sync'] button")
        .await;
    let report = b.text_when(".sync-report", |t| t.contains("Removed")).await;
    assert!(
        report.contains("Added\nDallas Plumbing (t-dallas)"),
        "{report}"
    );
    assert!(
        report.contains("Updated\nAustin HVAC (t-austin)"),
        "{report}"
    );
    assert!(report.contains("Removed\nt-waco"), "{report}");
    b.screenshot("settings").await;
    // The users page, from the bar.
    b.click("nav a[href='/console/users']").await;
    b.text_when("main h1", |t| t == "Users").await;
    b.screenshot("users").await;
    b.client.clone().close().await.unwrap();
}

#[tokio::test]
#[cfg_attr(
    not(callgate_browser),
    ignore = "needs Chromium: set CALLGATE_CHROMEDRIVER to chromedriver (bash .ci/run installs chromium and chromium-driver)"
)]
async fn ops_create_a_twilio_connection_copy_its_url_and_see_a_refusal_and_its_reason() {
    let app = TestApp::spawn().await;
    let token = app.user_token("olga", &["connections.manage"], &[]).await;
    let b = Browser::start().await;
    b.client.goto(&format!("{}/", app.base)).await.unwrap();
    b.type_into("input[name=token]", &token).await;
    b.click("form button[type=submit]").await;
    b.text_when("main h1", |t| t == "Ops").await;
    b.click("#add-twilio summary").await;
    b.type_into("#twilio-name", "Main account").await;
    b.type_into("#twilio-secret-auth_token", "browser-auth-token")
        .await;
    b.click("#add-twilio button[type=submit]").await;
    b.text_when("p.note[role=status]", |t| t.contains("was created"))
        .await;
    let conn = app.get("/api/v1/connections").await["connections"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{PUBLIC}/webhooks/twilio/{conn}");
    let shown = b
        .client
        .find(Locator::Css(&format!("#url-{conn}")))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(shown.as_deref(), Some(url.as_str()));
    b.click(&format!("[data-copy='url-{conn}']")).await;
    b.text_when(&format!("#{conn} .copied"), |t| t == "Copied.")
        .await;
    let copied = b
        .client
        .execute(
            "return window.getSelection().toString() || navigator.clipboard.readText();",
            vec![],
        )
        .await;
    if let Ok(serde_json::Value::String(text)) = copied {
        assert_eq!(text, url, "what was copied");
    }
    // A webhook signed with another token is refused; its page says why.
    let res = app
        .twilio_signed(
            &conn,
            &[("CallSid", "CA0000000000000000000000000000cc")],
            "other",
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
    crate::refusals::refusals_reach(&app, &conn, 1).await;
    b.click(&format!("#{conn} p a")).await;
    let refusal = b
        .text_when(".refusal", |t| t.contains("The signature was not accepted"))
        .await;
    assert!(refusal.contains("bad_signature"), "{refusal}");
    assert!(refusal.contains(&url), "{refusal}");
    b.screenshot("ops").await;

    // A recording deletion the provider keeps refusing: Retry now, from Outbound work.
    let store = app.running.as_ref().unwrap().state.store.clone();
    let now = time::OffsetDateTime::now_utc();
    let (queued, next) = (
        callgate::store::millis(now - time::Duration::hours(2)),
        callgate::store::millis(now + time::Duration::minutes(40)),
    );
    store
        .write(move |db| {
            // The provider's API is a closed port here, never the real one.
            db.exec(
                "UPDATE connections SET options = '{\"api_base_url\": \"http://127.0.0.1:9\"}'
                 WHERE id = ?1",
                callgate::store::db::args![conn],
            )?;
            db.exec(
                "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id,
                     attempts, next_attempt_at, last_error, created_at)
                 VALUES ('delete_recording', ?1, 'call-0192f1', 'CA0000000000000000000000000000dd',
                     'RE0000000000000000000000000000dd', 6, ?2, 'HTTP 503', ?3)",
                callgate::store::db::args![conn, next, queued],
            )
        })
        .await
        .unwrap();
    b.click("main a[href='/console/ops']").await;
    b.click("main a[href='/console/ops/outbound']").await;
    let row = b
        .text_when("#deletions-title + p + table", |t| {
            t.contains("RE0000000000000000000000000000dd")
        })
        .await;
    assert!(
        row.contains("HTTP 503") && row.contains("Retry now"),
        "{row}"
    );
    b.screenshot("ops-outbound").await;
    b.click("form[action$='/retry'] button").await;
    b.text_when("p.note[role=status]", |t| t.contains("is tried again now"))
        .await;
    b.client.clone().close().await.unwrap();
}
