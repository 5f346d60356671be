//! Times name searches against an existing store: `cargo run --release -p parchi-store --example
//! search_probe -- DIR "query" ...`. A tool for tuning search, not a benchmark.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, queries)) = args.split_first() else {
        eprintln!("usage: search_probe DIR QUERY...");
        return;
    };
    let store = match parchi_store::Store::open(std::path::Path::new(dir)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
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
    }
}
