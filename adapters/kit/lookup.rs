//! What a lookup of a call whose webhooks stopped is about ([`LookupTarget`]), what it may
//! need that is new each time ([`Fresh`]), and what a provider can be asked ([`Lookups`]):
//! the values [`crate::kit::Adapter::lookup_call`] and its kin exchange.

use time::OffsetDateTime;

/// What callgate can ask a provider's REST API about one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookups {
    /// Nothing: a call whose end webhook is lost ends after the maximum call duration, and
    /// only the recordings callgate heard of are deleted.
    None,
    /// The call's recordings can be listed, but the call itself not looked up.
    Recordings,
    /// The call can be looked up, but its recordings not listed: a recording whose webhook
    /// is lost stays unknown to callgate.
    Call,
    /// The call can be looked up, and its recordings listed.
    CallAndRecordings,
}

impl Lookups {
    /// Whether the call itself can be looked up.
    pub fn call(self) -> bool {
        matches!(self, Self::Call | Self::CallAndRecordings)
    }

    /// Whether the call's recordings can be listed.
    pub fn recordings(self) -> bool {
        matches!(self, Self::Recordings | Self::CallAndRecordings)
    }
}

/// What a described REST request may need that is new each time it is described: the time
/// and a random value. A provider whose API takes a short-lived token that callgate signs
/// (Vonage's application JWT: `iat`, a unique `jti`) reads them; the others ignore them. The
/// service draws them, so the adapter stays pure and a test can pin both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fresh {
    pub now: OffsetDateTime,
    pub nonce: [u8; 16],
}

/// The call a lookup asks about ([`crate::kit::Adapter::lookup_call`]): what the service knows of it and
/// of its customer's leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupTarget<'a> {
    /// The provider's id of the customer's call, as its events name it
    /// ([`crate::kit::CallEvent::call_id`]).
    pub call_id: &'a str,
    /// The provider's id of the customer's leg: on a call whose legs share a session, the
    /// leg the customer is on; else `call_id` itself.
    pub leg_id: &'a str,
    /// That leg's [`crate::kit::Leg::lookup_handle`], when its events gave one.
    pub handle: Option<&'a str>,
}

impl<'a> LookupTarget<'a> {
    /// A call of one leg, known by its own id, with no handle.
    pub fn call(call_id: &'a str) -> Self {
        Self {
            call_id,
            leg_id: call_id,
            handle: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_declaration_allows() {
        let rows = [
            (Lookups::None, false, false),
            (Lookups::Recordings, false, true),
            (Lookups::Call, true, false),
            (Lookups::CallAndRecordings, true, true),
        ];
        for (lookups, call, recordings) in rows {
            assert_eq!(
                (lookups.call(), lookups.recordings()),
                (call, recordings),
                "{lookups:?}"
            );
        }
    }
}
