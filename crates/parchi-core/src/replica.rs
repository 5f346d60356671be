//! The merge rules, as an in-memory replica state.
//!
//! - Each patient field is a last-writer-wins register ordered by [`Stamp`] (HLC, site, op ID).
//!   A patient's creation offers every field's first value at the creation's stamp.
//! - A patient's UHID assignment and their link to the hospital's index are last-writer-wins
//!   registers; every rejected link (`NotLinked`) is also kept in a grow-only set.
//! - Visits are append-only. A cancellation is a separate fact about a visit; the earliest
//!   cancellation by stamp is the one shown. Reprints are a grow-only set.
//!
//! - Published hospital configurations are a grow-only set keyed by their ID; the one in force on
//!   a day is the latest `effective_from` not after it, ties going to the later publication by
//!   stamp ([`config_in_force`]).
//!
//! Every rule takes the maximum (or minimum) of a total order, or a set union, so applying any set
//! of operations in any order, with any duplication, gives the same state; and [`Replica::merge`]
//! is a join: commutative, associative and idempotent. The SQLite store and the hub apply the same
//! rules through [`wins`], and the property tests below and in the store hold them to it.

use std::collections::{BTreeMap, BTreeSet};

use crate::central::CentralLink;
use crate::hlc::Stamp;
use chrono::NaiveDate;

use crate::ids::{ConfigId, CounterCode, PatientId, TempId, Uhid, VisitId};
use crate::op::{Field, FieldValue, NewVisit, Op, OpBody, PairDecision, pair};
use crate::patient::PatientFields;

/// Does a write stamped `incoming` replace one stamped `current` in a last-writer-wins register?
pub fn wins(incoming: &Stamp, current: &Stamp) -> bool {
    incoming > current
}

/// A published configuration as the in-force rule sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Published {
    pub config: ConfigId,
    pub effective_from: NaiveDate,
    pub stamp: Stamp,
}

impl Published {
    /// The order of precedence: a later effective date first, then the later publication.
    fn precedence(&self) -> (NaiveDate, Stamp) {
        (self.effective_from, self.stamp)
    }
}

/// The configuration in force on `day`: of those effective by then, the latest effective date,
/// and of those the latest publication by stamp. `None` before the first one takes effect (the
/// counter keeps the configuration it was set up with).
pub fn config_in_force<'a>(
    published: impl IntoIterator<Item = &'a Published>,
    day: NaiveDate,
) -> Option<&'a Published> {
    published
        .into_iter()
        .filter(|p| p.effective_from <= day)
        .max_by_key(|p| p.precedence())
}

/// How a patient record came to be.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Origin {
    pub stamp: Stamp,
    pub temp_id: TempId,
    pub counter: CounterCode,
    pub quick: bool,
}

#[derive(Clone, PartialEq, Eq, Debug, Default)]
struct PatientState {
    origin: Option<Origin>,
    fields: BTreeMap<Field, (Stamp, FieldValue)>,
}

#[derive(Clone, PartialEq, Eq, Debug, Default)]
struct VisitState {
    created: Option<(Stamp, NewVisit)>,
    cancelled: Option<(Stamp, CounterCode, String)>,
    reprints: BTreeSet<Stamp>,
}

/// A patient as the merged state shows it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PatientView {
    pub id: PatientId,
    pub origin: Origin,
    pub fields: PatientFields,
    /// The UHID the hub assigned (a new patient's permanent ID).
    pub uhid: Option<Uhid>,
    /// The record's link to the hospital's own index.
    pub link: Option<CentralLink>,
    /// The record this one was merged into (the person's surviving record), if any.
    pub merged_into: Option<PatientId>,
}

/// A visit as the merged state shows it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VisitView {
    pub created: Stamp,
    pub visit: NewVisit,
    pub cancelled: Option<Stamp>,
    pub reprints: usize,
}

/// Materialised state of everything a replica has seen.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Replica {
    patients: BTreeMap<PatientId, PatientState>,
    visits: BTreeMap<VisitId, VisitState>,
    uhids: BTreeMap<PatientId, (Stamp, Uhid)>,
    links: BTreeMap<PatientId, (Stamp, CentralLink)>,
    rejected: BTreeSet<(PatientId, Uhid)>,
    pairs: BTreeMap<(PatientId, PatientId), (Stamp, PairDecision)>,
    /// Published configurations; an ID published twice keeps its earliest publication.
    configs: BTreeMap<ConfigId, (Stamp, (NaiveDate, serde_json::Value))>,
}

fn offer_lww<K: Ord, V: Clone>(
    map: &mut BTreeMap<K, (Stamp, V)>,
    key: K,
    stamp: Stamp,
    value: &V,
) -> bool {
    match map.get(&key) {
        Some((current, _)) if !wins(&stamp, current) => false,
        _ => {
            map.insert(key, (stamp, value.clone()));
            true
        }
    }
}

fn keep_min<T>(slot: &mut Option<(Stamp, T)>, stamp: Stamp, value: T) -> bool {
    match slot {
        Some((s, _)) if *s <= stamp => false,
        _ => {
            *slot = Some((stamp, value));
            true
        }
    }
}

fn keep_earliest<K: Ord, V>(map: &mut BTreeMap<K, (Stamp, V)>, key: K, value: (Stamp, V)) -> bool {
    match map.get(&key) {
        Some((s, _)) if *s <= value.0 => false,
        _ => {
            map.insert(key, value);
            true
        }
    }
}

fn offer(
    fields: &mut BTreeMap<Field, (Stamp, FieldValue)>,
    stamp: Stamp,
    value: FieldValue,
) -> bool {
    match fields.get(&value.field()) {
        Some((current, _)) if !wins(&stamp, current) => false,
        _ => {
            fields.insert(value.field(), (stamp, value));
            true
        }
    }
}

impl Replica {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one operation. Returns true if the visible state changed.
    pub fn apply(&mut self, op: &Op) -> bool {
        let stamp = op.stamp();
        match &op.body {
            OpBody::CreatePatient {
                patient,
                temp_id,
                counter,
                quick,
                fields,
            } => {
                let p = self.patients.entry(*patient).or_default();
                let origin = Origin {
                    stamp,
                    temp_id: temp_id.clone(),
                    counter: counter.clone(),
                    quick: *quick,
                };
                let mut changed = match &p.origin {
                    Some(o) if o.stamp <= stamp => false,
                    _ => {
                        p.origin = Some(origin);
                        true
                    }
                };
                for f in Field::ALL {
                    changed |= offer(&mut p.fields, stamp, FieldValue::read(fields, f));
                }
                changed
            }
            OpBody::AssignUhid { patient, uhid } => {
                offer_lww(&mut self.uhids, *patient, stamp, uhid)
            }
            OpBody::Link { patient, link, .. } => {
                let mut changed = false;
                if let CentralLink::NotLinked { uhid } = link {
                    changed |= self.rejected.insert((*patient, uhid.clone()));
                }
                changed | offer_lww(&mut self.links, *patient, stamp, link)
            }
            OpBody::Decide { a, b, decision, .. } => {
                offer_lww(&mut self.pairs, pair(*a, *b), stamp, decision)
            }
            OpBody::SetField { patient, value, .. } => offer(
                &mut self.patients.entry(*patient).or_default().fields,
                stamp,
                value.clone(),
            ),
            OpBody::CreateVisit(v) => keep_min(
                &mut self.visits.entry(v.visit).or_default().created,
                stamp,
                v.clone(),
            ),
            OpBody::CancelVisit {
                visit,
                counter,
                reason,
            } => {
                let slot = &mut self.visits.entry(*visit).or_default().cancelled;
                match slot {
                    Some((s, _, _)) if *s <= stamp => false,
                    _ => {
                        *slot = Some((stamp, counter.clone(), reason.clone()));
                        true
                    }
                }
            }
            OpBody::RecordReprint { visit, .. } => self
                .visits
                .entry(*visit)
                .or_default()
                .reprints
                .insert(stamp),
            OpBody::PublishConfig {
                config,
                effective_from,
                settings,
                ..
            } => keep_earliest(
                &mut self.configs,
                *config,
                (stamp, (*effective_from, settings.clone())),
            ),
        }
    }

    /// Joins another replica's state into this one.
    pub fn merge(&mut self, other: &Replica) {
        for (id, theirs) in &other.patients {
            let mine = self.patients.entry(*id).or_default();
            if let Some(o) = &theirs.origin
                && mine.origin.as_ref().is_none_or(|m| o.stamp < m.stamp)
            {
                mine.origin = Some(o.clone());
            }
            for (stamp, value) in theirs.fields.values() {
                offer(&mut mine.fields, *stamp, value.clone());
            }
        }
        for (id, theirs) in &other.visits {
            let mine = self.visits.entry(*id).or_default();
            if let Some((s, v)) = &theirs.created {
                keep_min(&mut mine.created, *s, v.clone());
            }
            if let Some((s, c, r)) = &theirs.cancelled
                && mine.cancelled.as_ref().is_none_or(|(m, _, _)| s < m)
            {
                mine.cancelled = Some((*s, c.clone(), r.clone()));
            }
            mine.reprints.extend(theirs.reprints.iter().copied());
        }
        for (k, (s, v)) in &other.uhids {
            offer_lww(&mut self.uhids, *k, *s, v);
        }
        for (k, (s, v)) in &other.links {
            offer_lww(&mut self.links, *k, *s, v);
        }
        self.rejected.extend(other.rejected.iter().cloned());
        for (k, (s, v)) in &other.pairs {
            offer_lww(&mut self.pairs, *k, *s, v);
        }
        for (k, v) in &other.configs {
            keep_earliest(&mut self.configs, *k, v.clone());
        }
    }

    /// Every published configuration.
    pub fn published(&self) -> Vec<Published> {
        self.configs
            .iter()
            .map(|(config, (stamp, (effective_from, _)))| Published {
                config: *config,
                effective_from: *effective_from,
                stamp: *stamp,
            })
            .collect()
    }

    /// The settings a published configuration carries.
    pub fn config_settings(&self, id: &ConfigId) -> Option<&serde_json::Value> {
        self.configs.get(id).map(|(_, (_, v))| v)
    }

    /// The records joined to `id` by `Same` decisions (including `id`), in ID order.
    pub fn cluster(&self, id: &PatientId) -> Vec<PatientId> {
        let mut seen = BTreeSet::from([*id]);
        let mut todo = vec![*id];
        while let Some(x) = todo.pop() {
            for ((a, b), (_, d)) in &self.pairs {
                if *d != PairDecision::Same {
                    continue;
                }
                let other = if *a == x {
                    b
                } else if *b == x {
                    a
                } else {
                    continue;
                };
                if seen.insert(*other) {
                    todo.push(*other);
                }
            }
        }
        seen.into_iter().collect()
    }

    /// The surviving record of `id`'s person: the record registered first (by creation stamp)
    /// among those merged together; records whose creation is not seen yet come last, by ID.
    pub fn survivor(&self, id: &PatientId) -> PatientId {
        self.cluster(id)
            .into_iter()
            .min_by_key(|p| {
                let created = self
                    .patients
                    .get(p)
                    .and_then(|s| s.origin.as_ref())
                    .map(|o| o.stamp);
                (created.is_none(), created, *p)
            })
            .unwrap_or(*id)
    }

    /// The standing decision about a pair, if any.
    pub fn decision(&self, a: &PatientId, b: &PatientId) -> Option<PairDecision> {
        self.pairs.get(&pair(*a, *b)).map(|(_, d)| *d)
    }

    /// A patient whose creation has been seen, with every field at its winning value.
    pub fn patient(&self, id: &PatientId) -> Option<PatientView> {
        let p = self.patients.get(id)?;
        let origin = p.origin.clone()?;
        let mut fields = PatientFields::blank();
        for (_, v) in p.fields.values() {
            v.apply_to(&mut fields);
        }
        let survivor = self.survivor(id);
        Some(PatientView {
            id: *id,
            origin,
            fields,
            uhid: self.uhids.get(id).map(|(_, u)| u.clone()),
            link: self.links.get(id).map(|(_, l)| l.clone()),
            merged_into: (survivor != *id).then_some(survivor),
        })
    }

    pub fn patients(&self) -> impl Iterator<Item = PatientView> + '_ {
        self.patients.keys().filter_map(|id| self.patient(id))
    }

    /// A visit whose creation has been seen.
    pub fn visit(&self, id: &VisitId) -> Option<VisitView> {
        let v = self.visits.get(id)?;
        let (created, visit) = v.created.clone()?;
        Some(VisitView {
            created,
            visit,
            cancelled: v.cancelled.as_ref().map(|c| c.0),
            reprints: v.reprints.len(),
        })
    }

    pub fn visits(&self) -> impl Iterator<Item = VisitView> + '_ {
        self.visits.keys().filter_map(|id| self.visit(id))
    }

    /// The hospital records an admin said a patient is not.
    pub fn rejected_links(&self, id: &PatientId) -> Vec<Uhid> {
        self.rejected
            .iter()
            .filter(|(p, _)| p == id)
            .map(|(_, u)| u.clone())
            .collect()
    }

    /// The stamp of the winning write to each field of a patient.
    pub fn field_stamps(&self, id: &PatientId) -> Vec<(Field, Stamp)> {
        self.patients
            .get(id)
            .map(|p| p.fields.iter().map(|(f, (s, _))| (*f, *s)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testgen::{arb_ops, shuffled};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn apply_is_order_independent_and_idempotent((ops, order) in arb_ops(40).prop_flat_map(|ops| {
            let n = ops.len();
            (Just(ops), shuffled(n))
        })) {
            let mut a = Replica::new();
            for op in &ops { a.apply(op); }
            let mut b = Replica::new();
            for &i in &order { b.apply(&ops[i]); b.apply(&ops[i]); }
            prop_assert_eq!(&a, &b);
            // Applying everything again changes nothing.
            for op in &ops { prop_assert!(!a.apply(op)); }
        }

        #[test]
        fn merge_is_commutative_associative_idempotent(ops in arb_ops(60), cuts in proptest::collection::vec(0usize..3, 60)) {
            let mut parts = [Replica::new(), Replica::new(), Replica::new()];
            for (op, c) in ops.iter().zip(cuts.iter().cycle()) { parts[*c].apply(op); }
            let [a, b, c] = parts;
            let join = |x: &Replica, y: &Replica| { let mut z = x.clone(); z.merge(y); z };
            prop_assert_eq!(join(&a, &b), join(&b, &a));
            prop_assert_eq!(join(&join(&a, &b), &c), join(&a, &join(&b, &c)));
            prop_assert_eq!(join(&a, &a), a.clone());
            // And merging states equals applying all their ops.
            let mut all = Replica::new();
            for op in &ops { all.apply(op); }
            prop_assert_eq!(join(&join(&a, &b), &c), all);
        }
    }

    fn published(c: u8, from: u32, hlc: u64) -> Published {
        Published {
            config: crate::testgen::config_id(c),
            effective_from: crate::testgen::day() + chrono::Days::new(u64::from(from)),
            stamp: Stamp {
                hlc: crate::Hlc(hlc),
                site: crate::testgen::site(1),
                op: crate::OpId::from_bytes([c; 16]),
            },
        }
    }

    #[test]
    fn the_latest_effective_configuration_is_in_force_and_a_later_publication_breaks_a_tie() {
        let day = crate::testgen::day();
        let first = published(0, 0, 10);
        let next_week = published(1, 7, 5);
        let correction = published(2, 0, 20);
        let all = [first, next_week, correction];
        assert_eq!(config_in_force(&all, day - chrono::Days::new(1)), None);
        // Published later for the same day, it replaces the first.
        assert_eq!(config_in_force(&all, day), Some(&correction));
        assert_eq!(
            config_in_force(&all, day + chrono::Days::new(6)),
            Some(&correction)
        );
        // Effective later, it takes over on its day even though it was published earlier.
        assert_eq!(
            config_in_force(&all, day + chrono::Days::new(7)),
            Some(&next_week)
        );
    }
}
