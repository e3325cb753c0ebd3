//! The ingest transaction and the agents' actions, against an embedded store.

use super::ingest_batch;
use crate::access::{TenantScope, Viewer};
use crate::store::{Delivery, IngestOutcome, Store, StoreError, db::args};
use bytes::Bytes;
use callgate_adapters::kit::{CallEvent, CallProgress, EventKind, Party, ReplayKey};
use proptest::prelude::Strategy;
use std::sync::Arc;
use time::OffsetDateTime;

/// A delivery of `events` on a Twilio connection.
pub(super) fn delivery_of(events: Vec<CallEvent>) -> Delivery {
    Delivery {
        connection_id: "conn-1".into(),
        provider: "twilio",
        digest: [0; 32],
        method: "POST".into(),
        target: "/webhooks/twilio/conn-1".into(),
        content_type: None,
        body: Bytes::from_static(b"x"),
        events,
        replay_key: None,
    }
}

fn delivery(progress: CallProgress, key: &str) -> Delivery {
    delivery_of(vec![CallEvent {
        dedupe_key: key.into(),
        provider_call_id: "CA1".into(),
        occurred_at: None,
        party: Party::default(),
        kind: EventKind::Call { progress },
        leg: callgate_adapters::kit::Leg::default(),
    }])
}

/// Stores one delivery of `progress` (dedupe key `key`) through the ingest path, with the
/// clock `secs` seconds past the epoch.
async fn ingest_one(store: &Store, progress: CallProgress, key: &str, secs: i64) -> IngestOutcome {
    let clock: Arc<dyn callgate_adapters::kit::Clock> =
        Arc::new(callgate_adapters::kit::FixedClock(
            OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs),
        ));
    store
        .ingest(delivery(progress, key), ingest_batch, clock)
        .await
        .unwrap()
}

/// What a delivery's outcome says, without the calls it reports.
#[derive(Debug, PartialEq, Eq)]
enum Told {
    Stored(usize),
    Duplicate,
    Replayed,
}

fn told(outcome: &IngestOutcome) -> Told {
    match outcome {
        IngestOutcome::Stored { new_events, .. } => Told::Stored(*new_events),
        IngestOutcome::Duplicate => Told::Duplicate,
        IngestOutcome::Replayed => Told::Replayed,
    }
}

/// Up to a dozen deliveries about three calls on two connections, with repeated events,
/// repeated calls within a delivery, deliveries without events and reused nonces (by
/// the same request or another).
fn deliveries() -> impl Strategy<Value = Vec<Delivery>> {
    use crate::domain::tests::{kind, party};
    let event = (
        0..3usize,
        0..8usize,
        kind(),
        party(),
        proptest::option::of(0..120i64),
    )
        .prop_map(|(call, key, kind, party, occurred)| CallEvent {
            dedupe_key: format!("k{key}"),
            provider_call_id: format!("CA{call}"),
            occurred_at: occurred.map(|s| OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)),
            party,
            kind,
            leg: callgate_adapters::kit::Leg::default(),
        });
    let delivery = (
        0..2usize,
        proptest::collection::vec(event, 0..3),
        proptest::option::of(0..3usize),
        0..2u8,
    )
        .prop_map(|(conn, events, nonce, request)| Delivery {
            connection_id: format!("conn-{conn}"),
            // Two requests: one bearing a nonce again is a retry or a replay.
            digest: [request; 32],
            replay_key: nonce.map(|n| ReplayKey {
                key: format!("n{n}"),
                keep_until: i64::MAX,
            }),
            events,
            ..delivery(CallProgress::Ringing, "unused")
        });
    proptest::collection::vec(delivery, 1..12)
}

/// The calls and events a store holds, in a stable order, without keys it made up.
async fn contents(store: &Store) -> (Vec<Vec<Option<String>>>, Vec<String>) {
    store
        .read(|db| {
            let calls = db.query(
                "SELECT provider_call_id, connection_id, provider, state, number_kind, tenant_status,
                     tenant_id, recording_status, agent_id, fold, resolution
                 FROM calls ORDER BY provider_call_id, connection_id",
                args![],
                |r| (0..11).map(|i| r.get::<Option<String>>(i)).collect(),
            )?;
            let events = db.query(
                "SELECT c.provider_call_id || ' ' || c.connection_id || ' ' || e.dedupe_key || ' ' || e.kind
                 FROM events e JOIN calls c ON c.seq = e.call_seq ORDER BY 1",
                args![],
                |r| r.get(0),
            )?;
            Ok::<_, StoreError>((calls, events))
        })
        .await
        .unwrap()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]

    /// Deliveries stored in batches (of any sizes) leave the same calls and events, and
    /// get the same outcomes, as the same deliveries stored one by one.
    #[test]
    fn batches_store_what_the_deliveries_one_by_one_store(
        ds in deliveries(),
        cuts in proptest::collection::vec(1..6usize, 1..6),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let one = Store::open(&dir.path().join("one.db")).unwrap();
            let many = Store::open(&dir.path().join("many.db")).unwrap();
            let clock: Arc<dyn callgate_adapters::kit::Clock> = Arc::new(
                callgate_adapters::kit::FixedClock(OffsetDateTime::UNIX_EPOCH),
            );
            let mut alone = Vec::new();
            for d in &ds {
                alone.push(told(&one.ingest(d.clone(), ingest_batch, clock.clone()).await.unwrap()));
            }
            let mut batched = Vec::new();
            let mut rest = &ds[..];
            for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (batch, after) = rest.split_at((*cut).min(rest.len()));
                let batch = batch.to_vec();
                let outcomes = many
                    .write(move |db| {
                        let refs: Vec<&Delivery> = batch.iter().collect();
                        ingest_batch(db, &refs, OffsetDateTime::UNIX_EPOCH)
                    })
                    .await
                    .unwrap();
                batched.extend(outcomes.iter().map(told));
                rest = after;
            }
            assert_eq!(batched, alone);
            assert_eq!(contents(&many).await, contents(&one).await);
        });
    }
}

fn state_of(outcome: &IngestOutcome) -> Option<CallProgress> {
    match outcome {
        IngestOutcome::Stored { calls, .. } => calls[0].call.fold.progress,
        _ => None,
    }
}

/// A write that is rolled back leaves nothing behind, in the store or in the writer's
/// memory of recent calls: the next delivery folds onto what was committed.
#[tokio::test]
async fn a_rolled_back_ingest_is_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    let first = ingest_one(&store, CallProgress::Ringing, "k-ringing", 0).await;
    assert_eq!(state_of(&first), Some(CallProgress::Ringing));

    // A job that stores the call's end and then fails: its savepoint is rolled back.
    let failed = store
        .write(|db| {
            ingest_batch(
                db,
                &[&delivery(CallProgress::Completed, "k-completed")],
                OffsetDateTime::UNIX_EPOCH,
            )?;
            Err::<(), _>(StoreError::Internal("fails after writing".into()))
        })
        .await;
    assert!(failed.is_err());

    let next = ingest_one(&store, CallProgress::Answered, "k-answered", 0).await;
    assert_eq!(state_of(&next), Some(CallProgress::Answered));
    // And the end, sent again, is new: the failed job left no event behind.
    let end = ingest_one(&store, CallProgress::Completed, "k-completed", 0).await;
    assert_eq!(state_of(&end), Some(CallProgress::Completed));
}

/// A tenant entered before the call's end was stored counts, whatever the clock the
/// batch storing the end read: on PostgreSQL it is read before the call's row is locked
/// (an agent may enter a tenant meanwhile), and another instance's clock may lag. The
/// same holds for the tenant entered last.
#[tokio::test]
async fn a_selection_stored_before_the_end_counts_whatever_the_clocks() {
    use crate::domain::gate::TenantStatus;
    use crate::store::directory::{self, Tenant};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    let at = |s: i64| OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s);
    let ringing = ingest_one(&store, CallProgress::Ringing, "k-ringing", 0).await;
    let IngestOutcome::Stored { calls: changed, .. } = ringing else {
        panic!("the first delivery is stored");
    };
    let call_id = changed[0].call.id.clone();
    let select = |tenant: &'static str, secs: i64| {
        let call_id = call_id.clone();
        store.write(move |db| {
            let agent = Viewer {
                id: "agent-1".into(),
                tenants: TenantScope::All,
                manages_users: false,
            };
            super::agent::enter_tenant(db, &agent, &call_id, tenant, false, at(secs))
                .map(|(handled, _)| handled.call)
        })
    };
    store
        .write(move |db| {
            for id in ["t-first", "t-second"] {
                let tenant = Tenant {
                    tenant_id: id.into(),
                    name: id.into(),
                    zip_codes: vec!["78701".into()],
                    trades: vec!["hvac".into()],
                    booking_url: None,
                };
                directory::put_tenant(db, &tenant, at(0))?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    select("t-first", 20).await.unwrap();
    // The second selection's clock lags the first one's: it is still the last.
    let second = select("t-second", 15).await.unwrap();
    assert_eq!(second.tenant().tenant_id.as_deref(), Some("t-second"));

    // The end, stored after both, with a clock behind both.
    let end = ingest_one(&store, CallProgress::Completed, "k-completed", 10).await;
    let IngestOutcome::Stored { calls: changed, .. } = end else {
        panic!("the end is stored");
    };
    let call = &changed[0].call;
    assert!(call.fold.has_ended());
    let tenant = call.tenant();
    assert_eq!(tenant.status, TenantStatus::Selected);
    assert_eq!(tenant.tenant_id.as_deref(), Some("t-second"));
    // And a selection after the stored end is refused.
    let late = select("t-first", 30).await.unwrap_err();
    assert!(late.to_string().contains("ended"), "{late}");
}

/// A single-use value seen again: by the same request (a retry) a duplicate, by another
/// request a replay, refused; once expired, anyone's.
#[tokio::test]
async fn a_nonce_is_single_use_across_requests_not_retries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    let clock: Arc<dyn callgate_adapters::kit::Clock> = Arc::new(
        callgate_adapters::kit::FixedClock(OffsetDateTime::UNIX_EPOCH),
    );
    let with_nonce = |digest: u8, keep_until: i64| Delivery {
        digest: [digest; 32],
        replay_key: Some(ReplayKey {
            key: "nonce-1".into(),
            keep_until,
        }),
        ..delivery(CallProgress::Ringing, "k-ringing")
    };
    let mut told_of = Vec::new();
    for d in [with_nonce(1, 10), with_nonce(1, 10), with_nonce(2, 10)] {
        told_of.push(told(
            &store.ingest(d, ingest_batch, clock.clone()).await.unwrap(),
        ));
    }
    assert_eq!(told_of, [Told::Stored(1), Told::Duplicate, Told::Replayed]);
    // Expired (kept until 10 s past the epoch): taken over by the other request.
    let later: Arc<dyn callgate_adapters::kit::Clock> =
        Arc::new(callgate_adapters::kit::FixedClock(
            OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(11),
        ));
    let taken = store
        .ingest(with_nonce(2, 30), ingest_batch, later)
        .await
        .unwrap();
    assert_eq!(told(&taken), Told::Duplicate);
}

/// A subscription written, and read, by a job that is then rolled back is not remembered:
/// the next ingest neither queues a delivery for it (its row does not exist) nor fails.
#[tokio::test]
async fn a_rolled_back_subscription_is_not_remembered() {
    use crate::store::subscriptions::{self, Subscription};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    ingest_one(&store, CallProgress::Ringing, "k-ringing", 0).await;
    let failed = store
        .write(|db| {
            let at = OffsetDateTime::UNIX_EPOCH;
            let sub = Subscription {
                id: "sub_rolled_back".into(),
                url: "https://example.test/hooks".into(),
                event_types: vec!["call.updated".into()],
                sealed_secret: "sealed".into(),
                enabled: true,
                disabled_reason: None,
                failing_since: None,
                created_at: at,
                updated_at: at,
            };
            subscriptions::insert(db, &sub)?;
            assert_eq!(subscriptions::enabled(db)?.len(), 1);
            Err::<(), _>(StoreError::Internal("fails after writing".into()))
        })
        .await;
    assert!(failed.is_err());
    let next = ingest_one(&store, CallProgress::Answered, "k-answered", 0).await;
    assert_eq!(state_of(&next), Some(CallProgress::Answered));
    let queued: i64 = store
        .read(|db| {
            db.query_one("SELECT COUNT(*) FROM webhook_deliveries", args![], |r| {
                r.get(0)
            })
        })
        .await
        .unwrap();
    assert_eq!(queued, 0);
}
