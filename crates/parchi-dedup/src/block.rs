//! Blocking: which pairs are worth scoring at all.
//!
//! Every record is filed under a handful of keys; two records are compared only when they share
//! one. The keys are chosen so that each kind of variation a duplicate shows is survived by at
//! least one of them:
//!
//! | key                                   | survives                                   |
//! |---------------------------------------|--------------------------------------------|
//! | mobile                                | any name or age change                      |
//! | ABHA                                  | anything                                    |
//! | given + surname sound keys            | spelling variants, missing age              |
//! | given sound key + birth-year band     | a changed or misspelt surname               |
//! | given letter + surname + band         | initials ("P. Shere"), given-name typos     |
//! | any full name token + guardian's given | initials, given-name typos, surname changes, no age |
//! | guardian's given name and surname + band | a misspelt single-word name ("Jave" / "Javed") |
//! | surname + guardian's initial + band   | a misspelt given name with the guardian written as an initial |
//!
//! Bands are six years wide on two grids offset by three, so two birth years within three years
//! of each other always share a band.

use crate::name::{Kind, NameKey};
use crate::prepare::Prepared;
use crate::text::{hash_bytes, hash_parts};
use crate::Config;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[repr(u8)]
enum Tag {
    Mobile = 1,
    Abha = 2,
    GivenSurname = 3,
    GivenBand = 4,
    LetterSurnameBand = 5,
    TokenGuardian = 6,
    GuardianBand = 7,
    SurnameGuardianLetterBand = 8,
}

const BAND: i32 = 6;

/// An ABHA on more records than this is a placeholder someone typed, not an identity.
const MAX_ABHA_RECORDS: usize = 8;

#[derive(Clone, Copy)]
struct Entry {
    key: u64,
    idx: u32,
    tag: Tag,
}

/// The pairs to score, as `(smaller index, larger index)`, sorted and distinct.
pub struct Blocking {
    pub pairs: Vec<(u32, u32)>,
    pub blocks: usize,
    pub oversized: usize,
}

fn sound(key: &NameKey, i: usize) -> u64 {
    hash_bytes(b'p', key.toks[i].phon.as_bytes())
}

fn keys(p: &Prepared, out: &mut Vec<(u64, Tag)>) {
    if let Some(m) = p.mobile {
        out.push((hash_parts(Tag::Mobile as u8, &[m]), Tag::Mobile));
    }
    if let Some(a) = &p.abha {
        out.push((hash_bytes(Tag::Abha as u8, a.as_bytes()), Tag::Abha));
    }
    let name = &p.name;
    let given_full = name
        .given_full()
        .map(|t| hash_bytes(b'p', t.phon.as_bytes()));
    let surname = name.surname().map(|s| sound(name, s));
    let letter = name.given_letter().map(u64::from);
    let guardian_given = p
        .guardian
        .given_full()
        .map(|t| hash_bytes(b'p', t.phon.as_bytes()))
        .or_else(|| {
            // A guardian written with an initial only ("S/o R. Sharma") still has a letter.
            p.guardian
                .toks
                .iter()
                .find(|t| t.kind == Kind::Initial)
                .map(|t| hash_bytes(b'i', t.text.as_bytes()))
        });
    let bands = p
        .birth_year
        .map(|y| [y.div_euclid(BAND), (y + BAND / 2).div_euclid(BAND) + 100_000]);
    if let (Some(g), Some(s)) = (given_full, surname) {
        out.push((
            hash_parts(Tag::GivenSurname as u8, &[g, s]),
            Tag::GivenSurname,
        ));
    }
    if let (Some(g), Some(bands)) = (given_full, bands) {
        for b in bands {
            out.push((
                hash_parts(Tag::GivenBand as u8, &[g, b as u64]),
                Tag::GivenBand,
            ));
        }
    }
    if let (Some(l), Some(s), Some(bands)) = (letter, surname, bands) {
        for b in bands {
            out.push((
                hash_parts(Tag::LetterSurnameBand as u8, &[l, s, b as u64]),
                Tag::LetterSurnameBand,
            ));
        }
    }
    if let (Some(gg), Some(bands)) = (guardian_given, bands) {
        let gs = p
            .guardian
            .surname()
            .map(|i| sound(&p.guardian, i))
            .unwrap_or(0);
        for b in bands {
            out.push((
                hash_parts(Tag::GuardianBand as u8, &[gg, gs, b as u64]),
                Tag::GuardianBand,
            ));
        }
    }
    let guardian_letter = p.guardian.given_letter().map(u64::from);
    if let (Some(s), Some(gl), Some(bands)) = (surname, guardian_letter, bands) {
        for b in bands {
            out.push((
                hash_parts(Tag::SurnameGuardianLetterBand as u8, &[s, gl, b as u64]),
                Tag::SurnameGuardianLetterBand,
            ));
        }
    }
    if let Some(gg) = guardian_given {
        // Every full token with the guardian: survives initials, a dropped Mohammad, a misspelt
        // given name or a changed surname, as long as the guardian line agrees.
        for t in name.toks.iter().filter(|t| t.kind == Kind::Full).take(3) {
            let tok = hash_bytes(b'p', t.phon.as_bytes());
            out.push((
                hash_parts(Tag::TokenGuardian as u8, &[tok, gg]),
                Tag::TokenGuardian,
            ));
        }
    }
}

/// Files every record under its keys, records block sizes back into `prepared` (mobile and
/// name frequencies, which scoring uses), and lists the pairs to score.
pub fn pairs(prepared: &mut [Prepared], cfg: &Config) -> Blocking {
    let mut entries: Vec<Entry> = Vec::with_capacity(prepared.len() * 9);
    let mut scratch = Vec::with_capacity(12);
    for (idx, p) in prepared.iter().enumerate() {
        let Ok(idx) = u32::try_from(idx) else { break };
        scratch.clear();
        keys(p, &mut scratch);
        entries.extend(scratch.iter().map(|&(key, tag)| Entry { key, idx, tag }));
    }
    entries.sort_unstable_by_key(|e| (e.key, e.tag, e.idx));
    entries.dedup_by_key(|e| (e.key, e.tag, e.idx));

    let mut pairs: Vec<u64> = Vec::new();
    let (mut blocks, mut oversized) = (0usize, 0usize);
    let mut start = 0;
    while start < entries.len() {
        let first = entries[start];
        let end = start
            + entries[start..]
                .iter()
                .take_while(|e| e.key == first.key && e.tag == first.tag)
                .count();
        let block = &entries[start..end];
        start = end;
        let n = block.len();
        match first.tag {
            Tag::Mobile => {
                let count = u32::try_from(n).unwrap_or(u32::MAX);
                for e in block {
                    prepared[e.idx as usize].mobile_count = count;
                }
            }
            Tag::GivenSurname => {
                let count = u32::try_from(n).unwrap_or(u32::MAX);
                for e in block {
                    let p = &mut prepared[e.idx as usize];
                    p.name_count = p.name_count.max(count);
                }
            }
            _ => {}
        }
        if n < 2 {
            continue;
        }
        let cap = match first.tag {
            Tag::Mobile => cfg.max_mobile_records,
            Tag::Abha => MAX_ABHA_RECORDS,
            _ => cfg.max_block,
        };
        if n > cap {
            oversized += 1;
            continue;
        }
        blocks += 1;
        for (i, x) in block.iter().enumerate() {
            for y in &block[i + 1..] {
                // Indices within a block are sorted ascending by the sort key.
                pairs.push((u64::from(x.idx) << 32) | u64::from(y.idx));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    Blocking {
        pairs: pairs
            .into_iter()
            .map(|p| ((p >> 32) as u32, (p & 0xFFFF_FFFF) as u32))
            .collect(),
        blocks,
        oversized,
    }
}
