//! Comparing two Indian names the way a registration clerk would judge them.
//!
//! Tokens come from [`parchi_core::names::tokens`] (Indic scripts transliterated, honorifics
//! dropped, Mohd/Md → muhammad, Kr → kumar, Pd → prasad). On top of that this module knows:
//!
//! - **fillers**: Kumar, Kumari, Devi, Prasad, Bai, Ben, Bibi and Muhammad are often written on
//!   one slip and left off the next ("Ekantika Devi Yadav" / "Ekantika Yadav"), so a missing filler
//!   costs almost nothing and a filler never counts as the person's given name;
//! - **initials**: "P. Shere" may be "Pallavi Shere": an initial matches any token starting with
//!   that letter, for less credit than the full token;
//! - **spelling variants**: tokens with the same sound key (Suneeta/Sunita, Vijay/Bijay,
//!   Brinnda/Brinda) or one slip apart (Krih/Krish, Umpa/Upma) match;
//! - **real but different names**: Ramesh and Rakesh are one letter apart, and are also two
//!   brothers. When both spellings are *established* (seen several times in the data being
//!   scanned) and do not share a sound key, they are two names, not a typo;
//! - **order**: tokens are aligned regardless of order ("Sharma Ram Kumar").
//!
//! The comparison reports a similarity and whether the names *conflict*: a name token on each
//! side that matches nothing on the other (Faris Rao / Fitan Rao). A conflict is what separates
//! siblings and namesakes that share a surname, so it holds a pair back from automatic merging.

use crate::text::{edit_distance_within, hash_bytes, jaro_winkler};
use parchi_core::names;

/// Tokens that add little to who a person is and are often dropped or abbreviated.
const FILLERS: &[&str] = &[
    "kumar", "kumari", "devi", "prasad", "bai", "ben", "bibi", "muhammad",
];

/// What role a token plays in the name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A full name token (given name, middle name or surname).
    Full,
    /// A single letter standing for a name.
    Initial,
    /// Kumar, Devi, Prasad …: optional, weak.
    Filler,
}

/// One token of a name with its precomputed keys.
#[derive(Clone)]
pub struct Tok {
    pub text: Box<str>,
    pub phon: Box<str>,
    pub kind: Kind,
    /// Hash of the text, used for frequency counting.
    pub hash: u64,
    /// In how many records of the scan this token appears (names and guardians' names).
    pub count: u32,
    /// Seen often enough in the scanned data to be a real name rather than a typo.
    pub established: bool,
    /// On the built-in list of common given names.
    pub common: bool,
}

impl Tok {
    fn first(&self) -> u8 {
        self.text.as_bytes().first().copied().unwrap_or(b'?')
    }

    fn weight(&self) -> f64 {
        match self.kind {
            Kind::Full => 1.0,
            Kind::Initial => 0.6,
            Kind::Filler => 0.12,
        }
    }
}

/// A name prepared for comparison and blocking.
#[derive(Clone, Default)]
pub struct NameKey {
    pub toks: Vec<Tok>,
}

impl NameKey {
    pub fn new(raw: &str) -> NameKey {
        let toks = names::tokens(raw)
            .into_iter()
            .map(|t| {
                // Kumari is Kumar's feminine, and "Kr" abbreviates both.
                let t = if t == "kumari" { "kumar".to_owned() } else { t };
                // Misspellings of Muhammad the core's list does not know (Mhoammad, Mohamad).
                let t = if t.len() >= 5 && t.starts_with('m') && names::phonetic(&t) == "md" {
                    "muhammad".to_owned()
                } else {
                    t
                };
                let kind = if t.len() == 1 {
                    Kind::Initial
                } else if FILLERS.contains(&t.as_str()) {
                    Kind::Filler
                } else {
                    Kind::Full
                };
                let phon = if kind == Kind::Initial {
                    t.clone()
                } else {
                    names::phonetic(&t)
                };
                Tok {
                    hash: hash_bytes(b'n', t.as_bytes()),
                    text: t.into_boxed_str(),
                    phon: phon.into_boxed_str(),
                    kind,
                    count: 0,
                    established: false,
                    common: false,
                }
            })
            .collect();
        NameKey { toks }
    }

    pub fn is_empty(&self) -> bool {
        self.toks.is_empty()
    }

    /// Index of the given name: the first token that is not a filler (or the first token when
    /// the name is all fillers, as in "Devi").
    pub fn given(&self) -> Option<usize> {
        self.toks
            .iter()
            .position(|t| t.kind != Kind::Filler)
            .or_else(|| (!self.toks.is_empty()).then_some(0))
    }

    /// The first full (not initial, not filler) token: the given name when there is one, else
    /// the surname ("R. Kumar Bail" → bail), so single-name records still have a sound key.
    pub fn given_full(&self) -> Option<&Tok> {
        self.toks.iter().find(|t| t.kind == Kind::Full)
    }

    /// Index of the surname: the last full token after the given name, or failing that the last
    /// filler after it ("Tripti Devi Devi").
    pub fn surname(&self) -> Option<usize> {
        let g = self.given()?;
        let after = || self.toks.iter().enumerate().skip(g + 1).rev();
        after()
            .find(|(_, t)| t.kind == Kind::Full)
            .or_else(|| after().find(|(_, t)| t.kind == Kind::Filler))
            .map(|(i, _)| i)
    }

    /// The letter of the given name (an initial or a full name's first letter).
    pub fn given_letter(&self) -> Option<u8> {
        self.given().map(|g| self.toks[g].first())
    }
}

/// The outcome of comparing two names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NameMatch {
    /// 0.0 (nothing alike) to 1.0 (same tokens), over all tokens of both names.
    pub similarity: f64,
    /// How alike the tokens that were paired up are (1.0 when there were none to pair): a name
    /// with a dropped surname is a perfect match on what it has.
    pub matched_similarity: f64,
    /// Significant tokens present on one side only while the other side has nothing left over
    /// (a dropped surname or middle name).
    pub missing: u32,
    /// Every token of both sides is identical (fillers and order aside).
    pub exact: bool,
    /// A name token on each side matched nothing on the other: two different names.
    pub conflict: bool,
    /// A conflict between two spellings that are both established names (Archana / Anita,
    /// Ramesh / Rakesh): certainly two people, not a garbled record.
    pub distinct: bool,
    /// Some token matched only through an initial.
    pub via_initial: bool,
    /// At least one pair of tokens matched.
    pub any_match: bool,
    /// In a conflict, how alike the closest pair of unmatched tokens is: "Kaaja" / "Kajal" is
    /// close (a garbled record, perhaps), "Faris" / "Fitan" is not.
    pub nearest_unmatched: f64,
}

impl NameMatch {
    const NONE: NameMatch = NameMatch {
        similarity: 0.0,
        matched_similarity: 0.0,
        missing: 0,
        exact: false,
        conflict: false,
        distinct: false,
        via_initial: false,
        any_match: false,
        nearest_unmatched: 0.0,
    };
}

/// Below this a token pair is not considered the same token.
const TOKEN_MATCH: f64 = 0.8;

/// Whether two first letters can begin spellings of one name: the same letter, two vowels, or a
/// pair Indian transliteration swaps (Vijay/Bijay/Wijay, Kamal/Qamar, Zaheer/Jaheer,
/// Yamuna/Jamuna, Phool/Fool).
fn first_letters_compatible(a: u8, b: u8) -> bool {
    const GROUPS: &[&[u8]] = &[b"aeiou", b"vwb", b"ckq", b"zjy", b"pf"];
    a == b || GROUPS.iter().any(|g| g.contains(&a) && g.contains(&b))
}

/// Similarity of two tokens, 0.0 to 1.0.
pub fn token_similarity(x: &Tok, y: &Tok) -> f64 {
    if x.text == y.text {
        return 1.0;
    }
    match (x.kind, y.kind) {
        (Kind::Initial, Kind::Initial) => return 0.0,
        (Kind::Initial, _) | (_, Kind::Initial) => {
            return if x.first() == y.first() { 0.85 } else { 0.0 };
        }
        (Kind::Filler, Kind::Filler) => return 0.0,
        _ => {}
    }
    let (a, b) = (x.text.as_bytes(), y.text.as_bytes());
    let jw = jaro_winkler(a, b);
    let same_start = first_letters_compatible(x.first(), y.first());
    if x.phon == y.phon && same_start {
        // A spelling variant: Suneeta/Sunita, Vijay/Bijay, Brinnda/Brinda.
        return jw.max(0.9);
    }
    let one_slip = a.len().min(b.len()) >= 3
        && a.len().abs_diff(b.len()) <= 1
        && edit_distance_within(a, b, 1) <= 1;
    let mut s = jw * 0.95;
    if one_slip {
        s = s.max(0.86);
    }
    if !same_start {
        // Clerks seldom change the first letter, and names that differ only there (Sonu/Monu)
        // are often siblings' rhyming names. A dropped or swapped first letter (Haankar for
        // Shaankar, Uhssain for Hussain) is a slip, though: the rest does not line up.
        let rhyme = a.get(1..) == b.get(1..);
        if rhyme || !one_slip {
            s *= 0.85;
        }
    }
    if two_real_names(x, y) {
        // Both spellings are real names (Ramesh/Rakesh): two names, not a slip.
        s = s.min(0.6);
    }
    s
}

/// A typo is much rarer than the name it garbles; two spellings that are both common in the scan
/// (the rarer at least this share of the commoner) are both real names.
const REAL_NAME_RATIO: f64 = 0.05;

/// Whether a token is a real name in this scan (or on the built-in list).
fn is_real(t: &Tok) -> bool {
    t.common || t.established
}

/// Whether two different spellings are two real names rather than a name and its typo.
fn two_real_names(x: &Tok, y: &Tok) -> bool {
    if x.common && y.common {
        return true;
    }
    if !(x.established && y.established) {
        return false;
    }
    let (lo, hi) = (x.count.min(y.count), x.count.max(y.count));
    hi > 0 && f64::from(lo) / f64::from(hi) >= REAL_NAME_RATIO
}

/// What the alignment left unmatched on one side.
struct Left {
    /// Significant tokens left unmatched.
    significant: u32,
    /// Some significant leftover is an established name.
    real: bool,
    /// Total weight of the name's tokens.
    weight: f64,
}

/// A filler is significant when it is all the name has besides one other token: in
/// "Mohammad Keer" the Mohammad is the given name, not an ornament.
fn leftovers(key: &NameKey, used: &[bool]) -> Left {
    let non_fillers = key.toks.iter().filter(|t| t.kind != Kind::Filler).count();
    let mut left = Left {
        significant: 0,
        real: false,
        weight: 0.0,
    };
    for (t, &u) in key.toks.iter().zip(used) {
        left.weight += t.weight();
        if !u && (t.kind != Kind::Filler || non_fillers <= 1) {
            left.significant += 1;
            left.real |= t.kind != Kind::Initial && is_real(t);
        }
    }
    left
}

/// A direct-mapped cache of token similarities for one scan. Names repeat endlessly in a
/// register (every Sunita meets every Suneeta), so most token pairs were seen before.
pub struct SimCache {
    slots: Vec<(u64, f32)>,
    mask: usize,
}

impl SimCache {
    /// A cache of `2^bits` slots (0 bits: no caching).
    pub fn new(bits: u32) -> SimCache {
        let size = if bits == 0 { 0 } else { 1usize << bits.min(24) };
        SimCache {
            slots: vec![(0, 0.0); size],
            mask: size.saturating_sub(1),
        }
    }

    /// [`token_similarity`], remembered.
    pub fn similarity(&mut self, x: &Tok, y: &Tok) -> f64 {
        if self.slots.is_empty() {
            return token_similarity(x, y);
        }
        let (lo, hi) = (x.hash.min(y.hash), x.hash.max(y.hash));
        // Zero marks an empty slot.
        let key = crate::text::mix(lo ^ hi.rotate_left(29)) | 1;
        let slot = &mut self.slots[key as usize & self.mask];
        if slot.0 == key {
            return f64::from(slot.1);
        }
        let s = token_similarity(x, y);
        *slot = (key, s as f32);
        f64::from(s as f32)
    }
}

/// [`compare_cached`] without a cache.
#[cfg(test)]
pub fn compare(a: &NameKey, b: &NameKey) -> NameMatch {
    compare_cached(a, b, &mut SimCache::new(0))
}

/// Compares two names token by token (see the module docs), remembering token similarities in
/// `cache`.
pub fn compare_cached(a: &NameKey, b: &NameKey, cache: &mut SimCache) -> NameMatch {
    let (n, m) = (a.toks.len(), b.toks.len());
    if n == 0 || m == 0 {
        return NameMatch::NONE;
    }
    // Names have a handful of tokens; anything longer is compared on its first eight.
    const MAX: usize = 8;
    let (n, m) = (n.min(MAX), m.min(MAX));
    let mut sims = [[0.0f64; MAX]; MAX];
    for (row, x) in sims.iter_mut().zip(&a.toks[..n]) {
        for (cell, y) in row.iter_mut().zip(&b.toks[..m]) {
            *cell = cache.similarity(x, y);
        }
    }
    let mut a_used = [false; MAX];
    let mut b_used = [false; MAX];
    let mut matched_weight = 0.0;
    let mut paired_weight = 0.0;
    let mut exact = true;
    let mut via_initial = false;
    // Greedy best-first alignment: fine for names of a few tokens, and deterministic (ties go
    // to the earlier token).
    loop {
        let mut best: Option<(usize, usize, f64)> = None;
        for i in (0..n).filter(|&i| !a_used[i]) {
            for j in (0..m).filter(|&j| !b_used[j]) {
                let s = sims[i][j];
                if s >= TOKEN_MATCH && best.is_none_or(|(_, _, bs)| s > bs) {
                    best = Some((i, j, s));
                }
            }
        }
        let Some((i, j, s)) = best else { break };
        a_used[i] = true;
        b_used[j] = true;
        let (x, y) = (&a.toks[i], &b.toks[j]);
        let w = x.weight() + y.weight();
        matched_weight += s * w;
        paired_weight += w;
        if s < 1.0 {
            exact = false;
        }
        if x.kind == Kind::Initial || y.kind == Kind::Initial {
            via_initial = true;
        }
    }
    let la = leftovers(a, &a_used[..n]);
    let lb = leftovers(b, &b_used[..m]);
    let mut nearest_unmatched = 0.0f64;
    for i in (0..n).filter(|&i| !a_used[i]) {
        for j in (0..m).filter(|&j| !b_used[j]) {
            nearest_unmatched = nearest_unmatched.max(sims[i][j]);
        }
    }
    let total_weight = la.weight + lb.weight;
    let conflict = la.significant > 0 && lb.significant > 0;
    if la.significant > 0 || lb.significant > 0 {
        exact = false;
    }
    NameMatch {
        similarity: if total_weight > 0.0 {
            (matched_weight / total_weight).clamp(0.0, 1.0)
        } else {
            0.0
        },
        matched_similarity: if paired_weight > 0.0 {
            matched_weight / paired_weight
        } else {
            0.0
        },
        missing: if conflict {
            0
        } else {
            la.significant + lb.significant
        },
        exact,
        conflict,
        distinct: conflict && la.real && lb.real,
        via_initial,
        any_match: paired_weight > 0.0,
        nearest_unmatched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> NameMatch {
        compare(&NameKey::new(a), &NameKey::new(b))
    }

    #[test]
    fn mohd_and_mohammad_are_one_name() {
        for v in ["Mohd Salim", "Md. Salim", "Mohammed Salim", "M. Salim"] {
            let r = cmp("Mohammad Salim", v);
            assert!(r.similarity > 0.9 && !r.conflict, "{v}: {r:?}");
        }
    }

    #[test]
    fn kr_and_kumar_kumari_are_one_name() {
        let r = cmp("Tanmayi Kumari Mitra", "Tanmayi Kr Mitra");
        assert!(r.exact, "{r:?}");
        let r = cmp("Jeremiah Kr Natt", "Jeremiah Kumar Natt");
        assert!(r.exact, "{r:?}");
    }

    #[test]
    fn initials_match_the_full_name_for_less() {
        let r = cmp("P. Shere", "Pallavi Shere");
        assert!(r.via_initial && !r.conflict && r.similarity > 0.9, "{r:?}");
        let r = cmp("R. K. Sharma", "Ram Kumar Sharma");
        assert!(!r.conflict && r.similarity > 0.9, "{r:?}");
        let r = cmp("A. Luthra", "Bimla Luthra");
        assert!(r.conflict, "a different initial is a different name: {r:?}");
    }

    #[test]
    fn dropped_vowels_doubled_letters_and_slips_match() {
        for (a, b) in [
            ("Krishna Kumar Sachar", "Krshna Kuamr Schar"),
            ("Pallavi Devi Mammen", "Pallavi Devi Mmmen"),
            ("Brinda Sani", "Brinnda Sani"),
            ("Anirudh Pal", "Aiirudh Pal"),
            ("Upma Kumari Panchal", "Umpa Kumari Pannchal"),
            ("Suneeta Devi", "Sunita Devi"),
            ("Ekantika Devi Yadav", "Ekantika Yadav"),
        ] {
            let r = cmp(a, b);
            assert!(!r.conflict && r.similarity > 0.85, "{a} / {b}: {r:?}");
        }
    }

    #[test]
    fn different_given_names_with_one_surname_conflict() {
        for (a, b) in [
            ("Faris Rao", "Fitan Rao"),
            ("Sonu Yadav", "Monu Yadav"),
            ("Gagan Keer", "Mohammad Keer"),
        ] {
            let r = cmp(a, b);
            assert!(r.conflict, "{a} / {b}: {r:?}");
        }
    }

    #[test]
    fn established_names_one_letter_apart_are_two_names() {
        let mut a = NameKey::new("Ramesh Sharma");
        let mut b = NameKey::new("Rakesh Sharma");
        assert!(!compare(&a, &b).conflict, "unknown names: could be a slip");
        for t in a.toks.iter_mut().chain(b.toks.iter_mut()) {
            t.established = true;
            t.count = 40;
        }
        assert!(compare(&a, &b).conflict, "both real names: brothers");
    }
}
