//! An agent marks a web booking booked.

use super::{Feeds, Named, OfTenant, one_visible};
use crate::access::Viewer;
use crate::domain::refusal::Refusal;
use crate::store::bookings::{self as rows, Booking, BookingStatus};
use crate::store::{Db, StoreError, audit};
use time::OffsetDateTime;

impl OfTenant for Booking {
    fn tenant_id(&self) -> &str {
        &self.request.tenant_id
    }
}

impl Feeds<'_> {
    /// The agent marks a booking booked: see [`mark_booked`].
    pub async fn mark_booked(&self, agent: Viewer, booking: Named) -> Result<Booking, StoreError> {
        self.act(move |db, now| mark_booked(db, &agent, &booking, now))
            .await
    }
}

/// An agent marks a booking of a tenant it sees booked: it stops counting as unbooked, and
/// the change is audited. Marking it again changes nothing. A booking of a tenant the agent
/// does not see is unknown to it (404); an id several of its tenants use, without the
/// tenant, is ambiguous (409).
pub(super) fn mark_booked(
    db: &Db<'_>,
    agent: &Viewer,
    named: &Named,
    now: OffsetDateTime,
) -> Result<Booking, StoreError> {
    let found = rows::with_id(db, &named.id)?;
    let mut booking = one_visible(found, agent, named, Refusal::BookingNotFound, "web booking")?;
    if booking.status == BookingStatus::Booked {
        return Ok(booking);
    }
    rows::set_booked(db, &booking.request, &agent.id, now)?;
    booking.status = BookingStatus::Booked;
    booking.booked_at = Some(now);
    booking.booked_by = Some(agent.id.clone());
    let detail = serde_json::json!({ "booking_id": booking.request.booking_id });
    audit::record(
        db,
        now,
        &agent.id,
        "booking.booked",
        None,
        Some(&booking.request.tenant_id),
        &detail,
    )?;
    db.announce_hub(&booking.request.tenant_id)?;
    Ok(booking)
}
