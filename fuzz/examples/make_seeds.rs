//! Writes the hand-made seed corpora under `fuzz/corpus/<target>/`, from the repository's test
//! data (`tests/data/sample.patients.csv`, synthetic; `examples/hospital.toml`) and the core's
//! random operations (`parchi_core::testgen`, fixed seed). Run from the repository root:
//!
//! ```text
//! cargo +nightly run --manifest-path fuzz/Cargo.toml --example make_seeds
//! ```
//!
//! The output is deterministic; re-running it rewrites the same files.

use std::fs;
use std::path::{Path, PathBuf};

use parchi_app::mirror::import::{Format, ImportOptions, MirrorSink, import};
use parchi_core::{CentralPatient, Hlc, Op, testgen};
use parchi_store::MirrorWrite;
use parchi_sync::wire::{MirrorBatch, PullResponse, PushItem, PushRequest};
use parchi_sync::{MirrorPage, PulledOp};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::json;

const UHID_SYSTEM: &str = "https://dh-patna.bihar.gov.in/fhir/uhid";
const SEP: &str = "\u{1f}";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn write(target: &str, name: &str, bytes: impl AsRef<[u8]>) {
    let dir = root().join("fuzz/corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

/// The first `n` rows of the synthetic sample, split into fields (the CSV has quoted commas).
fn sample_rows(n: usize) -> Vec<Vec<String>> {
    let text = fs::read_to_string(root().join("tests/data/sample.patients.csv")).expect("sample");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    r.records()
        .take(n)
        .map(|rec| rec.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

/// The sample rows as a mirror CSV export (`uhid,name,...`), UHIDs in the example's format.
fn mirror_csv(rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "uhid",
        "name",
        "sex",
        "birth_year",
        "guardian_relation",
        "guardian_name",
        "mobile",
        "address",
        "district",
        "state",
        "pincode",
        "last_visit",
    ])
    .expect("header");
    for (i, r) in rows.iter().enumerate() {
        let year = 2026 - r[4].parse::<i32>().unwrap_or(30);
        w.write_record([
            format!("DHP{:09}", 1000 + i),
            r[2].clone(),
            r[3].clone(),
            year.to_string(),
            r[5].clone(),
            r[6].clone(),
            r[7].clone(),
            r[8].clone(),
            r[9].clone(),
            r[10].clone(),
            r[11].clone(),
            format!("2026-0{}-1{}", 1 + i % 9, i % 10),
        ])
        .expect("row");
    }
    String::from_utf8(w.into_inner().expect("csv")).expect("utf-8")
}

/// The sample rows as FHIR Bulk Data ndjson Patients.
fn mirror_ndjson(rows: &[Vec<String>]) -> String {
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let (given, family) = r[2].rsplit_once(' ').unwrap_or((&r[2], ""));
            let year = 2026 - r[4].parse::<i32>().unwrap_or(30);
            json!({
                "resourceType": "Patient",
                "id": format!("p{i}"),
                "meta": {"lastUpdated": "2026-11-20T10:00:00+05:30"},
                "identifier": [{"system": UHID_SYSTEM, "value": format!("DHP{:09}", 1000 + i)}],
                "active": i != 3,
                "name": [{"use": "official", "given": [given], "family": family}],
                "gender": if r[3] == "F" { "female" } else { "male" },
                "birthDate": if i % 2 == 0 { year.to_string() } else { format!("{year}-03-15") },
                "telecom": [{"system": "phone", "value": r[7]}],
                "address": [{"line": [r[8]], "district": r[9], "state": r[10], "postalCode": r[11]}],
                "contact": [{"relationship": [{"coding": [{"code": "FTH"}]}], "name": {"text": r[6]}}]
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[derive(Default)]
struct Collect(Vec<CentralPatient>);

impl MirrorSink for Collect {
    fn write(
        &mut self,
        batch: &[CentralPatient],
        _run: u64,
    ) -> parchi_app::counter::Result<MirrorWrite> {
        self.0.extend_from_slice(batch);
        Ok(MirrorWrite {
            inserted: batch.len(),
            ..MirrorWrite::default()
        })
    }
    fn finish(&mut self, _: u64, _: &str, _: Option<&str>) -> parchi_app::counter::Result<()> {
        Ok(())
    }
}

fn central_records(csv: &str) -> Vec<CentralPatient> {
    let mut sink = Collect::default();
    let opts = ImportOptions {
        uhid_system: UHID_SYSTEM.into(),
        uhid_format: None,
        as_of: "2026-11-30T22:00:00+05:30".into(),
        batch: 100,
        run: 1,
    };
    import(csv.as_bytes(), Format::Csv, &mut sink, &opts, &mut |_, _| {}).expect("import");
    sink.0
}

/// Valid random operations (a fixed seed), the nil IDs testgen starts from left out.
fn ops(n: usize) -> Vec<Op> {
    let mut runner = TestRunner::deterministic();
    let mut out = Vec::new();
    while out.len() < n {
        let batch = testgen::arb_ops(40)
            .new_tree(&mut runner)
            .expect("ops")
            .current();
        out.extend(
            batch
                .into_iter()
                .filter(|o| !o.id.0.is_nil() && !o.site.0.is_nil() && o.hlc != Hlc::ZERO)
                .filter(|o| parchi_sync::validate::validate_op(o).is_ok()),
        );
    }
    out.truncate(n);
    out
}

fn hub_push(ops: &[Op]) {
    let t = "hub_push";
    let push = |ops: &[Op]| PushRequest {
        version: 1,
        ops: ops.iter().cloned().map(PushItem::new).collect(),
    };
    write(t, "push-real", serde_json::to_vec(&push(&ops[..12])).expect("json"));
    write(t, "push-one", serde_json::to_vec(&push(&ops[..1])).expect("json"));
    let mut clamped = serde_json::to_value(push(&ops[12..14])).expect("json");
    clamped["ops"][0]["effective_hlc"] = json!(ops[12].hlc.0 + 65_536);
    write(t, "push-effective-hlc", clamped.to_string());
    let mut bad = serde_json::to_value(push(&ops[14..17])).expect("json");
    bad["ops"][0]["op"]["site"] = json!("00000000-0000-0000-0000-000000000000");
    bad["ops"][1]["op"]["hlc"] = json!(0);
    bad["ops"][2]["op"]["kind"] = json!("no_such_op");
    write(t, "push-rejections", bad.to_string());
    write(t, "push-empty", r#"{"version":1,"ops":[]}"#);
    write(t, "push-version-2", r#"{"version":2,"ops":[]}"#);
    let full = serde_json::to_string(&push(&ops[..3])).expect("json");
    write(t, "push-truncated", &full[..full.len() / 2]);
    write(t, "op-alone", serde_json::to_vec(&ops[17]).expect("json"));
}

fn hub_mirror_batch(records: &[CentralPatient]) {
    let t = "hub_mirror_batch";
    let batch = |run: &str, rs: &[CentralPatient]| {
        serde_json::to_vec(&MirrorBatch {
            run: run.into(),
            records: rs.to_vec(),
        })
        .expect("json")
    };
    write(t, "batch-sample", batch("run-2026-11-30", &records[..8]));
    let mut dup = records[..3].to_vec();
    dup.push(records[0].clone());
    write(t, "batch-duplicate-uhid", batch("run-dup-0001", &dup));
    let mut v = serde_json::to_value(MirrorBatch {
        run: "run-bad-0001".into(),
        records: records[..2].to_vec(),
    })
    .expect("json");
    v["records"][1]["mobile"] = json!("12345");
    write(t, "batch-invalid-mobile", v.to_string());
    write(t, "batch-empty", r#"{"run":"run-empty-01","records":[]}"#);
    write(t, "batch-short-run", batch("r1", &records[..1]));
}

fn client_pages(ops: &[Op], records: &[CentralPatient]) {
    let t = "client_pages";
    let pulled: Vec<PulledOp> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| PulledOp {
            seq: 41 + i as u64,
            effective_hlc: op.hlc,
            clock_ahead: false,
            op: op.clone(),
        })
        .collect();
    let page = |after: u64, ops: &[PulledOp], more: bool| PullResponse {
        version: 1,
        ops: ops.to_vec(),
        next: ops.last().map_or(after, |o| o.seq),
        more,
        head: 100,
    };
    let mut seed = b"pull 40 20\n".to_vec();
    seed.extend(serde_json::to_vec(&page(40, &pulled[..20], true)).expect("json"));
    write(t, "pull-page", seed);
    let mut ahead = pulled[..2].to_vec();
    ahead[1].effective_hlc = Hlc(ahead[1].op.hlc.0 / 2);
    ahead[1].clock_ahead = true;
    let mut seed = b"pull 40 500\n".to_vec();
    seed.extend(serde_json::to_vec(&page(40, &ahead, false)).expect("json"));
    write(t, "pull-clock-ahead", seed);
    let mut seed = b"pull 7 500\n".to_vec();
    seed.extend(serde_json::to_vec(&page(7, &[], false)).expect("json"));
    write(t, "pull-empty", seed);
    let mut seed = b"pull 50 500\n".to_vec();
    seed.extend(serde_json::to_vec(&page(40, &pulled[..3], false)).expect("json"));
    write(t, "pull-out-of-order", seed);

    let mpage = |rs: &[CentralPatient], after: u64, more: bool| MirrorPage {
        records: rs.to_vec(),
        next: after + rs.len() as u64,
        more,
        head: after + 20,
        as_of: Some("2026-11-30T22:00:00+05:30".into()),
    };
    let mut seed = b"mirror 0 8\n".to_vec();
    seed.extend(serde_json::to_vec(&mpage(&records[..8], 0, true)).expect("json"));
    write(t, "mirror-page", seed);
    let mut seed = b"mirror 20 100\n".to_vec();
    seed.extend(serde_json::to_vec(&mpage(&[], 20, false)).expect("json"));
    write(t, "mirror-empty", seed);
    let mut seed = b"mirror 30 100\n".to_vec();
    seed.extend(serde_json::to_vec(&mpage(&records[..2], 0, false)).expect("json"));
    write(t, "mirror-behind-cursor", seed);
}

fn mirror_import(rows: &[Vec<String>]) {
    let t = "mirror_import";
    write(t, "export.csv", mirror_csv(&rows[..12]));
    write(t, "export.ndjson", mirror_ndjson(&rows[..6]));
    write(
        t,
        "edge.csv",
        "\u{feff}UHID,Name,Sex,DOB,Mobile,ABHA,seen\r\nDHP000000001,\"Devi, Asha\",F,01/02/1980,+91 98765 43210,91-1234-5678-9012,2026-11-01\r\n\r\nDHP000000002,R2D2,X,31-02-1990,123,,\r\nDHP000000001,Asha Devi,F,,,,\r\n\"DHP000000003\",\"Ram\nKumar\",M,1970-07-01,,,\r\n",
    );
    write(
        t,
        "edge.ndjson",
        format!(
            "{}\n{{broken\n\n{}\n",
            json!({"resourceType": "Patient", "identifier": [{"system": UHID_SYSTEM, "value": "DHP000000009"}, {"system": "https://healthid.ndhm.gov.in", "value": "91-1234-5678-9012"}], "name": [{"text": "सुनीता देवी"}], "gender": "unknown", "birthDate": "1975-06"}),
            json!({"resourceType": "Practitioner", "id": "x"}),
        ),
    );
    // The synthetic sample as it is: its header has no `uhid` column, so the CSV is refused.
    let sample = fs::read_to_string(root().join("tests/data/sample.patients.csv")).expect("sample");
    let head: String = sample.lines().take(6).map(|l| format!("{l}\n")).collect();
    write(t, "sample-rows.csv", head);
}

fn patient_input(rows: &[Vec<String>]) {
    let t = "patient_input";
    for (i, r) in rows.iter().take(8).enumerate() {
        // name, sex, age, dob, guardian_relation, guardian_name, mobile, locality, district,
        // state, pincode, abha, aadhaar, category, quick
        let fields = [
            &r[2], &r[3], &r[4], "", &r[5], &r[6], &r[7], &r[8], &r[9], &r[10], &r[11], "", "",
            "",
        ];
        write(t, &format!("sample-{i}"), fields.join(SEP));
    }
    let hand: [(&str, [&str; 15]); 5] = [
        (
            "devanagari-abha",
            [
                "सुनीता देवी", "F", "", "15/08/1990", "W/o", "रमेश कुमार", "09876543210",
                "गांधी नगर", "Patna", "Bihar", "800001", "91-1234-5678-9012", "1234", "bpl", "",
            ],
        ),
        (
            "abha-address-infant",
            [
                "Baby of Rani", "M", "20d", "", "C/o", "Rani", "", "", "", "", "", "rani.k@abdm",
                "", "general", "",
            ],
        ),
        (
            "quick-unknown",
            ["", "O", "8m", "", "", "", "", "", "", "", "", "", "", "", "quick"],
        ),
        (
            "all-wrong",
            [
                "R2D2", "Q", "150", "2030-01-01", "X/o", "", "12345", "a\u{7}b", "", "", "99",
                "1234", "12", "vip", "",
            ],
        ),
        (
            "age-and-dob",
            [
                "Md. Salim", "M", "34", "1990-01-01", "", "", "", "", "", "", "", "", "", "", "",
            ],
        ),
    ];
    for (name, fields) in hand {
        write(t, name, fields.join(SEP));
    }
}

fn hospital_config() {
    let t = "hospital_config";
    let toml_text = fs::read_to_string(root().join("examples/hospital.toml")).expect("example");
    write(t, "hospital.toml", &toml_text);
    let cfg = parchi_app::HospitalConfig::from_toml(&toml_text).expect("the example is valid");
    write(t, "hospital.json", serde_json::to_string_pretty(&cfg).expect("json"));
    write(
        t,
        "minimal.toml",
        "[hospital]\nname = \"PHC\"\nuhid_system = \"urn:phc:uhid\"\ntimezone = \"+05:30\"\n\n[[counters]]\ncode = \"A\"\nname = \"One\"\n\n[[departments]]\ncode = \"MED\"\nname = \"Medicine\"\ndays = [\"mon\"]\nfee = 0\n",
    );
    write(
        t,
        "duplicate-codes.toml",
        "[hospital]\nname = \"PHC\"\nuhid_system = \"urn:phc:uhid\"\ntimezone = \"+05:30\"\n\n[[counters]]\ncode = \"A\"\nname = \"One\"\n\n[[counters]]\ncode = \"A\"\nname = \"Two\"\n\n[[departments]]\ncode = \"MED\"\nname = \"Medicine\"\ndays = [\"mon\", \"xyz\"]\nfee = -1\n",
    );
}

fn patient_csv() {
    let t = "patient_csv";
    // The synthetic sample as `parchi import` takes it, in a few sizes.
    let sample = fs::read_to_string(root().join("tests/data/sample.patients.csv")).expect("sample");
    for n in [2, 6, 12] {
        let head: String = sample.lines().take(n).map(|l| format!("{l}\n")).collect();
        write(t, &format!("sample-{n}.csv"), head);
    }
    write(
        t,
        "edge.csv",
        "\u{feff}Name , SEX,age,dob,abha,aadhaar,category,uhid,mobile\r\n\"Devi, Asha\",F,34,,91-1234-5678-9012,1234,bpl,DHP000000001,+91 98765 43210\r\n\r\n\"Ram\nKumar\",M,,1970-07-01,ram.k@abdm,,,,\r\n\"unterminated,F\r\n",
    );
    write(t, "age-years.csv", "name,sex,age_years,age\nसुनीता देवी,F,,40\nBaby,M,20d,3\n");
    write(t, "no-sex.csv", "name,age\nA,3\n");
    write(t, "ragged.csv", "name,sex\nA\nB,F,extra,columns\n,,\n");
    let mut bad_utf8 = b"name,sex\n".to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe, b',', b'M', b'\n', b'C', b',', b'F', b'\n']);
    write(t, "bad-utf8.csv", bad_utf8);
}

/// The ABHA QR parser's seeds (the desktop front end's, fuzzed on Node.js by fuzz/js): the two
/// shapes ABDM documents, scanner damage, and refusals.
fn abha_qr() {
    let t = "abha_qr";
    let card = json!({"hidn": "91-5110-2378-1467", "hid": "sunita.devi@abdm", "name": "Sunita Devi",
        "gender": "F", "statelgd": "10", "distlgd": "230", "dob": "7/3/1990", "state name": "BIHAR",
        "district_name": "PATNA", "mobile": "9876543210", "address": "Ward 12, Kankarbagh"});
    let app = json!({"hidn": "-", "phr": "ramesh.k@abdm", "name": "Ramesh Kumar", "gender": "M",
        "statelgd": "10", "distlgd": "230", "dob": "1978", "address": "Gandhi Nagar"});
    write(t, "card.json", card.to_string());
    write(t, "app.json", app.to_string());
    let curly = card.to_string().replace("\":", "\u{201d}:").replace('"', "\u{201c}");
    write(t, "typographic-quotes.txt", format!("{curly}\r\n"));
    write(t, "split-dob.json", json!({"healthIdNumber": "91 5110 2378 1467", "yearOfBirth": "1985",
        "monthOfBirth": "3", "dayOfBirth": "12", "sex": "female", "phone": "+91 98765 43210",
        "pincode": "800 001"}).to_string());
    write(t, "devanagari.json", json!({"hid": "sunita", "name": "सुनीता  देवी", "gender": "O",
        "dob": "1990-03-07", "dist name": "पटना", "pin": "0800001"}).to_string());
    write(t, "bad-values.json", json!({"hidn": "12-3456", "hid": "no at sign here!", "dob": "31/02/1990",
        "mobile": 5_123_456_789_u64, "gender": "X"}).to_string());
    write(t, "not-json.txt", "SUNITA DEVI 91-5110-2378-1467");
    write(t, "array.json", "[{\"hidn\": \"91-5110-2378-1467\"}]");
    write(t, "empty.txt", "\u{feff}  \n");
}

fn main() {
    let rows = sample_rows(20);
    let ops = ops(40);
    let records = central_records(&mirror_csv(&rows));
    assert!(records.len() >= 8, "the sample rows import");
    hub_push(&ops);
    hub_mirror_batch(&records);
    client_pages(&ops, &records);
    mirror_import(&rows);
    patient_input(&rows);
    patient_csv();
    abha_qr();
    hospital_config();
    println!("seeds written under fuzz/corpus/");
}
