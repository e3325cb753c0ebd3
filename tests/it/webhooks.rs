//! Webhook ingest end to end: normalization, resolution, dedupe, order, bad input.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const LOCAL: &str = "+15125550100";
const NATIONAL: &str = "+18005550199";
const CALLER: &str = "+15125550123";

async fn app_with_directory() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.tenant("t-austin", &["78701", "78702"], &["hvac", "plumbing"])
        .await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    app.number(LOCAL, json!({"kind": "local", "tenant_id": "t-austin"}))
        .await;
    app.number(NATIONAL, json!({"kind": "national"})).await;
    (app, conn)
}

fn full_call(sid: &str, to: &str) -> Vec<Vec<(&'static str, String)>> {
    vec![
        status(
            sid,
            CALLER,
            to,
            "initiated",
            0,
            "Mon, 23 Nov 2026 18:00:00 +0000",
        ),
        status(
            sid,
            CALLER,
            to,
            "ringing",
            1,
            "Mon, 23 Nov 2026 18:00:01 +0000",
        ),
        status(
            sid,
            CALLER,
            to,
            "in-progress",
            2,
            "Mon, 23 Nov 2026 18:00:05 +0000",
        ),
        status(
            sid,
            CALLER,
            to,
            "completed",
            3,
            "Mon, 23 Nov 2026 18:01:00 +0000",
        ),
    ]
}

#[tokio::test]
async fn local_call_is_resolved_at_once_and_its_recording_kept() {
    let (app, conn) = app_with_directory().await;
    let sid = "CA00000000000000000000000000000001";
    let mut deliveries = full_call(sid, LOCAL);
    deliveries.insert(
        2,
        recording(sid, "RE00000000000000000000000000000001", "in-progress"),
    );
    deliveries.push(recording(
        sid,
        "RE00000000000000000000000000000001",
        "completed",
    ));
    deliver_all(&app, &conn, &deliveries).await;

    let call = app.call_by_sid(sid).await;
    assert_eq!(call["provider"], "twilio");
    assert_eq!(call["connection_id"], conn.as_str());
    assert_eq!(call["direction"], "inbound");
    assert_eq!(call["from"], CALLER);
    assert_eq!(call["to"], LOCAL);
    assert_eq!(call["number_kind"], "local");
    assert_eq!(call["state"], "completed");
    assert_eq!(call["started_at"], "2026-11-23T18:00:00Z");
    assert_eq!(call["answered_at"], "2026-11-23T18:00:05Z");
    assert_eq!(call["ended_at"], "2026-11-23T18:01:00Z");
    assert_eq!(
        call["tenant"],
        json!({"status": "resolved", "tenant_id": "t-austin", "via": "local_number"})
    );
    assert_eq!(call["recording"]["status"], "saved");
    assert_eq!(
        call["recording"]["provider_recording_id"],
        "RE00000000000000000000000000000001"
    );
    assert_eq!(call["recording"]["duration_s"], 41);
    assert!(
        call["recording"]["url"]
            .as_str()
            .unwrap()
            .contains("/Recordings/RE0000")
    );
    assert_eq!(call["agent_id"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn incoming_call_webhook_is_answered_with_twiml() {
    let (app, conn) = app_with_directory().await;
    let res = app
        .twilio(
            &conn,
            &[
                ("AccountSid", ACCOUNT_SID),
                ("CallSid", "CA00000000000000000000000000000002"),
                ("CallStatus", "ringing"),
                ("Direction", "inbound"),
                ("From", CALLER),
                ("To", NATIONAL),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let body = res.text().await.unwrap();
    assert!(body.contains("<Response"), "{body}");
    let call = app.call_by_sid("CA00000000000000000000000000000002").await;
    assert_eq!(call["state"], "ringing");
    assert_eq!(call["number_kind"], "national");
    assert_eq!(call["tenant"]["status"], "pending");
    app.stop().await;
}

#[tokio::test]
async fn a_duplicate_delivery_is_acknowledged_and_makes_one_event() {
    let (app, conn) = app_with_directory().await;
    let sid = "CA00000000000000000000000000000003";
    let d = status(
        sid,
        CALLER,
        LOCAL,
        "ringing",
        1,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    );
    for _ in 0..3 {
        let res = app.twilio(&conn, &pairs(&d)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let (deliveries, events) = (
        count_rows(&app, "deliveries").await,
        count_rows(&app, "events").await,
    );
    assert_eq!(
        (deliveries, events),
        (3, 1),
        "every delivery is kept as received; one event"
    );
    app.stop().await;
}

#[tokio::test]
async fn state_only_moves_forward_whatever_the_arrival_order() {
    let (app, conn) = app_with_directory().await;
    let sid = "CA00000000000000000000000000000004";
    let mut deliveries = full_call(sid, LOCAL);
    deliveries.reverse();
    deliver_all(&app, &conn, &deliveries).await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["state"], "completed");
    assert_eq!(call["started_at"], "2026-11-23T18:00:00Z");
    assert_eq!(call["ended_at"], "2026-11-23T18:01:00Z");
    app.stop().await;
}

#[tokio::test]
async fn unlisted_numbers_are_pending_never_guessed_and_counted() {
    let (app, conn) = app_with_directory().await;
    deliver_all(
        &app,
        &conn,
        &[status(
            "CA00000000000000000000000000000005",
            CALLER,
            "+13035550111",
            "ringing",
            0,
            "Mon, 23 Nov 2026 18:00:01 +0000",
        )],
    )
    .await;
    deliver_all(
        &app,
        &conn,
        &[status(
            "CA00000000000000000000000000000006",
            CALLER,
            "+18885550111",
            "ringing",
            0,
            "Mon, 23 Nov 2026 18:00:01 +0000",
        )],
    )
    .await;
    let unknown = app.call_by_sid("CA00000000000000000000000000000005").await;
    assert_eq!(unknown["number_kind"], "unknown");
    assert_eq!(
        unknown["tenant"],
        json!({"status": "pending", "tenant_id": null, "via": null})
    );
    let toll_free = app.call_by_sid("CA00000000000000000000000000000006").await;
    assert_eq!(toll_free["number_kind"], "national");
    assert_eq!(toll_free["tenant"]["status"], "pending");
    // Both are counted for ops (the toll-free one is national by default, not configured);
    // a number's second call counts once more.
    deliver_all(
        &app,
        &conn,
        &[status(
            "CA00000000000000000000000000000008",
            CALLER,
            "+13035550111",
            "ringing",
            0,
            "Mon, 23 Nov 2026 18:05:01 +0000",
        )],
    )
    .await;
    let counted = app.get("/api/v1/numbers/unknown").await;
    let rows: Vec<(&str, &str, i64)> = counted["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["e164"].as_str().unwrap(),
                n["kind"].as_str().unwrap(),
                n["calls"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("+13035550111", "unknown", 2),
            ("+18885550111", "national", 1)
        ]
    );
    // Once listed, a number is no longer unknown.
    app.number("+18885550111", json!({"kind": "national"}))
        .await;
    let counted = app.get("/api/v1/numbers/unknown").await;
    assert_eq!(counted["numbers"].as_array().unwrap().len(), 1);
    assert_eq!(counted["numbers"][0]["e164"], "+13035550111");
    app.stop().await;
}

#[tokio::test]
async fn unknown_provider_values_are_kept_as_unmapped() {
    let (app, conn) = app_with_directory().await;
    let sid = "CA00000000000000000000000000000007";
    deliver_all(
        &app,
        &conn,
        &[status(
            sid,
            CALLER,
            LOCAL,
            "ringing",
            0,
            "Mon, 23 Nov 2026 18:00:01 +0000",
        )],
    )
    .await;
    let res = app
        .twilio(
            &conn,
            &pairs(&status(
                sid,
                CALLER,
                LOCAL,
                "teleported",
                1,
                "Mon, 23 Nov 2026 18:00:02 +0000",
            )),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let call = app.call_by_sid(sid).await;
    assert_eq!(
        call["state"], "ringing",
        "an unknown status changes nothing"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("callgate_unmapped_events_total"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn outbound_calls_resolve_by_the_calling_number() {
    let (app, conn) = app_with_directory().await;
    let sid = "CA00000000000000000000000000000008";
    let mut d = status(
        sid,
        LOCAL,
        CALLER,
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    );
    for (k, v) in &mut d {
        if *k == "Direction" {
            *v = "outbound-api".into();
        }
    }
    deliver_all(&app, &conn, &[d]).await;
    let call = app.call_by_sid(sid).await;
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["tenant"]["tenant_id"], "t-austin");
    assert_eq!(call["number_kind"], "local");
    app.stop().await;
}

/// Every named bad input gets the contract's 4xx with a JSON error, and stores nothing.
#[tokio::test]
async fn bad_webhooks_get_clear_4xx_json_errors() {
    let (app, conn) = app_with_directory().await;
    let sid = "CA00000000000000000000000000000009";
    let params = status(
        sid,
        CALLER,
        LOCAL,
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    );
    let body = form(&pairs(&params));
    let path = format!("/webhooks/twilio/{conn}");
    let good_sig = twilio_signature(&format!("{PUBLIC}{path}"), &body, AUTH_TOKEN);
    let host_sig = twilio_signature(&format!("{}{path}", app.base), &body, AUTH_TOKEN);
    let wrong_sig = twilio_signature(&format!("{PUBLIC}{path}"), &body, "another-token");
    let tampered = body.replace("ringing", "completed");
    let no_callsid = form(&[("CallStatus", "ringing"), ("From", CALLER), ("To", LOCAL)]);
    let no_callsid_sig = twilio_signature(&format!("{PUBLIC}{path}"), &no_callsid, AUTH_TOKEN);
    let json_body = r#"{"CallSid": "CA1"}"#;
    let json_path = {
        use sha2::Digest;
        let hex: String = sha2::Sha256::digest(json_body.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{path}?bodySHA256={hex}")
    };
    let json_sig = twilio_signature_for(
        "application/json",
        &format!("{PUBLIC}{json_path}"),
        json_body,
        AUTH_TOKEN,
    );
    let huge = "a=".to_owned() + &"x".repeat(1024 * 1024 + 10);

    struct Case<'a> {
        name: &'a str,
        path: String,
        content_type: &'a str,
        sig: Option<&'a str>,
        body: String,
        status: u16,
        code: &'a str,
    }
    let form_ct = "application/x-www-form-urlencoded";
    let cases = [
        Case {
            name: "missing signature",
            path: path.clone(),
            content_type: form_ct,
            sig: None,
            body: body.clone(),
            status: 401,
            code: "invalid_signature",
        },
        Case {
            name: "garbage signature",
            path: path.clone(),
            content_type: form_ct,
            sig: Some("not-base64!!"),
            body: body.clone(),
            status: 401,
            code: "invalid_signature",
        },
        Case {
            name: "bad signature",
            path: path.clone(),
            content_type: form_ct,
            sig: Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            body: body.clone(),
            status: 401,
            code: "invalid_signature",
        },
        Case {
            name: "wrong token",
            path: path.clone(),
            content_type: form_ct,
            sig: Some(&wrong_sig),
            body: body.clone(),
            status: 401,
            code: "invalid_signature",
        },
        Case {
            name: "tampered body",
            path: path.clone(),
            content_type: form_ct,
            sig: Some(&good_sig),
            body: tampered,
            status: 401,
            code: "invalid_signature",
        },
        Case {
            name: "signed for the Host URL",
            path: path.clone(),
            content_type: form_ct,
            sig: Some(&host_sig),
            body: body.clone(),
            status: 401,
            code: "invalid_signature",
        },
        Case {
            name: "query added",
            path: format!("{path}?x=1"),
            content_type: form_ct,
            sig: Some(&good_sig),
            body: body.clone(),
            status: 401,
            code: "invalid_signature",
        },
        Case {
            name: "unknown connection",
            path: "/webhooks/twilio/conn_0000000000000000000000000000000f".into(),
            content_type: form_ct,
            sig: Some(&good_sig),
            body: body.clone(),
            status: 404,
            code: "unknown_connection",
        },
        Case {
            name: "not a connection id",
            path: "/webhooks/twilio/conn_nope".into(),
            content_type: form_ct,
            sig: Some(&good_sig),
            body: body.clone(),
            status: 404,
            code: "unknown_connection",
        },
        Case {
            name: "unknown provider",
            path: format!("/webhooks/acme/{conn}"),
            content_type: form_ct,
            sig: Some(&good_sig),
            body: body.clone(),
            status: 404,
            code: "unknown_provider",
        },
        Case {
            name: "oversized body",
            path: path.clone(),
            content_type: form_ct,
            sig: Some(&good_sig),
            body: huge,
            status: 413,
            code: "payload_too_large",
        },
        Case {
            name: "wrong content type",
            path: json_path.clone(),
            content_type: "application/json",
            sig: Some(&json_sig),
            body: json_body.into(),
            status: 415,
            code: "unsupported_media_type",
        },
        Case {
            name: "missing CallSid",
            path: path.clone(),
            content_type: form_ct,
            sig: Some(&no_callsid_sig),
            body: no_callsid.clone(),
            status: 400,
            code: "malformed_webhook",
        },
    ];
    // Every signature failure answers the same bytes: the body tells a prober nothing about
    // which check failed.
    let mut signature_bodies = std::collections::BTreeSet::new();
    for case in cases {
        let mut req = app
            .http
            .post(format!("{}{}", app.base, case.path))
            .header("content-type", case.content_type)
            .body(case.body);
        if let Some(sig) = case.sig {
            req = req.header("x-twilio-signature", sig);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), case.status, "{}", case.name);
        let text = res.text().await.unwrap();
        if case.code == "invalid_signature" {
            signature_bodies.insert(text.clone());
        }
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: body is not JSON: {e}", case.name));
        assert_eq!(v["error"]["code"], case.code, "{}: {v}", case.name);
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            case.name
        );
        assert!(
            !v.to_string().contains(AUTH_TOKEN),
            "{}: leaks the token",
            case.name
        );
    }
    assert_eq!(signature_bodies.len(), 1, "{signature_bodies:?}");
    let stored = count_rows(&app, "deliveries").await;
    assert_eq!(stored, 0, "nothing refused was stored");
    // Ops see each refusal by its reason.
    let metrics = app.metrics().await;
    for reason in [
        "missing_header",
        "malformed_header",
        "bad_signature",
        "unknown_connection",
        "unknown_provider",
        "unsupported_content_type",
        "missing_field",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("callgate_webhooks_rejected_total{")
                    && l.contains(&format!("reason=\"{reason}\""))),
            "no rejection counted as {reason}: {metrics}"
        );
    }

    // A disabled connection is unknown to providers until enabled again.
    let (s, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/connections/{conn}/disable"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let res = app.twilio(&conn, &pairs(&params)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (s, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/connections/{conn}/enable"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let res = app.twilio(&conn, &pairs(&params)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.stop().await;
}

/// A few hundred random requests: never a 5xx, always JSON errors.
#[tokio::test]
async fn random_garbage_never_gets_a_5xx() {
    use rand::{Rng, SeedableRng};
    let (app, conn) = app_with_directory().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let paths = [
        format!("/webhooks/twilio/{conn}"),
        "/webhooks/twilio/x".into(),
        "/webhooks/%00/%ff".into(),
        "/api/v1/connections".into(),
        "/api/v1/tenants/t-austin".into(),
        "/api/v1/numbers/%2B15125550100".into(),
        "/api/v1/calls?limit=abc".into(),
        "/api/v1/settings".into(),
        "/api/v1/calls/nope/tenant".into(),
    ];
    let methods = [
        Method::POST,
        Method::PUT,
        Method::GET,
        Method::DELETE,
        Method::PATCH,
    ];
    let cts = [
        "application/x-www-form-urlencoded",
        "application/json",
        "text/plain",
        "",
        "multipart/form-data; boundary=x",
    ];
    for i in 0..300 {
        let len = rng.random_range(0..2048);
        let body: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let path = &paths[i % paths.len()];
        let method = methods[rng.random_range(0..methods.len())].clone();
        let mut req = app
            .http
            .request(method, format!("{}{path}", app.base))
            .body(body);
        let ct = cts[rng.random_range(0..cts.len())];
        if !ct.is_empty() {
            req = req.header("content-type", ct);
        }
        if rng.random_bool(0.5) {
            req = req.bearer_auth(TOKEN);
        }
        if rng.random_bool(0.5) {
            req = req.header("x-twilio-signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        }
        let res = req.send().await.unwrap();
        assert!(
            res.status().is_client_error() || res.status().is_success(),
            "{path}: {}",
            res.status()
        );
        if !res.status().is_success() {
            let v: Value = res.json().await.expect("JSON error body");
            assert!(v["error"]["code"].is_string());
        }
    }
    app.stop().await;
}

/// When the store cannot take the write, the provider gets 503 (and retries), never a 2xx;
/// once the store is back, the retry is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_unavailable_answers_503_and_the_retry_is_stored() {
    let (app, conn) = app_with_directory().await;
    let sid = "CA00000000000000000000000000000010";
    let params = status(
        sid,
        CALLER,
        LOCAL,
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    );
    let blocker = StoreBlocker::hold(app.dir.path());

    let res = app.twilio(&conn, &pairs(&params)).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "store_unavailable");

    drop(blocker);
    let res = app.twilio(&conn, &pairs(&params)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.call_by_sid(sid).await["state"], "ringing");
    app.stop().await;
}

/// A NUL character is no text either store keeps alike (PostgreSQL refuses it): in a
/// webhook or an API body it is bad input, a 400 with a JSON error, and nothing is stored.
#[tokio::test]
async fn nul_characters_are_refused_as_bad_input() {
    let (app, conn) = app_with_directory().await;
    let mut d = status(
        "CA0000000000000000000000000000\u{0}nul",
        CALLER,
        LOCAL,
        "ringing",
        1,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    );
    let res = app.twilio(&conn, &pairs(&d)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "malformed_webhook", "{v}");
    d[2].1 = "CA00000000000000000000000000000nul".into();
    d.push(("CallerName", "JANE\u{0}DOE".into()));
    let res = app.twilio(&conn, &pairs(&d)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count_rows(&app, "deliveries").await, 0);

    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/tenants/t-nul",
            Some(json!({"name": "Tenant\u{0}", "zip_codes": ["78701"], "trades": ["hvac"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"]["code"].is_string());
    let (s, _) = app.api(Method::GET, "/api/v1/tenants/t-nul", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}
