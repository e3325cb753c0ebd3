//! Agent identities on users: registered in canonical form, shown, replaced, freed, one
//! user's only (409 `identity_taken`), validated (422), and found by a leg's destination.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn put(app: &TestApp, id: &str, identities: Value) -> (StatusCode, Value) {
    app.api(
        Method::PUT,
        &format!("/api/v1/users/{id}"),
        Some(json!({"name": id, "permissions": ["contact_center.view"], "identities": identities})),
    )
    .await
}

/// The user whose identity `destination` is, as the store finds it.
async fn owner(app: &TestApp, destination: &'static str) -> Option<String> {
    let store = app.running.as_ref().unwrap().state.store.clone();
    store
        .read(move |c| callgate::store::users::owner_of_identity(c, destination))
        .await
        .unwrap()
}

#[tokio::test]
async fn identities_are_stored_canonical_shown_replaced_and_freed() {
    let app = TestApp::spawn().await;
    let (s, v) = put(
        &app,
        "ana",
        json!([
            " client:ana",
            "SIP:ana@PBX.example.com;transport=tls",
            "15125550123",
            "+15125550123"
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let canonical = json!(["client:ana", "sip:ana@pbx.example.com", "+15125550123"]);
    assert_eq!(
        v["identities"], canonical,
        "canonical, in the order given, one per number"
    );
    assert_eq!(app.get("/api/v1/users/ana").await["identities"], canonical);
    assert_eq!(
        app.get("/api/v1/users").await["users"][0]["identities"],
        canonical
    );

    // A leg's destination finds its agent in any of its forms.
    assert_eq!(owner(&app, "15125550123").await.as_deref(), Some("ana"));
    assert_eq!(
        owner(&app, "+1 (512) 555-0123").await.as_deref(),
        Some("ana")
    );
    assert_eq!(
        owner(&app, "sip:ana@pbx.example.com;user=phone")
            .await
            .as_deref(),
        Some("ana")
    );
    assert_eq!(owner(&app, "client:ana").await.as_deref(), Some("ana"));
    assert_eq!(
        owner(&app, "client:Ana").await,
        None,
        "client names keep their case"
    );
    assert_eq!(owner(&app, "sip:ana@other.example.com").await, None);

    // The same again is a no-op; a new list replaces the old one, whose identities are free.
    let (s, _) = put(
        &app,
        "ana",
        json!(["client:ana", "15125550123", "sip:ana@pbx.example.com"]),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = put(&app, "ana", json!(["client:ana", "client:ana2"])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["identities"], json!(["client:ana", "client:ana2"]));
    assert_eq!(owner(&app, "+15125550123").await, None);
    let (s, v) = put(&app, "ben", json!(["+15125550123"])).await;
    assert_eq!(s, StatusCode::CREATED, "freed by the replacement: {v}");
    assert_eq!(owner(&app, "15125550123").await.as_deref(), Some("ben"));

    // Left out, like tenant_ids: the user has none (a PUT replaces the whole user).
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/users/ana",
            Some(json!({"name": "ana", "permissions": ["contact_center.view"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["identities"], json!([]));
    assert_eq!(owner(&app, "client:ana").await, None);

    // The changes are audited with what was added and removed.
    let audit = app.get("/api/v1/audit?actor=bootstrap&limit=1").await;
    assert_eq!(
        audit["audit"][0]["detail"]["identities"],
        json!({"added": [], "removed": ["client:ana", "client:ana2"]})
    );
    app.stop().await;
}

#[tokio::test]
async fn an_identity_belongs_to_one_user_only() {
    let app = TestApp::spawn().await;
    let (s, _) = put(&app, "ana", json!(["+15125550123", "client:ana"])).await;
    assert_eq!(s, StatusCode::CREATED);
    // Another form of the same number is the same identity.
    let (s, v) = put(&app, "ben", json!(["client:ben", "15125550123"])).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "identity_taken");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("+15125550123"), "{message}");
    assert!(
        !message.contains("ana"),
        "the holder is not named: {message}"
    );
    let (s, _) = app.api(Method::GET, "/api/v1/users/ben", None).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "nothing of the refused user was written"
    );
    assert_eq!(owner(&app, "client:ben").await, None);

    let (s, _) = put(&app, "ben", json!(["client:ben"])).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = put(
        &app,
        "ben",
        json!(["client:ben", "CLIENT:ana", "client:ana"]),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("identity_taken"))
    );
    assert_eq!(
        app.get("/api/v1/users/ben").await["identities"],
        json!(["client:ben"])
    );
    assert_eq!(
        app.get("/api/v1/users/ana").await["identities"],
        json!(["+15125550123", "client:ana"])
    );
    app.stop().await;
}

/// Users racing for one identity: exactly one of them gets it, whatever the interleaving (on
/// PostgreSQL these are concurrent transactions; the unique key decides).
#[tokio::test]
async fn users_racing_for_an_identity_get_it_once() {
    let app = TestApp::spawn().await;
    let users: Vec<String> = (0..6).map(|i| format!("agent-{i}")).collect();
    let answers = futures_util::future::join_all(
        users
            .iter()
            .map(|u| put(&app, u, json!(["sip:desk@pbx.example.com"]))),
    )
    .await;
    let won: Vec<&String> = users
        .iter()
        .zip(&answers)
        .filter(|(_, (s, _))| *s == StatusCode::CREATED)
        .map(|(u, _)| u)
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for (s, v) in &answers {
        assert!(
            *s == StatusCode::CREATED
                || (*s == StatusCode::CONFLICT && v["error"]["code"] == "identity_taken"),
            "{s} {v}"
        );
    }
    assert_eq!(
        owner(&app, "sip:desk@pbx.example.com").await.as_ref(),
        Some(won[0])
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_identities_are_refused_with_422() {
    let app = TestApp::spawn().await;
    let too_many: Vec<String> = (0..33).map(|i| format!("client:a{i}")).collect();
    let cases = [
        (json!(["client:ana", ""]), "empty_identity"),
        (json!(["   "]), "empty_identity"),
        (json!(["x".repeat(257)]), "identity_too_long"),
        (json!(["client:a\u{7}na"]), "invalid_identity"),
        (json!(["client:ana\r\n"]), "invalid_identity"),
        (json!(["sip:ana@;transport=udp"]), "invalid_identity"),
        (json!(too_many), "too_many_identities"),
    ];
    for (identities, code) in cases {
        let (s, v) = put(&app, "ana", identities.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{identities}: {v}");
        assert_eq!(v["error"]["code"], code, "{identities}");
    }
    let (s, v) = put(&app, "ana", json!("client:ana")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "not a list: {v}");
    // NUL is refused in every request body, before the identities are read.
    let (s, v) = put(&app, "ana", json!(["client:a\u{0}na"])).await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("nul_character"))
    );
    let (s, _) = app.api(Method::GET, "/api/v1/users/ana", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // 32 distinct identities are fine, and repeats do not count.
    let mut most: Vec<String> = (0..32).map(|i| format!("client:a{i}")).collect();
    most.push("client:a0".into());
    let (s, v) = put(&app, "ana", json!(most)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["identities"].as_array().unwrap().len(), 32);
    app.stop().await;
}
