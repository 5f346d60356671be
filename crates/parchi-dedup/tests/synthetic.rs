//! Precision and recall on seeded synthetic sets, harder than the sample (see `synth`).

use parchi_dedup::synth::{SynthConfig, evaluate, generate};
use parchi_dedup::{Config, find_duplicates};

#[test]
fn synthetic_sets_keep_precision_high_and_relatives_apart() {
    for seed in [7, 11] {
        let set = generate(&SynthConfig::new(15_000, seed));
        let cands = find_duplicates(&set.records, &Config::default());
        let q = evaluate(&set, &cands);
        eprintln!("seed {seed}, {} registrations: {q:?}", set.records.len());
        // The synthetic sets are deliberately harsher than the sample (sexes typed wrongly,
        // ages five years off, two slips in one name, no guardian and no phone), so recall is
        // lower; what must not slip is precision, and relatives above all.
        assert!(q.precision >= 0.98, "seed {seed}: {q:?}");
        assert!(q.recall >= 0.90, "seed {seed}: {q:?}");
        assert!(
            q.relatives_proposed * 500 <= q.relatives_sharing_mobile,
            "seed {seed}: more than 0.2% of relative pairs proposed: {q:?}"
        );
    }
}
