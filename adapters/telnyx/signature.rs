//! Telnyx's webhook signature (providers.md 2.1): Ed25519 over `{telnyx-timestamp}|{raw body}`,
//! the signature in `telnyx-signature-ed25519` (base64 of 64 bytes), the timestamp within
//! 300 s either way. Call Control JSON and TeXML form callbacks are signed alike.

use crate::kit::verify::{self, VerifyError};
use crate::kit::{Clock, Generation, InboundRequest, Secret, Verified};
use base64::Engine;

pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// What the official SDKs accept, in either direction.
pub const TOLERANCE_SECS: i64 = 300;
/// The secret holding the account's public key (base64: 32 raw bytes or SPKI DER).
pub const PUBLIC_KEY: &str = "public_key";

/// Checks the signature with every accepted public key, then the timestamp.
pub fn verify<'a, 'r>(
    req: &'r InboundRequest,
    keys: impl IntoIterator<Item = (Generation, &'a Secret)>,
    clock: &dyn Clock,
) -> Result<Verified<'r>, VerifyError> {
    let timestamp = req
        .header(TIMESTAMP_HEADER)
        .ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))?;
    let signed_at = std::str::from_utf8(timestamp)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(VerifyError::MalformedHeader(TIMESTAMP_HEADER))?;
    let given = req
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::MissingHeader(SIGNATURE_HEADER))?;
    let signature: [u8; 64] =
        verify::decode_base64_header(given.trim_ascii(), SIGNATURE_HEADER, Some(64))?
            .try_into()
            .map_err(|_| VerifyError::MalformedHeader(SIGNATURE_HEADER))?;
    let verified = verify::ed25519_matches(
        req,
        PUBLIC_KEY,
        keys,
        &[timestamp, b"|", &req.body],
        &signature,
    )?;
    verify::check_timestamp(signed_at, clock, TOLERANCE_SECS)?;
    Ok(verified)
}

/// The signing key of a seed given as base64 of 32 bytes. Any other text is hashed into a
/// seed, so that tests can make a wrong key out of a right one by changing its text.
pub fn signing_key(seed: &str) -> ed25519_dalek::SigningKey {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(seed.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    let seed = decoded.unwrap_or_else(|| {
        use sha2::Digest;
        sha2::Sha256::digest(seed.as_bytes()).into()
    });
    ed25519_dalek::SigningKey::from_bytes(&seed)
}

/// The `telnyx-signature-ed25519` value of `body` sent at `timestamp`.
pub fn sign(key: &ed25519_dalek::SigningKey, timestamp: i64, body: &[u8]) -> String {
    use ed25519_dalek::Signer;
    let message = [timestamp.to_string().as_bytes(), b"|", body].concat();
    base64::engine::general_purpose::STANDARD.encode(key.sign(&message).to_bytes())
}
