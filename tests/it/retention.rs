//! Retention on the running app's store, on both backends: the pruner is given the time
//! (its clock injected), so that a pass happens a period later without waiting for one.

use crate::support::*;
use callgate::config::Retention;
use callgate::retention::{Pruned, Pruner};
use callgate::store::{Store, StoreError};
use callgate::telemetry::PRUNED_KINDS;
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
    let pruner = Pruner::new(store.clone(), periods());
    const BODIES: &str = "SELECT COUNT(*) FROM deliveries WHERE length(body) > 0";

    let early = pruner.prune(now + Duration::from_secs(50)).await.unwrap();
    assert_eq!(
        Pruned {
            examined: 0,
            ..early
        },
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
}

/// Records an audit entry `action` at `at` (milliseconds since the epoch).
fn audit_entry(db: &callgate::store::Db<'_>, at: i64, action: &str) -> Result<usize, StoreError> {
    db.exec(
        "INSERT INTO audit (at, actor, action, detail) VALUES (?1, 'test', ?2, '{}')",
        callgate::args![at, action],
    )
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
                audit_entry(db, i, "test.old")?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let pruner = Pruner::new(store.clone(), periods());
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
    let kept = callgate::store::retention::CALL_BATCH * 2 + 5;
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
    let pruner = Pruner::new(store.clone(), periods());
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
    let pruner = Pruner::new(store.clone(), periods());
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
    let pruner = Pruner::new(store.clone(), periods());

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

/// Each kind's rows in the store, in the order of `PRUNED_KINDS`: raw bodies not emptied,
/// calls, audit entries, refused webhooks, deliveries that brought no new event, calls to
/// unlisted numbers.
async fn rows_by_kind(store: &Store) -> [i64; 6] {
    [
        count(
            store,
            "SELECT COUNT(*) FROM deliveries WHERE length(body) > 0",
        )
        .await,
        count(store, "SELECT COUNT(*) FROM calls").await,
        count(store, "SELECT COUNT(*) FROM audit").await,
        count(store, "SELECT COUNT(*) FROM webhook_refusals").await,
        count(store, "SELECT COUNT(*) FROM deliveries WHERE events = 0").await,
        count(store, "SELECT COUNT(*) FROM unknown_number_calls").await,
    ]
}

/// The series of `family` of each kind pruned, in the order of `PRUNED_KINDS`.
fn by_kind(metrics: &str, family: &str) -> [f64; 6] {
    std::array::from_fn(|k| {
        let kind = PRUNED_KINDS[k];
        sample(metrics, &format!("{family}{{kind=\"{kind}\"}}"))
    })
}

/// What a pass at `at` did to the counters and the gauges of the oldest rows (read at `at`
/// before and after it), with what it pruned and the rows of the store before and after it.
struct Pass {
    pruned: [u64; 6],
    counted: [f64; 6],
    rows: [i64; 6],
    left: [i64; 6],
    oldest_before: [f64; 6],
    oldest_after: [f64; 6],
}

async fn pass(app: &TestApp, pruner: &Pruner, at: OffsetDateTime) -> Pass {
    let store = store(app);
    pruner.refresh_gauges(at).await.unwrap();
    let metrics = app.metrics().await;
    let counters = by_kind(&metrics, "callgate_pruned_rows_total");
    let oldest_before = by_kind(&metrics, "callgate_oldest_row_seconds");
    let rows = rows_by_kind(&store).await;
    let pruned = pruner.prune(at).await.unwrap().by_kind();
    pruner.refresh_gauges(at).await.unwrap();
    let metrics = app.metrics().await;
    let after = by_kind(&metrics, "callgate_pruned_rows_total");
    Pass {
        pruned,
        counted: std::array::from_fn(|k| after[k] - counters[k]),
        rows,
        left: rows_by_kind(&store).await,
        oldest_before,
        oldest_after: by_kind(&metrics, "callgate_oldest_row_seconds"),
    }
}

impl Pass {
    /// Each kind's counter went up by what the pass pruned of it, which is what went from the
    /// store. The kinds `due` lost every row, and their oldest row is younger than before (0:
    /// none); the others lost none, and their oldest row is the same.
    fn check(&self, due: [bool; 6]) {
        for (k, kind) in PRUNED_KINDS.iter().enumerate() {
            let (pruned, counted) = (self.pruned[k], self.counted[k]);
            assert_eq!(counted, pruned as f64, "{kind}: counter against the pass");
            let removed = self.rows[k] - self.left[k];
            assert_eq!(counted, removed as f64, "{kind}: counter against the store");
            let (before, after) = (self.oldest_before[k], self.oldest_after[k]);
            if due[k] {
                assert!(
                    pruned > 0 && self.left[k] == 0,
                    "{kind}: {pruned}, {self:?}"
                );
                assert!(after < before, "{kind}: oldest {before} s, then {after} s");
            } else {
                assert_eq!(pruned, 0, "{kind}");
                assert_eq!(after, before, "{kind}: the oldest row stays");
            }
        }
    }
}

impl std::fmt::Debug for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rows {:?}, left {:?}", self.rows, self.left)
    }
}

/// The counter of each kind goes up by exactly the rows the pass pruned of it (what went from
/// the store), and the gauge of its oldest row drops once they are gone: the raw bodies and
/// the refusal log at the first pass, the calls, the retries, the calls to unlisted numbers
/// and the audit entries at the second. The process's metrics are this test's alone.
#[tokio::test]
async fn the_counters_count_what_each_pass_pruned_and_the_oldest_rows_drop() {
    if alone_in_a_process(concat!(
        module_path!(),
        "::the_counters_count_what_each_pass_pruned_and_the_oldest_rows_drop"
    )) {
        return;
    }
    let app = TestApp::spawn().await;
    let now = OffsetDateTime::now_utc();
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    for sid in [
        "CA00000000000000000000000000000011",
        "CA00000000000000000000000000000012",
    ] {
        let ended = status(
            sid,
            CALLER,
            AUSTIN_LOCAL,
            "completed",
            1,
            "Mon, 23 Nov 2026 18:01:00 +0000",
        );
        deliver_all(&app, &conn, &[ringing(sid, CALLER, AUSTIN_LOCAL), ended]).await;
    }
    // A provider's retry of the first ringing: a delivery with no new event.
    let retry = ringing("CA00000000000000000000000000000011", CALLER, AUSTIN_LOCAL);
    deliver_all(&app, &conn, &[retry]).await;
    for _ in 0..3 {
        let res = app
            .twilio_signed(&conn, &[("CallSid", "CA1")], "forged")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Recorded in the background, after the answer.
    crate::refusals::refusals_reach(&app, &conn, 3).await;
    let store = store(&app);
    let at = callgate::store::millis(now);
    store
        .write(move |db| {
            for number in [
                "+15125550901",
                "+15125550902",
                "+15125550903",
                "+15125550904",
            ] {
                db.exec(
                    "INSERT INTO unknown_number_calls (e164, at) VALUES (?1, ?2)",
                    callgate::args![number, at],
                )?;
            }
            for _ in 0..6 {
                audit_entry(db, at, "test.kept")?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let pruner = Pruner::new(store.clone(), periods());

    let first = pass(&app, &pruner, now + Duration::from_secs(500)).await;
    let [bodies, calls, audit, refusals, retries, unknown] = first.rows;
    // Counts apart, so that a count under another kind's name shows.
    assert_eq!([bodies, calls, refusals, retries, unknown], [5, 2, 3, 1, 4]);
    assert!(audit > 5, "{audit}");
    first.check([true, false, false, true, false, false]);
    let second = pass(&app, &pruner, now + Duration::from_secs(20_000)).await;
    second.check([false, true, true, false, true, true]);
    app.stop().await;
}

/// Stores deliveries received at `at` (milliseconds since the epoch), each with a body and
/// `events` new events; returns their ids.
async fn deliveries_at(store: &Store, n: i64, at: i64, events: i64) -> Vec<i64> {
    store
        .write(move |db| {
            (0..n)
                .map(|_| {
                    db.query_one(
                        "INSERT INTO deliveries (connection_id, digest, received_at, method, target, body, events)
                         VALUES ('conn', ?1, ?2, 'POST', '/webhooks/twilio/conn', ?1, ?3) RETURNING id",
                        callgate::args![b"body".to_vec(), at, events],
                        |r| r.get(0),
                    )
                })
                .collect::<Result<Vec<i64>, _>>()
        })
        .await
        .unwrap()
}

async fn cursor(store: &Store, walk: &'static str) -> i64 {
    store
        .read(move |db| callgate::store::retention::delivery_cursor(db, walk))
        .await
        .unwrap()
}

const AT: Duration = Duration::from_secs(20_000);

/// The walks over the deliveries go on where the last pass stopped, after a restart too:
/// their cursors are in the store. A restarted instance reads only the deliveries past them
/// (the young ones, not yet due), not again every delivery whose body it emptied.
#[tokio::test]
async fn a_restarted_pruner_walks_on_from_where_the_last_pass_stopped() {
    let app = TestApp::spawn().await;
    let store = store(&app);
    let old = callgate::store::retention::BATCH * 2 + 7;
    // Old deliveries with their events (kept until their calls go), then three young ones.
    let ids = deliveries_at(&store, old, 1_000, 1).await;
    deliveries_at(&store, 3, 19_950_000, 1).await;
    let now = OffsetDateTime::UNIX_EPOCH + AT;
    let first = Pruner::new(store.clone(), periods())
        .prune(now)
        .await
        .unwrap();
    assert_eq!(first.deliveries, u64::try_from(old).unwrap());
    // Each walk read every old delivery and the young ones past them.
    assert_eq!(first.examined, 2 * (u64::try_from(old).unwrap() + 3));
    let last = *ids.last().unwrap();
    assert_eq!(cursor(&store, "deliveries").await, last);
    assert_eq!(cursor(&store, "duplicate_deliveries").await, last);

    let dir = app.stop_keeping_store().await;
    let app = TestApp::spawn_in(dir).await;
    let store = self::store(&app);
    assert_eq!(cursor(&store, "deliveries").await, last);
    let again = Pruner::new(store.clone(), periods())
        .prune(now)
        .await
        .unwrap();
    assert_eq!(
        again,
        Pruned {
            examined: 6,
            ..Pruned::default()
        },
        "only the young deliveries are read again"
    );
    app.stop().await;
}

/// A cursor past every delivery there is (a store restored under it, or changed by hand) is
/// not trusted: the walk starts over and empties the bodies that are due.
#[tokio::test]
async fn a_cursor_past_the_last_delivery_starts_the_walk_over() {
    let app = TestApp::spawn().await;
    let store = store(&app);
    deliveries_at(&store, 4, 1_000, 1).await;
    store
        .write(|db| {
            db.exec(
                "INSERT INTO retention_cursors (walk, last_id) VALUES ('deliveries', 1000000000)",
                callgate::args![],
            )
        })
        .await
        .unwrap();
    let now = OffsetDateTime::UNIX_EPOCH + AT;
    let pruned = Pruner::new(store.clone(), periods())
        .prune(now)
        .await
        .unwrap();
    assert_eq!(pruned.deliveries, 4);
    const BODIES: &str = "SELECT COUNT(*) FROM deliveries WHERE length(body) > 0";
    assert_eq!(count(&store, BODIES).await, 0);
    app.stop().await;
}

/// Once the last deliveries are deleted, the embedded store numbers new ones from the last
/// left: ids at or below where the walks stopped. The walks' cursors come back with the
/// deletion, so that those deliveries are pruned when due, even once later ones have ids past
/// the former cursor.
#[tokio::test]
async fn deliveries_numbered_again_below_a_cursor_are_still_pruned() {
    let app = TestApp::spawn().await;
    let store = store(&app);
    // Retries: their bodies are emptied, then they are deleted, every one.
    let gone = deliveries_at(&store, 5, 1_000, 0).await;
    let now = OffsetDateTime::UNIX_EPOCH + AT;
    let pruner = Pruner::new(store.clone(), periods());
    let first = pruner.prune(now).await.unwrap();
    assert_eq!((first.deliveries, first.duplicates), (5, 5));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM deliveries").await, 0);
    assert!(cursor(&store, "deliveries").await < gone[0]);
    // More than were deleted, so that the last id is past the cursor the walk had.
    let again = deliveries_at(&store, 7, 2_000, 1).await;
    assert!(*again.last().unwrap() > *gone.last().unwrap());
    let second = pruner.prune(now).await.unwrap();
    assert_eq!(second.deliveries, 7, "new ids {again:?} after {gone:?}");
    app.stop().await;
}

/// A call to an unlisted number is counted (GET /api/v1/numbers/unknown) as long as calls are
/// kept, and forgotten after, in its own kind.
#[tokio::test]
async fn calls_to_unlisted_numbers_are_kept_as_long_as_calls() {
    let app = TestApp::spawn().await;
    let now = OffsetDateTime::now_utc();
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let unlisted = "+15125550999";
    let sid = "CA00000000000000000000000000000021";
    deliver_all(&app, &conn, &[ringing(sid, CALLER, unlisted)]).await;
    let listed = || async {
        let v = app.get("/api/v1/numbers/unknown").await;
        v["numbers"].as_array().unwrap().len()
    };
    assert_eq!(listed().await, 1);
    let pruner = Pruner::new(store(&app), periods());
    let early = pruner.prune(now + Duration::from_secs(500)).await.unwrap();
    assert_eq!(early.unknown_numbers, 0);
    assert_eq!(listed().await, 1);
    let later = pruner
        .prune(now + Duration::from_secs(2_000))
        .await
        .unwrap();
    assert_eq!(later.unknown_numbers, 1);
    assert_eq!(listed().await, 0);
    app.stop().await;
}
