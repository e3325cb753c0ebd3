//! Bandwidth signs nothing: it sends the HTTP Basic credentials configured on the
//! application (`CallbackCreds`) or on the call (`username` / `password`) with every
//! callback (providers.md 6.1). They are compared in constant time
//! (`kit::verify::shared_secret`) with `callback_username:callback_password` of each accepted
//! generation, user and password of one generation together.
//!
//! This proves who sent the request, not its bytes: the body's integrity rests on TLS
//! (`ProviderInfo::signs_body` is false).

use crate::kit::adapter::basic_auth;
use crate::kit::secrets::{Generation, Secret};
use crate::kit::verify;
use crate::kit::{ConfigError, InboundRequest, SecretSet, Verified, VerifyError};
use base64::Engine;
use http::HeaderValue;
use zeroize::Zeroizing;

/// The header carrying the credentials (lowercase, as `VerifyError::MissingHeader` names it).
pub(super) const HEADER: &str = "authorization";
/// The callback user name configured at Bandwidth.
pub(super) const USERNAME: &str = "callback_username";
/// The callback password configured at Bandwidth.
pub(super) const PASSWORD: &str = "callback_password";

/// Checks `Authorization: Basic` against every accepted generation of the credentials.
pub(super) fn verify<'r>(
    req: &'r InboundRequest,
    secrets: &SecretSet,
) -> Result<Verified<'r>, VerifyError> {
    let expected = credentials(secrets)?;
    let given = basic_credentials(req.require_header(HEADER)?)?;
    verify::shared_secret(req, expected.iter().map(|(g, s)| (*g, s)), &given)
}

/// `user:password` for each generation that has both (empty values never count).
fn credentials(secrets: &SecretSet) -> Result<Vec<(Generation, Secret)>, VerifyError> {
    let users = secrets.accepted_required(USERNAME)?;
    let passwords: Vec<_> = secrets.accepted(PASSWORD).collect();
    let paired: Vec<_> = users
        .iter()
        .filter_map(|(generation, user)| {
            let (_, password) = passwords.iter().find(|(g, _)| g == generation)?;
            let joined = format!("{}:{}", user.expose(), password.expose());
            Some((*generation, Secret::new(joined)))
        })
        .collect();
    if paired.is_empty() {
        return Err(VerifyError::NoCredentials(PASSWORD));
    }
    Ok(paired)
}

/// The decoded `user:password` of a `Basic` credential (scheme case-insensitive, RFC 7617);
/// anything else is `MalformedHeader`.
fn basic_credentials(value: &[u8]) -> Result<Zeroizing<Vec<u8>>, VerifyError> {
    let malformed = VerifyError::MalformedHeader(HEADER);
    let text = std::str::from_utf8(value).map_err(|_| malformed.clone())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or(malformed.clone())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed);
    }
    base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map(Zeroizing::new)
        .map_err(|_| malformed)
}

/// Sets `Authorization: Basic` with the current credentials, as Bandwidth would.
pub(super) fn sign(req: &mut InboundRequest, secrets: &SecretSet) -> Result<(), ConfigError> {
    let user = secrets
        .current(USERNAME)
        .ok_or(ConfigError::MissingSecret(USERNAME))?;
    let password = secrets
        .current(PASSWORD)
        .ok_or(ConfigError::MissingSecret(PASSWORD))?;
    // Base64 is always a valid header value; should that ever fail, leave no stale one.
    match HeaderValue::from_str(&basic_auth(user.expose(), password.expose())) {
        Ok(value) => req.headers.insert(HEADER, value),
        Err(_) => req.headers.remove(HEADER),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::collections::BTreeMap;

    fn req(authorization: Option<&str>) -> InboundRequest {
        let mut headers = http::HeaderMap::new();
        if let Some(v) = authorization.and_then(|a| HeaderValue::from_str(a).ok()) {
            headers.insert(HEADER, v);
        }
        InboundRequest {
            method: http::Method::POST,
            public_url: "https://hooks.example.test/webhooks/bandwidth/c".to_owned(),
            headers,
            body: Bytes::from_static(b"{}"),
        }
    }

    fn set(user: &str, password: &str) -> SecretSet {
        SecretSet::from_pairs([(USERNAME, user), (PASSWORD, password)])
    }

    fn check(authorization: Option<&str>, secrets: &SecretSet) -> Result<Generation, VerifyError> {
        verify(&req(authorization), secrets).map(|v| v.generation())
    }

    #[test]
    fn the_configured_credentials_are_accepted() {
        let secrets = set("bw-user", "bw-pass");
        let header = basic_auth("bw-user", "bw-pass");
        assert_eq!(check(Some(&header), &secrets), Ok(Generation::Current));
        // The scheme is case-insensitive; extra spaces are tolerated.
        let lower = header.replacen("Basic", "basic", 1);
        assert_eq!(check(Some(&lower), &secrets), Ok(Generation::Current));
        let spaced = header.replacen("Basic ", "BASIC  ", 1);
        assert_eq!(check(Some(&spaced), &secrets), Ok(Generation::Current));
    }

    #[test]
    fn wrong_credentials_are_refused() {
        let secrets = set("bw-user", "bw-pass");
        for (user, password) in [
            ("bw-user", "bw-pas"),
            ("bw-user", "bw-pass2"),
            ("bw-use", "bw-pass"),
            ("bw-pass", "bw-user"),
            ("", ""),
        ] {
            let header = basic_auth(user, password);
            assert_eq!(
                check(Some(&header), &secrets),
                Err(VerifyError::BadSignature),
                "{user}:{password}"
            );
        }
        // `user:pass` split differently is not the same credential.
        let header = basic_auth("bw-user:bw", "pass");
        assert_eq!(
            check(Some(&header), &secrets),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn header_problems_are_named() {
        let secrets = set("bw-user", "bw-pass");
        assert_eq!(
            check(None, &secrets),
            Err(VerifyError::MissingHeader(HEADER))
        );
        for bad in [
            "Bearer abc",
            "Basic",
            "Basic !!!",
            "YnctdXNlcjpidy1wYXNz",
            "Digest username=\"bw-user\"",
        ] {
            assert_eq!(
                check(Some(bad), &secrets),
                Err(VerifyError::MalformedHeader(HEADER)),
                "{bad}"
            );
        }
    }

    #[test]
    fn rotation_pairs_user_and_password_of_one_generation() {
        let map = |u: &str, p: &str| {
            BTreeMap::from([
                (USERNAME.to_owned(), Secret::new(u)),
                (PASSWORD.to_owned(), Secret::new(p)),
            ])
        };
        let rotated = SecretSet::new(
            map("new-user", "new-pass"),
            Some(map("old-user", "old-pass")),
        );
        assert_eq!(
            check(Some(&basic_auth("old-user", "old-pass")), &rotated),
            Ok(Generation::Previous)
        );
        assert_eq!(
            check(Some(&basic_auth("new-user", "new-pass")), &rotated),
            Ok(Generation::Current)
        );
        // The new user with the old password was never a valid pair.
        assert_eq!(
            check(Some(&basic_auth("new-user", "old-pass")), &rotated),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn missing_or_empty_secrets_are_no_credentials() {
        let header = basic_auth("bw-user", "");
        assert_eq!(
            check(Some(&header), &SecretSet::from_pairs([(PASSWORD, "p")])),
            Err(VerifyError::NoCredentials(USERNAME))
        );
        assert_eq!(
            check(Some(&header), &set("bw-user", "")),
            Err(VerifyError::NoCredentials(PASSWORD))
        );
        assert_eq!(
            check(
                Some(&header),
                &SecretSet::from_pairs([(USERNAME, "bw-user")])
            ),
            Err(VerifyError::NoCredentials(PASSWORD))
        );
    }

    #[test]
    fn sign_sets_the_current_credentials() {
        let mut r = req(None);
        assert_eq!(sign(&mut r, &set("bw-user", "bw-pass")), Ok(()));
        let expected = basic_auth("bw-user", "bw-pass");
        assert_eq!(r.header(HEADER), Some(expected.as_bytes()));
        assert_eq!(
            sign(&mut r, &SecretSet::from_pairs([(USERNAME, "u")])),
            Err(ConfigError::MissingSecret(PASSWORD))
        );
    }
}
