//! The Twilio request-signature scheme, shared by Twilio (`X-Twilio-Signature`) and by
//! SignalWire's Twilio-compatible LaML webhooks (providers.md 1.1, 5.1): base64
//! HMAC-SHA1, keyed with the account's token, over the URL the provider requested followed
//! by the POST parameters.
//!
//! - form bodies: the URL, then each parameter as `name` + `value` (decoded), names in byte
//!   order; repeated names per [`ParamOrder`], no separators;
//! - GET: the URL alone (the parameters are in it);
//! - JSON bodies: the URL alone, which carries `bodySHA256=<hex>`; the body must hash to it.
//!
//! The URL is `InboundRequest::public_url` as twilio-python's `RequestValidator` reads it,
//! `urlparse(url).geturl()` ([`sdk_normalized`]: an empty query `?` or fragment `#` is
//! dropped), never otherwise rebuilt or decoded; then the port varies: see
//! [`url_variants`]. Signing uses the same form, so the SDK accepts what callgate signs.
//! The MAC is HMAC-SHA1 (the Auth Token's), or the algorithm a Twilio SharedKey names
//! (HMAC-SHA256: `twilio::signature`). Each provider keeps its own header names and secret;
//! this module only computes and checks.

use crate::kit::form::{Form, url_query};
use crate::kit::secrets::{Generation, Secret};
use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{InboundRequest, Verified, VerifyError};
use http::Method;

/// The query parameter a JSON request's URL carries.
const BODY_HASH_PARAM: &str = "bodySHA256";
/// HMAC-SHA1 output length: a decoded signature of any other length is malformed.
pub const SIGNATURE_LEN: usize = 20;
/// HMAC-SHA256 output length.
pub const SHA256_SIGNATURE_LEN: usize = 32;

/// How the values of a repeated parameter name are laid out in the signed string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamOrder {
    /// Values sorted, exact duplicates dropped: Twilio's python and node SDKs.
    SortedDistinct,
    /// Values in the order they were submitted, every occurrence kept: SignalWire's
    /// reference suite (`To=a&To=b` signs `ToaTob`, `To=b&To=a` signs `TobToa`).
    Submitted,
}

/// What the signature covers after the URL.
#[derive(Debug, PartialEq, Eq)]
enum Covered {
    /// The parameters of a form body (laid out per [`ParamOrder`] when signing).
    Params,
    /// Nothing (GET: the parameters are in the URL).
    UrlOnly,
    /// Nothing, but the body must hash to the URL's `bodySHA256` value, if it has one.
    BodyHash(Option<String>),
}

/// Checks `given` (the decoded signature header) against every accepted key, every URL
/// variant and every parameter layout in `orders`, in constant time.
pub fn verify<'r>(
    req: &'r InboundRequest,
    keys: &[(Generation, &Secret)],
    given: &[u8],
    orders: &[ParamOrder],
    algorithm: MacAlgorithm,
) -> Result<Verified<'r>, VerifyError> {
    let covered = covered(req);
    // A form body is parsed once: for its canonical strings here, and for `parse` after.
    let form = (covered == Covered::Params).then(|| Form::parse(&req.body));
    let params: Vec<Vec<u8>> = match (&covered, &form) {
        (Covered::Params, Some(form)) => {
            let mut layouts: Vec<Vec<u8>> = Vec::with_capacity(orders.len());
            for order in orders {
                let layout = canonical_of(form, *order);
                if !layouts.contains(&layout) {
                    layouts.push(layout);
                }
            }
            layouts
        }
        // A JSON body the URL does not commit to is not authenticated at all.
        (Covered::BodyHash(None), _) => return Err(VerifyError::BadSignature),
        _ => vec![Vec::new()],
    };
    let urls = url_variants(&req.public_url);
    let candidates: Vec<Vec<&[u8]>> = urls
        .iter()
        .flat_map(|u| params.iter().map(move |p| vec![u.as_bytes(), p.as_slice()]))
        .collect();
    let verified = verify::mac_matches(req, algorithm, keys.iter().copied(), &candidates, given)?;
    if let Covered::BodyHash(Some(hex)) = &covered {
        verify::body_sha256_matches(&req.body, hex)?;
    }
    Ok(match form {
        Some(form) => verified.with_form(form),
        None => verified,
    })
}

/// Signs `req` as the provider would, over the URL as the SDK reads it ([`sdk_normalized`];
/// no port variant), and returns the base64 signature; the caller sets it in its header.
/// For a JSON body whose URL has no `bodySHA256` yet, the hash of the body is appended to
/// the URL first (what Twilio does); an existing value is kept as is, so tests can build a
/// mismatch.
pub fn sign(
    req: &mut InboundRequest,
    key: &str,
    order: ParamOrder,
    algorithm: MacAlgorithm,
) -> String {
    if covered(req) == Covered::BodyHash(None) {
        let hash = verify::sha256_hex(&req.body);
        req.public_url = with_query_param(&req.public_url, BODY_HASH_PARAM, &hash);
    }
    let params = match covered(req) {
        Covered::Params => canonical_params(&req.body, order),
        Covered::UrlOnly | Covered::BodyHash(_) => Vec::new(),
    };
    signature_with(algorithm, key, &sdk_normalized(&req.public_url), &params)
}

/// The base64 HMAC-SHA1 signature of `url` + `params` under `key`.
pub fn signature(key: &str, url: &str, params: &[u8]) -> String {
    signature_with(MacAlgorithm::HmacSha1, key, url, params)
}

/// The base64 signature of `url` + `params` under `key` with `algorithm`.
pub fn signature_with(algorithm: MacAlgorithm, key: &str, url: &str, params: &[u8]) -> String {
    use base64::Engine;
    let mac = verify::mac(algorithm, key.as_bytes(), &[url.as_bytes(), params]);
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// `url` as Python's `urlparse(url).geturl()` gives it back, which is what twilio-python's
/// `RequestValidator` signs and checks: an empty query (a bare `?`) and an empty fragment (a
/// bare `#`) are dropped; everything else is kept byte for byte.
pub fn sdk_normalized(url: &str) -> std::borrow::Cow<'_, str> {
    let (rest, fragment) = url.split_once('#').unwrap_or((url, ""));
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let rebuilt_len = base.len()
        + if query.is_empty() { 0 } else { query.len() + 1 }
        + if fragment.is_empty() {
            0
        } else {
            fragment.len() + 1
        };
    if rebuilt_len == url.len() {
        return std::borrow::Cow::Borrowed(url);
    }
    let mut out = base.to_owned();
    if !query.is_empty() {
        out.push('?');
        out.push_str(query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(fragment);
    }
    std::borrow::Cow::Owned(out)
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

/// `name` + `value` for every parameter, names in byte order, no separators; the values of
/// a repeated name laid out per `order`.
pub fn canonical_params(body: &[u8], order: ParamOrder) -> Vec<u8> {
    canonical_of(&Form::parse(body), order)
}

fn canonical_of(form: &Form<'_>, order: ParamOrder) -> Vec<u8> {
    let mut out = Vec::new();
    let mut push = |name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
    };
    match order {
        ParamOrder::SortedDistinct => {
            let mut pairs: Vec<(&str, &str)> = form
                .pairs()
                .iter()
                .map(|(k, v)| (k.as_ref(), v.as_ref()))
                .collect();
            // Sorting (name, value) pairs orders the names, then each name's values; dedup
            // drops a repeated identical pair.
            pairs.sort_unstable();
            pairs.dedup();
            for (name, value) in pairs {
                push(name, value);
            }
        }
        ParamOrder::Submitted => {
            let mut pairs: Vec<(&str, &str)> = form
                .pairs()
                .iter()
                .map(|(k, v)| (k.as_ref(), v.as_ref()))
                .collect();
            // A stable sort by name keeps the submission order within a name.
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            for (name, value) in pairs {
                push(name, value);
            }
        }
    }
    out
}

/// The URLs a signature may have been computed over, as twilio-python checks them: the URL
/// as the SDK reads it ([`sdk_normalized`]) with any explicit port removed, and with the
/// scheme's default port added when it has none (kept as is when it has one). Userinfo is
/// kept.
pub fn url_variants(url: &str) -> Vec<String> {
    port_variants(&sdk_normalized(url))
}

/// The URL without its explicit port, and with the scheme's default port; one of them is
/// always `url` as given.
fn port_variants(url: &str) -> Vec<String> {
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
pub fn with_query_param(url: &str, name: &str, value: &str) -> String {
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
mod tests {
    use super::*;

    #[test]
    fn repeated_names_follow_the_chosen_order() {
        let body = b"To=b&From=x&To=a&To=b";
        assert_eq!(
            canonical_params(body, ParamOrder::SortedDistinct),
            b"FromxToaTob"
        );
        assert_eq!(
            canonical_params(body, ParamOrder::Submitted),
            b"FromxTobToaTob"
        );
        assert_eq!(canonical_params(b"", ParamOrder::Submitted), b"");
    }

    /// What `urlparse(url).geturl()` gives back (Python 3.11, as twilio-python 9.13.0's
    /// `RequestValidator` reads a URL).
    #[test]
    fn urls_are_read_as_the_python_sdk_reads_them() {
        for (url, sdk) in [
            ("https://h.test/p?", "https://h.test/p"),
            ("https://h.test/p#", "https://h.test/p"),
            ("https://h.test/p?#", "https://h.test/p"),
            ("https://h.test/p?#f", "https://h.test/p#f"),
            ("https://h.test/p?a=1#", "https://h.test/p?a=1"),
            ("https://h.test/p?a=1", "https://h.test/p?a=1"),
            ("https://h.test/p?a=1&", "https://h.test/p?a=1&"),
            ("https://h.test/p??", "https://h.test/p??"),
            ("https://h.test/p", "https://h.test/p"),
        ] {
            assert_eq!(sdk_normalized(url), sdk, "{url}");
        }
        assert_eq!(
            url_variants("https://h.test:8443/p?"),
            ["https://h.test/p", "https://h.test:8443/p"]
        );
    }

    #[test]
    fn a_layout_shared_by_both_orders_is_tried_once() {
        // Without repeated names both layouts are the same string.
        let body = b"B=2&A=1";
        assert_eq!(
            canonical_params(body, ParamOrder::SortedDistinct),
            canonical_params(body, ParamOrder::Submitted)
        );
    }
}
