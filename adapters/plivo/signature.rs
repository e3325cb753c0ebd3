//! Plivo's V3 signature (providers.md 4.2, from the Python and Go SDKs): base64
//! HMAC-SHA256, keyed with the Auth Token, over the callback URL's `scheme://host/path`, then
//! `?` and the parameters when there are any, then `.` and the nonce of
//! `X-Plivo-Signature-V3-Nonce`. `X-Plivo-Signature-V3` may hold several signatures
//! separated by `,`; any one may match.

use crate::kit::form::{Form, url_query};
use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{Generation, InboundRequest, Secret, Verified, VerifyError};
use http::Method;

pub const SIGNATURE_HEADER: &str = "x-plivo-signature-v3";
pub const NONCE_HEADER: &str = "x-plivo-signature-v3-nonce";

/// `name`/`value` pairs sorted by name, then value.
fn sorted<'f>(form: &'f Form<'_>) -> Vec<(&'f str, &'f str)> {
    let mut pairs: Vec<(&str, &str)> = form
        .pairs()
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    pairs.sort_unstable();
    pairs
}

fn joined(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string V3 signs, without the nonce.
pub fn signed_string(method: &Method, url: &str, body: &[u8]) -> String {
    let without_fragment = url.split('#').next().unwrap_or_default();
    let base = without_fragment.split('?').next().unwrap_or_default();
    let query_form = Form::parse(url_query(url).as_bytes());
    let body_form = if *method == Method::GET {
        Form::default()
    } else {
        Form::parse(body)
    };
    let query = sorted(&query_form);
    let params = sorted(&body_form);
    let mut out = base.to_owned();
    if query.is_empty() && params.is_empty() {
        return out;
    }
    out.push('?');
    if *method == Method::GET {
        let mut all = query;
        all.extend(params);
        all.sort_unstable();
        out.push_str(&joined(&all));
        return out;
    }
    if !query.is_empty() {
        out.push_str(&joined(&query));
        if !params.is_empty() {
            out.push('.');
        }
    }
    for (k, v) in params {
        out.push_str(k);
        out.push_str(v);
    }
    out
}

/// The base64 signature of a request with `nonce` under `token`.
pub fn sign(token: &str, method: &Method, url: &str, body: &[u8], nonce: &str) -> String {
    use base64::Engine;
    let signed = signed_string(method, url, body);
    let mac = verify::mac(
        MacAlgorithm::HmacSha256,
        token.as_bytes(),
        &[signed.as_bytes(), b".", nonce.as_bytes()],
    );
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// Checks `X-Plivo-Signature-V3` against every accepted token.
pub fn verify<'r>(
    req: &'r InboundRequest,
    tokens: &[(Generation, &Secret)],
) -> Result<Verified<'r>, VerifyError> {
    let list = req.require_header(SIGNATURE_HEADER)?;
    let nonce = std::str::from_utf8(req.require_header(NONCE_HEADER)?)
        .map_err(|_| VerifyError::MalformedHeader(NONCE_HEADER))?;
    if nonce.is_empty() {
        return Err(VerifyError::MalformedHeader(NONCE_HEADER));
    }
    let given: Vec<Vec<u8>> = list
        .split(|&b| b == b',')
        .map(|s| s.trim_ascii())
        .filter_map(|s| verify::decode_base64_header(s, SIGNATURE_HEADER, Some(32)).ok())
        .collect();
    if given.is_empty() {
        return Err(VerifyError::MalformedHeader(SIGNATURE_HEADER));
    }
    let signed = signed_string(&req.method, &req.public_url, &req.body);
    let candidates = [vec![signed.as_bytes(), b".".as_slice(), nonce.as_bytes()]];
    let given: Vec<&[u8]> = given.iter().map(Vec::as_slice).collect();
    verify::mac_matches_keys(
        req,
        MacAlgorithm::HmacSha256,
        tokens.iter().map(|(g, s)| (*g, s.expose().as_bytes())),
        &candidates,
        &given,
    )
}
