//! The shape of the ids callers choose (tenants, users, chat threads, ...): checked where
//! they enter, by the HTTP edge and by the layers that take ids from elsewhere (the tenant
//! directory's feed, user records).

use crate::error::AppError;

/// Ids in paths: letters, digits, `.`, `_`, `-`, at most 64.
pub fn check_id(kind: &'static str, id: &str) -> Result<(), AppError> {
    check_chars(kind, id, 64, b"._-", "letters, digits, '.', '_' or '-'")
}

/// User ids: as [`check_id`], and `@` too (an e-mail address is a common user id), at most
/// 128.
pub fn check_user_ref(id: &str) -> Result<(), AppError> {
    check_chars(
        "user id",
        id,
        128,
        b"._-@",
        "letters, digits, '.', '_', '-' or '@'",
    )
}

fn check_chars(
    kind: &'static str,
    id: &str,
    max: usize,
    punctuation: &[u8],
    allowed: &str,
) -> Result<(), AppError> {
    let ok = !id.is_empty()
        && id.len() <= max
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || punctuation.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "invalid_id",
            format!("{kind} must be 1-{max} {allowed}"),
        ))
    }
}
