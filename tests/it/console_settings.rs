//! The console's settings page: the search mode with Save, the tenant details list, and
//! Sync Tenant Updates with what it changed.

use crate::console::Visitor;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn settings_save_the_search_mode_list_tenants_and_show_what_a_sync_changed() {
    let mock = MockServer::start().await;
    let url = format!("{}/tenants", mock.uri());
    let app = TestApp::spawn_with(&[("CALLGATE_DIRECTORY_URL", url.as_str())], "").await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-gone", &["75201"], &["plumbing"]).await;
    let token = app
        .user_token("max", &["contact_center.settings"], &[])
        .await;
    let mut v = Visitor::new(&app);
    v.sign_in(&token).await;
    // Its one page is the settings page; the agent's page is not among them.
    let home = v.get("/").await;
    assert_eq!(home.location(), "/console/settings");
    assert_eq!(v.get("/console/agent").await.status, StatusCode::FORBIDDEN);
    let page = v.get("/console/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Tenant t-austin") && page.body.contains("78701"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"zip_and_trade\" checked"),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");

    let forged = v
        .post(
            "/console/settings",
            &[("csrf", "x"), ("national_search_mode", "zip_only")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let saved = v
        .post(
            "/console/settings",
            &[("csrf", &csrf), ("national_search_mode", "zip_only")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = v.get(saved.location()).await;
    assert!(
        page.body.contains("The search mode was saved."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"zip_only\" checked"),
        "{}",
        page.body
    );
    assert_eq!(
        app.get("/api/v1/settings").await["national_search_mode"],
        "zip_only"
    );
    let bad = v
        .post(
            "/console/settings",
            &[("csrf", &csrf), ("national_search_mode", "everything")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("Choose one of the search modes offered."),
        "{}",
        bad.body
    );

    Mock::given(method("GET"))
        .and(path("/tenants"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tenants": [
            {"tenant_id": "t-austin", "name": "Austin HVAC", "zip_codes": ["78701"], "trades": ["hvac"], "booking_url": null},
            {"tenant_id": "t-new", "name": "New <b>Plumbing</b>", "zip_codes": ["78702"], "trades": ["plumbing"], "booking_url": null},
        ]})))
        .mount(&mock)
        .await;
    let synced = v.post("/console/settings/sync", &[("csrf", &csrf)]).await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.body);
    let body = &synced.body;
    let added = body.find("<h3>Added</h3>").unwrap();
    let updated = body.find("<h3>Updated</h3>").unwrap();
    let removed = body.find("<h3>Removed</h3>").unwrap();
    assert!(
        body[added..updated].contains("New &#60;b&#62;Plumbing&#60;/b&#62; (t-new)"),
        "{body}"
    );
    assert!(
        body[updated..removed].contains("Austin HVAC (t-austin)"),
        "{body}"
    );
    assert!(
        body[updated..removed].contains(
            "<span class=\"field\">name</span>: <del>Tenant t-austin</del> → <ins>Austin HVAC</ins>"
        ),
        "each changed field, before and after: {body}"
    );
    assert!(body[removed..].contains("t-gone"), "{body}");
}
