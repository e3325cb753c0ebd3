//! Amazon Connect (experimental): contact events delivered by an EventBridge API
//! destination, authenticated by the API-key header its connection adds (README.md beside
//! this file, which also says how to set the contact flow up).
//!
//! - `payload`: the EventBridge envelope and the contact event, and their events;
//! - `mapping`: the event-type and initiation-method tables.

mod mapping;
mod payload;

#[cfg(test)]
mod tests;

use crate::kit::verify;
use crate::kit::{
    self, Adapter, Clock, ConfigError, ConnectionOptions, HttpRequestSpec, InboundRequest,
    ParseError, Parsed, ProviderInfo, RecordingRef, SecretSet, Verified, VerifyError,
};
use http::HeaderValue;

/// The Amazon Connect adapter.
#[derive(Debug)]
pub struct AmazonConnect;

/// The value the EventBridge connection sends in its API-key header.
const API_KEY: &str = "api_key";
/// The header: the EventBridge connection's "API key name" must be this.
pub const HEADER: &str = "x-api-key";

static INFO: ProviderInfo = ProviderInfo {
    id: "amazon_connect",
    display_name: "Amazon Connect",
    maturity: kit::Maturity::Experimental,
    docs_url: "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html",
    webhook_secrets: &[API_KEY],
    api_secrets: &[],
    optional_webhook_secrets: &[],
    default_api_base: None,
    options: &[],
    unmapped_fields: &["detail-type", "eventType"],
    emits: &[kit::EventTag::Call, kit::EventTag::Unmapped],
    verification: "EventBridge API destination: the `x-api-key` header, compared in constant time",
    signs_body: false,
    timestamp_tolerance_secs: None,
    lookups: crate::kit::Lookups::None,
    legs: "`initialContactId`, else `previousContactId` (the parent), `contactId` (the leg)",
    forwarding: "—",
    agent_identity: "`CONNECTED_TO_AGENT`: `agentInfo.username` (UNCONFIRMED), else `agentInfo.agentArn`",
    console_field: "EventBridge: a connection and an API destination whose endpoint is this URL (POST), the target of a rule on the instance’s contact events",
};

impl Adapter for AmazonConnect {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        let keys = secrets.accepted_required(API_KEY)?;
        verify::shared_secret(req, keys, req.require_header(HEADER)?)
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        payload::parse(req)
    }

    /// Recordings are objects in the instance's S3 bucket: not callgate's to delete. A
    /// discarded recording is audited as such (`recording.deletion_not_supported`).
    fn delete_recording(
        &self,
        _rec: &RecordingRef,
        _secrets: &SecretSet,
        _options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        Ok(None)
    }

    /// Sets the API-key header, as the EventBridge connection does.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        let key = secrets.require(API_KEY)?;
        match HeaderValue::from_str(key.expose()) {
            Ok(v) => req.headers.insert(HEADER, v),
            Err(_) => req.headers.remove(HEADER),
        };
        Ok(())
    }
}
