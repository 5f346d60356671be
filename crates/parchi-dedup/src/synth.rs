//! A seeded generator of synthetic OPD registrations with known duplicates, harder than the
//! labelled sample, and precision/recall helpers to score a scan against it.
//!
//! The generator builds households (a surname, a phone, an address) and fills them the way
//! Indian families are: a man registered as S/o his father, his wife as W/o him, children as S/o
//! or D/o him, sometimes his aged parents, sometimes twins with rhyming names. Names come from
//! Hindu, Muslim, Sikh, Bengali, Bihari and South Indian pools, including the Bihar habit of
//! "Rakesh Kumar" and "Sunita Devi" with no surname at all, so namesakes abound. Some people are
//! then registered again (and again) with what clerks actually do to a name: typos, dropped
//! vowels, doubled letters, transliteration variants, initials, Mohd/Md/Mohammad, Kr/Kumar,
//! a dropped Devi, honorifics, the odd Devanagari spelling; ages guessed a few years off; the
//! mobile missing or changed; the address written differently. A few numbers (a chemist's,
//! a helpdesk's) are typed for many unrelated patients.
//!
//! Everything is a pure function of the seed.

mod clerk;
mod data;
mod quality;

pub(crate) use clerk::register;
pub use quality::{Quality, evaluate};

use crate::{GuardianRelation, Record, Sex};
use data::{
    FEMALE, MALE, MUSLIM_FEMALE, MUSLIM_MALE, MUSLIM_SURNAMES, MUSLIM_WOMAN_SUFFIX, PLACES,
    SIKH_FEMALE, SIKH_MALE, SIKH_SURNAMES, STREETS, SURNAMES,
};

/// SplitMix64: small, fast, and good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        crate::text::mix(self.0)
    }
    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as usize) as i32
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Skewed towards the front of the list, so early names are common (namesakes).
    pub fn pick_skewed<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        let a = self.below(xs.len());
        let b = self.below(xs.len());
        &xs[a.min(b)]
    }
}

/// Where a person's name comes from, which decides its shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Community {
    /// Given + surname, sometimes a Kumar/Kumari/Devi/Prasad in the middle.
    Hindu,
    /// "Rakesh Kumar", "Sunita Devi": no surname at all.
    Bihari,
    /// Mohammad prefix for men; Khatoon/Begum for women.
    Muslim,
    /// Singh / Kaur, sometimes a clan name.
    Sikh,
}

/// A name's parts: prefix (Mohammad), given name, middle (Kumar, Devi), surname.
pub(crate) type NameParts = (
    Option<&'static str>,
    String,
    Option<&'static str>,
    Option<String>,
);

/// A person as they really are; registrations are renderings of this.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub(crate) id: u64,
    pub(crate) household: usize,
    sex: Sex,
    pub(crate) birth_year: i32,
    exact_dob: bool,
    prefix: Option<&'static str>,
    given: String,
    middle: Option<&'static str>,
    surname: Option<String>,
    guardian_relation: GuardianRelation,
    pub(crate) guardian_name: String,
    pub(crate) own_mobile: Option<String>,
    pub(crate) abha: Option<String>,
}

impl Person {
    fn full_name(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(p) = self.prefix {
            parts.push(p);
        }
        parts.push(&self.given);
        if let Some(m) = self.middle {
            parts.push(m);
        }
        if let Some(s) = &self.surname {
            parts.push(s);
        }
        parts.join(" ")
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Household {
    pub(crate) community: Community,
    pub(crate) surname: Option<String>,
    mobile: Option<String>,
    house_no: u32,
    street: &'static str,
    pub(crate) place: (&'static str, &'static str, u32),
}

/// A generated data set: records with the person each one really is.
#[derive(Clone)]
pub struct Synthetic {
    /// Keys are positions (0, 1, 2 …).
    pub records: Vec<Record<u64>>,
    /// The person behind each record, index-aligned with `records`.
    pub person: Vec<u64>,
    /// The household behind each record: records of different people in one household are
    /// relatives (who usually share a phone and an address).
    pub household: Vec<u64>,
}

impl std::fmt::Debug for Synthetic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Synthetic")
            .field("records", &self.records.len())
            .finish()
    }
}

/// How hard a generated set is.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    pub seed: u64,
    /// Registrations to produce.
    pub registrations: usize,
    /// Share of people registered more than once.
    pub duplicate_rate: f64,
    /// The year ages are counted from.
    pub year: i32,
}

impl SynthConfig {
    pub fn new(registrations: usize, seed: u64) -> SynthConfig {
        SynthConfig {
            seed,
            registrations,
            duplicate_rate: 0.18,
            year: 2025,
        }
    }
}

fn pick_str(rng: &mut Rng, xs: &[&'static str]) -> &'static str {
    xs[rng.below(xs.len())]
}

pub(crate) fn mobile(rng: &mut Rng) -> String {
    let first = *rng.pick(b"6789") as char;
    let rest = rng.next_u64() % 1_000_000_000;
    format!("{first}{rest:09}")
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

pub(crate) fn make_household(rng: &mut Rng) -> Household {
    let community = match rng.below(100) {
        0..=49 => Community::Hindu,
        50..=69 => Community::Bihari,
        70..=89 => Community::Muslim,
        _ => Community::Sikh,
    };
    let surname = match community {
        Community::Hindu => Some(rng.pick_skewed(SURNAMES).to_string()),
        Community::Bihari => None,
        Community::Muslim => {
            if rng.chance(0.6) {
                Some(rng.pick(MUSLIM_SURNAMES).to_string())
            } else {
                None
            }
        }
        Community::Sikh => {
            if rng.chance(0.5) {
                Some(rng.pick(SIKH_SURNAMES).to_string())
            } else {
                None
            }
        }
    };
    Household {
        community,
        surname,
        mobile: rng.chance(0.85).then(|| mobile(rng)),
        house_no: rng.range(1, 999) as u32,
        street: pick_str(rng, STREETS),
        place: {
            // A city has dozens of PIN codes; a household has one of them.
            let (d, st, pin) = *rng.pick(PLACES);
            (d, st, pin + rng.below(40) as u32)
        },
    }
}

/// Name parts for a new member of a household.
pub(crate) fn name_for(rng: &mut Rng, h: &Household, sex: Sex) -> NameParts {
    let male = sex == Sex::Male;
    match h.community {
        Community::Hindu => {
            let given = if male {
                rng.pick_skewed(MALE)
            } else {
                rng.pick_skewed(FEMALE)
            };
            let middle = match (male, rng.below(10)) {
                (true, 0..=1) => Some("Kumar"),
                (true, 2) => Some("Prasad"),
                (false, 0..=1) => Some("Devi"),
                (false, 2) => Some("Kumari"),
                _ => None,
            };
            (None, given.to_string(), middle, h.surname.clone())
        }
        Community::Bihari => {
            if male {
                let middle = if rng.chance(0.8) { "Kumar" } else { "Prasad" };
                (None, rng.pick_skewed(MALE).to_string(), Some(middle), None)
            } else {
                let middle = if rng.chance(0.7) { "Devi" } else { "Kumari" };
                (
                    None,
                    rng.pick_skewed(FEMALE).to_string(),
                    Some(middle),
                    None,
                )
            }
        }
        Community::Muslim => {
            if male {
                let prefix = rng.chance(0.6).then_some("Mohammad");
                (
                    prefix,
                    rng.pick_skewed(MUSLIM_MALE).to_string(),
                    None,
                    h.surname.clone(),
                )
            } else {
                let surname = match &h.surname {
                    Some(s) if rng.chance(0.4) => s.clone(),
                    _ => rng.pick(MUSLIM_WOMAN_SUFFIX).to_string(),
                };
                (
                    None,
                    rng.pick_skewed(MUSLIM_FEMALE).to_string(),
                    None,
                    Some(surname),
                )
            }
        }
        Community::Sikh => {
            let (given, tail) = if male {
                (rng.pick(SIKH_MALE), "Singh")
            } else {
                (rng.pick(SIKH_FEMALE), "Kaur")
            };
            let surname = match &h.surname {
                Some(s) => format!("{tail} {s}"),
                None => tail.to_string(),
            };
            (None, given.to_string(), None, Some(surname))
        }
    }
}

/// Builds the people of one household, appending to `people`.
pub(crate) fn populate(
    rng: &mut Rng,
    hid: usize,
    h: &Household,
    year: i32,
    people: &mut Vec<Person>,
) {
    let mut next_id = people.len() as u64;
    let mut add = |rng: &mut Rng,
                   people: &mut Vec<Person>,
                   sex: Sex,
                   birth_year: i32,
                   rel: GuardianRelation,
                   guardian: String,
                   name: Option<NameParts>|
     -> usize {
        let (prefix, given, middle, surname) = name.unwrap_or_else(|| name_for(rng, h, sex));
        let adult = year - birth_year >= 18;
        people.push(Person {
            id: next_id,
            household: hid,
            sex,
            birth_year,
            exact_dob: rng.chance(0.15),
            prefix,
            given,
            middle,
            surname,
            guardian_relation: rel,
            guardian_name: guardian,
            own_mobile: (adult && rng.chance(0.2)).then(|| mobile(rng)),
            abha: rng
                .chance(0.1)
                .then(|| format!("91{:012}", rng.next_u64() % 1_000_000_000_000)),
        });
        next_id += 1;
        people.len() - 1
    };
    let grandfather = {
        let (p, g, m, s) = name_for(rng, h, Sex::Male);
        Person {
            id: 0,
            household: hid,
            sex: Sex::Male,
            birth_year: 0,
            exact_dob: false,
            prefix: p,
            given: g,
            middle: m,
            surname: s,
            guardian_relation: GuardianRelation::SonOf,
            guardian_name: String::new(),
            own_mobile: None,
            abha: None,
        }
    };
    let size = match rng.below(100) {
        0..=29 => 1,
        30..=49 => 2,
        50..=69 => 3,
        70..=84 => 4,
        85..=94 => 5,
        _ => 6,
    };
    let head_age = rng.range(22, 75);
    let head_by = year - head_age;
    let head = add(
        rng,
        people,
        Sex::Male,
        head_by,
        GuardianRelation::SonOf,
        grandfather.full_name(),
        None,
    );
    let head_name = people[head].full_name();
    let mut members = 1;
    // The head's aged father, when he is young enough to have one alive.
    if members < size && head_age < 50 && rng.chance(0.25) {
        let mut gf = grandfather.clone();
        gf.guardian_name = name_for(rng, h, Sex::Male).1;
        let by = head_by - rng.range(20, 35);
        let parts = (gf.prefix, gf.given.clone(), gf.middle, gf.surname.clone());
        add(
            rng,
            people,
            Sex::Male,
            by,
            GuardianRelation::SonOf,
            gf.guardian_name,
            Some(parts),
        );
        members += 1;
    }
    if members < size {
        let by = head_by + rng.range(0, 8);
        add(
            rng,
            people,
            Sex::Female,
            by,
            GuardianRelation::WifeOf,
            head_name.clone(),
            None,
        );
        members += 1;
    }
    let mut child_by = head_by + rng.range(20, 32);
    let mut given_used: Vec<String> = people[head..].iter().map(|p| p.given.clone()).collect();
    while members < size && child_by <= year {
        let twins = rng.chance(0.04) && members + 1 < size;
        for _ in 0..if twins { 2 } else { 1 } {
            let sex = if rng.chance(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            let rel = if sex == Sex::Male {
                GuardianRelation::SonOf
            } else {
                GuardianRelation::DaughterOf
            };
            // Siblings get different names (often rhyming ones: the pools are ordered so).
            let mut parts = name_for(rng, h, sex);
            for _ in 0..8 {
                if !given_used.contains(&parts.1) {
                    break;
                }
                parts = name_for(rng, h, sex);
            }
            given_used.push(parts.1.clone());
            add(
                rng,
                people,
                sex,
                child_by,
                rel,
                head_name.clone(),
                Some(parts),
            );
            members += 1;
        }
        child_by += rng.range(1, 6);
    }
}

/// Generates a set of about `cfg.registrations` registrations.
pub fn generate(cfg: &SynthConfig) -> Synthetic {
    let mut rng = Rng::new(cfg.seed);
    let mut households: Vec<Household> = Vec::new();
    let mut people: Vec<Person> = Vec::new();
    // People first: about 1.25 registrations per person with the default duplicate rate.
    let target_people = (cfg.registrations as f64 / (1.0 + cfg.duplicate_rate * 1.2)) as usize;
    while people.len() < target_people.max(1) {
        let h = make_household(&mut rng);
        populate(&mut rng, households.len(), &h, cfg.year, &mut people);
        households.push(h);
    }
    // Namesakes on purpose: some people carry exactly another's name (a different household,
    // age and guardian).
    let n = people.len();
    for i in 0..n {
        if rng.chance(0.02) {
            let j = rng.below(n);
            let clash = people
                .iter()
                .skip(i.saturating_sub(8))
                .take(16)
                .any(|q| q.household == people[i].household && q.given == people[j].given);
            if !clash
                && people[j].sex == people[i].sex
                && people[j].household != people[i].household
            {
                people[i].given = people[j].given.clone();
                people[i].surname = people[j].surname.clone();
                people[i].middle = people[j].middle;
                people[i].prefix = people[j].prefix;
            }
        }
    }
    // Shared phones: a chemist's or helpdesk number typed for many unrelated patients.
    let shared: Vec<String> = (0..8).map(|_| mobile(&mut rng)).collect();

    let mut out = Synthetic {
        records: Vec::with_capacity(cfg.registrations),
        person: Vec::with_capacity(cfg.registrations),
        household: Vec::with_capacity(cfg.registrations),
    };
    for p in &people {
        let h = &households[p.household];
        let copies = if rng.chance(cfg.duplicate_rate) {
            if rng.chance(0.15) { 3 } else { 2 }
        } else {
            1
        };
        for k in 0..copies {
            let noise = if k == 0 { 0.3 } else { 1.0 };
            let mut r = register(&mut rng, p, h, cfg.year, noise);
            if rng.chance(0.004) {
                r.mobile = Some(rng.pick(&shared).clone());
            }
            out.records.push(r);
            out.person.push(p.id);
            out.household.push(p.household as u64);
        }
        if out.records.len() >= cfg.registrations {
            break;
        }
    }
    // Registrations arrive interleaved from many counters, not person by person.
    let n = out.records.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    let mut shuffled = Synthetic {
        records: Vec::with_capacity(n),
        person: Vec::with_capacity(n),
        household: Vec::with_capacity(n),
    };
    for (pos, &i) in order.iter().enumerate() {
        let mut r = out.records[i].clone();
        r.key = pos as u64;
        shuffled.records.push(r);
        shuffled.person.push(out.person[i]);
        shuffled.household.push(out.household[i]);
    }
    shuffled
}
