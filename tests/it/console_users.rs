//! The console's users page: a manager assigns tenants within its reach and makes a token,
//! shown once.

use crate::console::Visitor;
use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn a_manager_assigns_tenants_and_makes_a_token_within_its_reach() {
    let app = TestApp::spawn().await;
    for t in ["t-austin", "t-dallas", "t-houston"] {
        app.tenant(t, &["78701"], &["hvac"]).await;
    }
    let manager = app
        .user_token(
            "mia",
            &["users.manage", "contact_center.view"],
            &["t-austin", "t-dallas"],
        )
        .await;
    let ana = serde_json::json!({"name": "Ana", "permissions": ["contact_center.view"],
        "tenant_ids": ["t-austin"], "identities": ["client:ana"]});
    let (s, body) = app
        .api(reqwest::Method::PUT, "/api/v1/users/ana", Some(ana))
        .await;
    assert!(s.is_success(), "{body}");
    app.user("hal", &["contact_center.view"], &["t-houston"])
        .await;
    let mut v = Visitor::new(&app);
    v.sign_in(&manager).await;
    let page = v.get("/console/users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("(ana)"), "{}", page.body);
    assert!(page.body.contains("client:ana"), "{}", page.body);
    assert!(
        !page.body.contains("(hal)"),
        "beyond her reach: {}",
        page.body
    );
    assert!(!page.body.contains("Tenant t-houston"), "{}", page.body);
    assert!(
        page.body.contains("name=\"tenant:t-austin\" checked"),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");

    let forged = v
        .post(
            "/console/users/ana/tenants",
            &[("csrf", "x"), ("tenant:t-dallas", "on")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let saved = v
        .post(
            "/console/users/ana/tenants",
            &[("csrf", &csrf), ("tenant:t-dallas", "on")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        v.get(saved.location())
            .await
            .body
            .contains("The tenants of ana were saved")
    );
    let ana = app.get("/api/v1/users/ana").await;
    assert_eq!(ana["tenant_ids"], serde_json::json!(["t-dallas"]));
    assert_eq!(ana["identities"], serde_json::json!(["client:ana"]), "kept");
    // A tenant she does not see herself is refused, as the API refuses it.
    let wider = v
        .post(
            "/console/users/ana/tenants",
            &[("csrf", &csrf), ("tenant:t-houston", "on")],
        )
        .await;
    assert_eq!(wider.status, StatusCode::FORBIDDEN, "{}", wider.body);
    let hal = v
        .post(
            "/console/users/hal/tenants",
            &[("csrf", &csrf), ("tenant:t-austin", "on")],
        )
        .await;
    assert_eq!(hal.status, StatusCode::NOT_FOUND, "{}", hal.body);

    let made = v
        .post("/console/users/ana/tokens", &[("csrf", &csrf)])
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let marker = "id=\"new-token\" readonly value=\"";
    let at = made.body.find(marker).unwrap() + marker.len();
    let token = &made.body[at..at + made.body[at..].find('"').unwrap()];
    assert!(token.starts_with("cgt_"), "{token}");
    assert_eq!(
        app.get_as(token, "/api/v1/hub").await["chats"][0]["tenant_id"],
        "t-dallas"
    );
}
