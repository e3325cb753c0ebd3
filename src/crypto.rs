//! Provider secrets at rest: XChaCha20-Poly1305 under a master key that never enters the
//! database. A sealed value is `v1.<key id>.<base64(nonce ‖ ciphertext)>`, with the
//! connection id and generation bound as associated data, so a sealed value copied to
//! another connection or generation does not open.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("CALLGATE_MASTER_KEY must be base64 of exactly 32 bytes")]
    BadKey,
    #[error("master key file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("a sealed secret does not open with this master key (wrong key, or tampered data)")]
    Open,
}

/// The key that seals provider secrets.
pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    /// From base64 of 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(B64.decode(encoded.trim()).map_err(|_| KeyError::BadKey)?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyError::BadKey)?;
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let id = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Self {
            key: Zeroizing::new(key),
            id,
        }
    }

    /// Reads the key file in `dir`, creating it (mode 0600) with a fresh random key when
    /// missing: the embedded mode's zero-configuration key.
    pub fn load_or_create_file(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join("master.key");
        let err = |reason: String| KeyError::File {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(&path, &B64.encode(key)).map_err(|e| err(e.to_string()))?;
                Ok(Self::from_bytes(key))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// A short public fingerprint of the key (for rewrap and diagnostics).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.key).into())
    }

    /// Seals `plaintext`, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        format!("v1.{}.{}", self.id, B64.encode(blob))
    }

    /// Opens a value made by [`MasterKey::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(_kid), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Open);
        };
        let blob = B64.decode(body).map_err(|_| KeyError::Open)?;
        if blob.len() < 24 + 16 {
            return Err(KeyError::Open);
        }
        let (nonce, ct) = blob.split_at(24);
        let nonce = XNonce::try_from(nonce).map_err(|_| KeyError::Open)?;
        self.cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Open)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_base64(&B64.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn seals_and_opens_with_the_same_context_only() {
        let k = key();
        let sealed = k.seal(b"token-123", "conn-1/current");
        assert!(!sealed.contains("token-123"));
        assert_eq!(
            k.open(&sealed, "conn-1/current").unwrap().as_slice(),
            b"token-123"
        );
        assert!(k.open(&sealed, "conn-2/current").is_err());
        assert!(k.open(&sealed, "conn-1/previous").is_err());
        let other = MasterKey::from_base64(&B64.encode([8u8; 32])).unwrap();
        assert!(other.open(&sealed, "conn-1/current").is_err());
    }

    #[test]
    fn refuses_bad_keys_and_tampering() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        let k = key();
        let mut sealed = k.seal(b"x", "c");
        sealed.pop();
        sealed.push('A');
        assert!(k.open(&sealed, "c").is_err() || k.open(&sealed, "c").unwrap().as_slice() != b"x");
        assert!(k.open("garbage", "c").is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = MasterKey::load_or_create_file(dir.path()).unwrap();
        let b = MasterKey::load_or_create_file(dir.path()).unwrap();
        assert_eq!(a.id(), b.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
