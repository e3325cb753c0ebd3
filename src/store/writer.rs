//! The single writer thread, its group commit, and the syncer thread.
//!
//! Jobs run one after the other inside one open transaction. The transaction is committed
//! when no job is waiting and the syncer is free (or the batch is full), then handed to the
//! syncer, which makes it durable with one `fdatasync` of the write-ahead log and only then
//! answers the callers. While the disk works, the writer already runs the next jobs: every
//! commit carries as many jobs as the disk's pace allows, and no caller is ever answered
//! before its data is on disk.

use crate::error::AppError;
use rusqlite::Connection;
use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 1024;

/// Called once the transaction holding the job is durable (`Ok`) or failed (`Err`).
type Completion = Box<dyn FnOnce(Result<(), AppError>) + Send>;

/// One unit of work for the writer thread.
trait Job: Send {
    /// Runs inside the open transaction; says whether its savepoint is kept, and returns
    /// what to do once the transaction's fate is known.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completion);
    /// The job could not run at all.
    fn refuse(self: Box<Self>, err: AppError);
    /// Whether the job runs in its own savepoint, so that its failure leaves the rest of the
    /// batch intact. A job without one that fails rolls the whole batch back.
    fn isolated(&self) -> bool;
}

struct Task<F, T> {
    f: F,
    isolated: bool,
    done: oneshot::Sender<Result<T, AppError>>,
}

impl<F, T> Job for Task<F, T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completion) {
        let Task { f, done, .. } = *self;
        let out = catch_unwind(AssertUnwindSafe(|| f(conn)))
            .unwrap_or_else(|_| Err(AppError::Internal("store job panicked".into())));
        let keep = out.is_ok();
        (
            keep,
            Box::new(move |committed| {
                let _ = done.send(committed.and(out));
            }),
        )
    }

    fn refuse(self: Box<Self>, err: AppError) {
        let _ = self.done.send(Err(err));
    }

    fn isolated(&self) -> bool {
        self.isolated
    }
}

/// What reaches the writer thread.
enum Msg {
    Job(Box<dyn Job>),
    /// The syncer finished everything it was given.
    SyncerIdle,
    /// The store is closing: finish what is queued, then stop (the syncer stops after it).
    Shutdown,
}

/// A caller's completion with what it will be told once its commit is durable.
type Answer = (Completion, Result<(), AppError>);

#[derive(Debug, Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Msg>,
}

impl Writer {
    /// Starts the writer thread, and the syncer thread that makes its commits durable by
    /// syncing `wal` (the database's write-ahead log).
    pub(super) fn spawn(conn: Connection, wal: File) -> Result<Self, AppError> {
        let (tx, rx) = mpsc::channel();
        let (to_sync, sync_rx) = mpsc::channel::<Vec<Answer>>();
        let start = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map(|_| ())
                .map_err(|e| AppError::Internal(format!("cannot start the {name} thread: {e}")))
        };
        let batcher = Batcher {
            conn,
            to_sync,
            syncer_idle: true,
        };
        start("store-writer", Box::new(move || batcher.run(&rx)))?;
        let wake = tx.clone();
        start("store-sync", Box::new(move || sync(&wal, &sync_rx, &wake)))?;
        Ok(Self { tx })
    }

    /// Queues `f`; with `isolated`, it runs in its own savepoint (see [`Job::isolated`]).
    /// Answers once the transaction holding it is committed and on disk.
    pub(super) async fn submit<T, F>(&self, isolated: bool, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
    {
        let (done, wait) = oneshot::channel::<Result<T, AppError>>();
        let job: Box<dyn Job> = Box::new(Task { f, isolated, done });
        self.tx
            .send(Msg::Job(job))
            .map_err(|_| AppError::Unavailable("store writer stopped".into()))?;
        wait.await
            .map_err(|_| AppError::Unavailable("store writer stopped".into()))?
    }

    /// Asks the writer to finish what is queued and stop.
    pub(super) fn shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown);
    }
}

/// The open transaction.
#[derive(Default)]
struct Open {
    /// Each job's completion, its own error (savepoint trouble), and whether it failed
    /// itself.
    jobs: Vec<(Completion, Option<AppError>, bool)>,
    /// A job without savepoint failed: the transaction can only be rolled back.
    poisoned: bool,
}

struct Batcher {
    conn: Connection,
    to_sync: mpsc::Sender<Vec<Answer>>,
    syncer_idle: bool,
}

impl Batcher {
    fn run(mut self, rx: &mpsc::Receiver<Msg>) {
        let mut open: Option<Open> = None;
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(mpsc::TryRecvError::Empty) => {
                    if open.is_some() && self.syncer_idle {
                        self.finish(open.take());
                        continue;
                    }
                    match rx.recv() {
                        Ok(msg) => msg,
                        Err(_) => return self.finish(open.take()),
                    }
                }
                Err(mpsc::TryRecvError::Disconnected) => return self.finish(open.take()),
            };
            match msg {
                Msg::SyncerIdle => self.syncer_idle = true,
                Msg::Shutdown => return self.finish(open.take()),
                Msg::Job(job) => {
                    if open.is_none() {
                        match self.conn.execute_batch("BEGIN IMMEDIATE") {
                            Ok(()) => open = Some(Open::default()),
                            Err(e) => {
                                job.refuse(AppError::from(e));
                                continue;
                            }
                        }
                    }
                    if let Some(batch) = open.as_mut() {
                        self.run_job(batch, job);
                        if batch.jobs.len() >= MAX_BATCH {
                            self.finish(open.take());
                        }
                    }
                }
            }
        }
    }

    fn run_job(&self, batch: &mut Open, job: Box<dyn Job>) {
        let conn = &self.conn;
        if batch.poisoned {
            job.refuse(AppError::Unavailable(
                "another write of the same batch failed".into(),
            ));
            return;
        }
        if !job.isolated() {
            let (keep, completion) = job.run(conn);
            // Its own error is what this job's caller hears; the others learn the batch failed.
            batch.poisoned = !keep;
            batch.jobs.push((completion, None, !keep));
            return;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            job.refuse(AppError::from(e));
            return;
        }
        let (keep, completion) = job.run(conn);
        let closed = if keep {
            conn.execute_batch("RELEASE job")
        } else {
            super::forget_remembered();
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        batch
            .jobs
            .push((completion, closed.err().map(AppError::from), false));
    }

    /// Commits (or rolls back) the open transaction and hands its answers on.
    fn finish(&mut self, open: Option<Open>) {
        let Some(batch) = open else { return };
        let started = Instant::now();
        let committed = if batch.poisoned {
            super::forget_remembered();
            let _ = self.conn.execute_batch("ROLLBACK");
            Err(AppError::Unavailable(
                "another write of the same batch failed".into(),
            ))
        } else {
            let c = self.conn.execute_batch("COMMIT").map_err(AppError::from);
            if c.is_err() {
                super::forget_remembered();
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            c
        };
        crate::telemetry::store_batch(batch.jobs.len(), started.elapsed());
        let answers: Vec<Answer> = batch
            .jobs
            .into_iter()
            .map(|(completion, own_error, failed_itself)| {
                let outcome = match (&committed, own_error) {
                    // The job that failed reports its own error.
                    _ if failed_itself => Ok(()),
                    (Err(e), _) => Err(clone_err(e)),
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
                completion(Err(AppError::Unavailable(
                    "the store syncer stopped".into(),
                )));
            }
        }
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
        let synced = wal
            .sync_data()
            .map_err(|e| AppError::Unavailable(format!("cannot sync the write-ahead log: {e}")));
        crate::telemetry::store_sync(started.elapsed());
        // Let the writer commit its next batch while these callers are answered.
        let writer_gone = wake.send(Msg::SyncerIdle).is_err();
        for (completion, outcome) in answers {
            completion(match (&synced, outcome) {
                (Err(e), _) => Err(clone_err(e)),
                (Ok(()), o) => o,
            });
        }
        if writer_gone {
            return;
        }
    }
}

fn clone_err(e: &AppError) -> AppError {
    match e {
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        other => AppError::Unavailable(other.to_string()),
    }
}
