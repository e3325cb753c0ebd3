//! Bandwidth Voice (BXML): call and recording callbacks, authenticated with the HTTP Basic
//! credentials configured at Bandwidth; recordings deleted, calls looked up and their
//! recordings listed through the Voice API v2 (`rest`).
//!
//! - `signature`: the Basic credentials (Bandwidth signs nothing);
//! - `payload`: which callback a body is, and its events;
//! - `mapping`: the status tables.
//!
//! Scheme, quirks and sources: `README.md` in this folder.

mod mapping;
mod payload;
mod rest;
mod signature;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use crate::kit::adapter::{api_origin, basic_delete, basic_get, encode_path_segment};
use crate::kit::{
    self, Adapter, CallEvent, Clock, ConfigError, ConnectionOptions, HttpRequestSpec,
    InboundRequest, LookupTarget, ParseError, Parsed, ProviderInfo, RecordingRef, SecretSet,
    Verified, VerifyError,
};

/// The Bandwidth adapter.
#[derive(Debug)]
pub struct Bandwidth;

/// The API user of the Voice API (HTTP Basic).
const API_USERNAME: &str = "api_username";
/// Its password.
const API_PASSWORD: &str = "api_password";
/// The Bandwidth account in REST paths: a secret of the connection, or, since it is not
/// secret, an option of the same name.
const ACCOUNT_ID: &str = "account_id";

static INFO: ProviderInfo = ProviderInfo {
    id: "bandwidth",
    display_name: "Bandwidth",
    maturity: kit::Maturity::Experimental,
    docs_url: "https://dev.bandwidth.com/docs/voice/webhooks/about",
    webhook_secrets: &[signature::USERNAME, signature::PASSWORD],
    api_secrets: &[API_USERNAME, API_PASSWORD, ACCOUNT_ID],
    optional_webhook_secrets: &[],
    default_api_base: Some("https://voice.bandwidth.com"),
    options: &[kit::OptionSpec {
        name: ACCOUNT_ID,
        required: false,
        about: "the Bandwidth account id of the Voice API paths, when not given as a secret",
    }],
    unmapped_fields: &["eventType", "cause", "status"],
    emits: &[
        kit::EventTag::Call,
        kit::EventTag::Recording,
        kit::EventTag::Unmapped,
    ],
    // HTTP Basic proves the sender, not the bytes.
    verification: "HTTP Basic `callback_username`:`callback_password` in `Authorization`, constant-time",
    signs_body: false,
    timestamp_tolerance_secs: None,
    lookups: crate::kit::Lookups::CallAndRecordings,
    legs: "`parentCallId` (transfer events: the B leg's parent)",
    forwarding: "`diversion.origTo`, `diversion.reason`",
    agent_identity: "`transferTo` of `transferAnswer` and `transferDisconnect`",
    console_field: "Voice application: “Call-initiated callback URL” stays with the call control; “Status callback URL” and the recording callbacks here, with the application’s callback credentials set to the connection’s username and password",
};

impl Adapter for Bandwidth {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// Basic credentials carry no timestamp: the clock is not used.
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

    /// `DELETE {origin}/api/v2/accounts/{account_id}/calls/{callId}/recordings/{recordingId}`
    /// (metadata, media and transcription) with HTTP Basic `api_username:api_password`. All
    /// three ids are percent-encoded. `account_id` is read from the secrets, else from the
    /// options.
    fn delete_recording(
        &self,
        rec: &RecordingRef,
        secrets: &SecretSet,
        options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let (base, user, password) = voice_api(secrets, options)?;
        let url = format!(
            "{base}/calls/{}/recordings/{}",
            encode_path_segment(&rec.provider_call_id),
            encode_path_segment(&rec.recording_id),
        );
        Ok(Some(basic_delete(url, user, password)))
    }

    /// `GET {origin}/api/v2/accounts/{accountId}/calls/{callId}`: the call state.
    fn lookup_call(
        &self,
        target: &LookupTarget<'_>,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let (base, user, password) = voice_api(secrets, options)?;
        let url = format!("{base}/calls/{}", encode_path_segment(target.call_id));
        Ok(Some(basic_get(url, user, password)))
    }

    fn looked_up_call(
        &self,
        target: &LookupTarget<'_>,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        rest::read_call(target.call_id, body)
    }

    /// `GET {origin}/api/v2/accounts/{accountId}/calls/{callId}/recordings`.
    fn list_recordings(
        &self,
        provider_call_id: &str,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let (base, user, password) = voice_api(secrets, options)?;
        let url = format!(
            "{base}/calls/{}/recordings",
            encode_path_segment(provider_call_id)
        );
        Ok(Some(basic_get(url, user, password)))
    }

    fn listed_recordings(
        &self,
        provider_call_id: &str,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        rest::read_recordings(provider_call_id, body)
    }

    /// Sets `Authorization: Basic` with the current callback credentials.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        signature::sign(req, secrets)
    }
}

/// The Voice API's root for the connection's account
/// (`{origin}/api/v2/accounts/{accountId}`), and the API user's Basic credentials.
fn voice_api<'s>(
    secrets: &'s SecretSet,
    options: &'s ConnectionOptions,
) -> Result<(String, &'s kit::Secret, &'s kit::Secret), ConfigError> {
    let account = match secrets.current(ACCOUNT_ID) {
        Some(secret) => secret.expose(),
        None => options
            .get(ACCOUNT_ID)
            .map(String::as_str)
            .ok_or(ConfigError::MissingSecret(ACCOUNT_ID))?,
    };
    let user = secrets.require(API_USERNAME)?;
    let password = secrets.require(API_PASSWORD)?;
    let origin = api_origin(options, INFO.default_api_base)
        .ok_or(ConfigError::MissingOption("api_base_url"))?;
    Ok((
        format!("{origin}/api/v2/accounts/{}", encode_path_segment(account)),
        user,
        password,
    ))
}
