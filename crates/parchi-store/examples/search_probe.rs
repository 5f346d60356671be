//! Times name searches against an existing store: `cargo run --release -p parchi-store --example
//! search_probe -- DIR "query" ...`. A tool for tuning search, not a benchmark.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, queries)) = args.split_first() else {
        eprintln!("usage: search_probe DIR QUERY...");
        return;
    };
    let dir = std::path::Path::new(dir);
    let key = match parchi_keys::keyring::unlock(dir) {
        Ok(u) => u.key,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let mut store = match parchi_store::Store::open(dir, &key) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    if std::env::var_os("OPTIMIZE").is_some() {
        let t = Instant::now();
        if let Err(e) = store.optimize() {
            eprintln!("{e}");
        }
        println!("optimize: {:.1} s", t.elapsed().as_secs_f64());
    }
    for q in queries {
        for round in 0..3 {
            let t = Instant::now();
            let hits = store.search(q, 10).unwrap_or_default();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            if round == 2 {
                let top: Vec<String> = hits
                    .iter()
                    .take(3)
                    .map(|h| format!("{} ({:.2})", h.patient.fields.name, h.score))
                    .collect();
                println!(
                    "{ms:8.2} ms  {q:?}: {} hits; {}",
                    hits.len(),
                    top.join(", ")
                );
            }
        }
        for wide in [false, true] {
            let groups = parchi_core::names::query_groups(q, true, wide);
            let fts = groups
                .iter()
                .map(|g| format!("({})", g.join(" OR ")))
                .collect::<Vec<_>>()
                .join(" AND ");
            let t = Instant::now();
            let n: i64 = store
                .connection()
                .query_row(
                    "SELECT count(*) FROM (SELECT rowid FROM patient_fts WHERE patient_fts MATCH ?1 ORDER BY rowid DESC LIMIT 300)",
                    [&fts],
                    |r| r.get(0),
                )
                .unwrap_or(-1);
            let t1 = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let all: i64 = store
                .connection()
                .query_row(
                    "SELECT count(*) FROM patient_fts WHERE patient_fts MATCH ?1",
                    [&fts],
                    |r| r.get(0),
                )
                .unwrap_or(-1);
            let t2 = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "           wide={wide}: fts limit-300 {t1:.2} ms ({n}); all matches {t2:.2} ms ({all})"
            );
        }
    }
}
