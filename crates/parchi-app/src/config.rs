//! The hospital configuration: departments, counters, fees, slip settings.
//!
//! A TOML file is first checked against `schemas/hospital-config.schema.json` (the contract
//! hospital IT writes against), then against rules a schema cannot say (unique codes). Every
//! error names the entry (`departments[3] (ENT).days[1]`) and what is allowed.

use std::path::Path;

use chrono::{FixedOffset, Weekday};
use parchi_core::{Category, CounterCode, DeptCode};
use serde::{Deserialize, Serialize};

/// The JSON Schema every configuration must satisfy.
pub const SCHEMA: &str = include_str!("../../../schemas/hospital-config.schema.json");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the configuration is not valid TOML: {0}")]
    Syntax(String),
    #[error("the configuration has {} problem(s):\n  - {}", .0.len(), .0.join("\n  - "))]
    Invalid(Vec<String>),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HospitalConfig {
    pub hospital: Hospital,
    #[serde(default)]
    pub fees: Fees,
    pub counters: Vec<CounterConfig>,
    pub departments: Vec<Department>,
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default)]
    pub mirror: MirrorConfig,
    #[serde(default, skip_serializing_if = "SecurityConfig::is_empty")]
    pub security: SecurityConfig,
    #[serde(default, skip_serializing_if = "BackupConfig::is_default")]
    pub backup: BackupConfig,
}

/// When and where the desktop app (and the hub) back up on their own.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BackupConfig {
    /// A directory for backups (a USB drive, a share); none: only the hub (and `parchi
    /// backup --to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Minutes between scheduled backups; 0 turns the schedule off.
    #[serde(default = "default_backup_every")]
    pub every_minutes: u32,
    /// Local time (HH:MM) of the day-end backup.
    #[serde(default = "default_day_end")]
    pub day_end: String,
    /// Also upload each scheduled backup to the hub (when enrolled).
    #[serde(default = "default_true")]
    pub to_hub: bool,
    /// In `dir`, keep this installation's newest this many backups...
    #[serde(default = "default_keep_recent")]
    pub keep_recent: u32,
    /// ...and the newest of each of the last this many days.
    #[serde(default = "default_keep_days")]
    pub keep_days: u32,
}

fn default_backup_every() -> u32 {
    15
}
fn default_day_end() -> String {
    "17:00".into()
}
fn default_true() -> bool {
    true
}
fn default_keep_recent() -> u32 {
    8
}
fn default_keep_days() -> u32 {
    30
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            dir: None,
            every_minutes: default_backup_every(),
            day_end: default_day_end(),
            to_hub: true,
            keep_recent: default_keep_recent(),
            keep_days: default_keep_days(),
        }
    }
}

impl BackupConfig {
    fn is_default(&self) -> bool {
        *self == BackupConfig::default()
    }

    /// The day-end time as minutes after midnight (the schema checked the form).
    pub fn day_end_minute(&self) -> Option<u32> {
        let (h, m) = self.day_end.split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    }
}

/// The hospital's public keys (`age` X25519 recipients, `age1…`); their private halves stay
/// with the hospital, never on a counter.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SecurityConfig {
    /// The escrow slot: every installation's data key is also encrypted to this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escrow_recipient: Option<String>,
    /// Backups are encrypted to this key (the counter cannot read its own old backups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_recipient: Option<String>,
}

impl SecurityConfig {
    fn is_empty(&self) -> bool {
        self.escrow_recipient.is_none() && self.backup_recipient.is_none()
    }
}

/// The counter's copy of the hospital's patient index.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MirrorConfig {
    /// Keep only patients the hospital saw in the last this many years (`None`: everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_years: Option<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Hospital {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_local: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uhid_system: Option<String>,
    /// A regular expression every UHID of the hospital matches in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uhid_pattern: Option<String>,
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default = "default_lang")]
    pub local_language: String,
    #[serde(default = "default_layout")]
    pub slip_layout: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<String>,
    #[serde(default = "default_valid_days")]
    pub slip_valid_days: u32,
}

fn default_tz() -> String {
    "+05:30".into()
}
fn default_lang() -> String {
    "hi".into()
}
fn default_layout() -> String {
    "thermal80".into()
}
fn default_valid_days() -> u32 {
    1
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fees {
    #[serde(default = "default_waived")]
    pub waived: Vec<Category>,
}

fn default_waived() -> Vec<Category> {
    vec![Category::Bpl, Category::Staff, Category::Free]
}

impl Default for Fees {
    fn default() -> Self {
        Self {
            waived: default_waived(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CounterConfig {
    pub code: CounterCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Department {
    pub code: DeptCode,
    pub name: String,
    pub name_local: String,
    pub room: String,
    pub days: Vec<Day>,
    pub fee: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SyncConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
}

/// A weekday as written in the configuration.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub fn weekday(self) -> Weekday {
        match self {
            Day::Mon => Weekday::Mon,
            Day::Tue => Weekday::Tue,
            Day::Wed => Weekday::Wed,
            Day::Thu => Weekday::Thu,
            Day::Fri => Weekday::Fri,
            Day::Sat => Weekday::Sat,
            Day::Sun => Weekday::Sun,
        }
    }
    pub fn short(self) -> &'static str {
        match self {
            Day::Mon => "Mon",
            Day::Tue => "Tue",
            Day::Wed => "Wed",
            Day::Thu => "Thu",
            Day::Fri => "Fri",
            Day::Sat => "Sat",
            Day::Sun => "Sun",
        }
    }
}

impl Department {
    pub fn runs_on(&self, day: Weekday) -> bool {
        self.days.iter().any(|d| d.weekday() == day)
    }
    /// "Mon, Wed, Fri"
    pub fn days_text(&self) -> String {
        self.days
            .iter()
            .map(|d| d.short())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl HospitalConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text)
    }

    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let value: toml::Value =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        let json = serde_json::to_value(&value).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        Self::from_json_value(json)
    }

    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        Self::from_json_value(json)
    }

    fn from_json_value(json: serde_json::Value) -> Result<Self, ConfigError> {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA)
            .map_err(|e| ConfigError::Invalid(vec![format!("internal schema: {e}")]))?;
        // Formats too: the UHID system must be a URI (FHIR identifier systems are).
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| ConfigError::Invalid(vec![format!("internal schema: {e}")]))?;
        let mut problems: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| {
                format!(
                    "{}: {}",
                    entry_name(&json, &e.instance_path().to_string()),
                    e
                )
            })
            .collect();
        if !problems.is_empty() {
            problems.sort();
            problems.dedup();
            return Err(ConfigError::Invalid(problems));
        }
        let cfg: HospitalConfig =
            serde_json::from_value(json).map_err(|e| ConfigError::Invalid(vec![e.to_string()]))?;
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        for (name, r) in [
            ("escrow_recipient", &self.security.escrow_recipient),
            ("backup_recipient", &self.security.backup_recipient),
        ] {
            if let Some(r) = r
                && let Err(e) = parchi_keys::parse_recipient(r)
            {
                problems.push(format!("security.{name}: {e}"));
            }
        }
        for (i, d) in self.departments.iter().enumerate() {
            if self.departments[..i].iter().any(|o| o.code == d.code) {
                problems.push(format!(
                    "departments[{i}] ({}): the code is used twice; codes must be unique",
                    d.code
                ));
            }
        }
        for (i, c) in self.counters.iter().enumerate() {
            if self.counters[..i].iter().any(|o| o.code == c.code) {
                problems.push(format!(
                    "counters[{i}] ({}): the code is used twice; codes must be unique",
                    c.code
                ));
            }
        }
        if self.offset().is_none() {
            problems.push(format!(
                "hospital.timezone: {:?} is not a UTC offset like +05:30",
                self.hospital.timezone
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The hospital's UTC offset.
    pub fn offset(&self) -> Option<FixedOffset> {
        let tz = &self.hospital.timezone;
        let sign = match tz.get(..1)? {
            "+" => 1,
            "-" => -1,
            _ => return None,
        };
        let (h, m) = tz.get(1..)?.split_once(':')?;
        let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
        FixedOffset::east_opt(sign * secs)
    }

    /// Whether the configuration lists the counter `code` (a counter runs only on one that does).
    pub fn lists_counter(&self, code: &CounterCode) -> bool {
        self.counters.iter().any(|c| c.code == *code)
    }

    pub fn department(&self, code: &str) -> Option<&Department> {
        let code = code.trim().to_ascii_uppercase();
        self.departments.iter().find(|d| d.code.as_str() == code)
    }

    pub fn department_codes(&self) -> String {
        self.departments
            .iter()
            .map(|d| d.code.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The fee a patient of `category` pays in `dept`.
    pub fn fee(&self, dept: &Department, category: Category) -> u32 {
        if self.fees.waived.contains(&category) {
            0
        } else {
            dept.fee
        }
    }
}

/// `/departments/3/days/1` → `departments[3] (ENT).days[1]`
fn entry_name(doc: &serde_json::Value, pointer: &str) -> String {
    if pointer.is_empty() {
        return "(top level)".into();
    }
    let mut out = String::new();
    let mut cur = Some(doc);
    for part in pointer.trim_start_matches('/').split('/') {
        cur = cur.and_then(|c| match c {
            serde_json::Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
            serde_json::Value::Object(o) => o.get(part),
            _ => None,
        });
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
            if let Some(code) = cur.and_then(|c| c.get("code")).and_then(|c| c.as_str()) {
                out.push_str(&format!(" ({code})"));
            }
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store keeps its configuration as JSON and validates it again on every open: a
    /// configuration without its optional fields must read back (no `null` the schema refuses).
    #[test]
    fn a_minimal_configuration_reads_back_from_its_json() {
        let minimal = r#"
            [hospital]
            name = "PHC Bikram"
            [[counters]]
            code = "A"
            [[departments]]
            code = "MED"
            name = "Medicine"
            name_local = "चिकित्सा"
            room = "1"
            days = ["mon"]
            fee = 0
        "#;
        let cfg = HospitalConfig::from_toml(minimal).expect("valid");
        let json = serde_json::to_string(&cfg).expect("json");
        assert!(!json.contains("null"), "{json}");
        assert_eq!(HospitalConfig::from_json(&json).expect("reads back"), cfg);
    }

    const EXAMPLE: &str = include_str!("../../../examples/hospital.toml");

    #[test]
    fn the_shipped_example_is_valid_and_has_the_required_departments() {
        let cfg = HospitalConfig::from_toml(EXAMPLE).expect("example must validate");
        for code in [
            "MED", "SUR", "PED", "OBG", "ORT", "ENT", "EYE", "DER", "PSY", "DEN",
        ] {
            let d = cfg
                .department(code)
                .unwrap_or_else(|| panic!("{code} missing"));
            assert!(!d.name_local.is_empty());
        }
        assert_eq!(cfg.offset(), FixedOffset::east_opt(5 * 3600 + 1800));
    }

    #[test]
    fn errors_name_the_entry_and_what_is_allowed() {
        let bad = EXAMPLE.replace(
            "days = [\"mon\", \"wed\", \"fri\"]\nfee = 10\n\n[[departments]]\ncode = \"PED\"",
            "days = [\"monday\"]\nfee = 10\n\n[[departments]]\ncode = \"PED\"",
        );
        let e = HospitalConfig::from_toml(&bad)
            .expect_err("bad day")
            .to_string();
        assert!(e.contains("departments[1] (SUR).days[0]"), "{e}");
        assert!(e.contains("mon"), "{e}");
        let dup = EXAMPLE.replace("code = \"SUR\"", "code = \"MED\"");
        let e = HospitalConfig::from_toml(&dup)
            .expect_err("dup")
            .to_string();
        assert!(
            e.contains("departments[1] (MED): the code is used twice"),
            "{e}"
        );
        let bad_counter = EXAMPLE.replace("code = \"B\"", "code = \"O1\"");
        let e = HospitalConfig::from_toml(&bad_counter)
            .expect_err("counter")
            .to_string();
        assert!(e.contains("counters[1] (O1).code"), "{e}");
        assert!(matches!(
            HospitalConfig::from_toml("[hospital"),
            Err(ConfigError::Syntax(_))
        ));
    }

    #[test]
    fn waived_categories_pay_nothing() {
        let cfg = HospitalConfig::from_toml(EXAMPLE).expect("valid");
        let med = cfg.department("med").expect("MED");
        assert_eq!(cfg.fee(med, Category::General), 10);
        assert_eq!(cfg.fee(med, Category::Bpl), 0);
        assert_eq!(cfg.fee(med, Category::Senior), 10);
    }
}
