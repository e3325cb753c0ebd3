//! Statements over many rows at once: a `VALUES` list of 1, 2, 4, ... [`MAX_ROWS`] rows.
//!
//! A batch of `n` rows is split into runs whose lengths are powers of two ([`runs`]), so it
//! takes at most a handful of statements, and each statement's text is one of a few, built
//! once ([`StatementsByRows`]): prepared-statement caches on both backends stay small and warm.
//!
//! Runs are as long as the backend makes worthwhile: on PostgreSQL every statement is a
//! round trip, so up to [`MAX_ROWS`] rows go in one; SQLite's statements are cheap, and
//! one that writes several rows needs a statement journal, so it takes a row at a time.

use super::Dialect;
use std::ops::Range;
use std::sync::OnceLock;

/// The longest run, in rows per statement.
pub const MAX_ROWS: usize = 64;
/// How many run lengths there are (1, 2, 4, ... 64).
const RUN_LENGTHS: usize = MAX_ROWS.ilog2() as usize + 1;

/// Splits `0..n` into consecutive runs of power-of-two lengths, longest first, none longer
/// than the backend's longest: on PostgreSQL 13 rows are runs of 8, 4 and 1; on SQLite,
/// 13 runs of 1.
pub fn runs(dialect: Dialect, n: usize) -> impl Iterator<Item = Range<usize>> {
    let longest = match dialect {
        Dialect::Sqlite => 1,
        Dialect::Postgres => MAX_ROWS,
    };
    let mut start = 0;
    std::iter::from_fn(move || {
        let left = n - start;
        if left == 0 {
            return None;
        }
        let len = if left >= longest {
            longest
        } else {
            1 << left.ilog2()
        };
        let run = start..start + len;
        start += len;
        Some(run)
    })
}

/// `(c1, c2, ...), (...)` for `rows` rows, where each column is its template with `?`
/// replaced by the next parameter number: `values(2, &["?", "CAST(? AS BIGINT)"])` is
/// `(?1, CAST(?2 AS BIGINT)), (?3, CAST(?4 AS BIGINT))`. A column without `?` is written as
/// it is (a literal).
pub fn values(rows: usize, columns: &[&str]) -> String {
    let mut out = String::with_capacity(rows * columns.len() * 8);
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for (i, template) in columns.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if template.contains('?') {
                n += 1;
                out.push_str(&template.replacen('?', &format!("?{n}"), 1));
            } else {
                out.push_str(template);
            }
        }
        out.push(')');
    }
    out
}

/// A membership test of one column against `rows` parameters: `= ?1` for one (what every
/// planner turns into an index lookup), `IN (VALUES (?1), (?2), ...)` for more.
pub fn one_of(rows: usize) -> String {
    if rows == 1 {
        "= ?1".to_owned()
    } else {
        format!("IN (VALUES {})", values(rows, &["?"]))
    }
}

/// A statement's text for each run length, built on first use.
#[derive(Debug)]
pub struct StatementsByRows {
    build: fn(usize) -> String,
    texts: [OnceLock<String>; RUN_LENGTHS],
}

impl StatementsByRows {
    /// `build(rows)` writes the statement for `rows` rows.
    pub const fn new(build: fn(usize) -> String) -> Self {
        Self {
            build,
            texts: [const { OnceLock::new() }; RUN_LENGTHS],
        }
    }

    /// The statement for `rows` rows, a run length from [`runs`].
    pub fn get(&'static self, rows: usize) -> &'static str {
        debug_assert!(rows.is_power_of_two() && rows <= MAX_ROWS);
        let slot = rows.max(1).ilog2() as usize;
        self.texts[slot.min(RUN_LENGTHS - 1)].get_or_init(|| (self.build)(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_every_row_once_in_order_with_power_of_two_lengths() {
        for n in 0..300 {
            let all: Vec<Range<usize>> = runs(Dialect::Postgres, n).collect();
            let mut next = 0;
            for r in &all {
                assert_eq!(r.start, next);
                assert!(r.len().is_power_of_two() && r.len() <= MAX_ROWS);
                next = r.end;
            }
            assert_eq!(next, n);
        }
        let lengths = |d, n| runs(d, n).map(|r| r.len()).collect::<Vec<_>>();
        assert_eq!(lengths(Dialect::Postgres, 13), [8, 4, 1]);
        assert_eq!(lengths(Dialect::Postgres, 130), [64, 64, 2]);
        assert_eq!(lengths(Dialect::Sqlite, 3), [1, 1, 1]);
    }

    #[test]
    fn values_number_the_parameters_row_after_row() {
        assert_eq!(
            values(2, &["?", "CAST(? AS BIGINT)"]),
            "(?1, CAST(?2 AS BIGINT)), (?3, CAST(?4 AS BIGINT))"
        );
        assert_eq!(values(1, &["?"]), "(?1)");
        assert_eq!(values(2, &["?", "'x'"]), "(?1, 'x'), (?2, 'x')");
        assert_eq!(one_of(1), "= ?1");
        assert_eq!(one_of(2), "IN (VALUES (?1), (?2))");
    }

    #[test]
    fn texts_are_built_once_per_run_length() {
        static T: StatementsByRows =
            StatementsByRows::new(|rows| format!("SELECT {}", values(rows, &["?"])));
        assert_eq!(T.get(1), "SELECT (?1)");
        assert_eq!(T.get(2), "SELECT (?1), (?2)");
        assert!(std::ptr::eq(T.get(2), T.get(2)));
    }
}
