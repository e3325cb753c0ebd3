//! Lenient date parsing for provider payloads: a timestamp the provider sends is
//! informative, so one that cannot be read becomes `None`, never an error.

use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{OffsetDateTime, UtcOffset};

/// Parses an RFC 2822 date (`Mon, 23 Nov 2026 18:05:01 +0000`), normalized to UTC.
pub fn rfc2822(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc2822)
        .ok()
        .and_then(to_utc)
}

/// Parses an RFC 3339 date (`2026-11-23T18:05:01Z`), normalized to UTC.
pub fn rfc3339(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339)
        .ok()
        .and_then(to_utc)
}

/// The same instant in UTC, when it falls in the years 0000..=9999 that RFC 3339 can write
/// (and the API shows). An offset can carry a written date past either end
/// (`9999-12-31T23:59:59-01:00` is in year 10000): such a time is `None`, never a panic.
fn to_utc(t: OffsetDateTime) -> Option<OffsetDateTime> {
    t.checked_to_offset(UtcOffset::UTC)
        .filter(|utc| (0..=9999).contains(&utc.year()))
}

/// A Unix time in seconds, possibly fractional (`1569517309.4546909`), to the millisecond.
pub fn unix_seconds(value: f64) -> Option<OffsetDateTime> {
    // Outside years 1970..=9999 it is not a time a provider means.
    if !value.is_finite() || !(0.0..253_402_300_800.0).contains(&value) {
        return None;
    }
    // In range: the product fits an i128 exactly enough for milliseconds.
    let millis = (value * 1000.0).round() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).ok()
}

/// An ISO 8601 duration (`PT20.056S`, `PT1M5S`, `P1DT2H`) in whole seconds, rounded to the
/// nearest. Years, months and weeks (calendar-dependent) and negative durations are `None`,
/// as is anything unreadable.
pub fn iso8601_duration_secs(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut millis: u64 = 0;
    let mut add = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut rest = part;
        let mut last_unit = 0;
        while !rest.is_empty() {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
            let (number, tail) = rest.split_at(end);
            let unit = tail.chars().next()?;
            let index = units.iter().position(|(u, _)| *u == unit)?;
            // Each unit at most once, largest first.
            if index < last_unit || number.is_empty() {
                return None;
            }
            last_unit = index + 1;
            let scale = units[index].1;
            let value = match number.split_once('.') {
                // Only the last (smallest) unit may have a fraction: seconds.
                Some((whole, fraction)) if unit == 'S' && !fraction.is_empty() => {
                    let whole: u64 = if whole.is_empty() {
                        0
                    } else {
                        whole.parse().ok()?
                    };
                    let digits: String = fraction.chars().take(3).collect();
                    let padded = format!("{digits:0<3}");
                    whole.checked_mul(1000)?.checked_add(padded.parse().ok()?)?
                }
                Some(_) => return None,
                None => number.parse::<u64>().ok()?.checked_mul(scale)?,
            };
            millis = millis.checked_add(value)?;
            rest = &tail[unit.len_utf8()..];
        }
        Some(())
    };
    add(date, &[('D', 86_400_000)])?;
    if let Some(time) = time {
        add(time, &[('H', 3_600_000), ('M', 60_000), ('S', 1000)])?;
    }
    Some(millis.saturating_add(500) / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_rfc2822_and_normalizes_to_utc() {
        assert_eq!(
            rfc2822("Mon, 23 Nov 2026 18:05:01 +0000"),
            Some(datetime!(2026-11-23 18:05:01 UTC))
        );
        assert_eq!(
            rfc2822("Mon, 23 Nov 2026 19:05:01 +0100"),
            Some(datetime!(2026-11-23 18:05:01 UTC))
        );
        assert_eq!(rfc2822("yesterday"), None);
        assert_eq!(rfc2822(""), None);
    }

    #[test]
    fn reads_unix_seconds_to_the_millisecond() {
        assert_eq!(
            unix_seconds(1_569_517_309.454_69),
            Some(datetime!(2019-09-26 17:01:49.455 UTC))
        );
        assert_eq!(unix_seconds(0.0), Some(datetime!(1970-01-01 0:00 UTC)));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_iso8601_durations() {
        let rows = [
            ("PT20.056S", 20),
            ("PT20.5S", 21),
            ("PT0.4S", 0),
            ("PT.6S", 1),
            ("PT1M5S", 65),
            ("PT1H", 3600),
            ("P1DT2H", 93_600),
            ("P2D", 172_800),
            ("PT41S", 41),
        ];
        for (raw, secs) in rows {
            assert_eq!(iso8601_duration_secs(raw), Some(secs), "{raw}");
        }
        for raw in [
            "", "P", "PT", "20", "PT20", "PT5S1M", "PT1.5M", "P1Y", "P1W", "-PT5S", "PT-5S", "PTS",
            "PT1S1S", "pt5s",
        ] {
            assert_eq!(iso8601_duration_secs(raw), None, "{raw}");
        }
    }

    #[test]
    fn reads_rfc3339() {
        assert_eq!(
            rfc3339("2026-11-23T18:05:01Z"),
            Some(datetime!(2026-11-23 18:05:01 UTC))
        );
        assert_eq!(rfc3339("2026-11-23"), None);
    }

    /// Written dates whose offset carries them past year 9999 (or before year 0) are refused,
    /// not a panic; the last and first instants that stay in range are kept.
    #[test]
    fn offsets_that_leave_the_writable_years_are_none() {
        for bad in [
            "9999-12-31T23:59:59-00:01",
            "9999-12-31T23:59:59.999999999-23:59",
            "0000-01-01T00:00:00+00:01",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
        assert_eq!(rfc2822("Fri, 31 Dec 9999 23:59:59 -2359"), None);
        assert_eq!(
            rfc3339("9999-12-31T23:59:59Z"),
            Some(datetime!(9999-12-31 23:59:59 UTC))
        );
        assert_eq!(
            rfc3339("0000-01-01T00:00:00Z"),
            Some(datetime!(0000-01-01 0:00 UTC))
        );
        assert_eq!(
            rfc3339("9999-12-31T23:00:00-00:59"),
            Some(datetime!(9999-12-31 23:59 UTC))
        );
    }
}
