//! Random secrets (API tokens, agent links, sessions) and the hashes they are stored as.
//!
//! The secrets are 256 random bits, so a fast hash (SHA-256) is enough to store them: there is
//! nothing to brute-force, and checking a token on every request must stay cheap.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly generated secret: `plain` is shown once, `hash` is what gets stored.
#[derive(Debug, Clone)]
pub struct Secret {
    pub plain: String,
    pub hash: String,
}

/// Generates a secret with a recognisable prefix, e.g. `ntr_…` for API tokens.
pub fn generate(prefix: &str) -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plain = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&plain);
    Secret { plain, hash }
}

/// The stored form of a secret.
pub fn hash(plain: &str) -> String {
    hex::encode(Sha256::digest(plain.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_prefixed_and_hash_stably() {
        let a = generate("ntr_");
        let b = generate("ntr_");
        assert!(a.plain.starts_with("ntr_"));
        assert_ne!(a.plain, b.plain);
        assert_eq!(a.hash, hash(&a.plain));
        assert_ne!(a.hash, a.plain);
        assert_eq!(a.hash.len(), 64);
    }
}
