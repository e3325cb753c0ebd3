//! How a store records the migrations it has applied, on both backends alike.
//!
//! Migration N is the same change on both backends (`migrations/sqlite/000N_*.sql` and
//! `migrations/postgres/000N_*.sql`, one of them a comment only where that backend needs
//! nothing). A store records the number of the last migration it applied, as
//! [`NUMBERED`] + N, in its counter (SQLite's `PRAGMA user_version`, PostgreSQL's
//! `callgate_schema.version`).
//!
//! Stores made before the numbers were shared counted the migrations each backend then had
//! (a count below [`NUMBERED`]): such a count is read through that backend's former order
//! ([`SQLITE_BEFORE`], [`POSTGRES_BEFORE`]), so that nothing already applied runs again and
//! nothing is skipped. A build from before cannot mistake the new counter for one of its
//! counts: it finds a version beyond the migrations it knows and refuses to open the store.

use super::StoreError;

/// The counter of a store whose migrations are numbered alike on both backends.
pub(super) const NUMBERED: i64 = 1000;

/// The shared numbers of the embedded store's migrations, in the order it counted them
/// before the numbers were shared (`0001_init` to `0011_user_identities`).
pub(super) const SQLITE_BEFORE: &[usize] = &[1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12];

/// The same for PostgreSQL (`0001_init` to `0009_user_identities`): its first migration was
/// the embedded store's first four.
pub(super) const POSTGRES_BEFORE: &[usize] = &[4, 5, 6, 7, 8, 9, 10, 11, 12];

/// The number of the last migration a store applied, from its counter; `before`, the
/// backend's former order, reads a count from before the numbers were shared. `known`: how
/// many migrations this build has.
pub(super) fn applied(counter: i64, before: &[usize], known: usize) -> Result<usize, StoreError> {
    let newer = |n: i64| {
        StoreError::Internal(format!(
            "the store is at schema version {n}, newer than this build knows ({known})"
        ))
    };
    let last = if counter >= NUMBERED {
        usize::try_from(counter - NUMBERED).map_err(|_| newer(counter))?
    } else {
        match usize::try_from(counter) {
            Ok(0) => 0,
            Ok(count) => *before.get(count - 1).ok_or_else(|| newer(counter))?,
            Err(_) => return Err(StoreError::Internal(format!("schema version {counter}"))),
        }
    };
    if last > known {
        return Err(newer(counter));
    }
    Ok(last)
}

/// The counter of a store whose last applied migration is `number`.
pub(super) fn counter(number: usize) -> i64 {
    NUMBERED + i64::try_from(number).unwrap_or(i64::MAX - NUMBERED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_before_map_to_the_shared_numbers() {
        assert_eq!(applied(0, SQLITE_BEFORE, 12).unwrap(), 0);
        assert_eq!(applied(6, SQLITE_BEFORE, 12).unwrap(), 6);
        assert_eq!(applied(7, SQLITE_BEFORE, 12).unwrap(), 8);
        assert_eq!(applied(11, SQLITE_BEFORE, 12).unwrap(), 12);
        assert_eq!(applied(1, POSTGRES_BEFORE, 12).unwrap(), 4);
        assert_eq!(applied(9, POSTGRES_BEFORE, 12).unwrap(), 12);
        assert_eq!(applied(counter(7), SQLITE_BEFORE, 12).unwrap(), 7);
        assert_eq!(applied(counter(0), POSTGRES_BEFORE, 12).unwrap(), 0);
    }

    #[test]
    fn a_store_newer_than_the_build_is_refused() {
        assert!(applied(12, SQLITE_BEFORE, 12).is_err());
        assert!(applied(10, POSTGRES_BEFORE, 12).is_err());
        assert!(applied(counter(13), SQLITE_BEFORE, 12).is_err());
        assert!(applied(-1, SQLITE_BEFORE, 12).is_err());
    }
}
