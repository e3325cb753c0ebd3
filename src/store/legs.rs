//! The legs of calls other than their customers' own: which call a leg's id belongs to.

use super::StoreError;
use super::db::{Arg, Db, ToArg};
use super::rows::{self, StatementsByRows};
use std::collections::HashMap;

static OWNERS_IN: StatementsByRows = StatementsByRows::new(|rows| {
    format!(
        "SELECT l.leg_id, l.connection_id, c.provider_call_id FROM call_legs l
         JOIN calls c ON c.seq = l.call_seq WHERE l.leg_id {}
         AND NOT EXISTS (SELECT 1 FROM calls o
                         WHERE o.provider_call_id = l.leg_id AND o.connection_id = l.connection_id)",
        rows::one_of(rows)
    )
});

static INSERT_LEGS: StatementsByRows = StatementsByRows::new(|rows| {
    format!(
        "INSERT INTO call_legs (leg_id, connection_id, call_seq) VALUES {}
         ON CONFLICT (leg_id, connection_id) DO NOTHING",
        rows::values(rows, &["?", "?", "CAST(? AS BIGINT)"])
    )
});

/// A leg on a connection.
pub type LegKey<'a> = (&'a str, &'a str);

/// The calls that own the legs `legs` (leg id, connection id), by the calls' own provider
/// ids. Absent: legs not known as another call's, and legs that are calls of their own (a
/// leg heard of as a call before its parent was named stays one), such as those the
/// embedded writer remembers.
pub fn owners<'a>(
    db: &Db<'_>,
    legs: &[LegKey<'a>],
) -> Result<HashMap<LegKey<'a>, String>, StoreError> {
    let mut found = HashMap::new();
    let remembered =
        |(leg, connection): &LegKey<'_>| db.memory().is_some_and(|m| m.knows_call(connection, leg));
    let legs: Vec<LegKey<'a>> = legs.iter().filter(|l| !remembered(l)).copied().collect();
    for run in rows::runs(db.dialect(), legs.len()) {
        let args: Vec<Arg<'_>> = legs[run.clone()].iter().map(|(l, _)| l.to_arg()).collect();
        let rows = db.query(OWNERS_IN.get(run.len()), &args, |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
            ))
        })?;
        for (leg, connection, call) in rows {
            if let Some(key) = legs[run.clone()]
                .iter()
                .find(|(l, c)| *l == leg && *c == connection)
            {
                found.insert(*key, call);
            }
        }
    }
    Ok(found)
}

/// Records legs as their calls' (`call_seq`); a leg already recorded keeps its call.
pub fn record(db: &Db<'_>, legs: &[(LegKey<'_>, i64)]) -> Result<(), StoreError> {
    for run in rows::runs(db.dialect(), legs.len()) {
        let args: Vec<Arg<'_>> = legs[run.clone()]
            .iter()
            .flat_map(|((leg, connection), seq)| {
                [leg.to_arg(), connection.to_arg(), Arg::Int(*seq)]
            })
            .collect();
        db.exec(INSERT_LEGS.get(run.len()), &args)?;
    }
    Ok(())
}
