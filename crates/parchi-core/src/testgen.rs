//! Generators of random operations for property tests (here, in the store and in the hub).
//! Enabled by the `testgen` feature; never part of a release build.

use chrono::NaiveDate;
use proptest::prelude::*;

use crate::central::{CentralLink, LinkBasis};
use crate::hlc::Hlc;
use crate::ids::{
    ConfigId, CounterCode, DeptCode, OpId, PatientId, SiteId, SiteTag, TempId, Token, Uhid, VisitId,
};
use crate::op::{FieldValue, NewVisit, Op, OpBody, PairDecision};
use crate::patient::{BirthDate, Category, Mobile, Name, PatientFields, Sex};

const NAMES: [&str; 4] = ["Sunita Devi", "Ram Kumar", "Mohd Irfan", "सुनीता देवी"];
const MOBILES: [&str; 3] = ["9876543210", "8765432109", "7654321098"];

fn name(i: usize) -> Name {
    Name::parse("name", NAMES[i % NAMES.len()]).expect("valid test name")
}

pub fn site(i: u8) -> SiteId {
    SiteId::from_bytes([i; 16])
}

pub fn patient_id(i: u8) -> PatientId {
    PatientId::from_bytes([0x10 + i; 16])
}

pub fn visit_id(i: u8) -> VisitId {
    VisitId::from_bytes([0x40 + i; 16])
}

pub fn config_id(i: u8) -> ConfigId {
    ConfigId::from_bytes([0x70 + i; 16])
}

pub fn counter(i: u8) -> CounterCode {
    CounterCode::parse(["A", "B", "C", "D"][usize::from(i % 4)]).expect("valid counter")
}

pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("valid day")
}

pub fn fields(i: usize) -> PatientFields {
    PatientFields {
        name: name(i),
        sex: if i.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        birth: BirthDate {
            date: NaiveDate::from_ymd_opt(1980 + (i % 30) as i32, 1, 1).expect("date"),
            approximate: i.is_multiple_of(3),
        },
        guardian: None,
        mobile: Mobile::parse(MOBILES[i % MOBILES.len()]).ok(),
        locality: None,
        district: None,
        state: None,
        pincode: None,
        abha_number: None,
        abha_address: None,
        aadhaar_last4: None,
        category: Category::ALL[i % 5],
    }
}

/// A body about a small universe of 4 patients and 4 visits, so ops collide often.
pub fn arb_body() -> impl Strategy<Value = OpBody> {
    let create = (0u8..4, 0usize..8, 0u8..3).prop_map(|(p, f, s)| OpBody::CreatePatient {
        patient: patient_id(p),
        temp_id: TempId::issue(
            &counter(s),
            SiteTag::from_random([s, p, 0, 0]),
            day(),
            u64::from(p) + 1,
        )
        .expect("valid temp id"),
        counter: counter(s),
        quick: f % 4 == 0,
        fields: fields(f),
    });
    let set = (0u8..4, 0usize..8, 0usize..4).prop_map(|(p, v, which)| {
        let f = fields(v);
        let value = match which {
            0 => FieldValue::Name(f.name),
            1 => FieldValue::Mobile(f.mobile),
            2 => FieldValue::Birth(f.birth),
            _ => FieldValue::Category(f.category),
        };
        OpBody::SetField {
            patient: patient_id(p),
            value,
            prev: None,
        }
    });
    // A visit's token is fixed by its ID: two visits never share one (that needs a cloned disk).
    let visit = (0u8..4, 0u8..4).prop_map(|(v, p)| {
        OpBody::CreateVisit(NewVisit {
            visit: visit_id(v),
            patient: patient_id(p),
            department: DeptCode::parse("MED").expect("dept"),
            day: day(),
            token: Token {
                counter: counter(v % 3),
                seq: u32::from(v) + 1,
            },
            fee: 10,
            category: Category::General,
        })
    });
    let cancel = (0u8..4, 0u8..3, "[a-z ]{0,10}").prop_map(|(v, s, reason)| OpBody::CancelVisit {
        visit: visit_id(v),
        counter: counter(s),
        reason,
    });
    let reprint = (0u8..4, 0u8..3).prop_map(|(v, s)| OpBody::RecordReprint {
        visit: visit_id(v),
        counter: counter(s),
    });
    let uhid = (0u8..4, 0u32..3).prop_map(|(p, n)| OpBody::AssignUhid {
        patient: patient_id(p),
        uhid: Uhid::parse(&format!("DHP{}", 1000 + n)).expect("valid uhid"),
    });
    let decide = (0u8..4, 0u8..4, any::<bool>())
        .prop_filter("two records", |(a, b, _)| a != b)
        .prop_map(|(a, b, same)| OpBody::Decide {
            a: patient_id(a),
            b: patient_id(b),
            decision: if same {
                PairDecision::Same
            } else {
                PairDecision::Distinct
            },
            reason: String::new(),
        });
    let link = (0u8..4, 0u32..3, 0u8..4).prop_map(|(p, n, kind)| {
        let uhid = Uhid::parse(&format!("CEN{}", 500 + n)).expect("valid uhid");
        OpBody::Link {
            patient: patient_id(p),
            link: match kind {
                0 => CentralLink::Claimed { uhid },
                1 => CentralLink::Linked {
                    uhid,
                    basis: LinkBasis::Card,
                    update: Vec::new(),
                },
                2 => CentralLink::New,
                _ => CentralLink::NotLinked { uhid },
            },
            reason: String::new(),
        }
    });
    let config = (0u8..3, 0u32..3, 0u8..4).prop_map(|(c, from, v)| OpBody::PublishConfig {
        config: config_id(c),
        effective_from: day() + chrono::Days::new(u64::from(from)),
        settings: serde_json::json!({ "version": v }),
        note: String::new(),
    });
    prop_oneof![3 => create, 4 => set, 2 => visit, 1 => cancel, 1 => reprint, 1 => uhid, 2 => decide, 2 => link, 1 => config]
}

/// Up to `max` operations from 3 sites, with distinct op IDs and clustered HLCs (so ties in wall
/// time across sites happen).
pub fn arb_ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec((arb_body(), 0u8..3, 0u64..20, 0u16..3), 1..max).prop_map(|items| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, (body, s, wall, logical))| Op {
                id: OpId::from_bytes({
                    let mut b = [0u8; 16];
                    b[..8].copy_from_slice(&(i as u64).to_be_bytes());
                    b
                }),
                hlc: Hlc::new(1_700_000_000_000 + wall, logical),
                site: site(s),
                body,
            })
            .collect()
    })
}

/// A random permutation of `0..n`.
pub fn shuffled(n: usize) -> impl Strategy<Value = Vec<usize>> {
    Just((0..n).collect::<Vec<_>>()).prop_shuffle()
}
