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
//! | given sound key + band + PIN          | a changed or misspelt surname               |
//! | given letter + surname + band         | initials ("P. Shere"), given-name typos     |
//! | any full name token + guardian's given + sex | initials, given-name typos, surname changes, no age |
//! | guardian's given name and surname + band | a misspelt single-word name ("Jave" / "Javed") |
//! | surname + guardian's initial + band   | a misspelt given name with the guardian written as an initial |
//!
//! Bands are six years wide on two grids offset by three, so two birth years within three years
//! of each other always share a band. Band keys include the sex.

use crate::Config;
use crate::name::{Kind, NameKey};
use crate::prepare::Prepared;
use crate::text::{hash_bytes, hash_parts};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[repr(u8)]
pub(crate) enum Tag {
    Mobile = 1,
    Abha = 2,
    GivenSurname = 3,
    GivenBand = 4,
    LetterSurnameBand = 5,
    TokenGuardian = 6,
    GuardianBand = 7,
    SurnameGuardianLetterBand = 8,
    /// Counts how many records name this guardian; never scored as a block (far too broad).
    GuardianName = 9,
    /// Linking only: the given name's sound key or a one-deletion neighbour of it, with the
    /// birth-year band and the place.
    GivenDeletionBand = 10,
}

const BAND: i32 = 6;

/// An ABHA on more records than this is a placeholder someone typed, not an identity.
pub(crate) const MAX_ABHA_RECORDS: usize = 8;

#[derive(Clone, Copy)]
struct Entry {
    key: u64,
    idx: u32,
    tag: Tag,
}

/// The blocks to score, and for each record the blocks it is in.
///
/// Pairs are scored block by block, so a block's few records stay in cache while all their pairs
/// are compared (a flat list of 15 million pairs sorted by index would fetch the second record of
/// nearly every pair from memory). A pair that shares several blocks is scored only in the first
/// of them, which [`Plan::first_shared_block`] tells.
pub struct Plan {
    /// Record indices, block after block, ascending within a block.
    members: Vec<u32>,
    /// Each scored block as a range into `members`, in key order.
    blocks: Vec<(u32, u32)>,
    /// For each record, a range into `record_blocks`.
    record_offsets: Vec<u32>,
    /// The scored blocks each record is in, ascending.
    record_blocks: Vec<u32>,
    pub oversized: usize,
}

impl Plan {
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    pub fn block(&self, j: usize) -> &[u32] {
        let (s, e) = self.blocks[j];
        &self.members[s as usize..e as usize]
    }

    /// Number of pairs in a block (a measure of its scoring work).
    pub fn block_pairs(&self, j: usize) -> usize {
        let n = self.block(j).len();
        n * n.saturating_sub(1) / 2
    }

    fn blocks_of(&self, r: u32) -> &[u32] {
        let r = r as usize;
        &self.record_blocks[self.record_offsets[r] as usize..self.record_offsets[r + 1] as usize]
    }

    /// The first scored block two records share.
    pub fn first_shared_block(&self, x: u32, y: u32) -> Option<u32> {
        let (a, b) = (self.blocks_of(x), self.blocks_of(y));
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => return Some(a[i]),
            }
        }
        None
    }
}

fn sound(key: &NameKey, i: usize) -> u64 {
    hash_bytes(b'p', key.toks[i].phon.as_bytes())
}

/// Where the person lives: the PIN, or failing that the district.
fn place(p: &Prepared) -> u64 {
    p.pincode.map(u64::from).or(p.district).unwrap_or(0)
}

/// The two birth-year bands of a record, with its sex. Band keys carry the sex: they are the
/// broad keys, and a pair of different sex is never proposed for merging (the narrow keys still
/// meet a sex typed wrongly).
fn bands(p: &Prepared) -> Option<[u64; 2]> {
    let sex = sex_bits(p);
    p.birth_year.map(|y| {
        [
            i64::from(y).div_euclid(i64::from(BAND)) as u64 ^ sex,
            ((i64::from(y) + i64::from(BAND / 2)).div_euclid(i64::from(BAND)) + (1 << 33)) as u64
                ^ sex,
        ]
    })
}

fn sex_bits(p: &Prepared) -> u64 {
    (match p.sex {
        Some(crate::Sex::Male) => 1u64,
        Some(crate::Sex::Female) => 2,
        Some(crate::Sex::Other) => 3,
        None => 0,
    }) << 40
}

/// Sound keys this short have too many one-deletion neighbours in common to block on them.
const MIN_DELETION_KEY: usize = 4;

/// The keys the linker files records under: the duplicate finder's, and the given name's sound
/// key and its one-deletion neighbours with the band and the place. The index streams past the
/// patients once, so a broader key costs lookups rather than pairs; two records whose given
/// names differ by a slip that changes the sound key ("Vandaa" / "Vandana") meet here.
pub(crate) fn link_keys(p: &Prepared, out: &mut Vec<(u64, Tag)>) {
    keys(p, out);
    let (Some(g), Some(bands)) = (p.name.given_full(), bands(p)) else {
        return;
    };
    let phon = g.phon.as_bytes();
    let place = place(p);
    // The key itself always (a short key still meets a longer one's deletion), its deletions
    // only when long enough to stay selective.
    let mut variants: Vec<Vec<u8>> = vec![phon.to_vec()];
    if phon.len() >= MIN_DELETION_KEY {
        variants.extend((0..phon.len()).map(|i| [&phon[..i], &phon[i + 1..]].concat()));
    }
    variants.sort();
    variants.dedup();
    for v in variants {
        let k = hash_bytes(b'p', &v);
        for b in bands {
            out.push((
                hash_parts(Tag::GivenDeletionBand as u8, &[k, b, place]),
                Tag::GivenDeletionBand,
            ));
        }
    }
}

pub(crate) fn keys(p: &Prepared, out: &mut Vec<(u64, Tag)>) {
    if let Some(m) = p.mobile {
        out.push((hash_parts(Tag::Mobile as u8, &[m]), Tag::Mobile));
    }
    if let Some(a) = p.abha {
        out.push((hash_parts(Tag::Abha as u8, &[a]), Tag::Abha));
    }
    let name = &p.name;
    let given_full = name
        .given_full()
        .map(|t| hash_bytes(b'p', t.phon.as_bytes()));
    let surname = name.surname().map(|s| sound(name, s));
    // A surname that is a real surname, not a Kumar or Devi standing in for one: the keys that
    // pair it with only a letter would otherwise gather every "R. Kumar" in the district. (Prasad
    // is both a middle name and a surname, so it counts.)
    let full_surname = name
        .surname()
        .filter(|&i| {
            let t = &name.toks[i];
            t.kind == Kind::Full || !matches!(&*t.text, "kumar" | "devi")
        })
        .map(|s| sound(name, s));
    let place = place(p);
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
    let bands = bands(p);
    if let (Some(g), Some(s)) = (given_full, surname) {
        out.push((
            hash_parts(Tag::GivenSurname as u8, &[g, s]),
            Tag::GivenSurname,
        ));
    }
    if let (Some(g), Some(bands)) = (given_full, bands) {
        for b in bands {
            out.push((
                hash_parts(Tag::GivenBand as u8, &[g, b, place]),
                Tag::GivenBand,
            ));
        }
    }
    if let (Some(l), Some(s), Some(bands)) = (letter, full_surname, bands) {
        for b in bands {
            out.push((
                hash_parts(Tag::LetterSurnameBand as u8, &[l, s, b]),
                Tag::LetterSurnameBand,
            ));
        }
    }
    if let Some(gg) = guardian_given {
        let gs = p
            .guardian
            .surname()
            .map(|i| sound(&p.guardian, i))
            .unwrap_or(0);
        out.push((
            hash_parts(Tag::GuardianName as u8, &[gg, gs]),
            Tag::GuardianName,
        ));
    }
    if let (Some(gg), Some(bands)) = (guardian_given, bands) {
        let gs = p
            .guardian
            .surname()
            .map(|i| sound(&p.guardian, i))
            .unwrap_or(0);
        for b in bands {
            out.push((
                hash_parts(Tag::GuardianBand as u8, &[gg, gs, b]),
                Tag::GuardianBand,
            ));
        }
    }
    let guardian_letter = p.guardian.given_letter().map(u64::from);
    if let (Some(s), Some(gl), Some(bands)) = (full_surname, guardian_letter, bands) {
        for b in bands {
            out.push((
                hash_parts(Tag::SurnameGuardianLetterBand as u8, &[s, gl, b]),
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
                hash_parts(Tag::TokenGuardian as u8, &[tok, gg, sex_bits(p)]),
                Tag::TokenGuardian,
            ));
        }
    }
}

/// Files every record under its keys, records block sizes back into `prepared` (mobile and
/// name frequencies, which scoring uses), and plans the blocks to score.
pub fn plan(prepared: &mut [Prepared], cfg: &Config) -> Plan {
    let mut entries: Vec<Entry> = Vec::with_capacity(prepared.len() * 12);
    let mut scratch = Vec::with_capacity(16);
    for (idx, p) in prepared.iter().enumerate() {
        let Ok(idx) = u32::try_from(idx) else { break };
        scratch.clear();
        keys(p, &mut scratch);
        entries.extend(scratch.iter().map(|&(key, tag)| Entry { key, idx, tag }));
    }
    entries.sort_unstable_by_key(|e| (e.key, e.tag, e.idx));
    entries.dedup_by_key(|e| (e.key, e.tag, e.idx));

    let mut members: Vec<u32> = Vec::new();
    let mut blocks: Vec<(u32, u32)> = Vec::new();
    let mut oversized = 0usize;
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
        let count = u32::try_from(n).unwrap_or(u32::MAX);
        match first.tag {
            Tag::Mobile => {
                for e in block {
                    prepared[e.idx as usize].mobile_count = count;
                }
            }
            Tag::GivenSurname => {
                for e in block {
                    let p = &mut prepared[e.idx as usize];
                    p.name_count = p.name_count.max(count);
                }
            }
            Tag::GuardianName => {
                let share = n as f64 / prepared.len().max(1) as f64;
                for e in block {
                    prepared[e.idx as usize].guardian_share = share;
                }
                continue;
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
        let (Ok(s), Ok(e)) = (
            u32::try_from(members.len()),
            u32::try_from(members.len() + n),
        ) else {
            break;
        };
        members.extend(block.iter().map(|e| e.idx));
        blocks.push((s, e));
    }

    // Each record's blocks, ascending (blocks are numbered in the order built).
    let mut record_offsets = vec![0u32; prepared.len() + 1];
    for &m in &members {
        record_offsets[m as usize + 1] += 1;
    }
    for i in 0..prepared.len() {
        record_offsets[i + 1] += record_offsets[i];
    }
    let mut fill = record_offsets.clone();
    let mut record_blocks = vec![0u32; members.len()];
    for (j, &(s, e)) in blocks.iter().enumerate() {
        for &m in &members[s as usize..e as usize] {
            let slot = &mut fill[m as usize];
            record_blocks[*slot as usize] = j as u32;
            *slot += 1;
        }
    }
    Plan {
        members,
        blocks,
        record_offsets,
        record_blocks,
        oversized,
    }
}
