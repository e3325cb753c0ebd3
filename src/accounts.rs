//! Changes to users and their tokens, each with its audit entry, in one store transaction:
//! what the API (`/api/v1/users`) and the CLI (`callgate user`) share. `reach` refuses a user
//! beyond the actor's reach (the API's managers); the CLI's actor reaches every user.

use crate::error::AppError;
use crate::store::Db;
use crate::store::audit;
use crate::store::users::{self as rows, Revoked, TokenInfo, User};
use crate::users::{self as input, UserSpec};
use serde_json::json;
use time::OffsetDateTime;

/// Whether the actor may change a user (`Err` refuses).
pub type Reach<'a> = &'a dyn Fn(&User) -> Result<(), AppError>;

/// What [`put_user`] did.
#[derive(Debug)]
pub struct Put {
    pub user: User,
    pub created: bool,
    /// False when the user was already as specified (nothing written, nothing audited).
    pub changed: bool,
}

/// Creates or replaces a user.
pub fn put_user(
    db: &Db<'_>,
    spec: UserSpec,
    actor: &str,
    now: OffsetDateTime,
    reach: Reach<'_>,
) -> Result<Put, AppError> {
    let before = rows::get(db, &spec.user_id)?;
    if let Some(b) = &before {
        reach(b)?;
    }
    let next = input::apply(spec, before.as_ref(), now);
    let created = before.is_none();
    match input::change(before.as_ref(), &next) {
        Some((action, detail)) => {
            rows::put(db, &next)?;
            audit::record(db, now, actor, action, None, None, &detail)?;
            Ok(Put {
                user: next,
                created,
                changed: true,
            })
        }
        // Nothing changed (so the user existed): it stays as it was.
        None => Ok(Put {
            user: before.unwrap_or(next),
            created,
            changed: false,
        }),
    }
}

/// The user, or 404.
pub fn existing(db: &Db<'_>, user_id: &str) -> Result<User, AppError> {
    rows::get(db, user_id)?.ok_or_else(|| AppError::not_found("user_not_found", "no such user"))
}

/// Stores a new token of the user (its hash only), within the active tokens' bound.
pub fn add_token(
    db: &Db<'_>,
    user_id: &str,
    token: (&str, &[u8; 32]),
    actor: &str,
    now: OffsetDateTime,
    reach: Reach<'_>,
) -> Result<TokenInfo, AppError> {
    reach(&existing(db, user_id)?)?;
    if rows::active_tokens(db, user_id)? >= input::MAX_ACTIVE_TOKENS {
        return Err(AppError::conflict(
            "too_many_tokens",
            format!(
                "the user has {} tokens: revoke one first",
                input::MAX_ACTIVE_TOKENS
            ),
        ));
    }
    let (token_id, hash) = token;
    let info = TokenInfo {
        token_id: token_id.to_owned(),
        user_id: user_id.to_owned(),
        created_at: now,
        created_by: actor.to_owned(),
        revoked_at: None,
    };
    rows::insert_token(db, &info, hash)?;
    let detail = json!({ "user_id": info.user_id, "token_id": info.token_id });
    audit::record(db, now, actor, "token.created", None, None, &detail)?;
    Ok(info)
}

/// Revokes a token: true when it was active until now, false when it already was revoked.
pub fn revoke_token(
    db: &Db<'_>,
    user_id: &str,
    token_id: &str,
    actor: &str,
    now: OffsetDateTime,
    reach: Reach<'_>,
) -> Result<bool, AppError> {
    reach(&existing(db, user_id)?)?;
    match rows::revoke_token(db, user_id, token_id, now)? {
        Revoked::NoSuchToken => Err(AppError::not_found(
            "token_not_found",
            "the user has no token with this id",
        )),
        Revoked::Already => Ok(false),
        Revoked::Now => {
            let detail = json!({ "user_id": user_id, "token_id": token_id });
            audit::record(db, now, actor, "token.revoked", None, None, &detail)?;
            Ok(true)
        }
    }
}
