//! One SQL interface over both backends: the embedded SQLite store and PostgreSQL.
//!
//! Store code is written once, against [`Db`]: statements use numbered parameters (`?1`,
//! `?2`, ...), which become `$1`, `$2`, ... on PostgreSQL, and bind [`Arg`]s made by
//! [`args!`]. Rows are read through [`Row::get`]. The few statements the two dialects spell
//! differently ask [`Db::dialect`].

use super::StoreError;
use super::memory::Memory;
pub use super::pg_session::PgSession;
use std::cell::RefCell;

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

    /// A table expression, aliased `alias`, with one column `value`: the strings of the JSON
    /// array at key `key` of the JSON object in the text column `column` (none when the
    /// column is NULL). `key` is a plain name written by the code, never an input.
    pub fn json_field_values(self, column: &str, key: &str, alias: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_each({column}, '$.{key}') AS {alias}"),
            Dialect::Postgres => format!(
                "json_array_elements_text(CAST({column} AS json) -> '{key}') AS {alias}(value)"
            ),
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
pub enum OwnedArg {
    Null,
    Int(i64),
    Text(String),
}

impl ToArg for OwnedArg {
    fn to_arg(&self) -> Arg<'_> {
        match self {
            OwnedArg::Null => Arg::Null,
            OwnedArg::Int(i) => Arg::Int(*i),
            OwnedArg::Text(s) => Arg::Text(s),
        }
    }
}

impl From<i64> for OwnedArg {
    fn from(i: i64) -> Self {
        OwnedArg::Int(i)
    }
}

impl From<String> for OwnedArg {
    fn from(s: String) -> Self {
        OwnedArg::Text(s)
    }
}

impl From<&str> for OwnedArg {
    fn from(s: &str) -> Self {
        OwnedArg::Text(s.to_owned())
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

enum Backend<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(RefCell<&'c mut PgSession>),
}

/// A connection of either backend, inside whatever transaction its caller opened, with the
/// embedded writer's memory when the writer runs it.
pub struct Db<'c> {
    backend: Backend<'c>,
    memory: Option<Memory<'c>>,
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
            memory: None,
        }
    }

    /// The embedded writer's connection, with what it remembers (see `memory.rs`).
    pub(super) fn sqlite_writer(conn: &'c rusqlite::Connection, memory: Memory<'c>) -> Self {
        Self {
            backend: Backend::Sqlite(conn),
            memory: Some(memory),
        }
    }

    pub(super) fn postgres(session: &'c mut PgSession) -> Self {
        Self {
            backend: Backend::Postgres(RefCell::new(session)),
            memory: None,
        }
    }

    /// What the embedded writer remembers, when it runs this job.
    pub(super) fn memory(&self) -> Option<&Memory<'c>> {
        self.memory.as_ref()
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
