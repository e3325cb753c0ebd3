//! The domain's refusals: what an agent's action, a feed or a lookup is refused for, as a
//! type. The rules are checked against the stored rows (in the store's transaction); the
//! HTTP edge maps each refusal to its status and error code in one place
//! (`impl From<Refusal> for AppError`, `src/error.rs`).

use super::chat::ActionRefused;

/// Why a request was refused, with what the caller is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No call with this id, or one the caller does not see (told alike).
    #[error("no such call")]
    CallNotFound,
    /// The call has ended: it can no longer be claimed.
    #[error("the call has ended")]
    CallEnded,
    /// The call has ended: a tenant can no longer be selected for it.
    #[error(
        "the call has ended: a tenant can no longer be selected, and its recording is not kept"
    )]
    CallEndedBeforeSelection,
    /// National search is off: agents do not select tenants.
    #[error(
        "national search is off (mode none): national and regional calls are not resolved by an agent, they end unresolved"
    )]
    TenantSelectionDisabled,
    /// No tenant with this id (named in the message when the caller chose it for a call).
    #[error("{}", .0.as_ref().map_or_else(|| "no such tenant".to_owned(), |id| format!("no tenant {id}")))]
    TenantNotFound(Option<String>),
    /// The tenant exists but is not among the agent's.
    #[error("this tenant is not among the tenants assigned to you")]
    TenantNotAssigned,
    /// The call's regional number does not serve the tenant.
    #[error("this regional number does not serve that tenant")]
    TenantNotServed,
    /// The call has no tenant yet: there is no tenant to go to.
    #[error("the call has no tenant yet: find and enter one first")]
    NoTenant,
    /// Another agent has claimed the call.
    #[error("another agent has claimed this call")]
    CallClaimed,
    /// Another agent holds the call: only that agent, or a manager, changes its tenant.
    #[error(
        "another agent has claimed this call: only that agent, or a manager, may enter its tenant"
    )]
    ClaimedByAnotherAgent,
    /// The agent already has another active call.
    #[error("the agent already has an active call")]
    AgentBusy,
    /// No chat thread with this id among the caller's tenants.
    #[error("no such chat thread")]
    ThreadNotFound,
    /// No web booking with this id among the caller's tenants.
    #[error("no such web booking")]
    BookingNotFound,
    /// Several tenants the caller sees use the id (of a `what`).
    #[error("several of your tenants have a {0} with this id: name one with ?tenant_id=")]
    AmbiguousId(&'static str),
    /// A booking id received before with other details.
    #[error("booking {0} was already received with different details")]
    BookingIdConflict(String),
    /// A message id used before for another message.
    #[error("message_id {0:?} was already used for a different message")]
    MessageIdReused(String),
    /// An action on a chat thread its counts refuse.
    #[error("{}", thread_action_message(*.0))]
    ThreadAction(ActionRefused),
    /// Another user holds the identity (named, in canonical form; the user is not).
    #[error("the identity {0:?} belongs to another user")]
    IdentityTaken(String),
    /// Text holding a NUL character: no store keeps it alike (PostgreSQL refuses it).
    #[error("text values must not contain NUL characters")]
    NulCharacter,
}

fn thread_action_message(r: ActionRefused) -> &'static str {
    match r {
        ActionRefused::ThreadIsSpam => {
            "the thread's sender is blocked as spam: the thread is out of the counts"
        }
        ActionRefused::NoCustomer => {
            "the thread has no inbound message yet: there is no sender to block"
        }
    }
}
