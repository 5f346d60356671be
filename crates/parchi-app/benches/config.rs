//! What taking the hospital's published configuration costs a registration: every use case
//! that depends on departments and fees first asks whether a configuration came into force
//! (`Counter::refresh_config`), so its cost is measured against the registration itself, in
//! the same run.
//!
//! `cargo bench -p parchi-app --bench config`
//!
//! - **register**: `Counter::register` on a real encrypted store (its durable commit
//!   included), with 50 published configurations held;
//! - **refresh_config**: the check alone when nothing new is in force (the common case);
//! - **config_status**: the admin's and the notice's view of the 50.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use parchi_app::{Counter, FixedEnv, RegisterRequest};

const NOW_MS: u64 = 1_780_300_800_000; // 2026-06-01, a Monday

fn example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hospital.toml")
}

fn request(i: u64) -> RegisterRequest {
    RegisterRequest {
        patient: parchi_core::patient::PatientInput {
            name: ["Sunita Devi", "Ramesh Paswan", "Farida Khatun"][(i % 3) as usize].into(),
            sex: "F".into(),
            age: format!("{}", 20 + i % 50),
            pincode: "800001".into(),
            ..Default::default()
        },
        department: "MED".into(),
        uhid: String::new(),
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut counter = Counter::init(
        dir.path(),
        &example(),
        "A",
        Box::new(FixedEnv::new(NOW_MS, 1)),
    )
    .expect("init");
    let today = counter.today();
    let mut cfg = counter.config().clone();
    // 49 already in force (the last of them taken) and one to come.
    for i in 0..50u64 {
        cfg.departments[0].fee = 10 + i as u32;
        let from = if i < 49 {
            today
        } else {
            today.succ_opt().expect("tomorrow")
        };
        counter.publish_config(&cfg, from, "").expect("publish");
    }
    let mut g = c.benchmark_group("config");
    g.measurement_time(Duration::from_secs(8));
    let mut i = 0;
    g.bench_function("register", |b| {
        b.iter(|| {
            i += 1;
            counter.register(&request(i)).expect("register")
        })
    });
    g.bench_function("refresh_config", |b| {
        b.iter(|| counter.refresh_config().expect("refresh"))
    });
    g.bench_function("config_status", |b| {
        b.iter(|| counter.config_status().expect("status"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
