//! Backup and restore of a big counter store: time and size, with baselines measured in the
//! same run.
//!
//! `cargo bench -p parchi-app --bench backup -- [PATIENTS]` (default 1,000,000).
//!
//! - **backup**: `Counter::backup` (an SQLCipher snapshot under `DATA/tmp`, `integrity_check`
//!   of it, age encryption to the recovery key's recipient, the signed header, fsync, and the
//!   re-read of the file's hash), against two baselines: copying the database file
//!   (`std::fs::copy`, the bytes alone) and `Store::snapshot_to` alone (the consistent
//!   encrypted copy without integrity check or age);
//! - **size**: the backup file against the database file;
//! - **verify**: `verify_backup` with the private key (decrypt, integrity, counts);
//! - **restore**: `Counter::restore` into an empty directory with the recovery key (decrypt,
//!   integrity, new key slots, rekey verified by reopening, new identity). Target: under 5
//!   minutes at 1,000,000 patients.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parchi_app::backup::verify_backup;
use parchi_app::{Counter, Env, FixedEnv, RegisterRequest};
use parchi_keys::backup::BackupKey;

const NOW_MS: u64 = 1_780_300_800_000; // 2026-06-01
const NAMES: &[&str] = &[
    "Aarav Kumar",
    "Sunita Devi",
    "Mohammad Irfan",
    "Lakshmi Oraon",
    "Ramesh Paswan",
    "Geeta Kumari",
    "Ashok Mahto",
    "Farida Khatun",
    "Pooja Manjhi",
    "Rajesh Yadav",
];

struct BenchEnv {
    clock: Arc<AtomicU64>,
    random: FixedEnv,
}

impl Env for BenchEnv {
    fn now_ms(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        self.random.fill_random(buf);
    }
}

fn env(clock: &Arc<AtomicU64>, seed: u64) -> Box<dyn Env> {
    Box::new(BenchEnv {
        clock: clock.clone(),
        random: FixedEnv::new(NOW_MS, seed),
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let root = tempfile::tempdir().expect("tmp");
    let data = root.path().join("data");
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hospital.toml");
    let clock = Arc::new(AtomicU64::new(NOW_MS));
    let mut c = Counter::init(&data, &cfg, "A", env(&clock, 7)).expect("init");
    let rk = c.take_recovery_key().expect("recovery key");

    let t = Instant::now();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(5_000);
        let reqs: Vec<RegisterRequest> = (0..chunk)
            .map(|_| RegisterRequest {
                patient: parchi_core::patient::PatientInput {
                    name: NAMES[(next() % NAMES.len() as u64) as usize].into(),
                    sex: "F".into(),
                    age: format!("{}", 1 + next() % 80),
                    mobile: format!("9{:09}", next() % 1_000_000_000),
                    ..Default::default()
                },
                department: "MED".into(),
                uhid: String::new(),
            })
            .collect();
        c.register_batch(&reqs).expect("register");
        done += chunk;
        clock.fetch_add(86_400_000, Ordering::Relaxed);
    }
    c.optimize().expect("optimize");
    drop(c);
    let db = data.join(parchi_store::DB_FILE);
    let db_bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "filled {n} patients in {:.0} s; the database is {:.1} MiB",
        t.elapsed().as_secs_f64(),
        mib(db_bytes)
    );

    // Baseline 1: the bytes alone.
    let copy = root.path().join("copy.db");
    let t = Instant::now();
    std::fs::copy(&db, &copy).expect("copy");
    std::fs::File::open(&copy)
        .and_then(|f| f.sync_all())
        .expect("sync");
    let copy_s = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&copy);

    // Baseline 2: the consistent encrypted snapshot alone.
    let mut c = Counter::open(&data, env(&clock, 8)).expect("open");
    let snap = root.path().join("snap.db");
    let key = parchi_keys::DataKey::generate(&mut |b: &mut [u8]| c.fill_random(b));
    let t = Instant::now();
    c.snapshot_for_bench(&snap, &key).expect("snapshot");
    let snap_s = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&snap);

    let out = root.path().join("usb");
    let t = Instant::now();
    let b = c.backup(Some(&out)).expect("backup");
    let backup_s = t.elapsed().as_secs_f64();
    let backup_bytes = std::fs::metadata(&b.file).map(|m| m.len()).unwrap_or(0);
    assert!(b.verified);
    drop(c);

    let bkey = BackupKey::from_recovery(&rk).expect("key");
    let t = Instant::now();
    let v = verify_backup(
        &b.file,
        &bkey,
        &root.path().join("work"),
        &mut FixedEnv::new(NOW_MS, 9),
    )
    .expect("verify");
    let verify_s = t.elapsed().as_secs_f64();
    assert_eq!(v.patients, n as u64);

    let target = root.path().join("restored");
    let t = Instant::now();
    let (r, report) = Counter::restore(&b.file, &target, &bkey, env(&clock, 10)).expect("restore");
    let restore_s = t.elapsed().as_secs_f64();
    assert_eq!(report.patients, n as u64);
    drop(r);

    println!(
        "backup of {n} patients (database {:.1} MiB, {} ops)",
        mib(db_bytes),
        b.manifest.ops.count
    );
    println!("  baseline copy of the file      {copy_s:>8.2} s");
    println!("  baseline encrypted snapshot    {snap_s:>8.2} s");
    println!(
        "  parchi backup                  {backup_s:>8.2} s  ({:.2}x the snapshot, {:.2}x the copy)",
        backup_s / snap_s.max(1e-9),
        backup_s / copy_s.max(1e-9)
    );
    println!(
        "  backup size                    {:>8.1} MiB ({:.3}x the database)",
        mib(backup_bytes),
        backup_bytes as f64 / db_bytes.max(1) as f64
    );
    println!("  verify (decrypt, integrity)    {verify_s:>8.2} s");
    println!(
        "  restore                        {restore_s:>8.2} s  (target: under 300 s at 1M; {})",
        if restore_s < 300.0 { "met" } else { "NOT met" }
    );
    println!(
        "  restored directory             {:>8.1} MiB",
        mib(dir_bytes(&target))
    );
}
