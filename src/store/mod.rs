//! The store: the embedded SQLite database, or PostgreSQL for several instances.
//!
//! Store code is written once against [`db::Db`], which speaks to either backend.
//!
//! Embedded: SQLite has one writer, so all writes go through one writer thread that groups
//! whatever is queued into one transaction (group commit), and a syncer thread that makes
//! each commit durable (`fdatasync` of the WAL) before any caller hears back: see
//! `writer.rs`. A caller is therefore never told "done" before its data is on disk. Reads
//! use a small pool of read-only connections; a checkpointer thread copies the WAL back into
//! the database.
//!
//! PostgreSQL: each write is a transaction of its own on a pooled session (`pg.rs`), made
//! durable by the server's commit before any caller hears back.

pub mod audit;
pub mod bookings;
pub mod calls;
#[cfg(test)]
mod calls_tests;
pub mod chats;
pub mod connections;
pub mod db;
pub mod directory;
pub mod erasure;
mod error;
pub mod export;
mod files;
pub mod gauges;
mod health;
mod hot;
pub mod ingest;
pub mod legs;
mod memory;
mod numbering;
pub mod outbound;
pub mod outbox;
mod pg;
mod pg_session;
pub mod reconcile;
pub mod recordings;
pub mod retention;
mod rows;
mod schema;
pub mod sessions;
pub mod subscriptions;
pub mod users;
pub mod webhook_log;
mod writer;

pub use ingest::{Delivery, IngestOutcome, Transaction};

use callgate_adapters::kit::Clock;
pub use db::{Db, Dialect};
pub use error::{JobError, StorageFault, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use writer::Writer;

/// How long a statement waits for a lock before the store reports itself unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
const READERS: usize = 4;

/// A change other instances sharing the database must hear about (PostgreSQL only): they
/// drop what they cached, or tell their live subscribers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A connection was added or changed: its cached secrets are stale.
    Connection { id: String },
    /// A call changed; `recording_decided` when its recording decision did.
    Call { id: String, recording_decided: bool },
    /// A tenant's hub counts (chats, web bookings) changed.
    Hub { tenant_id: String },
    /// A user's permissions or tenants changed, or one of its tokens was revoked: its open
    /// live streams check their token again.
    Rights { user_id: String },
    /// Calls were erased (`privacy`): live event rings forget their events.
    Erased { call_ids: Vec<String> },
}

/// A signal as sent: with the instance that sent it, which ignores its own.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Envelope {
    origin: String,
    signal: Signal,
}

/// Handle to the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
    health: Arc<health::WriteHealth>,
}

#[derive(Debug)]
enum Inner {
    Sqlite(Arc<Embedded>),
    Postgres(Arc<pg::Pool>),
}

#[derive(Debug)]
struct Embedded {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
}

fn open(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // The checkpointer thread keeps the WAL short; this is only a safety net.
        conn.pragma_update(None, "wal_autocheckpoint", 20_000)?;
    }
    // Commits are made durable by the writer's syncer thread (an fdatasync of the WAL before
    // any caller is answered: see writer.rs), checkpoints by SQLite itself.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if !read_only {
        // What is deleted or overwritten is zeroed, not only marked free: an erased number
        // leaves no copy in free space (`privacy`), once the log is checkpointed.
        conn.pragma_update(None, "secure_delete", "ON")?;
    }
    // Isolated jobs run in a savepoint: keep its sub-journal in memory, not in a temporary file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Store {
    /// Opens (creating if missing) the embedded database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            files::private_dir(dir)?;
        }
        files::private_files(path)?;
        let mut conn = open(path, false)?;
        schema::migrate(&mut conn)?;
        let wal_path = {
            let mut p = path.as_os_str().to_owned();
            p.push("-wal");
            PathBuf::from(p)
        };
        let wal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&wal_path)
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot open {}: {e}", wal_path.display()))
            })?;
        let writer = Writer::spawn(conn, wal)?;
        let embedded = Arc::new(Embedded {
            path: path.to_owned(),
            writer,
            readers: Mutex::new(Vec::new()),
        });
        spawn_checkpointer(path, Arc::downgrade(&embedded))?;
        Ok(Self {
            inner: Arc::new(Inner::Sqlite(embedded)),
            health: Arc::default(),
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://...`) and migrates it.
    /// Blocks while it connects: call it off the async threads.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = pg::Pool::connect(url)?;
        Ok(Self {
            inner: Arc::new(Inner::Postgres(pool)),
            health: Arc::default(),
        })
    }

    /// Whether the PostgreSQL database at `url` already holds a store (migrated by an
    /// earlier start), without creating anything. Blocks: call it off the async threads.
    pub fn postgres_has_store(url: &str) -> Result<bool, StoreError> {
        pg::has_store(url)
    }

    /// Where the data is, for logs: the embedded database's path, or "PostgreSQL" (a
    /// database URL may hold a password).
    pub fn location(&self) -> String {
        match &*self.inner {
            Inner::Sqlite(e) => e.path.display().to_string(),
            Inner::Postgres(_) => "PostgreSQL".to_owned(),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match &*self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `f` in a transaction and answers once it is committed and durable. Embedded, it
    /// joins the next group commit; on PostgreSQL it is a transaction of its own, run again
    /// if it loses a race with another instance (so it must not have effects outside `db`).
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: JobError,
        F: Fn(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let out = match &*self.inner {
            Inner::Sqlite(e) => e.writer.submit(move |db| f(db)).await,
            Inner::Postgres(pool) => pool.write(f).await,
        };
        self.note(&out, false);
        out
    }

    /// Records a write's outcome: a storage fault makes the store not ready. A success makes
    /// it ready again only when the write took new space (`took_space`: a delivery stored,
    /// the readiness probe): an update in place, or a claim that found nothing to claim,
    /// succeeds on a full disk too. Other errors (the write's own, a busy database) say
    /// nothing of either.
    fn note<T, E: JobError>(&self, out: &Result<T, E>, took_space: bool) {
        self.health.note(out, took_space);
    }

    /// Whether the store takes writes: `Err` with the fault once a write failed for a storage
    /// reason, until one that takes new space succeeds. Meanwhile each call tries a small write
    /// of its own (one at a time), whose success makes it ready again without traffic.
    pub async fn writable(&self, now: OffsetDateTime) -> Result<(), StorageFault> {
        let failing = || self.health.fault();
        let Some(fault) = failing() else {
            return Ok(());
        };
        let Ok(_probing) = self.health.probing.try_lock() else {
            return Err(fault);
        };
        let pad_id = rand::Rng::random_range(&mut rand::rng(), 2..i64::MAX);
        let pad = health::probe_pad();
        let probed: Result<(), StoreError> = self
            .write(move |db| health::probe(db, now, pad_id, &pad))
            .await;
        self.note(&probed, true);
        match probed {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "the readiness probe's write failed");
                Err(failing().unwrap_or(fault))
            }
        }
    }

    /// Runs `f` on a connection for reading, off the async threads.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: JobError,
        F: Fn(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        match &*self.inner {
            Inner::Postgres(pool) => pool.read(f).await,
            Inner::Sqlite(e) => {
                let e = e.clone();
                tokio::task::spawn_blocking(move || {
                    let pooled = e
                        .readers
                        .lock()
                        .map_err(|_| StoreError::Internal("reader pool poisoned".into()))?
                        .pop();
                    let conn = match pooled {
                        Some(c) => c,
                        None => open(&e.path, true).map_err(E::from)?,
                    };
                    let out = f(&Db::sqlite(&conn));
                    if let Ok(mut pool) = e.readers.lock()
                        && pool.len() < READERS
                    {
                        pool.push(conn);
                    }
                    out
                })
                .await
                .map_err(|e| E::from(StoreError::Internal(format!("read task: {e}"))))?
            }
        }
    }

    /// Stores a webhook delivery and everything it changes (`transaction`, run over the
    /// deliveries that wait together: every caller passes the same), durably, in one
    /// transaction. Its recorded time is read from `clock` when the transaction runs.
    pub async fn ingest(
        &self,
        delivery: Delivery,
        transaction: Transaction,
        clock: Arc<dyn Clock>,
    ) -> Result<IngestOutcome, StoreError> {
        let out = match &*self.inner {
            Inner::Sqlite(e) => e.writer.ingest(delivery, transaction, clock).await,
            Inner::Postgres(pool) => pool.ingest(delivery, transaction, clock).await,
        };
        // Every delivery, a duplicate too, is stored as a new row.
        self.note(&out, true);
        out
    }

    /// On the embedded store, copies everything the write-ahead log holds into the database
    /// and truncates the log to nothing, so that no older page image stays in it (what a
    /// deletion zeroed may still be in earlier frames). Waits a little for readers that keep
    /// it from finishing; false if they still did. Nothing to do on PostgreSQL.
    pub async fn truncate_log(&self) -> Result<bool, StoreError> {
        let Inner::Sqlite(e) = &*self.inner else {
            return Ok(true);
        };
        let path = e.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = open(&path, false)?;
            for _ in 0..100 {
                let busy: i64 =
                    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
                if busy == 0 {
                    return Ok(true);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Ok(false)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("checkpoint task: {e}")))?
    }

    /// Deletes single-use values (nonces) whose keeping time has passed.
    pub async fn prune_replay_keys(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        self.write(move |db| ingest::prune_replay_keys(db, now))
            .await
    }

    /// The signals other instances send, as they arrive (PostgreSQL); `None` for the
    /// embedded store, which is alone. Listening stops when the receiver is dropped.
    pub fn signals(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Signal>> {
        match &*self.inner {
            Inner::Sqlite(_) => None,
            Inner::Postgres(pool) => Some(pool.listen()),
        }
    }

    /// True when the store answers a trivial query.
    pub async fn ping(&self) -> bool {
        let one: Result<i64, StoreError> = self
            .read(|db| db.query_one("SELECT CAST(1 AS BIGINT)", &[], |r| r.get::<i64>(0)))
            .await;
        one.is_ok()
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.writer.shutdown();
    }
}

/// Copies the WAL back into the database off the writer thread, while the store lives.
fn spawn_checkpointer(path: &Path, store: std::sync::Weak<Embedded>) -> Result<(), StoreError> {
    let conn = open(path, false)?;
    std::thread::Builder::new()
        .name("store-checkpoint".into())
        .spawn(move || {
            while store.upgrade().is_some() {
                std::thread::sleep(Duration::from_millis(250));
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!(error = %e, "checkpoint skipped");
                }
            }
        })
        .map_err(|e| StoreError::Internal(format!("cannot start the checkpointer: {e}")))?;
    Ok(())
}

/// A listing's SELECT, built from the filters it was given. Only those enter the statement,
/// each as `AND <clause> ?N`, so that each can use its index.
struct Listing {
    sql: String,
    args: Vec<db::OwnedArg>,
}

impl Listing {
    /// `select` ends in a WHERE clause that the filters are ANDed to.
    fn new(select: &str) -> Self {
        Self {
            sql: select.to_owned(),
            args: Vec::new(),
        }
    }

    /// Binds `value` and returns its parameter number, for a clause that uses it.
    fn bind(&mut self, value: impl Into<db::OwnedArg>) -> usize {
        self.args.push(value.into());
        self.args.len()
    }

    /// Adds `AND clause`.
    fn and(&mut self, clause: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
    }

    /// Adds `AND {clause} ?N` with `value` bound, when a value is given.
    fn filter(&mut self, clause: &str, value: Option<impl Into<db::OwnedArg>>) {
        if let Some(v) = value {
            let n = self.bind(v);
            self.and(&format!("{clause} ?{n}"));
        }
    }

    /// Runs the statement: rows ordered by `order_by`, at most `limit` of them.
    fn run<T>(
        mut self,
        db: &Db<'_>,
        order_by: &str,
        limit: usize,
        map: impl FnMut(&db::Row<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.sql
            .push_str(&format!(" ORDER BY {order_by} LIMIT {limit}"));
        let args: Vec<db::Arg<'_>> = self.args.iter().map(db::ToArg::to_arg).collect();
        db.query(&self.sql, &args, map)
    }
}

/// Claims the due rows of `table` that `select` finds (read by `read`, each known by `id`)
/// until `lease_until` ([`lease`]): outbox jobs, outbound deliveries and the reconciler's
/// watched calls are all claimed so. `select` ends with the dialect's `skip_locked`, so on
/// PostgreSQL rows another instance is claiming are skipped, not waited for.
fn claim_due<T>(
    db: &Db<'_>,
    table: &str,
    select: &str,
    args: &[db::Arg<'_>],
    read: impl FnMut(&db::Row<'_, '_>) -> Result<T, StoreError>,
    id: impl Fn(&T) -> db::Arg<'_>,
    lease_until: OffsetDateTime,
) -> Result<Vec<T>, StoreError> {
    let due = db.query(select, args, read)?;
    lease(db, table, due.iter().map(id), lease_until)?;
    Ok(due)
}

/// Leases claimed rows of `table` (keyed `id`) until `until`: their next attempt moves
/// there, so no other worker takes them before, and they fall due again if the worker that
/// claimed them dies.
fn lease<'a>(
    db: &Db<'_>,
    table: &str,
    ids: impl IntoIterator<Item = db::Arg<'a>>,
    until: OffsetDateTime,
) -> Result<(), StoreError> {
    let sql = format!("UPDATE {table} SET next_attempt_at = ?2 WHERE id = ?1");
    for id in ids {
        db.exec(&sql, &[id, db::Arg::Int(millis(until))])?;
    }
    Ok(())
}

/// Gives back claimed rows of `table` that a worker did not finish: those still under its
/// lease (`leased_until`, the time [`lease`] set) fall due at `due_at`. A row another worker
/// claimed since (the lease ended) is left alone. Returns how many were released.
fn release<'a>(
    db: &Db<'_>,
    table: &str,
    ids: impl IntoIterator<Item = db::Arg<'a>>,
    leased_until: OffsetDateTime,
    due_at: OffsetDateTime,
) -> Result<usize, StoreError> {
    let sql =
        format!("UPDATE {table} SET next_attempt_at = ?2 WHERE id = ?1 AND next_attempt_at = ?3");
    let mut n = 0;
    for id in ids {
        let args = [
            id,
            db::Arg::Int(millis(due_at)),
            db::Arg::Int(millis(leased_until)),
        ];
        n += db.exec(&sql, &args)?;
    }
    Ok(n)
}

/// A count read from SQL (a 64-bit integer), as the `u32` the API reports.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Milliseconds since the epoch, the unit of every time column compared in SQL.
pub fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`millis`].
pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
