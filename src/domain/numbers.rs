//! Phone numbers: E.164 normalization and what a dialed number means for tenant resolution.

use serde::{Deserialize, Serialize};

/// What a number in the directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    /// Belongs to one tenant: calls resolve at once.
    Local,
    /// Serves the whole network: an agent picks the tenant.
    National,
    /// Serves a named set of tenants: an agent picks among them.
    Regional,
    /// Not in the directory: treated like a national number, and counted.
    Unknown,
}

impl NumberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::National => "national",
            Self::Regional => "regional",
            Self::Unknown => "unknown",
        }
    }
}

/// How the number that decides a call's tenant resolved in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The number looked up, normalized.
    pub number: String,
    pub kind: NumberKind,
    /// The tenant of a local number.
    pub tenant_id: Option<String>,
    /// The tenants a regional number serves.
    pub tenant_ids: Vec<String>,
    /// The number the call was forwarded from, looked up with the dialed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// The tenant is the local number's the call was forwarded from (`number` is that one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub via_forwarded: bool,
}

impl Resolution {
    /// Whether this resolution was made for a call whose dialed number (or calling number,
    /// outbound) is `number` and forwarded-from number `forwarded_from`.
    pub fn answers(&self, number: Option<&str>, forwarded_from: Option<&str>) -> bool {
        self.forwarded_from.as_deref() == forwarded_from
            && (self.via_forwarded || number == Some(self.number.as_str()))
    }

    /// The call's resolution from its forwarded-from number's (when the call was forwarded)
    /// and its own number's: a forwarded-from number that is a tenant's local number names
    /// the tenant; otherwise the call's own number decides, as for any call.
    pub fn choose(forwarded: Option<Self>, own: Option<Self>) -> Option<Self> {
        let forwarded_from = forwarded.as_ref().map(|f| f.number.clone());
        match forwarded {
            Some(f) if f.kind == NumberKind::Local && f.tenant_id.is_some() => Some(Self {
                via_forwarded: true,
                forwarded_from,
                ..f
            }),
            _ => own.map(|o| Self {
                forwarded_from,
                ..o
            }),
        }
    }
}

/// Normalizes a number to E.164, by one rule for every provider and for the directory:
///
/// 1. surrounding whitespace is trimmed (one of Vonage's published events has a leading
///    space in `from`);
/// 2. a number already in E.164 form (`+`, a first digit 1-9, 7-14 more digits) is taken as
///    it is, whether or not the numbering plan assigns it (`+15551234567` is a test number):
///    webhooks carry numbers in that form, and the directory must be able to list them;
/// 3. bare digits of that same shape (8-15 digits, the first 1-9) are an international
///    number without its `+`, as Vonage and Plivo send them (`447700900000`): they get the
///    `+`, whether or not the phone-number library knows their range;
/// 4. a formatted number (`+1 (512) 555-0100`, `+44 7700 900000`) that the phone-number
///    library finds valid is reformatted by it; otherwise, when it holds only digits, one
///    leading `+` and the usual separators (spaces, `-`, `.`, `(`, `)`), and its digits are
///    a bare international number by rule 3, it becomes `+` and those digits.
///
/// Anything else is not an international number and is `None`: SIP URIs, `client:` names,
/// `anonymous`, short codes and other digit strings of another length, national forms with a
/// leading `0`, numbers with an extension.
pub fn to_e164(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.len() > 40 {
        return None;
    }
    if is_e164_form(trimmed) {
        return Some(trimmed.to_owned());
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let with_plus = format!("+{trimmed}");
        return is_e164_form(&with_plus).then_some(with_plus);
    }
    // Only digits, one leading `+` and the usual separators: an extension, a SIP URI or a
    // name is not reformatted.
    let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
    {
        return None;
    }
    if trimmed.starts_with('+')
        && let Ok(parsed) = phonenumber::parse(None, trimmed)
        && phonenumber::is_valid(&parsed)
    {
        return Some(parsed.format().mode(phonenumber::Mode::E164).to_string());
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let with_plus = format!("+{digits}");
    is_e164_form(&with_plus).then_some(with_plus)
}

/// Normalizes a number a provider reported ([`to_e164`]'s rule); a value that is not an
/// international number (a SIP URI, `client:alice`, `anonymous`, a short code) is kept as
/// sent, only trimmed. A value already in E.164 form is kept without the full parser, which
/// is costly and runs for every webhook.
pub fn normalize_reported(raw: &str) -> String {
    if is_e164_form(raw) {
        return raw.to_owned();
    }
    to_e164(raw).unwrap_or_else(|| raw.trim().to_owned())
}

/// `+`, a first digit 1-9, then 7-14 more digits.
fn is_e164_form(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Toll-free NANP prefixes: national by default when the directory does not list them.
const TOLL_FREE_NANP: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];

/// True for a NANP toll-free number in E.164 form.
pub fn is_toll_free_nanp(e164: &str) -> bool {
    e164.strip_prefix("+1")
        .is_some_and(|rest| rest.len() == 10 && TOLL_FREE_NANP.iter().any(|p| rest.starts_with(p)))
}

/// The kind of a number the directory does not list.
pub fn unlisted_kind(e164: &str) -> NumberKind {
    if is_toll_free_nanp(e164) {
        NumberKind::National
    } else {
        NumberKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_common_spellings() {
        assert_eq!(to_e164("+15125550100").as_deref(), Some("+15125550100"));
        assert_eq!(
            to_e164(" +1 (512) 555-0100 ").as_deref(),
            Some("+15125550100")
        );
        assert_eq!(to_e164("15125550100").as_deref(), Some("+15125550100"));
        assert_eq!(to_e164("33612345678").as_deref(), Some("+33612345678"));
    }

    /// One rule for every provider: Vonage's published numbers (its Voice API webhook
    /// reference: `from` 442079460000, `to` 447700900000), bare or with a leading space, get
    /// their `+`, whether or not the phone-number library knows the range (447700900000 is
    /// in Ofcom's drama range, which its data does not cover); what is not an international
    /// number is kept as sent, trimmed.
    #[test]
    fn one_rule_for_bare_international_numbers_and_what_is_not_one() {
        for (raw, reported) in [
            ("447700900000", "+447700900000"),
            (" 447700900000", "+447700900000"),
            ("442079460000\t", "+442079460000"),
            ("+447700900000", "+447700900000"),
            (" +447700900000 ", "+447700900000"),
            ("12025550147", "+12025550147"),
            ("15551234567", "+15551234567"),
            ("12345678", "+12345678"),
            ("123456789012345", "+123456789012345"),
            // Not international numbers: kept as sent, trimmed.
            ("anonymous", "anonymous"),
            (" client:ana", "client:ana"),
            ("sip:alice@example.com", "sip:alice@example.com"),
            ("Alice", "Alice"),
            ("12345", "12345"),
            ("1234567", "1234567"),
            ("1234567890123456", "1234567890123456"),
            ("07700900000", "07700900000"),
            ("0447700900000", "0447700900000"),
            ("12025550147x12", "12025550147x12"),
            ("12025550147;ext=12", "12025550147;ext=12"),
            ("", ""),
            // Formatted: the same rule, whether or not the library knows the range.
            ("+44 7700 900000", "+447700900000"),
            (" +44 (7700) 900-000 ", "+447700900000"),
            ("44.7700.900000", "+447700900000"),
            ("+1 (555) 123-4567", "+15551234567"),
            ("1-512-555-0100", "+15125550100"),
            // Formatted, but not a bare international number, or not only separators.
            ("07700 900000", "07700 900000"),
            ("+0 123 456 789", "+0 123 456 789"),
            ("+1 234 567", "+1 234 567"),
            ("+1 512 555 0100 x12", "+1 512 555 0100 x12"),
            ("+1 512 555 0100 ext. 12", "+1 512 555 0100 ext. 12"),
            ("1+512 555 0100", "1+512 555 0100"),
            ("123 45", "123 45"),
            (
                "sip:+44 7700 900000@example.com",
                "sip:+44 7700 900000@example.com",
            ),
        ] {
            assert_eq!(normalize_reported(raw), reported, "{raw:?}");
            let as_directory = to_e164(raw);
            if is_e164_form(reported) {
                assert_eq!(as_directory.as_deref(), Some(reported), "{raw:?}");
            } else {
                assert_eq!(as_directory, None, "{raw:?}");
            }
        }
    }

    #[test]
    fn reported_numbers_are_normalized() {
        for n in ["+15125550100", "+18005550199", "+33612345678"] {
            assert_eq!(
                normalize_reported(n),
                to_e164(n).unwrap(),
                "{n}: the form check agrees with the parser"
            );
        }
        assert_eq!(normalize_reported("15125550100"), "+15125550100");
        assert_eq!(normalize_reported("+1 (512) 555-0100"), "+15125550100");
        assert_eq!(normalize_reported("client:alice"), "client:alice");
        assert_eq!(
            normalize_reported("+0123456789"),
            "+0123456789",
            "not a number: kept as sent"
        );
        assert!(
            !is_e164_form("+1234567")
                && !is_e164_form("+1234567890123456")
                && !is_e164_form("15125550100")
        );
    }

    #[test]
    fn numbers_in_e164_form_are_taken_as_they_are() {
        // Not assigned by the numbering plan (area code 555, 999, 123), but in E.164 form.
        for n in ["+15551234567", "+19995550000", "+11234567890", "+12345678"] {
            assert_eq!(to_e164(n).as_deref(), Some(n), "{n}");
            assert_eq!(normalize_reported(n), n, "{n}: as webhooks keep it");
        }
        // Formatted, such a number gets the same rule.
        assert_eq!(
            to_e164("+1 (555) 123-4567").as_deref(),
            Some("+15551234567")
        );
        for n in ["+0123456789", "+1234567", "+1234567890123456"] {
            assert_eq!(to_e164(n), None, "{n}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for raw in [
            "",
            "client:alice",
            "sip:alice@example.com",
            "+1",
            "abc",
            "+1512555010x",
            "anonymous",
        ] {
            assert_eq!(to_e164(raw), None, "{raw}");
        }
    }

    #[test]
    fn toll_free_prefixes_are_national_when_unlisted() {
        for p in TOLL_FREE_NANP {
            let n = format!("+1{p}5550199");
            assert_eq!(unlisted_kind(&n), NumberKind::National, "{n}");
            assert!(to_e164(&n).is_some(), "{n} parses");
        }
        assert_eq!(unlisted_kind("+15125550100"), NumberKind::Unknown);
        assert_eq!(unlisted_kind("+18995550100"), NumberKind::Unknown);
        assert_eq!(unlisted_kind("+448005550100"), NumberKind::Unknown);
    }
}
