//! Which call a webhook's event belongs to, and the agent whose phone answered it.
//!
//! An event names its call by itself (`CallEvent::call_id`: the parent its leg names, the
//! session its legs share, or its own id). An event about a leg that names no other call (a
//! recording's callback on an agent's leg) is found by the leg's id, once the leg is known
//! as another call's. When an agent's leg is answered by one of a user's identities, the
//! call is claimed for that user, as the phone tells.

use super::agent::screen_pop_of;
use crate::domain::screen_pop::ScreenPop;
use crate::store::calls::{self as rows, CallKey, CallRow};
use crate::store::ingest::Delivery;
use crate::store::legs::{self, LegKey};
use crate::store::{Db, StoreError, audit, users};
use callgate_adapters::kit::{CallEvent, CallProgress, EventKind, LegRole};
use std::borrow::Cow;
use std::collections::HashMap;
use time::OffsetDateTime;

/// The calls of a batch's events.
#[derive(Debug, Default)]
pub(super) struct Routing<'d> {
    /// Legs known as another call's, by that call's own provider id.
    owners: HashMap<LegKey<'d>, String>,
}

impl<'d> Routing<'d> {
    /// Looks up the legs of the events of `deliveries` that name no other call: such a leg
    /// may be known as another call's.
    pub fn find(
        db: &Db<'_>,
        deliveries: impl Iterator<Item = &'d Delivery>,
    ) -> Result<Self, StoreError> {
        let mut unknown: Vec<LegKey<'d>> = deliveries
            .flat_map(|d| d.events.iter().map(move |e| (d, e)))
            .filter(|(_, e)| names_itself(e))
            .map(|(d, e)| (e.provider_call_id.as_str(), d.connection_id.as_str()))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        Ok(Self {
            owners: legs::owners(db, &unknown)?,
        })
    }

    /// The call `event` (one of `delivery`'s) belongs to.
    pub fn key<'a>(&'a self, delivery: &'a Delivery, event: &'a CallEvent) -> CallKey<'a> {
        let mut key = delivery.call_key(event);
        if let Some(owner) = self.owner(delivery, event) {
            key.provider_call_id = owner;
        }
        key
    }

    /// The event as its call folds it: a leg known as another call's is that call's leg.
    pub fn event<'a>(&'a self, delivery: &'a Delivery, event: &'a CallEvent) -> Cow<'a, CallEvent> {
        match self.owner(delivery, event) {
            None => Cow::Borrowed(event),
            Some(owner) => {
                let mut e = event.clone();
                e.leg.parent_call_id = Some(owner.to_owned());
                Cow::Owned(e)
            }
        }
    }

    fn owner<'a>(&'a self, delivery: &'a Delivery, event: &'a CallEvent) -> Option<&'a str> {
        let owners: &HashMap<LegKey<'a>, String> = &self.owners;
        if owners.is_empty() || !names_itself(event) {
            return None;
        }
        owners
            .get(&(
                event.provider_call_id.as_str(),
                delivery.connection_id.as_str(),
            ))
            .map(String::as_str)
    }
}

/// True for an event that names no call but its own leg's (no parent, and no session, or
/// the leg's own id as its session).
fn names_itself(event: &CallEvent) -> bool {
    event.provider_call_id == event.call_id()
}

/// Records the legs of new events that are not their calls' own ids, so that later events
/// naming only the leg find the call.
pub(super) fn record_legs(
    db: &Db<'_>,
    new: &[(&CallEvent, &str, &CallRow)],
) -> Result<(), StoreError> {
    let mut found: Vec<(LegKey<'_>, i64)> = new
        .iter()
        .filter(|(e, _, call)| e.provider_call_id != call.provider_call_id)
        .map(|(e, connection, call)| ((e.provider_call_id.as_str(), *connection), call.seq))
        .collect();
    found.sort_unstable();
    found.dedup();
    legs::record(db, &found)
}

/// An agent's leg answered: the identity that answered it, if the event says so.
pub(super) fn answered_identity(event: &CallEvent) -> Option<&str> {
    let answered = matches!(
        event.kind,
        EventKind::Call {
            progress: CallProgress::Answered
        }
    );
    // Any leg but one the provider calls the customer's: an agent's, a transfer answered by
    // an agent, or the call itself where the provider names the agent on it (Amazon
    // Connect's contact connected to an agent).
    let agent_leg = event.leg.role != Some(LegRole::Customer);
    (answered && agent_leg)
        .then_some(event.leg.agent_identity.as_deref())
        .flatten()
}

/// Claims the call for the user whose identity answered its agent leg `leg_id`: the phone
/// is the truth, so a call the user still held is released first, and the call is taken
/// from another agent who held it. Nothing happens once the call has ended, or when the
/// identity is no user's (counted). Returns the user and their screen pop.
pub(super) fn claim_answered(
    db: &Db<'_>,
    call: &mut CallRow,
    leg_id: &str,
    identity: &str,
    now: OffsetDateTime,
) -> Result<Option<(String, ScreenPop)>, StoreError> {
    if call.fold.has_ended() {
        return Ok(None);
    }
    let Some(user) = users::owner_of_identity(db, identity)? else {
        crate::telemetry::agent_identity_unmatched();
        return Ok(None);
    };
    if let Some(leg) = call.fold.legs.get_mut(leg_id) {
        // Answered by a user's phone: an agent's leg, whatever the provider could tell.
        leg.agent_id = Some(user.clone());
        leg.role = Some(LegRole::Agent);
    }
    if let Some(held) = rows::lock_agent(db, &user)?
        && held != call.id
    {
        release(db, &held, &user)?;
    }
    rows::set_active_call(db, &user, &call.id)?;
    if call.agent_id.as_deref() != Some(user.as_str()) {
        call.agent_id = Some(user.clone());
        audit::record(
            db,
            now,
            &user,
            "call.claimed",
            Some(&call.id),
            call.tenant().tenant_id.as_deref(),
            &serde_json::json!({ "answered_by": "phone" }),
        )?;
    }
    let pop = screen_pop_of(db, call)?;
    Ok(Some((user, pop)))
}

/// The user no longer holds the call `call_id` (another call rang their phone).
fn release(db: &Db<'_>, call_id: &str, user: &str) -> Result<(), StoreError> {
    if let Some(mut held) = rows::get_for_update(db, call_id)?
        && held.agent_id.as_deref() == Some(user)
        && !held.fold.has_ended()
    {
        held.agent_id = None;
        rows::set_agent(db, &held)?;
    }
    Ok(())
}
