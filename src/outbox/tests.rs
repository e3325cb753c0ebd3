//! The worker against a store and a provider on wiremock.

use super::*;
use crate::connections::NewConnection;
use crate::crypto::MasterKey;
use crate::store::db::args;
use crate::store::outbox::Job;
use callgate_adapters::kit::{FixedClock, Secret};
use time::OffsetDateTime;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT: &str = "AC00000000000000000000000000000001";
const LOCAL: crate::egress::EgressPolicy = crate::egress::EgressPolicy {
    allow_private: true,
};

/// A store, a Twilio connection whose API is `provider`, and a worker on them at `now`.
async fn worker_for(provider: &MockServer, dir: &tempfile::TempDir) -> (Worker, String) {
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    let now = OffsetDateTime::from_unix_timestamp(1_795_457_000).unwrap();
    let key = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    let connections = Arc::new(Connections::new(
        store.clone(),
        key,
        "https://hooks.example.test".into(),
        Duration::from_secs(60),
        LOCAL,
    ));
    let secrets = [("account_sid", ACCOUNT), ("auth_token", "token")]
        .map(|(k, v)| (k.to_owned(), Secret::new(v.to_owned())))
        .into();
    let options = [("api_base_url".to_owned(), provider.uri())].into();
    let conn = connections
        .create(
            NewConnection {
                provider: "twilio".into(),
                name: "deletions".into(),
                secrets,
                options,
            },
            "test",
            now,
        )
        .await
        .unwrap();
    let worker = Worker {
        store,
        connections,
        clock: Arc::new(FixedClock(now)),
        wake: Arc::new(Notify::new()),
        config: OutboxConfig {
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(5),
            subscription_disable_after: Duration::from_secs(3600),
        },
        // The provider is a mock on loopback.
        http: http_client(LOCAL, Duration::from_secs(5)),
        webhooks: http_client(LOCAL, Duration::from_secs(5)),
        egress: LOCAL,
    };
    (worker, conn.id)
}

/// Queues a deletion of each of `recordings`, due at `now`.
fn queue_deletions(
    db: &crate::store::Db<'_>,
    conn_id: &str,
    recordings: &[&str],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for recording in recordings {
        db.exec(
            "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id, next_attempt_at, created_at)
             VALUES ('delete_recording', ?1, 'call-1', 'CA1', ?2, ?3, ?3)",
            args![conn_id, recording, crate::store::millis(now)],
        )?;
    }
    Ok(())
}

/// A deletion claimed by the worker and then called off (a late webhook moved the call to a
/// tenant) is not sent; one still pending is.
#[tokio::test]
async fn a_deletion_called_off_after_its_claim_is_not_sent() {
    let provider = MockServer::start().await;
    for (recording, sent) in [("RE-called-off", 0), ("RE-pending", 1)] {
        Mock::given(method("DELETE"))
            .and(path_regex(format!("/Recordings/{recording}")))
            .respond_with(ResponseTemplate::new(204))
            .expect(sent)
            .mount(&provider)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (worker, conn_id) = worker_for(&provider, &dir).await;
    let (store, now) = (worker.store.clone(), worker.clock.now());
    let jobs = store
        .write(move |db| {
            queue_deletions(db, &conn_id, &["RE-called-off", "RE-pending"], now)?;
            let jobs = outbox::claim(db, now, now + time::Duration::minutes(5), 10)?;
            // Called off while claimed, as the call's fold does when the recording is
            // no longer discarded.
            db.exec(
                "UPDATE outbox SET done_at = ?1, last_error = 'cancelled' WHERE recording_id = 'RE-called-off'",
                args![crate::store::millis(now)],
            )?;
            Ok::<_, StoreError>(jobs)
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        worker.attempt(job).await.unwrap();
    }
    let still_cancelled: Option<String> = store
        .read(|db| {
            db.query_one(
                "SELECT last_error FROM outbox WHERE recording_id = 'RE-called-off'",
                args![],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(still_cancelled.as_deref(), Some("cancelled"));
    provider.verify().await;
}

/// A pass that meets a store error (here: recording a deletion's outcome fails) stops,
/// and gives back every job it claimed and did not finish: they are due again at once,
/// not when the lease ends.
#[tokio::test]
async fn a_store_error_in_a_pass_releases_what_it_claimed() {
    let provider = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&provider)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (worker, conn_id) = worker_for(&provider, &dir).await;
    let (store, now) = (worker.store.clone(), worker.clock.now());
    store
        .write(move |db| {
            queue_deletions(db, &conn_id, &["RE-1", "RE-2", "RE-3"], now)?;
            db.batch(
                "CREATE TRIGGER refuse_done BEFORE UPDATE OF done_at ON outbox
                 WHEN NEW.done_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
        })
        .await
        .unwrap();
    let failed = worker.tick().await;
    assert!(matches!(failed, Err(OutboxError::Store(_))), "{failed:?}");
    let due: Vec<i64> = store
        .read(|db| {
            db.query(
                "SELECT next_attempt_at FROM outbox WHERE done_at IS NULL ORDER BY id",
                args![],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(
        due,
        vec![crate::store::millis(now); 3],
        "all three due again now"
    );
    // The next pass takes them at once (and fails alike, releasing them again).
    let again: Result<Vec<Job>, StoreError> = store
        .write(move |db| outbox::claim(db, now, now + time::Duration::minutes(5), 10))
        .await;
    assert_eq!(again.unwrap().len(), 3);
}
