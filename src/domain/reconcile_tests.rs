//! The promise the reconciler keeps, as a property of the fold and the gate: whichever of a
//! national call's webhooks are lost, once the call has been looked up and its recordings
//! listed (the answers keyed as `twilio::rest` keys them), the call has ended, unresolved,
//! and every recording it had is one the gate deletes. Without a lookup API, the time-out
//! ends the call all the same.

use super::call::{CallFold, EndedBy};
use super::gate::{self, RecordingStatus, TenantStatus};
use super::numbers::{NumberKind, Resolution};
use callgate_adapters::kit::{
    CallEvent, CallProgress, EventKind, Leg, Party, RecordingEvent, RecordingProgress,
};
use proptest::prelude::*;
use std::collections::BTreeSet;
use time::OffsetDateTime;

const SID: &str = "CA1";
const RECORDINGS: [&str; 2] = ["RE1", "RE2"];

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000 + secs).unwrap()
}

fn event(key: String, kind: EventKind) -> CallEvent {
    CallEvent {
        dedupe_key: key,
        provider_call_id: SID.into(),
        occurred_at: None,
        party: Party {
            to: Some("+18005550199".into()),
            ..Party::default()
        },
        kind,
        leg: Leg::default(),
    }
}

fn call(key: &str, progress: CallProgress) -> CallEvent {
    event(format!("{SID}:{key}"), EventKind::Call { progress })
}

/// A recording event keyed as Twilio's recording status callback, and its listing, key it.
fn recording(id: &str, raw: &str, status: RecordingProgress) -> CallEvent {
    event(
        format!("{SID}:recording:{id}:{raw}"),
        EventKind::Recording(RecordingEvent {
            recording_id: id.into(),
            status,
            url: None,
            duration_s: Some(41),
        }),
    )
}

/// Every webhook of the call: its progress, and each recording in progress then completed.
fn webhooks() -> Vec<CallEvent> {
    let mut all = vec![
        call("call:ringing:0", CallProgress::Ringing),
        call("call:in-progress:1", CallProgress::Answered),
        call("call:completed:2", CallProgress::Completed),
    ];
    for id in RECORDINGS {
        all.push(recording(id, "in-progress", RecordingProgress::InProgress));
        all.push(recording(id, "completed", RecordingProgress::Completed));
    }
    all
}

/// The store's rule: an event whose key was stored before is a duplicate.
struct Store {
    fold: CallFold,
    keys: BTreeSet<String>,
}

impl Store {
    fn ingest(&mut self, e: &CallEvent, recorded: i64, by: EndedBy) {
        if self.keys.insert(e.dedupe_key.clone()) {
            self.fold.apply_as(e, at(recorded), by);
        }
    }
}

fn national() -> Resolution {
    Resolution {
        number: "+18005550199".into(),
        kind: NumberKind::National,
        tenant_id: None,
        tenant_ids: vec![],
        forwarded_from: None,
        via_forwarded: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any subset of the webhooks, in any order: after the lookup (when the call has not
    /// ended) and the listing, the call has ended unresolved and the gate deletes every
    /// recording; a webhook arriving late changes none of it.
    #[test]
    fn no_recording_of_an_unresolved_call_survives_lost_webhooks(
        delivered in proptest::collection::vec(any::<bool>(), 7),
        order in Just(()).prop_perturb(|_, mut rng| {
            let mut idx: Vec<usize> = (0..7).collect();
            for i in (1..idx.len()).rev() {
                idx.swap(i, rng.random_range(0..=i));
            }
            idx
        }),
        late in any::<bool>(),
    ) {
        let all = webhooks();
        let mut s = Store { fold: CallFold::default(), keys: BTreeSet::new() };
        for (t, &i) in order.iter().enumerate() {
            if delivered[i] {
                s.ingest(&all[i], t as i64, EndedBy::Provider);
            }
        }
        let ended_by_webhook = s.fold.has_ended();
        if !ended_by_webhook {
            s.ingest(&call("lookup:completed", CallProgress::Completed), 100, EndedBy::Reconciled);
        }
        for id in RECORDINGS {
            s.ingest(&recording(id, "completed", RecordingProgress::Completed), 101, EndedBy::Reconciled);
        }
        if late {
            for e in &all {
                s.ingest(e, 200, EndedBy::Provider);
            }
        }
        let tenant = gate::tenant_outcome(&s.fold, Some(&national()));
        prop_assert_eq!(tenant.status, TenantStatus::Unresolved);
        let exists = s.fold.recordings.values().any(|r| r.exists());
        let status = gate::recording_status(tenant.status, exists);
        prop_assert_eq!(status, RecordingStatus::Discarded);
        prop_assert_eq!(gate::recordings_to_delete(&s.fold, status), RECORDINGS.map(String::from).to_vec());
        let expected = if ended_by_webhook { EndedBy::Provider } else { EndedBy::Reconciled };
        prop_assert_eq!(s.fold.ended_by(), Some(expected));
    }

    /// Without a lookup API the call still ends, timed out, whatever webhooks were lost
    /// (only an end webhook that came names the provider).
    #[test]
    fn no_call_stays_active_past_the_maximum_duration(
        delivered in proptest::collection::vec(any::<bool>(), 7),
    ) {
        let all = webhooks();
        let mut s = Store { fold: CallFold::default(), keys: BTreeSet::new() };
        for (i, e) in all.iter().enumerate().filter(|(i, _)| delivered[*i]) {
            s.ingest(e, i as i64, EndedBy::Provider);
        }
        let ended_by_webhook = s.fold.has_ended();
        if !ended_by_webhook {
            s.ingest(&call("timed_out", CallProgress::Failed), 14_400, EndedBy::TimedOut);
        }
        prop_assert!(s.fold.has_ended());
        let expected = if ended_by_webhook { EndedBy::Provider } else { EndedBy::TimedOut };
        prop_assert_eq!(s.fold.ended_by(), Some(expected));
        let tenant = gate::tenant_outcome(&s.fold, Some(&national()));
        prop_assert_eq!(tenant.status, TenantStatus::Unresolved);
    }
}

/// Telnyx's national call: one incoming leg `L1` of the session `S1`, whose webhooks
/// carry its call control id; Telnyx's own reading of the lookup and listing answers.
mod telnyx {
    use super::*;
    use callgate_adapters::kit::{Adapter, LegRole};

    const LEG: &str = "L1";
    const SESSION: &str = "S1";
    const HANDLE: &str = "v3:L1";

    fn telnyx() -> &'static dyn Adapter {
        callgate_adapters::by_id("telnyx").unwrap()
    }

    /// The `n`th webhook of the leg, keyed by its event id as Telnyx's are.
    fn webhook(n: i64, kind: EventKind, role: Option<LegRole>) -> CallEvent {
        CallEvent {
            dedupe_key: format!("event-{n}"),
            provider_call_id: LEG.into(),
            occurred_at: Some(at(n)),
            party: Party {
                to: Some("+18005550199".into()),
                ..Party::default()
            },
            kind,
            leg: Leg {
                session_id: Some(SESSION.into()),
                role,
                lookup_handle: Some(HANDLE.into()),
                ..Leg::default()
            },
        }
    }

    /// Initiated, answered, hung up, and its recording saved (no direction: no role).
    fn webhooks() -> Vec<CallEvent> {
        let customer = Some(LegRole::Customer);
        let call = |progress| EventKind::Call { progress };
        vec![
            webhook(1, call(CallProgress::Initiated), customer),
            webhook(2, call(CallProgress::Answered), customer),
            webhook(3, call(CallProgress::Completed), customer),
            webhook(
                4,
                EventKind::Recording(RecordingEvent {
                    recording_id: "R1".into(),
                    status: RecordingProgress::Completed,
                    url: Some("https://media.example/R1.mp3".into()),
                    duration_s: Some(41),
                }),
                None,
            ),
        ]
    }

    const ENDED: &str = r#"{"data":{"call_control_id":"v3:L1","call_leg_id":"L1","call_session_id":"S1","is_alive":false,"end_time":"2026-11-23T18:06:00Z","record_type":"call"}}"#;
    const LISTING: &str = r#"{"data":[{"id":"R1","call_leg_id":"L1","call_session_id":"S1","status":"completed","duration_millis":41000}]}"#;

    /// Everything callgate stores about the call, once (a duplicate stored later is
    /// dropped, as the store drops it): the webhooks delivered, then (the call not ended by
    /// them) the lookup of the fold's target, the listing, and the webhooks that come late,
    /// each with when it was stored and who it counts for.
    fn deliveries(delivered: &[bool], late: bool) -> Vec<(CallEvent, i64, EndedBy)> {
        let all = webhooks();
        let mut s = Store {
            fold: CallFold::default(),
            keys: BTreeSet::new(),
        };
        let mut out = Vec::new();
        for (i, e) in all.iter().enumerate().filter(|(i, _)| delivered[*i]) {
            s.ingest(e, i as i64, EndedBy::Provider);
            out.push((e.clone(), i as i64, EndedBy::Provider));
        }
        if !s.fold.has_ended() {
            let target = s.fold.lookup_target(SESSION);
            if delivered.iter().any(|d| *d) {
                assert_eq!((target.leg_id, target.handle), (LEG, Some(HANDLE)));
            }
            let answer = telnyx().looked_up_call(&target, ENDED.as_bytes());
            for e in answer.unwrap_or_default() {
                out.push((e, 100, EndedBy::Reconciled));
            }
        }
        for e in telnyx()
            .listed_recordings(SESSION, LISTING.as_bytes())
            .unwrap()
        {
            out.push((e, 101, EndedBy::Reconciled));
        }
        if late {
            out.extend(all.into_iter().map(|e| (e, 200, EndedBy::Provider)));
        }
        let mut keys = BTreeSet::new();
        out.retain(|(e, _, _)| keys.insert(e.dedupe_key.clone()));
        out
    }

    fn fold(deliveries: &[(CallEvent, i64, EndedBy)]) -> CallFold {
        let mut s = Store {
            fold: CallFold::default(),
            keys: BTreeSet::new(),
        };
        for (e, recorded, by) in deliveries {
            s.ingest(e, *recorded, *by);
        }
        s.fold
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any subset of the webhooks: the lookup asks about the customer's leg by its
        /// handle, and once its answer and the listing are in, the call has ended,
        /// unresolved, its recording deleted; the answers and late webhooks in any order
        /// give the same call.
        #[test]
        fn a_telnyx_lookup_and_late_webhooks_fold_the_same_in_any_order(
            delivered in proptest::collection::vec(any::<bool>(), 4).prop_filter("a call", |d| d.iter().any(|x| *x)),
            late in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let in_order = deliveries(&delivered, late);
            let mut shuffled = in_order.clone();
            let mut rng = seed;
            for i in (1..shuffled.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = usize::try_from(rng >> 33).unwrap() % (i + 1);
                shuffled.swap(i, j);
            }
            let f = fold(&in_order);
            prop_assert_eq!(&fold(&shuffled), &f);
            prop_assert!(f.has_ended());
            let ended_by_webhook = delivered[2];
            let expected = if ended_by_webhook { EndedBy::Provider } else { EndedBy::Reconciled };
            prop_assert_eq!(f.ended_by(), Some(expected));
            let tenant = gate::tenant_outcome(&f, Some(&national()));
            prop_assert_eq!(tenant.status, TenantStatus::Unresolved);
            let exists = f.recordings.values().any(|r| r.exists());
            let status = gate::recording_status(tenant.status, exists);
            prop_assert_eq!(status, RecordingStatus::Discarded);
            prop_assert_eq!(gate::recordings_to_delete(&f, status), vec!["R1".to_owned()]);
        }
    }
}
