//! How the console writes values for people: phone numbers in their national or
//! international form (the E.164 form stays on hover), times as machine-readable instants that
//! the page's script shows in the viewer's time zone.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A phone number for people: `(512) 555-0100` for a North American number, `+44 7700 900000`
/// for others; anything that is not a valid number (an extension, a SIP URI, a name) as sent.
pub fn human_number(number: &str) -> String {
    let Ok(parsed) = phonenumber::parse(None, number) else {
        return number.to_owned();
    };
    if !phonenumber::is_valid(&parsed) {
        return number.to_owned();
    }
    let mode = if parsed.code().value() == 1 {
        phonenumber::Mode::National
    } else {
        phonenumber::Mode::International
    };
    parsed.format().mode(mode).to_string()
}

/// An instant as RFC 3339 (UTC), for a `<time datetime>` attribute.
pub fn machine_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An instant for people before the script localizes it: `2026-12-07 14:05 UTC`.
pub fn fallback_time(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_for_people_and_others_are_kept() {
        assert_eq!(human_number("+15125550100"), "(512) 555-0100");
        assert_eq!(human_number("+442071838750"), "+44 20 7183 8750");
        assert_eq!(human_number("client:ana"), "client:ana");
        assert_eq!(human_number("+1"), "+1");
    }

    #[test]
    fn times_have_a_machine_form_and_a_utc_fallback() {
        let t = time::macros::datetime!(2026-12-07 14:05:09 UTC);
        assert_eq!(machine_time(t), "2026-12-07T14:05:09Z");
        assert_eq!(fallback_time(t), "2026-12-07 14:05 UTC");
    }
}
