//! The bench's synthetic registrations: names, mobiles and addresses from a seeded generator,
//! and names misspelt the way clerks do.

use chrono::NaiveDate;
use parchi_core::DeptCode;
use parchi_core::patient::{Category, PatientInput};
use parchi_store::{NewRegistration, NewVisitSpec};

const FIRST: &[&str] = &[
    "Aarav",
    "Aditi",
    "Amit",
    "Anil",
    "Anita",
    "Anjali",
    "Arjun",
    "Asha",
    "Ashok",
    "Bhavna",
    "Chandan",
    "Deepak",
    "Dinesh",
    "Farida",
    "Ganesh",
    "Geeta",
    "Gopal",
    "Harish",
    "Imran",
    "Irfan",
    "Jaya",
    "Kamala",
    "Karan",
    "Kavita",
    "Lakshmi",
    "Madhu",
    "Mahesh",
    "Manoj",
    "Meena",
    "Mohan",
    "Mohammad",
    "Mukesh",
    "Nadia",
    "Naresh",
    "Neha",
    "Nisha",
    "Pankaj",
    "Pooja",
    "Pradeep",
    "Priya",
    "Rahul",
    "Rajesh",
    "Rakesh",
    "Ramesh",
    "Rani",
    "Ravi",
    "Rekha",
    "Rohit",
    "Sabina",
    "Sachin",
    "Sandeep",
    "Sanjay",
    "Sarita",
    "Seema",
    "Shabana",
    "Shankar",
    "Shanti",
    "Shyam",
    "Sita",
    "Sonia",
    "Suman",
    "Sunil",
    "Sunita",
    "Suresh",
    "Sushma",
    "Tanvi",
    "Uma",
    "Usha",
    "Vijay",
    "Vikas",
    "Vinod",
    "Yasmin",
    "Zubair",
    "Abdul",
    "Bablu",
    "Chhotu",
    "Dharmendra",
    "Fatima",
    "Guddu",
    "Heena",
];
const MIDDLE: &[&str] = &[
    "", "", "", "Kumar", "Devi", "Prasad", "Kumari", "Lal", "Chand", "Nath",
];
const LAST: &[&str] = &[
    "Sharma",
    "Verma",
    "Yadav",
    "Singh",
    "Kumar",
    "Gupta",
    "Mishra",
    "Pandey",
    "Tiwari",
    "Paswan",
    "Mandal",
    "Ansari",
    "Khan",
    "Shaikh",
    "Das",
    "Ghosh",
    "Bose",
    "Chatterjee",
    "Mukherjee",
    "Roy",
    "Saha",
    "Sinha",
    "Jha",
    "Thakur",
    "Chaudhary",
    "Patel",
    "Shah",
    "Mehta",
    "Reddy",
    "Rao",
    "Nair",
    "Pillai",
    "Iyer",
    "Menon",
    "Khatoon",
    "Begum",
    "Prasad",
    "Ram",
    "Manjhi",
    "Rajak",
    "Sahni",
    "Kushwaha",
    "Mahto",
    "Oraon",
    "Munda",
    "Hembram",
];

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    pub fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            *x = self.next() as u8;
        }
    }
}

fn name(rng: &mut Rng) -> String {
    let m = rng.pick(MIDDLE);
    let parts = [rng.pick(FIRST), m, rng.pick(LAST)];
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn registration(rng: &mut Rng, day: NaiveDate) -> (NewRegistration, String) {
    let n = name(rng);
    let mobile = format!("{}{:09}", 6 + rng.next() % 4, rng.next() % 1_000_000_000);
    let input = PatientInput {
        name: n.clone(),
        sex: if rng.next().is_multiple_of(2) {
            "M".into()
        } else {
            "F".into()
        },
        age: format!("{}", 1 + rng.next() % 90),
        guardian_relation: "S/o".into(),
        guardian_name: name(rng),
        mobile: mobile.clone(),
        locality: format!("H.No. {}, Ward {}", rng.next() % 900, rng.next() % 40),
        district: "Patna".into(),
        state: "Bihar".into(),
        pincode: format!("8{:05}", rng.next() % 100_000),
        ..Default::default()
    };
    let fields = match input.validate(day) {
        Ok(v) => v.fields,
        Err(e) => panic!("generator made an invalid patient: {e}"),
    };
    let visit = NewVisitSpec {
        department: DeptCode::parse(["MED", "SUR", "PED", "OBG", "ENT"][(rng.next() % 5) as usize])
            .expect("dept"),
        fee: 10,
        category: Category::General,
    };
    (
        NewRegistration {
            fields,
            quick: false,
            visit,
            link: None,
        },
        mobile,
    )
}

pub fn misspell(name: &str, rng: &mut Rng) -> String {
    let mut w: Vec<char> = name.chars().collect();
    let vowels: Vec<usize> = (1..w.len()).filter(|&i| "aeiou".contains(w[i])).collect();
    if !vowels.is_empty() {
        let i = vowels[(rng.next() % vowels.len() as u64) as usize];
        if rng.next().is_multiple_of(2) {
            w.remove(i);
        } else {
            w.insert(i, w[i]);
        }
    }
    w.into_iter().collect()
}
