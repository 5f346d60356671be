//! Counter benchmarks: registration commit latency against plain SQLite inserts of the same rows
//! at the same durability, and search latency, at a given number of stored patients.
//!
//! `cargo bench -p parchi-store --bench counter -- 100000 1000000`
//!
//! For each size it fills a store (bulk, in large transactions), then measures, in the same run:
//! - `register`: one durable transaction per registration (patient, visit, token, 2 operations,
//!   search index), WAL + synchronous=FULL;
//! - the baseline: plain inserts of the same rows, as PRODUCT.md words it (patient, visit, token
//!   and operations): a patient row, a token row, a visit row and two operation rows with JSON
//!   bodies per transaction, into an equally filled plain SQLite database, WAL +
//!   synchronous=FULL;
//! - search: exact mobile, exact temporary ID, and misspelt names.

use std::path::Path;
use std::time::Instant;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use parchi_core::patient::{Category, PatientInput};
use parchi_core::{CounterCode, DeptCode};
use parchi_store::{NewRegistration, NewVisitSpec, Stamping, Store};
use rusqlite::{Connection, params};

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

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn fill(&mut self, b: &mut [u8]) {
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

fn registration(rng: &mut Rng, day: NaiveDate) -> (NewRegistration, String) {
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summarise(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    (percentile(&xs, 0.5), percentile(&xs, 0.99))
}

fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("date")
}

/// The data key of the bench's stores: a counter's store is always encrypted.
fn bench_key() -> parchi_keys::DataKey {
    parchi_keys::DataKey::from_bytes(&[7; 32]).expect("32 bytes")
}

fn fill(dir: &Path, n: usize, rng: &mut Rng) -> (Store, Vec<String>, Vec<String>, Vec<String>) {
    let mut fill_rng = Rng(rng.next() | 1);
    let mut random = |b: &mut [u8]| fill_rng.fill(b);
    let mut st = Stamping {
        now_ms: 1_767_238_200_000,
        local: start(),
        random: &mut random,
    };
    let mut store = Store::create(
        dir,
        &bench_key(),
        CounterCode::parse("A").expect("c"),
        "{}",
        &mut st,
    )
    .expect("create");
    let mut mobiles = Vec::new();
    let mut temps = Vec::new();
    let mut names = Vec::new();
    let t = Instant::now();
    let per_day = 50_000; // a new day every 50k keeps temporary IDs within a day's capacity
    let mut done = 0;
    while done < n {
        let k = (n - done).min(5_000);
        let day_no = (done / per_day) as i64;
        st.local = start() + Duration::days(day_no);
        st.now_ms = 1_767_238_200_000 + day_no as u64 * 86_400_000;
        let batch: Vec<(NewRegistration, String)> =
            (0..k).map(|_| registration(rng, st.today())).collect();
        let regs: Vec<NewRegistration> = batch.iter().map(|b| b.0.clone()).collect();
        let out = store.register_many(&regs, &mut st).expect("fill");
        for (r, (reg, m)) in out.iter().zip(batch) {
            if rng.next().is_multiple_of(50) {
                mobiles.push(m);
                temps.push(r.temp_id.to_string());
                names.push(reg.fields.name.to_string());
            }
        }
        done += k;
    }
    eprintln!(
        "  filled {n} registrations in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    (store, mobiles, temps, names)
}

fn baseline_schema(conn: &Connection) {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE patients (id BLOB PRIMARY KEY, temp_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, sex TEXT,
             birth_date TEXT, mobile TEXT, fields TEXT);
         CREATE INDEX patients_mobile ON patients (mobile);
         CREATE TABLE visits (id BLOB PRIMARY KEY, patient BLOB NOT NULL, department TEXT NOT NULL, day TEXT NOT NULL,
             token_counter TEXT NOT NULL, token_seq INTEGER NOT NULL, fee INTEGER NOT NULL,
             UNIQUE (department, day, token_counter, token_seq));
         CREATE TABLE tokens (department TEXT NOT NULL, day TEXT NOT NULL, last INTEGER NOT NULL,
             PRIMARY KEY (department, day)) WITHOUT ROWID;
         CREATE TABLE ops (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, hlc INTEGER NOT NULL,
             body TEXT NOT NULL);",
    )
    .expect("baseline schema");
}

fn baseline_insert(conn: &Connection, rng: &mut Rng, reg: &NewRegistration, day: &str, seq: i64) {
    let mut id = [0u8; 16];
    rng.fill(&mut id);
    let mut vid = [0u8; 16];
    rng.fill(&mut vid);
    let fields = serde_json::to_string(&reg.fields).expect("json");
    conn.prepare_cached("INSERT INTO patients VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .expect("prep")
        .execute(params![
            &id[..],
            format!("T{}", rng.next()),
            reg.fields.name.as_str(),
            reg.fields.sex.code(),
            reg.fields.birth.date.to_string(),
            reg.fields.mobile.as_ref().map(|m| m.as_str()),
            fields
        ])
        .expect("patient");
    conn.prepare_cached(
        "INSERT INTO tokens VALUES (?1, ?2, ?3) ON CONFLICT (department, day) DO UPDATE SET last = last + 1",
    )
    .expect("prep")
    .execute(params![reg.visit.department.as_str(), day, seq])
    .expect("token");
    conn.prepare_cached("INSERT INTO visits VALUES (?1, ?2, ?3, ?4, 'A', ?5, 10)")
        .expect("prep")
        .execute(params![
            &vid[..],
            &id[..],
            reg.visit.department.as_str(),
            day,
            seq
        ])
        .expect("visit");
    // The registration's two operations (patient created, visit created), as JSON.
    let visit_json = format!(
        r#"{{"id":"{}","patient":"{}","department":"{}","day":"{day}","token":{seq}}}"#,
        u128::from_be_bytes(vid),
        u128::from_be_bytes(id),
        reg.visit.department.as_str()
    );
    for body in [&fields, &visit_json] {
        let mut op_id = [0u8; 16];
        rng.fill(&mut op_id);
        conn.prepare_cached("INSERT INTO ops (id, hlc, body) VALUES (?1, ?2, ?3)")
            .expect("prep")
            .execute(params![&op_id[..], seq, body])
            .expect("op");
    }
}

fn misspell(name: &str, rng: &mut Rng) -> String {
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

/// Opens a store filled by an earlier run (PARCHI_BENCH_DIR) and samples queries from it.
fn reopen(dir: &Path) -> (Store, Vec<String>, Vec<String>, Vec<String>) {
    let store = Store::open(dir, &bench_key()).expect("reopen");
    let mut q = store
        .connection()
        .prepare("SELECT mobile, temp_id, name FROM patients WHERE rowid % 50 = 7")
        .expect("sample");
    let rows: Vec<(String, String, String)> = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    drop(q);
    let temps = rows
        .iter()
        .map(|r| parchi_core::TempId::parse(&r.1).expect("temp").to_string())
        .collect();
    (
        store,
        rows.iter().map(|r| r.0.clone()).collect(),
        temps,
        rows.iter().map(|r| r.2.clone()).collect(),
    )
}

fn run(n: usize, samples: usize) {
    eprintln!("== {n} patients");
    let dir = tempfile::tempdir().expect("tmp");
    let mut rng = Rng(0x5eed_0000 + n as u64);
    // PARCHI_BENCH_DIR keeps filled stores between runs (filling 1M takes minutes).
    let kept =
        std::env::var_os("PARCHI_BENCH_DIR").map(|d| Path::new(&d).join(format!("store-{n}")));
    let (mut store, mobiles, temps, names) = match &kept {
        Some(k) if k.join(parchi_store::DB_FILE).exists() => reopen(k),
        Some(k) => fill(k, n, &mut rng),
        None => fill(&dir.path().join("store"), n, &mut rng),
    };

    // Baseline: a plain database with the same number of rows.
    let base = Connection::open(dir.path().join("plain.db")).expect("plain");
    baseline_schema(&base);
    {
        base.execute_batch("PRAGMA synchronous = OFF; BEGIN")
            .expect("bulk");
        for i in 0..n {
            let (reg, _) = registration(&mut rng, start().date());
            baseline_insert(
                &base,
                &mut rng,
                &reg,
                &format!("2025-{:02}-01", 1 + i / 100_000),
                i as i64,
            );
        }
        base.execute_batch("COMMIT; PRAGMA synchronous = FULL")
            .expect("bulk commit");
    }

    // Interleave the two so both see the same machine state.
    let mut ours = Vec::with_capacity(samples);
    let mut plain = Vec::with_capacity(samples);
    let mut st_rng = Rng(rng.next() | 1);
    let mut random = |b: &mut [u8]| st_rng.fill(b);
    let day = start() + Duration::days(400);
    let mut st = Stamping {
        now_ms: 1_801_000_000_000,
        local: day,
        random: &mut random,
    };
    for i in 0..samples {
        let (reg, _) = registration(&mut rng, day.date());
        let t = Instant::now();
        store.register(&reg, &mut st).expect("register");
        ours.push(t.elapsed().as_secs_f64() * 1e3);
        st.now_ms += 1;

        let (reg, _) = registration(&mut rng, day.date());
        let t = Instant::now();
        base.execute_batch("BEGIN IMMEDIATE").expect("begin");
        baseline_insert(&base, &mut rng, &reg, "2027-02-05", i as i64 + 1);
        base.execute_batch("COMMIT").expect("commit");
        plain.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (o50, o99) = summarise(ours);
    let (p50, p99) = summarise(plain);

    let time_queries = |qs: &[String]| -> (f64, f64, usize) {
        let mut xs = Vec::new();
        let mut found = 0;
        for q in qs {
            let t = Instant::now();
            let hits = store.search(q, 10).expect("search");
            xs.push(t.elapsed().as_secs_f64() * 1e3);
            found += usize::from(!hits.is_empty());
        }
        let (a, b) = summarise(xs);
        (a, b, found)
    };
    let (m50, m99, mf) = time_queries(&mobiles[..mobiles.len().min(1000)]);
    let (t50, t99, tf) = time_queries(&temps[..temps.len().min(1000)]);
    let typos: Vec<String> = names
        .iter()
        .take(500)
        .map(|n| misspell(n, &mut rng))
        .collect();
    let (n50, n99, nf) = time_queries(&typos);
    let top3 = typos
        .iter()
        .zip(&names)
        .filter(|(q, n)| {
            store
                .search(q, 3)
                .expect("search")
                .iter()
                .any(|h| h.patient.fields.name.as_str() == n.as_str())
        })
        .count();

    println!(
        "| {n} | register | {o50:.3} | {o99:.3} | plain SQLite | {p50:.3} | {p99:.3} | {:.2}x / {:.2}x |",
        o50 / p50,
        o99 / p99
    );
    println!(
        "| {n} | search: exact mobile ({mf}/{} found) | {m50:.3} | {m99:.3} |",
        mobiles.len().min(1000)
    );
    println!(
        "| {n} | search: exact temporary ID ({tf}/{} found) | {t50:.3} | {t99:.3} |",
        temps.len().min(1000)
    );
    println!(
        "| {n} | search: misspelt name ({nf}/{} with results, {top3} right name in top 3) | {n50:.3} | {n99:.3} |",
        typos.len()
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if args.is_empty() { vec![100_000] } else { args };
    let samples = std::env::var("PARCHI_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    println!(
        "| patients | what | p50 ms | p99 ms | baseline | p50 ms | p99 ms | ratio p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in sizes {
        run(n, samples);
    }
}
