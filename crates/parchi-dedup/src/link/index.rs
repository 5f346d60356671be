//! The patients' side of linking: their prepared records, the blocking keys they are filed
//! under, and the pass of one central record past them.

use super::{CardMismatch, LinkConfig};
use crate::Reason;
use crate::block::{self, MAX_ABHA_RECORDS, Tag};
use crate::name::{SimCache, Tok};
use crate::prepare::{self, Prepared};
use crate::score;
use crate::{Record, Sex};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Blocking keys are already well-mixed 64-bit hashes: hashing them again only costs time.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = crate::text::mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// How many central records a patient keeps between the stream and the final scoring. The
/// final scores only go down (frequency discounts), so a few more than the three reported are
/// kept to leave room for reordering.
const KEEP: usize = 8;

/// One patient key: which patients carry it, and whether it is used to find pairs.
struct Slot {
    start: u32,
    end: u32,
    blocking: bool,
    /// Its central count feeds a frequency the scorer uses (mobile, name, guardian).
    counted: bool,
}

/// The slots of a patient's keys that carry frequencies the scorer uses.
#[derive(Clone, Copy, Default)]
struct Counted {
    mobile: Option<u32>,
    name: Option<u32>,
    guardian: Option<u32>,
}

/// A central record kept for some patient: its UHID and its prepared form.
pub struct Central {
    pub uhid: String,
    pub prepared: Prepared,
}

/// How a central record met a patient.
#[derive(Clone, Copy, Default, Debug)]
pub struct Flags {
    /// Its UHID is the one the patient claimed.
    pub card: bool,
    /// It has the patient's ABHA.
    pub abha: bool,
    /// It scored at least the stream's floor (a probabilistic candidate).
    pub probable: bool,
}

/// A patient a central record met, with the stream's score (an upper bound of the final one).
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    pub patient: u32,
    pub upper: f64,
    pub flags: Flags,
}

/// A kept central record with its score from the stream (an upper bound of the final score).
#[derive(Clone)]
pub struct Kept {
    pub central: Arc<Central>,
    pub upper: f64,
}

/// Best first: higher score, then the smaller UHID (so ties never depend on stream order).
fn order(a: &Kept, b: &Kept) -> Ordering {
    b.upper
        .total_cmp(&a.upper)
        .then_with(|| a.central.uhid.cmp(&b.central.uhid))
}

/// Inserts into a best-first list of at most `cap`, one entry per UHID.
fn insert(list: &mut Vec<Kept>, k: Kept, cap: usize) {
    if let Some(i) = list.iter().position(|x| x.central.uhid == k.central.uhid) {
        if order(&k, &list[i]) != Ordering::Less {
            return;
        }
        list.remove(i);
    }
    let at = list
        .binary_search_by(|x| order(x, &k))
        .unwrap_or_else(|i| i);
    if at < cap {
        list.insert(at, k);
        list.truncate(cap);
    }
}

/// What one patient has met in the stream so far.
#[derive(Default)]
pub struct PatientState {
    /// The best probabilistic candidates, best first.
    pub top: Vec<Kept>,
    /// The record behind the claimed UHID, if it has been offered.
    pub card: Option<Kept>,
    /// Records with the patient's ABHA, best first.
    pub abha: Vec<Kept>,
}

impl PatientState {
    pub fn keep(&mut self, central: &Arc<Central>, upper: f64, flags: Flags) {
        let k = Kept {
            central: Arc::clone(central),
            upper,
        };
        if flags.card {
            let better = self
                .card
                .as_ref()
                .is_none_or(|c| order(&k, c) == Ordering::Less);
            if better {
                self.card = Some(k.clone());
            }
        }
        if flags.abha {
            insert(&mut self.abha, k.clone(), MAX_ABHA_RECORDS);
        }
        if flags.probable {
            insert(&mut self.top, k, KEEP);
        }
    }

    pub fn len(&self) -> usize {
        self.top.len() + self.abha.len() + usize::from(self.card.is_some())
    }
}

/// Reusable buffers for [`PatientIndex::visit`].
#[derive(Default)]
pub struct Scratch {
    keys: Vec<(u64, Tag)>,
    patients: Vec<u32>,
    toks: Vec<u32>,
}

/// What a stretch of the stream showed about the patients' frequencies: every indexed key and
/// vocabulary token each central record carried (once per record), and the pairs scored.
#[derive(Default)]
pub struct Seen {
    pub slots: Vec<u32>,
    pub toks: Vec<u32>,
    pub pairs: u64,
}

/// The patients, prepared, and their keys.
pub struct PatientIndex {
    pub patients: Vec<Prepared>,
    map: IdMap<u32>,
    slots: Vec<Slot>,
    members: Vec<u32>,
    counted: Vec<Counted>,
    /// How many patients carry each patient's mobile: the outage's own shared phones.
    outage_mobile: Vec<u32>,
    /// Every token of the patients' names and guardians' names: hash → its number here.
    vocab: IdMap<u32>,
    /// One instance of each vocabulary token, and in how many patients it appears.
    vocab_toks: Vec<Tok>,
    /// After the stream: token hash → (records carrying it, established name).
    taught: IdMap<(u32, bool)>,
    /// Claimed UHID → patients who claimed it.
    claimed: HashMap<String, Vec<u32>>,
    pub claimed_by: Vec<Option<String>>,
    /// The stream keeps pairs from this many log-odds points.
    floor: f64,
}

/// The log-odds points a score corresponds to.
/// Of one household and age: the same mobile (not a shared one), the same guardian or address,
/// the same sex and birth years at most one apart. A name that differs beyond a slip then makes
/// it a twin, or the same person written quite differently: a person must look.
pub fn same_household(reasons: &[Reason]) -> bool {
    let has = |f: &dyn Fn(&Reason) -> bool| reasons.iter().any(f);
    has(&|r| matches!(r, Reason::SameMobile))
        && has(&|r| {
            matches!(
                r,
                Reason::SameGuardian | Reason::GuardianSimilar { .. } | Reason::SameAddress
            )
        })
        && !has(&|r| matches!(r, Reason::DifferentSex | Reason::GuardianIsOther))
        && has(&|r| {
            matches!(
                r,
                Reason::SameBirthYear | Reason::AgeWithinTolerance { years: 1 }
            )
        })
}

pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// The card check on (sex, birth year) pairs.
pub fn card_mismatches(
    counter: (Option<Sex>, Option<i32>),
    central: (Option<Sex>, Option<i32>),
    cfg: &LinkConfig,
) -> Vec<CardMismatch> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (counter.0, central.0)
        && a != b
    {
        out.push(CardMismatch::Sex);
    }
    if let (Some(a), Some(b)) = (counter.1, central.1) {
        let years = a.abs_diff(b);
        if years > cfg.card_age_years {
            out.push(CardMismatch::Age { years });
        }
    }
    out
}

impl PatientIndex {
    pub fn build<K: Sync>(
        records: &[Record<K>],
        claimed_by: Vec<Option<String>>,
        cfg: &LinkConfig,
    ) -> PatientIndex {
        let scoring = crate::Config {
            threads: cfg.threads.max(1),
            ..cfg.scoring.clone()
        };
        let mut patients = prepare::prepare_all(records, &scoring);
        let mut vocab: IdMap<u32> = IdMap::default();
        let mut vocab_toks = Vec::new();
        for p in &mut patients {
            for t in p.name.toks.iter_mut().chain(p.guardian.toks.iter_mut()) {
                // Which spellings are established is decided after the stream, from the
                // central counts; until then none is, so stream scores are upper bounds.
                t.established = false;
                vocab.entry(t.hash).or_insert_with(|| {
                    vocab_toks.push(t.clone());
                    vocab_toks.len() as u32 - 1
                });
            }
        }
        let mut claimed: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, c) in claimed_by.iter().enumerate() {
            if let Some(u) = c.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                claimed.entry(u.to_owned()).or_default().push(i as u32);
            }
        }
        let mut index = PatientIndex {
            patients,
            map: IdMap::default(),
            slots: Vec::new(),
            members: Vec::new(),
            counted: Vec::new(),
            outage_mobile: Vec::new(),
            vocab,
            vocab_toks,
            taught: IdMap::default(),
            claimed,
            claimed_by,
            floor: logit(cfg.review_threshold).min(logit(cfg.auto_threshold) - cfg.margin),
        };
        index.file_keys(cfg);
        index
    }

    pub fn len(&self) -> usize {
        self.patients.len()
    }

    pub fn slot_len(&self) -> usize {
        self.slots.len()
    }

    pub fn vocab_len(&self) -> usize {
        self.vocab_toks.len()
    }

    /// Files every patient under its blocking keys, one slot per distinct key.
    fn file_keys(&mut self, cfg: &LinkConfig) {
        let mut entries: Vec<(u64, Tag, u32)> = Vec::with_capacity(self.patients.len() * 14);
        let mut scratch = Vec::with_capacity(16);
        for (i, p) in self.patients.iter().enumerate() {
            scratch.clear();
            block::link_keys(p, &mut scratch);
            entries.extend(scratch.iter().map(|&(k, t)| (k, t, i as u32)));
        }
        entries.sort_unstable();
        entries.dedup();
        self.counted = vec![Counted::default(); self.patients.len()];
        self.outage_mobile = vec![1; self.patients.len()];
        let mut start = 0;
        while start < entries.len() {
            let (key, tag, _) = entries[start];
            let n = entries[start..]
                .iter()
                .take_while(|e| e.0 == key && e.1 == tag)
                .count();
            let group = &entries[start..start + n];
            start += n;
            let slot = self.slots.len() as u32;
            let cap = match tag {
                Tag::Mobile => cfg.scoring.max_mobile_records,
                Tag::Abha => MAX_ABHA_RECORDS,
                // Only counted: far too broad to pair on.
                Tag::GuardianName => 0,
                _ => cfg.max_patients_per_key,
            };
            let s = self.members.len() as u32;
            self.members.extend(group.iter().map(|e| e.2));
            self.slots.push(Slot {
                start: s,
                end: self.members.len() as u32,
                blocking: n <= cap,
                counted: matches!(tag, Tag::Mobile | Tag::GivenSurname | Tag::GuardianName),
            });
            // A 64-bit key shared by two tags is a hash collision; the first tag keeps it.
            self.map.entry(key).or_insert(slot);
            for &(_, _, i) in group {
                let c = &mut self.counted[i as usize];
                match tag {
                    Tag::Mobile => {
                        c.mobile = Some(slot);
                        self.outage_mobile[i as usize] = n as u32;
                    }
                    Tag::GivenSurname => c.name = Some(slot),
                    Tag::GuardianName => c.guardian = Some(slot),
                    _ => {}
                }
            }
        }
    }

    /// Gives a record's name tokens what the stream taught about them (how many records carry
    /// them, whether they are established names), so a central "Rakesh" and a patient's
    /// "Ramesh" are two real names. Tokens no patient has count for nothing.
    pub fn teach(&self, p: &mut Prepared) {
        for t in p.name.toks.iter_mut().chain(p.guardian.toks.iter_mut()) {
            let (count, established) = self.taught.get(&t.hash).copied().unwrap_or((0, false));
            t.count = count;
            t.established = established;
        }
    }

    /// Passes one central record by the patients: notes which patient keys and name tokens it
    /// carries (into `seen`), and scores it against every patient it shares a blocking key with, its
    /// claimant and the patients with its ABHA. Returns its prepared form when `hits` got any.
    #[allow(clippy::too_many_arguments)]
    pub fn visit(
        &self,
        rec: &Record<String>,
        s: &mut Scratch,
        cache: &mut SimCache,
        cfg: &LinkConfig,
        seen: &mut Seen,
        hits: &mut Vec<Hit>,
    ) -> Option<Prepared> {
        let p = Prepared::new(rec);
        s.toks.clear();
        s.toks.extend(
            p.name
                .toks
                .iter()
                .chain(&p.guardian.toks)
                .filter_map(|t| self.vocab.get(&t.hash).copied()),
        );
        s.toks.sort_unstable();
        s.toks.dedup();
        seen.toks.extend_from_slice(&s.toks);
        s.keys.clear();
        block::link_keys(&p, &mut s.keys);
        s.keys.sort_unstable();
        s.keys.dedup();
        s.patients.clear();
        for (key, _) in &s.keys {
            let Some(&slot) = self.map.get(key) else {
                continue;
            };
            let sl = &self.slots[slot as usize];
            if sl.counted {
                seen.slots.push(slot);
            }
            if sl.blocking {
                s.patients
                    .extend_from_slice(&self.members[sl.start as usize..sl.end as usize]);
            }
        }
        let claimants = self.claimed.get(rec.key.trim()).map(Vec::as_slice);
        s.patients.extend(claimants.unwrap_or_default());
        if s.patients.is_empty() {
            return None;
        }
        s.patients.sort_unstable();
        s.patients.dedup();
        for &i in &s.patients {
            let patient = &self.patients[i as usize];
            let card = claimants.is_some_and(|c| c.contains(&i));
            let abha = p.abha.is_some() && p.abha == patient.abha;
            // Card and ABHA records are always kept, however badly they fit: a reviewer must
            // see what the card pointed at.
            // So is a record that shares the patient's mobile, however unlike the names: it may
            // be of the patient's household and age (see `same_household`).
            let phone = p.mobile.is_some() && p.mobile == patient.mobile;
            let floor = if card || abha || phone {
                f64::NEG_INFINITY
            } else {
                self.floor
            };
            seen.pairs += 1;
            let Some(a) = score::assess_bounded(patient, &p, &cfg.scoring, cache, floor) else {
                continue;
            };
            let probable = logit(a.score) >= self.floor || (phone && same_household(&a.reasons));
            if card || abha || probable {
                hits.push(Hit {
                    patient: i,
                    upper: a.score,
                    flags: Flags {
                        card,
                        abha,
                        probable,
                    },
                });
            }
        }
        Some(p)
    }

    /// Gives each patient the frequencies the stream counted: how many central records carry
    /// its name, its guardian's name and its mobile, and which name spellings are established
    /// (from the patients and the whole index together). From here on scores include the
    /// discounts for common names and shared phones, and real names one letter apart conflict.
    pub fn apply_counts(
        &mut self,
        slot_counts: &[u32],
        tok_counts: &[u32],
        central_total: u64,
        min_established: u32,
    ) {
        let counts: HashMap<u64, u32> = self
            .vocab_toks
            .iter()
            .zip(tok_counts)
            .map(|(t, &c)| (t.hash, t.count.saturating_add(c)))
            .collect();
        let established = prepare::established_tokens(&counts, &self.vocab_toks, min_established);
        self.taught = counts
            .iter()
            .map(|(&h, &c)| (h, (c, established.get(&h).copied().unwrap_or(false))))
            .collect();
        let mut patients = std::mem::take(&mut self.patients);
        for p in &mut patients {
            self.teach(p);
        }
        self.patients = patients;
        let count = |s: Option<u32>| s.map_or(0, |s| slot_counts[s as usize]);
        for (i, p) in self.patients.iter_mut().enumerate() {
            let c = self.counted[i];
            // The patient is one more registration of the name.
            p.name_count = count(c.name).saturating_add(1);
            p.mobile_count = count(c.mobile).max(self.outage_mobile[i]);
            p.guardian_share = f64::from(count(c.guardian)) / central_total.max(1) as f64;
        }
    }

    /// The central count of a patient's mobile (for judging whether two central records that
    /// share it are one person).
    pub fn mobile_count(&self, i: usize) -> u32 {
        self.patients[i].mobile_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn central(uhid: &str) -> Arc<Central> {
        let r = Record {
            key: uhid.to_owned(),
            name: "Sunita Devi".into(),
            ..Record::default()
        };
        Arc::new(Central {
            uhid: uhid.to_owned(),
            prepared: Prepared::new(&r),
        })
    }

    #[test]
    fn kept_records_do_not_depend_on_arrival_order() {
        let offers: Vec<(Arc<Central>, f64)> = (0..20)
            .map(|i| {
                (
                    central(&format!("DHP{:09}", i % 13)),
                    f64::from(i % 7) / 7.0,
                )
            })
            .collect();
        let keep_all = |order: &mut dyn Iterator<Item = &(Arc<Central>, f64)>| {
            let mut s = PatientState::default();
            let flags = Flags {
                probable: true,
                ..Flags::default()
            };
            for (c, score) in order {
                s.keep(c, *score, flags);
            }
            s.top
                .iter()
                .map(|k| (k.central.uhid.clone(), k.upper))
                .collect::<Vec<_>>()
        };
        let forward = keep_all(&mut offers.iter());
        assert_eq!(forward.len(), KEEP);
        assert_eq!(forward, keep_all(&mut offers.iter().rev()));
        assert_eq!(
            forward,
            keep_all(
                &mut offers
                    .iter()
                    .step_by(2)
                    .chain(offers.iter().skip(1).step_by(2))
            )
        );
        let uhids: std::collections::HashSet<_> = forward.iter().map(|k| &k.0).collect();
        assert_eq!(uhids.len(), KEEP, "one entry per UHID");
    }

    #[test]
    fn the_card_check_reads_only_sex_and_birth_year() {
        let cfg = LinkConfig::default();
        let f = Some(Sex::Female);
        assert!(card_mismatches((f, Some(1980)), (f, Some(1990)), &cfg).is_empty());
        assert_eq!(
            card_mismatches((f, Some(1980)), (Some(Sex::Male), Some(1991)), &cfg),
            vec![CardMismatch::Sex, CardMismatch::Age { years: 11 }]
        );
        assert!(card_mismatches((None, None), (f, Some(1900)), &cfg).is_empty());
    }
}
