//! Legs in the ingest transaction: one call per customer call, found by any leg, and the
//! agent whose phone answered it.

use super::ingest_batch;
use super::tests::delivery_of;
use crate::domain::leg_tests::agent_leg;
use crate::store::calls::{self as rows, CallFilter};
use crate::store::{IngestOutcome, Store, StoreError, db::args};
use callgate_adapters::kit::{
    CallEvent, CallProgress, Clock, EventKind, FixedClock, Leg, LegRole, Party, RecordingEvent,
    RecordingProgress,
};
use std::sync::Arc;
use time::OffsetDateTime;

fn event(leg_id: &str, leg: Leg, kind: EventKind) -> CallEvent {
    CallEvent {
        dedupe_key: format!("{leg_id}:{kind:?}"),
        provider_call_id: leg_id.into(),
        occurred_at: None,
        party: Party {
            from: Some("+15125550123".into()),
            to: Some("+18005550199".into()),
            ..Party::default()
        },
        kind,
        leg,
    }
}

fn answered() -> EventKind {
    EventKind::Call {
        progress: CallProgress::Answered,
    }
}

async fn ingest(store: &Store, events: Vec<CallEvent>) -> IngestOutcome {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(OffsetDateTime::UNIX_EPOCH));
    store
        .ingest(delivery_of(events), ingest_batch, clock)
        .await
        .unwrap()
}

async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    (dir, store)
}

async fn calls(store: &Store, provider_call_id: Option<&str>) -> Vec<String> {
    let filter = CallFilter {
        provider_call_id: provider_call_id.map(Into::into),
        limit: 10,
        ..CallFilter::default()
    };
    store
        .read(move |db| rows::list(db, &filter))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.provider_call_id)
        .collect()
}

#[tokio::test]
async fn a_leg_before_its_parent_makes_one_call_found_by_either_id() {
    let (_dir, store) = open().await;
    ingest(
        &store,
        vec![event("CA2", agent_leg("client:ana"), answered())],
    )
    .await;
    ingest(&store, vec![event("CA1", Leg::default(), answered())]).await;
    assert_eq!(
        calls(&store, None).await,
        ["CA1"],
        "one call, the customer's"
    );
    assert_eq!(
        calls(&store, Some("CA2")).await,
        ["CA1"],
        "found by its leg"
    );
    assert_eq!(calls(&store, Some("CA1")).await, ["CA1"]);

    // A recording reported on the agent's leg alone (no parent named) is the call's.
    let rec = EventKind::Recording(RecordingEvent {
        recording_id: "RE1".into(),
        status: RecordingProgress::Completed,
        url: None,
        duration_s: Some(12),
    });
    ingest(&store, vec![event("CA2", Leg::default(), rec)]).await;
    assert_eq!(calls(&store, None).await, ["CA1"], "still one call");
    let call = store
        .read(|db| {
            rows::list(
                db,
                &CallFilter {
                    limit: 1,
                    ..CallFilter::default()
                },
            )
        })
        .await
        .unwrap()
        .remove(0);
    assert!(call.fold.recordings.contains_key("RE1"));
    assert_eq!(call.fold.legs["CA2"].role, Some(LegRole::Agent));
}

async fn add_agent(store: &Store, user: &'static str, identity: &'static str) {
    store
        .write(move |db| {
            db.exec(
                "INSERT INTO users (id, name, permissions, tenant_ids, created_at, updated_at)
                 VALUES (?1, ?1, '[\"contact_center.view\"]', '\"all\"', 0, 0)",
                args![user],
            )?;
            db.exec(
                "INSERT INTO user_identities (identity, user_id, position) VALUES (?1, ?2, 0)",
                args![identity, user],
            )?;
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

fn popped(outcome: &IngestOutcome) -> Option<String> {
    match outcome {
        IngestOutcome::Stored { calls, .. } => calls
            .iter()
            .find_map(|c| c.screen_pop.as_ref().map(|(user, _)| user.clone())),
        _ => None,
    }
}

#[tokio::test]
async fn an_agent_leg_answered_claims_the_call_for_the_user_whose_phone_it_is() {
    let (_dir, store) = open().await;
    add_agent(&store, "ana", "client:ana").await;
    ingest(&store, vec![event("CA1", Leg::default(), answered())]).await;
    let ringing = EventKind::Call {
        progress: CallProgress::Ringing,
    };
    let rang = ingest(&store, vec![event("CA2", agent_leg("client:ana"), ringing)]).await;
    assert_eq!(popped(&rang), None, "ringing is not answering");

    let outcome = ingest(
        &store,
        vec![event("CA2", agent_leg("client:ana"), answered())],
    )
    .await;
    assert_eq!(popped(&outcome).as_deref(), Some("ana"));
    let call = store
        .read(|db| rows::active_call(db, "ana"))
        .await
        .unwrap()
        .expect("the call is ana's active call");
    assert_eq!(call.provider_call_id, "CA1");
    assert_eq!(call.agent_id.as_deref(), Some("ana"));
    assert_eq!(call.fold.legs["CA2"].agent_id.as_deref(), Some("ana"));

    // An identity that is no user's claims nothing.
    let other = Leg {
        parent_call_id: Some("CA1".into()),
        agent_identity: Some("client:nobody".into()),
        ..Leg::default()
    };
    let outcome = ingest(&store, vec![event("CA3", other, answered())]).await;
    assert_eq!(popped(&outcome), None);
}

#[tokio::test]
async fn the_phone_is_the_truth_a_call_still_held_is_released() {
    let (_dir, store) = open().await;
    add_agent(&store, "ana", "client:ana").await;
    ingest(&store, vec![event("CA1", Leg::default(), answered())]).await;
    ingest(
        &store,
        vec![event("CA2", agent_leg("client:ana"), answered())],
    )
    .await;
    let second_parent = Leg {
        parent_call_id: Some("CA9".into()),
        role: Some(LegRole::Agent),
        agent_identity: Some("client:ana".into()),
        ..Leg::default()
    };
    ingest(&store, vec![event("CA9", Leg::default(), answered())]).await;
    let outcome = ingest(&store, vec![event("CA10", second_parent, answered())]).await;
    assert_eq!(popped(&outcome).as_deref(), Some("ana"));
    let (active, first) = store
        .read(|db| {
            let active = rows::active_call(db, "ana")?.map(|c| c.provider_call_id);
            let first = calls_by_sid(db, "CA1")?;
            Ok::<_, StoreError>((active, first))
        })
        .await
        .unwrap();
    assert_eq!(active.as_deref(), Some("CA9"));
    assert_eq!(first.agent_id, None, "the call ana no longer holds is free");
}

fn calls_by_sid(db: &crate::store::Db<'_>, sid: &str) -> Result<rows::CallRow, StoreError> {
    let filter = CallFilter {
        provider_call_id: Some(sid.into()),
        limit: 1,
        ..CallFilter::default()
    };
    Ok(rows::list(db, &filter)?.remove(0))
}

#[tokio::test]
async fn an_agent_named_on_the_call_itself_claims_it_unless_it_is_the_customers_leg() {
    let (_dir, store) = open().await;
    add_agent(&store, "ana", "ana@example.com").await;
    let named = |role| Leg {
        role,
        agent_identity: Some("ana@example.com".into()),
        ..Leg::default()
    };
    // The provider says which leg is the customer's: its destination is no agent's phone.
    let customer = ingest(
        &store,
        vec![event("CA1", named(Some(LegRole::Customer)), answered())],
    )
    .await;
    assert_eq!(popped(&customer), None);
    // A contact connected to an agent (Amazon Connect): the call itself names the agent.
    let connected = ingest(&store, vec![event("CA2", named(None), answered())]).await;
    assert_eq!(popped(&connected).as_deref(), Some("ana"));
}
