//! Twilio Programmable Voice: incoming-call, call status and recording status webhooks,
//! signed with `X-Twilio-Signature`; recordings deleted through the 2010-04-01 REST API.
//!
//! - `signature`: what is signed and how (URL variants, parameters, JSON body hash);
//! - `payload`: which webhook a body is, and its events;
//! - `mapping`: the status tables.
//!
//! Scheme, quirks and sources: `README.md` in this folder.

mod mapping;
pub(crate) mod payload;
pub(crate) mod rest;
mod signature;

#[cfg(test)]
mod auth_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use crate::kit::adapter::{api_origin, basic_delete, encode_path_segment};
use crate::kit::{
    self, Adapter, CallEvent, Clock, ConfigError, ConnectionOptions, HttpRequestSpec,
    InboundRequest, LookupTarget, ParseError, Parsed, ProviderInfo, RecordingRef, SecretSet,
    Verified, VerifyError,
};

/// The Twilio adapter.
#[derive(Debug)]
pub struct Twilio;

/// The secret naming the account in REST paths and Basic credentials.
const ACCOUNT_SID: &str = "account_sid";

static INFO: ProviderInfo = ProviderInfo {
    id: "twilio",
    display_name: "Twilio",
    maturity: kit::Maturity::Stable,
    docs_url: "https://www.twilio.com/docs/usage/webhooks/webhooks-security",
    webhook_secrets: &["auth_token"],
    api_secrets: &["account_sid"],
    optional_webhook_secrets: &["shared_key"],
    default_api_base: Some("https://api.twilio.com"),
    options: &[],
    unmapped_fields: &["CallStatus", "StatusCallbackEvent", "RecordingStatus"],
    emits: &[
        kit::EventTag::Call,
        kit::EventTag::Recording,
        kit::EventTag::Unmapped,
    ],
    verification: "HMAC-SHA1 of the URL and form parameters (JSON: `bodySHA256`), `X-Twilio-Signature`; HMAC-SHA256 under the SharedKey when `X-Twilio-Webhooks-Signature-Settings` names it",
    signs_body: true,
    timestamp_tolerance_secs: None,
    lookups: crate::kit::Lookups::CallAndRecordings,
    legs: "`ParentCallSid` (the parent call); `Direction` `outbound-dial` marks an agent's leg",
    forwarding: "`ForwardedFrom`",
    agent_identity: "`To` of an `outbound-dial` child leg",
    console_field: "Phone Numbers → Active numbers → the number → Voice Configuration: “A call comes in” (Webhook, HTTP POST) and “Call status changes”; the same URL as the recording status callback of the TwiML or API request that records",
};

impl Adapter for Twilio {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// Twilio signatures carry no timestamp: the clock is not used.
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

    /// `DELETE {origin}/2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.json` with HTTP
    /// Basic `AccountSid:AuthToken` (current token). Both ids are percent-encoded: the
    /// recording id comes from a webhook and must not be able to change the path.
    fn delete_recording(
        &self,
        rec: &RecordingRef,
        secrets: &SecretSet,
        options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let account_sid = secrets.require(ACCOUNT_SID)?;
        let token = secrets.require(signature::AUTH_TOKEN)?;
        let origin = api_origin(options, INFO.default_api_base)
            .ok_or(ConfigError::MissingOption("api_base_url"))?;
        let url = format!(
            "{origin}/2010-04-01/Accounts/{}/Recordings/{}.json",
            encode_path_segment(account_sid.expose()),
            encode_path_segment(&rec.recording_id),
        );
        Ok(Some(basic_delete(url, account_sid, token)))
    }

    /// `GET {origin}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`, Basic
    /// `AccountSid:AuthToken`.
    fn lookup_call(
        &self,
        target: &LookupTarget<'_>,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let (base, account, token) = rest_base(secrets, options)?;
        Ok(Some(rest::call_request(
            &base,
            account,
            token,
            target.call_id,
        )))
    }

    fn looked_up_call(
        &self,
        target: &LookupTarget<'_>,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        rest::read_call(target.call_id, body)
    }

    /// `GET {origin}/2010-04-01/Accounts/{AccountSid}/Recordings.json?CallSid={CallSid}`.
    fn list_recordings(
        &self,
        provider_call_id: &str,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let (base, account, token) = rest_base(secrets, options)?;
        Ok(Some(rest::recordings_request(
            &base,
            account,
            token,
            provider_call_id,
        )))
    }

    fn listed_recordings(
        &self,
        provider_call_id: &str,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        rest::read_recordings(provider_call_id, body)
    }

    /// Sets `X-Twilio-Signature` with the current Auth Token. A JSON body's URL gets its
    /// `bodySHA256` first when it has none.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        signature::sign(req, secrets)
    }
}

/// The REST API's versioned root and the Basic credentials.
fn rest_base<'s>(
    secrets: &'s SecretSet,
    options: &ConnectionOptions,
) -> Result<(String, &'s kit::Secret, &'s kit::Secret), ConfigError> {
    let account_sid = secrets.require(ACCOUNT_SID)?;
    let token = secrets.require(signature::AUTH_TOKEN)?;
    let origin = api_origin(options, INFO.default_api_base)
        .ok_or(ConfigError::MissingOption("api_base_url"))?;
    Ok((format!("{origin}/2010-04-01"), account_sid, token))
}
