//! A seeded synthetic workload of counter operations, for tests and benchmarks.
//!
//! Each simulated counter (site) registers patients, opens visits with its own tokens, corrects
//! fields, cancels and reprints, stamping everything with its own HLC. The mix is roughly a busy
//! OPD: 40% new patients, 40% visits, 10% corrections, 5% cancellations, 5% reprints.
//!
//! [`CentralGen`] makes records of a hospital's own patient index (the mirror), about 250 bytes
//! of canonical JSON each, UHIDs in export order.

use chrono::NaiveDate;
use parchi_core::op::{FieldValue, NewVisit, OpBody};
use parchi_core::patient::{
    BirthDate, Category, GuardianRelation, Mobile, Name, PatientFields, Pincode, Sex, Text,
};
use parchi_core::{
    CentralPatient, Clock, CounterCode, DeptCode, Hlc, Op, OpId, PatientId, SiteId, SiteTag,
    TempId, Token, Uhid, VisitId,
};

/// SplitMix64: small, fast, seeded.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        out
    }
}

const FIRST: [&str; 12] = [
    "Sunita", "Ram", "Mohd", "Anita", "Suresh", "Priya", "Rahul", "Lakshmi", "Arjun", "Fatima",
    "Deepak", "Kavita",
];
const LAST: [&str; 10] = [
    "Devi", "Kumar", "Irfan", "Sharma", "Singh", "Yadav", "Das", "Begum", "Gupta", "Paswan",
];
const DEPTS: [&str; 5] = ["MED", "ENT", "OBG", "PED", "ORTH"];
const COUNTERS: &str = "ABCDEFGHJKMNPQRTVWXYZ";

/// One simulated counter.
#[derive(Clone, Debug)]
pub struct SiteGen {
    pub site: SiteId,
    pub counter: CounterCode,
    tag: SiteTag,
    clock: Clock,
    wall_ms: u64,
    rng: Rng,
    patients: Vec<PatientId>,
    visits: Vec<VisitId>,
    temp_seq: u64,
    token_seq: u32,
    day: NaiveDate,
    ops_today: u64,
}

impl SiteGen {
    /// Counter number `index` (its code is derived from it), starting at `start_ms`.
    pub fn new(index: usize, seed: u64, start_ms: u64) -> Self {
        let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x1234_5678_9ABC_DEF1));
        let c1 = COUNTERS.as_bytes()[index % COUNTERS.len()] as char;
        let code = if index < COUNTERS.len() {
            c1.to_string()
        } else {
            format!("{c1}{}", (index / COUNTERS.len()) % 10)
        };
        let counter = CounterCode::parse(&code).unwrap_or_else(|_| {
            CounterCode::parse("A").unwrap_or_else(|_| unreachable!("A is a valid counter code"))
        });
        let mut site_bytes: [u8; 16] = rng.bytes();
        site_bytes[0] |= 1; // never the nil UUID
        let tag = SiteTag::from_random(rng.bytes());
        Self {
            site: SiteId::from_bytes(site_bytes),
            counter,
            tag,
            clock: Clock::resume(Hlc::ZERO, parchi_core::hlc::DEFAULT_MAX_DRIFT_MS),
            wall_ms: start_ms,
            rng,
            patients: Vec::new(),
            visits: Vec::new(),
            temp_seq: 0,
            token_seq: 0,
            day: NaiveDate::from_ymd_opt(2026, 11, 14).unwrap_or_default(),
            ops_today: 0,
        }
    }

    fn id_bytes(&mut self) -> [u8; 10] {
        self.rng.bytes()
    }

    fn stamp(&mut self) -> (OpId, Hlc) {
        self.wall_ms += 1 + self.rng.below(3);
        let hlc = self.clock.tick(self.wall_ms);
        let r = self.id_bytes();
        (OpId::new_v7(self.wall_ms, r), hlc)
    }

    fn fields(&mut self) -> PatientFields {
        let first = FIRST[self.rng.below(FIRST.len() as u64) as usize];
        let last = LAST[self.rng.below(LAST.len() as u64) as usize];
        let name = Name::parse("name", &format!("{first} {last}"))
            .unwrap_or_else(|_| Name::unknown(Sex::Other));
        let mobile = Mobile::parse(&format!("9{:09}", self.rng.below(1_000_000_000))).ok();
        let year = 1950 + self.rng.below(70) as i32;
        PatientFields {
            name,
            sex: if self.rng.below(2) == 0 {
                Sex::Female
            } else {
                Sex::Male
            },
            birth: BirthDate {
                date: NaiveDate::from_ymd_opt(year, 1 + self.rng.below(12) as u32, 1)
                    .unwrap_or_default(),
                approximate: self.rng.below(3) == 0,
            },
            guardian: None,
            mobile,
            locality: Text::parse("locality", "Ward 7, Kankarbagh").ok().flatten(),
            district: Text::parse("district", "Patna").ok().flatten(),
            state: Text::parse("state", "Bihar").ok().flatten(),
            pincode: None,
            abha_number: None,
            abha_address: None,
            aadhaar_last4: None,
            category: Category::ALL[self.rng.below(5) as usize],
        }
    }

    fn create_patient(&mut self) -> Op {
        let (id, hlc) = self.stamp();
        let patient = PatientId::new_v7(self.wall_ms, self.id_bytes());
        self.temp_seq += 1;
        let temp_id = TempId::issue(&self.counter, self.tag, self.day, self.temp_seq)
            .unwrap_or_else(|_| unreachable!("temp sequence stays below its daily maximum"));
        self.patients.push(patient);
        let fields = self.fields();
        Op {
            id,
            hlc,
            site: self.site,
            body: OpBody::CreatePatient {
                patient,
                temp_id,
                counter: self.counter.clone(),
                quick: self.rng.below(20) == 0,
                fields,
            },
        }
    }

    /// The next operation.
    pub fn next_op(&mut self) -> Op {
        self.ops_today += 1;
        if self.ops_today > 20_000 {
            self.day = self.day.succ_opt().unwrap_or(self.day);
            self.ops_today = 0;
            self.temp_seq = 0;
            self.token_seq = 0;
        }
        let roll = self.rng.below(100);
        if self.patients.is_empty() || roll < 40 {
            return self.create_patient();
        }
        if roll < 80 || self.visits.is_empty() {
            let (id, hlc) = self.stamp();
            let patient = self.patients[self.rng.below(self.patients.len() as u64) as usize];
            let visit = VisitId::new_v7(self.wall_ms, self.id_bytes());
            self.visits.push(visit);
            self.token_seq += 1;
            let dept = DEPTS[self.rng.below(DEPTS.len() as u64) as usize];
            return Op {
                id,
                hlc,
                site: self.site,
                body: OpBody::CreateVisit(NewVisit {
                    visit,
                    patient,
                    department: DeptCode::parse(dept)
                        .unwrap_or_else(|_| unreachable!("department codes in the list are valid")),
                    day: self.day,
                    token: Token {
                        counter: self.counter.clone(),
                        seq: self.token_seq,
                    },
                    fee: 10,
                    category: Category::General,
                }),
            };
        }
        let (id, hlc) = self.stamp();
        let body = if roll < 90 {
            let patient = self.patients[self.rng.below(self.patients.len() as u64) as usize];
            let f = self.fields();
            OpBody::SetField {
                patient,
                value: if self.rng.below(2) == 0 {
                    FieldValue::Mobile(f.mobile)
                } else {
                    FieldValue::Name(f.name)
                },
                prev: None,
            }
        } else if roll < 95 {
            OpBody::CancelVisit {
                visit: self.visits[self.rng.below(self.visits.len() as u64) as usize],
                counter: self.counter.clone(),
                reason: "patient left".into(),
            }
        } else {
            OpBody::RecordReprint {
                visit: self.visits[self.rng.below(self.visits.len() as u64) as usize],
                counter: self.counter.clone(),
            }
        };
        Op {
            id,
            hlc,
            site: self.site,
            body,
        }
    }

    /// `n` ops in a row.
    pub fn ops(&mut self, n: usize) -> Vec<Op> {
        (0..n).map(|_| self.next_op()).collect()
    }

    /// Moves this counter's wall clock (to simulate a clock far ahead or behind).
    pub fn set_wall_ms(&mut self, wall_ms: u64) {
        self.wall_ms = wall_ms;
    }
}

/// `total` ops from `sites` counters, interleaved round-robin in runs of 100 (as a hub receives
/// pushes from several counters).
pub fn mixed(total: usize, sites: usize, seed: u64, start_ms: u64) -> Vec<Op> {
    let mut gens: Vec<SiteGen> = (0..sites.max(1))
        .map(|i| SiteGen::new(i, seed, start_ms))
        .collect();
    let mut out = Vec::with_capacity(total);
    let mut i = 0;
    while out.len() < total {
        let g = &mut gens[i % sites.max(1)];
        let n = (total - out.len()).min(100);
        out.extend(g.ops(n));
        i += 1;
    }
    out
}

const LOCALITIES: [&str; 6] = [
    "Ward 7, Kankarbagh",
    "Mohalla Qazi, Phulwari",
    "Village Bihta",
    "Patliputra Colony",
    "Gali 4, Sabzibagh",
    "Rajendra Nagar",
];

/// Seeded records of a hospital's patient index: UHID `{prefix}{n:09}` for n = 1, 2, …, a name,
/// sex, birth (a year only for one in four), a guardian (one in two), mobile (four in five), an
/// address (PIN code two in three) and when the hospital last saw them (2012 to 2026).
#[derive(Clone, Debug)]
pub struct CentralGen {
    rng: Rng,
    prefix: String,
    n: u64,
}

impl CentralGen {
    pub fn new(seed: u64, prefix: &str) -> Self {
        Self {
            rng: Rng::new(seed),
            prefix: prefix.to_string(),
            n: 0,
        }
    }

    /// The next record's UHID number (the one [`CentralGen::next_record`] gives next).
    pub fn position(&self) -> u64 {
        self.n + 1
    }

    /// The next record.
    pub fn next_record(&mut self) -> CentralPatient {
        self.n += 1;
        let uhid = Uhid::parse(&format!("{}{:09}", self.prefix, self.n))
            .unwrap_or_else(|_| unreachable!("a prefix of letters and 9 digits is a UHID"));
        self.record(uhid)
    }

    /// A fresh record (new name, mobile, dates) for `uhid`: a changed copy.
    pub fn record(&mut self, uhid: Uhid) -> CentralPatient {
        let r = &mut self.rng;
        let pick = |r: &mut Rng, list: &[&'static str]| list[r.below(list.len() as u64) as usize];
        let first = pick(r, &FIRST);
        let last = pick(r, &LAST);
        let name = Name::parse("name", &format!("{first} {last}"))
            .unwrap_or_else(|_| Name::unknown(Sex::Other));
        let guardian_name = (r.below(2) == 0)
            .then(|| {
                Name::parse(
                    "guardian",
                    &format!("{} {}", pick(r, &FIRST), pick(r, &LAST)),
                )
                .ok()
            })
            .flatten();
        let year = 1940 + r.below(85) as i32;
        let birth = if r.below(4) == 0 {
            parchi_core::central::birth_from_year(year)
        } else {
            NaiveDate::from_ymd_opt(year, 1 + r.below(12) as u32, 1 + r.below(28) as u32).map(
                |date| BirthDate {
                    date,
                    approximate: false,
                },
            )
        };
        let seen = NaiveDate::from_ymd_opt(2012 + r.below(15) as i32, 1 + r.below(12) as u32, 1);
        CentralPatient {
            uhid,
            name,
            sex: Some(if r.below(2) == 0 {
                Sex::Female
            } else {
                Sex::Male
            }),
            birth,
            guardian_relation: guardian_name.as_ref().map(|_| match r.below(4) {
                0 => GuardianRelation::SonOf,
                1 => GuardianRelation::DaughterOf,
                2 => GuardianRelation::WifeOf,
                _ => GuardianRelation::CareOf,
            }),
            guardian_name,
            mobile: (r.below(5) != 0)
                .then(|| Mobile::parse(&format!("9{:09}", r.below(1_000_000_000))).ok())
                .flatten(),
            address: Text::parse("address", pick(r, &LOCALITIES)).ok().flatten(),
            district: Text::parse("district", "Patna").ok().flatten(),
            state: Text::parse("state", "Bihar").ok().flatten(),
            pincode: (r.below(3) != 0)
                .then(|| Pincode::parse(&format!("800{:03}", 1 + r.below(30))).ok())
                .flatten(),
            abha_number: None,
            seen,
        }
    }

    /// The next `n` records.
    pub fn records(&mut self, n: usize) -> Vec<CentralPatient> {
        (0..n).map(|_| self.next_record()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parchi_sync::validate::{validate_central, validate_op};

    #[test]
    fn central_records_are_deterministic_valid_and_about_250_bytes() {
        let a = CentralGen::new(5, "DHP").records(2_000);
        assert_eq!(a, CentralGen::new(5, "DHP").records(2_000));
        let mut bytes = 0;
        for r in &a {
            assert_eq!(validate_central(r), Ok(()));
            bytes += serde_json::to_string(r).expect("json").len();
        }
        let mean = bytes / a.len();
        assert!((225..=275).contains(&mean), "{mean} bytes");
    }

    #[test]
    fn workload_is_deterministic_and_valid() {
        let a = mixed(3_000, 3, 7, 1_780_000_000_000);
        let b = mixed(3_000, 3, 7, 1_780_000_000_000);
        assert_eq!(a, b);
        for op in &a {
            assert_eq!(validate_op(op), Ok(()));
        }
        let ids: std::collections::HashSet<_> = a.iter().map(|o| o.id).collect();
        assert_eq!(ids.len(), a.len());
    }
}
