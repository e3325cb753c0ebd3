//! Web bookings: requests customers made on a tenant's site, unbooked until an agent books
//! them.

use super::StoreError;
use super::count;
use super::db::{Db, Row, args};
use super::{directory, from_millis, millis};
use crate::domain::refusal::Refusal;
use serde::Serialize;
use std::collections::HashMap;
use time::OffsetDateTime;

/// A booking as received, validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewBooking {
    pub booking_id: String,
    pub tenant_id: String,
    pub customer_name: String,
    pub phone: String,
    pub zip: String,
    pub trade: String,
}

/// Whether an agent has booked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Unbooked,
    Booked,
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booking {
    #[serde(flatten)]
    pub request: NewBooking,
    pub status: BookingStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub booked_at: Option<OffsetDateTime>,
    pub booked_by: Option<String>,
}

fn from_row(r: &Row<'_, '_>) -> Result<Booking, StoreError> {
    let booked_at = r.get::<Option<i64>>(7)?.map(from_millis);
    Ok(Booking {
        status: if booked_at.is_some() {
            BookingStatus::Booked
        } else {
            BookingStatus::Unbooked
        },
        request: NewBooking {
            booking_id: r.get(0)?,
            tenant_id: r.get(1)?,
            customer_name: r.get(2)?,
            phone: r.get(3)?,
            zip: r.get(4)?,
            trade: r.get(5)?,
        },
        received_at: from_millis(r.get(6)?),
        booked_at,
        booked_by: r.get(8)?,
    })
}

const COLUMNS: &str =
    "id, tenant_id, customer_name, phone, zip, trade, received_at, booked_at, booked_by";

/// A tenant's booking (booking ids are the tenant's own).
pub fn get(db: &Db<'_>, tenant_id: &str, id: &str) -> Result<Option<Booking>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM web_bookings WHERE tenant_id = ?1 AND id = ?2"),
        args![tenant_id, id],
        from_row,
    )
}

/// Stores a booking. The same booking again (same tenant and id, same fields) answers the
/// stored one; the same id with other fields for the same tenant is refused (409). Another
/// tenant's booking of the same id is another booking.
pub fn put(db: &Db<'_>, b: &NewBooking, now: OffsetDateTime) -> Result<Booking, StoreError> {
    if !directory::tenant_exists(db, &b.tenant_id)? {
        return Err(Refusal::TenantNotFound(None).into());
    }
    if let Some(stored) = get(db, &b.tenant_id, &b.booking_id)? {
        if stored.request == *b {
            return Ok(stored);
        }
        return Err(Refusal::BookingIdConflict(b.booking_id.clone()).into());
    }
    db.exec(
        "INSERT INTO web_bookings (id, tenant_id, customer_name, phone, zip, trade, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![
            b.booking_id,
            b.tenant_id,
            b.customer_name,
            b.phone,
            b.zip,
            b.trade,
            millis(now)
        ],
    )?;
    db.announce_hub(&b.tenant_id)?;
    Ok(Booking {
        request: b.clone(),
        status: BookingStatus::Unbooked,
        received_at: now,
        booked_at: None,
        booked_by: None,
    })
}

/// Every tenant's booking of this id (booking ids are each tenant's own).
pub fn with_id(db: &Db<'_>, id: &str) -> Result<Vec<Booking>, StoreError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM web_bookings WHERE id = ?1"),
        args![id],
        from_row,
    )
}

/// Records that `actor` booked the booking at `now`.
pub fn set_booked(
    db: &Db<'_>,
    b: &NewBooking,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    db.exec(
        "UPDATE web_bookings SET booked_at = ?3, booked_by = ?4 WHERE tenant_id = ?1 AND id = ?2",
        args![b.tenant_id, b.booking_id, millis(now), actor],
    )?;
    Ok(())
}

/// Unbooked web bookings per tenant.
pub fn unbooked_by_tenant(db: &Db<'_>) -> Result<HashMap<String, u32>, StoreError> {
    let rows = db.query(
        "SELECT tenant_id, COUNT(*) FROM web_bookings WHERE booked_at IS NULL GROUP BY tenant_id",
        args![],
        |r| Ok((r.get::<String>(0)?, count(r.get(1)?))),
    )?;
    Ok(rows.into_iter().collect())
}
