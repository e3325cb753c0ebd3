//! Several instances on one PostgreSQL database: any instance may take any delivery of any
//! call, at the same moment; what one instance changes, the others hear of at once.
//!
//! These tests need a shared database: they run in the PostgreSQL pass of the suite
//! (`CALLGATE_TEST_POSTGRES`, mandatory in CI) and say so and return in the embedded pass.

use crate::events::Stream;
use crate::support::*;
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;

/// A first instance, and a second one on the same database; `None` in the embedded pass.
async fn two_instances() -> Option<(TestApp, TestApp)> {
    let a = TestApp::spawn().await;
    let Some(url) = postgres_schema(a.dir.path()) else {
        eprintln!("two instances need a shared database: this test runs with {POSTGRES_VAR}");
        a.stop().await;
        return None;
    };
    let b = TestApp::spawn_with(&[("CALLGATE_DATABASE_URL", &url)], "").await;
    Some((a, b))
}

/// A deterministic shuffle (a linear congruential generator), so that a failure repeats.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from((seed >> 33) % (i as u64 + 1)).unwrap();
        items.swap(i, j);
    }
}

/// Every delivery of 24 calls, twice each, shuffled, sent all at once and spread over both
/// instances: each call ends up complete and the same seen from either instance, with one
/// event per status.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_spread_over_two_instances_fold_into_the_same_calls() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    a.austin_directory().await;
    let conn = a.twilio_connection("http://127.0.0.1:9").await;
    let sids: Vec<String> = (0..24).map(|i| format!("CA{i:032x}")).collect();
    let mut deliveries: Vec<Vec<(&'static str, String)>> = Vec::new();
    for sid in &sids {
        for (seq, st) in ["queued", "ringing", "in-progress", "completed"]
            .iter()
            .enumerate()
        {
            let at = format!("Mon, 23 Nov 2026 18:00:{seq:02} +0000");
            let d = status(sid, "+15125550123", AUSTIN_LOCAL, st, seq as u32, &at);
            deliveries.push(d.clone());
            deliveries.push(d);
        }
    }
    shuffle(&mut deliveries, 7);
    let sent = deliveries.iter().enumerate().map(|(i, d)| {
        let app = if i % 2 == 0 { &a } else { &b };
        let conn = conn.clone();
        async move { app.twilio(&conn, &pairs(d)).await.status() }
    });
    for status in futures_util::future::join_all(sent).await {
        assert!(status.is_success(), "{status}");
    }

    for sid in &sids {
        let (from_a, from_b) = (a.call_by_sid(sid).await, b.call_by_sid(sid).await);
        assert_eq!(from_a, from_b, "{sid} differs between the instances");
        assert_eq!(from_a["state"], "completed", "{from_a}");
        assert_eq!(from_a["tenant"]["tenant_id"], "t-austin", "{from_a}");
    }
    assert_eq!(count_rows(&a, "events").await, 24 * 4);
    assert_eq!(count_rows(&a, "deliveries").await, 24 * 4 * 2);
    assert_eq!(count_rows(&b, "calls").await, 24);
    a.stop().await;
    b.stop().await;
}

/// A live subscriber of one instance sees the calls the other stores; a connection disabled
/// on one instance is refused by the other at once, not when its cache would expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_instance_changes_the_other_hears_of_at_once() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    a.austin_directory().await;
    let conn = a.twilio_connection("http://127.0.0.1:9").await;
    let mut on_b = Stream::open(&b, None).await;
    let sid = "CA000000000000000000000000000c1a01";
    let ring = status(
        sid,
        "+15125550123",
        TOLL_FREE,
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:00 +0000",
    );
    deliver_all(&a, &conn, std::slice::from_ref(&ring)).await;
    let e = on_b.call_update(sid).await;
    assert_eq!(e.data["call"]["state"], "ringing");
    assert_eq!(e.data["call"]["tenant"]["status"], "pending");
    // An open stream would hold b's graceful stop.
    drop(on_b);

    // b knows the connection (and caches it) ...
    deliver_all(&b, &conn, std::slice::from_ref(&ring)).await;
    let (s, v) = a
        .api(
            Method::POST,
            &format!("/api/v1/connections/{conn}/disable"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // ... and refuses it well before its cache would have expired (5 s).
    let started = std::time::Instant::now();
    eventually("b refuses the disabled connection", || async {
        b.twilio(&conn, &pairs(&ring)).await.status() == StatusCode::NOT_FOUND
    })
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    a.stop().await;
    b.stop().await;
}

/// Both instances' outbox workers share the work: every discarded recording is deleted at
/// the provider exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_deletion_is_sent_once_whichever_instance_runs_it() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    a.austin_directory().await;
    let api = provider_api(204).await;
    let conn = a.twilio_connection(&api.uri()).await;
    let calls = 8;
    for i in 0..calls {
        let sid = format!("CA{i:030x}d1");
        let rec = format!("RE{i:030x}d1");
        let app = if i % 2 == 0 { &a } else { &b };
        deliver_all(
            app,
            &conn,
            &[
                status(
                    &sid,
                    "+15125550123",
                    TOLL_FREE,
                    "ringing",
                    0,
                    "Mon, 23 Nov 2026 18:00:00 +0000",
                ),
                recording(&sid, &rec, "completed"),
                status(
                    &sid,
                    "+15125550123",
                    TOLL_FREE,
                    "completed",
                    1,
                    "Mon, 23 Nov 2026 18:01:00 +0000",
                ),
            ],
        )
        .await;
    }
    eventually("every recording is deleted", || async {
        let v = a
            .get("/api/v1/audit?action=recording.deletion_confirmed&limit=100")
            .await;
        v["audit"].as_array().map_or(0, Vec::len) == calls
    })
    .await;
    // Both workers keep polling for a while: no second attempt follows.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    for r in api.received_requests().await.unwrap() {
        *by_path.entry(r.url.path().to_owned()).or_default() += 1;
    }
    assert_eq!(by_path.len(), calls, "{by_path:?}");
    assert!(by_path.values().all(|n| *n == 1), "{by_path:?}");
    a.stop().await;
    b.stop().await;
}
