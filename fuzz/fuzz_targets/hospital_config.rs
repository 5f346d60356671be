//! The configuration parser: `HospitalConfig::from_toml` and `from_json`, each fed the same text.
//!
//! Properties: a configuration accepted from either form is accepted again, unchanged, from its
//! own JSON and from its own TOML (what `parchi` writes back is what it read), and a refusal
//! always says what is wrong.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parchi_app::{ConfigError, HospitalConfig};

fn round_trips(cfg: &HospitalConfig) {
    let json = serde_json::to_string(cfg).expect("a configuration encodes as JSON");
    match HospitalConfig::from_json(&json) {
        Ok(back) => assert!(back == *cfg, "the configuration changes through JSON"),
        Err(e) => panic!("its own JSON is refused: {e}"),
    }
    let toml = toml::to_string(cfg).expect("a configuration encodes as TOML");
    match HospitalConfig::from_toml(&toml) {
        Ok(back) => assert!(back == *cfg, "the configuration changes through TOML"),
        Err(e) => panic!("its own TOML is refused: {e}"),
    }
}

fn refusal_says_why(e: &ConfigError) {
    match e {
        ConfigError::Invalid(problems) => {
            assert!(!problems.is_empty(), "refused with no problem named");
        }
        ConfigError::Syntax(m) | ConfigError::Read { reason: m, .. } => assert!(!m.is_empty()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match HospitalConfig::from_toml(text) {
        Ok(cfg) => round_trips(&cfg),
        Err(e) => refusal_says_why(&e),
    }
    match HospitalConfig::from_json(text) {
        Ok(cfg) => round_trips(&cfg),
        Err(e) => refusal_says_why(&e),
    }
});
