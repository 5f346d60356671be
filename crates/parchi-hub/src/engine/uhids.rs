//! Permanent UHIDs for people new to the hospital, minted by the central hub after an outage,
//! and the blocks of UHIDs the hospital set aside for that (its downtime number ranges).
//!
//! A person is a surviving record and the records merged into it; their link to the hospital's
//! index is [`person_link`] over the records' links. Who gets a UHID:
//! - a person linked to a hospital record, or who claimed one from a card, never (they have the
//!   hospital's);
//! - when the hub holds a mirror of the hospital's index, only a person known to be new to it
//!   (link `New`); one still undecided waits for the link review and is counted;
//! - with no mirror at all, every person without a UHID, as before the mirror existed.
//!
//! UHIDs come from the blocks first, in the order they were added, then from the prefix scheme
//! (`PREFIX` + 9 digits after the highest already known); a UHID in the mirror or already held by
//! a patient is never minted.

use std::collections::{HashMap, HashSet, VecDeque};

use parchi_core::central::person_link;
use parchi_core::replica::PatientView;
use parchi_core::{CentralLink, PatientId, Stamp, Uhid};
use parchi_sync::wire::{UhidBlock, UhidBlocks, UhidRange};

use super::Hub;
use crate::error::HubError;
use crate::state::patient_views;
use crate::storage::Storage;

/// Meta key of the UHID blocks (JSON of [`UhidBlock`]s).
pub const META_UHID_BLOCKS: &str = "uhid_blocks";

/// UHIDs checked against the mirror per query while minting.
const MINT_CHUNK: usize = 1_000;

/// What [`Hub::assign_uhids`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UhidReport {
    /// Patient IDs (the persons' surviving records) with their new UHIDs.
    pub assigned: Vec<(String, String)>,
    /// Persons linked to a hospital record, or claiming one from a card: they have its UHID.
    #[serde(default)]
    pub skipped_linked: usize,
    /// Persons without a UHID not yet known to be new to the hospital (the hub holds a mirror of
    /// its index, and the link review has not decided): none minted yet.
    #[serde(default)]
    pub skipped_undecided: usize,
}

/// A UHID as a letter prefix and a number of a fixed width (`DT000123`: `DT`, 123, 6).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Numbered {
    prefix: String,
    n: u64,
    width: usize,
}

impl Numbered {
    fn parse(u: &Uhid) -> Option<Self> {
        let s = u.as_str();
        let digits_at = s.find(|c: char| c.is_ascii_digit())?;
        let (prefix, digits) = s.split_at(digits_at);
        (prefix.bytes().all(|b| b.is_ascii_uppercase())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.len() <= 18)
            .then(|| {
                digits.parse().ok().map(|n| Self {
                    prefix: prefix.to_string(),
                    n,
                    width: digits.len(),
                })
            })
            .flatten()
    }

    fn uhid(&self, n: u64) -> Result<Uhid, HubError> {
        Uhid::parse(&format!("{}{n:0w$}", self.prefix, w = self.width))
            .map_err(|e| HubError::Config(format!("a UHID block makes an invalid UHID: {e}")))
    }
}

/// A block's range, checked.
fn block_range(from: &Uhid, to: &Uhid) -> Result<(Numbered, u64), HubError> {
    let bad = |m: &str| HubError::BadRequest(format!("UHID block: {m}"));
    let (Some(f), Some(t)) = (Numbered::parse(from), Numbered::parse(to)) else {
        return Err(bad(
            "both ends must be capital letters followed by digits (at most 18), e.g. DT000100",
        ));
    };
    if f.prefix != t.prefix || f.width != t.width {
        return Err(bad(
            "both ends must have the same letter prefix and the same number of digits",
        ));
    }
    if f.n > t.n {
        return Err(bad("`from` must not come after `to`"));
    }
    Ok((f, t.n))
}

/// Hands out UHIDs: the blocks in order, then the prefix scheme.
struct Minter {
    blocks: Vec<UhidBlock>,
    prefix: String,
    seq: u64,
}

impl Minter {
    fn next(&mut self) -> Result<Uhid, HubError> {
        for b in &mut self.blocks {
            let Some(next) = b.next.clone() else {
                continue;
            };
            let (range, to) = block_range(&b.from, &b.to)?;
            let n = Numbered::parse(&next).map_or(to.saturating_add(1), |x| x.n);
            if n > to {
                b.next = None;
                continue;
            }
            b.next = if n < to {
                Some(range.uhid(n + 1)?)
            } else {
                None
            };
            return range.uhid(n);
        }
        self.seq += 1;
        Uhid::parse(&format!("{}{:09}", self.prefix, self.seq))
            .map_err(|e| HubError::BadRequest(format!("UHID: {e}")))
    }
}

impl<S: Storage> Hub<S> {
    fn blocks_from(json: Option<String>) -> Result<Vec<UhidBlock>, HubError> {
        match json {
            None => Ok(Vec::new()),
            Some(j) => serde_json::from_str(&j).map_err(|e| {
                HubError::Storage(crate::StorageError::Corrupt(format!("UHID blocks: {e}")))
            }),
        }
    }

    /// The UHID blocks, in the order they are used.
    pub async fn uhid_blocks(&self) -> Result<UhidBlocks, HubError> {
        Ok(UhidBlocks {
            blocks: Self::blocks_from(self.meta(META_UHID_BLOCKS).await)?,
        })
    }

    /// Adds a block of UHIDs set aside by the hospital; it must not overlap one already held.
    pub async fn add_uhid_block(&self, range: UhidRange) -> Result<UhidBlocks, HubError> {
        let (f, to) = block_range(&range.from, &range.to)?;
        let _u = self.mirror.uhids.lock().await;
        let mut blocks = Self::blocks_from(self.meta(META_UHID_BLOCKS).await)?;
        for b in &blocks {
            let (bf, bto) = block_range(&b.from, &b.to)?;
            if bf.prefix == f.prefix && bf.width == f.width && f.n <= bto && bf.n <= to {
                return Err(HubError::BadRequest(format!(
                    "UHID block: overlaps the block {} to {}",
                    b.from, b.to
                )));
            }
        }
        blocks.push(UhidBlock {
            from: range.from.clone(),
            to: range.to,
            next: Some(range.from),
        });
        let json = serde_json::to_string(&blocks)
            .map_err(|e| HubError::Config(format!("UHID blocks: {e}")))?;
        self.set_meta(META_UHID_BLOCKS, &json).await?;
        Ok(UhidBlocks { blocks })
    }

    /// Every person as merged, with each record's link and its stamp.
    async fn views_and_links(
        &self,
    ) -> Result<(Vec<PatientView>, HashMap<PatientId, (Stamp, CentralLink)>), HubError> {
        let mut inner = self.lock().await?;
        let m = inner.merged().await?;
        let views = patient_views(
            m.patients
                .iter()
                .map(|(id, r)| (PatientId::from_bytes(*id), &r.state)),
        );
        let links = m
            .patients
            .iter()
            .filter_map(|(id, r)| {
                r.state
                    .link()
                    .map(|l| (PatientId::from_bytes(*id), l.clone()))
            })
            .collect();
        Ok((views, links))
    }

    /// The central hub's job after an outage: gives a permanent UHID to every person new to the
    /// hospital who has only temporary IDs (see the module's rules), as `AssignUhid` operations
    /// in the log, so counters learn the mapping at their next pull. Persons are served in
    /// registration order.
    pub async fn assign_uhids(&self, prefix: &str, now_ms: u64) -> Result<UhidReport, HubError> {
        let prefix = prefix.trim().to_ascii_uppercase();
        if !(2..=8).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(HubError::BadRequest(
                "UHID prefix: 2 to 8 letters, e.g. DHP".into(),
            ));
        }
        let _u = self.mirror.uhids.lock().await;
        // No import lands while minted UHIDs are checked against the mirror.
        let _w = self.mirror.write.lock().await;
        let with_mirror = self.mirror.records() > 0;
        let (views, links) = self.views_and_links().await?;

        let seq_key = format!("uhid_seq:{prefix}");
        let mut seq: u64 = self
            .meta(&seq_key)
            .await
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut held: HashSet<Uhid> = HashSet::new();
        for v in &views {
            if let Some(u) = &v.uhid {
                held.insert(u.clone());
                if let Some(n) = u
                    .as_str()
                    .strip_prefix(&prefix)
                    .and_then(|d| d.parse::<u64>().ok())
                {
                    seq = seq.max(n);
                }
            }
        }
        held.extend(links.values().filter_map(|(_, l)| l.uhid().cloned()));

        // Persons by their surviving record, with every member's link.
        let mut members: HashMap<PatientId, Vec<(&Stamp, &CentralLink)>> = HashMap::new();
        for v in &views {
            if let Some((s, l)) = links.get(&v.id) {
                members
                    .entry(v.merged_into.unwrap_or(v.id))
                    .or_default()
                    .push((s, l));
            }
        }
        let mut report = UhidReport::default();
        let mut targets: Vec<&PatientView> = Vec::new();
        for v in views
            .iter()
            .filter(|v| v.uhid.is_none() && v.merged_into.is_none())
        {
            let link = members
                .get(&v.id)
                .and_then(|m| person_link(m.iter().copied()));
            match link {
                Some(CentralLink::Linked { .. } | CentralLink::Claimed { .. }) => {
                    report.skipped_linked += 1;
                }
                Some(CentralLink::New) => targets.push(v),
                _ if with_mirror => report.skipped_undecided += 1,
                _ => targets.push(v),
            }
        }
        targets.sort_by_key(|v| v.origin.stamp);

        let blocks = Self::blocks_from(self.meta(META_UHID_BLOCKS).await)?;
        let had_blocks = !blocks.is_empty();
        let mut minter = Minter {
            blocks,
            prefix: prefix.clone(),
            seq,
        };
        let mut queue: VecDeque<&PatientView> = targets.into_iter().collect();
        let mut assigned: Vec<(PatientId, Uhid)> = Vec::with_capacity(queue.len());
        while !queue.is_empty() {
            let want = queue.len().min(MINT_CHUNK);
            let mut fresh = Vec::with_capacity(want);
            while fresh.len() < want {
                let u = minter.next()?;
                if held.insert(u.clone()) {
                    fresh.push(u);
                }
            }
            let known: HashSet<String> = if with_mirror {
                self.storage
                    .mirror_known(fresh.iter().map(|u| u.as_str().to_string()).collect())
                    .await?
                    .into_iter()
                    .collect()
            } else {
                HashSet::new()
            };
            for u in fresh {
                if known.contains(u.as_str()) {
                    continue;
                }
                if let Some(v) = queue.pop_front() {
                    assigned.push((v.id, u));
                }
            }
        }
        if assigned.is_empty() {
            return Ok(report);
        }
        self.push_assignments(&assigned, &minter, had_blocks, &seq_key, now_ms)
            .await?;
        report.assigned = assigned
            .into_iter()
            .map(|(p, u)| (p.to_string(), u.to_string()))
            .collect();
        Ok(report)
    }

    /// Writes the assignments as `AssignUhid` ops, with the minting state (prefix sequence,
    /// blocks) in the same commit.
    async fn push_assignments(
        &self,
        assigned: &[(PatientId, Uhid)],
        minter: &Minter,
        had_blocks: bool,
        seq_key: &str,
        now_ms: u64,
    ) -> Result<(), HubError> {
        let mut own = self.own_ops(now_ms).await?;
        for (patient, uhid) in assigned {
            own.push(
                parchi_core::OpBody::AssignUhid {
                    patient: *patient,
                    uhid: uhid.clone(),
                },
                now_ms,
            )?;
        }
        let mut meta = vec![(seq_key.to_string(), minter.seq.to_string())];
        if had_blocks {
            meta.push((
                META_UHID_BLOCKS.to_string(),
                serde_json::to_string(&minter.blocks)
                    .map_err(|e| HubError::Config(format!("UHID blocks: {e}")))?,
            ));
        }
        self.commit_own_ops(own, meta, now_ms).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Uhid {
        Uhid::parse(s).expect("uhid")
    }

    #[test]
    fn blocks_are_used_in_order_then_the_prefix_scheme() {
        let mut m = Minter {
            blocks: vec![
                UhidBlock {
                    from: u("DT0098"),
                    to: u("DT0099"),
                    next: Some(u("DT0098")),
                },
                UhidBlock {
                    from: u("AB01"),
                    to: u("AB02"),
                    next: Some(u("AB02")),
                },
            ],
            prefix: "DHP".into(),
            seq: 41,
        };
        let got: Vec<String> = (0..5)
            .map(|_| m.next().expect("uhid").to_string())
            .collect();
        assert_eq!(
            got,
            ["DT0098", "DT0099", "AB02", "DHP000000042", "DHP000000043"]
        );
        assert!(m.blocks.iter().all(|b| b.next.is_none()), "used up");
    }

    #[test]
    fn a_block_needs_one_prefix_one_width_and_an_order() {
        assert!(block_range(&u("DT0100"), &u("DT0199")).is_ok());
        assert!(block_range(&u("00100"), &u("00199")).is_ok());
        for (f, t) in [
            ("DT0100", "DX0199"),
            ("DT0100", "DT00199"),
            ("DT0199", "DT0100"),
            ("DT/0100", "DT/0199"),
        ] {
            assert!(block_range(&u(f), &u(t)).is_err(), "{f}..{t}");
        }
    }
}
