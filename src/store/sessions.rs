//! Web console sessions: rows keyed by the SHA-256 of the session id, each standing for the
//! API token it was signed in with. The session id itself is never stored.

use super::StoreError;
use super::db::{Db, args};
use super::{from_millis, millis};
use time::OffsetDateTime;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The SHA-256 of the token it was signed in with.
    pub token_hash: [u8; 32],
    pub user_id: String,
    pub seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A new session's row. Expired sessions are deleted on the way, so the table holds only
/// sessions that may still be used (and those of people who left without signing out, until
/// the next sign-in after their end).
pub fn insert(
    db: &Db<'_>,
    id_hash: &[u8; 32],
    session: &Session,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM console_sessions WHERE expires_at <= ?1",
        args![millis(now)],
    )?;
    db.exec(
        "INSERT INTO console_sessions (id_hash, token_hash, user_id, created_at, seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
        args![
            id_hash,
            session.token_hash,
            session.user_id,
            millis(now),
            millis(session.expires_at)
        ],
    )?;
    Ok(())
}

/// The session whose id hashes to `id_hash`, if it has not reached its absolute end.
/// Idle expiry is the caller's rule (it knows the idle limit).
pub fn get(
    db: &Db<'_>,
    id_hash: &[u8; 32],
    now: OffsetDateTime,
) -> Result<Option<Session>, StoreError> {
    let row: Option<(Vec<u8>, String, i64, i64)> = db.query_opt(
        "SELECT token_hash, user_id, seen_at, expires_at FROM console_sessions
         WHERE id_hash = ?1 AND expires_at > ?2",
        args![id_hash, millis(now)],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(row.and_then(|(token, user_id, seen, expires)| {
        Some(Session {
            token_hash: token.try_into().ok()?,
            user_id,
            seen_at: from_millis(seen),
            expires_at: from_millis(expires),
        })
    }))
}

/// Records activity on a session (for idle expiry).
pub fn touch(db: &Db<'_>, id_hash: &[u8; 32], now: OffsetDateTime) -> Result<(), StoreError> {
    db.exec(
        "UPDATE console_sessions SET seen_at = ?2 WHERE id_hash = ?1",
        args![id_hash, millis(now)],
    )?;
    Ok(())
}

/// Ends one session (sign-out, or found expired).
pub fn delete(db: &Db<'_>, id_hash: &[u8; 32]) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM console_sessions WHERE id_hash = ?1",
        args![id_hash],
    )?;
    Ok(())
}
