//! Wrapping the data key under a key-encryption key: XChaCha20-Poly1305 with a random 192-bit
//! nonce, the slot's kind and the data key's fingerprint as associated data (a slot moved to
//! another kind, or to another key's file, fails to open).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use crate::secret::{DataKey, Kek, Random, hex, unhex, wipe};

/// A data key wrapped under a key-encryption key (hex in the slot file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrapped {
    pub nonce: String,
    pub wrapped: String,
}

fn aad(kind: &str, key_id: &str) -> Vec<u8> {
    format!("parchi key slot v1\0{kind}\0{key_id}").into_bytes()
}

pub(crate) fn wrap(kek: &Kek, key: &DataKey, kind: &str, rng: Random<'_>) -> Wrapped {
    let cipher = XChaCha20Poly1305::new(kek.0.bytes().into());
    let mut nonce = [0u8; 24];
    rng(&mut nonce);
    let aad = aad(kind, &key.id());
    // Encryption with a 32-byte plaintext cannot fail (only lengths past 2^38 bytes do).
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: key.bytes(),
                aad: &aad,
            },
        )
        .unwrap_or_default();
    Wrapped {
        nonce: hex(&nonce),
        wrapped: hex(&ct),
    }
}

/// Unwraps; `None` when the key-encryption key is not the one the slot was made with, or the
/// slot was altered.
pub(crate) fn unwrap(kek: &Kek, w: &Wrapped, kind: &str, key_id: &str) -> Option<DataKey> {
    let nonce = unhex(&w.nonce).filter(|n| n.len() == 24)?;
    let ct = unhex(&w.wrapped)?;
    let cipher = XChaCha20Poly1305::new(kek.0.bytes().into());
    let aad = aad(kind, key_id);
    let plain = cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: &aad,
            },
        )
        .ok()?;
    let key = DataKey::from_bytes(&plain);
    wipe(plain);
    key.filter(|k| k.id() == key_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{Secret32, test_rng};

    #[test]
    fn a_wrapped_key_opens_only_with_its_kek_kind_and_fingerprint() {
        let mut r = test_rng(1);
        let key = DataKey::generate(&mut r);
        let kek = Kek(Secret32::random(&mut r));
        let other = Kek(Secret32::random(&mut r));
        let w = wrap(&kek, &key, "machine", &mut r);
        assert_eq!(unwrap(&kek, &w, "machine", &key.id()), Some(key.clone()));
        assert_eq!(unwrap(&other, &w, "machine", &key.id()), None);
        assert_eq!(unwrap(&kek, &w, "recovery", &key.id()), None);
        assert_eq!(unwrap(&kek, &w, "machine", "0000000000000000"), None);
        let mut bad = w.clone();
        bad.wrapped
            .replace_range(0..2, if &w.wrapped[0..2] == "00" { "01" } else { "00" });
        assert_eq!(unwrap(&kek, &bad, "machine", &key.id()), None);
        assert!(!w.wrapped.contains(&hex(key.bytes())));
    }
}
