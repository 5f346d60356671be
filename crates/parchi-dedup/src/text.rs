//! String measures and normalisers that allocate nothing per comparison.
//!
//! Scoring compares millions of token pairs at 250,000 registrations, so the measures here work
//! on byte slices with fixed scratch space instead of the allocating versions a one-off search
//! can afford.

/// Tokens longer than this are compared on their first `MAX_LEN` bytes only. Real name tokens
/// are far shorter; the bound keeps the scratch space on the stack.
const MAX_LEN: usize = 48;

/// Jaro-Winkler similarity of two ASCII strings, 0.0 to 1.0 (prefix scale 0.1, up to 4 letters).
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    let a = &a[..a.len().min(MAX_LEN)];
    let b = &b[..b.len().min(MAX_LEN)];
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut b_used = [false; MAX_LEN];
    let mut a_matched = [0u8; MAX_LEN];
    let mut m = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_used[j] && b[j] == ca {
                b_used[j] = true;
                a_matched[m] = ca;
                m += 1;
                break;
            }
        }
    }
    if m == 0 {
        return 0.0;
    }
    let mut k = 0usize;
    let mut half_transpositions = 0usize;
    for (j, &cb) in b.iter().enumerate() {
        if b_used[j] {
            if a_matched[k] != cb {
                half_transpositions += 1;
            }
            k += 1;
        }
    }
    let mf = m as f64;
    let t = (half_transpositions / 2) as f64;
    let jaro = (mf / a.len() as f64 + mf / b.len() as f64 + (mf - t) / mf) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), stopping early
/// once it exceeds `limit`: returns `limit + 1` then.
pub fn edit_distance_within(a: &[u8], b: &[u8], limit: usize) -> usize {
    let a = &a[..a.len().min(MAX_LEN)];
    let b = &b[..b.len().min(MAX_LEN)];
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    // Three rolling rows (two back, for transpositions; previous; current), rotated by index.
    let mut rows = [[0usize; MAX_LEN + 1]; 3];
    for (j, p) in rows[1].iter_mut().enumerate().take(b.len() + 1) {
        *p = j;
    }
    let mut final_row = 1;
    for i in 1..=a.len() {
        let (two_back, prev, cur) = ((i + 2) % 3, i % 3, (i + 1) % 3);
        rows[cur][0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (rows[prev][j] + 1)
                .min(rows[cur][j - 1] + 1)
                .min(rows[prev][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(rows[two_back][j - 2] + 1);
            }
            rows[cur][j] = v;
            row_min = row_min.min(v);
        }
        if row_min > limit {
            return limit + 1;
        }
        final_row = cur;
    }
    rows[final_row][b.len()].min(limit + 1)
}

/// An Indian mobile number as a number, by the core's rule (`parchi_core::patient::Mobile`:
/// +91 or a leading 0 dropped, ten digits starting 6 to 9), or `None` when the core would not
/// accept it: one rule for a mobile everywhere.
pub fn mobile(s: &str) -> Option<u64> {
    parchi_core::patient::Mobile::parse(s)
        .ok()
        .and_then(|m| m.as_str().parse().ok())
}

/// An ABHA number (14 digits, hyphens and spaces ignored) or an ABHA address (`name@abdm`,
/// lower-cased). `None` for anything too short to identify a person.
pub fn abha(s: &str) -> Option<String> {
    let t = s.trim();
    if t.contains('@') {
        let lower = t.to_lowercase();
        return (lower.len() > 3).then_some(lower);
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    (digits.len() == 14).then_some(digits)
}

/// A six-digit PIN code as a number.
pub fn pincode(s: &str) -> Option<u32> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
    if digits.len() != 6 || digits[0] == b'0' {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
    )
}

/// A place name folded to lower-case letters only, so "New Delhi" and "new-delhi" agree.
pub fn place(s: &str) -> Option<String> {
    let t: String = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    (!t.is_empty()).then_some(t)
}

/// Words that appear in so many addresses that sharing them says nothing.
const ADDRESS_STOP: &[&str] = &[
    "h", "no", "hno", "house", "road", "rd", "street", "st", "marg", "path", "nagar", "colony",
    "chowk", "circle", "ganj", "zila", "near", "opp", "behind", "lane", "gali", "mohalla", "ward",
    "village", "vill", "po", "ps", "post", "dist", "district", "block", "sector", "flat", "plot",
];

/// The address as a sorted set of hashed words (numbers included: a house number is the most
/// telling part of an Indian address).
pub fn address_words(s: &str) -> Vec<u64> {
    let lower = parchi_core::names::transliterate(s);
    let mut out: Vec<u64> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !ADDRESS_STOP.contains(w))
        .map(|w| hash_bytes(0xAD, w.as_bytes()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Jaccard similarity of two sorted, deduplicated sets.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

/// FNV-1a over a tag byte and the bytes, finished with a 64-bit mixer. Deterministic across runs
/// and platforms, which keeps the block order (and so the output order) reproducible.
pub fn hash_bytes(tag: u8, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&tag).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// Combines hashes of several parts into one key.
pub fn hash_parts(tag: u8, parts: &[u64]) -> u64 {
    let mut h = hash_bytes(tag, &[]);
    for &p in parts {
        h = mix(h ^ p.wrapping_add(0x9e37_79b9_7f4a_7c15));
    }
    h
}

/// SplitMix64's finaliser: spreads every input bit over the output.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaro_winkler_agrees_with_the_textbook_values() {
        assert!((jaro_winkler(b"martha", b"marhta") - 0.961).abs() < 0.001);
        assert!((jaro_winkler(b"dixon", b"dicksonx") - 0.813).abs() < 0.001);
        assert_eq!(jaro_winkler(b"abc", b"abc"), 1.0);
        assert_eq!(jaro_winkler(b"abc", b"xyz"), 0.0);
        for (a, b) in [
            ("sunita", "suneeta"),
            ("krish", "krih"),
            ("ramesh", "rakesh"),
        ] {
            let core = parchi_core::names::jaro_winkler(a, b);
            assert!((jaro_winkler(a.as_bytes(), b.as_bytes()) - core).abs() < 1e-12);
        }
    }

    #[test]
    fn edit_distance_counts_transpositions_as_one() {
        assert_eq!(edit_distance_within(b"upma", b"umpa", 2), 1);
        assert_eq!(edit_distance_within(b"krish", b"krih", 2), 1);
        assert_eq!(edit_distance_within(b"anirudh", b"aiirudh", 2), 1);
        assert_eq!(edit_distance_within(b"faris", b"fitan", 2), 3);
        assert_eq!(edit_distance_within(b"same", b"same", 0), 0);
    }

    #[test]
    fn mobiles_normalise_to_ten_digits() {
        assert_eq!(mobile("+91 98765 43210"), Some(9_876_543_210));
        assert_eq!(mobile("09876543210"), Some(9_876_543_210));
        assert_eq!(mobile("9876543210"), Some(9_876_543_210));
        assert_eq!(mobile("12345"), None);
        assert_eq!(mobile("1234567890"), None, "Indian mobiles start 6 to 9");
        // The core's rule, case for case from the table the core and the desktop run.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/field-rules.json"
        );
        let table: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("table")).expect("json");
        for c in table["mobile"].as_array().expect("cases") {
            let input = c["input"].as_str().expect("input");
            assert_eq!(mobile(input).is_some(), c["code"].is_null(), "{input:?}");
        }
    }

    #[test]
    fn abha_and_pin_normalise() {
        assert_eq!(abha("91-1234-5678-9012").as_deref(), Some("91123456789012"));
        assert_eq!(
            abha("Sunita.Devi@ABDM").as_deref(),
            Some("sunita.devi@abdm")
        );
        assert_eq!(abha("123"), None);
        assert_eq!(pincode("800 001"), Some(800_001));
        assert_eq!(pincode("80001"), None);
    }

    #[test]
    fn addresses_compare_on_telling_words() {
        let a = address_words("H.No. 164, Hayre Road");
        let b = address_words("164 Hayre Rd.");
        assert_eq!(jaccard(&a, &b), 1.0);
        let c = address_words("98/14, Dada Street");
        assert_eq!(jaccard(&a, &c), 0.0);
    }
}
