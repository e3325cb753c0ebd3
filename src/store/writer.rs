//! The single writer thread, its group commit, and the syncer thread.
//!
//! Jobs run one after the other inside one open transaction. The transaction is committed
//! when no job is waiting and the syncer is free (or the batch is full), then handed to the
//! syncer, which makes it durable with one `fdatasync` of the write-ahead log and only then
//! answers the callers. While the disk works, the writer already runs the next jobs: every
//! commit carries as many jobs as the disk's pace allows, and no caller is ever answered
//! before its data is on disk. Deliveries queued one after the other are stored together
//! (`ingest_batch`: a few statements for all of them).

use super::Db;
use super::ingest::{self, Delivery, IngestOutcome, Queued, Transaction};
use super::memory::{Changes, Memory, Remembered};
use super::{JobError, StorageFault, StoreError};
use callgate_adapters::kit::Clock;
use rusqlite::Connection;
use std::cell::RefCell;
use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};
use std::time::Instant;
use tokio::sync::oneshot;

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 1024;

/// Called once the transaction holding the job is durable (`Ok`) or failed (`Err`).
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// One unit of work for the writer thread.
trait Job: Send {
    /// Runs inside the open transaction, in a savepoint of its own (so that its failure
    /// leaves the rest of the batch intact); says whether the savepoint is kept, and
    /// returns what to do once the transaction's fate is known.
    fn run(self: Box<Self>, db: &Db<'_>) -> (bool, Completion);
    /// The job could not run at all.
    fn refuse(self: Box<Self>, err: StoreError);
}

struct Task<F, T, E> {
    f: F,
    done: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Task<F, T, E>
where
    T: Send + 'static,
    E: JobError,
    F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
{
    fn run(self: Box<Self>, db: &Db<'_>) -> (bool, Completion) {
        let Task { f, done, .. } = *self;
        let out = catch_unwind(AssertUnwindSafe(|| f(db)))
            .unwrap_or_else(|_| Err(StoreError::Internal("store job panicked".into()).into()));
        let keep = out.is_ok();
        (
            keep,
            Box::new(move |committed| {
                let _ = done.send(committed.map_err(E::from).and(out));
            }),
        )
    }

    fn refuse(self: Box<Self>, err: StoreError) {
        let _ = self.done.send(Err(err.into()));
    }
}

/// What reaches the writer thread.
enum Msg {
    Job(Box<dyn Job>),
    /// A delivery: those queued one after the other are stored together.
    Ingest(Box<Queued>),
    /// The syncer finished everything it was given.
    SyncerIdle,
    /// The store is closing: finish what is queued, then stop (the syncer stops after it).
    Shutdown,
}

/// A caller's completion with what it will be told once its commit is durable.
type Answer = (Completion, Result<(), StoreError>);

#[derive(Debug, Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Msg>,
}

impl Writer {
    /// Starts the writer thread, and the syncer thread that makes its commits durable by
    /// syncing `wal` (the database's write-ahead log).
    pub(super) fn spawn(conn: Connection, wal: File) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel();
        let (to_sync, sync_rx) = mpsc::channel::<Vec<Answer>>();
        let start = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map(|_| ())
                .map_err(|e| StoreError::Internal(format!("cannot start the {name} thread: {e}")))
        };
        let batcher = Batcher {
            conn,
            memory: RefCell::default(),
            to_sync,
            syncer_idle: true,
            deliveries: Vec::new(),
        };
        start("store-writer", Box::new(move || batcher.run(&rx)))?;
        let wake = tx.clone();
        start("store-sync", Box::new(move || sync(&wal, &sync_rx, &wake)))?;
        Ok(Self { tx })
    }

    /// Queues `f`, to run in a savepoint of its own. Answers once the transaction holding it
    /// is committed and on disk.
    pub(super) async fn submit<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: JobError,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let stopped = || E::from(StoreError::Unavailable("store writer stopped".into()));
        let (done, wait) = oneshot::channel::<Result<T, E>>();
        let job: Box<dyn Job> = Box::new(Task { f, done });
        self.tx.send(Msg::Job(job)).map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?
    }

    /// Stores a delivery; answers once the transaction holding it is committed and on disk.
    pub(super) async fn ingest(
        &self,
        delivery: Delivery,
        transaction: Transaction,
        clock: Arc<dyn Clock>,
    ) -> Result<IngestOutcome, StoreError> {
        let send = |job| self.tx.send(Msg::Ingest(Box::new(job))).is_ok();
        ingest::queue(delivery, transaction, clock, send, "store writer stopped").await
    }

    /// Asks the writer to finish what is queued and stop.
    pub(super) fn shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown);
    }
}

/// The open transaction: each job's completion, and its own error (savepoint trouble), and
/// what its jobs taught the writer's memory (which it learns only if the transaction
/// commits: dropping the transaction drops them).
#[derive(Default)]
struct Open {
    jobs: Vec<(Completion, Option<StoreError>)>,
    learnt: RefCell<Changes>,
}

struct Batcher {
    conn: Connection,
    /// What committed transactions left for the next ones to read less (`memory.rs`).
    memory: RefCell<Remembered>,
    to_sync: mpsc::Sender<Vec<Answer>>,
    syncer_idle: bool,
    /// Deliveries received and not stored yet: stored together before anything else runs.
    deliveries: Vec<Queued>,
}

impl Batcher {
    fn run(mut self, rx: &mpsc::Receiver<Msg>) {
        let mut open: Option<Open> = None;
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(mpsc::TryRecvError::Empty) => {
                    if !self.deliveries.is_empty() {
                        // What arrives meanwhile joins the same commit.
                        self.store_deliveries(&mut open);
                        continue;
                    }
                    if open.is_some() && self.syncer_idle {
                        self.finish(open.take());
                        continue;
                    }
                    match rx.recv() {
                        Ok(msg) => msg,
                        Err(_) => return self.close(open),
                    }
                }
                Err(mpsc::TryRecvError::Disconnected) => return self.close(open),
            };
            match msg {
                Msg::SyncerIdle => self.syncer_idle = true,
                Msg::Shutdown => return self.close(open),
                Msg::Ingest(job) => {
                    self.deliveries.push(*job);
                    let queued = open.as_ref().map_or(0, |b| b.jobs.len());
                    if queued + self.deliveries.len() >= MAX_BATCH {
                        self.store_deliveries(&mut open);
                        self.finish(open.take());
                    }
                }
                Msg::Job(job) => {
                    self.store_deliveries(&mut open);
                    let Some(batch) = self.begin(&mut open) else {
                        job.refuse(StoreError::Unavailable("cannot begin a transaction".into()));
                        continue;
                    };
                    self.run_job(batch, job);
                    if batch.jobs.len() >= MAX_BATCH {
                        self.finish(open.take());
                    }
                }
            }
        }
    }

    /// Stores what is queued and commits it, at shutdown.
    fn close(&mut self, mut open: Option<Open>) {
        self.store_deliveries(&mut open);
        self.finish(open.take());
    }

    /// The open transaction, begun if there is none (`None` if it cannot begin).
    fn begin<'o>(&self, open: &'o mut Option<Open>) -> Option<&'o mut Open> {
        if open.is_none() {
            match self.conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => *open = Some(Open::default()),
                Err(e) => {
                    tracing::warn!(error = %e, "the store cannot begin a transaction");
                    return None;
                }
            }
        }
        open.as_mut()
    }

    /// Stores the queued deliveries together, without a savepoint of their own (the hot
    /// path): if that fails, the whole transaction is rolled back, and its deliveries and
    /// every other job of it hear that it failed (`ingest::refuse`).
    fn store_deliveries(&mut self, open: &mut Option<Open>) {
        if self.deliveries.is_empty() {
            return;
        }
        let jobs = std::mem::take(&mut self.deliveries);
        if self.begin(open).is_none() {
            let e = StoreError::Unavailable("cannot begin a transaction".into());
            return ingest::refuse(jobs, e);
        }
        let stored = match open.as_ref() {
            Some(batch) => {
                let now = jobs[0].clock.now();
                let memory = Memory::new(&self.memory, None, &batch.learnt);
                let db = Db::sqlite_writer(&self.conn, memory);
                catch_unwind(AssertUnwindSafe(|| ingest::run(&db, &jobs, now)))
                    .unwrap_or_else(|_| Err(StoreError::Internal("store job panicked".into())))
            }
            None => Err(StoreError::Internal("no open transaction".into())),
        };
        match stored {
            Ok(outcomes) => {
                if let Some(batch) = open.as_mut() {
                    for (job, outcome) in jobs.into_iter().zip(outcomes) {
                        let done = job.done;
                        batch.jobs.push((
                            Box::new(move |committed| {
                                let _ = done.send(committed.map(|()| outcome));
                            }),
                            None,
                        ));
                    }
                }
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                if let Some(batch) = open.take() {
                    for (completion, _) in batch.jobs {
                        completion(Err(StoreError::Unavailable(
                            "another write of the same batch failed".into(),
                        )));
                    }
                }
                tracing::warn!(error = %e, deliveries = jobs.len(), "storing deliveries failed");
                ingest::refuse(jobs, e);
            }
        }
    }

    fn run_job(&self, batch: &mut Open, job: Box<dyn Job>) {
        let conn = &self.conn;
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            job.refuse(StoreError::from(e));
            return;
        }
        let learnt = RefCell::new(Changes::default());
        let (keep, completion) = {
            let memory = Memory::new(&self.memory, Some(&batch.learnt), &learnt);
            job.run(&Db::sqlite_writer(conn, memory))
        };
        let closed = close_savepoint(conn, keep);
        // A released savepoint's lessons join the transaction's; a rolled-back one's are
        // dropped with it; one that could not be closed leaves the memory in doubt.
        match (&closed, keep) {
            (Ok(()), true) => batch.learnt.get_mut().absorb(learnt.into_inner()),
            (Ok(()), false) => {}
            (Err(_), _) => batch.learnt.get_mut().absorb(Changes::doubtful()),
        }
        batch
            .jobs
            .push((completion, closed.err().map(StoreError::from)));
    }

    /// Commits the open transaction and hands its answers on.
    fn finish(&mut self, open: Option<Open>) {
        let Some(batch) = open else { return };
        let started = Instant::now();
        let committed = self.conn.execute_batch("COMMIT").map_err(StoreError::from);
        if committed.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
        } else {
            self.memory.get_mut().absorb(batch.learnt.into_inner());
        }
        crate::telemetry::store_batch(batch.jobs.len(), started.elapsed());
        let answers: Vec<Answer> = batch
            .jobs
            .into_iter()
            .map(|(completion, own_error)| {
                let outcome = match (&committed, own_error) {
                    (Err(e), _) => Err(e.for_batch()),
                    (Ok(()), Some(e)) => Err(e),
                    (Ok(()), None) => Ok(()),
                };
                (completion, outcome)
            })
            .collect();
        if committed.is_err() {
            // Nothing was written: nothing to wait for.
            for (completion, outcome) in answers {
                completion(outcome);
            }
            return;
        }
        self.syncer_idle = false;
        if let Err(mpsc::SendError(answers)) = self.to_sync.send(answers) {
            for (completion, _) in answers {
                completion(Err(StoreError::Unavailable(
                    "the store syncer stopped".into(),
                )));
            }
        }
    }
}

/// Releases the savepoint `job`, or rolls it back.
fn close_savepoint(conn: &Connection, keep: bool) -> rusqlite::Result<()> {
    if keep {
        conn.execute_batch("RELEASE job")
    } else {
        conn.execute_batch("ROLLBACK TO job; RELEASE job")
    }
}

/// Group sync: one `fdatasync` of the WAL covers every commit made before it started. The
/// commits themselves run with `synchronous=NORMAL`; this thread supplies the durability of
/// `synchronous=FULL` (nothing is acknowledged before it is on disk) without stalling the
/// writer on the disk.
fn sync(wal: &File, rx: &mpsc::Receiver<Vec<Answer>>, wake: &mpsc::Sender<Msg>) {
    while let Ok(first) = rx.recv() {
        let mut answers = first;
        while let Ok(more) = rx.try_recv() {
            answers.extend(more);
        }
        let started = Instant::now();
        let synced = wal.sync_data().map_err(|e| {
            StoreError::Storage(
                StorageFault::of_io(&e),
                format!("cannot sync the write-ahead log: {e}"),
            )
        });
        crate::telemetry::store_sync(started.elapsed());
        // Let the writer commit its next batch while these callers are answered.
        let writer_gone = wake.send(Msg::SyncerIdle).is_err();
        for (completion, outcome) in answers {
            completion(match (&synced, outcome) {
                (Err(e), _) => Err(e.for_batch()),
                (Ok(()), o) => o,
            });
        }
        if writer_gone {
            return;
        }
    }
}
