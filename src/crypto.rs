//! Secrets: encryption of citizen ID numbers at rest (AES-256-GCM), their keyed blind index
//! (HMAC-SHA256), password hashing (Argon2id) and random session tokens.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::path::Path;

use crate::domain::CitizenId;

type HmacSha256 = Hmac<Sha256>;

/// Format version of an encrypted value: `[1] ++ nonce(12) ++ ciphertext+tag`.
const CIPHERTEXT_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("密钥文件 {path} 无法读取：{reason}")]
    KeyFile { path: String, reason: String },
    #[error("密钥格式错误：应为64位十六进制字符（32字节）")]
    KeyFormat,
    #[error("加密数据无法解密（密钥不符或数据损坏）")]
    Decrypt,
    #[error("密码处理失败")]
    Password,
}

/// The keys derived from the one master secret of an installation.
#[derive(Clone)]
pub struct Keys {
    cipher: Aes256Gcm,
    index_key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(…)")
    }
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(master)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(label);
    mac.finalize().into_bytes().into()
}

impl Keys {
    pub fn from_master(master: &[u8; 32]) -> Self {
        let enc = derive(master, b"dengji citizen-id aes-256-gcm v1");
        let cipher = Aes256Gcm::new_from_slice(&enc)
            .unwrap_or_else(|_| unreachable!("32 bytes is an AES-256 key"));
        Self {
            cipher,
            index_key: derive(master, b"dengji citizen-id blind-index v1"),
        }
    }

    /// Parse a master secret written as 64 hex characters.
    pub fn from_hex(hex_str: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(hex_str.trim()).map_err(|_| CryptoError::KeyFormat)?;
        let master: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::KeyFormat)?;
        Ok(Self::from_master(&master))
    }

    /// Load the master secret from `path`, creating it with a fresh random secret (mode 0600)
    /// when the file does not exist. Returns whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), CryptoError> {
        let err = |e: std::io::Error| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::from_hex(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut master = [0u8; 32];
                rand::rng().fill_bytes(&mut master);
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                write_private(path, &hex::encode(master)).map_err(err)?;
                Ok((Self::from_master(&master), true))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Encrypt a citizen ID number with a fresh random nonce.
    pub fn encrypt_id(&self, id: &CitizenId) -> Vec<u8> {
        self.encrypt_bytes(id.as_str().as_bytes())
    }

    /// Decrypt a value written by [`Keys::encrypt_id`].
    pub fn decrypt_id(&self, data: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt_bytes(data)?).map_err(|_| CryptoError::Decrypt)
    }

    /// Encrypt any personal data (an uploaded file, say) with a fresh random nonce.
    pub fn encrypt_bytes(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plain)
            .unwrap_or_else(|_| unreachable!("AES-GCM encrypts anything below 64 GiB"));
        let mut out = Vec::with_capacity(1 + 12 + sealed.len());
        out.push(CIPHERTEXT_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypt a value written by [`Keys::encrypt_bytes`].
    pub fn decrypt_bytes(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if data.len() < 13 || data[0] != CIPHERTEXT_VERSION {
            return Err(CryptoError::Decrypt);
        }
        let nonce: [u8; 12] = data[1..13].try_into().map_err(|_| CryptoError::Decrypt)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), &data[13..])
            .map_err(|_| CryptoError::Decrypt)
    }

    /// The keyed blind index of an ID number: equal numbers give equal indexes, and nobody
    /// without the key can test a guess against the column.
    pub fn id_index(&self, id: &CitizenId) -> String {
        let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(&self.index_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(id.as_str().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    crate::private_file::create_new(path)?.write_all(text.as_bytes())
}

/// Hash a password with Argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| CryptoError::Password)
}

/// Check a password against a stored PHC string; a malformed hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A random token of 32 bytes, URL-safe base64 without padding.
pub fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token, hex: what the database keeps instead of the token itself.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn id_round_trip_and_index() {
        let keys = Keys::from_master(&[7u8; 32]);
        let id = CitizenId::parse("11010519491231002X", date!(2026 - 01 - 01)).unwrap();
        let a = keys.encrypt_id(&id);
        let b = keys.encrypt_id(&id);
        assert_ne!(a, b, "fresh nonce per value");
        assert_eq!(keys.decrypt_id(&a).unwrap(), "11010519491231002X");
        assert_eq!(keys.id_index(&id), keys.id_index(&id));
        let other = Keys::from_master(&[8u8; 32]);
        assert!(other.decrypt_id(&a).is_err());
        assert_ne!(other.id_index(&id), keys.id_index(&id));
        let mut tampered = a.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(keys.decrypt_id(&tampered).is_err());
        assert!(keys.decrypt_id(&[]).is_err());
    }

    #[test]
    fn passwords() {
        let h = hash_password("正确的密码1").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("正确的密码1", &h));
        assert!(!verify_password("错误的密码", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let (k1, created) = Keys::load_or_create(&path).unwrap();
        assert!(created);
        let (k2, created) = Keys::load_or_create(&path).unwrap();
        assert!(!created);
        let id = CitizenId::parse("440304198507151239", date!(2026 - 01 - 01)).unwrap();
        assert_eq!(k1.id_index(&id), k2.id_index(&id));
        std::fs::write(dir.path().join("bad.key"), "zz").unwrap();
        assert!(matches!(
            Keys::load_or_create(&dir.path().join("bad.key")),
            Err(CryptoError::KeyFormat)
        ));
    }
}
