//! Properties of the pure core: the fold is order-independent and idempotent, and the gate
//! decides exactly as the specification says, for every combination of its inputs.

use super::call::{CallFold, EndedBy, Entry, Selection};
use super::gate::{self, RecordingStatus, TenantStatus, TenantVia};
use super::numbers::{NumberKind, Resolution};
use super::screen_pop::{PopContext, screen_pop};
use callgate_adapters::kit::{
    CallEvent, CallProgress, Direction, EventKind, Leg, LegRole, Party, RecordingEvent,
    RecordingProgress, RoutingReason,
};
use proptest::prelude::*;
use time::OffsetDateTime;

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000 + secs).unwrap()
}

fn progress() -> impl Strategy<Value = CallProgress> {
    prop_oneof![
        Just(CallProgress::Initiated),
        Just(CallProgress::Ringing),
        Just(CallProgress::Answered),
        Just(CallProgress::Completed),
        Just(CallProgress::Busy),
        Just(CallProgress::NoAnswer),
        Just(CallProgress::Failed),
        Just(CallProgress::Canceled),
    ]
}

fn recording_progress() -> impl Strategy<Value = RecordingProgress> {
    prop_oneof![
        Just(RecordingProgress::InProgress),
        Just(RecordingProgress::Completed),
        Just(RecordingProgress::Absent),
        Just(RecordingProgress::Failed),
    ]
}

pub(crate) fn kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        4 => progress().prop_map(|progress| EventKind::Call { progress }),
        2 => (0..3u8, recording_progress(), proptest::option::of(0..600u64), any::<bool>()).prop_map(|(n, status, duration_s, url)| {
            EventKind::Recording(RecordingEvent {
                recording_id: format!("RE{n}"),
                status,
                url: url.then(|| format!("https://media.example/RE{n}")),
                duration_s,
            })
        }),
        1 => "[a-z]{1,6}".prop_map(|value| EventKind::Unmapped { field: "CallStatus".into(), value }),
    ]
}

pub(crate) fn party() -> impl Strategy<Value = Party> {
    (
        proptest::option::of(prop_oneof![
            Just(Direction::Inbound),
            Just(Direction::Outbound)
        ]),
        proptest::option::of(prop_oneof![
            Just("+15125550100".to_owned()),
            Just("+15125550199".to_owned())
        ]),
        proptest::option::of(prop_oneof![
            Just("+18005550199".to_owned()),
            Just("+15125550111".to_owned())
        ]),
        proptest::option::of(prop_oneof![
            Just("JANE DOE".to_owned()),
            Just("WIRELESS CALLER".to_owned())
        ]),
        proptest::option::of(prop_oneof![
            Just("+15125550100".to_owned()),
            Just("+15125550142".to_owned())
        ]),
        proptest::option::of(prop_oneof![
            Just(RoutingReason::Overflow),
            Just(RoutingReason::AfterHours),
            Just(RoutingReason::QueueTimeout)
        ]),
    )
        .prop_map(
            |(direction, from, to, caller_name, forwarded_from, routing_reason)| Party {
                direction,
                from,
                to,
                caller_name,
                forwarded_from,
                routing_reason,
            },
        )
}

/// Legs of one customer call `CA1`: its own, agents' and transfers' legs naming it as their
/// parent, and legs sharing the session `S1` (the customer's named or not).
pub(crate) fn leg() -> impl Strategy<Value = (String, Leg)> {
    let role = proptest::option::of(prop_oneof![
        Just(LegRole::Customer),
        Just(LegRole::Agent),
        Just(LegRole::Transfer),
        Just(LegRole::Other)
    ]);
    let identity = proptest::option::of(prop_oneof![
        Just("client:ana".to_owned()),
        Just("sip:bo@pbx.example.com".to_owned())
    ]);
    // A leg's lookup handle, or another (a provider never sends two for one leg, but the
    // fold must not depend on the order if it did).
    let handle = proptest::option::of(prop_oneof![
        Just("v3:h1".to_owned()),
        Just("v3:h2".to_owned())
    ]);
    prop_oneof![
        2 => handle.clone().prop_map(|lookup_handle| ("CA1".to_owned(), Leg { lookup_handle, ..Leg::default() })),
        1 => (2..4u8, role.clone(), identity.clone(), handle.clone()).prop_map(|(n, role, agent_identity, lookup_handle)| {
            (format!("CA{n}"), Leg { parent_call_id: Some("CA1".into()), role, agent_identity, lookup_handle, ..Leg::default() })
        }),
        1 => (1..4u8, role, identity, handle).prop_map(|(n, role, agent_identity, lookup_handle)| {
            (format!("CA{n}"), Leg { session_id: Some("S1".into()), role, agent_identity, lookup_handle, ..Leg::default() })
        }),
    ]
}

/// One delivery of one call: the event, and when callgate recorded it.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a test's generated input, never stored"
)]
enum Input {
    Event(Box<CallEvent>, OffsetDateTime),
    Select(Selection),
}

fn inputs() -> impl Strategy<Value = Vec<Input>> {
    let event = (
        0..40usize,
        kind(),
        party(),
        proptest::option::of(0..120i64),
        0..120i64,
        leg(),
    )
        .prop_map(|(n, kind, party, occurred, recorded, (leg_id, leg))| {
            Input::Event(
                Box::new(CallEvent {
                    dedupe_key: format!("k{n}"),
                    provider_call_id: leg_id,
                    occurred_at: occurred.map(at),
                    party,
                    kind,
                    leg,
                }),
                at(recorded),
            )
        });
    let select = (
        0..120i64,
        0..3u64,
        prop_oneof![Just("t-a"), Just("t-b"), Just("t-c")],
        prop_oneof![Just(Entry::Entered), Just(Entry::Found), Just(Entry::Moved)],
    )
        .prop_map(|(t, seq, tenant, entry)| {
            Input::Select(Selection {
                at: at(t),
                seq,
                tenant_id: tenant.into(),
                agent_id: Some("agent".into()),
                entry,
            })
        });
    proptest::collection::vec(prop_oneof![4 => event, 1 => select], 0..24)
}

/// Deliveries with the same dedupe key are one delivery (the store keeps the first).
fn dedupe(inputs: Vec<Input>) -> Vec<Input> {
    let mut seen = std::collections::BTreeSet::new();
    inputs
        .into_iter()
        .filter(|i| match i {
            Input::Event(e, _) => seen.insert(e.dedupe_key.clone()),
            Input::Select(_) => true,
        })
        .collect()
}

fn fold(inputs: &[Input]) -> CallFold {
    let mut f = CallFold::default();
    for i in inputs {
        match i {
            Input::Event(e, recorded) => f.apply_as(e, *recorded, source(e)),
            Input::Select(s) => f.select(s.clone()),
        }
    }
    f
}

/// Where an event came from, fixed by its key: a webhook, a lookup's answer, or a time-out
/// (the same event always comes from the same place).
fn source(e: &CallEvent) -> EndedBy {
    match super::call::stable_hash(&e.dedupe_key) % 3 {
        0 => EndedBy::Provider,
        1 => EndedBy::Reconciled,
        _ => EndedBy::TimedOut,
    }
}

fn resolution(kind: NumberKind) -> Resolution {
    Resolution {
        number: "+18005550199".into(),
        kind,
        tenant_id: (kind == NumberKind::Local).then(|| "t-local".into()),
        tenant_ids: if kind == NumberKind::Regional {
            vec!["t-a".into(), "t-b".into()]
        } else {
            vec![]
        },
        forwarded_from: None,
        via_forwarded: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any permutation of any multiset of a call's deliveries yields the same call as
    /// in-order delivery, and so the same tenant and recording decision.
    #[test]
    fn any_order_and_any_duplicates_give_the_same_call(
        base in inputs().prop_map(dedupe),
        extra in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        seed in any::<u64>(),
        kind in prop_oneof![Just(NumberKind::Local), Just(NumberKind::National), Just(NumberKind::Regional), Just(NumberKind::Unknown)],
    ) {
        let in_order = fold(&base);
        let mut shuffled = base.clone();
        if !base.is_empty() {
            for idx in &extra {
                shuffled.push(base[idx.index(base.len())].clone());
            }
        }
        let mut rng = seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = usize::try_from(rng >> 33).unwrap() % (i + 1);
            shuffled.swap(i, j);
        }
        let any_order = fold(&shuffled);
        prop_assert_eq!(&any_order, &in_order);
        for call in ["CA1", "S1"] {
            prop_assert_eq!(any_order.lookup_target(call), in_order.lookup_target(call));
        }
        let r = resolution(kind);
        prop_assert_eq!(gate::tenant_outcome(&any_order, Some(&r)), gate::tenant_outcome(&in_order, Some(&r)));
    }

    /// State never moves backwards: folding one more event never lowers the rank.
    #[test]
    fn state_only_moves_forward(base in inputs().prop_map(dedupe), e in (kind(), party())) {
        let before = fold(&base);
        let mut after = before.clone();
        let event = CallEvent { dedupe_key: "late".into(), provider_call_id: "CA1".into(), occurred_at: Some(at(200)), party: e.1, kind: e.0, leg: callgate_adapters::kit::Leg::default(),  };
        after.apply(&event, at(200));
        let rank = |f: &CallFold| f.progress.map(super::call::progress_rank);
        prop_assert!(rank(&after) >= rank(&before));
        prop_assert!(after.started_at <= before.started_at || before.started_at.is_none());
        prop_assert!(after.ended_at >= before.ended_at);
    }
}

fn ev(key: &str, kind: EventKind, t: i64) -> CallEvent {
    CallEvent {
        dedupe_key: key.into(),
        provider_call_id: "CA1".into(),
        occurred_at: Some(at(t)),
        party: Party::default(),
        kind,
        leg: callgate_adapters::kit::Leg::default(),
    }
}

fn call_ev(key: &str, progress: CallProgress, t: i64) -> CallEvent {
    ev(key, EventKind::Call { progress }, t)
}

fn rec_ev(status: RecordingProgress, t: i64) -> CallEvent {
    ev(
        &format!("rec-{status:?}"),
        EventKind::Recording(RecordingEvent {
            recording_id: "RE1".into(),
            status,
            url: Some("https://media.example/RE1".into()),
            duration_s: Some(41),
        }),
        t,
    )
}

#[test]
fn times_take_the_earliest_start_and_answer_and_the_latest_end() {
    let mut f = CallFold::default();
    f.apply(&call_ev("a", CallProgress::Completed, 90), at(91));
    f.apply(&call_ev("b", CallProgress::Answered, 10), at(11));
    f.apply(&call_ev("c", CallProgress::Ringing, 5), at(6));
    f.apply(&call_ev("d", CallProgress::Answered, 12), at(13));
    f.apply(&call_ev("e", CallProgress::Failed, 95), at(96));
    assert_eq!(
        f.progress,
        Some(CallProgress::Completed),
        "completed wins over other endings"
    );
    assert_eq!(f.started_at, Some(at(5)));
    assert_eq!(f.answered_at, Some(at(10)));
    assert_eq!(f.ended_at, Some(at(95)));
    assert_eq!(f.end_recorded_at, Some(at(91)));
}

#[test]
fn events_without_a_time_use_when_they_were_recorded() {
    let mut f = CallFold::default();
    let mut e = call_ev("a", CallProgress::Ringing, 0);
    e.occurred_at = None;
    f.apply(&e, at(42));
    assert_eq!(f.started_at, Some(at(42)));
}

/// The gate, for every combination: number kind × selection (none, before the end, only
/// after the end) × call ended × what the provider reported of the recording.
#[test]
fn the_recording_gate_decides_exactly_as_specified() {
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Sel {
        None,
        Before,
        AfterEnd,
    }
    let kinds = [
        NumberKind::Local,
        NumberKind::National,
        NumberKind::Regional,
        NumberKind::Unknown,
    ];
    let recs = [
        None,
        Some(RecordingProgress::InProgress),
        Some(RecordingProgress::Completed),
        Some(RecordingProgress::Absent),
        Some(RecordingProgress::Failed),
    ];
    let mut checked = 0;
    for kind in kinds {
        for sel in [Sel::None, Sel::Before, Sel::AfterEnd] {
            for ended in [false, true] {
                if sel == Sel::AfterEnd && !ended {
                    continue;
                }
                for rec in recs {
                    let mut f = CallFold::default();
                    f.apply(&call_ev("start", CallProgress::Answered, 0), at(1));
                    if let Some(status) = rec {
                        f.apply(&rec_ev(status, 5), at(6));
                    }
                    if ended {
                        f.apply(&call_ev("end", CallProgress::Completed, 60), at(61));
                    }
                    match sel {
                        Sel::None => {}
                        Sel::Before => f.select(Selection {
                            at: at(30),
                            seq: 0,
                            tenant_id: "t-a".into(),
                            agent_id: None,
                            entry: Entry::Entered,
                        }),
                        Sel::AfterEnd => f.select(Selection {
                            at: at(62),
                            seq: 0,
                            tenant_id: "t-a".into(),
                            agent_id: None,
                            entry: Entry::Entered,
                        }),
                    }
                    let t = gate::tenant_outcome(&f, Some(&resolution(kind)));
                    let exists = f.recordings.values().any(|r| r.exists());
                    let r = gate::recording_status(t.status, exists);

                    let expected_tenant = match (kind, sel, ended) {
                        (NumberKind::Local, _, _) => TenantStatus::Resolved,
                        (_, Sel::Before, _) => TenantStatus::Selected,
                        (_, _, true) => TenantStatus::Unresolved,
                        (_, _, false) => TenantStatus::Pending,
                    };
                    assert_eq!(
                        t.status, expected_tenant,
                        "{kind:?} {sel:?} ended={ended} {rec:?}"
                    );
                    let has_media = matches!(
                        rec,
                        Some(RecordingProgress::InProgress | RecordingProgress::Completed)
                    );
                    let expected_rec = match (has_media, expected_tenant) {
                        (false, _) => RecordingStatus::None,
                        (true, TenantStatus::Resolved | TenantStatus::Selected) => {
                            RecordingStatus::Saved
                        }
                        (true, TenantStatus::Pending) => RecordingStatus::Gated,
                        (true, TenantStatus::Unresolved) => RecordingStatus::Discarded,
                    };
                    assert_eq!(r, expected_rec, "{kind:?} {sel:?} ended={ended} {rec:?}");
                    assert_eq!(r.exposes_location(), expected_rec == RecordingStatus::Saved);
                    let deletes = gate::recordings_to_delete(&f, r);
                    let should_delete = r == RecordingStatus::Discarded
                        && rec == Some(RecordingProgress::Completed);
                    assert_eq!(
                        !deletes.is_empty(),
                        should_delete,
                        "{kind:?} {sel:?} ended={ended} {rec:?}"
                    );
                    match expected_tenant {
                        TenantStatus::Resolved => assert_eq!(
                            (t.tenant_id.as_deref(), t.via),
                            (Some("t-local"), Some(TenantVia::LocalNumber))
                        ),
                        TenantStatus::Selected => assert_eq!(
                            (t.tenant_id.as_deref(), t.via),
                            (Some("t-a"), Some(TenantVia::Agent))
                        ),
                        _ => assert_eq!((t.tenant_id, t.via), (None, None)),
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * 5 * 5);
}

#[test]
fn the_recording_is_kept_for_the_tenant_selected_last_before_the_end() {
    let mut f = CallFold::default();
    f.apply(&call_ev("start", CallProgress::Answered, 0), at(1));
    f.select(Selection {
        at: at(10),
        seq: 0,
        tenant_id: "t-a".into(),
        agent_id: None,
        entry: Entry::Entered,
    });
    f.select(Selection {
        at: at(20),
        seq: 1,
        tenant_id: "t-b".into(),
        agent_id: None,
        entry: Entry::Entered,
    });
    f.apply(&call_ev("end", CallProgress::Completed, 30), at(31));
    f.select(Selection {
        at: at(40),
        seq: 2,
        tenant_id: "t-c".into(),
        agent_id: None,
        entry: Entry::Entered,
    });
    f.apply(&rec_ev(RecordingProgress::Completed, 35), at(45));
    let t = gate::tenant_outcome(&f, Some(&resolution(NumberKind::National)));
    assert_eq!(t.tenant_id.as_deref(), Some("t-b"));
    assert!(!t.first_choice);
    assert_eq!(
        gate::recording_status(t.status, true),
        RecordingStatus::Saved
    );
}

#[test]
fn screen_pops_prefill_only_for_local_calls_and_the_first_tenant() {
    let ctx = || PopContext {
        booking_url: Some("https://t.example/book".into()),
        contact_name: Some("Jane Doe".into()),
        provider_caller_name: Some("WIRELESS CALLER".into()),
    };
    let mut f = CallFold::default();
    let local = gate::tenant_outcome(&f, Some(&resolution(NumberKind::Local)));
    let pop = screen_pop("c1", Some("+15125550123"), &local, ctx());
    assert!(pop.call_bubble_selected && pop.customer_prefilled && !pop.needs_tenant);
    assert_eq!(pop.caller_name.as_deref(), Some("Jane Doe"));

    let pending = gate::tenant_outcome(&f, Some(&resolution(NumberKind::National)));
    let pop = screen_pop("c1", Some("+15125550123"), &pending, ctx());
    assert!(
        pop.needs_tenant
            && !pop.call_bubble_selected
            && pop.tenant_url.is_none()
            && pop.tenant_id.is_none()
    );
    assert_eq!(
        pop.caller_name.as_deref(),
        Some("WIRELESS CALLER"),
        "only the provider's name before a tenant is known"
    );

    f.select(Selection {
        at: at(1),
        seq: 0,
        tenant_id: "t-a".into(),
        agent_id: None,
        entry: Entry::Entered,
    });
    let first = gate::tenant_outcome(&f, Some(&resolution(NumberKind::National)));
    assert!(screen_pop("c1", None, &first, ctx()).call_bubble_selected);
    f.select(Selection {
        at: at(2),
        seq: 1,
        tenant_id: "t-b".into(),
        agent_id: None,
        entry: Entry::Entered,
    });
    let later = gate::tenant_outcome(&f, Some(&resolution(NumberKind::National)));
    let pop = screen_pop("c1", None, &later, ctx());
    assert!(!pop.call_bubble_selected && !pop.customer_prefilled);
    assert_eq!(pop.tenant_url.as_deref(), Some("https://t.example/book"));

    let no_name = PopContext {
        booking_url: None,
        contact_name: None,
        provider_caller_name: None,
    };
    assert_eq!(
        screen_pop("c1", Some("+1"), &later, no_name).caller_name,
        None,
        "otherwise only the number"
    );
}

fn selection(t: i64, seq: u64, tenant: &str, entry: Entry) -> Selection {
    Selection {
        at: at(t),
        seq,
        tenant_id: tenant.into(),
        agent_id: Some("agent".into()),
        entry,
    }
}

#[test]
fn only_the_first_tenant_entered_from_the_prompt_prefills() {
    let national = resolution(NumberKind::National);
    // Found first: no prefill, nor for the tenant entered after it from the prompt.
    let mut f = CallFold::default();
    f.select(selection(1, 0, "t-a", Entry::Found));
    let t = gate::tenant_outcome(&f, Some(&national));
    assert_eq!(t.tenant_id.as_deref(), Some("t-a"));
    assert!(!t.first_choice);
    f.select(selection(2, 1, "t-b", Entry::Entered));
    assert!(!gate::tenant_outcome(&f, Some(&national)).first_choice);

    // Entered first prefills; the same tenant found again later does not.
    let mut f = CallFold::default();
    f.select(selection(1, 0, "t-a", Entry::Entered));
    assert!(gate::tenant_outcome(&f, Some(&national)).first_choice);
    f.select(selection(2, 1, "t-a", Entry::Found));
    let t = gate::tenant_outcome(&f, Some(&national));
    assert_eq!(t.tenant_id.as_deref(), Some("t-a"));
    assert!(!t.first_choice);
}

#[test]
fn a_local_call_moves_only_by_a_move_made_before_its_end() {
    let local = resolution(NumberKind::Local);
    let mut f = CallFold::default();
    // A selection made while the call waited (its number not yet known) does not count
    // against its local number.
    f.select(selection(1, 0, "t-a", Entry::Entered));
    let t = gate::tenant_outcome(&f, Some(&local));
    assert_eq!(
        (t.status, t.tenant_id.as_deref()),
        (TenantStatus::Resolved, Some("t-local"))
    );

    f.select(selection(2, 1, "t-b", Entry::Moved));
    let t = gate::tenant_outcome(&f, Some(&local));
    assert_eq!(t.status, TenantStatus::Selected);
    assert_eq!(t.tenant_id.as_deref(), Some("t-b"));
    assert_eq!(t.via, Some(TenantVia::Agent));
    assert!(!t.first_choice, "a moved call never prefills");
    assert_eq!(
        gate::recording_status(t.status, true),
        RecordingStatus::Saved
    );

    // A move stored after the end does not count.
    f.apply(&call_ev("end", CallProgress::Completed, 3), at(3));
    f.select(selection(4, 2, "t-c", Entry::Moved));
    let t = gate::tenant_outcome(&f, Some(&local));
    assert_eq!(t.tenant_id.as_deref(), Some("t-b"));
}

/// Who ended a call is who reported the end callgate recorded first, in either order of
/// the deliveries; an end reported at the same instant goes to the provider's webhook.
#[test]
fn the_first_recorded_end_names_who_ended_the_call() {
    let lookup = call_ev("lookup", CallProgress::Completed, 50);
    let webhook = call_ev("webhook", CallProgress::Completed, 50);
    let end = |steps: &[(&CallEvent, i64, EndedBy)]| {
        let mut f = CallFold::default();
        f.apply(&call_ev("start", CallProgress::Answered, 1), at(2));
        assert_eq!(f.ended_by(), None);
        for (e, recorded, by) in steps {
            f.apply_as(e, at(*recorded), *by);
        }
        f.ended_by()
    };
    let reconciled = [
        (&lookup, 60, EndedBy::Reconciled),
        (&webhook, 70, EndedBy::Provider),
    ];
    assert_eq!(end(&reconciled), Some(EndedBy::Reconciled));
    let mut late_first = reconciled;
    late_first.reverse();
    assert_eq!(end(&late_first), Some(EndedBy::Reconciled));
    assert_eq!(
        end(&[
            (&webhook, 60, EndedBy::Provider),
            (&lookup, 60, EndedBy::Reconciled)
        ]),
        Some(EndedBy::Provider)
    );
    let timeout = call_ev("timeout", CallProgress::Failed, 40);
    assert_eq!(
        end(&[
            (&webhook, 70, EndedBy::Provider),
            (&timeout, 40, EndedBy::TimedOut)
        ]),
        Some(EndedBy::TimedOut)
    );
    // A lookup that does not end the call names nobody; an end from before callgate kept
    // who ended calls is the provider's.
    let answered = call_ev("lookup-answered", CallProgress::Answered, 30);
    assert_eq!(end(&[(&answered, 60, EndedBy::Reconciled)]), None);
    let mut old = CallFold::default();
    old.apply(&webhook, at(60));
    old.ended_by = None;
    assert_eq!(old.ended_by(), Some(EndedBy::Provider));
}

/// A fold of one ringing event between `from` and `to`, in `direction` (untold: `None`).
fn fold_between(direction: Option<Direction>, from: &str, to: &str) -> CallFold {
    let mut event = call_ev("ringing", CallProgress::Ringing, 1);
    event.party = Party {
        direction,
        from: Some(from.into()),
        to: Some(to.into()),
        ..Party::default()
    };
    let mut f = CallFold::default();
    f.apply(&event, at(1));
    f
}

#[test]
fn the_customer_is_the_caller_of_an_inbound_call_and_the_called_of_an_outbound_one() {
    let (person, business) = ("+15125550123", "+15125550100");
    let inbound = fold_between(Some(Direction::Inbound), person, business);
    assert_eq!(inbound.customer_number(), Some(person));
    assert_eq!(inbound.tenant_number(), Some(business));
    let callback = fold_between(Some(Direction::Outbound), business, person);
    assert_eq!(callback.customer_number(), Some(person));
    assert_eq!(callback.tenant_number(), Some(business));
    let untold = fold_between(None, person, business);
    assert_eq!(
        untold.customer_number(),
        Some(person),
        "inbound when untold"
    );
    assert_eq!(untold.tenant_number(), Some(business));
    assert_eq!(CallFold::default().customer_number(), None);
}
