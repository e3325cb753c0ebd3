//! Helpers the providers' unit and property tests share (compiled for tests only).

use crate::kit::{Adapter, Clock, EventKind, InboundRequest, Parsed, SecretSet};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};

/// A POST to `url` with this content type (omitted when it is not a valid header value)
/// and body, unsigned.
pub fn post(url: &str, content_type: &str, body: &str) -> InboundRequest {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    InboundRequest {
        method: Method::POST,
        public_url: url.to_owned(),
        headers,
        body: Bytes::from(body.to_owned()),
    }
}

/// `req` with `body`, and `header` set to `value` when it is a valid header value
/// (property tests build both from arbitrary bytes).
pub fn with(
    mut req: InboundRequest,
    header: &'static str,
    value: Option<Vec<u8>>,
    body: Vec<u8>,
) -> InboundRequest {
    req.body = Bytes::from(body);
    if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
        req.headers.insert(header, v);
    }
    req
}

/// Verify then parse, as the service does; a refusal is its reason label.
pub fn run(
    adapter: &dyn Adapter,
    req: &InboundRequest,
    secrets: &SecretSet,
    clock: &dyn Clock,
) -> Result<Parsed, String> {
    let verified = adapter
        .verify(req, secrets, clock)
        .map_err(|e| e.reason().to_owned())?;
    adapter.parse(&verified).map_err(|e| e.reason().to_owned())
}

/// The kinds of the events, in order.
pub fn kinds(p: &Parsed) -> Vec<EventKind> {
    p.events.iter().map(|e| e.kind.clone()).collect()
}

/// The dedupe keys of the events, in order.
pub fn keys(p: &Parsed) -> Vec<&str> {
    p.events.iter().map(|e| e.dedupe_key.as_str()).collect()
}

/// `base` with the fields of `extra` added or replaced (both JSON objects).
pub fn merged(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    if let (Some(b), serde_json::Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

/// Content types for JSON providers' property tests: JSON, JSON with parameters, anything.
pub fn json_content_types() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        Just("application/json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        "[ -~]{0,30}",
    ]
}

/// The body of `webhook-samples/<provider>/<name>`, byte for byte: a provider's published
/// example, for the unit tests that build their cases from it.
pub fn sample_body(provider: &str, name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../webhook-samples")
        .join(provider)
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sample = crate::kit::samples::HttpSample::parse(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8(sample.body).expect("a JSON or form sample is UTF-8")
}

/// A fixed moment for describing REST requests in tests: the epoch, a zero nonce.
pub const FRESH: crate::kit::Fresh = crate::kit::Fresh {
    now: time::OffsetDateTime::UNIX_EPOCH,
    nonce: [0; 16],
};
