//! The device's Ed25519 signing key. It is generated at `init` and kept inside the encrypted
//! store (never in a file of its own); the backup feature signs its manifests with it, and
//! anyone holding [`DeviceKey::public`] verifies them with `verify_strict`.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::secret::{Random, hex, unhex};

/// The signing key. `Debug` prints only the public key.
pub struct DeviceKey(SigningKey);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DeviceKey(public {})",
            hex(self.0.verifying_key().as_bytes())
        )
    }
}

impl DeviceKey {
    pub fn generate(rng: Random<'_>) -> DeviceKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng(&mut seed[..]);
        DeviceKey(SigningKey::from_bytes(&seed))
    }

    /// The stored form (hex of the 32-byte seed), to be kept only inside the encrypted store.
    pub fn to_stored(&self) -> Zeroizing<String> {
        Zeroizing::new(hex(&self.0.to_bytes()[..]))
    }

    pub fn from_stored(s: &str) -> Option<DeviceKey> {
        let b = Zeroizing::new(unhex(s)?);
        let seed: [u8; 32] = b.as_slice().try_into().ok()?;
        let k = DeviceKey(SigningKey::from_bytes(&seed));
        let mut seed = seed;
        zeroize::Zeroize::zeroize(&mut seed);
        Some(k)
    }

    pub fn public(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// Signs `bytes` (canonical bytes: the caller decides the encoding, once).
    pub fn sign(&self, bytes: &[u8]) -> Signature {
        self.0.sign(bytes)
    }
}

/// Verifies a signature strictly (no malleable or small-order keys).
pub fn verify(public: &VerifyingKey, bytes: &[u8], sig: &Signature) -> bool {
    public.verify_strict(bytes, sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_the_stored_form_round_trips() {
        let k = DeviceKey::generate(&mut crate::secret::test_rng(1));
        let sig = k.sign(b"manifest");
        assert!(verify(&k.public(), b"manifest", &sig));
        assert!(!verify(&k.public(), b"manifesT", &sig));
        let back = DeviceKey::from_stored(&k.to_stored()).expect("stored");
        assert_eq!(back.public(), k.public());
        assert!(!format!("{k:?}").contains(k.to_stored().as_str()));
    }
}
