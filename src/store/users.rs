//! Users and their API tokens. A token is kept only as the SHA-256 of its value.

use super::StoreError;
use super::db::{Db, Row, args};
use super::{Signal, from_millis, millis};
use serde::Serialize;
use time::OffsetDateTime;

/// A user: an agent, a manager, an ops person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub user_id: String,
    pub name: String,
    /// Permission names, sorted, without duplicates.
    pub permissions: Vec<String>,
    /// The tenants the user sees, sorted, without duplicates. They may name tenants the
    /// directory does not list (yet).
    pub tenant_ids: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

const USER_COLUMNS: &str = "u.id, u.name, u.permissions, u.tenant_ids, u.created_at, u.updated_at";

type RawUser = (String, String, String, String, i64, i64);

fn user_from_row(r: &Row<'_, '_>) -> Result<RawUser, StoreError> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn decode_user(
    (user_id, name, permissions, tenant_ids, created, updated): RawUser,
) -> Result<User, StoreError> {
    Ok(User {
        user_id,
        name,
        permissions: serde_json::from_str(&permissions)?,
        tenant_ids: serde_json::from_str(&tenant_ids)?,
        created_at: from_millis(created),
        updated_at: from_millis(updated),
    })
}

pub fn get(db: &Db<'_>, user_id: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
    db.query_opt(&sql, args![user_id], user_from_row)?
        .map(decode_user)
        .transpose()
}

/// Every user, by id.
pub fn list(db: &Db<'_>) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id");
    db.query(&sql, args![], user_from_row)?
        .into_iter()
        .map(decode_user)
        .collect()
}

/// Inserts or replaces a user (its `created_at` is kept on replace), and tells other
/// instances that its rights changed.
pub fn put(db: &Db<'_>, u: &User) -> Result<(), StoreError> {
    db.exec("INSERT INTO users (id, name, permissions, tenant_ids, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = ?2, permissions = ?3, tenant_ids = ?4, updated_at = ?6", args![u.user_id, u.name, serde_json::to_string(&u.permissions)?, serde_json::to_string(&u.tenant_ids)?, millis(u.created_at), millis(u.updated_at)])?;
    db.announce(&Signal::Rights {
        user_id: u.user_id.clone(),
    })
}

/// The user holding the unrevoked token whose SHA-256 is `hash`.
pub fn by_token_hash(db: &Db<'_>, hash: &[u8]) -> Result<Option<User>, StoreError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.hash = ?1 AND t.revoked_at IS NULL"
    );
    db.query_opt(&sql, args![hash], user_from_row)?
        .map(decode_user)
        .transpose()
}

/// A token as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub token_id: String,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The principal that created it.
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// Stores a new token by the hash of its value.
pub fn insert_token(db: &Db<'_>, t: &TokenInfo, hash: &[u8]) -> Result<(), StoreError> {
    db.exec("INSERT INTO tokens (id, user_id, hash, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)", args![t.token_id, t.user_id, hash, millis(t.created_at), t.created_by])?;
    Ok(())
}

/// How many unrevoked tokens the user has.
pub fn active_tokens(db: &Db<'_>, user_id: &str) -> Result<i64, StoreError> {
    db.query_one(
        "SELECT COUNT(*) FROM tokens WHERE user_id = ?1 AND revoked_at IS NULL",
        args![user_id],
        |r| r.get(0),
    )
}

/// The user's tokens, oldest first, revoked ones included.
pub fn tokens_of(db: &Db<'_>, user_id: &str) -> Result<Vec<TokenInfo>, StoreError> {
    db.query(
        "SELECT id, user_id, created_at, created_by, revoked_at FROM tokens
         WHERE user_id = ?1 ORDER BY created_at, id",
        args![user_id],
        |r| {
            Ok(TokenInfo {
                token_id: r.get(0)?,
                user_id: r.get(1)?,
                created_at: from_millis(r.get(2)?),
                created_by: r.get(3)?,
                revoked_at: r.get::<Option<i64>>(4)?.map(from_millis),
            })
        },
    )
}

/// What revoking a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// The user has no token with this id.
    NoSuchToken,
    /// The token was revoked just now.
    Now,
    /// The token had been revoked before.
    Already,
}

/// Revokes one of the user's tokens: it stops authenticating at once, and the console
/// sessions signed in with it end.
pub fn revoke_token(
    db: &Db<'_>,
    user_id: &str,
    token_id: &str,
    now: OffsetDateTime,
) -> Result<Revoked, StoreError> {
    let revoked_at: Option<Option<i64>> = db.query_opt(
        "SELECT revoked_at FROM tokens WHERE id = ?1 AND user_id = ?2",
        args![token_id, user_id],
        |r| r.get(0),
    )?;
    match revoked_at {
        None => Ok(Revoked::NoSuchToken),
        Some(Some(_)) => Ok(Revoked::Already),
        Some(None) => {
            db.exec(
                "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2",
                args![millis(now), token_id],
            )?;
            // Its console sessions end with it (they would be refused anyway, as each
            // request checks the token again).
            db.exec(
                "DELETE FROM console_sessions
                 WHERE token_hash = (SELECT hash FROM tokens WHERE id = ?1)",
                args![token_id],
            )?;
            db.announce(&Signal::Rights {
                user_id: user_id.to_owned(),
            })?;
            Ok(Revoked::Now)
        }
    }
}
