//! Users and their API tokens. A token is kept only as the SHA-256 of its value.

use super::StoreError;
use super::db::{Db, Dialect, Row, args};
use super::{Signal, from_millis, millis};
use crate::domain::identity;
use crate::domain::refusal::Refusal;
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
    /// The agent's identities at the telephony providers, in canonical form
    /// ([`identity::canonical`]), in the order given. Each belongs to this user only.
    pub identities: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The columns of a user (`u`), its identities last as a JSON array (or NULL for none on
/// PostgreSQL).
fn user_columns(db: &Db<'_>) -> String {
    let identities = match db.dialect() {
        Dialect::Sqlite => "json_group_array(i.identity ORDER BY i.position)",
        Dialect::Postgres => "json_agg(i.identity ORDER BY i.position)::text",
    };
    format!(
        "u.id, u.name, u.permissions, u.tenant_ids, u.created_at, u.updated_at,
         (SELECT {identities} FROM user_identities i WHERE i.user_id = u.id)"
    )
}

type RawUser = (String, String, String, String, i64, i64, Option<String>);

fn user_from_row(r: &Row<'_, '_>) -> Result<RawUser, StoreError> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn decode_user(
    (user_id, name, permissions, tenant_ids, created, updated, identities): RawUser,
) -> Result<User, StoreError> {
    let identities: Vec<String> = match identities {
        Some(json) => serde_json::from_str(&json)?,
        None => Vec::new(),
    };
    Ok(User {
        user_id,
        name,
        permissions: serde_json::from_str(&permissions)?,
        tenant_ids: serde_json::from_str(&tenant_ids)?,
        identities,
        created_at: from_millis(created),
        updated_at: from_millis(updated),
    })
}

pub fn get(db: &Db<'_>, user_id: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {} FROM users u WHERE u.id = ?1", user_columns(db));
    db.query_opt(&sql, args![user_id], user_from_row)?
        .map(decode_user)
        .transpose()
}

/// Every user, by id.
pub fn list(db: &Db<'_>) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {} FROM users u ORDER BY u.id", user_columns(db));
    db.query(&sql, args![], user_from_row)?
        .into_iter()
        .map(decode_user)
        .collect()
}

/// Inserts or replaces a user (its `created_at` is kept on replace) with its identities, and
/// tells other instances that its rights changed. An identity another user holds refuses
/// the write ([`Refusal::IdentityTaken`]); the caller's transaction then writes nothing.
pub fn put(db: &Db<'_>, u: &User) -> Result<(), StoreError> {
    db.exec("INSERT INTO users (id, name, permissions, tenant_ids, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = ?2, permissions = ?3, tenant_ids = ?4, updated_at = ?6", args![u.user_id, u.name, serde_json::to_string(&u.permissions)?, serde_json::to_string(&u.tenant_ids)?, millis(u.created_at), millis(u.updated_at)])?;
    set_identities(db, &u.user_id, &u.identities)?;
    db.announce(&Signal::Rights {
        user_id: u.user_id.clone(),
    })
}

/// Replaces the user's identities. The store's unique key on an identity decides between
/// two users naming it at once: a row another transaction holds is waited for, then the
/// insert does nothing, and the write is refused.
fn set_identities(db: &Db<'_>, user_id: &str, identities: &[String]) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM user_identities WHERE user_id = ?1",
        args![user_id],
    )?;
    for (position, identity) in (0_i64..).zip(identities) {
        let inserted = db.exec(
            "INSERT INTO user_identities (identity, user_id, position) VALUES (?1, ?2, ?3)
             ON CONFLICT (identity) DO NOTHING",
            args![identity, user_id, position],
        )?;
        if inserted == 0 {
            return Err(Refusal::IdentityTaken(identity.clone()).into());
        }
    }
    Ok(())
}

/// The user whose identity a leg's destination is, by its canonical form
/// ([`identity::canonical`]).
pub fn owner_of_identity(db: &Db<'_>, destination: &str) -> Result<Option<String>, StoreError> {
    db.query_opt(
        "SELECT user_id FROM user_identities WHERE identity = ?1",
        args![identity::canonical(destination)],
        |r| r.get(0),
    )
}

/// The user holding the unrevoked token whose SHA-256 is `hash`.
pub fn by_token_hash(db: &Db<'_>, hash: &[u8]) -> Result<Option<User>, StoreError> {
    let sql = format!(
        "SELECT {} FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.hash = ?1 AND t.revoked_at IS NULL",
        user_columns(db)
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
