//! SignalWire: LaML (Twilio-compatible) call and recording webhooks, and RELAY / SWML
//! call-state callbacks, signed with the project's Signing Key; recordings deleted through
//! the LaML REST API of the connection's Space.
//!
//! - `signature`: which header carries which scheme;
//! - `payload`: which webhook a body is, and its events (LaML through `twilio::payload`);
//! - `mapping`: the RELAY / SWML status tables.
//!
//! Scheme, quirks and sources: `README.md` in this folder.

mod mapping;
mod payload;
mod signature;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use crate::kit::adapter::{api_origin, basic_delete, encode_path_segment, url_origin};
use crate::kit::{
    self, Adapter, CallEvent, Clock, ConfigError, ConnectionOptions, HttpRequestSpec,
    InboundRequest, LookupTarget, OptionSpec, ParseError, Parsed, ProviderInfo, RecordingRef,
    SecretSet, Verified, VerifyError,
};

/// The SignalWire adapter.
#[derive(Debug)]
pub struct SignalWire;

/// The project id: the account in LaML REST paths, the user of the Basic credentials.
const PROJECT_ID: &str = "project_id";
/// The API token: the password of the Basic credentials.
const API_TOKEN: &str = "api_token";
/// The connection option naming the Space (`https://example.signalwire.com`).
const SPACE_URL: &str = "space_url";

static INFO: ProviderInfo = ProviderInfo {
    id: "signalwire",
    display_name: "SignalWire",
    maturity: kit::Maturity::Experimental,
    docs_url: "https://developer.signalwire.com/guides/webhook-security",
    webhook_secrets: &[signature::SIGNING_KEY],
    api_secrets: &[PROJECT_ID, API_TOKEN],
    optional_webhook_secrets: &[],
    // The REST origin is the connection's own Space (`options.space_url`).
    default_api_base: None,
    options: &[OptionSpec {
        name: SPACE_URL,
        required: true,
        about: "the Space's URL (`example.signalwire.com`): the origin of its LaML REST API",
    }],
    unmapped_fields: &[
        "CallStatus",
        "StatusCallbackEvent",
        "RecordingStatus",
        "event_type",
        "end_reason",
        "call_state",
    ],
    emits: &[
        kit::EventTag::Call,
        kit::EventTag::Recording,
        kit::EventTag::Unmapped,
    ],
    verification: "LaML: HMAC-SHA1 of the URL and form parameters (`X-SignalWire-Signature` or `X-Twilio-Signature`); JSON: hex HMAC-SHA256 / SHA-1 of URL + body",
    signs_body: true,
    timestamp_tolerance_secs: None,
    lookups: crate::kit::Lookups::CallAndRecordings,
    legs: "LaML: `ParentCallSid`; RELAY: `params.parent.call_id`",
    forwarding: "LaML: `ForwardedFrom`",
    agent_identity: "LaML: `To` of an `outbound-dial` child leg; RELAY: the device's `to` of a child leg",
    console_field: "Phone Numbers → the number → Voice and Fax Settings: “Handle calls using” LaML Webhooks, then “When a call comes in” and “Call status changes”; or the status callback URL of a SWML `connect` or a RELAY application",
};

impl Adapter for SignalWire {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// SignalWire signatures carry no timestamp: the clock is not used.
    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        signature::verify(req, secrets)
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        payload::parse(req)
    }

    /// `DELETE {origin}/api/laml/2010-04-01/Accounts/{project_id}/Recordings/{id}.json` with
    /// HTTP Basic `project_id:api_token`. The origin is `options.api_base_url` when set,
    /// else the origin of `options.space_url`. Both ids are percent-encoded.
    fn delete_recording(
        &self,
        rec: &RecordingRef,
        secrets: &SecretSet,
        options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let (base, project, token) = laml_base(secrets, options)?;
        let url = format!(
            "{base}/Accounts/{}/Recordings/{}.json",
            encode_path_segment(project.expose()),
            encode_path_segment(&rec.recording_id),
        );
        Ok(Some(basic_delete(url, project, token)))
    }

    /// `GET {space}/api/laml/2010-04-01/Accounts/{ProjectID}/Calls/{CallSid}.json`, Basic
    /// `ProjectID:APIToken`: the LaML API's Call resource, Twilio's fields.
    fn lookup_call(
        &self,
        target: &LookupTarget<'_>,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let (base, project, token) = laml_base(secrets, options)?;
        Ok(Some(crate::twilio::rest::call_request(
            &base,
            project,
            token,
            target.call_id,
        )))
    }

    fn looked_up_call(
        &self,
        target: &LookupTarget<'_>,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        crate::twilio::rest::read_call(target.call_id, body)
    }

    /// `GET {space}/api/laml/2010-04-01/Accounts/{ProjectID}/Recordings.json?CallSid=...`.
    fn list_recordings(
        &self,
        provider_call_id: &str,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let (base, project, token) = laml_base(secrets, options)?;
        Ok(Some(crate::twilio::rest::recordings_request(
            &base,
            project,
            token,
            provider_call_id,
        )))
    }

    fn listed_recordings(
        &self,
        provider_call_id: &str,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        crate::twilio::rest::read_recordings(provider_call_id, body)
    }

    /// Sets the signature headers SignalWire would send, with the current Signing Key.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        signature::sign(req, secrets)
    }
}

/// The LaML REST API's versioned root in the connection's Space, and the Basic credentials.
fn laml_base<'s>(
    secrets: &'s SecretSet,
    options: &ConnectionOptions,
) -> Result<(String, &'s kit::Secret, &'s kit::Secret), ConfigError> {
    let project = secrets.require(PROJECT_ID)?;
    let token = secrets.require(API_TOKEN)?;
    let origin = api_origin(options, INFO.default_api_base)
        .or_else(|| options.get(SPACE_URL).map(|u| url_origin(u).to_owned()))
        .ok_or(ConfigError::MissingOption(SPACE_URL))?;
    Ok((format!("{origin}/api/laml/2010-04-01"), project, token))
}
