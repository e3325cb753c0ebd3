//! Vonage signed webhooks (providers.md 3.1): `Authorization: Bearer <JWT>`, HS256 keyed
//! with the account's signature secret. The token is verified by `kit::jwt` (algorithm
//! pinned, constant-time MAC), then its claims bind it to this request and this moment:
//!
//! - `payload_hash`: lowercase hex SHA-256 of the raw body, required and compared;
//! - `iat`: required, within [`TOLERANCE_SECS`] of the clock both ways;
//! - `exp`, `nbf`: honoured when present (vonage-jwt refuses an expired or not yet valid
//!   token), with the same [`TOLERANCE_SECS`] of leeway (`kit::jwt::check_lifetime`);
//! - `jti`: when present, a single-use value: the service refuses a second request bearing
//!   it on the connection until `iat` + [`TOLERANCE_SECS`], after which `iat` refuses it.

use crate::kit::jwt;
use crate::kit::verify;
use crate::kit::{Clock, ConfigError, InboundRequest, SecretSet, Verified, VerifyError};
use http::HeaderValue;

/// The header carrying the token (lowercase, as `VerifyError::MissingHeader` names it).
pub(super) const HEADER: &str = "authorization";
/// The secret the tokens are signed with.
pub(super) const SIGNATURE_SECRET: &str = "signature_secret";
/// How far `iat` may be from the clock, either way. Vonage documents no tolerance; five
/// minutes is what the timestamped schemes of other providers use.
pub(super) const TOLERANCE_SECS: i64 = 300;

/// Checks the bearer token against every accepted signature secret, then its claims.
pub(super) fn verify<'r>(
    req: &'r InboundRequest,
    secrets: &SecretSet,
    clock: &dyn Clock,
) -> Result<Verified<'r>, VerifyError> {
    let keys = secrets.accepted_required(SIGNATURE_SECRET)?;
    let token = bearer(req.require_header(HEADER)?).ok_or(VerifyError::MalformedHeader(HEADER))?;
    let (verified, claims) = jwt::verify_hs256(req, token, HEADER, keys)?;
    let issued_at = claims
        .seconds("iat")
        .ok_or(VerifyError::MalformedHeader(HEADER))?;
    verify::check_timestamp(issued_at, clock, TOLERANCE_SECS)?;
    // `exp` and `nbf`, when a token carries them, as vonage-jwt (PyJWT) honours them.
    jwt::check_lifetime(&claims, clock, TOLERANCE_SECS, HEADER)?;
    // A token that does not commit to the body would authenticate any body.
    let payload_hash = claims
        .str("payload_hash")
        .ok_or(VerifyError::MalformedHeader(HEADER))?;
    verify::body_sha256_matches(&req.body, payload_hash)?;
    Ok(match claims.str("jti").filter(|j| !j.is_empty()) {
        Some(jti) => verified.with_replay_key(jti, issued_at.saturating_add(TOLERANCE_SECS)),
        None => verified,
    })
}

/// The token of a `Bearer` credential (scheme case-insensitive).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let trimmed = value.trim_ascii();
    let space = trimmed.iter().position(|&b| b == b' ')?;
    let (scheme, token) = trimmed.split_at(space);
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| token.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// Sets `Authorization: Bearer` as Vonage would, with the current secret: `iat` is the
/// clock, `payload_hash` the body's hash, `iss` `Vonage`, and `jti` derived from both so
/// that signing the same request at the same second gives the same token (samples must be
/// reproducible).
pub(super) fn sign(
    req: &mut InboundRequest,
    secrets: &SecretSet,
    clock: &dyn Clock,
) -> Result<(), ConfigError> {
    let secret = secrets
        .current(SIGNATURE_SECRET)
        .ok_or(ConfigError::MissingSecret(SIGNATURE_SECRET))?;
    let issued_at = clock.now().unix_timestamp();
    let payload_hash = verify::sha256_hex(&req.body);
    let seed = verify::sha256_hex(format!("{issued_at}:{payload_hash}").as_bytes());
    let jti = format!(
        "{}-{}-{}-{}-{}",
        &seed[..8],
        &seed[8..12],
        &seed[12..16],
        &seed[16..20],
        &seed[20..32]
    );
    // Keys in alphabetical order: the same bytes whether or not serde_json keeps insertion
    // order.
    let claims = serde_json::json!({
        "iat": issued_at,
        "iss": "Vonage",
        "jti": jti,
        "payload_hash": payload_hash,
    });
    let token = jwt::sign_hs256(&claims, secret.expose().as_bytes());
    // A JWT is always a valid header value; should that ever fail, leave no stale one.
    match HeaderValue::from_str(&format!("Bearer {token}")) {
        Ok(value) => req.headers.insert(HEADER, value),
        Err(_) => req.headers.remove(HEADER),
    };
    Ok(())
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
