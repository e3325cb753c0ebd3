//! The event hub: what just changed, fanned out to the live subscribers of
//! `GET /api/v1/events`.
//!
//! Publishing never waits: events go into a ring of recent events and a broadcast channel.
//! A subscriber that falls behind loses its place (it is told to resync) instead of slowing
//! anyone down. Event ids are `<epoch>-<sequence>`, where the epoch names this process: a
//! `Last-Event-ID` from the same process replays what the ring still holds after it; any
//! other id (an earlier process, a sequence already dropped from the ring) gets a `resync`
//! event, which tells the client to re-read the state it shows.

use crate::access::Audience;
use crate::domain::screen_pop::ScreenPop;
use crate::dto::{EventType, event_json};
use crate::store::calls::CallRow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::broadcast;

/// How many recent events a reconnecting client can catch up on.
const RING: usize = 4096;
/// How far a subscriber may fall behind before it is told to resync.
const CHANNEL: usize = 1024;

/// What happened.
#[derive(Debug)]
pub enum Change {
    /// A call's state, tenant, recording or agent changed.
    CallUpdated(Box<CallRow>),
    /// The recording decision of a call changed (gated, saved, discarded).
    RecordingDecided(Box<CallRow>),
    /// A tenant's hub counts (chats, web bookings) changed.
    HubUpdated { tenant_id: String },
    /// A user's phone answered a call claimed for them: their console pops the call.
    ScreenPop {
        user_id: String,
        screen_pop: Box<ScreenPop>,
    },
    /// A user's permissions or tenants changed, or one of its tokens was revoked. Never sent
    /// to clients: the user's streams authenticate their token again when they meet it, in
    /// order with the events around it.
    RightsChanged { user_id: String },
}

impl Change {
    /// The kind of event a client receives; `None` for a notice never sent to clients.
    fn kind(&self) -> Option<EventType> {
        match self {
            Self::CallUpdated(_) => Some(EventType::CallUpdated),
            Self::RecordingDecided(_) => Some(EventType::RecordingDecided),
            Self::HubUpdated { .. } => Some(EventType::HubUpdated),
            Self::ScreenPop { .. } => Some(EventType::ScreenPop),
            Self::RightsChanged { .. } => None,
        }
    }

    fn audience(&self) -> Audience {
        match self {
            Self::CallUpdated(c) | Self::RecordingDecided(c) => Audience::of_call(c),
            Self::HubUpdated { tenant_id } => Audience::Tenant(tenant_id.clone()),
            Self::ScreenPop { user_id, .. } | Self::RightsChanged { user_id } => {
                Audience::User(user_id.clone())
            }
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Self::CallUpdated(c) => event_json(EventType::CallUpdated, c),
            Self::RecordingDecided(c) => event_json(EventType::RecordingDecided, c),
            Self::HubUpdated { tenant_id } => {
                serde_json::json!({ "type": EventType::HubUpdated.as_str(), "tenant_id": tenant_id })
            }
            Self::ScreenPop { screen_pop, .. } => {
                serde_json::json!({ "type": EventType::ScreenPop.as_str(), "screen_pop": screen_pop })
            }
            Self::RightsChanged { user_id } => {
                serde_json::json!({ "type": "rights.changed", "user_id": user_id })
            }
        }
    }
}

/// One published event.
#[derive(Debug)]
pub struct HubEvent {
    pub seq: u64,
    /// `None` for a notice never sent to clients ([`Change::RightsChanged`]).
    pub kind: Option<EventType>,
    pub audience: Audience,
    change: Change,
    /// The JSON of `change`, made once, by the first subscriber that sends it.
    data: OnceLock<String>,
}

impl HubEvent {
    /// The user whose rights changed, for [`Change::RightsChanged`].
    pub fn rights_of(&self) -> Option<&str> {
        match &self.change {
            Change::RightsChanged { user_id } => Some(user_id),
            _ => None,
        }
    }

    /// The event's `data`: JSON with at least `type`.
    pub fn data(&self) -> &str {
        self.data.get_or_init(|| self.change.to_json().to_string())
    }
}

/// The event hub of this process.
#[derive(Debug)]
pub struct EventHub {
    epoch: String,
    tx: broadcast::Sender<Arc<HubEvent>>,
    /// Recent events, oldest first, and the next sequence number.
    recent: Mutex<(VecDeque<Arc<HubEvent>>, u64)>,
}

/// Where a new subscriber starts.
#[derive(Debug)]
pub struct Subscription {
    /// Events missed since the client's `Last-Event-ID`, oldest first.
    pub replay: Vec<Arc<HubEvent>>,
    /// The client's id could not be caught up on: it must re-read its state.
    pub resync: bool,
    pub receiver: broadcast::Receiver<Arc<HubEvent>>,
}

impl EventHub {
    /// `epoch` names this process in event ids (e.g. its start time).
    pub fn new(epoch: impl Into<String>) -> Self {
        Self {
            epoch: epoch.into(),
            tx: broadcast::channel(CHANNEL).0,
            recent: Mutex::new((VecDeque::with_capacity(RING), 1)),
        }
    }

    /// The SSE id of an event.
    pub fn id_of(&self, event: &HubEvent) -> String {
        format!("{}-{}", self.epoch, event.seq)
    }

    /// Publishes a change; never blocks on subscribers.
    pub fn publish(&self, change: Change) {
        let Ok(mut recent) = self.recent.lock() else {
            return;
        };
        let (ring, next) = &mut *recent;
        let event = Arc::new(HubEvent {
            seq: *next,
            kind: change.kind(),
            audience: change.audience(),
            change,
            data: OnceLock::new(),
        });
        *next += 1;
        if ring.len() == RING {
            ring.pop_front();
        }
        ring.push_back(event.clone());
        // Sent under the lock, so that the ring and the channel agree on the order. An error
        // only means nobody listens right now.
        let _ = self.tx.send(event);
    }

    /// Drops from the ring every event whose data holds `text` (an erased number), so that
    /// no catch-up replays it; a client that last saw an event before one dropped from the
    /// front is told to resync instead.
    pub fn forget(&self, text: &str) {
        let mut recent = match self.recent.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        recent.0.retain(|e| !e.data().contains(text));
    }

    /// Drops from the ring every event about one of the calls `call_ids` (their updates,
    /// recording decisions and screen pops): what another instance erased.
    pub fn forget_calls(&self, call_ids: &[String]) {
        let mut recent = match self.recent.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        recent.0.retain(|e| {
            let call = match &e.change {
                Change::CallUpdated(c) | Change::RecordingDecided(c) => Some(&c.id),
                Change::ScreenPop { screen_pop, .. } => Some(&screen_pop.call_id),
                Change::HubUpdated { .. } | Change::RightsChanged { .. } => None,
            };
            call.is_none_or(|id| !call_ids.contains(id))
        });
    }

    /// Subscribes, catching up after `last_event_id` when the ring still holds what
    /// followed it.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let recent = match self.recent.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (ring, next) = &*recent;
        let receiver = self.tx.subscribe();
        let Some(last) = last_event_id else {
            return Subscription {
                replay: Vec::new(),
                resync: false,
                receiver,
            };
        };
        let seq = last
            .rsplit_once('-')
            .filter(|(epoch, _)| *epoch == self.epoch)
            .and_then(|(_, seq)| seq.parse::<u64>().ok())
            .filter(|seq| *seq < *next);
        let oldest = ring.front().map_or(*next, |e| e.seq);
        match seq {
            // Everything after `seq` is still in the ring.
            Some(seq) if seq + 1 >= oldest => Subscription {
                replay: ring.iter().filter(|e| e.seq > seq).cloned().collect(),
                resync: false,
                receiver,
            },
            _ => Subscription {
                replay: Vec::new(),
                resync: true,
                receiver,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub_changed(t: &str) -> Change {
        Change::HubUpdated {
            tenant_id: t.into(),
        }
    }

    #[test]
    fn forgotten_events_are_not_replayed() {
        let hub = EventHub::new("e1");
        hub.publish(hub_changed("t-a"));
        hub.publish(hub_changed("t-+15125550123"));
        hub.publish(hub_changed("t-b"));
        hub.forget("+15125550123");
        let replayed: Vec<String> = hub
            .subscribe(Some("e1-1"))
            .replay
            .iter()
            .map(|e| e.data().to_owned())
            .collect();
        assert_eq!(replayed.len(), 1, "{replayed:?}");
        assert!(replayed[0].contains("t-b"), "{replayed:?}");
    }

    #[test]
    fn ids_replay_what_followed_them() {
        let hub = EventHub::new("e1");
        for t in ["a", "b", "c"] {
            hub.publish(hub_changed(t));
        }
        let sub = hub.subscribe(Some("e1-1"));
        assert!(!sub.resync);
        let seqs: Vec<u64> = sub.replay.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![2, 3]);
        assert_eq!(hub.id_of(&sub.replay[0]), "e1-2");
        assert_eq!(
            sub.replay[1].data(),
            r#"{"tenant_id":"c","type":"hub.updated"}"#
        );
        // Up to date: nothing to replay.
        let sub = hub.subscribe(Some("e1-3"));
        assert!(!sub.resync && sub.replay.is_empty());
    }

    #[test]
    fn unknown_old_or_foreign_ids_ask_for_a_resync() {
        let hub = EventHub::new("e2");
        for _ in 0..RING + 10 {
            hub.publish(hub_changed("a"));
        }
        for id in ["e2-1", "e1-5", "garbage", "e2-999999", "e2-"] {
            let sub = hub.subscribe(Some(id));
            assert!(sub.resync, "{id}");
            assert!(sub.replay.is_empty(), "{id}");
        }
        let oldest_kept = format!("e2-{}", 10);
        let sub = hub.subscribe(Some(&oldest_kept));
        assert!(!sub.resync);
        assert_eq!(sub.replay.len(), RING);
    }

    #[tokio::test]
    async fn live_events_follow_the_subscription_in_order() {
        let hub = EventHub::new("e3");
        hub.publish(hub_changed("before"));
        let mut sub = hub.subscribe(None);
        assert!(sub.replay.is_empty() && !sub.resync);
        hub.publish(hub_changed("x"));
        hub.publish(hub_changed("y"));
        assert_eq!(sub.receiver.recv().await.unwrap().seq, 2);
        assert_eq!(sub.receiver.recv().await.unwrap().seq, 3);
    }

    #[test]
    fn publishing_without_subscribers_or_with_a_stuck_one_never_blocks() {
        let hub = EventHub::new("e4");
        let stuck = hub.subscribe(None);
        for _ in 0..CHANNEL * 3 {
            hub.publish(hub_changed("a"));
        }
        let mut stuck = stuck.receiver;
        assert!(matches!(
            stuck.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }
}
