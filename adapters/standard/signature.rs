//! Standard Webhooks signing (standardwebhooks.com, providers.md 9): HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64 key of a `whsec_` secret;
//! `webhook-signature` lists space-separated `v1,<base64>` entries, any of which may match.
//! Plain functions, so that callgate can sign its own outgoing webhooks the same way.

use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{Generation, InboundRequest, Secret, Verified, VerifyError};
use base64::Engine;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// Five minutes either way, as the reference libraries allow.
pub const TOLERANCE_SECS: i64 = 300;
const SIGNATURE_LEN: usize = 32;

/// The HMAC key of a secret: the base64 after `whsec_` (the prefix is optional; unpadded
/// base64 is accepted, as the Python library does). A secret that is not base64 is used as
/// its own bytes, so that a connection made with one still verifies what its sender signs
/// with the same bytes. `None` only for an empty secret.
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    let standard = base64::engine::general_purpose::STANDARD;
    let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD;
    let key = standard
        .decode(b64)
        .or_else(|_| unpadded.decode(b64))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    (!key.is_empty()).then_some(key)
}

/// The `v1,<base64>` signature of one message.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = verify::mac(
        MacAlgorithm::HmacSha256,
        key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
    );
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    )
}

/// Checks a request's three headers and signature list against every accepted secret.
pub fn verify<'r>(
    req: &'r InboundRequest,
    secrets: &[(Generation, &Secret)],
    now_check: impl FnOnce(i64) -> Result<(), VerifyError>,
) -> Result<Verified<'r>, VerifyError> {
    let id = std::str::from_utf8(req.require_header(ID_HEADER)?)
        .map_err(|_| VerifyError::MalformedHeader(ID_HEADER))?;
    let ts_raw = std::str::from_utf8(req.require_header(TIMESTAMP_HEADER)?)
        .map_err(|_| VerifyError::MalformedHeader(TIMESTAMP_HEADER))?;
    let list = req.require_header(SIGNATURE_HEADER)?;
    if id.is_empty() || id.contains('.') {
        return Err(VerifyError::MalformedHeader(ID_HEADER));
    }
    let timestamp: i64 = ts_raw
        .trim()
        .parse()
        .map_err(|_| VerifyError::MalformedHeader(TIMESTAMP_HEADER))?;
    now_check(timestamp)?;
    // Every `v1` entry that decodes; other versions are ignored.
    let given: Vec<Vec<u8>> = list
        .split(|&b| b == b' ')
        .filter_map(|entry| entry.strip_prefix(b"v1,"))
        .filter_map(|sig| {
            verify::decode_base64_header(sig, SIGNATURE_HEADER, Some(SIGNATURE_LEN)).ok()
        })
        .collect();
    if given.is_empty() {
        return Err(VerifyError::MalformedHeader(SIGNATURE_HEADER));
    }
    let keys: Vec<(Generation, Vec<u8>)> = secrets
        .iter()
        .filter_map(|(g, s)| key_of(s.expose()).map(|k| (*g, k)))
        .collect();
    if keys.is_empty() {
        return Err(VerifyError::NoCredentials("secret"));
    }
    let ts = timestamp.to_string();
    let signed = [vec![
        id.as_bytes(),
        b".".as_slice(),
        ts.as_bytes(),
        b".".as_slice(),
        req.body.as_ref(),
    ]];
    let given: Vec<&[u8]> = given.iter().map(Vec::as_slice).collect();
    verify::mac_matches_keys(
        req,
        MacAlgorithm::HmacSha256,
        keys.iter().map(|(g, k)| (*g, k.as_slice())),
        &signed,
        &given,
    )
}
