//! Compact JSON Web Tokens signed with HS256 (RFC 7519, RFC 7515): Vonage's signed webhooks
//! carry one in `Authorization`, Dialpad sends one as the body.
//!
//! Only HS256 is accepted: the header's `alg` is pinned, so a token cannot pick a weaker or
//! keyless algorithm (`none`) for itself. The MAC is checked with [`verify::mac_matches`], so
//! the [`Verified`] comes only from the constant-time check; the claims are read after it.
//! A token's own validity window (`exp`, `nbf`) is honoured by [`check_lifetime`]; which
//! other claims matter (`iat`, a body hash, a token id) is the provider's business.

use crate::kit::rsa::RsaKey;
use crate::kit::secrets::{Generation, Secret};
use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{Clock, InboundRequest, Verified, VerifyError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// HMAC-SHA256 output length.
const SIGNATURE_LEN: usize = 32;

/// The claims of a verified token (its payload, a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// A string claim.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A numeric claim in whole seconds (`iat`, `exp`, `nbf`): an integer, or a number
    /// with a fraction, which is truncated.
    pub fn seconds(&self, name: &str) -> Option<i64> {
        let value = self.0.get(name)?;
        value.as_i64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                // The bound above keeps the conversion exact enough and in range.
                .map(|f| f.trunc() as i64)
        })
    }

    /// Every claim.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// Verifies a compact HS256 token against every accepted generation of a key, and returns
/// its claims. `source` names where the token came from (a header, or the body) in errors:
/// anything that is not a well-formed HS256 token is `MalformedHeader(source)`, a MAC that
/// matches no key is `BadSignature`.
pub fn verify_hs256<'a, 'r>(
    req: &'r InboundRequest,
    token: &[u8],
    source: &'static str,
    keys: impl IntoIterator<Item = (Generation, &'a Secret)>,
) -> Result<(Verified<'r>, Claims), VerifyError> {
    let malformed = VerifyError::MalformedHeader(source);
    let mut parts = token.split(|&b| b == b'.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed);
    };
    let header: Value = decode_json(header).ok_or(malformed.clone())?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(malformed);
    }
    let given = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .filter(|s| s.len() == SIGNATURE_LEN)
        .ok_or(malformed.clone())?;
    // The signing input is the token up to its second dot, as received.
    let signing_input = &token[..token.len() - signature.len() - 1];
    let verified = verify::mac_matches(
        req,
        MacAlgorithm::HmacSha256,
        keys,
        &[vec![signing_input]],
        &given,
    )?;
    match decode_json(payload) {
        Some(Value::Object(claims)) => Ok((verified, Claims(claims))),
        _ => Err(malformed),
    }
}

/// Honours the token's own validity window when it states one (RFC 7519 4.1.4 and 4.1.5,
/// as PyJWT's `decode` does for vonage-jwt): refused (`Stale`) once the clock is at `exp`
/// plus `leeway_secs` or later, or while it is before `nbf` minus `leeway_secs`. A claim that
/// is present but not a number is `MalformedHeader(source)`. Absent claims impose nothing.
pub fn check_lifetime(
    claims: &Claims,
    clock: &dyn Clock,
    leeway_secs: i64,
    source: &'static str,
) -> Result<(), VerifyError> {
    let now = clock.now().unix_timestamp();
    let claim = |name: &str| match claims.as_map().get(name) {
        None => Ok(None),
        Some(_) => claims
            .seconds(name)
            .map(Some)
            .ok_or(VerifyError::MalformedHeader(source)),
    };
    if let Some(exp) = claim("exp")?
        && now >= exp.saturating_add(leeway_secs)
    {
        return Err(VerifyError::Stale {
            skew_secs: now.saturating_sub(exp),
        });
    }
    if let Some(nbf) = claim("nbf")?
        && nbf > now.saturating_add(leeway_secs)
    {
        return Err(VerifyError::Stale {
            skew_secs: now.saturating_sub(nbf),
        });
    }
    Ok(())
}

/// The claims of a token whose signature was already checked (by [`verify_hs256`]), or any
/// token when nothing depends on them being genuine (re-signing a sample).
pub fn claims_of(token: &[u8]) -> Option<Map<String, Value>> {
    match decode_json(token.split(|&b| b == b'.').nth(1)?)? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// A compact HS256 token of `claims` under `key` (header `{"alg":"HS256","typ":"JWT"}`):
/// for tests, samples and re-signing, never for verification.
pub fn sign_hs256(claims: &Value, key: &[u8]) -> String {
    // An HMAC always signs: the token is always made.
    compact("HS256", claims, |input| {
        Some(verify::mac(MacAlgorithm::HmacSha256, key, &[input]))
    })
    .unwrap_or_default()
}

/// A compact RS256 token of `claims` under `key` (header `{"alg":"RS256","typ":"JWT"}`): the
/// credential of a provider's REST API that takes a token callgate signs (Vonage's
/// application JWT); `None` if the key fails to sign.
pub fn sign_rs256(claims: &Value, key: &RsaKey) -> Option<String> {
    compact("RS256", claims, |input| key.sign_sha256(input))
}

/// The compact token of `claims` with header `{"alg":alg,"typ":"JWT"}`, its signing input
/// signed by `sign`; `None` if `sign` fails.
fn compact(
    alg: &str,
    claims: &Value,
    sign: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<String> {
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let signature = sign(signing_input.as_bytes())?;
    Some(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// A base64url (unpadded) segment holding JSON.
fn decode_json(segment: &[u8]) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::SecretSet;

    fn req() -> InboundRequest {
        InboundRequest {
            method: http::Method::POST,
            public_url: "https://example.test/".into(),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
        }
    }

    fn check(token: &str, key: &str) -> Result<Claims, VerifyError> {
        let secrets = SecretSet::from_pairs([("k", key)]);
        let r = req();
        verify_hs256(&r, token.as_bytes(), "authorization", secrets.accepted("k")).map(|(_, c)| c)
    }

    /// vonage-python-sdk `jwt/tests/test_verify_jwt.py` (providers.md 3.1).
    const VONAGE_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJPbmxpbmUgSldUIEJ1aWxkZXIiLCJpYXQiOjE2OTc2MzQ2ODAsImV4cCI6MzMyNTQ1NDA4MjgsImF1ZCI6IiIsInN1YiI6IiJ9.88vJc3I2HhuqEDixHXVhc9R30tA6U_HQHZTC29y6CGM";
    const VONAGE_SECRET: &str = "qwertyuiopasdfghjklzxcvbnm123456";

    fn at(unix: i64) -> crate::kit::FixedClock {
        crate::kit::FixedClock(time::OffsetDateTime::from_unix_timestamp(unix).unwrap())
    }

    /// The vonage-jwt vector's window: `exp` 33254540828, honoured as PyJWT's `decode`
    /// (which `verify_signature` calls) honours it, with the leeway given.
    #[test]
    fn the_vonage_sdk_vectors_exp_is_honoured() {
        let claims = check(VONAGE_TOKEN, VONAGE_SECRET).unwrap();
        let exp = 33_254_540_828;
        for (now, ok) in [
            (1_697_634_680, true),
            (exp - 1, true),
            (exp + 299, true),
            (exp + 300, false),
            (exp + 86_400, false),
        ] {
            assert_eq!(
                check_lifetime(&claims, &at(now), 300, "authorization").is_ok(),
                ok,
                "{now}"
            );
        }
        assert_eq!(
            check_lifetime(&claims, &at(exp), 0, "authorization"),
            Err(VerifyError::Stale { skew_secs: 0 }),
            "no leeway: expired at exp itself, as PyJWT has it"
        );
    }

    #[test]
    fn nbf_is_honoured_and_a_window_claim_must_be_a_number() {
        let key = b"k";
        let with = |claims: Value| {
            let token = sign_hs256(&claims, key);
            check(&token, "k").unwrap()
        };
        let claims = with(serde_json::json!({"nbf": 1_000}));
        assert!(check_lifetime(&claims, &at(700), 300, "body").is_ok());
        assert_eq!(
            check_lifetime(&claims, &at(699), 300, "body"),
            Err(VerifyError::Stale { skew_secs: -301 })
        );
        assert!(check_lifetime(&with(serde_json::json!({})), &at(0), 300, "body").is_ok());
        for bad in [
            serde_json::json!({"exp": "soon"}),
            serde_json::json!({"nbf": null}),
        ] {
            assert_eq!(
                check_lifetime(&with(bad), &at(0), 300, "body"),
                Err(VerifyError::MalformedHeader("body"))
            );
        }
    }

    #[test]
    fn vonage_sdk_vector_verifies_and_reads_its_claims() {
        let claims = check(VONAGE_TOKEN, VONAGE_SECRET);
        let Ok(claims) = claims else {
            panic!("{claims:?}")
        };
        assert_eq!(claims.str("iss"), Some("Online JWT Builder"));
        assert_eq!(claims.seconds("iat"), Some(1_697_634_680));
        assert_eq!(claims.seconds("exp"), Some(33_254_540_828));
        assert_eq!(claims.str("payload_hash"), None);
    }

    #[test]
    fn vonage_sdk_vector_fails_with_another_secret() {
        assert_eq!(
            check(VONAGE_TOKEN, "asdf").map(|_| ()),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn rotation_reports_the_generation_that_matched() {
        use std::collections::BTreeMap;
        let map = |v: &str| BTreeMap::from([("k".to_owned(), Secret::new(v))]);
        let secrets = SecretSet::new(map("new-secret"), Some(map(VONAGE_SECRET)));
        let r = req();
        let generation = verify_hs256(
            &r,
            VONAGE_TOKEN.as_bytes(),
            "authorization",
            secrets.accepted("k"),
        )
        .map(|(v, _)| v.generation());
        assert_eq!(generation, Ok(Generation::Previous));
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let claims = serde_json::json!({"iat": 1_700_000_000, "jti": "abc", "f": 1.5});
        let token = sign_hs256(&claims, b"secret");
        let read = check(&token, "secret");
        assert_eq!(read.as_ref().map(|c| c.str("jti")), Ok(Some("abc")));
        assert_eq!(read.as_ref().map(|c| c.seconds("f")), Ok(Some(1)));
        assert_eq!(read.map(|c| c.seconds("jti")), Ok(None));
    }

    #[test]
    fn the_algorithm_is_pinned_to_hs256() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iat":1}"#);
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
            r#"{"alg":"hs256","typ":"JWT"}"#,
            r#"{"typ":"JWT"}"#,
        ] {
            let head = URL_SAFE_NO_PAD.encode(header);
            // Even with a MAC that is right for the signing input, the header refuses it.
            let mac = verify::mac(
                MacAlgorithm::HmacSha256,
                b"secret",
                &[format!("{head}.{payload}").as_bytes()],
            );
            let token = format!("{head}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac));
            assert_eq!(
                check(&token, "secret").map(|_| ()),
                Err(VerifyError::MalformedHeader("authorization")),
                "{header}"
            );
            let unsigned = format!("{head}.{payload}.");
            assert!(check(&unsigned, "secret").is_err(), "{header}");
        }
    }

    #[test]
    fn malformed_tokens_are_named_after_their_source() {
        let good = sign_hs256(&serde_json::json!({"iat": 1}), b"secret");
        let (head_payload, sig) = good.rsplit_once('.').unwrap_or_default();
        let cases = [
            String::new(),
            "a.b".to_owned(),
            format!("{good}.extra"),
            format!("{head_payload}.{sig}="),
            format!("{head_payload}.AAAA"),
            format!("!!.{}", good.split_once('.').map_or("", |(_, r)| r)),
        ];
        for token in cases {
            assert_eq!(
                check(&token, "secret").map(|_| ()),
                Err(VerifyError::MalformedHeader("authorization")),
                "{token}"
            );
        }
        // A payload that is not an object is refused after the MAC matched.
        let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(b"[1,2]");
        let mac = verify::mac(
            MacAlgorithm::HmacSha256,
            b"secret",
            &[format!("{head}.{payload}").as_bytes()],
        );
        let token = format!("{head}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac));
        assert_eq!(
            check(&token, "secret").map(|_| ()),
            Err(VerifyError::MalformedHeader("authorization"))
        );
    }

    #[test]
    fn no_key_is_a_bad_signature() {
        let token = sign_hs256(&serde_json::json!({"iat": 1}), b"secret");
        let none = SecretSet::default();
        let r = req();
        let result = verify_hs256(&r, token.as_bytes(), "authorization", none.accepted("k"));
        assert_eq!(result.map(|_| ()), Err(VerifyError::BadSignature));
    }

    #[test]
    fn an_rs256_token_verifies_under_its_public_key() {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
        let key = RsaKey::from_pem(&RsaKey::generate_pem().unwrap()).unwrap();
        let token = sign_rs256(&serde_json::json!({"iat": 1, "jti": "j"}), &key).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode_json(parts[0].as_bytes()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
        assert_eq!(
            claims_of(token.as_bytes()).map(Value::Object),
            Some(serde_json::json!({"iat": 1, "jti": "j"}))
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key_der());
        let input = format!("{}.{}", parts[0], parts[1]);
        assert!(public.verify(input.as_bytes(), &signature).is_ok());
        assert!(public.verify(b"x.y", &signature).is_err());
    }
}
