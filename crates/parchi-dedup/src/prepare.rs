//! Each record turned, once, into the normalised keys that blocking and scoring use.

use crate::name::{NameKey, Tok};
use crate::text;
use crate::{Config, Record, Sex};
use std::collections::HashMap;

/// Given names common enough in India that a one-letter difference between two of them is two
/// people (Ramesh and Rakesh are brothers, not a slip), even in a scan too small to learn that
/// from its own data.
const COMMON_GIVEN: &[&str] = &[
    "ramesh", "rakesh", "rajesh", "mahesh", "suresh", "naresh", "dinesh", "mukesh", "umesh",
    "ganesh", "lokesh", "kamlesh", "brijesh", "ritesh", "nitesh", "hitesh", "mitesh", "jitesh",
    "ravi", "rani", "raju", "ramu", "sonu", "monu", "golu", "bholu", "pinky", "rinky", "bunty",
    "anil", "sunil", "amit", "sumit", "ankit", "ankita", "anita", "sunita", "sarita", "savita",
    "kavita", "babita", "lalita", "mamta", "samta", "rekha", "lekha", "seema", "reema", "neema",
    "pooja", "puja", "nisha", "usha", "asha", "disha", "manoj", "saroj", "vinod", "pramod",
    "kamal", "komal", "rohit", "mohit", "sohit", "rahul", "rohan", "mohan", "sohan", "gita",
    "sita", "rita", "nita", "mita", "priya", "riya", "diya", "jaya", "maya", "raja", "rajan",
    "sanjay", "ajay", "vijay", "manish", "ashish", "satish", "harish", "girish", "rajiv", "sanjiv",
    "arun", "tarun", "varun", "karan", "kiran", "aman", "naman", "raman", "suman", "sapna",
    "rachna", "rashmi", "reshmi", "laxmi", "shanti", "kanti", "preeti", "jyoti", "salim", "halim",
    "karim", "rahim", "nasir", "basir", "shabana", "farhana", "rehana",
];

/// Address words kept per record: a house number, a lane, a locality and a landmark are plenty.
pub const ADDRESS_WORDS: usize = 6;

/// One record, ready to compare.
#[derive(Clone)]
pub struct Prepared {
    pub name: NameKey,
    pub guardian: NameKey,
    pub sex: Option<Sex>,
    pub birth_year: Option<i32>,
    pub approximate: bool,
    pub mobile: Option<u64>,
    /// How many records in the scan carry this mobile (1 when unknown).
    pub mobile_count: u32,
    /// Hashes of the normalised ABHA number or address, district and state: compared for
    /// equality millions of times, so kept as numbers inside the record.
    pub abha: Option<u64>,
    /// The address's telling words, hashed and sorted (at most [`ADDRESS_WORDS`]).
    pub address: [u64; ADDRESS_WORDS],
    pub address_len: u8,
    pub district: Option<u64>,
    pub state: Option<u64>,
    pub pincode: Option<u32>,
    /// How many records in the scan share this record's given-name and surname sound keys.
    pub name_count: u32,
    /// The share of the scan's records that name the same guardian (0 when none is given).
    pub guardian_share: f64,
}

fn non_empty(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Prepared {
    pub fn new<K>(r: &Record<K>) -> Prepared {
        let mut p = Prepared {
            name: NameKey::new(&r.name),
            guardian: non_empty(&r.guardian_name)
                .map(NameKey::new)
                .unwrap_or_default(),
            sex: r.sex,
            birth_year: r.birth_year,
            approximate: r.birth_approximate,
            mobile: non_empty(&r.mobile).and_then(text::mobile),
            mobile_count: 1,
            abha: non_empty(&r.abha)
                .and_then(text::abha)
                .map(|a| text::hash_bytes(b'a', a.as_bytes())),
            address: [0; ADDRESS_WORDS],
            address_len: 0,
            district: non_empty(&r.district)
                .and_then(text::place)
                .map(|d| text::hash_bytes(b'd', d.as_bytes())),
            state: non_empty(&r.state)
                .and_then(text::place)
                .map(|d| text::hash_bytes(b's', d.as_bytes())),
            pincode: non_empty(&r.pincode).and_then(text::pincode),
            name_count: 1,
            guardian_share: 0.0,
        };
        for t in p.name.toks.iter_mut().chain(p.guardian.toks.iter_mut()) {
            t.common = COMMON_GIVEN.contains(&&*t.text);
        }
        if let Some(a) = non_empty(&r.address) {
            let words = text::address_words(a);
            let n = words.len().min(ADDRESS_WORDS);
            p.address[..n].copy_from_slice(&words[..n]);
            p.address[..n].sort_unstable();
            p.address_len = n as u8;
        }
        p
    }

    pub fn address(&self) -> &[u64] {
        &self.address[..usize::from(self.address_len)]
    }
}

/// Prepares every record (on `cfg.threads` threads) and marks the name tokens that are
/// established in this scan.
pub fn prepare_all<K: Sync>(records: &[Record<K>], cfg: &Config) -> Vec<Prepared> {
    let threads = cfg.threads.max(1);
    let mut out: Vec<Prepared> = if threads == 1 || records.len() < 10_000 {
        records.iter().map(Prepared::new).collect()
    } else {
        let chunk = records.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = records
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(Prepared::new).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    if out.len() != records.len() {
        // A worker panicked (it cannot on valid UTF-8, but never return misaligned data).
        out = records.iter().map(Prepared::new).collect();
    }
    mark_established(&mut out, cfg.established_name_count);
    out
}

/// A token this many times rarer than a spelling one slip away is that spelling's variant.
const SHADOW_FACTOR: u32 = 10;

/// Counts in how many records each token appears (names and guardians' names, once per
/// record) and flags the tokens seen at least `min` times that are not merely a variant of a
/// much commoner spelling.
///
/// In a big scan even a typo recurs: "Manreet" and "Maanpreet" each turn up a few times among
/// thousands of Manpreets. Counting alone would make them two established names, and two
/// registrations of one Manpreet would then look like sisters. A token one edit (or one sound
/// key) away from a spelling ten times commoner is therefore never established.
fn mark_established(all: &mut [Prepared], min: u32) {
    let mut counts: HashMap<u64, u32> = HashMap::with_capacity(all.len() / 4);
    let mut seen: Vec<u64> = Vec::new();
    for p in all.iter() {
        seen.clear();
        seen.extend(p.name.toks.iter().chain(&p.guardian.toks).map(|t| t.hash));
        seen.sort_unstable();
        seen.dedup();
        for h in &seen {
            *counts.entry(*h).or_insert(0) += 1;
        }
    }
    let toks = all
        .iter()
        .flat_map(|p| p.name.toks.iter().chain(&p.guardian.toks));
    let established = established_tokens(&counts, toks, min);
    for p in all.iter_mut() {
        for t in p.name.toks.iter_mut().chain(p.guardian.toks.iter_mut()) {
            t.count = counts.get(&t.hash).copied().unwrap_or(0);
            t.established = established.get(&t.hash).copied().unwrap_or(false);
        }
    }
}

/// Which of `toks` are established names, given in how many records each token (by hash)
/// appears: seen at least `min` times and not merely a variant of a much commoner spelling (see
/// [`mark_established`]). Tokens missing from the answer are not established. The linker calls
/// this with counts from the central index.
pub fn established_tokens<'a>(
    counts: &HashMap<u64, u32>,
    toks: impl IntoIterator<Item = &'a Tok>,
    min: u32,
) -> HashMap<u64, bool> {
    // The vocabulary of tokens common enough to be candidates, with their neighbourhood keys:
    // each one-letter deletion and the sound key. Two tokens one edit apart share a deletion key.
    let mut vocab: HashMap<u64, (u32, Vec<u64>)> = HashMap::new();
    for t in toks {
        let count = counts.get(&t.hash).copied().unwrap_or(0);
        if count < min || t.text.len() < 3 || vocab.contains_key(&t.hash) {
            continue;
        }
        vocab.insert(t.hash, (count, neighbourhood(&t.text, &t.phon)));
    }
    // For every neighbourhood key, the highest count of any token (and which) that has it.
    let mut best: HashMap<u64, (u32, u64)> = HashMap::with_capacity(vocab.len() * 8);
    for (&h, (count, keys)) in &vocab {
        for &k in keys {
            let e = best.entry(k).or_insert((0, 0));
            if *count > e.0 || (*count == e.0 && h < e.1) {
                *e = (*count, h);
            }
        }
    }
    // The deletion keys also need the whole token, so "Manreet" meets "Manpreet" minus its p.
    let shadowed = |h: u64, count: u32, keys: &[u64]| {
        keys.iter().any(|k| {
            best.get(k)
                .is_some_and(|&(c, other)| other != h && c >= count.saturating_mul(SHADOW_FACTOR))
        })
    };
    vocab
        .iter()
        .map(|(&h, (count, keys))| (h, !shadowed(h, *count, keys)))
        .collect()
}

/// Keys two spellings one slip apart share: the token itself, each one-letter deletion, and the
/// sound key.
fn neighbourhood(text: &str, phon: &str) -> Vec<u64> {
    let b = text.as_bytes();
    let mut keys = Vec::with_capacity(b.len() + 2);
    keys.push(text::hash_bytes(b'd', b));
    let mut buf = Vec::with_capacity(b.len());
    for i in 0..b.len() {
        buf.clear();
        buf.extend_from_slice(&b[..i]);
        buf.extend_from_slice(&b[i + 1..]);
        keys.push(text::hash_bytes(b'd', &buf));
    }
    keys.push(text::hash_bytes(b's', phon.as_bytes()));
    keys.sort_unstable();
    keys.dedup();
    keys
}
