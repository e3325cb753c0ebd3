//! Call state as a pure, order-independent fold.
//!
//! Every field merges with a commutative, associative, idempotent rule (a join
//! semilattice): progress takes the highest rank, start and answer times the earliest, end
//! times the latest, identity fields come from the earliest event that carries them. So any
//! permutation of the same deliveries, with any duplicates, yields the same [`CallFold`].

use callgate_adapters::kit::{
    CallEvent, CallProgress, Direction, EventKind, LegRole, LookupTarget, RecordingEvent,
    RecordingProgress, RoutingReason,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// The rank of a call progress: state only ever moves to a higher rank. Terminal states are
/// ordered too, so that two contradicting terminal reports still fold deterministically;
/// `completed` (the call was answered) wins over every other ending.
pub fn progress_rank(p: CallProgress) -> u8 {
    match p {
        CallProgress::Initiated => 0,
        CallProgress::Ringing => 1,
        CallProgress::Answered => 2,
        CallProgress::Canceled => 3,
        CallProgress::NoAnswer => 4,
        CallProgress::Busy => 5,
        CallProgress::Failed => 6,
        CallProgress::Completed => 7,
    }
}

fn recording_rank(p: RecordingProgress) -> u8 {
    match p {
        RecordingProgress::InProgress => 0,
        RecordingProgress::Absent => 1,
        RecordingProgress::Failed => 2,
        RecordingProgress::Completed => 3,
    }
}

/// The contract's name of a call state.
pub fn state_name(p: CallProgress) -> &'static str {
    match p {
        CallProgress::Initiated => "initiated",
        CallProgress::Ringing => "ringing",
        CallProgress::Answered => "in_progress",
        CallProgress::Completed => "completed",
        CallProgress::Busy => "busy",
        CallProgress::NoAnswer => "no_answer",
        CallProgress::Failed => "failed",
        CallProgress::Canceled => "canceled",
    }
}

/// Order key of an event: its time, then a stable hash of its dedupe key (unique per call;
/// a hash keeps stored calls small, and only breaks ties between events of the same instant).
pub type EventKey = (OffsetDateTime, u64);

/// FNV-1a, 64 bits: stable across versions and platforms (it is stored).
pub fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A value chosen from the earliest event that carried one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earliest<T> {
    pub value: T,
    #[serde(with = "time::serde::timestamp::milliseconds_i64")]
    at: OffsetDateTime,
    key: u64,
}

impl<T: Clone> Earliest<T> {
    fn merge(slot: &mut Option<Self>, value: Option<&T>, key: &EventKey) {
        let Some(value) = value else { return };
        let newer_wins = match slot {
            None => true,
            Some(cur) => *key < (cur.at, cur.key),
        };
        if newer_wins {
            *slot = Some(Self {
                value: value.clone(),
                at: key.0,
                key: key.1,
            });
        }
    }
}

/// What is known of one recording of the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingFold {
    pub status: RecordingProgress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Earliest<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u64>,
}

impl RecordingFold {
    /// Media exists (or will) at the provider.
    pub fn exists(&self) -> bool {
        matches!(
            self.status,
            RecordingProgress::InProgress | RecordingProgress::Completed
        )
    }
}

/// Who ended a call: the provider's own webhook, the answer of a lookup at the provider's
/// API, or callgate, once the call outlived the maximum call duration unanswered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    Provider,
    Reconciled,
    TimedOut,
}

impl EndedBy {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Reconciled => "reconciled",
            Self::TimedOut => "timed_out",
        }
    }
}

/// The first recorded end of a call, and who reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndRecord {
    pub by: EndedBy,
    #[serde(with = "time::serde::timestamp::milliseconds_i64")]
    at: OffsetDateTime,
}

/// An agent's choice of tenant for the call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Selection {
    #[serde(with = "time::serde::timestamp::milliseconds_i64")]
    pub at: OffsetDateTime,
    /// Tie-breaker among selections made in the same instant (a store sequence).
    pub seq: u64,
    pub tenant_id: String,
    pub agent_id: Option<String>,
    /// How the agent came to enter the tenant.
    #[serde(default, skip_serializing_if = "Entry::is_entered")]
    pub entry: Entry,
}

/// How an agent came to enter a [`Selection`]'s tenant: what the screen pop shows.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// From the call's own prompt: the first tenant entered so selects the call bubble and
    /// fills in the customer.
    #[default]
    Entered,
    /// Through Find Tenant or Find Different Tenant: never prefills.
    Found,
    /// A call resolved by its local number moved to another tenant (the caller dialed the
    /// wrong location): it overrides the number's tenant, and never prefills.
    Moved,
}

impl Entry {
    pub fn is_entered(&self) -> bool {
        *self == Self::Entered
    }
}

/// What is known of one leg of the call known by an id of its own (an agent's phone, a
/// transfer, a leg of a call known by its session), folded by the same rules as the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegFold {
    /// The most specific role any event gave it (customer over agent over transfer over
    /// other); `None` while no event said (a leg of a call known by its session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<LegRole>,
    /// When the leg was first heard of: legs are listed in this order.
    #[serde(with = "time::serde::timestamp::milliseconds_i64")]
    pub since: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<CallProgress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Earliest<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Earliest<String>>,
    /// Whose phone the leg rang, as the provider named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_identity: Option<Earliest<String>>,
    /// The user that identity belongs to, once the leg was answered by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// What the provider's API looks the leg up by ([`callgate_adapters::kit::Leg::lookup_handle`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_handle: Option<Earliest<String>>,
}

impl LegFold {
    fn apply(&mut self, event: &CallEvent, key: &EventKey) {
        let said = event.leg.stated_role();
        if role_rank(said) > role_rank(self.role) {
            self.role = said;
        }
        self.since = self.since.min(key.0);
        Earliest::merge(&mut self.from, event.party.from.as_ref(), key);
        Earliest::merge(&mut self.to, event.party.to.as_ref(), key);
        Earliest::merge(
            &mut self.agent_identity,
            event.leg.agent_identity.as_ref(),
            key,
        );
        Earliest::merge(
            &mut self.lookup_handle,
            event.leg.lookup_handle.as_ref(),
            key,
        );
        if let EventKind::Call { progress } = &event.kind {
            raise(&mut self.progress, *progress);
        }
    }
}

fn role_rank(role: Option<LegRole>) -> u8 {
    match role {
        None => 0,
        Some(LegRole::Other) => 1,
        Some(LegRole::Transfer) => 2,
        Some(LegRole::Agent) => 3,
        Some(LegRole::Customer) => 4,
    }
}

/// Moves `slot` to `progress` when it ranks higher.
fn raise(slot: &mut Option<CallProgress>, progress: CallProgress) {
    if slot.is_none_or(|cur| progress_rank(progress) > progress_rank(cur)) {
        *slot = Some(progress);
    }
}

/// How an event counts for its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegPart {
    /// About the customer's own leg: the call itself.
    Customer,
    /// About a leg of a call whose legs share a session, not known to be the customer's: it
    /// tells about the call (a call of one outgoing leg is all there is) and is listed as a
    /// leg of its own.
    Session,
    /// About another leg (an agent's, a transfer): listed as a leg, never the call's state.
    Other,
}

impl LegPart {
    pub fn of(event: &CallEvent) -> Self {
        let leg = &event.leg;
        if event.provider_call_id == event.call_id() {
            // A leg whose id is its call's is the customer's: the call itself.
            return Self::Customer;
        }
        match (leg.role, &leg.parent_call_id, &leg.session_id) {
            (Some(LegRole::Customer), _, _) => Self::Customer,
            (None, None, Some(_)) => Self::Session,
            _ => Self::Other,
        }
    }
}

/// Everything the provider's events told about a call, plus agents' tenant selections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<CallProgress>,
    #[serde(
        with = "time::serde::timestamp::milliseconds_i64::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<OffsetDateTime>,
    #[serde(
        with = "time::serde::timestamp::milliseconds_i64::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub answered_at: Option<OffsetDateTime>,
    /// The provider's latest reported end.
    #[serde(
        with = "time::serde::timestamp::milliseconds_i64::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ended_at: Option<OffsetDateTime>,
    /// When callgate first recorded an end of the call (its own clock): the instant that
    /// decides whether a tenant selection came before the end.
    #[serde(
        with = "time::serde::timestamp::milliseconds_i64::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub end_recorded_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Earliest<Direction>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Earliest<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Earliest<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_name: Option<Earliest<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recordings: BTreeMap<String, RecordingFold>,
    /// Every selection ever made, kept sorted and without duplicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selections: Vec<Selection>,
    /// Who reported the end callgate recorded first (`end_recorded_at`); ties go to the
    /// provider, then a lookup. Absent on calls ended before callgate kept it: the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<EndRecord>,
    /// Provider values callgate does not know, as (field, value).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub unmapped: BTreeSet<(String, String)>,
    /// The number the call was forwarded from, as reported (normalized at the edge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<Earliest<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_reason: Option<Earliest<RoutingReason>>,
    /// The call's legs known by ids of their own (not the call's), by the provider's leg id:
    /// agents' legs, transfers, and every leg of a call known by its session.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub legs: BTreeMap<String, LegFold>,
    /// What the provider's API looks the call's own leg up by, from the events naming the
    /// call's own id (a leg known by an id of its own keeps its handle in `legs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_handle: Option<Earliest<String>>,
}

fn min_time(slot: &mut Option<OffsetDateTime>, t: OffsetDateTime) {
    *slot = Some(slot.map_or(t, |cur| cur.min(t)));
}

fn max_time(slot: &mut Option<OffsetDateTime>, t: OffsetDateTime) {
    *slot = Some(slot.map_or(t, |cur| cur.max(t)));
}

impl CallFold {
    /// Folds one event in. `recorded_at` is when callgate stored the delivery carrying it;
    /// it stands in for the event time when the provider gives none. Applying the same
    /// event twice changes nothing (the store also deduplicates by key).
    pub fn apply(&mut self, event: &CallEvent, recorded_at: OffsetDateTime) {
        let at = event.occurred_at.unwrap_or(recorded_at);
        let key: EventKey = (at, stable_hash(&event.dedupe_key));
        let part = LegPart::of(event);
        if event.provider_call_id != event.call_id() {
            // A leg known by its own id, besides the call's: listed, the customer's too.
            self.legs
                .entry(event.provider_call_id.clone())
                .or_insert_with(|| LegFold {
                    role: None,
                    since: at,
                    progress: None,
                    from: None,
                    to: None,
                    agent_identity: None,
                    agent_id: None,
                    lookup_handle: None,
                })
                .apply(event, &key);
        } else {
            Earliest::merge(
                &mut self.lookup_handle,
                event.leg.lookup_handle.as_ref(),
                &key,
            );
        }
        if part == LegPart::Other {
            // Another leg's recordings are the call's, and follow its gate.
            if let EventKind::Recording(rec) = &event.kind {
                self.apply_recording(rec, &key);
            }
            return;
        }
        let party = &event.party;
        Earliest::merge(&mut self.direction, party.direction.as_ref(), &key);
        Earliest::merge(&mut self.from, party.from.as_ref(), &key);
        Earliest::merge(&mut self.to, party.to.as_ref(), &key);
        Earliest::merge(&mut self.caller_name, party.caller_name.as_ref(), &key);
        Earliest::merge(
            &mut self.forwarded_from,
            party.forwarded_from.as_ref(),
            &key,
        );
        Earliest::merge(
            &mut self.routing_reason,
            party.routing_reason.as_ref(),
            &key,
        );

        match &event.kind {
            EventKind::Call { progress } => {
                let progress = *progress;
                raise(&mut self.progress, progress);
                min_time(&mut self.started_at, at);
                if progress == CallProgress::Answered {
                    min_time(&mut self.answered_at, at);
                }
                if progress.is_terminal() {
                    max_time(&mut self.ended_at, at);
                    min_time(&mut self.end_recorded_at, recorded_at);
                }
            }
            EventKind::Recording(rec) => self.apply_recording(rec, &key),
            EventKind::Unmapped { field, value } => {
                self.unmapped.insert((field.clone(), value.clone()));
            }
        }
    }

    /// Folds in one event of a delivery whose ends count as `by`'s: a lookup's answer, or
    /// callgate's own time-out, rather than a webhook ([`CallFold::apply`]). The end that is
    /// recorded first names who ended the call, whatever order the deliveries came in.
    pub fn apply_as(&mut self, event: &CallEvent, recorded_at: OffsetDateTime, by: EndedBy) {
        self.apply(event, recorded_at);
        let EventKind::Call { progress } = &event.kind else {
            return;
        };
        if LegPart::of(event) == LegPart::Other {
            // Another leg's end is not the call's.
            return;
        }
        if !progress.is_terminal() {
            return;
        }
        let candidate = EndRecord {
            by,
            at: recorded_at,
        };
        if self
            .ended_by
            .is_none_or(|cur| (candidate.at, candidate.by) < (cur.at, cur.by))
        {
            self.ended_by = Some(candidate);
        }
    }

    /// Who ended the call, once it ended.
    pub fn ended_by(&self) -> Option<EndedBy> {
        if !self.has_ended() {
            return None;
        }
        Some(self.ended_by.map_or(EndedBy::Provider, |e| e.by))
    }

    fn apply_recording(&mut self, rec: &RecordingEvent, key: &EventKey) {
        let slot = self
            .recordings
            .entry(rec.recording_id.clone())
            .or_insert(RecordingFold {
                status: rec.status,
                url: None,
                duration_s: None,
            });
        if recording_rank(rec.status) > recording_rank(slot.status) {
            slot.status = rec.status;
        }
        Earliest::merge(&mut slot.url, rec.url.as_ref(), key);
        if let Some(d) = rec.duration_s {
            slot.duration_s = Some(slot.duration_s.map_or(d, |cur| cur.max(d)));
        }
    }

    /// Records an agent's tenant selection (idempotent).
    pub fn select(&mut self, selection: Selection) {
        if let Err(pos) = self.selections.binary_search(&selection) {
            self.selections.insert(pos, selection);
        }
    }

    /// The time to record something about the call at `now`: no earlier than its latest
    /// tenant selection. A selection the call holds was stored before whatever is stored
    /// now, whatever the clocks say (a clock read before the call's row was locked, another
    /// instance's clock that lags).
    pub fn not_before_selections(&self, now: OffsetDateTime) -> OffsetDateTime {
        self.selections
            .iter()
            .map(|s| s.at)
            .fold(now, OffsetDateTime::max)
    }

    /// True once callgate has recorded an end of the call.
    pub fn has_ended(&self) -> bool {
        self.end_recorded_at.is_some()
    }

    /// The selections that count: those made before callgate recorded the end.
    pub fn effective_selections(&self) -> impl Iterator<Item = &Selection> {
        let end = self.end_recorded_at;
        self.selections
            .iter()
            .filter(move |s| end.is_none_or(|e| s.at <= e))
    }

    /// The number that decides the tenant: the dialed number of an inbound call, the calling
    /// number of an outbound one.
    pub fn tenant_number(&self) -> Option<&str> {
        let slot = match self.direction() {
            Direction::Inbound => &self.to,
            Direction::Outbound => &self.from,
        };
        slot.as_ref().map(|e| e.value.as_str())
    }

    /// The customer's number, the counterpart of [`CallFold::tenant_number`]: the calling
    /// number of an inbound call, the dialed number of an outbound one (a callback).
    pub fn customer_number(&self) -> Option<&str> {
        let slot = match self.direction() {
            Direction::Inbound => &self.from,
            Direction::Outbound => &self.to,
        };
        slot.as_ref().map(|e| e.value.as_str())
    }

    /// The call's direction, inbound when no event told it.
    fn direction(&self) -> Direction {
        self.direction
            .as_ref()
            .map_or(Direction::Inbound, |d| d.value)
    }

    /// The number the call was forwarded from, when it reported one.
    pub fn forwarded_number(&self) -> Option<&str> {
        self.forwarded_from.as_ref().map(|e| e.value.as_str())
    }

    /// The provider's id of the customer's leg: on a call known by its session, the first
    /// leg heard of among those the provider calls the customer's (or does not say: a call
    /// of one outgoing leg), else the call's own id.
    pub fn customer_leg<'a>(&'a self, call_id: &'a str) -> &'a str {
        self.legs
            .iter()
            .filter_map(|(id, l)| match l.role {
                Some(LegRole::Customer) => Some((0, l.since, id)),
                None => Some((1, l.since, id)),
                Some(_) => None,
            })
            .min()
            .map_or(call_id, |(_, _, id)| id.as_str())
    }

    /// What a lookup at the provider asks about ([`callgate_adapters::kit::Adapter::lookup_call`]):
    /// the call `call_id`, its customer's leg ([`CallFold::customer_leg`]), and the lookup
    /// handle that leg's events gave, if any.
    pub fn lookup_target<'a>(&'a self, call_id: &'a str) -> LookupTarget<'a> {
        let leg_id = self.customer_leg(call_id);
        let handle = if leg_id == call_id {
            self.lookup_handle.as_ref()
        } else {
            self.legs.get(leg_id).and_then(|l| l.lookup_handle.as_ref())
        };
        LookupTarget {
            call_id,
            leg_id,
            handle: handle.map(|h| h.value.as_str()),
        }
    }

    /// The recording the call model shows: the most advanced one, then the lowest id.
    pub fn primary_recording(&self) -> Option<(&String, &RecordingFold)> {
        self.recordings.iter().max_by(|a, b| {
            recording_rank(a.1.status)
                .cmp(&recording_rank(b.1.status))
                .then(b.0.cmp(a.0))
        })
    }
}
