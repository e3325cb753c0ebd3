//! Plivo Voice: answer, ring, hangup and recording callbacks (form bodies), signed with
//! Plivo's V3 signature and a single-use nonce (README.md beside this file).
//!
//! - `signature`: the V3 scheme;
//! - `payload`: which callback a body is, and its events;
//! - `mapping`: the status tables;
//! - `call_record`: a call looked up for the reconciler ("Retrieve a call");
//! - `listing`: a call's recordings, listed for the reconciler.

mod call_record;
mod listing;
mod mapping;
mod payload;
pub mod signature;

#[cfg(test)]
mod tests;

use crate::kit::verify;
use crate::kit::{
    self, Adapter, CallEvent, Clock, ConfigError, ConnectionOptions, HttpRequestSpec,
    InboundRequest, ParseError, Parsed, ProviderInfo, RecordingRef, Secret, SecretSet, Verified,
    VerifyError,
};
use http::HeaderValue;

/// The Plivo adapter.
#[derive(Debug)]
pub struct Plivo;

const AUTH_TOKEN: &str = "auth_token";
const AUTH_ID: &str = "auth_id";
/// How long a nonce is refused again: Plivo signs no timestamp, and the lifetime of its
/// nonces is not documented, so a day.
const NONCE_KEPT_SECS: i64 = 86_400;

static INFO: ProviderInfo = ProviderInfo {
    id: "plivo",
    display_name: "Plivo",
    maturity: kit::Maturity::Experimental,
    docs_url: "https://www.plivo.com/docs/voice/xml/request/validation",
    webhook_secrets: &[AUTH_TOKEN],
    api_secrets: &[AUTH_ID],
    optional_webhook_secrets: &[],
    default_api_base: Some("https://api.plivo.com"),
    options: &[],
    unmapped_fields: &["CallStatus", "DialBLegStatus", "DialStatus"],
    emits: &[
        kit::EventTag::Call,
        kit::EventTag::Recording,
        kit::EventTag::Unmapped,
    ],
    verification: "V3: HMAC-SHA256 of URL + parameters + nonce, `X-Plivo-Signature-V3` (several allowed), nonce single-use",
    signs_body: true,
    timestamp_tolerance_secs: None,
    lookups: crate::kit::Lookups::CallAndRecordings,
    legs: "Dial callbacks: `DialALegUUID` (the parent), `DialBLegUUID` (the leg); else `ALegUUID` when it is not `CallUUID`",
    forwarding: "`ForwardedFrom`",
    agent_identity: "`DialBLegTo` of a Dial callback; `To` of an outbound child leg",
    console_field: "Voice → Applications → the application: “Answer URL” (when callgate answers it), “Hangup URL” and the `callbackUrl` of `<Record>`",
};

/// The URL of `resource` under the account, `{origin}/v1/Account/{auth_id}/{resource}`, and
/// the HTTP Basic `auth_id:auth_token` every REST request carries.
fn account_url<'s>(
    secrets: &'s SecretSet,
    options: &ConnectionOptions,
    resource: &str,
) -> Result<(String, &'s Secret, &'s Secret), ConfigError> {
    let auth_id = secrets.require(AUTH_ID)?;
    let token = secrets.require(AUTH_TOKEN)?;
    let origin = kit::adapter::api_origin(options, INFO.default_api_base)
        .ok_or(ConfigError::MissingOption("api_base_url"))?;
    let account = kit::adapter::encode_path_segment(auth_id.expose());
    Ok((
        format!("{origin}/v1/Account/{account}/{resource}"),
        auth_id,
        token,
    ))
}

impl Adapter for Plivo {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        let tokens = secrets.accepted_required(AUTH_TOKEN)?;
        let verified = signature::verify(req, &tokens)?;
        let nonce =
            String::from_utf8_lossy(req.header(signature::NONCE_HEADER).unwrap_or_default())
                .into_owned();
        let keep_until = clock.now().unix_timestamp().saturating_add(NONCE_KEPT_SECS);
        Ok(verified.with_replay_key(format!("nonce:{nonce}"), keep_until))
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        payload::parse(req)
    }

    /// `DELETE /v1/Account/{auth_id}/Recording/{id}/`, HTTP Basic `auth_id:auth_token`.
    fn delete_recording(
        &self,
        rec: &RecordingRef,
        secrets: &SecretSet,
        options: &ConnectionOptions,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let resource = format!(
            "Recording/{}/",
            kit::adapter::encode_path_segment(&rec.recording_id)
        );
        let (url, auth_id, token) = account_url(secrets, options, &resource)?;
        Ok(Some(kit::adapter::basic_delete(url, auth_id, token)))
    }

    /// `GET {origin}/v1/Account/{auth_id}/Call/{call_uuid}/` ("Retrieve a call"), HTTP
    /// Basic `auth_id:auth_token`: the record of a call that ended.
    fn lookup_call(
        &self,
        target: &kit::LookupTarget<'_>,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let resource = call_record::resource(target.call_id);
        let (url, auth_id, token) = account_url(secrets, options, &resource)?;
        Ok(Some(kit::adapter::basic_get(url, auth_id, token)))
    }

    fn looked_up_call(
        &self,
        target: &kit::LookupTarget<'_>,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        call_record::read(target.call_id, body)
    }

    /// A 404 only (the default, kept on purpose): Plivo keeps records of calls that ended,
    /// so a 404 cannot tell a live call from one Plivo no longer keeps. Such a call is never
    /// ended on it before the maximum call duration (README.md, "Looking calls up").
    fn call_unknown(&self, status: u16, _body: &[u8]) -> bool {
        status == 404
    }

    /// `GET {origin}/v1/Account/{auth_id}/Recording/?call_uuid={call}&limit=20`.
    fn list_recordings(
        &self,
        provider_call_id: &str,
        secrets: &SecretSet,
        options: &ConnectionOptions,
        _fresh: &kit::Fresh,
    ) -> Result<Option<HttpRequestSpec>, ConfigError> {
        let resource = listing::resource(provider_call_id);
        let (url, auth_id, token) = account_url(secrets, options, &resource)?;
        Ok(Some(kit::adapter::basic_get(url, auth_id, token)))
    }

    fn listed_recordings(
        &self,
        provider_call_id: &str,
        body: &[u8],
    ) -> Result<Vec<CallEvent>, String> {
        listing::read(provider_call_id, body)
    }

    /// Signs with the current Auth Token; the nonce is kept when the request has one, else
    /// derived from the clock and the body.
    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        let token = secrets.require(AUTH_TOKEN)?;
        let nonce = match req.header(signature::NONCE_HEADER) {
            Some(n) if !n.is_empty() => String::from_utf8_lossy(n).into_owned(),
            _ => {
                let seed = format!(
                    "{}{}",
                    clock.now().unix_timestamp_nanos(),
                    verify::sha256_hex(&req.body)
                );
                verify::sha256_hex(seed.as_bytes())
                    .chars()
                    .filter(char::is_ascii_digit)
                    .take(20)
                    .collect()
            }
        };
        let sig = signature::sign(
            token.expose(),
            &req.method,
            &req.public_url,
            &req.body,
            &nonce,
        );
        for (name, value) in [
            (signature::NONCE_HEADER, nonce),
            (signature::SIGNATURE_HEADER, sig),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                req.headers.insert(name, v);
            }
        }
        Ok(())
    }
}
