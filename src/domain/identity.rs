//! Agent identities: the strings providers report as the destination of an agent's leg
//! (`client:ana`, `sip:ana@pbx.example.com`, `+15125550123`, a Dialpad user id, an Amazon
//! Connect username), and the one canonical form under which a manager registers them and a
//! leg's destination is matched against them.

use super::numbers;

/// At most this many bytes in an identity (its canonical form).
pub const MAX_IDENTITY_BYTES: usize = 256;

/// At most this many identities per user (after duplicates are dropped).
pub const MAX_IDENTITIES: usize = 32;

/// The canonical form of an identity, or of a leg's destination:
///
/// - surrounding whitespace is trimmed;
/// - a phone number becomes E.164 by the one number rule ([`numbers::to_e164`]), so that
///   `15125550123` and `+15125550123` are one identity;
/// - a `sip:` or `sips:` URI keeps its user part as it is, lowercases its scheme and host,
///   and drops its URI parameters (`;…`) and headers (`?…`), which name a transport or a
///   gateway, not the agent;
/// - anything else (`client:ana`, a user id, a username) is kept exactly.
///
/// Applying it twice changes nothing.
pub fn canonical(raw: &str) -> String {
    let trimmed = raw.trim();
    if let Some(e164) = numbers::to_e164(trimmed) {
        return e164;
    }
    match sip_parts(trimmed) {
        Some((scheme, rest)) => sip_canonical(scheme, rest),
        None => trimmed.to_owned(),
    }
}

/// The scheme (lowercased) and the rest of a `sip:` or `sips:` URI.
fn sip_parts(value: &str) -> Option<(&'static str, &str)> {
    let (scheme, rest) = value.split_once(':')?;
    if scheme.eq_ignore_ascii_case("sip") {
        Some(("sip", rest))
    } else if scheme.eq_ignore_ascii_case("sips") {
        Some(("sips", rest))
    } else {
        None
    }
}

/// `scheme:user@host` from the part of a SIP URI after its scheme. The user part (up to
/// the first `@`, which neither a host nor parameters nor headers may hold) may itself hold
/// `;` and `?`, so parameters and headers are cut from the host part only.
fn sip_canonical(scheme: &str, rest: &str) -> String {
    let (user, host_part) = match rest.split_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, rest),
    };
    let host = host_part
        .split([';', '?'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let uri = match user {
        Some(user) => format!("{scheme}:{user}@{host}"),
        None => format!("{scheme}:{host}"),
    };
    // Cutting the parameters may leave whitespace at the end.
    uri.trim().to_owned()
}

/// Why an identity a manager sent is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("an identity must not be empty")]
    Empty,
    #[error("an identity must be at most {MAX_IDENTITY_BYTES} bytes")]
    TooLong,
    #[error("an identity must not contain control characters")]
    ControlCharacter,
    #[error("a SIP URI identity must name a host")]
    SipWithoutHost,
}

impl IdentityError {
    /// The error code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_identity",
            Self::TooLong => "identity_too_long",
            Self::ControlCharacter => "invalid_identity",
            Self::SipWithoutHost => "invalid_identity",
        }
    }
}

/// Checks an identity a manager registers, and answers its canonical form.
pub fn parse(raw: &str) -> Result<String, IdentityError> {
    if raw.chars().any(char::is_control) {
        return Err(IdentityError::ControlCharacter);
    }
    let identity = canonical(raw);
    if identity.is_empty() {
        return Err(IdentityError::Empty);
    }
    if identity.len() > MAX_IDENTITY_BYTES {
        return Err(IdentityError::TooLong);
    }
    if let Some((_, rest)) = sip_parts(&identity)
        && rest.rsplit('@').next().unwrap_or_default().is_empty()
    {
        return Err(IdentityError::SipWithoutHost);
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phone_numbers_take_the_one_number_rule() {
        for raw in [
            "+15125550123",
            "15125550123",
            " +15125550123 ",
            "+1 (512) 555-0123",
        ] {
            assert_eq!(canonical(raw), "+15125550123", "{raw:?}");
        }
        // Not an international number: kept as sent (a short extension, a national form).
        assert_eq!(canonical("1234"), "1234");
        assert_eq!(canonical("05125550123"), "05125550123");
    }

    #[test]
    fn sip_uris_lose_case_in_scheme_and_host_and_lose_parameters_and_headers() {
        let cases = [
            ("sip:ana@pbx.example.com", "sip:ana@pbx.example.com"),
            ("SIP:ana@PBX.Example.COM", "sip:ana@pbx.example.com"),
            ("Sips:Ana@PBX.example.com", "sips:Ana@pbx.example.com"),
            (
                "sip:ana@pbx.example.com;transport=tls",
                "sip:ana@pbx.example.com",
            ),
            (
                "sip:ana@pbx.example.com:5061;transport=tls?subject=x",
                "sip:ana@pbx.example.com:5061",
            ),
            (
                "sip:ana@pbx.example.com?priority=urgent",
                "sip:ana@pbx.example.com",
            ),
            // The user part is kept exactly, its `;` included.
            (
                "sip:+1-512-555-0123;phone-context=x@GW.example.com;user=phone",
                "sip:+1-512-555-0123;phone-context=x@gw.example.com",
            ),
            ("sip:pbx.example.com;lr", "sip:pbx.example.com"),
            ("  sip:ana@pbx.example.com  ", "sip:ana@pbx.example.com"),
            ("sip:ana@[2001:DB8::1]:5060", "sip:ana@[2001:db8::1]:5060"),
        ];
        for (raw, want) in cases {
            assert_eq!(canonical(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn other_values_are_kept_exactly_but_trimmed() {
        for raw in [
            "client:ana",
            "client:Ana",
            "ana.smith",
            "5547307488460800",
            "tel:x",
        ] {
            assert_eq!(canonical(raw), raw);
            assert_eq!(canonical(&format!(" {raw}\t")), raw);
        }
        assert_ne!(canonical("client:ana"), canonical("client:Ana"));
    }

    #[test]
    fn parse_refuses_what_cannot_be_an_identity() {
        let long = "a".repeat(MAX_IDENTITY_BYTES + 1);
        let cases = [
            ("", IdentityError::Empty),
            ("   ", IdentityError::Empty),
            (long.as_str(), IdentityError::TooLong),
            ("client:a\u{0}na", IdentityError::ControlCharacter),
            ("client:ana\n", IdentityError::ControlCharacter),
            ("client:\u{1b}ana", IdentityError::ControlCharacter),
            ("sip:ana@", IdentityError::SipWithoutHost),
            ("sip:", IdentityError::SipWithoutHost),
            ("sip:ana@;transport=tls", IdentityError::SipWithoutHost),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(raw), Err(want.clone()), "{raw:?}");
            assert!(!want.code().is_empty());
        }
        assert_eq!(parse(&"a".repeat(MAX_IDENTITY_BYTES)).unwrap().len(), 256);
        // The bound is on the canonical form: trimmed whitespace does not count.
        let padded = format!("  {}  ", "a".repeat(MAX_IDENTITY_BYTES));
        assert!(parse(&padded).is_ok());
        assert_eq!(parse(" 15125550123 ").unwrap(), "+15125550123");
        assert_eq!(parse("SIP:ana@PBX").unwrap(), "sip:ana@pbx");
    }

    proptest! {
        #[test]
        fn canonical_form_is_idempotent(raw in any::<String>()) {
            let once = canonical(&raw);
            prop_assert_eq!(canonical(&once), once);
        }

        #[test]
        fn an_accepted_identity_is_its_canonical_form_and_accepted_again(raw in any::<String>()) {
            if let Ok(identity) = parse(&raw) {
                prop_assert_eq!(&identity, &canonical(&raw));
                prop_assert_eq!(parse(&identity), Ok(identity.clone()));
            }
        }

        #[test]
        fn canonical_form_of_sip_like_values_is_idempotent(
            scheme in "(?i)sips?",
            user in "[a-zA-Z0-9+;=?. -]{0,12}",
            at in any::<bool>(),
            host in "[a-zA-Z0-9.:\\[\\] -]{0,12}",
            tail in "[;?a-zA-Z=@ ]{0,10}",
        ) {
            let raw = if at {
                format!("{scheme}:{user}@{host}{tail}")
            } else {
                format!("{scheme}:{host}{tail}")
            };
            let once = canonical(&raw);
            prop_assert_eq!(canonical(&once), once.clone());
            if let Ok(parsed) = parse(&raw) {
                prop_assert_eq!(parsed, once);
            }
        }

        #[test]
        fn every_form_of_a_number_is_one_identity(digits in "[1-9][0-9]{9,13}") {
            let plus = format!("+{digits}");
            prop_assert_eq!(canonical(&digits), plus.clone());
            prop_assert_eq!(canonical(&format!(" {plus} ")), plus);
        }
    }
}
