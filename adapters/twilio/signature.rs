//! `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the Auth Token, over the URL Twilio
//! requested followed by the POST parameters (providers.md 1.1). The scheme itself (what is
//! signed, URL port variants, `bodySHA256`) lives in `kit::twilio_scheme`, shared with
//! SignalWire's LaML webhooks; this file picks Twilio's header, secret and parameter order.

use crate::kit::twilio_scheme::{self, ParamOrder, SIGNATURE_LEN};
use crate::kit::verify;
use crate::kit::{ConfigError, InboundRequest, SecretSet, Verified, VerifyError};
use http::HeaderValue;

/// The signature header (lowercase, as `VerifyError::MissingHeader` names it).
pub(super) const HEADER: &str = "x-twilio-signature";
/// The secret the signature is keyed with.
pub(super) const AUTH_TOKEN: &str = "auth_token";
/// Twilio's SDKs sort the values of a repeated name and drop exact duplicates.
const ORDER: ParamOrder = ParamOrder::SortedDistinct;

/// Checks the request's signature against every accepted Auth Token.
pub(super) fn verify<'r>(
    req: &'r InboundRequest,
    secrets: &SecretSet,
) -> Result<Verified<'r>, VerifyError> {
    // An empty token would let anyone compute the MAC: `accepted` never yields one.
    let tokens = secrets.accepted_required(AUTH_TOKEN)?;
    let given =
        verify::decode_base64_header(req.require_header(HEADER)?, HEADER, Some(SIGNATURE_LEN))?;
    twilio_scheme::verify(req, &tokens, &given, &[ORDER])
}

/// Sets `X-Twilio-Signature` as Twilio would, with the current Auth Token, over the URL as
/// given (no port variant). For a JSON body whose URL has no `bodySHA256` yet, the hash of
/// the body is appended to the URL first (what Twilio does); an existing value is kept as
/// is, so tests can build a mismatch.
pub(super) fn sign(req: &mut InboundRequest, secrets: &SecretSet) -> Result<(), ConfigError> {
    let token = secrets
        .current(AUTH_TOKEN)
        .ok_or(ConfigError::MissingSecret(AUTH_TOKEN))?;
    let mac = twilio_scheme::sign(req, token.expose(), ORDER);
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
