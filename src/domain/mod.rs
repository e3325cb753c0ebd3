//! The pure core: call state as a fold, the recording gate, numbers, agent identities, screen
//! pops and chat thread counts.
//! Nothing here does I/O or reads the wall clock.

pub mod call;
pub mod chat;
pub mod gate;
pub mod identity;
pub mod numbers;
pub mod refusal;
pub mod screen_pop;

pub use call::{CallFold, Selection};
pub use gate::{RecordingStatus, TenantOutcome, TenantStatus, TenantVia};
pub use numbers::{NumberKind, Resolution};

#[cfg(test)]
mod reconcile_tests;
#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
pub(crate) mod leg_tests;
