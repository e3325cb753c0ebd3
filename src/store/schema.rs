//! Embedded migrations, tracked with `PRAGMA user_version`.

use crate::error::AppError;
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_replay_keys.sql"),
    include_str!("../../migrations/sqlite/0003_users.sql"),
    include_str!("../../migrations/sqlite/0004_feeds.sql"),
    include_str!("../../migrations/sqlite/0005_subscriptions.sql"),
    include_str!("../../migrations/sqlite/0006_replay_digest.sql"),
];

pub(super) fn migrate(conn: &mut Connection) -> Result<(), AppError> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?
        .try_into()
        .unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(AppError::Internal(format!(
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
