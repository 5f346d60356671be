//! The hospital's own patient index, end to end, with a real FHIR server (Helios): the index is
//! loaded into the server and mirrored into the hub; three counters receive it and register an
//! outage's patients (returning ones with their cards, with mistyped cards and with none; new
//! people; relatives and namesakes of indexed patients); after the outage everyone syncs, an
//! admin links, reviews and exports. The server must then hold exactly the hospital's patients
//! plus the people who were truly new, every Encounter must point at the right Patient, and a
//! replay must create and change nothing.

use std::collections::{BTreeMap, BTreeSet};

use parchi_dedup::Record;
use parchi_dedup::synth_link::{LinkSynthConfig, OutageKind, generate_link_set};
use serde_json::{Value, json};

use crate::helios::Helios;
use crate::sync::Hub;
use crate::util::{Site, repo_root};

const UHID_SYSTEM: &str = "https://dh-patna.bihar.gov.in/fhir/uhid";
const TEMP_SYSTEM: &str = "https://dh-patna.bihar.gov.in/fhir/temporary-id";

fn config() -> String {
    repo_root()
        .join("examples/hospital.toml")
        .display()
        .to_string()
}

/// A record of the synthetic index as the hospital's FHIR server holds it.
fn central_patient(r: &Record<String>) -> Value {
    let mut p = json!({
        "resourceType": "Patient",
        "identifier": [{ "use": "official", "system": UHID_SYSTEM, "value": r.key }],
        "name": [{ "use": "official", "text": r.name }],
    });
    if let Some(s) = r.sex {
        p["gender"] = json!(match s {
            parchi_core::Sex::Male => "male",
            parchi_core::Sex::Female => "female",
            parchi_core::Sex::Other => "other",
        });
    }
    if let Some(y) = r.birth_year {
        p["birthDate"] = json!(format!("{y:04}"));
    }
    if let Some(m) = &r.mobile {
        p["telecom"] = json!([{ "system": "phone", "value": m, "use": "mobile" }]);
    }
    let mut a = serde_json::Map::new();
    if let Some(l) = &r.address {
        a.insert("line".into(), json!([l]));
    }
    if let Some(d) = &r.district {
        a.insert("district".into(), json!(d));
    }
    if let Some(s) = &r.state {
        a.insert("state".into(), json!(s));
    }
    if let Some(pc) = &r.pincode {
        a.insert("postalCode".into(), json!(pc));
    }
    if !a.is_empty() {
        p["address"] = json!([Value::Object(a)]);
    }
    if let Some(g) = &r.guardian_name {
        p["contact"] = json!([{ "name": { "text": g } }]);
    }
    p
}

fn uhid_of(p: &Value) -> Option<String> {
    p["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == UHID_SYSTEM && i["use"] != "old")
        .and_then(|i| i["value"].as_str())
        .map(str::to_owned)
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The outage registrations of one counter as an import file (with the card's UHID).
fn outage_csv(rows: &[(usize, &Record<u64>, Option<&String>)]) -> String {
    let mut s = String::from(
        "name,sex,age_years,guardian_relation,guardian_name,mobile,address,district,state,pincode,uhid\n",
    );
    for (_, r, claimed) in rows {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        s.push_str(
            &[
                csv_field(&r.name),
                r.sex.map(|x| x.code().to_string()).unwrap_or_default(),
                r.birth_year
                    .map(|y| (2026 - y).to_string())
                    .unwrap_or_default(),
                r.guardian_relation
                    .filter(|_| r.guardian_name.is_some())
                    .map(|g| g.code().to_string())
                    .unwrap_or_default(),
                csv_field(&o(&r.guardian_name)),
                o(&r.mobile),
                csv_field(&o(&r.address)),
                csv_field(&o(&r.district)),
                csv_field(&o(&r.state)),
                o(&r.pincode),
                claimed.cloned().unwrap_or_default(),
            ]
            .join(","),
        );
        s.push('\n');
    }
    s
}

/// Imports rows at a counter; returns outage position -> patient ID.
fn import_at(
    site: &Site,
    rows: &[(usize, &Record<u64>, Option<&String>)],
) -> BTreeMap<usize, String> {
    let file = site.path().join("outage.csv");
    std::fs::write(&file, outage_csv(rows)).expect("write csv");
    let out = site
        .cmd()
        .args(["--json", "import"])
        .arg(&file)
        .args(["--department", "MED"])
        .output()
        .expect("import");
    let mut ids = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("json line");
        let n = v["line"].as_u64().expect("line") as usize;
        match v["patient_id"].as_str() {
            Some(p) => {
                ids.insert(rows[n - 2].0, p.to_owned());
            }
            None => panic!("outage row {n} refused: {v}"),
        }
    }
    ids
}

#[test]
fn returning_patients_keep_their_uhid_and_the_export_updates_the_hospital_instead_of_duplicating() {
    let fhir = Helios::start();
    let set = generate_link_set(&LinkSynthConfig::new(300, 96, 5));
    // Before the outage: the hospital's index in its FHIR server.
    for chunk in set.central.chunks(100) {
        let entries: Vec<Value> = chunk
            .iter()
            .map(|r| {
                json!({ "resource": central_patient(r), "request": { "method": "POST", "url": "Patient",
                    "ifNoneExist": format!("identifier={UHID_SYSTEM}|{}", r.key) } })
            })
            .collect();
        fhir.transaction(
            &json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries }),
        );
    }
    let before: BTreeMap<String, Value> = fhir
        .all("Patient")
        .into_iter()
        .filter_map(|p| uhid_of(&p).map(|u| (u, p)))
        .collect();
    assert_eq!(before.len(), set.central.len());

    // The hub mirrors it by paging through the server's Patients.
    let hub = Hub::start(None);
    let pulled = hub.admin(&[
        "hub",
        "mirror-pull",
        "--fhir",
        &fhir.url,
        "--config",
        &config(),
    ]);
    assert_eq!(
        pulled["records"].as_u64(),
        Some(set.central.len() as u64),
        "{pulled}"
    );
    let again = hub.admin(&[
        "hub",
        "mirror-pull",
        "--fhir",
        &fhir.url,
        "--config",
        &config(),
    ]);
    assert_eq!(
        again["records"].as_u64(),
        Some(0),
        "only what changed since: {again}"
    );

    let counters: Vec<Site> = ["A", "B", "C"].iter().map(|c| Site::init(c)).collect();
    let admin = Site::init("A");
    for s in counters.iter().chain([&admin]) {
        hub.enroll(s);
        s.json(&["sync"]);
        let m = s.json(&["mirror", "status"]);
        assert_eq!(m["records"].as_u64(), Some(set.central.len() as u64), "{m}");
        assert!(
            m["label"]
                .as_str()
                .is_some_and(|l| l.starts_with("hospital index as of"))
        );
    }

    // The outage: registrations at three counters, the cards' UHIDs typed as they are.
    let usable: Vec<usize> = (0..set.outage.len())
        .filter(|&i| {
            set.outage[i].record.sex.is_some() && set.outage[i].record.birth_year.is_some()
        })
        .collect();
    let mut patient_of: BTreeMap<usize, String> = BTreeMap::new();
    for (k, site) in counters.iter().enumerate() {
        let rows: Vec<(usize, &Record<u64>, Option<&String>)> = usable
            .iter()
            .filter(|i| *i % 3 == k)
            .map(|&i| (i, &set.outage[i].record, set.outage[i].claimed.as_ref()))
            .collect();
        patient_of.extend(import_at(site, &rows));
    }
    // A clerk finds a returning patient without a card by name, marked as from the hospital
    // index, and starts their visit: the patient is registered linked to that record.
    let walk_in = set
        .central
        .iter()
        .find(|r| {
            r.sex.is_some()
                && r.birth_year.is_some()
                && !set.truth.iter().flatten().any(|t| t.contains(&r.key))
        })
        .expect("an indexed patient not in the outage");
    let hits = counters[0].json(&["search", &walk_in.name]);
    let hit = hits
        .as_array()
        .expect("hits")
        .iter()
        .find(|h| h["uhid"] == walk_in.key.as_str())
        .unwrap_or_else(|| panic!("{} found by name: {hits}", walk_in.key));
    assert_eq!(hit["source"], "hospital_index");
    let v = counters[0].json(&["visit", &walk_in.key, "--department", "MED"]);
    let shown = counters[0].json(&["show", v["temp_id"].as_str().expect("t")]);
    assert_eq!(shown["patient"]["uhid"], walk_in.key.as_str());
    assert_eq!(shown["patient"]["link"], "linked");
    // A UHID that breaks the hospital's format is refused, with the field named.
    let (code, err) = counters[1].json_err(&[
        "register",
        "--name",
        "Asha Devi",
        "--sex",
        "F",
        "--age",
        "30",
        "--department",
        "MED",
        "--uhid",
        "XY-12",
    ]);
    assert_eq!(code, 2);
    assert_eq!(err["error"]["fields"][0]["field"], "uhid", "{err}");

    // After the outage: everyone syncs; the admin links, reviews and exports.
    for s in counters.iter().chain([&admin]) {
        s.json(&["sync"]);
    }
    let run = admin.json(&["link"]);
    let n = |k: &str| run[k].as_u64().unwrap_or(0);
    assert_eq!(
        n("linked") + n("review") + n("new"),
        n("patients"),
        "a verdict each"
    );
    assert!(
        n("review") * 10 <= usable.len() as u64,
        "at most 10% to review: {}",
        n("review")
    );
    let review = admin.json(&["link", "review"]);
    let by_patient: BTreeMap<&String, usize> = patient_of.iter().map(|(i, p)| (p, *i)).collect();
    let mut approved_mobile = None;
    for item in review.as_array().expect("review") {
        let pid = item["patient"]["patient_id"]
            .as_str()
            .expect("pid")
            .to_owned();
        let i = *by_patient.get(&pid).expect("a registered outage row");
        match &set.truth[i] {
            None => {
                admin.json(&["link", "new", &pid]);
            }
            Some(uhids) => {
                let proposed: BTreeSet<&str> = item["candidates"]
                    .as_array()
                    .expect("c")
                    .iter()
                    .filter_map(|c| c["uhid"].as_str())
                    .collect();
                let right = uhids
                    .iter()
                    .find(|u| proposed.contains(u.as_str()))
                    .unwrap_or(&uhids[0]);
                for wrong in proposed.iter().filter(|u| !uhids.iter().any(|t| t == *u)) {
                    admin.json(&["link", "reject", &pid, wrong]);
                }
                let mobile_differs = set.outage[i].record.mobile.is_some()
                    && before[right]["telecom"][0]["value"].as_str()
                        != set.outage[i].record.mobile.as_deref();
                if approved_mobile.is_none() && mobile_differs {
                    admin.json(&["link", "accept", &pid, right, "--update", "mobile"]);
                    approved_mobile = Some((
                        right.clone(),
                        set.outage[i].record.mobile.clone().unwrap_or_default(),
                    ));
                } else {
                    admin.json(&["link", "accept", &pid, right]);
                }
            }
        }
    }
    assert!(
        admin
            .json(&["link", "review"])
            .as_array()
            .is_some_and(|r| r.is_empty())
    );
    // New patients get UHIDs from the block the hospital allocated.
    hub.admin(&["hub", "uhid-block", "add", "DHP900000000", "DHP900009999"]);
    admin.json(&["sync"]);
    let assigned = hub.admin(&["hub", "assign-uhids", "--prefix", "DHP"]);
    admin.json(&["sync"]);
    for a in assigned["assigned"].as_array().expect("assigned") {
        assert!(
            a[1].as_str().is_some_and(|u| u.starts_with("DHP9000")),
            "{a}"
        );
    }
    let pushed = admin.json(&["export-fhir", "--push", &fhir.url]);
    assert_eq!(pushed["pushed"]["held"].as_u64(), Some(0), "{pushed}");

    // The server holds exactly the hospital's patients plus the people who were truly new.
    let truly_new: BTreeSet<&String> = patient_of
        .iter()
        .filter(|(i, _)| set.truth[**i].is_none())
        .map(|(_, p)| p)
        .collect();
    let after = fhir.all("Patient");
    assert_eq!(
        after.len(),
        set.central.len() + truly_new.len(),
        "pushed: {pushed}"
    );
    let by_id: BTreeMap<String, &Value> = after
        .iter()
        .map(|p| (format!("Patient/{}", p["id"].as_str().unwrap_or("")), p))
        .collect();
    // The hospital's records were not overwritten: names as the hospital had them; temporary
    // IDs added as old identifiers; the one approved mobile added beside the old one.
    for p in &after {
        if let Some(u) = uhid_of(p)
            && let Some(b) = before.get(&u)
        {
            assert_eq!(p["name"], b["name"], "{u}");
        }
    }
    if let Some((u, mobile)) = &approved_mobile {
        let p = after
            .iter()
            .find(|p| uhid_of(p).as_deref() == Some(u))
            .expect("patient");
        let phones: Vec<&str> = p["telecom"]
            .as_array()
            .expect("t")
            .iter()
            .filter_map(|t| t["value"].as_str())
            .collect();
        assert!(
            phones.iter().any(|x| x.ends_with(mobile.as_str())),
            "{phones:?}"
        );
        assert_eq!(phones.len(), 2, "the hospital's number stays: {phones:?}");
    }
    // Every Encounter points at the right Patient.
    let encounters = fhir.all("Encounter");
    assert_eq!(encounters.len(), patient_of.len() + 1, "one per visit");
    let shows: BTreeMap<String, Value> = patient_of
        .values()
        .map(|p| (p.clone(), admin.json(&["show", p])))
        .collect();
    for (i, pid) in &patient_of {
        let visit = shows[pid]["visits"]
            .as_array()
            .expect("visits")
            .iter()
            .find(|v| v["patient"].as_str() == Some(pid.as_str()))
            .map(|v| v["id"].as_str().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("{pid} has its visit"));
        let enc = encounters
            .iter()
            .find(|e| e["identifier"][0]["value"] == visit.as_str())
            .unwrap_or_else(|| panic!("an Encounter for visit {visit}"));
        let subject = by_id
            .get(enc["subject"]["reference"].as_str().unwrap_or(""))
            .unwrap_or_else(|| panic!("Encounter subject resolves: {}", enc["subject"]));
        match &set.truth[*i] {
            Some(uhids) => assert!(
                uhid_of(subject).is_some_and(|u| uhids.contains(&u)),
                "{:?} outage row {i} ({:?}) went to {:?}, not {uhids:?}",
                set.kind[*i],
                set.outage[*i].claimed,
                uhid_of(subject)
            ),
            None => {
                let temps: Vec<&str> = subject["identifier"]
                    .as_array()
                    .expect("ids")
                    .iter()
                    .filter(|x| x["system"] == TEMP_SYSTEM)
                    .filter_map(|x| x["value"].as_str())
                    .collect();
                // The slip prints the temporary ID with hyphens; the identifier holds it bare.
                let temp = shows[pid]["patient"]["temp_id"]
                    .as_str()
                    .unwrap_or("")
                    .replace('-', "");
                assert!(
                    temps.contains(&temp.as_str()),
                    "new patient {temp} created as themselves: {subject}"
                );
                assert!(!matches!(
                    set.kind[*i],
                    OutageKind::Card | OutageKind::NoCard | OutageKind::MistypedCard
                ));
            }
        }
    }
    // A replay creates and changes nothing.
    let replay = admin.json(&["export-fhir", "--push", &fhir.url]);
    assert_eq!(replay["pushed"]["created"].as_u64(), Some(0), "{replay}");
    assert_eq!(replay["pushed"]["updated"].as_u64(), Some(0), "{replay}");
    assert_eq!(fhir.all("Patient").len(), after.len());
    assert_eq!(fhir.all("Encounter").len(), encounters.len());
}
