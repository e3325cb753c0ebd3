//! What the store answers when it cannot do what it was asked: its own error type, which
//! names no transport. The HTTP edge maps it to statuses and codes (`src/error.rs`).

use crate::domain::refusal::Refusal;

/// A store operation that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot take the write or answer the read now (busy, away, stopped): the
    /// caller may retry.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The store cannot write for a storage reason (a full disk, an I/O error, a read-only
    /// database): what readiness reports until a write that takes new space succeeds.
    #[error("the store cannot write ({fault}): {1}", fault = .0.as_str())]
    Storage(StorageFault, String),
    /// The write was refused by a rule of the domain, checked against the stored rows in
    /// the same transaction (an unknown or ended call, a claim by another agent, ...).
    #[error("{0}")]
    Refused(Refusal),
    /// A bug or corrupt data: a statement or a stored value the store does not understand.
    #[error("store: {0}")]
    Internal(String),
}

/// Why the store cannot write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// No space left: the disk (or the database's size limit) is full.
    Full,
    /// The storage answered an I/O error.
    Io,
    /// The database or its files are read-only.
    ReadOnly,
}

impl StorageFault {
    /// The reason as `/readyz` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "disk_full",
            Self::Io => "io_error",
            Self::ReadOnly => "read_only",
        }
    }

    /// The fault an I/O error of the store's files stands for.
    pub fn of_io(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Self::Full,
            std::io::ErrorKind::ReadOnlyFilesystem => Self::ReadOnly,
            _ => Self::Io,
        }
    }
}

/// The error type of a job the store runs for a caller ([`super::Store::write`],
/// [`super::Store::read`]): the store's own, or a caller's type that a store error converts
/// into. The store reads from it only what it needs: whether to run the job again, and
/// whether it failed for a storage reason.
pub trait JobError: From<StoreError> + Send + 'static {
    /// The store could not do it now: a transaction that failed so wrote nothing, and may
    /// run again.
    fn is_unavailable(&self) -> bool;
    /// The storage fault the job failed with, if any.
    fn storage_fault(&self) -> Option<StorageFault>;
}

impl JobError for StoreError {
    fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Storage(..))
    }

    fn storage_fault(&self) -> Option<StorageFault> {
        match self {
            Self::Storage(fault, _) => Some(*fault),
            _ => None,
        }
    }
}

impl StoreError {
    /// What the other writes of a failed batch hear: the store could not take them, for the
    /// batch's reason.
    pub fn for_batch(&self) -> Self {
        match self {
            Self::Unavailable(m) => Self::Unavailable(m.clone()),
            Self::Storage(fault, m) => Self::Storage(*fault, m.clone()),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<Refusal> for StoreError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let rusqlite::Error::SqliteFailure(f, _) = &e else {
            return Self::Internal(e.to_string());
        };
        match f.code {
            C::DiskFull => Self::Storage(StorageFault::Full, e.to_string()),
            C::SystemIoFailure => Self::Storage(StorageFault::Io, e.to_string()),
            C::ReadOnly => Self::Storage(StorageFault::ReadOnly, e.to_string()),
            C::DatabaseBusy
            | C::DatabaseLocked
            | C::CannotOpen
            | C::OutOfMemory
            | C::FileLockingProtocolFailed => Self::Unavailable(e.to_string()),
            _ => Self::Internal(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("stored JSON: {e}"))
    }
}
