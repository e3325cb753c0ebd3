//! Vonage Voice API: event webhooks and record events, signed with a JWT (HS256) in
//! `Authorization`. Vonage documents no API to delete a call recording (providers.md 3.3),
//! so the adapter keeps the contract's default `delete_recording` (`Ok(None)`: nothing to
//! send); the service then audits `recording.deletion_not_supported`. A discarded
//! recording is never fetched or exposed, and expires at Vonage after its retention.
//! A call whose webhooks stopped is looked up (its conversation's legs, with an application
//! JWT signed RS256); no API lists a call's recordings, so none are listed.
//!
//! - `signature`: the JWT and its claims (`payload_hash`, `iat`, `jti`);
//! - `payload`: which webhook a body is, and its events;
//! - `rest`: the call lookup, its application JWT, and the legs it reads;
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
mod rest_tests;
#[cfg(test)]
mod tests;

use crate::kit::adapter::api_origin;
use crate::kit::{
    self, Adapter, CallEvent, Clock, ConfigError, ConnectionOptions, HttpRequestSpec,
    InboundRequest, LookupTarget, ParseError, Parsed, ProviderInfo, SecretSet, Verified,
    VerifyError,
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
    api_secrets: &[rest::APPLICATION_ID, rest::PRIVATE_KEY],
    optional_webhook_secrets: &[],
    default_api_base: Some("https://api.nexmo.com"),
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
    lookups: crate::kit::Lookups::Call,
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

    /// The private key must be an RSA key in PEM PKCS#8, or no lookup could be signed.
    fn check_secret(&self, name: &str, value: &str) -> Result<(), String> {
        if name == rest::PRIVATE_KEY {
            kit::rsa::RsaKey::from_pem(value).map_err(|why| format!("not a usable key: {why}"))?;
        }
        Ok(())
    }

    /// `GET {origin}/v1/calls?conversation_uuid={conversation}&page_size=100`, `Bearer` an
    /// application JWT: callgate's call is the conversation (`target.call_id`), whose legs
    /// are listed.
    fn lookup_call(
        &self,
        target: &LookupTarget<'_>,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let origin = api_origin(options, INFO.default_api_base)
            .ok_or(ConfigError::MissingOption("api_base_url"))?;
        rest::legs_request(&origin, target.call_id, secrets, fresh).map(Some)
    }

    fn looked_up_call(
        &self,
        target: &LookupTarget<'_>,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        rest::read_legs(target.call_id, body)
    }

    /// A 404, or a listing that found no leg of the conversation.
    fn call_unknown(&self, status: u16, body: &[u8]) -> bool {
        status == 404 || ((200..300).contains(&status) && rest::found_nothing(body))
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
