//! `X-Twilio-Signature`: base64 HMAC, over the URL Twilio requested followed by the POST
//! parameters (providers.md 1.1). Keyed with the Auth Token (HMAC-SHA1), or, when the request
//! carries `X-Twilio-Webhooks-Signature-Settings: key=<sharedKeyId>,algorithm=<algorithm>`,
//! with the connection's SharedKey secret (`shared_key`) and the algorithm it names
//! (`HMAC_SHA256` or `HMAC_SHA1`): twilio-python 9.13.0's `RequestValidator` and
//! `get_signature_algorithm`. The scheme itself (what is signed, URL port variants,
//! `bodySHA256`) lives in `kit::twilio_scheme`, shared with SignalWire's LaML webhooks; this
//! file picks Twilio's headers, secrets, algorithm and parameter order.

use crate::kit::twilio_scheme::{self, ParamOrder, SHA256_SIGNATURE_LEN, SIGNATURE_LEN};
use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{ConfigError, InboundRequest, SecretSet, Verified, VerifyError};
use http::HeaderValue;

/// The signature header (lowercase, as `VerifyError::MissingHeader` names it).
pub(super) const HEADER: &str = "x-twilio-signature";
/// The header of a webhook signed with a SharedKey.
pub(super) const SETTINGS_HEADER: &str = "x-twilio-webhooks-signature-settings";
/// The secret the signature is keyed with.
pub(super) const AUTH_TOKEN: &str = "auth_token";
/// The SharedKey secret, for webhooks that carry [`SETTINGS_HEADER`] (optional).
pub(super) const SHARED_KEY: &str = "shared_key";
/// Twilio's SDKs sort the values of a repeated name and drop exact duplicates.
const ORDER: ParamOrder = ParamOrder::SortedDistinct;

/// The secret and algorithm a request was signed with: the Auth Token and HMAC-SHA1, or,
/// with [`SETTINGS_HEADER`], the SharedKey and the algorithm it names (HMAC-SHA1 when it
/// names none, as the SDK reads it; names compared case-insensitively, as the SDK does).
fn scheme(req: &InboundRequest) -> Result<(&'static str, MacAlgorithm), VerifyError> {
    let Some(settings) = req.header(SETTINGS_HEADER) else {
        return Ok((AUTH_TOKEN, MacAlgorithm::HmacSha1));
    };
    let settings =
        std::str::from_utf8(settings).map_err(|_| VerifyError::MalformedHeader(SETTINGS_HEADER))?;
    let named = settings.split(',').find_map(|part| {
        let (name, value) = part.split_once('=')?;
        (name.trim() == "algorithm" && !value.trim().is_empty()).then(|| value.trim())
    });
    let algorithm = match named.map(str::to_ascii_uppercase).as_deref() {
        None | Some("HMAC_SHA1") => MacAlgorithm::HmacSha1,
        Some("HMAC_SHA256") => MacAlgorithm::HmacSha256,
        // An algorithm the SDK does not know fails its validation too.
        Some(_) => return Err(VerifyError::MalformedHeader(SETTINGS_HEADER)),
    };
    Ok((SHARED_KEY, algorithm))
}

/// Checks the request's signature against every accepted key of its scheme.
pub(super) fn verify<'r>(
    req: &'r InboundRequest,
    secrets: &SecretSet,
) -> Result<Verified<'r>, VerifyError> {
    let (secret, algorithm) = scheme(req)?;
    // An empty key would let anyone compute the MAC: `accepted` never yields one.
    let keys = secrets.accepted_required(secret)?;
    let len = match algorithm {
        MacAlgorithm::HmacSha256 => SHA256_SIGNATURE_LEN,
        MacAlgorithm::HmacSha1 => SIGNATURE_LEN,
    };
    let given = verify::decode_base64_header(req.require_header(HEADER)?, HEADER, Some(len))?;
    twilio_scheme::verify(req, &keys, &given, &[ORDER], algorithm)
}

/// Sets `X-Twilio-Signature` as Twilio would, with the current key of the request's scheme
/// (the SharedKey when it carries [`SETTINGS_HEADER`]), over the URL as the SDK reads it (no
/// port variant). For a JSON body whose URL has no `bodySHA256` yet, the hash of the body
/// is appended to the URL first (what Twilio does); an existing value is kept as is, so
/// tests can build a mismatch.
pub(super) fn sign(req: &mut InboundRequest, secrets: &SecretSet) -> Result<(), ConfigError> {
    let (secret, algorithm) = scheme(req).unwrap_or((AUTH_TOKEN, MacAlgorithm::HmacSha1));
    let key = secrets
        .current(secret)
        .ok_or(ConfigError::MissingSecret(secret))?;
    let mac = twilio_scheme::sign(req, key.expose(), ORDER, algorithm);
    // Standard base64 is always a valid header value; should that ever fail, leave no stale
    // signature behind.
    match HeaderValue::from_str(&mac) {
        Ok(value) => req.headers.insert(HEADER, value),
        Err(_) => req.headers.remove(HEADER),
    };
    Ok(())
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
