//! Standard: callgate's own open event format, signed with Standard Webhooks, for any PBX,
//! CRM or contact-center system without an adapter of its own (README.md beside this file).
//!
//! - `signature`: Standard Webhooks signing and verification (plain functions);
//! - `payload`: the event body and its events;
//! - `mapping`: the `type` and `direction` tables.

mod mapping;
mod payload;
pub mod signature;

#[cfg(test)]
mod tests;

use crate::kit::verify;
use crate::kit::{
    self, Adapter, Clock, ConfigError, InboundRequest, ParseError, Parsed, ProviderInfo, SecretSet,
    Verified, VerifyError,
};
use http::HeaderValue;

/// The Standard adapter.
#[derive(Debug)]
pub struct Standard;

/// The secret (`whsec_...`), as CONTRACT.md names it.
const SECRET: &str = "secret";

static INFO: ProviderInfo = ProviderInfo {
    id: "standard",
    display_name: "Standard Webhooks",
    maturity: kit::Maturity::Stable,
    docs_url: "https://www.standardwebhooks.com/",
    webhook_secrets: &[SECRET],
    api_secrets: &[],
    optional_webhook_secrets: &[],
    default_api_base: None,
    options: &[],
    unmapped_fields: &["type"],
    emits: &[
        kit::EventTag::Call,
        kit::EventTag::Recording,
        kit::EventTag::Unmapped,
    ],
    verification: "Standard Webhooks: HMAC-SHA256 of `id.timestamp.body` (`whsec_` key), `webhook-signature` `v1,` entries, 300 s",
    signs_body: true,
    timestamp_tolerance_secs: Some(signature::TOLERANCE_SECS),
    lookups: crate::kit::Lookups::None,
    legs: "`parent_call_id`",
    forwarding: "`forwarded_from`, `routing_reason`",
    agent_identity: "`agent_identity`",
    console_field: "the sending system’s webhook setting: POST events in callgate’s standard format here",
};

impl Adapter for Standard {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        let accepted = secrets.accepted_required(SECRET)?;
        signature::verify(req, &accepted, |ts| {
            verify::check_timestamp(ts, clock, signature::TOLERANCE_SECS)
        })
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        payload::parse(req)
    }

    // No `delete_recording`: the sender owns the recording's storage; callgate records its
    // decision (audited `recording.deletion_not_supported` for a discarded one).

    /// Signs with the current secret at the clock's time; `webhook-id` is kept when the
    /// request has one (it is the idempotency key, the same on every retry), else derived
    /// from the body's hash.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        let secret = secrets
            .current(SECRET)
            .ok_or(ConfigError::MissingSecret(SECRET))?;
        let key = signature::key_of(secret.expose()).ok_or(ConfigError::MissingSecret(SECRET))?;
        let id = match req.header(signature::ID_HEADER) {
            Some(id) => String::from_utf8_lossy(id).into_owned(),
            None => format!("msg_{}", &verify::sha256_hex(&req.body)[..24]),
        };
        // The time of this attempt, as a sender's retry would carry.
        let timestamp = clock.now().unix_timestamp();
        let sig = signature::sign(&key, &id, timestamp, &req.body);
        for (name, value) in [
            (signature::ID_HEADER, id),
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
