//! The HTTP API of the contract.

mod calls;
mod connections;
mod directory;
mod feeds;
mod hub;
mod ops;

use super::AppState;
use axum::Router;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .merge(ops::routes())
        .merge(connections::routes())
        .merge(directory::routes())
        .merge(calls::routes())
        .merge(feeds::routes())
        .merge(hub::routes())
}

/// Ids in paths: letters, digits, `.`, `_`, `-`, at most 64.
pub(crate) fn check_id(kind: &'static str, id: &str) -> Result<(), crate::error::AppError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(crate::error::AppError::bad_request(
            "invalid_id",
            format!("{kind} must be 1-64 letters, digits, '.', '_' or '-'"),
        ))
    }
}
