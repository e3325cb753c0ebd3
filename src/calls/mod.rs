//! The call's use cases, between the HTTP edge and the store: a webhook's ingest, and what
//! agents do with calls (claim, enter a tenant, go to a tenant, the active call).
//!
//! A use case takes what the edge parsed, decides (normalization and checks before the
//! store, the domain's rules and who may do what inside the write's transaction), has the
//! store read and write the rows, and returns what happened with one [`Effects`] value,
//! which [`Effects::apply`] carries out after the commit (outbox wake-ups, live events),
//! whatever the entry point. Nothing here knows HTTP: refusals are the domain's
//! [`crate::domain::refusal::Refusal`], inside [`crate::store::StoreError`].

mod agent;
mod batch;
mod effects;
mod intake;
mod legs;
mod written;

pub use agent::{Handled, active_call, last_call, screen_pop_of};
pub use batch::ingest_batch;
pub use effects::{ChangedCall, Effects};
pub use intake::{IngestError, Ingested, Webhook};

use crate::events::EventHub;
use crate::store::Store;
use callgate_adapters::kit::Clock;
use std::sync::Arc;
use tokio::sync::Notify;

/// What the use cases work with: the store, the clock, and where their effects go.
#[derive(Clone, Copy)]
pub struct Calls<'a> {
    pub store: &'a Store,
    pub clock: &'a Arc<dyn Clock>,
    /// The live event hub.
    pub events: &'a EventHub,
    /// Wakes the outbox worker.
    pub outbox: &'a Notify,
}

impl std::fmt::Debug for Calls<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls").finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod leg_tests;
