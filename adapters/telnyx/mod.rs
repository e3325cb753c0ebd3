//! Telnyx: Call Control (Voice API v2) JSON events and TeXML form callbacks, both signed
//! with Ed25519 over `timestamp|body` (README.md beside this file).
//!
//! - `signature`: the Ed25519 scheme;
//! - `payload`: which webhook a body is, and its events;
//! - `mapping`: the event-type and hangup-cause tables;
//! - `lookup`: the recordings API: a saved recording without its id found, a call's
//!   recordings listed;
//! - `call_status`: Call Control's call status, asked by the customer leg's call control id.

mod call_status;
mod lookup;
mod mapping;
mod payload;
pub mod signature;

#[cfg(test)]
mod tests;

use crate::kit::{
    self, Adapter, CallEvent, Clock, ConfigError, ConnectionOptions, HttpRequestSpec,
    InboundRequest, LookupTarget, ParseError, Parsed, ProviderInfo, RecordingRef, SecretSet,
    Verified, VerifyError,
};
use http::HeaderValue;

/// A request to Telnyx's REST API at `path`, with `Authorization: Bearer {api_key}`.
fn api_request(
    method: http::Method,
    path: &str,
    secrets: &SecretSet,
    options: &ConnectionOptions,
) -> Result<HttpRequestSpec, ConfigError> {
    let key = secrets.require(API_KEY)?;
    let origin = kit::adapter::api_origin(options, INFO.default_api_base)
        .ok_or(ConfigError::MissingOption("api_base_url"))?;
    Ok(HttpRequestSpec {
        method,
        url: format!("{origin}{path}"),
        headers: vec![(
            http::header::AUTHORIZATION,
            format!("Bearer {}", key.expose()),
        )],
        body: None,
    })
}

/// The Telnyx adapter.
#[derive(Debug)]
pub struct Telnyx;

const API_KEY: &str = "api_key";
/// The private key `sign` uses (samples and tests only): Telnyx holds it, a connection never
/// does. In `[signing_secrets]` of the samples' `provider.toml`.
const SIGNING_KEY: &str = "signing_key";

static INFO: ProviderInfo = ProviderInfo {
    id: "telnyx",
    display_name: "Telnyx",
    maturity: kit::Maturity::Experimental,
    docs_url: "https://developers.telnyx.com/docs/development/api-fundamentals/webhooks",
    webhook_secrets: &[signature::PUBLIC_KEY],
    api_secrets: &[API_KEY],
    optional_webhook_secrets: &[],
    default_api_base: Some("https://api.telnyx.com"),
    options: &[],
    unmapped_fields: &["event_type", "hangup_cause"],
    emits: &[
        kit::EventTag::Call,
        kit::EventTag::Recording,
        kit::EventTag::Unmapped,
    ],
    verification: "Ed25519 over `timestamp|body` (`telnyx-signature-ed25519`, `telnyx-timestamp`), public key raw or SPKI DER",
    signs_body: true,
    timestamp_tolerance_secs: Some(signature::TOLERANCE_SECS),
    lookups: crate::kit::Lookups::CallAndRecordings,
    legs: "`call_session_id` (the session), `call_leg_id` (the leg); TeXML: `ParentCallSid`",
    forwarding: "TeXML: `ForwardedFrom` where sent (UNCONFIRMED)",
    agent_identity: "`to` of an `outgoing` leg",
    console_field: "Voice → the Call Control or TeXML application: “Webhook URL” (Call Control) or “Status callback” (TeXML), API version 2",
};

impl Adapter for Telnyx {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        let keys = secrets.accepted_required(signature::PUBLIC_KEY)?;
        signature::verify(req, keys, clock)
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        payload::parse(req)
    }

    /// The public key must be one: base64 of 32 raw bytes or of an SPKI DER document.
    fn check_secret(&self, name: &str, value: &str) -> Result<(), String> {
        if name == signature::PUBLIC_KEY && kit::verify::ed25519_public_key(value).is_none() {
            return Err("not an Ed25519 public key (base64 of 32 raw bytes or of SPKI DER)".into());
        }
        Ok(())
    }

    /// `DELETE {origin}/v2/recordings/{id}` with `Authorization: Bearer {api_key}`. A
    /// stand-in id (a webhook without `recording_id`) must be looked up first.
    fn delete_recording(
        &self,
        rec: &RecordingRef,
        secrets: &SecretSet,
        options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        if lookup::parse_stand_in(&rec.recording_id).is_some() {
            return Err(ConfigError::UnresolvedRecording);
        }
        let path = format!(
            "/v2/recordings/{}",
            kit::adapter::encode_path_segment(&rec.recording_id)
        );
        api_request(http::Method::DELETE, &path, secrets, options).map(Some)
    }

    /// For a stand-in id: `GET {origin}/v2/recordings?filter[call_leg_id]={leg}` (Telnyx's
    /// recordings API; telnyx-python `RecordingListParams`), with the same bearer key.
    fn find_recording(
        &self,
        rec: &RecordingRef,
        secrets: &SecretSet,
        options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let Some((leg, _)) = lookup::parse_stand_in(&rec.recording_id) else {
            return Ok(None);
        };
        let path = lookup::recordings_path("call_leg_id", leg);
        api_request(http::Method::GET, &path, secrets, options).map(Some)
    }

    /// The listed recording of the stand-in's call leg that started when it did.
    fn found_recording(&self, rec: &RecordingRef, body: &[u8]) -> Result<Option<String>, String> {
        let (leg, started_at) = lookup::parse_stand_in(&rec.recording_id)
            .ok_or("the recording's id is Telnyx's own: nothing to look up")?;
        lookup::find(body, leg, started_at)
    }

    /// `GET {origin}/v2/calls/{call_control_id}` ("Retrieve a call status"), by the
    /// customer leg's call control id, which its webhooks carried (the leg's lookup handle).
    fn lookup_call(
        &self,
        target: &LookupTarget<'_>,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let handle = target.handle.ok_or(ConfigError::NoLookupHandle)?;
        api_request(
            http::Method::GET,
            &call_status::path(handle),
            secrets,
            options,
        )
        .map(Some)
    }

    fn looked_up_call(
        &self,
        target: &LookupTarget<'_>,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        call_status::read(target, body)
    }

    /// A 404, or a 422 naming a call control id that no longer names a live call.
    fn call_unknown(&self, status: u16, body: &[u8]) -> bool {
        call_status::unknown(status, body)
    }

    /// `GET {origin}/v2/recordings?filter[call_session_id]={session}`: every recording of
    /// every leg of the call.
    fn list_recordings(
        &self,
        provider_call_id: &str,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let path = lookup::recordings_path("call_session_id", provider_call_id);
        api_request(http::Method::GET, &path, secrets, options).map(Some)
    }

    fn listed_recordings(
        &self,
        provider_call_id: &str,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        lookup::read_listing(provider_call_id, body)
    }

    /// Signs at the clock's time with the signing key of the samples' fixture.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        let key = signature::signing_key(secrets.require(SIGNING_KEY)?.expose());
        let timestamp = clock.now().unix_timestamp();
        let sig = signature::sign(&key, timestamp, &req.body);
        for (name, value) in [
            (signature::TIMESTAMP_HEADER, timestamp.to_string()),
            (signature::SIGNATURE_HEADER, sig),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                req.headers.insert(name, v);
            }
        }
        Ok(())
    }
}
