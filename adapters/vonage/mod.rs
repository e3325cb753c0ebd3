//! Vonage Voice API: event webhooks and record events, signed with a JWT (HS256) in
//! `Authorization`. Vonage documents no API to delete a call recording (providers.md 3.3),
//! so the adapter keeps the contract's default `delete_recording` (`Ok(None)`: nothing to
//! send); the service then audits `recording.deletion_not_supported`. A discarded
//! recording is never fetched or exposed, and expires at Vonage after its retention.
//!
//! - `signature`: the JWT and its claims (`payload_hash`, `iat`, `jti`);
//! - `payload`: which webhook a body is, and its events;
//! - `mapping`: the status tables.
//!
//! Scheme, quirks and sources: `README.md` in this folder.

mod mapping;
mod payload;
mod signature;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use crate::kit::{
    self, Adapter, Clock, ConfigError, InboundRequest, ParseError, Parsed, ProviderInfo, SecretSet,
    Verified, VerifyError,
};

/// The Vonage adapter.
#[derive(Debug)]
pub struct Vonage;

static INFO: ProviderInfo = ProviderInfo {
    id: "vonage",
    display_name: "Vonage",
    maturity: kit::Maturity::Experimental,
    docs_url: "https://developer.vonage.com/en/getting-started/concepts/webhooks#decoding-signed-webhooks",
    webhook_secrets: &[signature::SIGNATURE_SECRET],
    api_secrets: &[],
    optional_webhook_secrets: &[],
    default_api_base: None,
    options: &[],
    unmapped_fields: &["status"],
    emits: &[
        kit::EventTag::Call,
        kit::EventTag::Recording,
        kit::EventTag::Unmapped,
    ],
    verification: "JWT HS256 in `Authorization: Bearer`, `payload_hash` = SHA-256 of the body, `iat` within 300 s, `exp`/`nbf` honoured, `jti` single-use",
    signs_body: true,
    timestamp_tolerance_secs: Some(300),
    lookups: crate::kit::Lookups::None,
    legs: "`conversation_uuid` (the session), `uuid` (the leg)",
    forwarding: "—",
    agent_identity: "`to` of an `outbound` leg",
    console_field: "Applications → the application → Capabilities → Voice: “Event URL” (HTTP POST), and the `eventUrl` of the NCCO `record` action; the answer URL stays with the call control",
};

impl Adapter for Vonage {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// The clock bounds the token's `iat`.
    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        signature::verify(req, secrets, clock)
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        payload::parse(req)
    }

    /// Sets `Authorization: Bearer <JWT>` as Vonage would, with the current secret.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        signature::sign(req, secrets, clock)
    }
}
