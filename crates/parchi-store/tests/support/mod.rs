//! What the store's test binaries share: a data key, a fixed clock and randomness, a new store,
//! a registration.
#![allow(dead_code)] // each test binary uses its own part

use chrono::NaiveDate;
use parchi_core::patient::{Category, PatientInput};
use parchi_core::{CounterCode, DeptCode};
use parchi_store::{NewRegistration, NewVisitSpec, Stamping, Store};

/// The data key of every store in these tests.
pub fn key() -> parchi_store::DataKey {
    parchi_store::DataKey::from_bytes(&[7u8; 32]).expect("key")
}

pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
}

/// 10:00 IST on `day()` in Unix ms, as the app would pass it.
pub const NOW_MS: u64 = 1_795_840_200_000;

pub fn local(now_ms: u64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .expect("ts")
        .naive_utc()
        + chrono::Duration::minutes(330)
}

pub struct Rng(pub u64);
impl Rng {
    pub fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *x = (self.0 >> 33) as u8;
        }
    }
}

pub fn with_stamping<T>(rng: &mut Rng, now_ms: u64, f: impl FnOnce(&mut Stamping<'_>) -> T) -> T {
    let mut fill = |b: &mut [u8]| rng.fill(b);
    let mut st = Stamping {
        now_ms,
        local: local(now_ms),
        random: &mut fill,
    };
    f(&mut st)
}

pub fn new_store(dir: &std::path::Path, counter: &str, seed: u64) -> Store {
    let mut rng = Rng(seed);
    with_stamping(&mut rng, NOW_MS, |st| {
        Store::create(
            dir,
            &key(),
            CounterCode::parse(counter).expect("counter"),
            "{}",
            st,
        )
        .expect("create")
    })
}

pub fn reg(name: &str, mobile: &str) -> NewRegistration {
    let input = PatientInput {
        name: name.into(),
        sex: "F".into(),
        age: "34".into(),
        mobile: mobile.into(),
        ..Default::default()
    };
    NewRegistration {
        fields: input.validate(day()).expect("valid").fields,
        quick: false,
        visit: NewVisitSpec {
            department: DeptCode::parse("MED").expect("dept"),
            fee: 10,
            category: Category::General,
        },
        link: None,
    }
}
