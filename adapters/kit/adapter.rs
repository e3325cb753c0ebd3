//! The adapter contract: what one provider implements, and the values crossing it.
//!
//! Adapters are pure: bytes, headers, the public URL, secrets and a clock go in; events, a
//! reply or a typed error come out. Where the provider's REST API is needed, the adapter
//! *describes* the request ([`HttpRequestSpec`]) and the service sends it; where an answer
//! decides the next request (a recording's id looked up before deleting it), the adapter
//! also reads the answer (`found_recording`).

pub use crate::kit::lookup::{Fresh, LookupTarget, Lookups};
use crate::kit::model::{CallEvent, EventTag};
use crate::kit::secrets::{Secret, SecretSet};
use crate::kit::verify::{Verified, VerifyError};
use bytes::Bytes;
use http::{HeaderMap, Method};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// How settled an adapter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maturity {
    Stable,
    Experimental,
}

/// Static facts about a provider: the registry, configuration checks, the ops API and the
/// docs matrix read them.
#[derive(Debug)]
pub struct ProviderInfo {
    /// Lowercase id: the URL segment, the metric label, the registry key.
    pub id: &'static str,
    pub display_name: &'static str,
    pub maturity: Maturity,
    /// The provider's page on webhook security.
    pub docs_url: &'static str,
    /// Secrets checked on every webhook; a connection must have all of them.
    pub webhook_secrets: &'static [&'static str],
    /// Further secrets used for the provider's REST API (optional on a connection).
    pub api_secrets: &'static [&'static str],
    /// Secrets only some webhooks need (optional on a connection): Twilio's `shared_key`,
    /// for webhooks signed with a SharedKey.
    pub optional_webhook_secrets: &'static [&'static str],
    /// The provider's REST API origin, when callgate calls it.
    pub default_api_base: Option<&'static str>,
    /// The non-secret connection options the adapter reads, besides [`COMMON_OPTIONS`]
    /// (which every connection may set). The service refuses any other name, and a
    /// connection without a required one.
    pub options: &'static [OptionSpec],
    /// Every field whose unknown values become `EventKind::Unmapped` (the `field` label of
    /// the service's unmapped-event counter, registered at 0 for each).
    pub unmapped_fields: &'static [&'static str],
    /// Every event kind this adapter can emit.
    pub emits: &'static [EventTag],
    /// One line naming the verification scheme (what is checked, in which header), for the
    /// provider matrix in `adapters/README.md`.
    pub verification: &'static str,
    /// Whether the proof covers the body's bytes (a MAC or a signed hash). False for a
    /// shared credential that proves only the sender (HTTP Basic, an API-key header): the
    /// conformance kit then checks that a changed body still verifies, instead of that it is
    /// refused.
    pub signs_body: bool,
    /// How far (seconds) the signed timestamp may be from the clock, for schemes that sign
    /// one; `None` when the scheme has no timestamp. The conformance kit moves the clock past
    /// it and expects [`VerifyError::Stale`].
    pub timestamp_tolerance_secs: Option<i64>,
    /// What callgate asks the provider's REST API about a call whose webhooks may have been
    /// lost ([`Adapter::lookup_call`], [`Adapter::list_recordings`]). The provider matrix
    /// shows it; a test holds it to the requests the adapter describes.
    pub lookups: Lookups,
    /// Which fields place an event's leg in the customer's call (a parent call id, a session
    /// shared by the legs), for the provider matrix; `—` when the provider reports none.
    pub legs: &'static str,
    /// Which field names the number a call was forwarded from (and why), or `—`.
    pub forwarding: &'static str,
    /// Which field names whose phone an agent's leg rang (`Leg::agent_identity`), or `—`.
    pub agent_identity: &'static str,
    /// Where the connection's webhook URL goes in the provider's console (page, then field),
    /// for the web console's Ops page.
    pub console_field: &'static str,
}

/// A non-secret connection option an adapter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: &'static str,
    /// A connection must set it.
    pub required: bool,
    /// What it is, for the provider matrix and error messages.
    pub about: &'static str,
}

/// The options every connection may set, whatever its provider.
pub const COMMON_OPTIONS: &[OptionSpec] = &[OptionSpec {
    name: "api_base_url",
    required: false,
    about: "replaces the origin of the provider's REST API (a regional endpoint, a test double)",
}];

impl ProviderInfo {
    /// Every option a connection of this provider may set: the adapter's, then the common ones.
    pub fn option_specs(&self) -> impl Iterator<Item = &'static OptionSpec> {
        self.options.iter().chain(COMMON_OPTIONS)
    }

    /// Every secret name the connection may hold.
    pub fn secret_names(&self) -> impl Iterator<Item = &'static str> {
        self.webhook_secrets
            .iter()
            .chain(self.optional_webhook_secrets)
            .chain(self.api_secrets)
            .copied()
    }
}

/// The wall clock, injected so tests can pin it.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// A webhook request as received, with the URL the provider signed.
#[derive(Debug, Clone)]
pub struct InboundRequest {
    pub method: Method,
    /// The configured public base URL + the raw path and query of the request; never built
    /// from the `Host` header.
    pub public_url: String,
    pub headers: HeaderMap,
    /// The exact bytes received: signatures are computed over them.
    pub body: Bytes,
}

impl InboundRequest {
    /// The value of a header as bytes.
    pub fn header(&self, name: &'static str) -> Option<&[u8]> {
        self.headers.get(name).map(|v| v.as_bytes())
    }

    /// The value of a required header, or `MissingHeader`.
    pub fn require_header(&self, name: &'static str) -> Result<&[u8], VerifyError> {
        self.header(name).ok_or(VerifyError::MissingHeader(name))
    }

    /// The media type of the body, lowercase, without parameters.
    pub fn content_type(&self) -> Option<String> {
        let raw = self
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        let essence = raw.split(';').next().unwrap_or_default().trim();
        Some(essence.to_ascii_lowercase())
    }

    /// Refuses a body whose media type is not `expected`.
    pub fn require_content_type(&self, expected: &str) -> Result<(), ParseError> {
        match self.content_type() {
            Some(ct) if ct == expected => Ok(()),
            other => Err(ParseError::UnsupportedContentType(
                other.unwrap_or_default(),
            )),
        }
    }
}

/// Why a verified request could not be understood. An unknown *status value* is not an
/// error: it becomes an `Unmapped` event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("content type {0:?} is not accepted here")]
    UnsupportedContentType(String),
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {field}: {reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
    #[error("malformed body: {0}")]
    Malformed(String),
}

impl ParseError {
    /// A body that does not read as the JSON expected, told by where it fails and how, never
    /// by what it holds: serde's own message quotes the offending value (a caller's number,
    /// say), and this text reaches logs, the refusal log and the provider's answer.
    pub fn json(what: &str, e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let how = match e.classify() {
            Category::Syntax => "is not valid JSON".to_owned(),
            Category::Eof => "ends before its JSON does".to_owned(),
            Category::Io => "cannot be read".to_owned(),
            // "missing field `name`" names one of ours; any other data error may quote theirs.
            Category::Data => match e.to_string().split(" at line ").next() {
                Some(m) if m.starts_with("missing field `") => format!("lacks a field ({m})"),
                _ => "holds a value of the wrong type or an unknown value".to_owned(),
            },
        };
        Self::Malformed(format!(
            "{what} {how} (line {}, column {})",
            e.line(),
            e.column()
        ))
    }

    /// A stable label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnsupportedContentType(_) => "unsupported_content_type",
            Self::MissingField(_) => "missing_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::Malformed(_) => "malformed",
        }
    }
}

/// What the provider gets back once the delivery is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// 204 No Content (status callbacks).
    NoContent,
    /// 200 with an empty body, for providers that count any other status as a failed
    /// delivery (Telnyx).
    Empty,
    /// 200 with the provider's call-control markup (TwiML and the like).
    Markup {
        content_type: &'static str,
        body: String,
    },
}

/// A verified request, understood.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Parsed {
    /// Zero or more events (an event type deliberately ignored yields none).
    pub events: Vec<CallEvent>,
    pub reply: Reply,
}

/// Non-secret connection options (`api_base_url`, `space_url`, ...).
pub type ConnectionOptions = BTreeMap<String, String>;

/// The recording a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRef {
    pub provider_call_id: String,
    pub recording_id: String,
}

/// An HTTP request the service should send on the adapter's behalf. Headers may carry
/// credentials: the sender never logs them.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequestSpec {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(http::HeaderName, String)>,
    pub body: Option<Vec<u8>>,
}

impl std::fmt::Debug for HttpRequestSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequestSpec")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The REST API origin to use: `options.api_base_url` when set, else the provider's default.
/// Only the origin is replaced; the adapter keeps the provider's own paths.
pub fn api_origin(options: &ConnectionOptions, default: Option<&'static str>) -> Option<String> {
    options
        .get("api_base_url")
        .map(String::as_str)
        .or(default)
        .map(|s| url_origin(s).to_owned())
}

/// The origin (`scheme://host[:port]`) of an absolute URL, without path, query or
/// fragment: a connection option such as SignalWire's `space_url` may carry a path.
pub fn url_origin(url: &str) -> &str {
    let Some(scheme_end) = url.find("://") else {
        return url.trim_end_matches('/');
    };
    let authority_start = scheme_end + 3;
    let end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    &url[..end]
}

/// `DELETE url` with HTTP Basic credentials and no body: how the providers' REST APIs delete
/// a recording.
pub fn basic_delete(url: String, user: &Secret, password: &Secret) -> HttpRequestSpec {
    HttpRequestSpec {
        method: Method::DELETE,
        url,
        headers: vec![(
            http::header::AUTHORIZATION,
            basic_auth(user.expose(), password.expose()),
        )],
        body: None,
    }
}

/// A string field of a JSON body: absent and empty are the same, not given.
pub fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// `GET url` with HTTP Basic credentials: how the providers' REST APIs read a resource.
pub fn basic_get(url: String, user: &Secret, password: &Secret) -> HttpRequestSpec {
    HttpRequestSpec {
        method: Method::GET,
        url,
        headers: vec![
            (
                http::header::AUTHORIZATION,
                basic_auth(user.expose(), password.expose()),
            ),
            (http::header::ACCEPT, "application/json".to_owned()),
        ],
        body: None,
    }
}

/// HTTP Basic credentials as an `Authorization` header value.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine;
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Percent-encodes every byte outside `[A-Za-z0-9_~-]`, so a value taken from a webhook (an
/// id) can be put in a REST path as one segment and never add `/`, `..`, `?` or `#`. The
/// unreserved `-`, `_` and `~` stay as they are (ids such as `c-95ac8d6e-...` or UUIDs);
/// `.` is encoded, so no segment can be `.` or `..`.
pub fn encode_path_segment(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// One provider. Synchronous and pure: no I/O, no wall clock except the one given.
pub trait Adapter: Send + Sync + 'static {
    fn info(&self) -> &'static ProviderInfo;

    /// Authenticates the raw request. Say precisely why it failed: the reason is logged and
    /// counted, never returned to the caller.
    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError>;

    /// Translates a verified request into events and the reply the provider expects.
    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError>;

    /// Says why a secret's value can never work (`Err`, a reason that does not repeat the
    /// value), so that a connection is refused when it is created or rotated rather than
    /// on its first webhook. Most secrets are opaque text: any value may be right.
    fn check_secret(&self, _name: &str, _value: &str) -> Result<(), String> {
        Ok(())
    }

    /// Describes the REST request that deletes a recording at the provider. `Ok(None)` when
    /// the provider has no such API (the recording is then only marked discarded).
    fn delete_recording(
        &self,
        _rec: &RecordingRef,
        _secrets: &SecretSet,
        _options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        Ok(None)
    }

    /// Describes the request that finds a recording's id at the provider, for a recording
    /// whose webhook did not carry one: the adapter then gave it a stand-in id of its own
    /// (Telnyx's `call.recording.saved` as its OpenAPI spec publishes it has no
    /// `recording_id`). The service sends it, gives a 2xx answer's body to
    /// [`Adapter::found_recording`], and calls `delete_recording` with the id found.
    /// `Ok(None)` (the default): `rec.recording_id` is the provider's own, nothing to find.
    fn find_recording(
        &self,
        _rec: &RecordingRef,
        _secrets: &SecretSet,
        _options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        Ok(None)
    }

    /// Reads the 2xx answer to [`Adapter::find_recording`]'s request: `Ok(Some(id))`, the
    /// provider's id of the recording; `Ok(None)`, the provider lists no such recording (the
    /// service tries again, as the list may lag the webhook, and takes it as already gone
    /// once the job is a day old); `Err(reason)` when the answer cannot say which recording
    /// it is (the service tries again later).
    fn found_recording(&self, _rec: &RecordingRef, _body: &[u8]) -> Result<Option<String>, String> {
        Err("this provider's recordings are never looked up".to_owned())
    }

    /// Describes the request that looks the call `target` up at the provider, for a call
    /// whose webhooks stopped coming. `fresh` is the time and a random value drawn for this
    /// request (a signed token's `iat` and `jti`). `Ok(None)` (the default) when the provider
    /// has no such API, or the adapter does not use it ([`ProviderInfo::lookups`]);
    /// [`ConfigError::NoLookupHandle`] when the API needs a handle the call's events never
    /// gave.
    fn lookup_call(
        &self,
        _target: &LookupTarget<'_>,
        _secrets: &SecretSet,
        _options: &ConnectionOptions,
        _fresh: &Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        Ok(None)
    }

    /// Reads the 2xx answer to [`Adapter::lookup_call`]'s request: the events a webhook
    /// would have given about the call's state now. Their dedupe keys are chosen so that an
    /// answer and a webhook saying the same fold to the same call. `Err(reason)` when the
    /// answer is not the documented one (the service tries again later).
    fn looked_up_call(
        &self,
        _target: &LookupTarget<'_>,
        _body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        Err("this provider's calls are never looked up".to_owned())
    }

    /// Whether an answer (`status`, `body`) to [`Adapter::lookup_call`]'s request says that
    /// the provider does not know the call (any more): the service then treats the call as it
    /// treats a 404 (ended as timed out once past the maximum call duration, never ended at
    /// once). By default only a 404 says so; another non-2xx answer is a failure, asked again
    /// after a backoff, and a 2xx one is read by [`Adapter::looked_up_call`]. A lookup that is
    /// a search (Vonage lists a conversation's legs) says so with a 2xx that found nothing.
    fn call_unknown(&self, status: u16, _body: &[u8]) -> bool {
        status == 404
    }

    /// Describes the request that lists the recordings of the call `provider_call_id` at the
    /// provider. `Ok(None)` (the default) when the provider has no such API, or the adapter
    /// does not use it.
    fn list_recordings(
        &self,
        _provider_call_id: &str,
        _secrets: &SecretSet,
        _options: &ConnectionOptions,
        _fresh: &Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        Ok(None)
    }

    /// Reads the 2xx answer to [`Adapter::list_recordings`]'s request: one recording event
    /// per recording listed (not those the provider already deleted), with the dedupe keys a
    /// recording webhook saying the same would have. `Err(reason)` when the answer is not the
    /// documented one.
    fn listed_recordings(
        &self,
        _provider_call_id: &str,
        _body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        Err("this provider's recordings are never listed".to_owned())
    }

    /// Signs `req` in place (headers) the way the provider would, with the current secrets:
    /// used to re-sign recorded samples and in tests. Never used on the ingest path.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<(), ConfigError>;
}

/// A connection lacks what a provider operation needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the connection has no secret {0}")]
    MissingSecret(&'static str),
    #[error("the connection has no option {0}")]
    MissingOption(&'static str),
    /// The secret is there but cannot serve (a private key that does not parse); the
    /// message names the secret, never its value.
    #[error("the connection's secret {0} is not usable")]
    InvalidSecret(&'static str),
    /// `delete_recording` was given a stand-in id: the recording must be found first
    /// ([`Adapter::find_recording`]).
    #[error("the recording's id at the provider must be looked up first")]
    UnresolvedRecording,
    /// [`Adapter::lookup_call`] needs a [`LookupTarget::handle`] the call's events never
    /// gave.
    #[error("the call's events gave no handle to look it up by")]
    NoLookupHandle,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_path_query_and_fragment() {
        assert_eq!(
            url_origin("https://example.signalwire.com/"),
            "https://example.signalwire.com"
        );
        assert_eq!(
            url_origin("http://127.0.0.1:9/a/b?c#d"),
            "http://127.0.0.1:9"
        );
        assert_eq!(url_origin("https://h?x"), "https://h");
        assert_eq!(url_origin("example.test/"), "example.test");
    }

    #[test]
    fn api_base_url_replaces_only_the_origin() {
        let with = |url: &str| ConnectionOptions::from([("api_base_url".into(), url.into())]);
        let default = Some("https://api.twilio.com");
        assert_eq!(
            api_origin(&with("http://127.0.0.1:18559/prefix/2010-04-01/"), default).as_deref(),
            Some("http://127.0.0.1:18559")
        );
        assert_eq!(
            api_origin(&with("http://mock.test:8080"), default).as_deref(),
            Some("http://mock.test:8080")
        );
        assert_eq!(
            api_origin(&ConnectionOptions::new(), default).as_deref(),
            Some("https://api.twilio.com")
        );
        assert_eq!(api_origin(&ConnectionOptions::new(), None), None);
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(encode_path_segment("RE0123abcDEF"), "RE0123abcDEF");
        assert_eq!(encode_path_segment("../x?y#z"), "%2E%2E%2Fx%3Fy%23z");
        assert_eq!(encode_path_segment("é"), "%C3%A9");
        assert_eq!(
            encode_path_segment("c-95ac8d6e_1a31~x"),
            "c-95ac8d6e_1a31~x"
        );
        assert_eq!(encode_path_segment("a.b c/"), "a%2Eb%20c%2F");
        assert_eq!(encode_path_segment(""), "");
    }
}
