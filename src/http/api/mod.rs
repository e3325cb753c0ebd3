//! The HTTP API of the contract.

mod audit;
pub(crate) mod calls;
mod connections;
pub(crate) mod deletions;
pub(crate) mod directory;
mod events;
mod feeds;
pub(crate) mod hub;
pub(crate) mod ops;
pub(crate) mod privacy;
pub(crate) mod subscriptions;
pub(crate) mod users;
pub(crate) mod webhook_log;

use super::AppState;
use crate::error::AppError;
pub(crate) use crate::ids::{check_id, check_user_ref};
use axum::Router;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .merge(ops::routes())
        .merge(connections::routes())
        .merge(directory::routes())
        .merge(calls::routes())
        .merge(events::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(feeds::routes())
        .merge(hub::routes())
        .merge(subscriptions::routes())
        .merge(privacy::routes())
        .merge(webhook_log::routes())
        .merge(deletions::routes())
}

/// A page of a listing, from the `limit` and `cursor` query parameters: 1-1000 items
/// (default 100), older than the cursor, an id this API returned as `next_cursor`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    pub limit: usize,
    /// Only items whose id is below this.
    pub before: Option<i64>,
}

impl Page {
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, AppError> {
        let limit = match limit {
            None => 100,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=1000).contains(l))
                .ok_or_else(|| {
                    AppError::bad_request("invalid_limit", "limit must be between 1 and 1000")
                })?,
        };
        let before = match cursor {
            None | Some("") => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                AppError::bad_request("invalid_cursor", "cursor is not one this API returned")
            })?),
        };
        Ok(Self { limit, before })
    }

    /// The cursor of the next page: the last id of a full page, `None` after the last page.
    pub fn next_cursor(&self, ids: impl Iterator<Item = i64>) -> Option<String> {
        let (count, last) = ids.fold((0, None), |(n, _), id| (n + 1, Some(id)));
        (count == self.limit)
            .then_some(last)
            .flatten()
            .map(|id| id.to_string())
    }
}
