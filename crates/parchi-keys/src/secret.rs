//! Secret byte strings: the data key and key-encryption keys. They wipe themselves when dropped
//! and their `Debug` prints nothing of them.

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Fills a buffer with random bytes (the caller's source: the OS in production, a seeded one in
/// tests). Everything in this crate that needs randomness takes one.
pub type Random<'a> = &'a mut dyn FnMut(&mut [u8]);

/// 32 secret bytes that are wiped on drop.
#[derive(Clone)]
pub(crate) struct Secret32(Zeroizing<[u8; 32]>);

impl Secret32 {
    pub(crate) fn random(rng: Random<'_>) -> Secret32 {
        let mut b = Zeroizing::new([0u8; 32]);
        rng(&mut b[..]);
        Secret32(b)
    }

    pub(crate) fn from_array(b: Zeroizing<[u8; 32]>) -> Secret32 {
        Secret32(b)
    }

    pub(crate) fn from_slice(b: &[u8]) -> Option<Secret32> {
        let mut out = Zeroizing::new([0u8; 32]);
        if b.len() != 32 {
            return None;
        }
        out.copy_from_slice(b);
        Some(Secret32(out))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The installation's data key: the raw 256-bit SQLCipher key of its database. It never leaves
/// the process in clear; on disk it exists only wrapped in key slots.
#[derive(Clone)]
pub struct DataKey(pub(crate) Secret32);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({})", self.id())
    }
}

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        // Not secret-dependent in timing beyond equality of fingerprints.
        self.id() == other.id()
    }
}

impl DataKey {
    /// A new random data key.
    pub fn generate(rng: Random<'_>) -> DataKey {
        DataKey(Secret32::random(rng))
    }

    /// A data key from its 32 bytes (tests, and the escrow holder's recovery path).
    pub fn from_bytes(bytes: &[u8]) -> Option<DataKey> {
        Secret32::from_slice(bytes).map(DataKey)
    }

    /// A public fingerprint of the key (16 hex digits of a domain-separated SHA-256): tells
    /// keys apart in slot files and `Debug` output without revealing anything usable.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"parchi data key id v1\0");
        h.update(self.0.bytes());
        hex(&h.finalize()[..8])
    }

    /// The value of `PRAGMA key` / `PRAGMA rekey`: `"x'…'"`, a raw key (no key derivation at
    /// open). Wiped when dropped.
    pub fn pragma_literal(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(70));
        s.push_str("\"x'");
        push_hex(&mut s, self.0.bytes());
        s.push_str("'\"");
        s
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        self.0.bytes()
    }
}

/// A key-encryption key: what a slot wraps the data key with.
#[derive(Clone)]
pub(crate) struct Kek(pub(crate) Secret32);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// A public fingerprint, so a slot says which machine key it needs.
    pub(crate) fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"parchi kek id v1\0");
        h.update(self.0.bytes());
        hex(&h.finalize()[..8])
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    push_hex(&mut s, b);
    s
}

fn push_hex(s: &mut String, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for x in b {
        s.push(char::from(HEX[usize::from(x >> 4)]));
        s.push(char::from(HEX[usize::from(x & 15)]));
    }
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Wipes a byte buffer (for plaintexts that held a key).
pub(crate) fn wipe(mut v: Vec<u8>) {
    v.zeroize();
}

/// A seeded random source for tests (xorshift64; not for keys outside tests).
#[cfg(test)]
pub(crate) fn test_rng(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move |b: &mut [u8]| {
        for x in b {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *x = (s >> 24) as u8;
        }
    }
}
