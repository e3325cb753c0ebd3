//! Lenient date parsing for provider payloads: a timestamp the provider sends is
//! informative, so one that cannot be read becomes `None`, never an error.

use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{OffsetDateTime, UtcOffset};

/// Parses an RFC 2822 date (`Mon, 23 Nov 2026 18:05:01 +0000`), normalized to UTC.
pub fn rfc2822(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc2822)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

/// Parses an RFC 3339 date (`2026-11-23T18:05:01Z`), normalized to UTC.
pub fn rfc3339(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
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
    fn reads_rfc3339() {
        assert_eq!(
            rfc3339("2026-11-23T18:05:01Z"),
            Some(datetime!(2026-11-23 18:05:01 UTC))
        );
        assert_eq!(rfc3339("2026-11-23"), None);
    }
}
