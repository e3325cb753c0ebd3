//! Acme: FILL IN which webhooks this adapter receives and how they are signed, in a line or
//! two (the details go in README.md beside this file).
//!
//! - `payload`: which webhook a body is, and its events;
//! - `mapping`: the status tables.
//!
//! Written by `callgate adapter new` from `adapters/_template/`. Each `FILL IN` marks a guess
//! of the template to replace with the provider's real scheme, fields and values, then to
//! delete (adapters/README.md, "Adding a provider"). The tidy test fails while one is left.

mod mapping;
mod payload;

#[cfg(test)]
mod tests;

use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{
    self, Adapter, Clock, ConfigError, InboundRequest, ParseError, Parsed, ProviderInfo, SecretSet,
    Verified, VerifyError,
};
use base64::Engine;
use http::HeaderValue;

/// The Acme adapter.
#[derive(Debug)]
pub struct Acme;

/// The signature header, lowercase (FILL IN: the provider's).
const SIGNATURE_HEADER: &str = "x-acme-signature";
/// The secret the signature is keyed with (FILL IN: the name CONTRACT.md gives).
const SIGNING_SECRET: &str = "signing_secret";
/// HMAC-SHA256 output length.
const SIGNATURE_LEN: usize = 32;

static INFO: ProviderInfo = ProviderInfo {
    id: "acme",
    // FILL IN: the provider's name as people write it.
    display_name: "Acme",
    maturity: kit::Maturity::Experimental,
    // FILL IN: the provider's page on webhook security.
    docs_url: "https://example.invalid/acme/webhook-security",
    webhook_secrets: &[SIGNING_SECRET],
    // FILL IN: the secrets the REST API needs (to delete a recording), if any.
    api_secrets: &[],
    optional_webhook_secrets: &[],
    default_api_base: None,
    // FILL IN: the non-secret connection options the adapter reads (`api_base_url` is
    // common to all).
    options: &[],
    // FILL IN: every field whose unknown values become `EventKind::Unmapped`.
    unmapped_fields: &["status"],
    // FILL IN: `kit::EventTag::Recording` too, if the provider reports recordings.
    emits: &[kit::EventTag::Call, kit::EventTag::Unmapped],
    // FILL IN: the provider's scheme, in one line.
    verification: "HMAC-SHA256 of the body, `X-Acme-Signature`",
    // FILL IN: false for HTTP Basic or an API-key header, which do not cover the body.
    signs_body: true,
    // FILL IN: the tolerance in seconds, if the provider signs a timestamp.
    timestamp_tolerance_secs: None,
    lookups: crate::kit::Lookups::None,
    // FILL IN: the fields that place a leg in its call, name the number a call was forwarded
    // from, and the agent an agent's leg rang; "—" for what the provider does not report.
    legs: "—",
    forwarding: "—",
    agent_identity: "—",
    console_field: "FILL IN: where the provider’s console takes the webhook URL (page → field)",
};

impl Adapter for Acme {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// FILL IN: the provider's scheme. The template's is base64 HMAC-SHA256 of the raw body,
    /// keyed with `signing_secret`, in `X-Acme-Signature`, with no timestamp: the clock is
    /// not used.
    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        let keys = secrets.accepted_required(SIGNING_SECRET)?;
        let given = verify::decode_base64_header(
            req.require_header(SIGNATURE_HEADER)?,
            SIGNATURE_HEADER,
            Some(SIGNATURE_LEN),
        )?;
        let signed = [vec![req.body.as_ref()]];
        verify::mac_matches(req, MacAlgorithm::HmacSha256, keys, &signed, &given)
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        payload::parse(req)
    }

    // FILL IN: `delete_recording`, if the provider has a REST call that deletes a recording
    // (adapters/README.md, "The adapter contract"). Without it, a discarded recording is only
    // marked discarded.

    /// Sets `X-Acme-Signature` with the current `signing_secret` (FILL IN: as the provider
    /// signs).
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        _clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        let key = secrets
            .current(SIGNING_SECRET)
            .ok_or(ConfigError::MissingSecret(SIGNING_SECRET))?;
        let mac = verify::mac(
            MacAlgorithm::HmacSha256,
            key.expose().as_bytes(),
            &[&req.body],
        );
        let signature = base64::engine::general_purpose::STANDARD.encode(mac);
        if let Ok(value) = HeaderValue::from_str(&signature) {
            req.headers.insert(SIGNATURE_HEADER, value);
        }
        Ok(())
    }
}
