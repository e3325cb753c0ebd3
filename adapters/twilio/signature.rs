//! `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the Auth Token, over the URL Twilio
//! requested followed by the POST parameters (providers.md 1.1).
//!
//! - form bodies: the URL, then each parameter as `name` + `value` (decoded), names in byte
//!   order, repeated names with their values sorted and exact duplicates dropped;
//! - GET: the URL alone (the parameters are in it);
//! - JSON bodies: the URL alone, which carries `bodySHA256=<hex>`; the body must hash to it.
//!
//! The URL is `InboundRequest::public_url` byte for byte: never rebuilt, decoded or
//! normalised. Only the port varies: see [`url_variants`].

use crate::kit::form::{Form, url_query};
use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{ConfigError, InboundRequest, SecretSet, Verified, VerifyError};
use http::{HeaderValue, Method};

/// The signature header (lowercase, as `VerifyError::MissingHeader` names it).
pub(super) const HEADER: &str = "x-twilio-signature";
/// The secret the signature is keyed with.
pub(super) const AUTH_TOKEN: &str = "auth_token";
/// The query parameter Twilio adds to the URL of a JSON request.
const BODY_HASH_PARAM: &str = "bodySHA256";
/// HMAC-SHA1 output length.
const SIGNATURE_LEN: usize = 20;

/// What the signature covers after the URL.
#[derive(Debug, PartialEq, Eq)]
enum Covered {
    /// The canonical parameter string of the form body.
    Params,
    /// Nothing (GET: the parameters are in the URL).
    UrlOnly,
    /// Nothing, but the body must hash to the URL's `bodySHA256` value, if it has one.
    BodyHash(Option<String>),
}

/// Checks the request's signature against every accepted Auth Token.
pub(super) fn verify<'r>(
    req: &'r InboundRequest,
    secrets: &SecretSet,
) -> Result<Verified<'r>, VerifyError> {
    // An empty token would let anyone compute the MAC: treat it as no token at all.
    let tokens: Vec<_> = secrets
        .accepted(AUTH_TOKEN)
        .filter(|(_, s)| !s.expose().is_empty())
        .collect();
    if tokens.is_empty() {
        return Err(VerifyError::NoCredentials(AUTH_TOKEN));
    }
    let given =
        verify::decode_base64_header(req.require_header(HEADER)?, HEADER, Some(SIGNATURE_LEN))?;

    let covered = covered(req);
    // A form body is parsed once: for its canonical string here, and for `parse` after.
    let form = (covered == Covered::Params).then(|| Form::parse(&req.body));
    let params = match (&covered, &form) {
        (Covered::Params, Some(form)) => canonical_of(form),
        // A JSON body the URL does not commit to is not authenticated at all.
        (Covered::BodyHash(None), _) => return Err(VerifyError::BadSignature),
        _ => Vec::new(),
    };
    let urls = url_variants(&req.public_url);
    let candidates: Vec<Vec<&[u8]>> = urls
        .iter()
        .map(|u| vec![u.as_bytes(), params.as_slice()])
        .collect();
    let verified = verify::mac_matches(req, MacAlgorithm::HmacSha1, tokens, &candidates, &given)?;

    if let Covered::BodyHash(Some(hex)) = &covered {
        verify::body_sha256_matches(&req.body, hex)?;
    }
    Ok(match form {
        Some(form) => verified.with_form(form),
        None => verified,
    })
}

/// Sets `X-Twilio-Signature` as Twilio would, with the current Auth Token, over the URL as
/// given (no port variant). For a JSON body whose URL has no `bodySHA256` yet, the hash of
/// the body is appended to the URL first (what Twilio does); an existing value is kept as
/// is, so tests can build a mismatch.
pub(super) fn sign(req: &mut InboundRequest, secrets: &SecretSet) -> Result<(), ConfigError> {
    let token = secrets
        .current(AUTH_TOKEN)
        .ok_or(ConfigError::MissingSecret(AUTH_TOKEN))?;
    if covered(req) == Covered::BodyHash(None) {
        let hash = verify::sha256_hex(&req.body);
        req.public_url = with_query_param(&req.public_url, BODY_HASH_PARAM, &hash);
    }
    let params = match covered(req) {
        Covered::Params => canonical_params(&req.body),
        Covered::UrlOnly | Covered::BodyHash(_) => Vec::new(),
    };
    let mac = signature(token.expose(), &req.public_url, &params);
    // Standard base64 is always a valid header value; should that ever fail, leave no stale
    // signature behind.
    match HeaderValue::from_str(&mac) {
        Ok(value) => req.headers.insert(HEADER, value),
        Err(_) => req.headers.remove(HEADER),
    };
    Ok(())
}

/// The base64 signature of `url` + `params` under `token`.
pub(super) fn signature(token: &str, url: &str, params: &[u8]) -> String {
    use base64::Engine;
    let mac = verify::mac(
        MacAlgorithm::HmacSha1,
        token.as_bytes(),
        &[url.as_bytes(), params],
    );
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// Decides what the signature covers besides the URL.
fn covered(req: &InboundRequest) -> Covered {
    if req.method == Method::GET || req.method == Method::HEAD {
        return Covered::UrlOnly;
    }
    let content_type = req.content_type();
    let body_hash = Form::parse(url_query(&req.public_url).as_bytes())
        .pairs()
        .iter()
        .find(|(k, _)| k == BODY_HASH_PARAM)
        .map(|(_, v)| v.to_string());
    let is_json = content_type.as_deref() == Some("application/json");
    let is_form = content_type.as_deref() == Some("application/x-www-form-urlencoded");
    if is_json || (body_hash.is_some() && !is_form) {
        Covered::BodyHash(body_hash)
    } else {
        Covered::Params
    }
}

/// `name` + `value` for every parameter: names in byte order, each name's values sorted and
/// deduplicated (the python and node SDKs' rule for repeated names), no separators.
pub(super) fn canonical_params(body: &[u8]) -> Vec<u8> {
    canonical_of(&Form::parse(body))
}

fn canonical_of(form: &Form<'_>) -> Vec<u8> {
    let mut pairs: Vec<(&str, &str)> = form
        .pairs()
        .iter()
        .map(|(name, value)| (name.as_ref(), value.as_ref()))
        .collect();
    // Sorting (name, value) pairs orders names, then each name's values; dedup drops a
    // repeated identical pair.
    pairs.sort_unstable();
    pairs.dedup();
    let mut out = Vec::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len()).sum());
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// The URLs a signature may have been computed over: the URL with any explicit port
/// removed, and the URL with the scheme's default port added when it has none (kept as is
/// when it has one). One of them is always the URL as given. Userinfo is kept.
pub(super) fn url_variants(url: &str) -> Vec<String> {
    let Some(scheme_end) = url.find("://") else {
        return vec![url.to_owned()];
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_port = &authority[host_start..];
    // In an IPv6 literal (`[::1]:8080`) the port can only follow the closing bracket.
    let search_from = if host_port.starts_with('[') {
        host_port.find(']').map_or(host_port.len(), |i| i + 1)
    } else {
        0
    };
    let port_colon = host_port[search_from..]
        .rfind(':')
        .map(|i| authority_start + host_start + search_from + i);

    let tail = &url[authority_end..];
    let (without_port, with_port) = match port_colon {
        Some(colon) => (format!("{}{tail}", &url[..colon]), url.to_owned()),
        None => {
            let head = &url[..authority_end];
            let default_port = if url[..scheme_end].eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            (url.to_owned(), format!("{head}:{default_port}{tail}"))
        }
    };
    if without_port == with_port {
        vec![without_port]
    } else {
        vec![without_port, with_port]
    }
}

/// `url` with `name=value` appended to its query (before any fragment).
fn with_query_param(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    // The query is what follows the first `?`; a new parameter needs a `&` unless the query
    // is empty or already ends with one.
    let separator = match base.split_once('?') {
        None => "?",
        Some((_, query)) if query.is_empty() || query.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{base}{separator}{name}={value}{fragment}")
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
