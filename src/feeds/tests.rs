use super::*;
use crate::access::TenantScope;
use crate::domain::chat::{Direction, ThreadAction, ThreadState};
use crate::store::bookings::{self as booking_rows, NewBooking};
use crate::store::chats::{self as chat_rows, NewMessage};
use crate::store::directory::{self, Tenant};

fn viewer(tenants: &[&str]) -> Viewer {
    Viewer {
        id: "agent".into(),
        tenants: TenantScope::Only(tenants.iter().map(|t| (*t).to_owned()).collect()),
        manages_users: false,
    }
}

fn named(id: &str, tenant: Option<&str>) -> Named {
    Named {
        id: id.into(),
        tenant: tenant.map(str::to_owned),
    }
}

/// A thread of `tenant` with id `id`, and a booking of the same ids, stored at `now`.
fn seed(db: &Db<'_>, tenant: &str, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    let t = Tenant {
        tenant_id: tenant.into(),
        name: format!("{tenant} HVAC"),
        zip_codes: vec![],
        trades: vec![],
        booking_url: None,
    };
    directory::put_tenant(db, &t, now)?;
    let m = NewMessage {
        message_id: None,
        tenant_id: tenant.into(),
        thread_id: id.into(),
        sender: "+15125550123".into(),
        direction: Direction::Inbound,
        body: "hello".into(),
    };
    chat_rows::post_message(db, &m, "feed", now)?;
    let b = NewBooking {
        booking_id: id.into(),
        tenant_id: tenant.into(),
        customer_name: "Jane".into(),
        phone: "+15125550123".into(),
        zip: "78701".into(),
        trade: "hvac".into(),
    };
    booking_rows::put(db, &b, now)?;
    Ok(())
}

fn refusal<T>(r: Result<T, StoreError>) -> Option<Refusal> {
    match r {
        Err(StoreError::Refused(r)) => Some(r),
        _ => None,
    }
}

/// A thread or booking of a tenant the agent does not see answers as an unknown one does,
/// and changes nothing; one it sees is acted on.
#[tokio::test]
async fn actions_on_unseen_tenants_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    let now = OffsetDateTime::UNIX_EPOCH;
    store
        .write(move |db| seed(db, "t-austin", "x-1", now))
        .await
        .unwrap();
    let refused = store
        .write(move |db| {
            let dallas = viewer(&["t-dallas"]);
            let n = named("x-1", None);
            let thread = chats::act_on_thread(db, &dallas, &n, ThreadAction::Close, now);
            let booking = bookings::mark_booked(db, &dallas, &n, now);
            Ok::<_, StoreError>((refusal(thread), refusal(booking)))
        })
        .await
        .unwrap();
    assert_eq!(
        refused,
        (
            Some(Refusal::ThreadNotFound),
            Some(Refusal::BookingNotFound)
        )
    );
    let (thread, booking) = store
        .read(|db| {
            Ok::<_, StoreError>((
                chat_rows::get_thread(db, "t-austin", "x-1")?,
                booking_rows::get(db, "t-austin", "x-1")?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(thread.unwrap().state, ThreadState::Open);
    assert!(booking.unwrap().booked_at.is_none());
    let (thread, booking) = store
        .write(move |db| {
            let austin = viewer(&["t-austin"]);
            let n = named("x-1", None);
            Ok::<_, StoreError>((
                chats::act_on_thread(db, &austin, &n, ThreadAction::Close, now)?,
                bookings::mark_booked(db, &austin, &n, now)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(thread.state, ThreadState::Closed);
    assert_eq!(booking.booked_by.as_deref(), Some("agent"));
}

/// An id two of the agent's tenants use is ambiguous until the agent names the tenant; a
/// tenant named that the agent does not see finds nothing.
#[tokio::test]
async fn an_id_of_several_seen_tenants_needs_its_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    let now = OffsetDateTime::UNIX_EPOCH;
    store
        .write(move |db| {
            seed(db, "t-austin", "x-1", now)?;
            seed(db, "t-dallas", "x-1", now)
        })
        .await
        .unwrap();
    let both = viewer(&["t-austin", "t-dallas"]);
    let austin_only = viewer(&["t-austin"]);
    let (ambiguous, unseen, chosen) = store
        .write(move |db| {
            let close = ThreadAction::Close;
            let ambiguous = chats::act_on_thread(db, &both, &named("x-1", None), close, now);
            let unseen =
                bookings::mark_booked(db, &austin_only, &named("x-1", Some("t-dallas")), now);
            let chosen = bookings::mark_booked(db, &both, &named("x-1", Some("t-dallas")), now)?;
            Ok::<_, StoreError>((refusal(ambiguous), refusal(unseen), chosen))
        })
        .await
        .unwrap();
    assert_eq!(ambiguous, Some(Refusal::AmbiguousId("chat thread")));
    assert_eq!(unseen, Some(Refusal::BookingNotFound));
    assert_eq!(chosen.request.tenant_id, "t-dallas");
    let austin = store
        .read(|db| booking_rows::get(db, "t-austin", "x-1"))
        .await
        .unwrap()
        .unwrap();
    assert!(austin.booked_at.is_none());
}
