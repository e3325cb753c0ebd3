//! Readiness of the store's writes: the storage fault a write failed with, kept until a
//! write that takes new space succeeds, and the probe that takes such space on its own.

use super::db::{Db, args};
use super::{JobError, StorageFault, StoreError, millis};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use time::OffsetDateTime;

/// Readiness of the store's writes: the fault of a write that failed for a storage reason,
/// until a write that takes new space succeeds (see [`super::Store::writable`]).
#[derive(Debug, Default)]
pub(super) struct WriteHealth {
    /// Set while `failing` holds a fault: a write's success reads it only, so that the
    /// writes of a healthy store never take the lock.
    faulted: AtomicBool,
    failing: Mutex<Option<StorageFault>>,
    /// Held while a readiness probe runs: probes never pile up.
    pub(super) probing: tokio::sync::Mutex<()>,
}

impl WriteHealth {
    /// [`super::Store::note`]: only a fault, or the first success after one, takes the lock.
    pub(super) fn note<T, E: JobError>(&self, out: &Result<T, E>, took_space: bool) {
        let failing = match out {
            Ok(_) if took_space && self.faulted.load(Ordering::Acquire) => None,
            Err(e) if e.storage_fault().is_some() => e.storage_fault(),
            _ => return,
        };
        if let Ok(mut latest) = self.failing.lock() {
            *latest = failing;
            self.faulted.store(failing.is_some(), Ordering::Release);
        }
    }

    /// The fault of the latest write that failed for a storage reason, unless a write that
    /// took new space succeeded since.
    pub(super) fn fault(&self) -> Option<StorageFault> {
        if !self.faulted.load(Ordering::Acquire) {
            return None;
        }
        self.failing.lock().ok().and_then(|f| *f)
    }
}

/// The new space a readiness probe takes, and gives back in the same transaction.
const PROBE_BYTES: usize = 64 * 1024;

/// The probe's padding: [`PROBE_BYTES`] random bytes, which no compression shrinks
/// (PostgreSQL compresses a zero-filled `BYTEA` of 64 KiB to under 1 KiB, which would fit
/// in space already allocated on a full disk).
pub(super) fn probe_pad() -> Vec<u8> {
    let mut pad = vec![0; PROBE_BYTES];
    rand::Rng::fill(&mut rand::rng(), &mut pad[..]);
    pad
}

/// The readiness probe: a committed write that needs [`PROBE_BYTES`] of new space (a row of
/// `readiness_probe` under the probe's own id `pad_id`, inserted and deleted: instances
/// sharing a database never wait on each other's), and notes its time in row 1.
pub(super) fn probe(
    db: &Db<'_>,
    now: OffsetDateTime,
    pad_id: i64,
    pad: &[u8],
) -> Result<(), StoreError> {
    let at = millis(now);
    db.exec(
        "INSERT INTO readiness_probe (id, probed_at, pad) VALUES (?1, ?2, ?3)",
        args![pad_id, at, pad[..]],
    )?;
    db.exec("DELETE FROM readiness_probe WHERE id = ?1", args![pad_id])?;
    db.exec(
        "UPDATE readiness_probe SET probed_at = ?1 WHERE id = 1",
        args![at],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe's padding takes its full size on PostgreSQL too, which compresses a
    /// repetitive `BYTEA` (64 KiB of zeros is stored in under 1 KiB): random bytes, each
    /// value about as frequent as any other, no long run, and new ones for every probe.
    #[test]
    fn the_probe_pad_is_incompressible() {
        let pad = probe_pad();
        assert_eq!(pad.len(), PROBE_BYTES);
        let mut counts = [0usize; 256];
        for b in &pad {
            counts[usize::from(*b)] += 1;
        }
        let expected = PROBE_BYTES / 256;
        assert!(
            counts.iter().all(|&c| c > expected / 2 && c < expected * 2),
            "byte values far from uniform: {counts:?}"
        );
        let longest_run = pad
            .chunk_by(|a, b| a == b)
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0);
        assert!(longest_run < 16, "a run of {longest_run} equal bytes");
        assert_ne!(probe_pad(), pad, "every probe pads with new bytes");
    }

    /// A write's success on a healthy store takes no lock: it is noted while the lock is
    /// held elsewhere (here, by this very thread, which a lock would deadlock). A storage
    /// fault is kept until a write that took new space succeeds.
    #[test]
    fn a_success_on_a_healthy_store_takes_no_lock() {
        let health = WriteHealth::default();
        let ok: Result<(), StoreError> = Ok(());
        {
            let _held = health.failing.lock().unwrap();
            health.note(&ok, true);
            health.note(&ok, false);
        }
        assert_eq!(health.fault(), None);
        let full: Result<(), StoreError> =
            Err(StoreError::Storage(StorageFault::Full, "full".into()));
        health.note(&full, false);
        assert_eq!(health.fault(), Some(StorageFault::Full));
        health.note(&ok, false);
        assert_eq!(
            health.fault(),
            Some(StorageFault::Full),
            "an update in place"
        );
        health.note(&ok, true);
        assert_eq!(health.fault(), None);
        let _held = health.failing.lock().unwrap();
        health.note(&ok, true);
    }
}
