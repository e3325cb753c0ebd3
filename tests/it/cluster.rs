//! Several instances on one PostgreSQL database: any instance may take any delivery of any
//! call, at the same moment; what one instance changes, the others hear of at once.
//!
//! These tests need a shared database: they run in the PostgreSQL pass of the suite
//! (`CALLGATE_TEST_POSTGRES`, mandatory in CI) and are reported as ignored, with that reason,
//! in the embedded pass (`cfg(callgate_test_postgres)`, set by build.rs).

use crate::events::{Stream, next_hub_tenant};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;

/// A first instance, and a second one on the same database.
async fn two_instances() -> (TestApp, TestApp) {
    required_postgres_server();
    let a = TestApp::spawn().await;
    let url = postgres_schema(a.dir.path()).expect("a schema on the PostgreSQL server");
    let b = TestApp::spawn_with(&[("CALLGATE_DATABASE_URL", &url)], "").await;
    (a, b)
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
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn deliveries_spread_over_two_instances_fold_into_the_same_calls() {
    let (a, b) = two_instances().await;
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
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn what_one_instance_changes_the_other_hears_of_at_once() {
    let (a, b) = two_instances().await;
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

/// A change of a user's rights on one instance reaches that user's open stream on the other
/// at once: a tenant taken away stops arriving (after a `resync`), a revoked token ends the
/// stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn rights_changed_on_one_instance_reach_open_streams_on_the_other() {
    let (a, b) = two_instances().await;
    a.tenant("t-austin", &["78701"], &["hvac"]).await;
    a.tenant("t-dallas", &["75201"], &["hvac"]).await;
    a.user("ana", &["contact_center.view"], &["t-austin", "t-dallas"])
        .await;
    let (token_id, token) = a.token("ana").await;
    let mut on_b = Stream::open_as(&b, &token, None).await;
    a.inbound_chat("t-dallas", "th-0").await;
    assert_eq!(next_hub_tenant(&mut on_b).await, "t-dallas");

    a.user("ana", &["contact_center.view"], &["t-austin"]).await;
    a.inbound_chat("t-dallas", "th-1").await;
    a.inbound_chat("t-austin", "th-2").await;
    let e = on_b.next().await;
    assert_eq!(
        (e.event.as_str(), &e.data["reason"]),
        ("resync", &json!("rights_changed"))
    );
    assert_eq!(
        next_hub_tenant(&mut on_b).await,
        "t-austin",
        "t-dallas's update is not sent"
    );

    let (s, _) = a.revoke("ana", &token_id).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    a.inbound_chat("t-austin", "th-3").await;
    let sent = on_b.ends().await;
    assert!(sent.is_empty(), "nothing after the revocation: {sent:?}");
    a.stop().await;
    b.stop().await;
}

/// Both instances' outbox workers share the work: every discarded recording is deleted at
/// the provider exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn each_deletion_is_sent_once_whichever_instance_runs_it() {
    let (a, b) = two_instances().await;
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
    // No second attempt can follow: every job is closed (a claim takes only open jobs), and
    // once both instances have stopped (each waits for its worker's pass to end), every
    // attempt either worker had started has reached the provider.
    let open = a
        .running
        .as_ref()
        .unwrap()
        .state
        .store
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM outbox WHERE done_at IS NULL",
                &[],
                |r| r.get::<i64>(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(open, 0, "every deletion job is closed");
    assert_eq!(
        count_rows(&a, "outbox").await,
        i64::try_from(calls).unwrap()
    );
    a.stop().await;
    b.stop().await;
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    for r in api.received_requests().await.unwrap() {
        *by_path.entry(r.url.path().to_owned()).or_default() += 1;
    }
    assert_eq!(by_path.len(), calls, "{by_path:?}");
    assert!(by_path.values().all(|n| *n == 1), "{by_path:?}");
}

/// A TCP relay to PostgreSQL that the test can take down (every session cut, new ones
/// refused) and bring back.
struct Outage {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: std::sync::Arc<std::sync::Mutex<tokio_util::sync::CancellationToken>>,
}

impl Outage {
    async fn relay_to(target: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let cut = std::sync::Arc::new(std::sync::Mutex::new(
            tokio_util::sync::CancellationToken::new(),
        ));
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees its connection closed
                }
                let token = cut2.lock().unwrap().clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = token.cancelled() => {}
                    }
                });
            }
        });
        Self { addr, up, cut }
    }

    fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut cut = self.cut.lock().unwrap();
        cut.cancel();
        *cut = tokio_util::sync::CancellationToken::new();
    }

    fn back(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// PostgreSQL goes away under load and comes back: meanwhile deliveries get 503, never a
/// 2xx; afterwards they are acknowledged again; nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn a_database_outage_answers_503_and_loses_nothing_acknowledged() {
    let server = required_postgres_server();
    // postgres://user@host:port/db... : relay host:port.
    let authority_start = server.find('@').map_or("postgres://".len(), |i| i + 1);
    let authority_end = server[authority_start..]
        .find('/')
        .map_or(server.len(), |i| authority_start + i);
    let target = server[authority_start..authority_end].to_owned();
    let outage = Outage::relay_to(target.clone()).await;
    let schema_dir = tempfile::tempdir().unwrap();
    let url =
        postgres_schema(schema_dir.path())
            .unwrap()
            .replacen(&target, &outage.addr.to_string(), 1);
    let app =
        std::sync::Arc::new(TestApp::spawn_with(&[("CALLGATE_DATABASE_URL", &url)], "").await);
    let conn = app.twilio_connection("http://127.0.0.1:9").await;

    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Each sender's acknowledgements and refusals, for the phases below.
    let acks: std::sync::Arc<Vec<AtomicUsize>> =
        std::sync::Arc::new((0..6).map(|_| AtomicUsize::new(0)).collect());
    let refusals: std::sync::Arc<Vec<AtomicUsize>> =
        std::sync::Arc::new((0..6).map(|_| AtomicUsize::new(0)).collect());
    let stop = tokio_util::sync::CancellationToken::new();
    let mut senders = Vec::new();
    for worker in 0..6 {
        let (app, conn, acked, refused, acks, refusals, stop) = (
            app.clone(),
            conn.clone(),
            acked.clone(),
            refused.clone(),
            acks.clone(),
            refusals.clone(),
            stop.clone(),
        );
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                if stop.is_cancelled() {
                    return;
                }
                let sid = format!("CA{worker:02}{i:030}");
                let d = status(
                    &sid,
                    "+15125550123",
                    TOLL_FREE,
                    "ringing",
                    0,
                    "Mon, 23 Nov 2026 18:00:00 +0000",
                );
                let s = app.twilio(&conn, &pairs(&d)).await.status();
                if s.is_success() {
                    acked.lock().unwrap().push(sid);
                    acks[worker].fetch_add(1, SeqCst);
                } else {
                    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
                    refused.fetch_add(1, SeqCst);
                    refusals[worker].fetch_add(1, SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }));
    }
    let counts = |of: &[AtomicUsize]| of.iter().map(|n| n.load(SeqCst)).collect::<Vec<_>>();
    // A sender that failed (an answer other than 2xx or 503) ends the wait: joining it below
    // reports why.
    let failed = || senders.iter().any(tokio::task::JoinHandle::is_finished);
    let limit = std::time::Duration::from_secs(30);
    eventually_within(
        "every sender is acknowledged before the outage",
        limit,
        || async { failed() || counts(&acks).iter().all(|n| *n > 0) },
    )
    .await;
    let before = acked.lock().unwrap().len();
    outage.down();
    // The outage lasts until every sender has been refused three times since it began: by
    // then each sender's request in flight when the database went away has been answered,
    // and two more have been refused.
    let refused_before = counts(&refusals);
    eventually_within(
        "every sender is refused three times during the outage",
        limit,
        || async {
            failed()
                || counts(&refusals)
                    .iter()
                    .zip(&refused_before)
                    .all(|(now, then)| now - then >= 3)
        },
    )
    .await;
    let during = acked.lock().unwrap().len();
    outage.back();
    let acked_during = counts(&acks);
    eventually_within(
        "every sender is acknowledged again after the outage",
        limit,
        || async {
            failed()
                || counts(&acks)
                    .iter()
                    .zip(&acked_during)
                    .all(|(now, then)| now > then)
        },
    )
    .await;
    stop.cancel();
    for s in senders {
        s.await.unwrap();
    }
    let after = acked.lock().unwrap().len();
    assert!(before > 0, "nothing acknowledged before the outage");
    assert!(
        refused.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "no 503 during the outage"
    );
    // Requests in flight when the database went away may still have committed; past that,
    // acknowledgements stop until it is back.
    assert!(
        during - before <= 6,
        "{} acknowledged while the database was away",
        during - before
    );
    assert!(after > during, "nothing acknowledged after the outage");
    let acked = acked.lock().unwrap().clone();
    for sid in &acked {
        let v = app
            .get(&format!("/api/v1/calls?provider_call_id={sid}"))
            .await;
        assert_eq!(
            v["calls"].as_array().map_or(0, Vec::len),
            1,
            "{sid} was acknowledged but is not stored"
        );
    }
    eprintln!(
        "{} acknowledged ({before} before, {} after the outage), {} refused with 503: 0 lost",
        acked.len(),
        after - during,
        refused.load(std::sync::atomic::Ordering::SeqCst)
    );
}

/// An erasure on one instance reaches the other's live event ring: a client catching up
/// there is not replayed the erased caller's call.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn an_erasure_on_one_instance_is_forgotten_by_the_other_s_live_events() {
    let (a, b) = two_instances().await;
    let conn = a.twilio_connection("http://127.0.0.1:9").await;
    a.austin_directory().await;
    let (person, other) = ("+15125550123", "+15125550199");
    let (before, erased_call, kept) = (
        "CA40000000000000000000000000000001",
        "CA40000000000000000000000000000002",
        "CA40000000000000000000000000000003",
    );
    let mut stream = Stream::open(&b, None).await;
    deliver_all(&a, &conn, &[ringing(before, other, AUSTIN_LOCAL)]).await;
    let seen = stream.call_update(before).await;
    deliver_all(&a, &conn, &[ringing(erased_call, person, AUSTIN_LOCAL)]).await;
    deliver_all(&a, &conn, &[ringing(kept, other, AUSTIN_LOCAL)]).await;
    // b has heard of both, in order, before the erasure.
    stream.call_update(kept).await;
    drop(stream);
    let (s, v) = a
        .api(
            Method::POST,
            "/api/v1/privacy/erase",
            Some(json!({"number": person})),
        )
        .await;
    assert_eq!((s, &v["calls"]), (StatusCode::OK, &json!(1)), "{v}");
    eventually("b forgets the erased call's events", || async {
        let mut stream = Stream::open(&b, seen.id.as_deref()).await;
        let first = stream.next().await;
        first.data["call"]["provider_call_id"] == kept
    })
    .await;
}
