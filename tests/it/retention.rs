//! Retention on the running app's store, on both backends: the pruner is given the time
//! (its clock injected), so that a pass happens a period later without waiting for one.

use crate::support::*;
use callgate::config::Retention;
use callgate::retention::{Pruned, Pruner};
use callgate::store::{Store, StoreError};
use reqwest::{Method, StatusCode};
use std::time::Duration;
use time::OffsetDateTime;

const CALLER: &str = "+15125550123";

fn store(app: &TestApp) -> Store {
    app.running.as_ref().unwrap().state.store.clone()
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    store
        .read(move |db| db.query_one(sql, callgate::args![], |r| r.get::<i64>(0)))
        .await
        .unwrap()
}

/// A call ended (`CA…01`, two deliveries) and one going on (`CA…02`, one delivery), to the
/// Austin tenant's local number.
async fn two_calls(app: &TestApp) -> String {
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    let ended = "CA00000000000000000000000000000001";
    deliver_all(
        app,
        &conn,
        &[
            ringing(ended, CALLER, AUSTIN_LOCAL),
            status(
                ended,
                CALLER,
                AUSTIN_LOCAL,
                "completed",
                1,
                "Mon, 23 Nov 2026 18:01:00 +0000",
            ),
        ],
    )
    .await;
    // An agent's leg of the ended call: a leg of it, not a call of its own.
    let mut agent_leg = status(
        "CA00000000000000000000000000000003",
        AUSTIN_LOCAL,
        "client:ana",
        "completed",
        0,
        "Mon, 23 Nov 2026 18:00:50 +0000",
    );
    agent_leg.push(("ParentCallSid", ended.to_owned()));
    agent_leg.retain(|(k, _)| *k != "Direction");
    agent_leg.push(("Direction", "outbound-dial".to_owned()));
    deliver_all(app, &conn, &[agent_leg]).await;
    let going_on = "CA00000000000000000000000000000002";
    deliver_all(app, &conn, &[ringing(going_on, CALLER, AUSTIN_LOCAL)]).await;
    conn
}

fn periods() -> Retention {
    Retention {
        deliveries: Duration::from_secs(100),
        calls: Duration::from_secs(1_000),
        audit: Duration::from_secs(10_000),
    }
}

async fn listed_calls(app: &TestApp) -> usize {
    let (s, v) = app.api(Method::GET, "/api/v1/calls", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["calls"].as_array().unwrap().len()
}

/// Each kind goes once older than its period, and not before: raw bodies first (their events
/// and calls stay), then the ended call with its events and deliveries (the call going on
/// stays), then the audit entries.
#[tokio::test]
async fn each_kind_is_pruned_once_older_than_its_period_and_not_before() {
    let app = TestApp::spawn().await;
    let now = OffsetDateTime::now_utc();
    let conn = two_calls(&app).await;
    let store = store(&app);
    let mut pruner = Pruner::new(store.clone(), periods());
    const BODIES: &str = "SELECT COUNT(*) FROM deliveries WHERE length(body) > 0";

    assert_eq!(
        pruner.prune(now + Duration::from_secs(50)).await.unwrap(),
        Pruned::default()
    );
    assert_eq!(count(&store, BODIES).await, 4);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM call_legs").await, 1);

    let bodies = pruner.prune(now + Duration::from_secs(200)).await.unwrap();
    assert_eq!((bodies.deliveries, bodies.calls, bodies.audit), (4, 0, 0));
    assert_eq!(count(&store, BODIES).await, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM deliveries").await, 4);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM events").await, 4);
    assert_eq!(listed_calls(&app).await, 2);

    let calls = pruner
        .prune(now + Duration::from_secs(2_000))
        .await
        .unwrap();
    assert_eq!((calls.deliveries, calls.calls, calls.audit), (0, 1, 0));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls").await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM events").await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM deliveries").await, 1);
    assert_eq!(listed_calls(&app).await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM call_legs").await, 0);
    const ORPHANS: &str =
        "SELECT COUNT(*) FROM reconciliations WHERE id NOT IN (SELECT id FROM calls)";
    assert_eq!(count(&store, ORPHANS).await, 0);
    assert!(count(&store, "SELECT COUNT(*) FROM audit").await > 0);
    // The writer forgot the deleted call too: a late webhook of it is stored as a new call.
    let late = status(
        "CA00000000000000000000000000000001",
        CALLER,
        AUSTIN_LOCAL,
        "completed",
        2,
        "Mon, 23 Nov 2026 18:01:05 +0000",
    );
    deliver_all(&app, &conn, &[late]).await;
    assert_eq!(listed_calls(&app).await, 2);
    assert!(count(&store, "SELECT COUNT(*) FROM audit").await > 0);

    let audit = pruner
        .prune(now + Duration::from_secs(20_000))
        .await
        .unwrap();
    // The late webhook's call and body go too.
    assert!(audit.audit > 0 && audit.calls == 1, "{audit:?}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM audit").await, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls").await, 1);

    pruner
        .refresh_gauges(now + Duration::from_secs(20_000))
        .await
        .unwrap();
    let metrics = app.metrics().await;
    for kind in ["deliveries", "calls", "audit"] {
        assert!(
            metrics.contains(&format!("callgate_pruned_rows_total{{kind=\"{kind}\"}}"))
                && metrics.contains(&format!("callgate_oldest_row_seconds{{kind=\"{kind}\"}}")),
            "{kind}: {metrics}"
        );
    }
}

/// More rows than one batch holds are all pruned, batch after batch, in one pass.
#[tokio::test]
async fn a_pass_prunes_batch_after_batch() {
    let app = TestApp::spawn().await;
    let store = store(&app);
    let rows = callgate::store::retention::BATCH * 2 + 7;
    store
        .write(move |db| {
            for i in 0..rows {
                db.exec(
                    "INSERT INTO audit (at, actor, action, detail) VALUES (?1, 'test', 'test.old', '{}')",
                    callgate::args![i],
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let mut pruner = Pruner::new(store.clone(), periods());
    let now = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(20_000);
    let pruned = pruner.prune(now).await.unwrap();
    assert_eq!(pruned.audit, u64::try_from(rows).unwrap());
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM audit WHERE action = 'test.old'"
        )
        .await,
        0
    );
}

/// The walk over the calls goes past batches of old calls it keeps (still going on) to the
/// ended ones after them, and leaves a call created after the period's start, ended or not.
#[tokio::test]
async fn the_calls_walk_passes_over_kept_calls_batch_after_batch() {
    let app = TestApp::spawn().await;
    let store = store(&app);
    let kept = callgate::store::retention::BATCH + 5;
    store
        .write(move |db| {
            let call = |n: i64, state: &str, at: i64| {
                db.exec(
                    "INSERT INTO calls (id, connection_id, provider, provider_call_id, state,
                         tenant_status, recording_status, fold, created_at, updated_at)
                     VALUES (?1, 'conn', 'twilio', ?1, ?2, 'pending', 'none', '{}', ?3, ?3)",
                    callgate::args![format!("call-{n}"), state, at],
                )
            };
            for n in 0..kept {
                call(n, "in_progress", 1_000)?;
            }
            for n in kept..kept + 3 {
                call(n, "completed", 2_000)?;
            }
            call(kept + 3, "completed", 19_500_000)?;
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let mut pruner = Pruner::new(store.clone(), periods());
    let now = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(20_000);
    let pruned = pruner.prune(now).await.unwrap();
    assert_eq!(pruned.calls, 3);
    const LEFT: &str = "SELECT COUNT(*) FROM calls WHERE id LIKE 'call-%'";
    assert_eq!(count(&store, LEFT).await, kept + 1);
    assert_eq!(pruner.prune(now).await.unwrap().calls, 0);
}

/// On PostgreSQL, an instance prunes only while no other holds the pruning lock of its
/// schema: while one does, a pass prunes nothing and leaves the rows to it.
#[tokio::test]
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn on_postgres_one_instance_prunes_at_a_time() {
    required_postgres_server();
    let app = TestApp::spawn().await;
    let _ = two_calls(&app).await;
    let store = store(&app);
    let url = postgres_schema(app.dir.path()).unwrap();
    let (hold, held) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let lock = callgate::store::retention::PRUNING_LOCK;
        db.batch_execute(&format!(
            "SELECT pg_advisory_lock({lock}, hashtext(current_schema()))"
        ))
        .unwrap();
        locked.send(()).unwrap();
        held.recv().unwrap();
        // Released here, not by closing the session: the server may end a closed session's
        // backend, and free its lock, after the next prune has asked for it.
        db.batch_execute(&format!(
            "SELECT pg_advisory_unlock({lock}, hashtext(current_schema()))"
        ))
        .unwrap();
    });
    is_locked.recv().unwrap();
    let later = OffsetDateTime::now_utc() + Duration::from_secs(2_000);
    let mut pruner = Pruner::new(store.clone(), periods());
    assert_eq!(pruner.prune(later).await.unwrap(), Pruned::default());
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls").await, 2);
    hold.send(()).unwrap();
    other.join().unwrap();
    let pruned = pruner.prune(later).await.unwrap();
    assert_eq!((pruned.deliveries, pruned.calls), (4, 1));
}

/// A provider's retry, a delivery that brought no new event, is no call's: it is deleted once
/// as old as the calls period, not before, and the delivery of the call it repeated stays
/// while the call goes on.
#[tokio::test]
async fn a_retry_is_deleted_once_as_old_as_the_calls_period() {
    let app = TestApp::spawn().await;
    let now = OffsetDateTime::now_utc();
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let ring = ringing("CA0000000000000000000000000000000a", CALLER, AUSTIN_LOCAL);
    deliver_all(&app, &conn, &[ring.clone(), ring]).await;
    let store = store(&app);
    const COUNTS: &str = "SELECT CAST(COUNT(*) * 10 + SUM(events) AS BIGINT) FROM deliveries";
    assert_eq!(
        count(&store, COUNTS).await,
        21,
        "two deliveries, one new event"
    );
    let mut pruner = Pruner::new(store.clone(), periods());

    let early = pruner.prune(now + Duration::from_secs(500)).await.unwrap();
    assert_eq!(early.duplicates, 0);
    assert_eq!(count(&store, COUNTS).await, 21);

    let later = pruner
        .prune(now + Duration::from_secs(2_000))
        .await
        .unwrap();
    assert_eq!((later.duplicates, later.calls), (1, 0));
    assert_eq!(
        count(&store, COUNTS).await,
        11,
        "the call's own delivery stays"
    );
    assert_eq!(listed_calls(&app).await, 1);
    let again = pruner
        .prune(now + Duration::from_secs(3_000))
        .await
        .unwrap();
    assert_eq!(again.duplicates, 0);
    app.stop().await;
}
