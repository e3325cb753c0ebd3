//! The single writer thread and its group commit.

use crate::error::AppError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tokio::sync::{mpsc, oneshot};

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 512;
const QUEUE: usize = 8192;

/// Called once the batch holding the job has committed (`Ok`) or failed (`Err`).
type Completion = Box<dyn FnOnce(Result<(), AppError>) + Send>;

/// One unit of work for the writer thread.
trait Job: Send {
    /// Runs inside the batch transaction; says whether its savepoint is kept, and returns
    /// what to do once the batch's fate is known.
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

#[derive(Debug, Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    pub(super) fn spawn(conn: Connection) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, rx))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the store writer"));
        Self { tx }
    }

    /// Queues `f`; with `isolated`, it runs in its own savepoint (see [`Job::isolated`]).
    pub(super) async fn submit<T, F>(&self, isolated: bool, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
    {
        let (done, wait) = oneshot::channel::<Result<T, AppError>>();
        let job: Box<dyn Job> = Box::new(Task { f, isolated, done });
        self.tx
            .send(job)
            .await
            .map_err(|_| AppError::Unavailable("store writer stopped".into()))?;
        wait.await
            .map_err(|_| AppError::Unavailable("store writer stopped".into()))?
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&conn, &mut batch);
    }
}

fn commit_batch(conn: &Connection, batch: &mut Vec<Box<dyn Job>>) {
    let size = batch.len();
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = AppError::from(e);
        for job in batch.drain(..) {
            job.refuse(clone_err(&err));
        }
        return;
    }
    let mut completions = Vec::with_capacity(size);
    let mut poisoned = false;
    for job in batch.drain(..) {
        if poisoned {
            job.refuse(AppError::Unavailable(
                "another write of the same batch failed".into(),
            ));
            continue;
        }
        if !job.isolated() {
            let (keep, completion) = job.run(conn);
            // Its own error is what this job's caller hears; the others learn the batch failed.
            poisoned = !keep;
            completions.push((completion, None, !keep));
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            job.refuse(AppError::from(e));
            continue;
        }
        let (keep, completion) = job.run(conn);
        let closed = if keep {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        completions.push((completion, closed.err().map(AppError::from), false));
    }
    let committed = if poisoned {
        let _ = conn.execute_batch("ROLLBACK");
        Err(AppError::Unavailable(
            "another write of the same batch failed".into(),
        ))
    } else {
        let c = conn.execute_batch("COMMIT").map_err(AppError::from);
        if c.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        c
    };
    crate::telemetry::store_batch(size);
    for (completion, own_error, failed_itself) in completions {
        let outcome = match (&committed, own_error) {
            // The job that failed reports its own error.
            _ if failed_itself => Ok(()),
            (Err(e), _) => Err(clone_err(e)),
            (Ok(()), Some(e)) => Err(e),
            (Ok(()), None) => Ok(()),
        };
        completion(outcome);
    }
}

fn clone_err(e: &AppError) -> AppError {
    match e {
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        other => AppError::Unavailable(other.to_string()),
    }
}
