//! Embedded migrations, tracked with `PRAGMA user_version`.

use super::StoreError;
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_replay_keys.sql"),
    include_str!("../../migrations/sqlite/0003_users.sql"),
    include_str!("../../migrations/sqlite/0004_feeds.sql"),
    include_str!("../../migrations/sqlite/0005_subscriptions.sql"),
    include_str!("../../migrations/sqlite/0006_replay_digest.sql"),
    include_str!("../../migrations/sqlite/0007_feed_ids_per_tenant.sql"),
    include_str!("../../migrations/sqlite/0008_readiness_probe.sql"),
    include_str!("../../migrations/sqlite/0009_calls_unended.sql"),
    include_str!("../../migrations/sqlite/0010_console_sessions.sql"),
    include_str!("../../migrations/sqlite/0011_user_identities.sql"),
];

pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?
        .try_into()
        .unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "the store is at schema version {current}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 7 makes thread and booking ids per tenant: the rows of a store made before
    /// it are kept as they were, and another tenant may then use the same ids.
    #[test]
    fn feed_ids_become_per_tenant_and_existing_rows_are_kept() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
        conn.execute_batch(
            "INSERT INTO chat_threads (id, tenant_id, customer, state, unread, unanswered, messages,
                 last_message_at, created_at, updated_at)
                 VALUES ('th-1', 't-a', '+15125550123', 'open', 1, 2, 2, 5, 1, 5);
             INSERT INTO web_bookings (id, tenant_id, customer_name, phone, zip, trade, received_at,
                 booked_at, booked_by)
                 VALUES ('wb-1', 't-a', 'Jane', '+15125550123', '78701', 'hvac', 3, 4, 'ana');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let thread: (String, String, i64, i64, i64) = conn
            .query_row(
                "SELECT tenant_id, customer, unanswered, messages, updated_at FROM chat_threads
                 WHERE id = 'th-1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(thread, ("t-a".into(), "+15125550123".into(), 2, 2, 5));
        let booking: (String, String, Option<i64>, Option<String>) = conn
            .query_row(
                "SELECT tenant_id, customer_name, booked_at, booked_by FROM web_bookings
                 WHERE id = 'wb-1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            booking,
            ("t-a".into(), "Jane".into(), Some(4), Some("ana".into()))
        );
        conn.execute_batch(
            "INSERT INTO chat_threads (id, tenant_id, state, created_at, updated_at)
                 VALUES ('th-1', 't-b', 'open', 6, 6);
             INSERT INTO web_bookings (id, tenant_id, customer_name, phone, zip, trade, received_at)
                 VALUES ('wb-1', 't-b', 'John', '+15125550124', '75201', 'hvac', 6);",
        )
        .unwrap();
        let again = conn.execute(
            "INSERT INTO chat_threads (id, tenant_id, state, created_at, updated_at)
                 VALUES ('th-1', 't-b', 'open', 7, 7)",
            [],
        );
        assert!(again.is_err(), "still one thread th-1 per tenant");
    }
}
