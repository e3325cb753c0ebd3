//! Verification toolbox. A [`Verified`] request can only be made from a [`Proof`], and a
//! `Proof` only comes out of the constant-time checks in this module: an adapter cannot
//! forget to check.

use crate::kit::ParseError;
use crate::kit::adapter::InboundRequest;
use crate::kit::form::Form;
use crate::kit::secrets::{Generation, Secret};
use hmac::{Hmac, KeyInit, Mac};
use std::borrow::Cow;
use subtle::ConstantTimeEq;

/// Why a request was refused. Logged and counted with [`VerifyError::reason`]; the caller
/// only ever learns that the signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("malformed header {0}")]
    MalformedHeader(&'static str),
    #[error("the connection has no value for secret {0}")]
    NoCredentials(&'static str),
    #[error("signature does not match")]
    BadSignature,
    #[error("body hash does not match the signed hash")]
    BodyHashMismatch,
    #[error("timestamp outside tolerance ({skew_secs} s)")]
    Stale { skew_secs: i64 },
    #[error("body is not in the signed form")]
    MalformedBody,
}

/// A single-use value from a signed request (a nonce, a JWT id). The service refuses a
/// second request bearing the same key on the same connection until `keep_until` (seconds
/// since the Unix epoch), after which the signed timestamp alone refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayKey {
    pub key: String,
    pub keep_until: i64,
}

impl VerifyError {
    /// A stable label for logs and metrics: which check failed.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) => "missing_header",
            Self::MalformedHeader(_) => "malformed_header",
            Self::NoCredentials(_) => "no_credentials",
            Self::BadSignature => "bad_signature",
            Self::BodyHashMismatch => "body_hash_mismatch",
            Self::Stale { .. } => "stale",
            Self::MalformedBody => "malformed_body",
        }
    }
}

/// Evidence that a check in this module succeeded, and with which secret generation.
#[derive(Debug)]
struct Proof {
    generation: Generation,
}

/// A request whose origin was proven. The only input `Adapter::parse` accepts; only the
/// checks of this module make one, for the very request they checked.
#[derive(Debug)]
pub struct Verified<'r> {
    request: &'r InboundRequest,
    proof: Proof,
    replay_key: Option<ReplayKey>,
    /// The body as a form, when verification already parsed it.
    form: Option<Form<'r>>,
}

impl<'r> Verified<'r> {
    fn new(request: &'r InboundRequest, proof: Proof) -> Self {
        Self {
            request,
            proof,
            replay_key: None,
            form: None,
        }
    }

    /// Hands over the body's form, parsed during verification, so that `form` does not
    /// parse it again. It must be the form of this request's body.
    pub fn with_form(mut self, form: Form<'r>) -> Self {
        self.form = Some(form);
        self
    }

    /// Takes a request as verified without any check. Only the conformance kit's never-panic
    /// drivers use it, to reach `parse` with arbitrary input; it exists only in this crate's
    /// tests and with the `conformance` feature (the fuzz crate), which the service never
    /// enables (the tidy test holds it to that).
    #[cfg(any(test, feature = "conformance"))]
    pub(crate) fn unchecked(request: &'r InboundRequest) -> Self {
        Self::new(
            request,
            Proof {
                generation: Generation::Current,
            },
        )
    }

    /// Marks the request as carrying a single-use value: see [`ReplayKey`].
    pub fn with_replay_key(mut self, key: impl Into<String>, keep_until: i64) -> Self {
        self.replay_key = Some(ReplayKey {
            key: key.into(),
            keep_until,
        });
        self
    }

    /// The single-use value the service must not accept twice, if the scheme has one.
    pub fn replay_key(&self) -> Option<&ReplayKey> {
        self.replay_key.as_ref()
    }

    pub fn request(&self) -> &'r InboundRequest {
        self.request
    }

    pub fn body(&self) -> &'r [u8] {
        &self.request.body
    }

    /// Which secret generation signed it (rotation telemetry).
    pub fn generation(&self) -> Generation {
        self.proof.generation
    }

    /// The body as a form, after checking the content type.
    pub fn form(&self) -> Result<Cow<'_, Form<'r>>, ParseError> {
        self.request
            .require_content_type("application/x-www-form-urlencoded")?;
        Ok(match &self.form {
            Some(form) => Cow::Borrowed(form),
            None => Cow::Owned(Form::parse(self.body())),
        })
    }

    /// A callback's parameters: the query of a GET (a webhook the provider was told to call
    /// with GET), else the form body, after checking its content type. Only for schemes whose
    /// signature covers the URL's query (Twilio's, Plivo's V3).
    pub fn params(&self) -> Result<Cow<'_, Form<'r>>, ParseError> {
        if self.request.method == http::Method::GET {
            Ok(Cow::Owned(Form::parse(
                crate::kit::form::url_query(&self.request.public_url).as_bytes(),
            )))
        } else {
            self.form()
        }
    }

    /// The body as JSON of type `T`, after checking the content type
    /// (`application/json`). A body that does not read as `T` is [`ParseError::Malformed`].
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ParseError> {
        self.request.require_content_type("application/json")?;
        serde_json::from_slice(self.body()).map_err(|e| ParseError::json("the body", &e))
    }
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Compares a shared credential (HTTP Basic, API-key header) in constant time against every
/// accepted generation of a secret.
pub fn shared_secret<'a, 'r>(
    req: &'r InboundRequest,
    accepted: impl IntoIterator<Item = (Generation, &'a Secret)>,
    given: &[u8],
) -> Result<Verified<'r>, VerifyError> {
    let mut found = None;
    for (generation, secret) in accepted {
        if ct_eq(secret.expose().as_bytes(), given) && found.is_none() {
            found = Some(Proof { generation });
        }
    }
    found
        .map(|p| Verified::new(req, p))
        .ok_or(VerifyError::BadSignature)
}

/// The MAC families the kit knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlgorithm {
    HmacSha1,
    HmacSha256,
}

/// Computes a MAC of the concatenation of `parts`.
pub fn mac(algorithm: MacAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut m) = <M as KeyInit>::new_from_slice(key) else {
            return Vec::new();
        };
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }
    match algorithm {
        MacAlgorithm::HmacSha1 => run::<Hmac<sha1::Sha1>>(key, parts),
        MacAlgorithm::HmacSha256 => run::<Hmac<sha2::Sha256>>(key, parts),
    }
}

/// Checks `given` (the decoded signature) against a MAC of any of the `candidates` (each a
/// list of byte parts, concatenated) under any accepted generation of the key. Each
/// comparison is constant-time; the search stops at the first match, so put the likeliest
/// candidate first (which candidate or generation matched is not secret).
pub fn mac_matches<'a, 'r>(
    req: &'r InboundRequest,
    algorithm: MacAlgorithm,
    accepted: impl IntoIterator<Item = (Generation, &'a Secret)>,
    candidates: &[Vec<&[u8]>],
    given: &[u8],
) -> Result<Verified<'r>, VerifyError> {
    let keys = accepted
        .into_iter()
        .map(|(generation, secret)| (generation, secret.expose().as_bytes()));
    mac_matches_keys(req, algorithm, keys, candidates, &[given])
}

/// [`mac_matches`] for schemes whose MAC key is derived from the secret (decoded from base64,
/// say) and whose header may carry several signatures, any of which may match.
pub fn mac_matches_keys<'k, 'r>(
    req: &'r InboundRequest,
    algorithm: MacAlgorithm,
    keys: impl IntoIterator<Item = (Generation, &'k [u8])>,
    candidates: &[Vec<&[u8]>],
    given: &[&[u8]],
) -> Result<Verified<'r>, VerifyError> {
    for (generation, key) in keys {
        for parts in candidates {
            let expected = mac(algorithm, key, parts);
            if given.iter().any(|g| ct_eq(&expected, g)) {
                return Ok(Verified::new(req, Proof { generation }));
            }
        }
    }
    Err(VerifyError::BadSignature)
}

/// The DER prefix of an Ed25519 public key in a SubjectPublicKeyInfo document (RFC 8410):
/// the 32-byte key follows it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// An Ed25519 public key from its base64 form: the raw 32 bytes, or an SPKI DER document
/// (44 bytes). `None` for anything else, or a point that is not a valid key.
pub fn ed25519_public_key(base64_text: &str) -> Option<ed25519_dalek::VerifyingKey> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_text.trim())
        .ok()?;
    let raw: [u8; 32] = match bytes.len() {
        32 => bytes.try_into().ok()?,
        44 if bytes[..12] == ED25519_SPKI_PREFIX => bytes[12..].try_into().ok()?,
        _ => return None,
    };
    ed25519_dalek::VerifyingKey::from_bytes(&raw).ok()
}

/// Checks an Ed25519 signature over the concatenation of `message` against every accepted
/// public key (base64, see [`ed25519_public_key`]), with `verify_strict`: non-canonical and
/// small-order forms are refused. `secret` names the secret, for the error when no accepted
/// value is a usable key.
pub fn ed25519_matches<'a, 'r>(
    req: &'r InboundRequest,
    secret: &'static str,
    accepted: impl IntoIterator<Item = (Generation, &'a Secret)>,
    message: &[&[u8]],
    signature: &[u8; 64],
) -> Result<Verified<'r>, VerifyError> {
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    let message = message.concat();
    let mut any_key = false;
    for (generation, value) in accepted {
        let Some(key) = ed25519_public_key(value.expose()) else {
            continue;
        };
        any_key = true;
        if key.verify_strict(&message, &signature).is_ok() {
            return Ok(Verified::new(req, Proof { generation }));
        }
    }
    if any_key {
        Err(VerifyError::BadSignature)
    } else {
        Err(VerifyError::NoCredentials(secret))
    }
}

/// Decodes a base64 (standard alphabet, padded) signature header. Anything that is not
/// canonical base64, or does not decode to `expected_len` bytes when given, is
/// [`VerifyError::MalformedHeader`] naming `header`.
pub fn decode_base64_header(
    value: &[u8],
    header: &'static str,
    expected_len: Option<usize>,
) -> Result<Vec<u8>, VerifyError> {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| VerifyError::MalformedHeader(header))?;
    match expected_len {
        Some(len) if decoded.len() != len => Err(VerifyError::MalformedHeader(header)),
        _ => Ok(decoded),
    }
}

/// Checks a signed timestamp (seconds since the Unix epoch) against the clock: more than
/// `tolerance_secs` in the past *or* the future is [`VerifyError::Stale`].
pub fn check_timestamp(
    signed_at: i64,
    clock: &dyn crate::kit::Clock,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let skew_secs = clock.now().unix_timestamp().saturating_sub(signed_at);
    if skew_secs.saturating_abs() > tolerance_secs {
        Err(VerifyError::Stale { skew_secs })
    } else {
        Ok(())
    }
}

/// Lowercase hex SHA-256 of `bytes` (body hashes carried in signed URLs or headers).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes` (signatures sent as hex).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes a hex signature header (either case) of exactly `expected_len` bytes; anything
/// else is [`VerifyError::MalformedHeader`] naming `header`.
pub fn decode_hex_header(
    value: &[u8],
    header: &'static str,
    expected_len: usize,
) -> Result<Vec<u8>, VerifyError> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if value.len() != expected_len * 2 {
        return Err(VerifyError::MalformedHeader(header));
    }
    value
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or(VerifyError::MalformedHeader(header))
}

/// Checks that the SHA-256 of the raw body equals a signed lowercase-hex hash (exact
/// comparison, as the providers' SDKs do). Use it *after* the signature over the hash
/// succeeded: a mismatch then means the body was changed, [`VerifyError::BodyHashMismatch`].
pub fn body_sha256_matches(body: &[u8], signed_hex: &str) -> Result<(), VerifyError> {
    if ct_eq(sha256_hex(body).as_bytes(), signed_hex.as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::BodyHashMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> InboundRequest {
        InboundRequest {
            method: http::Method::POST,
            public_url: "https://example.test/".into(),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
        }
    }

    #[test]
    fn ct_eq_compares_content_and_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }

    #[test]
    fn mac_matches_reports_the_generation_that_matched() {
        let old = Secret::new("old");
        let new = Secret::new("new");
        let sig = mac(MacAlgorithm::HmacSha256, b"old", &[b"payload"]);
        let accepted = [(Generation::Current, &new), (Generation::Previous, &old)];
        let r = req();
        let proof = mac_matches(
            &r,
            MacAlgorithm::HmacSha256,
            accepted,
            &[vec![b"payload".as_slice()]],
            &sig,
        );
        assert_eq!(proof.map(|p| p.generation()), Ok(Generation::Previous));
        let wrong = mac_matches(
            &r,
            MacAlgorithm::HmacSha256,
            [(Generation::Current, &new)],
            &[vec![b"payload".as_slice()]],
            &sig,
        );
        assert_eq!(
            wrong.map(|p| p.generation()),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn shared_secret_refuses_prefixes() {
        let s = Secret::new("password");
        let r = req();
        assert!(shared_secret(&r, [(Generation::Current, &s)], b"password").is_ok());
        assert!(shared_secret(&r, [(Generation::Current, &s)], b"passwor").is_err());
        assert!(shared_secret(&r, [(Generation::Current, &s)], b"").is_err());
    }

    #[test]
    fn base64_headers_are_checked() {
        assert_eq!(decode_base64_header(b"AAEC", "h", None), Ok(vec![0, 1, 2]));
        assert_eq!(
            decode_base64_header(b"AAEC", "h", Some(3)),
            Ok(vec![0, 1, 2])
        );
        assert_eq!(
            decode_base64_header(b"AAEC", "h", Some(20)),
            Err(VerifyError::MalformedHeader("h"))
        );
        assert_eq!(
            decode_base64_header(b"not base64!", "h", None),
            Err(VerifyError::MalformedHeader("h"))
        );
        assert_eq!(
            decode_base64_header(b"AAE", "h", None),
            Err(VerifyError::MalformedHeader("h"))
        );
    }

    #[test]
    fn hex_headers_are_checked() {
        assert_eq!(decode_hex_header(b"00fFa1", "h", 3), Ok(vec![0, 255, 161]));
        assert_eq!(hex(&[0, 255, 161]), "00ffa1");
        for bad in [&b"00ff"[..], b"00ffa", b"00ffa1b2", b"00fga1", b"+0ffa1"] {
            assert_eq!(
                decode_hex_header(bad, "h", 3),
                Err(VerifyError::MalformedHeader("h")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn timestamps_are_bounded_both_ways() {
        let clock =
            crate::kit::FixedClock(time::OffsetDateTime::from_unix_timestamp(1_000_000).unwrap());
        assert_eq!(check_timestamp(1_000_000, &clock, 300), Ok(()));
        assert_eq!(check_timestamp(999_700, &clock, 300), Ok(()));
        assert_eq!(check_timestamp(1_000_300, &clock, 300), Ok(()));
        assert_eq!(
            check_timestamp(999_699, &clock, 300),
            Err(VerifyError::Stale { skew_secs: 301 })
        );
        assert_eq!(
            check_timestamp(1_000_301, &clock, 300),
            Err(VerifyError::Stale { skew_secs: -301 })
        );
        assert!(check_timestamp(i64::MIN, &clock, 300).is_err());
        assert!(check_timestamp(i64::MAX, &clock, 300).is_err());
    }

    #[test]
    fn replay_keys_ride_on_the_verified_request() {
        let s = Secret::new("password");
        let r = req();
        let v = shared_secret(&r, [(Generation::Current, &s)], b"password").unwrap();
        assert_eq!(v.replay_key(), None);
        let v = v.with_replay_key("nonce-1", 42);
        assert_eq!(
            v.replay_key(),
            Some(&ReplayKey {
                key: "nonce-1".into(),
                keep_until: 42
            })
        );
    }

    #[test]
    fn body_hashes_are_lowercase_hex_sha256() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hex = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(sha256_hex(body), hex);
        assert_eq!(body_sha256_matches(body, hex), Ok(()));
        assert_eq!(
            body_sha256_matches(b"{}", hex),
            Err(VerifyError::BodyHashMismatch)
        );
        assert_eq!(
            body_sha256_matches(body, &hex.to_uppercase()),
            Err(VerifyError::BodyHashMismatch)
        );
    }

    /// A JSON body refused is told by where and how it fails, never by the value it holds.
    #[test]
    fn a_refused_json_body_is_told_without_its_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Kind {
            Call,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Shape {
            n: u64,
            kind: Kind,
        }
        let told = |body: &str| {
            let e = serde_json::from_str::<Shape>(body).unwrap_err();
            ParseError::json("the body", &e).to_string()
        };
        for (body, how) in [
            (r#"{"n": "+15125550123", "kind": "Call"}"#, "wrong type"),
            (
                r#"{"n": 15125550123, "kind": "x15125550123"}"#,
                "unknown value",
            ),
            (
                r#"{"n": 1, "kind": "Call", +15125550123}"#,
                "not valid JSON",
            ),
            (r#"{"n": 1, "kind": "Call", "x": "+1512555"#, "ends before"),
        ] {
            let text = told(body);
            assert!(!text.contains("5125550123"), "{text}");
            assert!(!text.contains("1512555"), "{text}");
            assert!(text.contains(how), "{body}: {text}");
            assert!(text.contains("(line 1, column "), "{text}");
        }
        assert!(told(r#"{"kind": "Call"}"#).contains("lacks a field (missing field `n`)"));
    }
}
