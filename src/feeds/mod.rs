//! The use cases of the tenants' feeds that agents act on: a chat thread's actions (mark read
//! or unread, close, block as spam) and marking a web booking booked.
//!
//! As in [`crate::calls`], a use case decides who may do what with [`Viewer`] inside the
//! write's transaction, refuses with a [`Refusal`] (which the edge maps to a status), has the
//! store read and write the rows, and applies its [`Effects`] once the write is durable.
//! Thread and booking ids are each tenant's own: an agent names one by its id, and by its
//! tenant only when several of the tenants it sees use the id.

mod bookings;
mod chats;

use crate::access::Viewer;
use crate::calls::Effects;
use crate::domain::refusal::Refusal;
use crate::events::EventHub;
use crate::store::{Db, Store, StoreError};
use callgate_adapters::kit::Clock;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::Notify;

/// What the feeds' use cases work with: the store, the clock, and where their effects go.
#[derive(Clone, Copy)]
pub struct Feeds<'a> {
    pub store: &'a Store,
    pub clock: &'a Arc<dyn Clock>,
    /// The live event hub.
    pub events: &'a EventHub,
    /// Wakes the outbox worker.
    pub outbox: &'a Notify,
}

impl std::fmt::Debug for Feeds<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feeds").finish_non_exhaustive()
    }
}

/// A thread or booking as an agent names it: its id, and the tenant it means when several of
/// its tenants use that id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub tenant: Option<String>,
}

impl Feeds<'_> {
    /// Runs an agent's action in a write of its own, at the time the store runs it, then
    /// tells live subscribers that the tenant's hub counts changed.
    async fn act<T, F>(&self, action: F) -> Result<T, StoreError>
    where
        T: OfTenant + Send + 'static,
        F: Fn(&Db<'_>, OffsetDateTime) -> Result<T, StoreError> + Send + 'static,
    {
        let clock = self.clock.clone();
        let done = self.store.write(move |db| action(db, clock.now())).await?;
        Effects::of_hub(done.tenant_id().to_owned()).apply(self.events, self.outbox);
        Ok(done)
    }
}

/// A row that belongs to one tenant.
trait OfTenant {
    fn tenant_id(&self) -> &str;
}

/// The one row among `found` (rows sharing an id across tenants) that the viewer means: of a
/// tenant it sees, and of `named.tenant` when it names one. None is `not_found`, as for an
/// unknown id, so that no answer tells a row of another tenant exists; several are
/// `ambiguous_id`.
fn one_visible<T: OfTenant>(
    found: Vec<T>,
    viewer: &Viewer,
    named: &Named,
    not_found: Refusal,
    what: &'static str,
) -> Result<T, Refusal> {
    let mut mine: Vec<T> = found
        .into_iter()
        .filter(|r| {
            let tenant = r.tenant_id();
            viewer.tenants.contains(tenant) && named.tenant.as_deref().is_none_or(|t| t == tenant)
        })
        .collect();
    match mine.len() {
        0 => Err(not_found),
        1 => Ok(mine.remove(0)),
        _ => Err(Refusal::AmbiguousId(what)),
    }
}

#[cfg(test)]
mod tests;
