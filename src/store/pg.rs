//! The PostgreSQL backend: a small pool of sessions, each job in its own transaction.
//!
//! Several callgate instances may share one database. Writes that must not interleave take
//! row locks (`SELECT ... FOR UPDATE`, see [`super::db::Db::for_update`]); unique keys make
//! concurrent inserts of the same delivery, event or call collapse into one. A job that
//! loses a race (deadlock, serialization failure) or finds its session broken before it
//! committed is run again on a fresh session; a failed commit is reported, never repeated
//! (it may have happened).

use super::db::{Db, PgSession};
use super::ingest::{self, Delivery, IngestOutcome, Queued, Transaction};
use super::numbering::{self, POSTGRES_BEFORE};
use super::{Envelope, Signal};
use super::{JobError, StoreError};
use callgate_adapters::kit::Clock;
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Sessions used at once for reads and writes. The ingest threads take theirs from the same
/// idle list but outside this bound, and the listener has one of its own: an instance opens
/// up to `SESSIONS + INGEST_THREADS + 1` (the budget in deploy/README.md, checked by
/// tests/it/deploy.rs).
const SESSIONS: usize = 8;
/// Most deliveries stored in one transaction.
const MAX_BATCH: usize = 256;

/// Threads storing deliveries, each its own batches on a session of its own. A call's
/// deliveries all go to one of them ([`shard`]), so that they never wait for each other's
/// row locks; while one waits for its commit, another runs its batch's statements.
const INGEST_THREADS: usize = 2;
/// How often a job that lost a race or its session is tried in all.
const ATTEMPTS: usize = 3;

/// The migrations, in order: the Nth is `migrations/postgres/000N_*.sql`; the last applied
/// is kept in `callgate_schema` (see [`super::numbering`]).
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_replay_keys.sql"),
    include_str!("../../migrations/postgres/0003_users.sql"),
    include_str!("../../migrations/postgres/0004_feeds.sql"),
    include_str!("../../migrations/postgres/0005_subscriptions.sql"),
    include_str!("../../migrations/postgres/0006_replay_digest.sql"),
    include_str!("../../migrations/postgres/0007_events_unchecked_references.sql"),
    include_str!("../../migrations/postgres/0008_feed_ids_per_tenant.sql"),
    include_str!("../../migrations/postgres/0009_readiness_probe.sql"),
    include_str!("../../migrations/postgres/0010_calls_unended.sql"),
    include_str!("../../migrations/postgres/0011_console_sessions.sql"),
    include_str!("../../migrations/postgres/0012_user_identities.sql"),
    include_str!("../../migrations/postgres/0013_agents_last_call.sql"),
    include_str!("../../migrations/postgres/0014_reconciliations.sql"),
    include_str!("../../migrations/postgres/0015_events_by_delivery.sql"),
    include_str!("../../migrations/postgres/0016_call_legs.sql"),
    include_str!("../../migrations/postgres/0017_webhook_refusals.sql"),
    include_str!("../../migrations/postgres/0018_failed_webhook_deliveries.sql"),
    include_str!("../../migrations/postgres/0019_outbox_backoff_from.sql"),
    include_str!("../../migrations/postgres/0020_delivery_event_counts.sql"),
    include_str!("../../migrations/postgres/0021_calls_by_tenant_newest.sql"),
    include_str!("../../migrations/postgres/0022_retention_cursors.sql"),
];

/// Any constant: the lock that serializes migrations of instances starting together.
const MIGRATION_LOCK: i64 = 0x6361_6c6c_6761_7465;

#[derive(Debug)]
pub(super) struct Pool {
    config: postgres::Config,
    idle: Mutex<Vec<PgSession>>,
    permits: Semaphore,
    /// This instance, as named in the signals it sends.
    origin: Arc<str>,
    /// The channel of the signals of the instances sharing this schema.
    channel: Arc<str>,
    /// Deliveries waiting for the ingest threads (group commit), one queue per thread.
    ingest: Vec<mpsc::Sender<Queued>>,
}

impl Pool {
    /// Connects to `url` and migrates the database.
    pub(super) fn connect(url: &str) -> Result<Arc<Self>, StoreError> {
        let config = client_config(url)?;
        let schema: String = config
            .connect(postgres::NoTls)?
            .query_one("SELECT COALESCE(current_schema(), 'public')", &[])?
            .try_get(0)?;
        let (ingest, queues): (Vec<_>, Vec<_>) =
            (0..INGEST_THREADS).map(|_| mpsc::channel()).unzip();
        let pool = Arc::new(Self {
            config,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(SESSIONS),
            origin: uuid::Uuid::new_v4().to_string().into(),
            channel: super::pg_session::signal_channel(&schema).into(),
            ingest,
        });
        let mut session = pool.open()?;
        migrate(&mut session)?;
        pool.put(session);
        for (n, jobs) in queues.into_iter().enumerate() {
            let weak = Arc::downgrade(&pool);
            std::thread::Builder::new()
                .name(format!("store-ingest-{n}"))
                .spawn(move || batcher(&weak, &jobs))
                .map_err(|e| StoreError::Internal(format!("cannot start an ingest thread: {e}")))?;
        }
        Ok(pool)
    }

    fn open(&self) -> Result<PgSession, StoreError> {
        let mut client = self.config.connect(postgres::NoTls)?;
        // A write that waits this long for a lock gives up (and is tried again, then 503):
        // the same patience as the embedded store's busy timeout.
        client.batch_execute("SET lock_timeout = '2s'")?;
        // Every statement is planned for its values: a generic plan made while the tables
        // were small (a new database) would otherwise stick, scanning them whole later.
        client.batch_execute("SET plan_cache_mode = force_custom_plan")?;
        Ok(PgSession::new(
            client,
            self.origin.clone(),
            self.channel.clone(),
        ))
    }

    fn take(&self) -> Result<PgSession, StoreError> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match pooled {
            Some(s) if !s.client.is_closed() => Ok(s),
            _ => self.open(),
        }
    }

    fn put(&self, session: PgSession) {
        if session.client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < SESSIONS
        {
            idle.push(session);
        }
    }

    /// Runs `f` in a transaction of its own and commits it.
    pub(super) async fn write<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: JobError,
        F: Fn(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        self.run(true, f).await
    }

    /// Runs `f` outside any explicit transaction (each statement sees committed data).
    pub(super) async fn read<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: JobError,
        F: Fn(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        self.run(false, f).await
    }

    async fn run<T, E, F>(self: &Arc<Self>, transaction: bool, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: JobError,
        F: Fn(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|_| {
            E::from(StoreError::Unavailable(
                "the database pool is closed".into(),
            ))
        })?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.blocking(transaction, &f))
            .await
            .map_err(|e| E::from(StoreError::Internal(format!("database task: {e}"))))?
    }

    /// Runs `f` (in a transaction of its own with `transaction`), run again when it loses a
    /// race or its session before committing.
    fn blocking<T, E: JobError>(
        &self,
        transaction: bool,
        f: &dyn Fn(&Db<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match self.attempt(transaction, f) {
                Attempt::Done(out) => return out,
                Attempt::Again(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            StoreError::Unavailable("the database is unavailable".into()).into()
        }))
    }

    /// Stores a delivery: it joins the next batch a batcher commits, and is answered once
    /// that commit is confirmed.
    pub(super) async fn ingest(
        &self,
        delivery: Delivery,
        transaction: Transaction,
        clock: Arc<dyn Clock>,
    ) -> Result<IngestOutcome, StoreError> {
        let queue = &self.ingest[shard(&delivery, self.ingest.len())];
        let send = |job| queue.send(job).is_ok();
        ingest::queue(
            delivery,
            transaction,
            clock,
            send,
            "the ingest threads stopped",
        )
        .await
    }

    /// Stores `jobs` in one transaction and answers each.
    fn ingest_batch(&self, jobs: Vec<Queued>) {
        let Some(clock) = jobs.first().map(|j| j.clock.clone()) else {
            return;
        };
        let started = std::time::Instant::now();
        let stored = self.blocking(true, &|db| ingest::run(db, &jobs, clock.now()));
        crate::telemetry::store_batch(jobs.len(), started.elapsed());
        match stored {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.done.send(Ok(outcome));
                }
            }
            // Not the database's availability but something about one of the deliveries:
            // each alone, so that only the one at fault fails.
            Err(e) if jobs.len() > 1 && !e.is_unavailable() => {
                tracing::warn!(error = %e, deliveries = jobs.len(), "a batch failed; storing its deliveries one by one");
                for job in jobs {
                    let clock = job.clock.clone();
                    let delivery = &job.delivery;
                    let alone = self.blocking(true, &|db| {
                        let mut outcomes = (job.transaction)(db, &[delivery], clock.now())?;
                        outcomes
                            .pop()
                            .ok_or_else(|| StoreError::Internal("no ingest outcome".into()))
                    });
                    let _ = job.done.send(alone);
                }
            }
            Err(e) => ingest::refuse(jobs, e),
        }
    }

    fn attempt<T, E: JobError>(
        &self,
        transaction: bool,
        f: &dyn Fn(&Db<'_>) -> Result<T, E>,
    ) -> Attempt<T, E> {
        let mut session = match self.take() {
            Ok(s) => s,
            Err(e) => return Attempt::Again(e.into()),
        };
        session.forget_signals();
        if transaction && let Err(e) = session.client.batch_execute("BEGIN") {
            return Attempt::Again(StoreError::from(e).into());
        }
        let out = f(&Db::postgres(&mut session));
        // The transaction's signals go out with it.
        let out = out.and_then(|v| session.send_signals().map(|()| v).map_err(E::from));
        let out = match (transaction, out) {
            (false, out) => out,
            (true, Ok(v)) => match session.client.batch_execute("COMMIT") {
                Ok(()) => Ok(v),
                // It may have committed: say so, and do not run it again.
                Err(e) => Err(StoreError::Unavailable(format!(
                    "the database did not confirm the commit: {e}"
                ))
                .into()),
            },
            (true, Err(e)) => {
                let _ = session.client.batch_execute("ROLLBACK");
                // A lost race or a broken session before the commit: nothing was written.
                if e.is_unavailable() {
                    self.put(session);
                    return Attempt::Again(e);
                }
                Err(e)
            }
        };
        self.put(session);
        Attempt::Done(out)
    }
}

impl Pool {
    /// Starts a thread that listens for other instances' signals on a session of its own,
    /// reconnecting when it breaks, until the receiver is dropped.
    pub(super) fn listen(&self) -> tokio::sync::mpsc::UnboundedReceiver<Signal> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let config = self.config.clone();
        let origin = self.origin.clone();
        let channel = self.channel.clone();
        let started = std::thread::Builder::new()
            .name("store-listen".into())
            .spawn(move || {
                while !tx.is_closed() {
                    if let Err(e) = listen_once(&config, &origin, &channel, &tx) {
                        tracing::warn!(error = %e, "listening for other instances failed; reconnecting");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the listener of other instances");
        }
        rx
    }
}

/// Listens on one session until it breaks or nobody receives any more.
fn listen_once(
    config: &postgres::Config,
    origin: &str,
    channel: &str,
    tx: &tokio::sync::mpsc::UnboundedSender<Signal>,
) -> Result<(), postgres::Error> {
    use postgres::fallible_iterator::FallibleIterator;
    let mut client = config.connect(postgres::NoTls)?;
    client.batch_execute(&format!("LISTEN \"{}\"", channel.replace('"', "\"\"")))?;
    while !tx.is_closed() {
        {
            let mut notifications = client.notifications();
            let mut arrived = notifications.timeout_iter(Duration::from_secs(1));
            while let Some(n) = arrived.next()? {
                match serde_json::from_str::<Envelope>(n.payload()) {
                    Ok(e) if e.origin == origin => {}
                    Ok(e) => {
                        if tx.send(e.signal).is_err() {
                            return Ok(());
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable signal ignored"),
                }
            }
        }
        if client.is_closed() {
            break;
        }
    }
    Ok(())
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a session blocks on its socket: never on a thread that runs async tasks.
        let idle = self.idle.get_mut().map(std::mem::take).unwrap_or_default();
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("store-close".into())
                .spawn(move || drop(idle));
        }
    }
}

/// The ingest thread (of `threads`) that stores `delivery`: the one of the call its first
/// event is about, so that a call's deliveries are folded by one thread, one batch after
/// the other. (A delivery about several calls still locks their rows in key order.)
fn shard(delivery: &Delivery, threads: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let Some(first) = delivery.events.first() else {
        return 0;
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&delivery.connection_id, &first.provider_call_id).hash(&mut hasher);
    (hasher.finish() % threads as u64) as usize
}

/// Takes whatever deliveries are waiting (up to [`MAX_BATCH`]) and stores them together,
/// until the pool is gone.
fn batcher(pool: &Weak<Pool>, jobs: &mpsc::Receiver<Queued>) {
    loop {
        let Ok(first) = jobs.recv() else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(more) = jobs.try_recv()
        {
            batch.push(more);
        }
        match pool.upgrade() {
            Some(pool) => pool.ingest_batch(batch),
            None => return,
        }
    }
}

enum Attempt<T, E> {
    Done(Result<T, E>),
    Again(E),
}

/// The client settings of `url`: a 5 s connect timeout unless it sets one, and callgate's
/// application name.
fn client_config(url: &str) -> Result<postgres::Config, StoreError> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Unavailable(format!("invalid database URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    config.application_name("callgate");
    Ok(config)
}

/// Whether the database at `url` (its schema on the search path) holds a callgate store,
/// that is its schema table, creating nothing. Blocks: call it off the async threads.
pub(super) fn has_store(url: &str) -> Result<bool, StoreError> {
    let mut client = client_config(url)?.connect(postgres::NoTls)?;
    let row = client.query_one("SELECT to_regclass('callgate_schema') IS NOT NULL", &[])?;
    Ok(row.try_get(0)?)
}

fn migrate(session: &mut PgSession) -> Result<(), StoreError> {
    let client = &mut session.client;
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS callgate_schema (version BIGINT NOT NULL)")?;
    let current: i64 = match tx.query_opt("SELECT version FROM callgate_schema", &[])? {
        Some(row) => row.try_get(0)?,
        None => {
            tx.execute("INSERT INTO callgate_schema (version) VALUES (0)", &[])?;
            0
        }
    };
    let applied = numbering::applied(current, POSTGRES_BEFORE, MIGRATIONS.len())?;
    for sql in MIGRATIONS.iter().skip(applied) {
        tx.batch_execute(sql)?;
    }
    let counter = numbering::counter(MIGRATIONS.len());
    if counter != current {
        tx.execute("UPDATE callgate_schema SET version = $1", &[&counter])?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::shard;
    use crate::store::Delivery;
    use bytes::Bytes;
    use callgate_adapters::kit::{CallEvent, CallProgress, EventKind, Party};

    fn delivery(connection: &str, calls: &[&str], key: &str) -> Delivery {
        Delivery {
            connection_id: connection.into(),
            provider: "twilio",
            digest: [0; 32],
            method: "POST".into(),
            target: format!("/webhooks/twilio/{connection}"),
            content_type: None,
            body: Bytes::from_static(b"x"),
            events: calls
                .iter()
                .map(|call| CallEvent {
                    dedupe_key: key.into(),
                    provider_call_id: (*call).into(),
                    occurred_at: None,
                    party: Party::default(),
                    kind: EventKind::Call {
                        progress: CallProgress::Ringing,
                    },
                    leg: callgate_adapters::kit::Leg::default(),
                })
                .collect(),
            replay_key: None,
        }
    }

    #[test]
    fn a_calls_deliveries_all_go_to_one_ingest_thread_and_calls_spread_over_all() {
        for n in 0..64 {
            let call = format!("CA{n}");
            let first = shard(&delivery("conn-1", &[&call], "ringing"), 2);
            assert!(first < 2);
            for key in ["queued", "answered", "completed", "recording"] {
                assert_eq!(shard(&delivery("conn-1", &[&call], key), 2), first);
            }
            // A delivery about several calls goes with its first.
            assert_eq!(shard(&delivery("conn-1", &[&call, "CA-x"], "k"), 2), first);
        }
        let used: std::collections::HashSet<usize> = (0..64)
            .map(|n| shard(&delivery("conn-1", &[&format!("CA{n}")], "k"), 2))
            .collect();
        assert_eq!(used.len(), 2, "64 calls all went to one thread");
        assert_eq!(shard(&delivery("conn-1", &[], "k"), 2), 0);
        assert_eq!(shard(&delivery("conn-1", &["CA1"], "k"), 1), 0);
    }
}
