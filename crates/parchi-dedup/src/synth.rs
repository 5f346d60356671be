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

use crate::{Candidate, GuardianRelation, Record, Sex, Verdict};
use std::collections::{HashMap, HashSet};

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

const MALE: &[&str] = &[
    "Ramesh",
    "Rakesh",
    "Rajesh",
    "Mahesh",
    "Suresh",
    "Naresh",
    "Dinesh",
    "Mukesh",
    "Amit",
    "Sumit",
    "Rahul",
    "Rohit",
    "Mohit",
    "Sanjay",
    "Ajay",
    "Vijay",
    "Manoj",
    "Vinod",
    "Pramod",
    "Anil",
    "Sunil",
    "Sonu",
    "Monu",
    "Ravi",
    "Raju",
    "Arun",
    "Tarun",
    "Varun",
    "Karan",
    "Kiran",
    "Deepak",
    "Pankaj",
    "Santosh",
    "Ashok",
    "Alok",
    "Vivek",
    "Abhishek",
    "Ankit",
    "Nitin",
    "Sachin",
    "Gaurav",
    "Saurabh",
    "Vikas",
    "Akash",
    "Prakash",
    "Subhash",
    "Krishna",
    "Gopal",
    "Shankar",
    "Shiv",
    "Lakshman",
    "Bharat",
    "Shatrughan",
    "Jitendra",
    "Dharmendra",
    "Surendra",
    "Mahendra",
    "Rajendra",
    "Upendra",
    "Devendra",
    "Birendra",
    "Yogesh",
    "Umesh",
    "Lokesh",
    "Kamlesh",
    "Brijesh",
    "Hitesh",
    "Ritesh",
    "Nilesh",
    "Harish",
    "Girish",
    "Satish",
    "Manish",
    "Ashish",
    "Aditya",
    "Aarav",
    "Vihaan",
    "Arjun",
    "Sai",
    "Reyansh",
    "Ayaan",
    "Ishaan",
    "Shaurya",
    "Dhruv",
    "Kabir",
    "Ritvik",
    "Pranav",
    "Bhola",
    "Chhotu",
    "Pappu",
    "Bablu",
    "Guddu",
    "Munna",
    "Lalan",
    "Ramdeo",
    "Ramchandra",
    "Shyam",
    "Ghanshyam",
    "Radheshyam",
    "Jagdish",
    "Bhupendra",
    "Somnath",
    "Debashis",
    "Subrata",
    "Sourav",
    "Arnab",
    "Partha",
    "Tapas",
    "Biswajit",
    "Anirban",
    "Venkatesh",
    "Srinivas",
    "Murugan",
    "Senthil",
    "Karthik",
    "Balaji",
    "Ganesh",
    "Suryakant",
    "Vishal",
    "Vikram",
];

const FEMALE: &[&str] = &[
    "Sunita",
    "Anita",
    "Savita",
    "Kavita",
    "Babita",
    "Sarita",
    "Lalita",
    "Geeta",
    "Seema",
    "Reema",
    "Neema",
    "Rekha",
    "Lekha",
    "Pooja",
    "Priya",
    "Riya",
    "Neha",
    "Sneha",
    "Nisha",
    "Usha",
    "Asha",
    "Manju",
    "Anju",
    "Sanju",
    "Rani",
    "Sonam",
    "Kajal",
    "Pinki",
    "Rinki",
    "Mamta",
    "Kiran",
    "Suman",
    "Poonam",
    "Radha",
    "Sita",
    "Gita",
    "Laxmi",
    "Lakshmi",
    "Saraswati",
    "Parvati",
    "Durga",
    "Kamla",
    "Shanti",
    "Kanti",
    "Preeti",
    "Jyoti",
    "Rashmi",
    "Deepa",
    "Shobha",
    "Meena",
    "Veena",
    "Heena",
    "Sapna",
    "Rachna",
    "Archana",
    "Vandana",
    "Kalpana",
    "Sadhana",
    "Aradhana",
    "Ananya",
    "Aadhya",
    "Diya",
    "Ira",
    "Saanvi",
    "Myra",
    "Kiara",
    "Anjali",
    "Shalini",
    "Malini",
    "Nandini",
    "Pallavi",
    "Mousumi",
    "Rupa",
    "Dipali",
    "Sharmila",
    "Tanushree",
    "Moumita",
    "Lakshmamma",
    "Meenakshi",
    "Kamakshi",
    "Bhagwati",
    "Phoolmati",
    "Chinta",
    "Dhaniya",
    "Sugiya",
    "Basanti",
    "Champa",
    "Chameli",
    "Urmila",
    "Nirmala",
    "Vimala",
    "Kaushalya",
    "Sumitra",
    "Kaikeyi",
    "Draupadi",
];

const MUSLIM_MALE: &[&str] = &[
    "Salim", "Irfan", "Arif", "Asif", "Imran", "Rizwan", "Shahid", "Wasim", "Naseem", "Rashid",
    "Javed", "Aftab", "Sajid", "Zahid", "Anwar", "Akhtar", "Iqbal", "Yusuf", "Ismail", "Ibrahim",
    "Idris", "Nasir", "Basir", "Karim", "Rahim", "Halim", "Aslam", "Mushtaq", "Farooq", "Ayaan",
];

const MUSLIM_FEMALE: &[&str] = &[
    "Shabana", "Farhana", "Rehana", "Rukhsana", "Nasreen", "Parveen", "Shaheen", "Yasmin", "Salma",
    "Sultana", "Zarina", "Amina", "Fatima", "Ayesha", "Noor", "Shabnam", "Tabassum", "Gulnaz",
    "Afsana", "Naziya",
];

const MUSLIM_SURNAMES: &[&str] = &[
    "Ansari", "Khan", "Siddiqui", "Qureshi", "Shaikh", "Alam", "Ahmad", "Hussain", "Rizvi", "Haque",
];

const MUSLIM_WOMAN_SUFFIX: &[&str] = &["Khatoon", "Begum", "Bano", "Parveen"];

const SIKH_MALE: &[&str] = &[
    "Gurpreet", "Harpreet", "Manpreet", "Jaspreet", "Amarjit", "Harjit", "Kuldeep", "Sukhdev",
    "Baldev", "Gurdeep", "Navjot", "Jagjit",
];
const SIKH_FEMALE: &[&str] = &[
    "Gurpreet",
    "Harpreet",
    "Manpreet",
    "Jaspreet",
    "Simran",
    "Navneet",
    "Amrit",
    "Kulwinder",
];
const SIKH_SURNAMES: &[&str] = &["Gill", "Sandhu", "Dhillon", "Grewal", "Bajwa", "Sidhu"];

const SURNAMES: &[&str] = &[
    "Sharma",
    "Verma",
    "Gupta",
    "Yadav",
    "Singh",
    "Prasad",
    "Mishra",
    "Pandey",
    "Tiwari",
    "Jha",
    "Sinha",
    "Das",
    "Ghosh",
    "Banerjee",
    "Chatterjee",
    "Mukherjee",
    "Roy",
    "Sen",
    "Paul",
    "Mondal",
    "Patel",
    "Shah",
    "Desai",
    "Joshi",
    "Kulkarni",
    "Patil",
    "Reddy",
    "Naidu",
    "Rao",
    "Iyer",
    "Nair",
    "Menon",
    "Pillai",
    "Chauhan",
    "Rathore",
    "Thakur",
    "Chaudhary",
    "Meena",
    "Paswan",
    "Ram",
    "Mahto",
    "Manjhi",
    "Oraon",
    "Munda",
    "Soren",
    "Hembrom",
    "Tirkey",
    "Ekka",
    "Kujur",
    "Lakra",
    "Toppo",
    "Bhagat",
    "Sahu",
    "Sao",
    "Agarwal",
    "Jain",
    "Goyal",
    "Bansal",
    "Mittal",
    "Saxena",
    "Srivastava",
    "Shukla",
    "Dubey",
    "Dwivedi",
    "Trivedi",
    "Chaturvedi",
    "Upadhyay",
    "Tripathi",
    "Ojha",
    "Pathak",
    "Mehta",
    "Bhatt",
    "Kapoor",
    "Khanna",
    "Malhotra",
    "Arora",
    "Sethi",
    "Rana",
    "Negi",
    "Bisht",
    "Rawat",
    "Kushwaha",
    "Maurya",
    "Nishad",
    "Bind",
    "Rajbhar",
    "Kurmi",
    "Baitha",
    "Rajak",
    "Choudhury",
    "Dey",
    "Saha",
    "Biswas",
    "Sarkar",
];

const PLACES: &[(&str, &str, u32)] = &[
    ("Patna", "Bihar", 800_001),
    ("Gaya", "Bihar", 823_001),
    ("Muzaffarpur", "Bihar", 842_001),
    ("Ranchi", "Jharkhand", 834_001),
    ("Dhanbad", "Jharkhand", 826_001),
    ("Lucknow", "Uttar Pradesh", 226_001),
    ("Varanasi", "Uttar Pradesh", 221_001),
    ("Gorakhpur", "Uttar Pradesh", 273_001),
    ("New Delhi", "Delhi", 110_001),
    ("Gurugram", "Haryana", 122_001),
    ("Jaipur", "Rajasthan", 302_001),
    ("Bhopal", "Madhya Pradesh", 462_001),
    ("Kolkata", "West Bengal", 700_001),
    ("Ludhiana", "Punjab", 141_001),
];

const STREETS: &[&str] = &[
    "Gandhi Nagar",
    "Rajendra Nagar",
    "Kankarbagh",
    "Boring Road",
    "Ashok Vihar",
    "Shastri Nagar",
    "Lal Bazar",
    "Station Road",
    "Mill Road",
    "Nehru Colony",
    "Kali Mandir Gali",
    "Pani Tanki",
    "Subhash Chowk",
    "Hanuman Nagar",
    "Patel Nagar",
    "Indira Colony",
    "Bazar Samiti",
    "Purani Basti",
];

/// Devanagari spellings of some tokens, for the counter that typed the name in Hindi.
const DEVANAGARI: &[(&str, &str)] = &[
    ("Ram", "राम"),
    ("Sunita", "सुनीता"),
    ("Anita", "अनिता"),
    ("Devi", "देवी"),
    ("Kumar", "कुमार"),
    ("Kumari", "कुमारी"),
    ("Sharma", "शर्मा"),
    ("Yadav", "यादव"),
    ("Prasad", "प्रसाद"),
    ("Gupta", "गुप्ता"),
    ("Mishra", "मिश्रा"),
    ("Verma", "वर्मा"),
    ("Ramesh", "रमेश"),
    ("Rakesh", "राकेश"),
    ("Mahesh", "महेश"),
    ("Suresh", "सुरेश"),
    ("Geeta", "गीता"),
    ("Pooja", "पूजा"),
    ("Rahul", "राहुल"),
    ("Amit", "अमित"),
    ("Manoj", "मनोज"),
    ("Vinod", "विनोद"),
    ("Rekha", "रेखा"),
    ("Seema", "सीमा"),
    ("Pandey", "पांडेय"),
    ("Tiwari", "तिवारी"),
];

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

fn typo(rng: &mut Rng, w: &str) -> String {
    let mut b: Vec<u8> = w.bytes().collect();
    if b.len() < 3 || !w.is_ascii() {
        return w.to_owned();
    }
    // Clerks rarely miss the first letter.
    let i = if rng.chance(0.05) {
        0
    } else {
        1 + rng.below(b.len() - 1)
    };
    match rng.below(4) {
        0 => {
            b.remove(i);
        }
        1 => {
            let c = b[i];
            b.insert(i, c);
        }
        2 if i + 1 < b.len() => b.swap(i, i + 1),
        _ => {
            let vowels = b"aeiou";
            if vowels.contains(&b[i]) {
                b[i] = *rng.pick(vowels);
            } else {
                b.remove(i);
            }
        }
    }
    let s = String::from_utf8(b).unwrap_or_else(|_| w.to_owned());
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

/// A transliteration variant: the same sound, spelt another way.
fn variant(rng: &mut Rng, w: &str) -> String {
    const RULES: &[(&str, &str)] = &[
        ("ee", "i"),
        ("i", "ee"),
        ("oo", "u"),
        ("u", "oo"),
        ("sh", "s"),
        ("v", "w"),
        ("w", "v"),
        ("aa", "a"),
        ("a", "aa"),
        ("ksh", "x"),
        ("x", "ksh"),
        ("ph", "f"),
        ("th", "t"),
        ("dh", "d"),
        ("y", "i"),
    ];
    let lower = w.to_lowercase();
    let start = rng.below(RULES.len());
    for k in 0..RULES.len() {
        let (from, to) = RULES[(start + k) % RULES.len()];
        // Leave the first letter alone; that is how variants usually go.
        if let Some(pos) = lower[1.min(lower.len())..].find(from) {
            let pos = pos + 1.min(lower.len());
            let out = format!("{}{}{}", &lower[..pos], to, &lower[pos + from.len()..]);
            return title(&out);
        }
    }
    w.to_owned()
}

fn initial(w: &str) -> String {
    w.chars()
        .next()
        .map(|c| format!("{}.", c.to_ascii_uppercase()))
        .unwrap_or_default()
}

/// How a clerk writes a person's name on one occasion. `noise` scales how much goes wrong.
fn render_name(rng: &mut Rng, p: &Person, noise: f64) -> String {
    let mut given = p.given.clone();
    let mut surname = p.surname.clone();
    let mut prefix = p.prefix.map(str::to_owned);
    let mut middle = p.middle.map(str::to_owned);
    if rng.chance(0.3 * noise) {
        given = typo(rng, &given);
    }
    if rng.chance(0.25 * noise) {
        given = variant(rng, &given);
    }
    if let Some(s) = &surname {
        if rng.chance(0.2 * noise) {
            surname = Some(typo(rng, s));
        } else if rng.chance(0.15 * noise) {
            surname = Some(variant(rng, s));
        } else if rng.chance(0.04 * noise) && middle.is_none() && prefix.is_none() {
            surname = None;
        }
    }
    if rng.chance(0.1 * noise) {
        given = initial(&given);
    }
    if let Some(px) = &prefix {
        if rng.chance(0.6 * noise) {
            prefix = match rng.below(6) {
                0 => Some("Mohd".into()),
                1 => Some("Md.".into()),
                2 => Some("Mohammed".into()),
                3 => Some("Muhammad".into()),
                4 => Some("M.".into()),
                _ => None,
            };
        } else {
            prefix = Some(px.clone());
        }
    }
    if let Some(m) = &middle {
        if rng.chance(0.4 * noise) {
            middle = match (m.as_str(), rng.below(3)) {
                ("Kumar" | "Kumari", 0) => Some("Kr".into()),
                ("Prasad", 0) => Some("Pd".into()),
                (_, 1) => None,
                _ => Some(m.clone()),
            };
        }
    } else if p.sex == Sex::Female && p.surname.is_some() && rng.chance(0.05 * noise) {
        middle = Some("Devi".into());
    }
    let mut parts: Vec<String> = Vec::new();
    if rng.chance(0.05 * noise) {
        parts.push(if p.sex == Sex::Female { "Smt." } else { "Shri" }.into());
    }
    parts.extend(prefix);
    parts.push(given);
    parts.extend(middle);
    parts.extend(surname);
    if rng.chance(0.05 * noise) {
        let hindi: Option<Vec<&str>> = parts
            .iter()
            .map(|t| DEVANAGARI.iter().find(|(l, _)| l == t).map(|(_, d)| *d))
            .collect();
        if let Some(h) = hindi {
            return h.join(" ");
        }
    }
    parts.join(" ")
}

fn render_guardian(rng: &mut Rng, g: &str, noise: f64) -> Option<String> {
    if rng.chance(0.06 * noise) {
        return None;
    }
    let mut toks: Vec<String> = g.split(' ').map(str::to_owned).collect();
    if rng.chance(0.1 * noise) {
        let i = rng.below(toks.len());
        toks[i] = typo(rng, &toks[i]);
    }
    if rng.chance(0.05 * noise) && toks.len() > 1 {
        toks[0] = initial(&toks[0]);
    }
    if rng.chance(0.05 * noise) && toks.len() > 1 {
        toks.pop();
    }
    Some(toks.join(" "))
}

pub(crate) fn register(
    rng: &mut Rng,
    p: &Person,
    h: &Household,
    year: i32,
    noise: f64,
) -> Record<u64> {
    let age = year - p.birth_year;
    let (birth_year, approx) = if p.exact_dob && rng.chance(0.7) {
        (p.birth_year, false)
    } else {
        // Ages are guessed, more loosely for the old.
        let jitter = match rng.below(100) {
            0..=59 => 0,
            60..=84 => 1,
            85..=95 => 2,
            96..=98 => 3,
            _ => 5,
        };
        let jitter = if noise > 0.5 { jitter } else { jitter.min(1) };
        let sign = if rng.chance(0.5) { 1 } else { -1 };
        let guessed = (age + sign * jitter).max(0);
        (year - guessed, true)
    };
    let mobile = match rng.below(100) {
        _ if noise < 0.5 => p.own_mobile.clone().or_else(|| h.mobile.clone()),
        0..=64 => p.own_mobile.clone().or_else(|| h.mobile.clone()),
        65..=84 => None,
        _ => Some(self::mobile(rng)),
    };
    let address = if rng.chance(0.25 * noise) {
        format!("{}/{}, {}", h.house_no, rng.range(1, 99), h.street)
    } else if rng.chance(0.5) {
        format!("H.No. {}, {}", h.house_no, h.street)
    } else {
        format!("{}, {}", h.house_no, h.street)
    };
    let pincode = if rng.chance(0.03 * noise) {
        h.place.2 + rng.range(1, 30) as u32
    } else {
        h.place.2
    };
    let sex = if rng.chance(0.005 * noise) {
        if p.sex == Sex::Male {
            Sex::Female
        } else {
            Sex::Male
        }
    } else {
        p.sex
    };
    Record {
        key: 0,
        name: render_name(rng, p, noise),
        sex: Some(sex),
        birth_year: Some(birth_year),
        birth_approximate: approx,
        guardian_relation: Some(p.guardian_relation),
        guardian_name: render_guardian(rng, &p.guardian_name, noise),
        mobile,
        address: Some(address),
        district: Some(h.place.0.to_owned()),
        state: Some(h.place.1.to_owned()),
        pincode: Some(pincode.to_string()),
        abha: p.abha.clone().filter(|_| rng.chance(0.5)),
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

/// Precision and recall of the `Likely` candidates against the truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    pub precision: f64,
    pub recall: f64,
    /// True pairs proposed.
    pub true_pos: usize,
    /// Proposed pairs that are two people.
    pub false_pos: usize,
    /// True pairs not proposed.
    pub false_neg: usize,
    /// Proposed pairs that are two relatives from one household (the mistake that matters most).
    pub relatives_proposed: usize,
    /// Pairs of two relatives that share a mobile and were generated (the hard negatives).
    pub relatives_sharing_mobile: usize,
    /// Share of true pairs reported at all (`Likely` or `Review`): what an admin gets to see.
    pub recall_with_review: f64,
}

/// Scores `Likely` candidates against the truth (keys are positions in `set.records`).
pub fn evaluate(set: &Synthetic, cands: &[Candidate<u64>]) -> Quality {
    let proposed: HashSet<(u64, u64)> = cands
        .iter()
        .filter(|c| c.verdict == Verdict::Likely)
        .map(|c| (c.a.min(c.b), c.a.max(c.b)))
        .collect();
    let mut by_person: HashMap<u64, Vec<u64>> = HashMap::new();
    for (i, p) in set.person.iter().enumerate() {
        by_person.entry(*p).or_default().push(i as u64);
    }
    let mut truth: HashSet<(u64, u64)> = HashSet::new();
    for rows in by_person.values() {
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i + 1..] {
                truth.insert((*a.min(b), *a.max(b)));
            }
        }
    }
    let reported: HashSet<(u64, u64)> =
        cands.iter().map(|c| (c.a.min(c.b), c.a.max(c.b))).collect();
    let seen = truth.iter().filter(|p| reported.contains(p)).count();
    let true_pos = proposed.iter().filter(|p| truth.contains(p)).count();
    let false_pos = proposed.len() - true_pos;
    let false_neg = truth.len() - true_pos;
    let relatives_proposed = proposed
        .iter()
        .filter(|(a, b)| {
            let (a, b) = (*a as usize, *b as usize);
            set.household[a] == set.household[b] && set.person[a] != set.person[b]
        })
        .count();
    let mut by_mobile: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in set.records.iter().enumerate() {
        if let Some(m) = &r.mobile {
            by_mobile.entry(m.as_str()).or_default().push(i);
        }
    }
    let mut relatives_sharing_mobile = 0;
    for rows in by_mobile.values().filter(|v| v.len() <= 50) {
        for (i, &a) in rows.iter().enumerate() {
            for &b in &rows[i + 1..] {
                if set.household[a] == set.household[b] && set.person[a] != set.person[b] {
                    relatives_sharing_mobile += 1;
                }
            }
        }
    }
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    Quality {
        precision: ratio(true_pos, true_pos + false_pos),
        recall: ratio(true_pos, true_pos + false_neg),
        true_pos,
        false_pos,
        false_neg,
        relatives_proposed,
        relatives_sharing_mobile,
        recall_with_review: ratio(seen, truth.len()),
    }
}
