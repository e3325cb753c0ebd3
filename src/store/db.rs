//! One SQL interface over both backends: the embedded SQLite store and PostgreSQL.
//!
//! Store code is written once, against [`Db`]: statements use numbered parameters (`?1`,
//! `?2`, ...), which become `$1`, `$2`, ... on PostgreSQL, and bind [`Arg`]s made by
//! [`args!`]. Rows are read through [`Row::get`]. The few statements the two dialects spell
//! differently ask [`Db::dialect`].

use super::StoreError;
use super::rows::{self, Texts};
use std::cell::RefCell;
use std::collections::HashMap;

/// Which SQL a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A subquery yielding the strings of the JSON array bound as parameter `n`.
    pub fn json_array_values(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("(SELECT value FROM json_each(?{n}))"),
            Dialect::Postgres => {
                format!("(SELECT json_array_elements_text(CAST(?{n} AS TEXT)::json))")
            }
        }
    }
}

/// A bound parameter. Integers, text and bytes are all the store keeps; a PostgreSQL
/// `BOOLEAN` column takes an integer (0 is false).
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// An owned parameter, for statements built at run time ([`super::Listing`]).
#[derive(Debug, Clone)]
pub enum Owned {
    Null,
    Int(i64),
    Text(String),
}

impl ToArg for Owned {
    fn to_arg(&self) -> Arg<'_> {
        match self {
            Owned::Null => Arg::Null,
            Owned::Int(i) => Arg::Int(*i),
            Owned::Text(s) => Arg::Text(s),
        }
    }
}

impl From<i64> for Owned {
    fn from(i: i64) -> Self {
        Owned::Int(i)
    }
}

impl From<String> for Owned {
    fn from(s: String) -> Self {
        Owned::Text(s)
    }
}

impl From<&str> for Owned {
    fn from(s: &str) -> Self {
        Owned::Text(s.to_owned())
    }
}

/// What can be bound as an [`Arg`].
pub trait ToArg {
    fn to_arg(&self) -> Arg<'_>;
}

impl ToArg for i64 {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Int(*self)
    }
}

impl ToArg for u32 {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Int(i64::from(*self))
    }
}

impl ToArg for bool {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Int(i64::from(*self))
    }
}

impl ToArg for str {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}

impl ToArg for String {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}

impl ToArg for [u8] {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}

impl ToArg for Vec<u8> {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}

impl<const N: usize> ToArg for [u8; N] {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Arg<'_> {
        (**self).to_arg()
    }
}

impl<T: ToArg> ToArg for Option<T> {
    fn to_arg(&self) -> Arg<'_> {
        self.as_ref().map_or(Arg::Null, ToArg::to_arg)
    }
}

impl ToArg for Arg<'_> {
    fn to_arg(&self) -> Arg<'_> {
        *self
    }
}

/// Parameters for a statement: `args![a, b, c]` binds `?1`, `?2`, `?3`.
#[macro_export]
macro_rules! args {
    ($($e:expr),* $(,)?) => {
        &[$($crate::store::db::ToArg::to_arg(&$e)),*]
    };
}
pub use args;

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Null => ValueRef::Null,
            Arg::Int(i) => ValueRef::Integer(i),
            Arg::Text(s) => ValueRef::Text(s.as_bytes()),
            Arg::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl postgres::types::ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match *self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            Arg::Text(s) => s.to_sql(ty, out),
            Arg::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A column value either backend can read: integers, booleans, text, bytes, and options of
/// them.
pub trait FromCol: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self>;
    fn from_pg(row: &postgres::Row, i: usize) -> Result<Self, postgres::Error>;
}

impl<T> FromCol for T
where
    T: rusqlite::types::FromSql + for<'b> postgres::types::FromSql<'b>,
{
    fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }

    fn from_pg(row: &postgres::Row, i: usize) -> Result<Self, postgres::Error> {
        row.try_get(i)
    }
}

/// A result row of either backend.
pub enum Row<'r, 's> {
    Sqlite(&'r rusqlite::Row<'s>),
    Postgres(&'r postgres::Row),
}

impl std::fmt::Debug for Row<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Row")
    }
}

impl Row<'_, '_> {
    /// Column `i` (from 0).
    pub fn get<T: FromCol>(&self, i: usize) -> Result<T, StoreError> {
        match self {
            Row::Sqlite(r) => Ok(T::from_sqlite(r, i)?),
            Row::Postgres(r) => Ok(T::from_pg(r, i)?),
        }
    }

    /// Column `i`, a flag stored as an integer (0 is false).
    pub fn flag(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.get::<i64>(i)? != 0)
    }
}

/// A PostgreSQL session and the statements it has prepared.
pub struct PgSession {
    pub(super) client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    /// Signals announced in the open transaction, sent just before it commits.
    signals: Vec<String>,
    /// The instance the session belongs to, named in the signals it sends.
    origin: std::sync::Arc<str>,
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
        static NOTIFY: Texts = Texts::new(|rows| {
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

    fn prepared(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
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

enum Backend<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(RefCell<&'c mut PgSession>),
}

/// A connection of either backend, inside whatever transaction its caller opened.
pub struct Db<'c> {
    backend: Backend<'c>,
}

impl std::fmt::Debug for Db<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dialect", &self.dialect())
            .finish()
    }
}

impl<'c> Db<'c> {
    pub fn sqlite(conn: &'c rusqlite::Connection) -> Self {
        Self {
            backend: Backend::Sqlite(conn),
        }
    }

    pub(super) fn postgres(session: &'c mut PgSession) -> Self {
        Self {
            backend: Backend::Postgres(RefCell::new(session)),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// A subquery yielding the strings of the JSON array bound as parameter `n`.
    pub fn json_array_values(&self, n: usize) -> String {
        self.dialect().json_array_values(n)
    }

    /// ` FOR UPDATE` on PostgreSQL (the row is locked until commit), nothing on SQLite (its
    /// single writer already excludes every other writer).
    pub fn for_update(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// The end of a SELECT that claims rows for work: on PostgreSQL ` FOR UPDATE [OF table]
    /// SKIP LOCKED` (rows another instance is claiming are skipped, not waited for); nothing
    /// on SQLite, whose single writer claims alone.
    pub fn skip_locked(&self, of: Option<&str>) -> String {
        match (self.dialect(), of) {
            (Dialect::Sqlite, _) => String::new(),
            (Dialect::Postgres, None) => " FOR UPDATE SKIP LOCKED".to_owned(),
            (Dialect::Postgres, Some(table)) => format!(" FOR UPDATE OF {table} SKIP LOCKED"),
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub fn exec(&self, sql: &str, args: &[Arg<'_>]) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(args.iter()))?),
            Backend::Postgres(s) => {
                let mut s = s.borrow_mut();
                let statement = s.prepared(sql)?;
                let params = pg_params(args);
                let n = s.client.execute(&statement, &params)?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// Runs a query and maps every row.
    pub fn query<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        mut map: impl FnMut(&Row<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(map(&Row::Sqlite(r))?);
                }
                Ok(out)
            }
            Backend::Postgres(s) => {
                let mut s = s.borrow_mut();
                let statement = s.prepared(sql)?;
                let params = pg_params(args);
                let rows = s.client.query(&statement, &params)?;
                rows.iter().map(|r| map(&Row::Postgres(r))).collect()
            }
        }
    }

    /// The first row of a query, mapped, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnOnce(&Row<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                match rows.next()? {
                    Some(r) => Ok(Some(map(&Row::Sqlite(r))?)),
                    None => Ok(None),
                }
            }
            Backend::Postgres(s) => {
                let mut s = s.borrow_mut();
                let statement = s.prepared(sql)?;
                let params = pg_params(args);
                // The first row, as on SQLite (the client's `query_opt` refuses a second).
                let rows = s.client.query(&statement, &params)?;
                rows.first().map(|r| map(&Row::Postgres(r))).transpose()
            }
        }
    }

    /// Runs an INSERT and returns the integer key `column` of the row it made, or `None`
    /// when it made none (`ON CONFLICT DO NOTHING`). SQLite reads its rowid (`column` must be
    /// the table's INTEGER PRIMARY KEY: a `RETURNING` clause would cost a temporary table per
    /// row there); PostgreSQL returns the column.
    pub fn insert_id(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        column: &str,
    ) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let changed = c
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(args.iter()))?;
                Ok((changed > 0).then(|| c.last_insert_rowid()))
            }
            Backend::Postgres(_) => {
                self.query_opt(&format!("{sql} RETURNING {column}"), args, |r| r.get(0))
            }
        }
    }

    /// Runs an INSERT of `rows` rows (no conflict clause: each makes a row) and returns the
    /// integer key `column` of each, in the order of the rows. Keys are handed out in the
    /// order rows are inserted: SQLite's next rowid (its last key tells them all; `column`
    /// must be the table's INTEGER PRIMARY KEY, and no `RETURNING` clause costs a temporary
    /// table), PostgreSQL's identity sequence (returned, then put in order).
    pub fn insert_ids(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        rows: usize,
        column: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let ids = match &self.backend {
            Backend::Sqlite(c) => {
                let made = c
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(args.iter()))?;
                let last = c.last_insert_rowid();
                let first = last - i64::try_from(made).unwrap_or(i64::MAX) + 1;
                (first..=last).collect::<Vec<i64>>()
            }
            Backend::Postgres(_) => {
                let mut ids =
                    self.query(&format!("{sql} RETURNING {column}"), args, |r| r.get(0))?;
                ids.sort_unstable();
                ids
            }
        };
        if ids.len() != rows {
            return Err(StoreError::Internal(format!(
                "{} of {rows} rows were inserted",
                ids.len()
            )));
        }
        Ok(ids)
    }

    /// The first row of a query, mapped; an error when there is none.
    pub fn query_one<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnOnce(&Row<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.query_opt(sql, args, map)?
            .ok_or_else(|| StoreError::Internal(format!("no row from {sql}")))
    }

    /// Tells the other instances sharing the database about a change, once the transaction
    /// commits (PostgreSQL's `NOTIFY`, sent with the transaction's other signals just before
    /// its commit; a rolled-back transaction sends nothing). The embedded store has no other
    /// instances: nothing to do.
    pub fn announce(&self, signal: &super::Signal) -> Result<(), StoreError> {
        let Backend::Postgres(s) = &self.backend else {
            return Ok(());
        };
        let mut session = s.borrow_mut();
        let payload = serde_json::to_string(&super::Envelope {
            origin: session.origin.to_string(),
            signal: signal.clone(),
        })?;
        session.signals.push(payload);
        Ok(())
    }

    /// Tells other instances that a tenant's hub counts changed (see [`Db::announce`]).
    pub fn announce_hub(&self, tenant_id: &str) -> Result<(), StoreError> {
        self.announce(&super::Signal::Hub {
            tenant_id: tenant_id.to_owned(),
        })
    }

    /// Runs statements without parameters, one after the other.
    pub fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(s) => Ok(s.borrow_mut().client.batch_execute(sql)?),
        }
    }
}

fn pg_params<'a>(args: &'a [Arg<'_>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    args.iter()
        .map(|a| a as &(dyn postgres::types::ToSql + Sync))
        .collect()
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
