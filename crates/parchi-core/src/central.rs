//! The hospital's own patient index, as Parchi sees it.
//!
//! - [`CentralPatient`]: one record of the hospital's master patient index, copied in before the
//!   outage (the **mirror**). Mirror records are read-only: Parchi never writes one. They are
//!   not operations and do not take part in the merge rules; a newer copy of a record replaces
//!   the older one by UHID.
//! - [`CentralLink`]: what is known of a Parchi patient's place in that index (the **link**), a
//!   last-writer-wins register per patient carried by `OpBody::Link`. Linking a patient to the
//!   UHID on their card, an automatic match after the outage, an admin's accept or reject: each
//!   is an operation, so links converge like every other decision.
//!
//! A person (the records merged together) has one link: [`person_link`] states the rule once.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::hlc::Stamp;
use crate::ids::Uhid;
use crate::op::Field;
use crate::patient::{
    AbhaNumber, BirthDate, Guardian, GuardianRelation, Mobile, Name, PatientFields, Pincode, Sex,
    Text,
};

/// A patient as the hospital's own index holds them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralPatient {
    pub uhid: Uhid,
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    /// A full date of birth, or a year only (then `approximate`, on 1 July of that year).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth: Option<BirthDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian_relation: Option<GuardianRelation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian_name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Mobile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pincode: Option<Pincode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abha_number: Option<AbhaNumber>,
    /// When the hospital last saw the patient (or last changed the record): a counter may keep
    /// only the patients seen in the last few years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<NaiveDate>,
}

crate::redacted_debug!(CentralPatient, uhid);

/// A year of birth as the hospital's index may give it, as a [`BirthDate`].
pub fn birth_from_year(year: i32) -> Option<BirthDate> {
    NaiveDate::from_ymd_opt(year, 7, 1).map(|date| BirthDate {
        date,
        approximate: true,
    })
}

/// Why a mirror record cannot become a Parchi patient as it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incomplete {
    Sex,
    Birth,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Incomplete::Sex => "the hospital's record has no sex",
            Incomplete::Birth => "the hospital's record has no date or year of birth",
        })
    }
}

impl CentralPatient {
    pub fn birth_year(&self) -> Option<i32> {
        self.birth.map(|b| b.date.year())
    }

    /// The fields of a Parchi patient copied from this record, for a visit started from the
    /// mirror (what the slip prints). The hospital's record itself stays as it is.
    pub fn to_fields(&self) -> Result<PatientFields, Incomplete> {
        let sex = self.sex.ok_or(Incomplete::Sex)?;
        let birth = self.birth.ok_or(Incomplete::Birth)?;
        let mut f = PatientFields::blank();
        f.name = self.name.clone();
        f.sex = sex;
        f.birth = birth;
        f.guardian = self.guardian_name.clone().map(|name| Guardian {
            relation: self.guardian_relation.unwrap_or(GuardianRelation::CareOf),
            name,
        });
        f.mobile = self.mobile.clone();
        f.locality = self.address.clone();
        f.district = self.district.clone();
        f.state = self.state.clone();
        f.pincode = self.pincode.clone();
        f.abha_number = self.abha_number.clone();
        Ok(f)
    }
}

/// How a link to the hospital's record was established.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkBasis {
    /// The UHID on the patient's card, found in the mirror and matching the person.
    Card,
    /// The same ABHA number.
    Abha,
    /// Matched on demographics after the outage, sure enough to need no review.
    Auto,
    /// Accepted by an admin in the link review.
    Admin,
}

impl LinkBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkBasis::Card => "card",
            LinkBasis::Abha => "abha",
            LinkBasis::Auto => "auto",
            LinkBasis::Admin => "admin",
        }
    }
}

/// What is known of a Parchi patient's record in the hospital's index.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CentralLink {
    /// The clerk took this UHID from the patient's card, but it could not be verified (not in
    /// the counter's mirror, or its record differs sharply from the person at the counter). To
    /// be reconciled after the outage.
    Claimed { uhid: Uhid },
    /// The patient is the hospital's record `uhid`. `update` lists the fields whose value Parchi
    /// captured that an admin approved for the hospital's record (a new mobile, say); nothing
    /// else Parchi holds is ever written over the hospital's record.
    Linked {
        uhid: Uhid,
        basis: LinkBasis,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        update: Vec<Field>,
    },
    /// Not in the hospital's index: a new patient, to be created there.
    New,
    /// Not the hospital's record `uhid` (a proposed link an admin rejected). Every such
    /// rejection is remembered, so the link never proposes that record for the patient again.
    NotLinked { uhid: Uhid },
}

impl CentralLink {
    pub fn status(&self) -> &'static str {
        match self {
            CentralLink::Claimed { .. } => "claimed",
            CentralLink::Linked { .. } => "linked",
            CentralLink::New => "new",
            CentralLink::NotLinked { .. } => "not_linked",
        }
    }

    /// The UHID the link names, if any.
    pub fn uhid(&self) -> Option<&Uhid> {
        match self {
            CentralLink::Claimed { uhid }
            | CentralLink::Linked { uhid, .. }
            | CentralLink::NotLinked { uhid } => Some(uhid),
            CentralLink::New => None,
        }
    }

    /// Decided: linked to a record, or known to be new. Claims and rejections still need the
    /// link run (or an admin).
    pub fn is_decided(&self) -> bool {
        matches!(self, CentralLink::Linked { .. } | CentralLink::New)
    }

    /// Which link of a person's records counts: a link to a record first, then "new", then a
    /// claim; a rejection alone says nothing of who the person is.
    fn rank(&self) -> u8 {
        match self {
            CentralLink::Linked { .. } => 3,
            CentralLink::New => 2,
            CentralLink::Claimed { .. } => 1,
            CentralLink::NotLinked { .. } => 0,
        }
    }
}

/// The link of a person from the links of their records (merged records are one person): the
/// highest-ranked kind (linked, new, claimed, not linked), the latest by stamp among those.
pub fn person_link<'a>(
    links: impl IntoIterator<Item = (&'a Stamp, &'a CentralLink)>,
) -> Option<&'a CentralLink> {
    links
        .into_iter()
        .max_by(|(sa, a), (sb, b)| a.rank().cmp(&b.rank()).then(sa.cmp(sb)))
        .map(|(_, l)| l)
}

/// The UHID a record is known by: the hospital's record it is linked to, else the UHID assigned
/// to it as a new patient, else the one claimed from a card.
pub fn effective_uhid(link: Option<&CentralLink>, assigned: Option<&Uhid>) -> Option<Uhid> {
    match link {
        Some(CentralLink::Linked { uhid, .. }) => Some(uhid.clone()),
        Some(CentralLink::Claimed { uhid }) => Some(assigned.unwrap_or(uhid).clone()),
        _ => assigned.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::ids::{OpId, SiteId};

    fn stamp(h: u64) -> Stamp {
        Stamp {
            hlc: Hlc(h),
            site: SiteId::from_bytes([1; 16]),
            op: OpId::from_bytes([h as u8; 16]),
        }
    }

    fn uhid(s: &str) -> Uhid {
        Uhid::parse(s).expect("uhid")
    }

    #[test]
    fn a_link_to_a_record_outranks_a_later_claim_or_rejection() {
        let linked = CentralLink::Linked {
            uhid: uhid("DHP0001"),
            basis: LinkBasis::Card,
            update: vec![],
        };
        let claim = CentralLink::Claimed {
            uhid: uhid("DHP0002"),
        };
        let rejected = CentralLink::NotLinked {
            uhid: uhid("DHP0003"),
        };
        let (s1, s2, s3) = (stamp(1), stamp(2), stamp(3));
        let got = person_link([(&s1, &linked), (&s2, &claim), (&s3, &rejected)]);
        assert_eq!(got, Some(&linked));
        // Among links of one kind, the latest stands.
        let later = CentralLink::Linked {
            uhid: uhid("DHP0004"),
            basis: LinkBasis::Admin,
            update: vec![],
        };
        assert_eq!(person_link([(&s3, &later), (&s1, &linked)]), Some(&later));
        assert_eq!(person_link([]), None);
    }

    #[test]
    fn the_uhid_shown_prefers_the_hospital_record_then_an_assigned_one_then_a_claim() {
        let assigned = uhid("DHP9000");
        let linked = CentralLink::Linked {
            uhid: uhid("DHP0001"),
            basis: LinkBasis::Auto,
            update: vec![],
        };
        let claim = CentralLink::Claimed {
            uhid: uhid("DHP0002"),
        };
        assert_eq!(
            effective_uhid(Some(&linked), Some(&assigned)),
            Some(uhid("DHP0001"))
        );
        assert_eq!(effective_uhid(Some(&claim), None), Some(uhid("DHP0002")));
        assert_eq!(
            effective_uhid(Some(&claim), Some(&assigned)),
            Some(assigned.clone())
        );
        assert_eq!(effective_uhid(Some(&CentralLink::New), None), None);
        assert_eq!(
            effective_uhid(
                Some(&CentralLink::NotLinked {
                    uhid: uhid("DHP0003")
                }),
                None
            ),
            None
        );
    }

    #[test]
    fn links_keep_their_wire_shape() {
        let l = CentralLink::Linked {
            uhid: uhid("DHP0001"),
            basis: LinkBasis::Card,
            update: vec![Field::Mobile],
        };
        let j = serde_json::to_value(&l).expect("json");
        assert_eq!(
            j,
            serde_json::json!({"status":"linked","uhid":"DHP0001","basis":"card","update":["mobile"]})
        );
        let back: CentralLink = serde_json::from_value(j).expect("back");
        assert_eq!(back, l);
        assert_eq!(
            serde_json::to_value(CentralLink::New).expect("json"),
            serde_json::json!({"status":"new"})
        );
    }

    #[test]
    fn a_mirror_record_without_sex_or_birth_cannot_start_a_visit_alone() {
        let mut c = CentralPatient {
            uhid: uhid("DHP0001"),
            name: Name::parse("name", "Sunita Devi").expect("name"),
            sex: None,
            birth: birth_from_year(1980),
            guardian_relation: None,
            guardian_name: Some(Name::parse("guardian", "Ramesh Kumar").expect("g")),
            mobile: None,
            address: None,
            district: None,
            state: None,
            pincode: None,
            abha_number: None,
            seen: None,
        };
        assert_eq!(c.to_fields().err(), Some(Incomplete::Sex));
        c.sex = Some(Sex::Female);
        let f = c.to_fields().expect("fields");
        assert_eq!(f.birth.date.year(), 1980);
        assert!(f.birth.approximate);
        assert_eq!(
            f.guardian.map(|g| g.relation),
            Some(GuardianRelation::CareOf)
        );
        assert!(!format!("{c:?}").contains("Sunita"));
    }
}
