//! A PostgreSQL session: its client, the statements it has prepared (numbered parameters
//! become PostgreSQL's), the signals of its open transaction, and what its errors mean to
//! the store.

use super::StoreError;
use super::db::Dialect;
use super::rows::{self, StatementsByRows};
use std::collections::HashMap;

/// A PostgreSQL session and the statements it has prepared.
pub struct PgSession {
    pub(super) client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    /// Signals announced in the open transaction, sent just before it commits.
    pub(super) signals: Vec<String>,
    /// The instance the session belongs to, named in the signals it sends.
    pub(super) origin: std::sync::Arc<str>,
    /// The channel of the instances sharing the session's schema ([`signal_channel`]).
    channel: std::sync::Arc<str>,
}

/// The `NOTIFY` channel of the callgate instances whose tables are in `schema`: instances of
/// another deployment in the same database (another schema) never hear them. Readable when
/// it fits PostgreSQL's 63-byte names, else named by a hash of the schema.
pub(super) fn signal_channel(schema: &str) -> String {
    use sha2::{Digest, Sha256};
    let readable = format!("callgate:{schema}");
    if readable.len() <= 63 {
        return readable;
    }
    let digest = Sha256::digest(schema.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("callgate:{hex}")
}

impl std::fmt::Debug for PgSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSession")
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl PgSession {
    pub(super) fn new(
        client: postgres::Client,
        origin: std::sync::Arc<str>,
        channel: std::sync::Arc<str>,
    ) -> Self {
        Self {
            client,
            statements: HashMap::new(),
            signals: Vec::new(),
            origin,
            channel,
        }
    }

    /// Drops the signals of a transaction that will not commit.
    pub(super) fn forget_signals(&mut self) {
        self.signals.clear();
    }

    /// Sends the open transaction's signals (`NOTIFY`, delivered when it commits), a few
    /// statements for all.
    pub(super) fn send_signals(&mut self) -> Result<(), StoreError> {
        // The channel is the parameter after the signals.
        static NOTIFY: StatementsByRows = StatementsByRows::new(|rows| {
            format!(
                "SELECT pg_notify(CAST(?{} AS TEXT), v.column1) FROM (VALUES {}) AS v",
                rows + 1,
                rows::values(rows, &["?"])
            )
        });
        let signals = std::mem::take(&mut self.signals);
        let channel = self.channel.to_string();
        for run in rows::runs(Dialect::Postgres, signals.len()) {
            let statement = self.prepared(NOTIFY.get(run.len()))?;
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = signals[run]
                .iter()
                .chain(std::iter::once(&channel))
                .map(|s| s as &(dyn postgres::types::ToSql + Sync))
                .collect();
            self.client.query(&statement, &params)?;
        }
        Ok(())
    }

    pub(super) fn prepared(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let statement = self.client.prepare(&numbered_to_dollar(sql))?;
        // Listings build statements from their filters: the set stays small, but bound it.
        if self.statements.len() >= 512 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// `?1` → `$1`, outside quoted strings and identifiers.
fn numbered_to_dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            None => out.push(c),
        }
    }
    out
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        use super::StorageFault;
        use postgres::error::SqlState;
        let Some(db) = e.as_db_error() else {
            let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
            return if e.is_closed() || io {
                // The connection itself failed: the database is away.
                Self::Unavailable(format!("database: {e}"))
            } else {
                // Our own statement or value is wrong (a type, a parameter): a bug.
                Self::Internal(format!("database: {e}"))
            };
        };
        let code = db.code();
        let fault = if *code == SqlState::DISK_FULL {
            Some(StorageFault::Full)
        } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            Some(StorageFault::ReadOnly)
        } else if code.code().starts_with("58") {
            // system errors: an I/O error, a file the server cannot find
            Some(StorageFault::Io)
        } else {
            None
        };
        if let Some(fault) = fault {
            return Self::Storage(fault, format!("database: {}", db.message()));
        }
        let transient = code.code().starts_with("08") // connection exceptions
            || code.code().starts_with("53") // insufficient resources
            || code.code().starts_with("57") // operator intervention (shutdown, cancel)
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::LOCK_NOT_AVAILABLE;
        if transient {
            Self::Unavailable(format!("database: {}", db.message()))
        } else if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
            || *code == SqlState::UNTRANSLATABLE_CHARACTER
        {
            // Text the server cannot keep (a NUL character): the caller's value is at fault.
            Self::Refused(crate::domain::refusal::Refusal::NulCharacter)
        } else {
            Self::Internal(format!("database: {} ({})", db.message(), code.code()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schema_signals_on_a_channel_of_its_own() {
        assert_eq!(signal_channel("public"), "callgate:public");
        assert_ne!(signal_channel("t_a"), signal_channel("t_b"));
        let long = "s".repeat(63);
        let hashed = signal_channel(&long);
        assert!(
            hashed.len() <= 63 && hashed.starts_with("callgate:"),
            "{hashed}"
        );
        assert_ne!(hashed, signal_channel(&"s".repeat(62)));
        assert_eq!(hashed, signal_channel(&long), "stable");
    }

    #[test]
    fn numbered_parameters_become_dollar_parameters_outside_quotes() {
        assert_eq!(
            numbered_to_dollar("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d IN (?3, ?12)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d IN ($3, $12)"
        );
        assert_eq!(numbered_to_dollar("SELECT '?' , ?"), "SELECT '?' , ?");
    }
}
