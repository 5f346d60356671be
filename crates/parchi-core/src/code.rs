//! The keyable alphabet and check character used by human identifiers.
//!
//! Clerks key temporary IDs in by hand, so the alphabet leaves out letters that are read as digits
//! (I, L, O, S) and U, and input is normalised back (`O`→`0`, `I`/`L`→`1`, `S`→`5`, `U`→`V`).
//! 31 symbols remain, a prime, which allows a weighted check character modulo 31:
//!
//! `check = -(Σ value(cᵢ) · 3ⁱ) mod 31`, with `i` counting from 1 at the rightmost data character.
//!
//! Because 31 is prime and every weight is a non-zero residue, any single substitution changes the
//! sum; and an adjacent swap of `a`,`b` changes it by `3ⁱ(3 − 1)(a − b)`, never zero modulo 31 for
//! `a ≠ b`. So the check catches every single-character error and every adjacent transposition
//! (exhaustively tested below).

/// The 31 symbols, in value order.
pub const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKMNPQRTVWXYZ";
const MODULUS: u32 = 31;
const RADIX: u32 = 3;

/// Value of a symbol after normalisation, or `None` if it is not in the alphabet.
pub fn value(c: u8) -> Option<u32> {
    let c = normalise_char(c);
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Folds lower case and the look-alike letters onto the alphabet.
pub fn normalise_char(c: u8) -> u8 {
    match c.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        b'S' => b'5',
        b'U' => b'V',
        other => other,
    }
}

/// The symbol for a value below 31.
pub fn symbol(v: u32) -> char {
    ALPHABET[(v % MODULUS) as usize] as char
}

/// Computes the check symbol over `data` (already normalised alphabet symbols).
/// Returns `None` if a byte is outside the alphabet.
pub fn check_symbol(data: &[u8]) -> Option<char> {
    let mut sum = 0u32;
    let mut weight = RADIX; // 3¹ for the rightmost data character
    for &c in data.iter().rev() {
        sum = (sum + value(c)? * weight) % MODULUS;
        weight = (weight * RADIX) % MODULUS;
    }
    Some(symbol((MODULUS - sum) % MODULUS))
}

/// True if the last byte of `with_check` is the right check symbol for the bytes before it.
pub fn verify(with_check: &[u8]) -> bool {
    match with_check.split_last() {
        Some((&last, data)) if !data.is_empty() => {
            check_symbol(data).is_some_and(|c| value(last) == value(c as u8))
        }
        _ => false,
    }
}

/// Writes `v` as exactly `width` symbols, most significant first. Returns `None` if it does not fit.
pub fn encode_fixed(mut v: u64, width: usize) -> Option<String> {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(v % u64::from(MODULUS)) as usize];
        v /= u64::from(MODULUS);
    }
    if v != 0 {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Reads symbols written by [`encode_fixed`].
pub fn decode(s: &[u8]) -> Option<u64> {
    s.iter().try_fold(0u64, |acc, &c| {
        acc.checked_mul(u64::from(MODULUS))?
            .checked_add(u64::from(value(c)?))
    })
}

/// The number of distinct values `width` symbols can hold.
pub fn capacity(width: u32) -> u64 {
    u64::from(MODULUS).pow(width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_check(data: &[u8]) -> Vec<u8> {
        let mut v = data.to_vec();
        v.push(check_symbol(data).expect("alphabet data") as u8);
        v
    }

    #[test]
    fn every_single_substitution_and_adjacent_swap_is_caught_exhaustively_for_short_codes() {
        // All 3-symbol data strings: 29,791 codes, each with every substitution and swap.
        for a in ALPHABET {
            for b in ALPHABET {
                for c in ALPHABET {
                    let good = with_check(&[*a, *b, *c]);
                    assert!(verify(&good));
                    for pos in 0..good.len() {
                        for s in ALPHABET {
                            if *s != good[pos] {
                                let mut bad = good.clone();
                                bad[pos] = *s;
                                assert!(!verify(&bad), "substitution at {pos} missed");
                            }
                        }
                        if pos + 1 < good.len() && good[pos] != good[pos + 1] {
                            let mut bad = good.clone();
                            bad.swap(pos, pos + 1);
                            assert!(!verify(&bad), "swap at {pos} missed");
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn catches_single_errors_and_adjacent_swaps(
            data in proptest::collection::vec(0usize..31, 1..16),
            pos in any::<proptest::sample::Index>(),
            sub in 1usize..31,
        ) {
            let data: Vec<u8> = data.into_iter().map(|i| ALPHABET[i]).collect();
            let good = with_check(&data);
            prop_assert!(verify(&good));
            let p = pos.index(good.len());
            let mut bad = good.clone();
            let v = value(bad[p]).expect("in alphabet") as usize;
            bad[p] = ALPHABET[(v + sub) % 31];
            prop_assert!(!verify(&bad));
            if p + 1 < good.len() && good[p] != good[p + 1] {
                let mut swapped = good.clone();
                swapped.swap(p, p + 1);
                prop_assert!(!verify(&swapped));
            }
        }

        #[test]
        fn fixed_width_round_trips(v in 0u64..capacity(4)) {
            let s = encode_fixed(v, 4).expect("fits");
            prop_assert_eq!(decode(s.as_bytes()), Some(v));
        }
    }

    #[test]
    fn look_alikes_normalise() {
        assert_eq!(value(b'o'), Some(0));
        assert_eq!(value(b'I'), Some(1));
        assert_eq!(value(b'l'), Some(1));
        assert_eq!(value(b's'), Some(5));
        assert_eq!(value(b'-'), None);
        assert_eq!(encode_fixed(31, 1), None);
    }
}
