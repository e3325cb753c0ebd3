//! The Voice API's call records, read back into events: what lost webhooks would have said.
//!
//! - `GET {origin}/v1/calls?conversation_uuid={conversation}&page_size=100`: a page of the
//!   conversation's legs (`_embedded.calls`: `uuid`, `conversation_uuid`, `status`,
//!   `direction`, `from` and `to` as endpoint objects, `start_time`, `end_time`). callgate's
//!   Vonage call is the conversation, and `GET /v1/calls/{uuid}` takes one leg's uuid, so the
//!   conversation's legs are listed instead.
//! - Authorization: `Bearer` + an application JWT signed RS256 with the application's private
//!   key (claims `application_id`, `iat`, `jti`, `exp`).
//!
//! Sources and what is unconfirmed: README.md, "Looking calls up".

use super::mapping;
use super::payload::{self, Webhook};
use crate::kit::adapter::{encode_path_segment, given};
use crate::kit::rsa::RsaKey;
use crate::kit::{CallEvent, ConfigError, Fresh, HttpRequestSpec, SecretSet, jwt};
use http::Method;
use serde::Deserialize;

/// The application's id (a UUID): the token's `application_id` claim.
pub(super) const APPLICATION_ID: &str = "application_id";
/// The application's private key, PEM PKCS#8: it signs the token.
pub(super) const PRIVATE_KEY: &str = "private_key";

/// How long a token is valid: the official SDKs' default (vonage-node-sdk `tokenGenerate`,
/// vonage-python-sdk `generate_application_jwt`: `exp` = `iat` + 900 s).
const TOKEN_TTL_SECS: i64 = 900;

/// The most legs one page holds (vonage-python-sdk `ListCallsFilter.page_size`: 1 to 100).
const PAGE_SIZE: u32 = 100;

/// `GET {origin}/v1/calls?conversation_uuid=...&page_size=100` with the application JWT.
pub(super) fn legs_request(
    origin: &str,
    conversation: &str,
    secrets: &SecretSet,
    fresh: &Fresh,
) -> Result<HttpRequestSpec, ConfigError> {
    let token = application_jwt(secrets, fresh)?;
    let conversation = encode_path_segment(conversation);
    Ok(HttpRequestSpec {
        method: Method::GET,
        url: format!("{origin}/v1/calls?conversation_uuid={conversation}&page_size={PAGE_SIZE}"),
        headers: vec![
            (http::header::AUTHORIZATION, format!("Bearer {token}")),
            (http::header::ACCEPT, "application/json".to_owned()),
        ],
        body: None,
    })
}

/// The application JWT: `application_id`, `iat` (now), `jti` (a UUID from the nonce), `exp`
/// (`iat` + 900 s), signed RS256 with the private key.
pub(super) fn application_jwt(secrets: &SecretSet, fresh: &Fresh) -> Result<String, ConfigError> {
    let application_id = secrets.require(APPLICATION_ID)?;
    let pem = secrets.require(PRIVATE_KEY)?;
    let unusable = ConfigError::InvalidSecret(PRIVATE_KEY);
    let key = RsaKey::from_pem(pem.expose()).map_err(|_| unusable.clone())?;
    let iat = fresh.now.unix_timestamp();
    let claims = serde_json::json!({
        "application_id": application_id.expose(),
        "exp": iat + TOKEN_TTL_SECS,
        "iat": iat,
        "jti": uuid_v4(fresh.nonce),
    });
    jwt::sign_rs256(&claims, &key).ok_or(unusable)
}

/// A version-4 UUID (RFC 9562 5.4) of 16 random bytes, as the SDKs' `jti` is.
fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A page of the call records.
#[derive(Debug, Deserialize)]
struct Page {
    count: Option<u64>,
    #[serde(rename = "_embedded")]
    embedded: Option<Embedded>,
}

#[derive(Debug, Deserialize)]
struct Embedded {
    calls: Vec<Record>,
}

/// One leg's record.
#[derive(Debug, Deserialize)]
struct Record {
    uuid: Option<String>,
    conversation_uuid: Option<String>,
    status: Option<String>,
    direction: Option<String>,
    from: Option<Endpoint>,
    to: Option<Endpoint>,
    start_time: Option<String>,
    end_time: Option<String>,
}

/// A record's `from` / `to`: an endpoint object (`phone` has `number`, `sip` and `websocket`
/// a `uri`, `app` a `user`, `vbc` an `extension`), or a plain string as webhooks write it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Endpoint {
    Text(String),
    Object {
        number: Option<String>,
        uri: Option<String>,
        user: Option<String>,
        extension: Option<String>,
    },
}

impl Endpoint {
    /// The address a webhook names the endpoint by.
    fn address(&self) -> Option<String> {
        match self {
            Self::Text(text) => Some(text.clone()),
            Self::Object {
                number,
                uri,
                user,
                extension,
            } => [number, uri, user, extension]
                .into_iter()
                .find_map(|v| given(v))
                .map(str::to_owned),
        }
    }
}

/// Whether the answer is a listing that found nothing (`count` 0, no leg): the conversation
/// is one Vonage does not know (any more).
pub(super) fn found_nothing(body: &[u8]) -> bool {
    serde_json::from_slice::<Page>(body)
        .is_ok_and(|page| page.count == Some(0) && page.embedded.is_none_or(|e| e.calls.is_empty()))
}

/// One event per leg of `conversation` listed, as the event webhook saying the leg's status
/// gives it (`payload::status_event`: key `{conversation_uuid}:{uuid}:{status}`, the leg
/// placed by its `direction`), so that a lookup and a webhook saying the same are one event.
/// Its time is the leg's `end_time` once it ended, else its `start_time`. An answering-machine
/// result (`machine`, `human`) comes only on an answered leg, and reads as `answered`. Legs of
/// another conversation are left out. No leg (`count` 0) gives no event: [`found_nothing`]
/// has already told the service that Vonage does not know the call.
pub(super) fn read_legs(conversation: &str, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| format!("the call records are not the documented JSON: {e}"))?;
    let records = match (page.embedded, page.count) {
        (Some(embedded), _) => embedded.calls,
        (None, Some(0)) => Vec::new(),
        (None, _) => return Err("the call records have no `_embedded.calls`".to_owned()),
    };
    let mut events = Vec::new();
    for record in records {
        if given(&record.conversation_uuid).is_some_and(|c| c != conversation) {
            continue;
        }
        let raw = given(&record.status).ok_or("a listed leg has no status")?;
        let status = if mapping::is_informational(raw) {
            "answered"
        } else {
            raw
        };
        let ended = mapping::status(status, None).is_some_and(|p| p.is_terminal());
        let hook = Webhook {
            conversation_uuid: Some(conversation.to_owned()),
            uuid: record.uuid,
            direction: record.direction,
            from: record.from.as_ref().and_then(Endpoint::address),
            to: record.to.as_ref().and_then(Endpoint::address),
            timestamp: if ended {
                record.end_time
            } else {
                record.start_time
            },
            ..Webhook::default()
        };
        let event =
            payload::status_event(&hook, status).map_err(|e| format!("a listed leg: {e}"))?;
        events.push(event);
    }
    Ok(events)
}
