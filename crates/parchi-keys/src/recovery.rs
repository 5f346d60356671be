//! The recovery key: 255 random bits shown once at `init` as 52 characters in groups of four
//! (51 base32 characters and a check character), for the admin's safe. Never stored.
//!
//! Alphabet: Crockford's base32 (`0-9 A-Z` without I, L, O, U); when reading, `O` is taken for
//! `0` and `I`/`L` for `1`, case and separators are ignored. The check character is a weighted
//! sum over GF(32): the data characters weigh α¹, α², …, the check character 1. Every weight is
//! non-zero and neighbours differ, so any single wrong character and any swap of two adjacent
//! characters is caught before anything is tried (tested exhaustively below).
//!
//! From the key, HKDF-SHA256 derives (a) the key-encryption key of the recovery slot and (b) an
//! X25519 secret whose public half (an `age` recipient) goes into the slot file, so a backup can
//! be encrypted to the recovery holder without the counter being able to decrypt it.

use std::str::FromStr;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::secret::{Kek, Random, Secret32};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Data characters (51 × 5 = 255 bits).
const DATA_CHARS: usize = 51;
/// Characters in the text form, without separators.
pub const RECOVERY_KEY_CHARS: usize = DATA_CHARS + 1;

/// The recovery key. `Debug` prints nothing of it; [`RecoveryKey::display`] is the one way to
/// see it (to show it once).
#[derive(Clone)]
pub struct RecoveryKey(Secret32);

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

/// Why a typed recovery key was not accepted (never echoes what was typed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryKeyError {
    #[error("a recovery key has {RECOVERY_KEY_CHARS} characters (13 groups of 4); {0} were given")]
    Length(usize),
    #[error(
        "character {0} of the recovery key is not one it can hold (0-9 and A-Z without I, L, O, U)"
    )]
    Character(usize),
    #[error(
        "the recovery key has a typo (its check character does not match): compare each group with the printed sheet"
    )]
    Check,
}

/// Multiplication in GF(32) modulo x⁵ + x² + 1.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0x20 != 0 {
            a ^= 0b10_0101;
        }
    }
    p & 31
}

/// α^(i+1) for data position i (α = x, a primitive element).
fn weight(i: usize) -> u8 {
    let mut w = 1u8;
    for _ in 0..=i % 31 {
        w = gf_mul(w, 2);
    }
    w
}

fn check_symbol(data: &[u8]) -> u8 {
    data.iter()
        .enumerate()
        .fold(0u8, |acc, (i, &d)| acc ^ gf_mul(weight(i), d))
}

fn symbols(bytes: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(RECOVERY_KEY_CHARS));
    for i in 0..DATA_CHARS {
        let mut v = 0u8;
        for j in 0..5 {
            let bit = i * 5 + j;
            v = v << 1 | (bytes[bit / 8] >> (7 - bit % 8)) & 1;
        }
        out.push(v);
    }
    let c = check_symbol(&out);
    out.push(c);
    out
}

impl RecoveryKey {
    /// A new random recovery key.
    pub fn generate(rng: Random<'_>) -> RecoveryKey {
        let mut b = Zeroizing::new([0u8; 32]);
        rng(&mut b[..]);
        b[31] &= 0xFE; // 255 bits: the last bit is always zero
        RecoveryKey(Secret32::from_array(b))
    }

    /// The key as the admin writes it down: `ABCD-EFGH-…` (13 groups of 4).
    pub fn display(&self) -> Zeroizing<String> {
        let syms = symbols(self.0.bytes());
        let mut s = Zeroizing::new(String::with_capacity(64));
        for (i, v) in syms.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                s.push('-');
            }
            s.push(char::from(ALPHABET[usize::from(*v)]));
        }
        s
    }

    /// Reads a typed key (separators, spaces and case ignored; O read as 0, I and L as 1).
    pub fn parse(text: &str) -> Result<RecoveryKey, RecoveryKeyError> {
        let mut syms = Zeroizing::new(Vec::with_capacity(RECOVERY_KEY_CHARS));
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            let v = ALPHABET
                .iter()
                .position(|&a| char::from(a) == c)
                .ok_or(RecoveryKeyError::Character(syms.len() + 1))?;
            syms.push(v as u8);
        }
        if syms.len() != RECOVERY_KEY_CHARS {
            return Err(RecoveryKeyError::Length(syms.len()));
        }
        if check_symbol(&syms[..DATA_CHARS]) != syms[DATA_CHARS] {
            return Err(RecoveryKeyError::Check);
        }
        let mut b = Zeroizing::new([0u8; 32]);
        for (i, v) in syms[..DATA_CHARS].iter().enumerate() {
            for j in 0..5 {
                if v >> (4 - j) & 1 == 1 {
                    let bit = i * 5 + j;
                    b[bit / 8] |= 1 << (7 - bit % 8);
                }
            }
        }
        Ok(RecoveryKey(Secret32::from_array(b)))
    }

    fn derive(&self, info: &[u8]) -> Secret32 {
        let hk = Hkdf::<Sha256>::new(Some(b"parchi recovery key v1"), self.0.bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 8160: expand cannot fail.
        let _ = hk.expand(info, &mut out[..]);
        Secret32::from_array(out)
    }

    pub(crate) fn kek(&self) -> Kek {
        Kek(self.derive(b"recovery slot kek"))
    }

    /// The recovery holder's X25519 identity (an `age` identity), derived from the key.
    pub fn age_identity(&self) -> Option<age::x25519::Identity> {
        let secret = self.derive(b"x25519 recipient");
        let hrp = bech32::Hrp::parse("age-secret-key-").ok()?;
        let text = Zeroizing::new(
            bech32::encode::<bech32::Bech32>(hrp, secret.bytes())
                .ok()?
                .to_ascii_uppercase(),
        );
        age::x25519::Identity::from_str(&text).ok()
    }

    /// The public half of [`RecoveryKey::age_identity`]: an `age1…` recipient string.
    pub fn recipient(&self) -> Option<String> {
        self.age_identity().map(|i| i.to_public().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> RecoveryKey {
        RecoveryKey::generate(&mut crate::secret::test_rng(u64::from(seed)))
    }

    #[test]
    fn the_text_form_round_trips_and_reads_forgivingly() {
        let k = key(3);
        let shown = k.display();
        assert_eq!(shown.len(), 52 + 12);
        assert_eq!(shown.split('-').count(), 13);
        assert!(shown.split('-').all(|g| g.len() == 4));
        let back = RecoveryKey::parse(&shown).expect("parse");
        assert_eq!(back.0.bytes(), k.0.bytes());
        let sloppy = shown.to_lowercase().replace('-', " ").replace('0', "o");
        let back = RecoveryKey::parse(&sloppy).expect("sloppy");
        assert_eq!(back.0.bytes(), k.0.bytes());
        assert_eq!(format!("{k:?}"), "RecoveryKey(..)");
    }

    #[test]
    fn every_single_error_and_adjacent_swap_is_caught() {
        for seed in 0..8u8 {
            let shown: String = key(seed).display().replace('-', "");
            let chars: Vec<char> = shown.chars().collect();
            for i in 0..chars.len() {
                for &a in ALPHABET {
                    let a = char::from(a);
                    if a == chars[i] {
                        continue;
                    }
                    let mut c = chars.clone();
                    c[i] = a;
                    let s: String = c.into_iter().collect();
                    assert_eq!(RecoveryKey::parse(&s).err(), Some(RecoveryKeyError::Check));
                }
                if i + 1 < chars.len() && chars[i] != chars[i + 1] {
                    let mut c = chars.clone();
                    c.swap(i, i + 1);
                    let s: String = c.into_iter().collect();
                    assert_eq!(RecoveryKey::parse(&s).err(), Some(RecoveryKeyError::Check));
                }
            }
        }
        assert_eq!(
            RecoveryKey::parse("ABCD").err(),
            Some(RecoveryKeyError::Length(4))
        );
        assert_eq!(
            RecoveryKey::parse("AB!D").err(),
            Some(RecoveryKeyError::Character(3))
        );
    }

    #[test]
    fn the_recipient_is_derived_deterministically_and_differs_per_key() {
        let a = key(5).recipient().expect("recipient");
        assert!(a.starts_with("age1"), "{a}");
        assert_eq!(Some(a.clone()), key(5).recipient());
        assert_ne!(Some(a), key(6).recipient());
        assert_ne!(key(5).kek().id(), key(6).kek().id());
    }
}
