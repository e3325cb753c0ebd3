//! Dialpad (experimental): call events whose whole body is a compact JWT signed HS256 with
//! the webhook's secret (README.md beside this file).
//!
//! - `payload`: the claims of a call event, and its events;
//! - `mapping`: the call-state table.

mod mapping;
mod payload;

#[cfg(test)]
mod tests;

use crate::kit::jwt;
use crate::kit::{
    self, Adapter, Clock, ConfigError, ConnectionOptions, HttpRequestSpec, InboundRequest,
    ParseError, Parsed, ProviderInfo, RecordingRef, SecretSet, Verified, VerifyError,
};

/// The Dialpad adapter.
#[derive(Debug)]
pub struct Dialpad;

/// The secret given to Dialpad when the webhook was created (`POST /api/v2/webhooks`).
const WEBHOOK_SECRET: &str = "webhook_secret";
/// Where the token is, for errors.
const BODY: &str = "body";
/// Leeway on a token's `exp` and `nbf`: Vonage's `iat` tolerance (`vonage::signature`).
const LIFETIME_LEEWAY_SECS: i64 = 300;

static INFO: ProviderInfo = ProviderInfo {
    id: "dialpad",
    display_name: "Dialpad",
    maturity: kit::Maturity::Experimental,
    docs_url: "https://developers.dialpad.com/docs/call-events",
    webhook_secrets: &[WEBHOOK_SECRET],
    api_secrets: &[],
    optional_webhook_secrets: &[],
    default_api_base: None,
    options: &[],
    unmapped_fields: &["state"],
    emits: &[
        kit::EventTag::Call,
        kit::EventTag::Recording,
        kit::EventTag::Unmapped,
    ],
    verification: "the body is a compact JWT, HS256 (pinned) under the webhook secret",
    signs_body: true,
    timestamp_tolerance_secs: None,
    lookups: crate::kit::Lookups::None,
    legs: "`master_call_id`, else `entry_point_call_id` (the parent)",
    forwarding: "—",
    agent_identity: "`target.id` when `target.type` is `user`",
    console_field: "Dialpad’s API: `POST /api/v2/webhooks` with `hook_url` this URL and a `secret`, then a call event subscription naming that webhook",
};

impl Adapter for Dialpad {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// The body must be a JWT signed with the secret: a plain JSON body (a webhook created
    /// without a secret) is refused.
    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        let keys = secrets.accepted_required(WEBHOOK_SECRET)?;
        let (verified, claims) = jwt::verify_hs256(req, req.body.trim_ascii(), BODY, keys)?;
        // Dialpad documents no claims besides the event: a token that states its own
        // validity window (`exp`, `nbf`) is held to it, with Vonage's leeway.
        jwt::check_lifetime(&claims, clock, LIFETIME_LEEWAY_SECS, BODY)?;
        Ok(verified)
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        payload::parse(req)
    }

    /// Dialpad documents no API to delete a call recording: a discarded one is audited
    /// `recording.deletion_not_supported`.
    fn delete_recording(
        &self,
        _rec: &RecordingRef,
        _secrets: &SecretSet,
        _options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        Ok(None)
    }

    /// The body's claims (from a token, or a plain JSON object) as a token under the secret.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        let secret = secrets.require(WEBHOOK_SECRET)?;
        let claims = jwt::claims_of(req.body.trim_ascii())
            .map(serde_json::Value::Object)
            .or_else(|| serde_json::from_slice(&req.body).ok())
            .unwrap_or_default();
        req.body = jwt::sign_hs256(&claims, secret.expose().as_bytes()).into();
        Ok(())
    }
}
