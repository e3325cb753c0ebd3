//! What a committed write sets off outside the store, as one value, applied by one function
//! whatever the entry point (a webhook, an agent's action, a feed, another instance's
//! signal).

use crate::events::{Change, EventHub};
use crate::store::calls::CallRow;
pub use crate::store::ingest::ChangedCall;
use tokio::sync::Notify;

/// The effects of a committed write: every write of a call returns one, and
/// [`Effects::apply`] carries it out once the write is durable.
#[derive(Debug, Default)]
#[must_use = "effects do nothing until applied"]
pub struct Effects {
    /// The write queued work for the outbox worker (a recording's deletion, an outbound
    /// webhook delivery): it is woken at once instead of at its next poll.
    pub wake_outbox: bool,
    /// Calls changed, as stored, in the order they changed: live subscribers hear of them.
    pub calls: Vec<ChangedCall>,
    /// Tenants whose hub counts (chats, web bookings) changed.
    pub hubs: Vec<String>,
}

impl Effects {
    /// The effects of one changed call.
    pub fn of_call(call: CallRow, recording_decided: bool, wake_outbox: bool) -> Self {
        Self {
            wake_outbox,
            calls: vec![ChangedCall {
                call,
                recording_decided,
                screen_pop: None,
            }],
            hubs: Vec::new(),
        }
    }

    /// The effects of a change of a tenant's hub counts.
    pub fn of_hub(tenant_id: String) -> Self {
        Self {
            hubs: vec![tenant_id],
            ..Self::default()
        }
    }

    /// Carries the effects out: the outbox worker is woken when work was queued, and live
    /// subscribers hear of each change (a call's `recording.decided` before its
    /// `call.updated`, and the screen pop of a call claimed by an agent's phone after it). Never waits.
    pub fn apply(self, events: &EventHub, outbox: &Notify) {
        if self.wake_outbox {
            outbox.notify_one();
        }
        for ChangedCall {
            call,
            recording_decided,
            screen_pop,
        } in self.calls
        {
            if recording_decided {
                events.publish(Change::RecordingDecided(Box::new(call.clone())));
            }
            events.publish(Change::CallUpdated(Box::new(call)));
            if let Some((user_id, pop)) = screen_pop {
                events.publish(Change::ScreenPop {
                    user_id,
                    screen_pop: Box::new(pop),
                });
            }
        }
        for tenant_id in self.hubs {
            events.publish(Change::HubUpdated { tenant_id });
        }
    }
}
