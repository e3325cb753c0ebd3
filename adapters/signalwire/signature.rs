//! SignalWire's webhook signatures, all keyed with the project's Signing Key
//! (providers.md 5.1):
//!
//! - `X-SignalWire-Sha256-Signature`: lowercase hex HMAC-SHA256 over the URL + the raw body
//!   (RELAY / SWML JSON callbacks on the newer platform); checked first when present;
//! - `X-SignalWire-Signature` holding 40 hex characters: HMAC-SHA1 over the URL + the raw
//!   body (scheme A, RELAY / SWML JSON callbacks);
//! - `X-SignalWire-Signature` or `X-Twilio-Signature` holding base64: the Twilio scheme
//!   (`kit::twilio_scheme`, scheme B, LaML webhooks), with SignalWire's parameter order and
//!   Twilio's accepted too.
//!
//! The first header that matches proves the request; when none does, the first failure is
//! reported. The URL is `InboundRequest::public_url` byte for byte.

use crate::kit::secrets::{Generation, Secret};
use crate::kit::twilio_scheme::{self, ParamOrder, SIGNATURE_LEN};
use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{ConfigError, InboundRequest, SecretSet, Verified, VerifyError};
use http::{HeaderValue, Method};

/// The secret every SignalWire signature is keyed with.
pub(super) const SIGNING_KEY: &str = "signing_key";
/// Hex HMAC-SHA256 over URL + body.
pub(super) const SHA256_HEADER: &str = "x-signalwire-sha256-signature";
/// Hex HMAC-SHA1 over URL + body, or the Twilio scheme in base64.
pub(super) const HEADER: &str = "x-signalwire-signature";
/// The Twilio scheme, as Twilio-compatible LaML webhooks send it.
pub(super) const TWILIO_HEADER: &str = "x-twilio-signature";

/// SignalWire's reference suite keeps the submission order of a repeated name; its Ruby SDK
/// delegates to Twilio's validator (sorted, distinct). Both layouts are accepted.
const LAML_ORDERS: [ParamOrder; 2] = [ParamOrder::Submitted, ParamOrder::SortedDistinct];
/// HMAC-SHA1 as hex: 40 characters; in base64 it is 28.
const SHA1_HEX_LEN: usize = 40;

/// Checks the request's signature headers against every accepted Signing Key.
pub(super) fn verify<'r>(
    req: &'r InboundRequest,
    secrets: &SecretSet,
) -> Result<Verified<'r>, VerifyError> {
    let keys = secrets.accepted_required(SIGNING_KEY)?;
    let mut first_failure = None;
    let mut any_header = false;
    for name in [SHA256_HEADER, HEADER, TWILIO_HEADER] {
        let Some(value) = req.header(name) else {
            continue;
        };
        any_header = true;
        // `X-SignalWire-Signature` is hex (scheme A) or base64 (the Twilio scheme), told
        // apart by length.
        let checked = match name {
            SHA256_HEADER => check_url_and_body(req, &keys, value, name, MacAlgorithm::HmacSha256),
            HEADER if value.len() == SHA1_HEX_LEN => {
                check_url_and_body(req, &keys, value, name, MacAlgorithm::HmacSha1)
            }
            _ => check_laml(req, &keys, value, name),
        };
        match checked {
            Ok(verified) => return Ok(verified),
            Err(e) => {
                first_failure.get_or_insert(e);
            }
        }
    }
    if !any_header {
        return Err(VerifyError::MissingHeader(HEADER));
    }
    Err(first_failure.unwrap_or(VerifyError::BadSignature))
}

/// A hex MAC over the URL + the raw body: the SHA-256 header, and scheme A.
fn check_url_and_body<'r>(
    req: &'r InboundRequest,
    keys: &[(Generation, &Secret)],
    value: &[u8],
    name: &'static str,
    algorithm: MacAlgorithm,
) -> Result<Verified<'r>, VerifyError> {
    let len = match algorithm {
        MacAlgorithm::HmacSha1 => SIGNATURE_LEN,
        MacAlgorithm::HmacSha256 => 32,
    };
    let given = verify::decode_hex_header(value, name, len)?;
    // The URL as signalwire-python's `RequestValidator` reads it: twilio-python's
    // `urlparse(url).geturl()` (a bare `?` dropped), with and without the port.
    let urls = twilio_scheme::url_variants(&req.public_url);
    let candidates: Vec<Vec<&[u8]>> = urls
        .iter()
        .map(|u| vec![u.as_bytes(), &req.body[..]])
        .collect();
    verify::mac_matches(req, algorithm, keys.iter().copied(), &candidates, &given)
}

/// The Twilio scheme (base64).
fn check_laml<'r>(
    req: &'r InboundRequest,
    keys: &[(Generation, &Secret)],
    value: &[u8],
    name: &'static str,
) -> Result<Verified<'r>, VerifyError> {
    let given = verify::decode_base64_header(value, name, Some(SIGNATURE_LEN))?;
    twilio_scheme::verify(req, keys, &given, &LAML_ORDERS, MacAlgorithm::HmacSha1)
}

/// Whether SignalWire would send this request as a JSON callback (signed over URL + body)
/// rather than a LaML webhook (the Twilio scheme).
fn is_json_callback(req: &InboundRequest) -> bool {
    req.method != Method::GET
        && req.method != Method::HEAD
        && req.content_type().as_deref() == Some("application/json")
}

/// Signs `req` as SignalWire would, with the current Signing Key: a JSON callback gets
/// `X-SignalWire-Signature` (hex SHA-1) and `X-SignalWire-Sha256-Signature`; a LaML
/// webhook gets the Twilio scheme (SignalWire's parameter order) in both
/// `X-SignalWire-Signature` and `X-Twilio-Signature`.
pub(super) fn sign(req: &mut InboundRequest, secrets: &SecretSet) -> Result<(), ConfigError> {
    let key = secrets
        .current(SIGNING_KEY)
        .ok_or(ConfigError::MissingSecret(SIGNING_KEY))?;
    let headers: Vec<(&'static str, String)> = if is_json_callback(req) {
        let url = twilio_scheme::sdk_normalized(&req.public_url);
        let parts: [&[u8]; 2] = [url.as_bytes(), &req.body[..]];
        let key = key.expose().as_bytes();
        vec![
            (
                HEADER,
                verify::hex(&verify::mac(MacAlgorithm::HmacSha1, key, &parts)),
            ),
            (
                SHA256_HEADER,
                verify::hex(&verify::mac(MacAlgorithm::HmacSha256, key, &parts)),
            ),
        ]
    } else {
        let mac = twilio_scheme::sign(
            req,
            key.expose(),
            ParamOrder::Submitted,
            MacAlgorithm::HmacSha1,
        );
        vec![(HEADER, mac.clone()), (TWILIO_HEADER, mac)]
    };
    for (name, value) in headers {
        // Hex and base64 are always valid header values; should that ever fail, leave no
        // stale signature behind.
        match HeaderValue::from_str(&value) {
            Ok(v) => req.headers.insert(name, v),
            Err(_) => req.headers.remove(name),
        };
    }
    Ok(())
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
