//! A registration the clerk saw confirmed survives a killed process.
//!
//! A child `parchi import --batch 1` registers rows one durable transaction at a time and prints
//! each committed registration. We SIGKILL it at random moments, many times, then check that
//! every registration it reported is present and that no token was issued twice.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::util::Site;

fn kills() -> usize {
    std::env::var("PARCHI_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

#[test]
fn killed_mid_registration_loses_nothing_it_confirmed_and_never_repeats_a_token() {
    let site = Site::init("A");
    let csv = site.path().join("many.csv");
    let mut body = String::from("name,sex,age_years,mobile\n");
    for i in 0..3000 {
        body.push_str(&format!(
            "Patient Number{},{},{},9{:09}\n",
            char::from(b'a' + (i % 26) as u8),
            if i % 2 == 0 { "M" } else { "F" },
            1 + i % 90,
            i
        ));
    }
    std::fs::write(&csv, body).expect("csv");

    let mut seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    let mut confirmed: Vec<serde_json::Value> = Vec::new();
    for round in 0..kills() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let wait = Duration::from_millis(30 + (seed >> 33) % 400);
        let mut child = site
            .cmd()
            .args(["--json", "import"])
            .arg(&csv)
            .args(["--department", "MED", "--batch", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        while start.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
        let _ = child.wait();
        let _ = reader.join();
        let lines: Vec<String> = rx.try_iter().collect();
        for l in &lines {
            // A line cut by the kill was never confirmed; only whole JSON lines count.
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l)
                && v.get("patient_id").is_some()
            {
                confirmed.push(v);
            }
        }
        eprintln!(
            "round {round}: killed after {wait:?}, {} confirmed so far",
            confirmed.len()
        );
    }
    assert!(
        confirmed.len() > kills(),
        "the child should have registered something between kills"
    );

    // After the last kill: every confirmed registration is there, and no token repeats.
    let tokens: Vec<&str> = confirmed
        .iter()
        .filter_map(|v| v["token"].as_str())
        .collect();
    let unique: HashSet<&str> = tokens.iter().copied().collect();
    assert_eq!(unique.len(), tokens.len(), "a token was reported twice");
    let today = site.json(&["today"]);
    let stored: Vec<(String, String)> = today
        .as_array()
        .expect("list")
        .iter()
        .map(|v| {
            (
                v["visit"]["id"].as_str().unwrap_or("").to_owned(),
                format!(
                    "{}-{}",
                    v["visit"]["token"]["counter"], v["visit"]["token"]["seq"]
                ),
            )
        })
        .collect();
    let stored_visits: HashSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    for v in &confirmed {
        let id = v["visit_id"].as_str().expect("visit id");
        assert!(
            stored_visits.contains(id),
            "confirmed registration {id} was lost"
        );
    }
    let stored_tokens: HashSet<&String> = stored.iter().map(|(_, t)| t).collect();
    assert_eq!(
        stored_tokens.len(),
        stored.len(),
        "the store holds a token twice"
    );
}
