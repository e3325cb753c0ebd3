//! Legs and forwarding in the call fold and the tenant outcome.

use super::call::{CallFold, LegPart};
use super::gate::{self, TenantStatus, TenantVia};
use super::numbers::{NumberKind, Resolution};
use callgate_adapters::kit::{
    CallEvent, CallProgress, Direction, EventKind, Leg, LegRole, Party, RecordingEvent,
    RecordingProgress, RoutingReason,
};
use time::OffsetDateTime;

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs)
}

fn event(leg_id: &str, leg: Leg, from: &str, to: &str, kind: EventKind, secs: i64) -> CallEvent {
    CallEvent {
        dedupe_key: format!("{leg_id}:{kind:?}"),
        provider_call_id: leg_id.into(),
        occurred_at: Some(at(secs)),
        party: Party {
            direction: Some(Direction::Inbound),
            from: Some(from.into()),
            to: Some(to.into()),
            ..Party::default()
        },
        kind,
        leg,
    }
}

fn progress(p: CallProgress) -> EventKind {
    EventKind::Call { progress: p }
}

/// A leg of the call `CA1` dialed to the agent `identity`.
pub(crate) fn agent_leg(identity: &str) -> Leg {
    Leg {
        parent_call_id: Some("CA1".into()),
        role: Some(LegRole::Agent),
        agent_identity: Some(identity.into()),
        ..Leg::default()
    }
}

#[test]
fn an_agents_leg_is_a_leg_of_the_customers_call_and_never_its_state() {
    let mut f = CallFold::default();
    f.apply(
        &event(
            "CA1",
            Leg::default(),
            "+15125550123",
            "+18005550199",
            progress(CallProgress::Answered),
            1,
        ),
        at(1),
    );
    let child = event(
        "CA2",
        agent_leg("client:ana"),
        "+18005550199",
        "client:ana",
        progress(CallProgress::Completed),
        2,
    );
    assert_eq!(child.call_id(), "CA1");
    assert_eq!(LegPart::of(&child), LegPart::Other);
    f.apply(&child, at(2));

    assert_eq!(f.progress, Some(CallProgress::Answered), "the call goes on");
    assert_eq!(f.to.as_ref().unwrap().value, "+18005550199");
    assert!(!f.has_ended());
    let leg = &f.legs["CA2"];
    assert_eq!(leg.role, Some(LegRole::Agent));
    assert_eq!(leg.progress, Some(CallProgress::Completed));
    assert_eq!(leg.to.as_ref().unwrap().value, "client:ana");
    assert_eq!(leg.agent_identity.as_ref().unwrap().value, "client:ana");
    assert_eq!(f.customer_leg("CA1"), "CA1");
}

#[test]
fn a_recording_on_any_leg_is_the_calls() {
    let mut f = CallFold::default();
    let rec = EventKind::Recording(RecordingEvent {
        recording_id: "RE1".into(),
        status: RecordingProgress::Completed,
        url: None,
        duration_s: Some(30),
    });
    f.apply(
        &event("CA2", agent_leg("client:ana"), "", "", rec, 3),
        at(3),
    );
    assert!(f.recordings["RE1"].exists());
    assert_eq!(f.progress, None, "and tells nothing of the call's state");
}

#[test]
fn legs_sharing_a_session_make_one_call_known_by_its_customers_leg() {
    let session = |role| Leg {
        session_id: Some("S1".into()),
        role,
        ..Leg::default()
    };
    let customer = event(
        "L-in",
        session(Some(LegRole::Customer)),
        "+15125550123",
        "+18005550199",
        progress(CallProgress::Answered),
        1,
    );
    let outgoing = event(
        "L-out",
        session(None),
        "+18005550199",
        "+15125550777",
        progress(CallProgress::Ringing),
        0,
    );
    assert_eq!((customer.call_id(), outgoing.call_id()), ("S1", "S1"));
    assert_eq!(LegPart::of(&customer), LegPart::Customer);
    assert_eq!(LegPart::of(&outgoing), LegPart::Session);

    let mut only_out = CallFold::default();
    only_out.apply(&outgoing, at(0));
    assert_eq!(
        only_out.customer_leg("S1"),
        "L-out",
        "a call of one outgoing leg is that leg"
    );
    assert_eq!(only_out.progress, Some(CallProgress::Ringing));

    for order in [[&customer, &outgoing], [&outgoing, &customer]] {
        let mut f = CallFold::default();
        for e in order {
            f.apply(e, at(5));
        }
        assert_eq!(f.customer_leg("S1"), "L-in");
        assert_eq!(
            f.from.as_ref().unwrap().value,
            "+18005550199",
            "the earliest leg's"
        );
        assert_eq!(f.legs["L-in"].role, Some(LegRole::Customer));
        assert_eq!(f.legs["L-out"].role, None, "not said");
    }
}

/// A lookup asks about the customer's leg, by the handle that leg's events gave: the
/// session's customer leg's (not another leg's), the call's own when it is its own leg, and
/// none when no event gave one.
#[test]
fn a_lookup_targets_the_customers_leg_by_its_handle() {
    let session = |role, handle: &str| Leg {
        session_id: Some("S1".into()),
        role,
        lookup_handle: Some(handle.into()),
        ..Leg::default()
    };
    let customer = event(
        "L-in",
        session(Some(LegRole::Customer), "v3:in"),
        "+15125550123",
        "+18005550199",
        progress(CallProgress::Answered),
        1,
    );
    let outgoing = event(
        "L-out",
        session(None, "v3:out"),
        "+18005550199",
        "sip:ana@pbx.example.com",
        progress(CallProgress::Answered),
        0,
    );
    // A recording event of the customer's leg that names no handle changes nothing.
    let mut recording = customer.clone();
    recording.dedupe_key = "rec".into();
    recording.leg.lookup_handle = None;
    recording.leg.role = None;
    recording.kind = EventKind::Recording(RecordingEvent {
        recording_id: "r1".into(),
        status: RecordingProgress::Completed,
        url: None,
        duration_s: None,
    });
    for order in [
        [&customer, &outgoing, &recording],
        [&recording, &outgoing, &customer],
    ] {
        let mut f = CallFold::default();
        for e in order {
            f.apply(e, at(5));
        }
        let t = f.lookup_target("S1");
        assert_eq!(
            (t.call_id, t.leg_id, t.handle),
            ("S1", "L-in", Some("v3:in"))
        );
    }
    let mut only_out = CallFold::default();
    only_out.apply(&outgoing, at(0));
    assert_eq!(only_out.lookup_target("S1").handle, Some("v3:out"));

    // A call known by its own id keeps its own leg's handle.
    let mut own = event(
        "L-own",
        Leg::default(),
        "+15125550123",
        "+18005550199",
        progress(CallProgress::Answered),
        1,
    );
    let mut f = CallFold::default();
    f.apply(&own, at(1));
    assert_eq!(
        f.lookup_target("L-own"),
        callgate_adapters::kit::LookupTarget::call("L-own")
    );
    own.dedupe_key = "again".into();
    own.leg.lookup_handle = Some("v3:own".into());
    f.apply(&own, at(2));
    let t = f.lookup_target("L-own");
    assert_eq!((t.leg_id, t.handle), ("L-own", Some("v3:own")));
    assert!(f.legs.is_empty());
}

/// A stored fold from before lookup handles were kept still reads, with none.
#[test]
fn a_fold_stored_without_handles_reads() {
    let stored = r#"{"progress":"answered","legs":{"L-in":{"role":"customer","since":1000}}}"#;
    let f: CallFold = serde_json::from_str(stored).unwrap();
    assert_eq!(f.lookup_handle, None);
    assert_eq!(f.legs["L-in"].lookup_handle, None);
    assert_eq!(f.lookup_target("S1").leg_id, "L-in");
    assert_eq!(f.lookup_target("S1").handle, None);
}

#[test]
fn the_forwarded_from_number_and_the_reason_are_the_customers_legs() {
    let mut customer = event(
        "CA1",
        Leg::default(),
        "+15125550123",
        "+18005550199",
        progress(CallProgress::Ringing),
        1,
    );
    customer.party.forwarded_from = Some("+15125550100".into());
    customer.party.routing_reason = Some(RoutingReason::Overflow);
    let mut child = event(
        "CA2",
        agent_leg("client:ana"),
        "",
        "",
        progress(CallProgress::Ringing),
        0,
    );
    child.party.forwarded_from = Some("+15125550999".into());
    let mut f = CallFold::default();
    f.apply(&child, at(0));
    f.apply(&customer, at(1));
    assert_eq!(f.forwarded_number(), Some("+15125550100"));
    assert_eq!(
        f.routing_reason.as_ref().unwrap().value,
        RoutingReason::Overflow
    );
}

fn resolution(number: &str, kind: NumberKind, tenant: Option<&str>) -> Resolution {
    Resolution {
        number: number.into(),
        kind,
        tenant_id: tenant.map(Into::into),
        tenant_ids: Vec::new(),
        forwarded_from: None,
        via_forwarded: false,
    }
}

#[test]
fn a_call_forwarded_from_a_local_number_is_that_tenants() {
    let forwarded = resolution("+15125550100", NumberKind::Local, Some("t-austin"));
    let own = resolution("+18005550199", NumberKind::National, None);
    let chosen = Resolution::choose(Some(forwarded), Some(own.clone())).unwrap();
    assert!(chosen.via_forwarded);
    assert!(chosen.answers(Some("+18005550199"), Some("+15125550100")));
    assert!(
        chosen.answers(None, Some("+15125550100")),
        "the own number no longer matters"
    );
    assert!(!chosen.answers(Some("+18005550199"), None));
    let t = gate::tenant_outcome(&CallFold::default(), Some(&chosen));
    assert_eq!(
        (t.status, t.tenant_id.as_deref(), t.via),
        (
            TenantStatus::Resolved,
            Some("t-austin"),
            Some(TenantVia::ForwardedFrom)
        )
    );
    assert_eq!(TenantVia::ForwardedFrom.as_str(), "forwarded_from");

    // Forwarded from a number that names no tenant: the call's own number decides.
    let unknown = resolution("+15125550999", NumberKind::Unknown, None);
    let chosen = Resolution::choose(Some(unknown), Some(own)).unwrap();
    assert!(!chosen.via_forwarded);
    assert_eq!(chosen.number, "+18005550199");
    assert_eq!(chosen.forwarded_from.as_deref(), Some("+15125550999"));
    assert!(chosen.answers(Some("+18005550199"), Some("+15125550999")));
    assert!(
        !chosen.answers(Some("+18005550199"), None),
        "stale once forwarding is known"
    );
    let t = gate::tenant_outcome(&CallFold::default(), Some(&chosen));
    assert_eq!(t.status, TenantStatus::Pending);
}
