//! RSA private keys given as PEM text, and RSASSA-PKCS1-v1_5 with SHA-256 signatures (the
//! `RS256` of JWT, RFC 7518 3.3): what a provider whose REST API takes a token callgate signs
//! (Vonage's application JWT) needs. The arithmetic is aws-lc-rs's, the crypto library the
//! TLS stack already uses.
//!
//! A key is read from a PEM `PRIVATE KEY` block (PKCS#8, what Vonage's dashboard downloads; a
//! PKCS#1 `RSA PRIVATE KEY` converts with `openssl pkcs8 -topk8 -nocrypt`). Whitespace inside
//! the block, and `\n` written as two characters (a key pasted into a one-line field or an
//! environment variable), are ignored. Errors say what is wrong with the text, never a byte of
//! it.

use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// An RSA private key that signs.
pub struct RsaKey(RsaKeyPair);

impl std::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaKey(..)")
    }
}

impl RsaKey {
    /// Reads the PEM `PRIVATE KEY` block of `text`.
    pub fn from_pem(text: &str) -> Result<Self, &'static str> {
        let der = block(text, "PRIVATE KEY")
            .ok_or("it holds no PEM block `-----BEGIN PRIVATE KEY-----` (PKCS#8)")??;
        RsaKeyPair::from_pkcs8(&der)
            .map(Self)
            .map_err(|_| "its PEM block is not an RSA private key of 2048 bits or more")
    }

    /// The RS256 signature of `message`; `None` if the library fails to sign.
    pub fn sign_sha256(&self, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        // PKCS#1 v1.5 signing is deterministic: the generator is never drawn from.
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.0
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
            .ok()?;
        Some(signature)
    }

    /// The public key (PKCS#1 `RSAPublicKey` DER), to verify signatures with.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.0.public_key().as_ref().to_vec()
    }

    /// A new 2048-bit key as PKCS#8 PEM text: a stand-in wherever a real key is not needed
    /// (tests, the provider matrix's example requests). `None` if the library fails.
    pub fn generate_pem() -> Option<String> {
        use aws_lc_rs::encoding::AsDer;
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).ok()?;
        let der = pair.as_der().ok()?;
        let body = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        Some(format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ))
    }
}

/// The DER bytes of the block labelled `label`: `None` when there is no such block,
/// `Some(Err)` when its body is not base64.
fn block(text: &str, label: &str) -> Option<Result<Vec<u8>, &'static str>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let Some(len) = text[start..].find(&end) else {
        return Some(Err("its PEM block has no END line"));
    };
    let body: String = text[start..start + len]
        .replace("\\n", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Some(
        STANDARD
            .decode(body)
            .map_err(|_| "its PEM block is not base64"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    #[test]
    fn a_generated_key_signs_what_its_public_key_verifies() {
        let pem = RsaKey::generate_pem().unwrap();
        let key = RsaKey::from_pem(&pem).unwrap();
        let signature = key.sign_sha256(b"header.payload").unwrap();
        assert_eq!(signature.len(), 256);
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key_der());
        assert!(public.verify(b"header.payload", &signature).is_ok());
        assert!(public.verify(b"header.payloaD", &signature).is_err());
        // Deterministic: the same message, the same signature.
        assert_eq!(key.sign_sha256(b"header.payload"), Some(signature));
    }

    #[test]
    fn a_key_pasted_on_one_line_still_reads() {
        let pem = RsaKey::generate_pem().unwrap();
        let escaped = pem.replace('\n', "\\n");
        let spaced = pem.replace('\n', " ");
        let crlf = pem.replace('\n', "\r\n");
        // A password field drops the line breaks of what is pasted into it.
        let joined = pem.replace('\n', "");
        for text in [escaped, spaced, crlf, joined] {
            assert!(RsaKey::from_pem(&text).is_ok(), "{text:.40}");
        }
    }

    #[test]
    fn what_is_not_a_key_is_refused_without_repeating_it() {
        let pem = RsaKey::generate_pem().unwrap();
        let truncated = pem.replace("-----END PRIVATE KEY-----", "");
        let damaged = pem.replacen("MII", "M*I", 1);
        let short = pem.replacen("MII", "MIJ", 1);
        let cases = [
            "",
            "{private_key}",
            "not a key",
            truncated.as_str(),
            damaged.as_str(),
            short.as_str(),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----\nAAAA",
        ];
        for text in cases {
            let err = RsaKey::from_pem(text).unwrap_err();
            assert!(!err.contains("AAAA") && !err.contains("MII"), "{err}");
        }
    }
}
