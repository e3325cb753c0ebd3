//! Embedded migrations, tracked with `PRAGMA user_version` (see [`super::numbering`]).

use super::StoreError;
use super::numbering::{self, SQLITE_BEFORE};
use rusqlite::Connection;

/// The migrations, in order: the Nth is `migrations/sqlite/000N_*.sql`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_replay_keys.sql"),
    include_str!("../../migrations/sqlite/0003_users.sql"),
    include_str!("../../migrations/sqlite/0004_feeds.sql"),
    include_str!("../../migrations/sqlite/0005_subscriptions.sql"),
    include_str!("../../migrations/sqlite/0006_replay_digest.sql"),
    include_str!("../../migrations/sqlite/0007_events_unchecked_references.sql"),
    include_str!("../../migrations/sqlite/0008_feed_ids_per_tenant.sql"),
    include_str!("../../migrations/sqlite/0009_readiness_probe.sql"),
    include_str!("../../migrations/sqlite/0010_calls_unended.sql"),
    include_str!("../../migrations/sqlite/0011_console_sessions.sql"),
    include_str!("../../migrations/sqlite/0012_user_identities.sql"),
    include_str!("../../migrations/sqlite/0013_agents_last_call.sql"),
    include_str!("../../migrations/sqlite/0014_reconciliations.sql"),
    include_str!("../../migrations/sqlite/0015_events_by_delivery.sql"),
    include_str!("../../migrations/sqlite/0016_call_legs.sql"),
    include_str!("../../migrations/sqlite/0017_webhook_refusals.sql"),
    include_str!("../../migrations/sqlite/0018_failed_webhook_deliveries.sql"),
    include_str!("../../migrations/sqlite/0019_outbox_backoff_from.sql"),
    include_str!("../../migrations/sqlite/0020_delivery_event_counts.sql"),
    include_str!("../../migrations/sqlite/0021_calls_by_tenant_newest.sql"),
    include_str!("../../migrations/sqlite/0022_retention_cursors.sql"),
];

pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let counter: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = numbering::applied(counter, SQLITE_BEFORE, MIGRATIONS.len())?;
    if counter < numbering::NUMBERED && counter > 0 {
        conn.pragma_update(None, "user_version", numbering::counter(applied))?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", numbering::counter(i + 1))?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 8 makes thread and booking ids per tenant: the rows of a store made before
    /// it are kept as they were, and another tenant may then use the same ids.
    #[test]
    fn feed_ids_become_per_tenant_and_existing_rows_are_kept() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..7] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", numbering::counter(7))
            .unwrap();
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

    /// Migration 20 counts, on each delivery stored before it, the events it brought, and
    /// keeps every event (without the foreign keys).
    #[test]
    fn deliveries_stored_before_counting_events_are_counted_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for sql in &MIGRATIONS[..19] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", numbering::counter(19))
            .unwrap();
        conn.execute_batch(
            "INSERT INTO deliveries (id, connection_id, digest, received_at, method, target, body)
                 VALUES (1, 'c', x'00', 1, 'POST', '/w', x'01'), (2, 'c', x'00', 2, 'POST', '/w', x'01');
             INSERT INTO calls (seq, id, connection_id, provider, provider_call_id, tenant_status,
                 recording_status, fold, created_at, updated_at)
                 VALUES (7, 'call-1', 'c', 'twilio', 'CA1', 'pending', 'none', '{}', 1, 2);
             INSERT INTO events (call_seq, dedupe_key, delivery_id, recorded_at, kind)
                 VALUES (7, 'a', 1, 1, 'call:ringing'), (7, 'b', 1, 1, 'call:answered');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let counts: Vec<(i64, i64)> = conn
            .prepare("SELECT id, events FROM deliveries ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(counts, [(1, 2), (2, 0)]);
        let events: i64 = conn
            .query_row("SELECT COUNT(*) FROM events WHERE call_seq = 7", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(events, 2);
        // A delivery can go while an event names it: retention deletes them in either order.
        conn.execute("DELETE FROM deliveries WHERE id = 1", [])
            .unwrap();
    }

    /// The schema of a database: every table's and index's SQL, in name order.
    fn schema_of(conn: &Connection) -> Vec<(String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// A store made before the numbers were shared, at any of its former counts, migrates to
    /// the schema of a new one: no migration runs twice (it would fail) and none is skipped
    /// (the schema would differ).
    #[test]
    fn stores_counted_before_the_shared_numbers_migrate_to_the_same_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        let want = schema_of(&fresh);
        for count in 0..=SQLITE_BEFORE.len() {
            let mut conn = Connection::open_in_memory().unwrap();
            for number in &SQLITE_BEFORE[..count] {
                conn.execute_batch(MIGRATIONS[number - 1]).unwrap();
            }
            let count = i64::try_from(count).unwrap();
            conn.pragma_update(None, "user_version", count).unwrap();
            migrate(&mut conn).unwrap_or_else(|e| panic!("from count {count}: {e}"));
            assert_eq!(schema_of(&conn), want, "from count {count}");
            let version: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(version, numbering::counter(MIGRATIONS.len()));
            migrate(&mut conn).unwrap();
        }
    }

    /// Every file of `migrations/sqlite` is in the list, in the order of its number.
    #[test]
    fn every_migration_file_is_listed_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), MIGRATIONS.len());
        for (name, sql) in names.iter().zip(MIGRATIONS) {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            assert_eq!(&text, sql, "{name} is not listed at its number");
        }
    }
}
