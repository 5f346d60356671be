//! The seeded records the central bench loads and searches: Indian names from small pools (so
//! namesakes abound, as in a real index), the hospital's records, and clerks' misspellings.

use parchi_core::patient::{Mobile, Name, Pincode, Sex, Text};
use parchi_core::{CentralPatient, Uhid, central::birth_from_year};

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
}

pub fn name(rng: &mut Rng) -> String {
    [rng.pick(FIRST), rng.pick(MIDDLE), rng.pick(LAST)]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn central(rng: &mut Rng, i: u64) -> CentralPatient {
    CentralPatient {
        uhid: Uhid::parse(&format!("DHP{:09}", i + 1)).expect("uhid"),
        name: Name::parse("name", &name(rng)).expect("name"),
        sex: Some(if rng.next().is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }),
        birth: birth_from_year(1930 + (rng.next() % 95) as i32),
        guardian_relation: None,
        guardian_name: Name::parse("guardian", &name(rng)).ok(),
        mobile: Mobile::parse(&format!(
            "{}{:09}",
            6 + rng.next() % 4,
            rng.next() % 1_000_000_000
        ))
        .ok(),
        address: Text::parse(
            "address",
            &format!("H.No. {}, Ward {}", rng.next() % 900, rng.next() % 40),
        )
        .ok()
        .flatten(),
        district: Text::parse("district", "Patna").ok().flatten(),
        state: Text::parse("state", "Bihar").ok().flatten(),
        pincode: Pincode::parse(&format!("8{:05}", rng.next() % 100_000)).ok(),
        abha_number: None,
        seen: "2025-06-01".parse().ok(),
    }
}

/// `s` misspelt the way clerks do: a vowel changed, a letter dropped, two swapped.
pub fn misspell(s: &str, rng: &mut Rng) -> String {
    let mut b: Vec<char> = s.chars().collect();
    let i = 1 + (rng.next() as usize % (b.len() - 2).max(1));
    match rng.next() % 3 {
        0 => b[i] = if b[i] == 'a' { 'e' } else { 'a' },
        1 => {
            b.remove(i);
        }
        _ => {
            let j = (i + 1).min(b.len() - 1);
            b.swap(i, j);
        }
    }
    b.into_iter().collect()
}
