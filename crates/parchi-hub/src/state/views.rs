//! Merged records as the core's views (what the conformance tests compare with a `Replica`).

use std::collections::BTreeMap;

use parchi_core::op::PairDecision;
use parchi_core::replica::{PatientView, VisitView};
use parchi_core::{PatientId, Stamp, VisitId};

use crate::error::StorageError;

use super::*;

/// Views of merged patients, sorted by ID (as a `Replica` lists them). Records joined by `same`
/// decisions are one person, shown as the earliest-registered record (the core's
/// `Replica::survivor`).
pub fn patient_views<'a>(
    states: impl IntoIterator<Item = (PatientId, &'a PatientState)>,
) -> Vec<PatientView> {
    let mut states: Vec<(PatientId, &PatientState)> = states.into_iter().collect();
    states.sort_unstable_by_key(|(id, _)| *id);
    let created = |p: &PatientId| -> Option<Stamp> {
        states
            .binary_search_by_key(p, |(id, _)| *id)
            .ok()
            .and_then(|i| states[i].1.origin.as_ref())
            .map(|o| o.stamp)
    };
    let mut parent: BTreeMap<PatientId, PatientId> = BTreeMap::new();
    fn find(parent: &mut BTreeMap<PatientId, PatientId>, x: PatientId) -> PatientId {
        let mut root = x;
        while let Some(&p) = parent.get(&root) {
            if p == root {
                break;
            }
            root = p;
        }
        parent.insert(x, root);
        root
    }
    for (a, st) in &states {
        for (b, (_, d)) in st.decisions() {
            if *d == PairDecision::Same {
                let (ra, rb) = (find(&mut parent, *a), find(&mut parent, *b));
                if ra != rb {
                    parent.insert(ra.max(rb), ra.min(rb));
                }
            }
        }
    }
    let mut clusters: BTreeMap<PatientId, Vec<PatientId>> = BTreeMap::new();
    let ids: Vec<PatientId> = parent.keys().copied().collect();
    for id in ids {
        let root = find(&mut parent, id);
        clusters.entry(root).or_default().push(id);
    }
    let mut survivor_of: BTreeMap<PatientId, PatientId> = BTreeMap::new();
    for members in clusters.values() {
        let survivor = members
            .iter()
            .min_by_key(|p| {
                let c = created(p);
                (c.is_none(), c, **p)
            })
            .copied();
        if let Some(s) = survivor {
            for m in members {
                survivor_of.insert(*m, s);
            }
        }
    }
    let mut out = Vec::with_capacity(states.len());
    for (id, st) in &states {
        if let Some(mut v) = st.view(*id) {
            v.merged_into = survivor_of.get(id).copied().filter(|s| s != id);
            out.push(v);
        }
    }
    out
}

/// Views of merged visits, sorted by visit ID.
pub fn visit_views<'a>(
    states: impl IntoIterator<Item = (VisitId, &'a VisitState)>,
) -> Vec<VisitView> {
    let mut out: Vec<(VisitId, VisitView)> = states
        .into_iter()
        .filter_map(|(id, s)| s.view().map(|v| (id, v)))
        .collect();
    out.sort_unstable_by_key(|(id, _)| *id);
    out.into_iter().map(|(_, v)| v).collect()
}

/// Views of stored patient rows (decoding each state).
pub fn patient_views_of_rows(
    rows: &[([u8; 16], String)],
) -> Result<Vec<PatientView>, StorageError> {
    let states = rows
        .iter()
        .map(|(id, s)| Ok((PatientId::from_bytes(*id), PatientState::decode(s)?)))
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(patient_views(states.iter().map(|(id, s)| (*id, s))))
}

/// Views of stored visit rows (decoding each state).
pub fn visit_views_of_rows(rows: &[([u8; 16], String)]) -> Result<Vec<VisitView>, StorageError> {
    let states = rows
        .iter()
        .map(|(id, s)| Ok((VisitId::from_bytes(*id), VisitState::decode(s)?)))
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(visit_views(states.iter().map(|(id, s)| (*id, s))))
}
