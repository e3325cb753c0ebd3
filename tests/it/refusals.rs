//! The refusal log and a connection's recent deliveries: what a refused webhook leaves (why,
//! what it was checked against, never a header value), how many are kept, and the listings
//! `GET /api/v1/connections/{id}/refusals` and `.../deliveries`.

use crate::support::*;
use callgate::store::webhook_log::{self, KEEP_PER_CONNECTION, NewRefusal};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The refusals of `conn` once `n` of them are listed.
pub async fn refusals_reach(app: &TestApp, conn: &str, n: usize) -> Vec<Value> {
    let path = format!("/api/v1/connections/{conn}/refusals");
    eventually(&format!("{n} refusals of {conn}"), || async {
        app.get(&path).await["refusals"].as_array().unwrap().len() >= n
    })
    .await;
    app.get(&path).await["refusals"].as_array().unwrap().clone()
}

/// A Twilio webhook signed over another URL than callgate's public one: the most common
/// refusal, logged with the URL callgate checked, the body's first bytes and no header.
#[tokio::test]
async fn a_signature_over_another_url_is_logged_with_the_url_checked() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let body = form(&[("CallSid", "CA01"), ("CallStatus", "ringing")]);
    let elsewhere = format!("http://internal:8080/webhooks/twilio/{conn}?x=1");
    let signature = twilio_signature(&elsewhere, &body, AUTH_TOKEN);
    let res = app
        .raw_webhook(
            "twilio",
            &format!("{conn}?x=1"),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-twilio-signature", &signature),
            ],
            &body,
        )
        .await;
    assert_invalid_signature(res).await;

    let list = refusals_reach(&app, &conn, 1).await;
    let r = &list[0];
    assert_eq!(r["reason"], "invalid_signature", "{r}");
    assert_eq!(r["failed_check"], "bad_signature", "{r}");
    assert_eq!(r["url"], format!("{PUBLIC}/webhooks/twilio/{conn}?x=1"));
    assert_eq!(r["provider"], "twilio");
    assert_eq!(r["method"], "POST");
    assert_eq!(r["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(r["body_size"], body.len());
    assert_eq!(r["body_prefix"], body);
    assert_eq!(r["body_truncated"], false);
    assert!(r["skew_secs"].is_null());
    let text = r.to_string();
    assert!(!text.contains(&signature), "no header value: {text}");
    assert!(!text.contains(AUTH_TOKEN), "no secret: {text}");
    // Nothing was accepted.
    let d = app
        .get(&format!("/api/v1/connections/{conn}/deliveries"))
        .await;
    assert_eq!(d["deliveries"], serde_json::json!([]), "{d}");
    app.stop().await;
}

/// A missing header, a disabled connection and a content type the provider does not send
/// are each logged with their own reason; a long body keeps only its first bytes.
#[tokio::test]
async fn each_refusal_names_its_reason_and_keeps_a_short_prefix() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let long = "A".repeat(1000);
    let res = app
        .raw_webhook(
            "twilio",
            &conn,
            &[("content-type", "application/x-www-form-urlencoded")],
            &long,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let r = refusals_reach(&app, &conn, 1).await;
    assert_eq!(r[0]["failed_check"], "missing_header", "{}", r[0]);
    assert_eq!(r[0]["body_size"], 1000);
    assert_eq!(
        r[0]["body_prefix"].as_str().unwrap().len(),
        webhook_log::BODY_PREFIX
    );
    assert_eq!(r[0]["body_truncated"], true);

    let body = form(&[("CallSid", "CA02")]);
    let signature = twilio_signature(
        &format!("{PUBLIC}/webhooks/twilio/{conn}"),
        &body,
        AUTH_TOKEN,
    );
    let res = app
        .raw_webhook(
            "twilio",
            &conn,
            &[
                ("content-type", "text/plain"),
                ("x-twilio-signature", &signature),
            ],
            &body,
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let r = refusals_reach(&app, &conn, 2).await;
    assert_eq!(r[0]["content_type"], "text/plain", "{}", r[0]);
    assert!(
        ["unsupported_content_type", "invalid_signature"]
            .contains(&r[0]["reason"].as_str().unwrap()),
        "{}",
        r[0]
    );

    let (s, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/connections/{conn}/disable"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let res = app.twilio(&conn, &[("CallSid", "CA02")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let r = refusals_reach(&app, &conn, 3).await;
    assert_eq!(r[0]["reason"], "connection_disabled", "{}", r[0]);
    app.stop().await;
}

/// A path that names no connection of callgate's is refused as before and listed under no
/// connection; another connection's log stays empty.
#[tokio::test]
async fn refusals_are_per_connection() {
    let app = TestApp::spawn().await;
    let a = app.twilio_connection("http://127.0.0.1:9").await;
    let b = app.twilio_connection("http://127.0.0.1:9").await;
    let unknown = "conn_00000000000000000000000000000000";
    let res = app.twilio(unknown, &[("CallSid", "CA03")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.twilio_signed(&a, &[("CallSid", "CA03")], "wrong").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    refusals_reach(&app, &a, 1).await;
    eventually("the unknown connection's refusal", || async {
        count_rows(&app, "webhook_refusals").await == 2
    })
    .await;
    let listed = app.get(&format!("/api/v1/connections/{b}/refusals")).await;
    assert_eq!(listed["refusals"], serde_json::json!([]), "{listed}");
    let (s, v) = app
        .api(
            Method::GET,
            &format!("/api/v1/connections/{unknown}/refusals"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    app.stop().await;
}

fn refusal(conn: Option<&str>, n: usize) -> NewRefusal {
    NewRefusal {
        connection_id: conn.map(str::to_owned),
        provider: "twilio".into(),
        at: time::OffsetDateTime::now_utc(),
        reason: "invalid_signature".into(),
        failed_check: Some("bad_signature".into()),
        detail: None,
        url: format!("{PUBLIC}/webhooks/twilio/{n}"),
        skew_secs: None,
        method: "POST".into(),
        content_type: None,
        body_size: 0,
        body_prefix: vec![0, 1, 2],
    }
}

/// Each connection keeps its newest refusals only, whatever the others do; the listing pages
/// through them newest first; retention deletes those older than its period.
#[tokio::test]
async fn the_log_keeps_the_newest_refusals_of_each_connection() {
    let app = TestApp::spawn().await;
    let a = app.twilio_connection("http://127.0.0.1:9").await;
    let b = app.twilio_connection("http://127.0.0.1:9").await;
    let store = app.running.as_ref().unwrap().state.store.clone();
    let keep = usize::try_from(KEEP_PER_CONNECTION).unwrap();
    let (ca, cb) = (a.clone(), b.clone());
    store
        .write(move |db| {
            for n in 0..keep + 5 {
                webhook_log::record(db, &refusal(Some(&ca), n))?;
            }
            for n in 0..3 {
                webhook_log::record(db, &refusal(Some(&cb), n))?;
                webhook_log::record(db, &refusal(None, n))?;
            }
            Ok::<_, callgate::store::StoreError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        count_rows(&app, "webhook_refusals").await,
        KEEP_PER_CONNECTION + 6
    );
    let first = app
        .get(&format!("/api/v1/connections/{a}/refusals?limit=150"))
        .await;
    let page = first["refusals"].as_array().unwrap();
    assert_eq!(page.len(), 150);
    assert_eq!(
        page[0]["url"],
        format!("{PUBLIC}/webhooks/twilio/{}", keep + 4)
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!(
            "/api/v1/connections/{a}/refusals?limit=150&cursor={cursor}"
        ))
        .await;
    let rest = rest["refusals"].as_array().unwrap();
    assert_eq!(rest.len(), keep - 150);
    assert_eq!(
        rest.last().unwrap()["url"],
        format!("{PUBLIC}/webhooks/twilio/5"),
        "the five oldest were deleted"
    );
    let b_list = app.get(&format!("/api/v1/connections/{b}/refusals")).await;
    assert_eq!(b_list["refusals"].as_array().unwrap().len(), 3);

    let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let deleted = store
        .write(move |db| webhook_log::delete_refusals_before(db, later, 100))
        .await
        .unwrap();
    assert_eq!(deleted, 100, "one batch");

    // The retention pass deletes those older than the raw bodies' period, and none younger.
    let period = std::time::Duration::from_secs(3600);
    let periods = callgate::config::Retention {
        deliveries: period,
        calls: period * 100,
        audit: period * 100,
    };
    let pruner = callgate::retention::Pruner::new(store.clone(), periods);
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(pruner.prune(now).await.unwrap().refusals, 0);
    let pruned = pruner.prune(now + period * 2).await.unwrap();
    assert_eq!(pruned.refusals, u64::try_from(keep + 6 - 100).unwrap());
    assert_eq!(count_rows(&app, "webhook_refusals").await, 0);
    app.stop().await;
}

/// The listings check their parameters as every listing does.
#[tokio::test]
async fn the_listings_refuse_bad_pages() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    for list in ["refusals", "deliveries"] {
        for (query, code) in [
            ("limit=0", "invalid_limit"),
            ("cursor=x", "invalid_cursor"),
            ("other=1", "bad_request"),
        ] {
            let (s, v) = app
                .api(
                    Method::GET,
                    &format!("/api/v1/connections/{conn}/{list}?{query}"),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{list}?{query}: {v}");
            assert_eq!(v["error"]["code"], code, "{list}?{query}: {v}");
        }
    }
    app.stop().await;
}

/// The deliveries a connection accepted, newest first, with their events counted.
#[tokio::test]
async fn accepted_deliveries_are_listed_with_their_events() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let ring = ringing(
        "CA0000000000000000000000000000aa",
        "+15125550111",
        "+15125550100",
    );
    assert!(app.twilio(&conn, &pairs(&ring)).await.status().is_success());
    assert!(app.twilio(&conn, &pairs(&ring)).await.status().is_success());
    let v = app
        .get(&format!("/api/v1/connections/{conn}/deliveries"))
        .await;
    let list = v["deliveries"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{v}");
    assert_eq!(list[1]["events"], 1, "{v}");
    assert_eq!(list[1]["outcome"], "events");
    assert_eq!(list[0]["outcome"], "no_new_events", "a repeat: {v}");
    assert_eq!(list[0]["events"], 0, "{v}");
    assert_eq!(list[0]["method"], "POST");
    assert_eq!(list[0]["target"], format!("/webhooks/twilio/{conn}"));
    assert_eq!(list[0]["content_type"], "application/x-www-form-urlencoded");
    assert!(list[0]["body_size"].as_i64().unwrap() > 0);
    app.stop().await;
}

/// While the store cannot write, a refused webhook is still answered with its 4xx at once.
#[tokio::test]
async fn a_refusal_is_answered_while_the_store_is_blocked() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    // The connection is cached by a first webhook, so the refused one needs no read.
    let res = app
        .twilio_signed(&conn, &[("CallSid", "CA04")], "wrong")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let blocker = StoreBlocker::hold(app.dir.path());
    let res = app
        .twilio_signed(&conn, &[("CallSid", "CA05")], "wrong")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    drop(blocker);
    app.stop().await;
}

/// An export of a number lists every refused webhook holding it, and erasing it takes them
/// out of the log, whatever spelling the body used.
#[tokio::test]
async fn erasure_takes_a_number_out_of_the_refusal_log() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let holding = [("CallSid", "CA06"), ("From", "+15125550123")];
    let res = app.twilio_signed(&conn, &holding, "wrong").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .twilio_signed(
            &conn,
            &[("CallSid", "CA07"), ("From", "+15125550999")],
            "wrong",
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    refusals_reach(&app, &conn, 2).await;
    let (s, exported) = app
        .api(
            Method::POST,
            "/api/v1/privacy/export",
            Some(serde_json::json!({"number": "+15125550123"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{exported}");
    let listed = exported["refusals"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{exported}");
    assert!(
        listed[0]["body_prefix"]
            .as_str()
            .unwrap()
            .contains("5125550123"),
        "{exported}"
    );
    let (s, erased) = app
        .api(
            Method::POST,
            "/api/v1/privacy/erase",
            Some(serde_json::json!({"number": "+15125550123"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    assert_eq!(erased["refusals"], 1, "{erased}");
    assert_eq!(erased, exported["counts"], "{erased}");
    let left = app
        .get(&format!("/api/v1/connections/{conn}/refusals"))
        .await;
    let text = left.to_string();
    assert!(!text.contains("5125550123"), "{text}");
    assert_eq!(left["refusals"].as_array().unwrap().len(), 1, "{text}");
    app.stop().await;
}
