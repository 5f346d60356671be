//! One configuration for all counters. An admin publishes the hospital's configuration
//! (departments, rooms, days, fees, counters) once, at the central hub (`parchi hub
//! publish-config`) or at one counter (`parchi config publish`, the desktop's admin screen); it
//! travels as a `PublishConfig` operation through sync, and each counter puts it in force on its
//! effective date.
//!
//! - A counter keeps its own settings: the printer, the slip layout and language, the hub it is
//!   enrolled at and its backup directory ([`LOCAL_SETTINGS`]). Everything else comes from the
//!   published configuration.
//! - Which published configuration is in force on a day is the core's rule
//!   ([`parchi_core::config_in_force`]). Before the first one takes effect, a counter runs on
//!   the configuration it was set up with.
//! - A counter checks a configuration against the schema and its rules before it takes it, and
//!   that it still lists the counter. One that fails is not taken: the counter keeps the last
//!   one it took, and [`ConfigStatus::refused`] says why.
//! - Offline, a counter keeps what it last took; a configuration that arrived earlier still
//!   comes into force on its date, since it is already in the local store.

use chrono::NaiveDate;
use parchi_core::{ConfigId, Published};
use serde::Serialize;

use crate::config::{ConfigError, HospitalConfig};
use crate::counter::{Counter, Result, with_stamping_pub};
use crate::error::AppError;

mod changes;
mod form;

pub use changes::{ChangeKind, ConfigChange, changes};
pub use form::PublishForm;

/// The settings each counter keeps as its own (JSON pointers into the configuration); a
/// published configuration never carries or replaces them.
pub const LOCAL_SETTINGS: [&str; 5] = [
    "/hospital/printer",
    "/hospital/slip_layout",
    "/hospital/local_language",
    "/sync",
    "/backup/dir",
];

/// Longest note an admin may give a publication, in characters (the hub's rule for every
/// op's free text).
pub const MAX_NOTE_CHARS: usize = parchi_sync::validate::MAX_REASON_CHARS;

/// What a note must be, as the messages say it.
fn note_rule() -> String {
    format!("at most {MAX_NOTE_CHARS} characters on one line")
}

/// Whether a (trimmed) note is one the hub takes: short, one line, no control characters.
pub(crate) fn note_ok(note: &str) -> bool {
    note.chars().count() <= MAX_NOTE_CHARS && !note.chars().any(char::is_control)
}

/// Refuses an effective date before today in the hospital's time zone (the configuration is
/// published for every counter, so its date is the hospital's, wherever it is published).
pub fn check_effective_from(config: &HospitalConfig, from: NaiveDate, now_ms: u64) -> Result<()> {
    let today = crate::counter::local_time(config, now_ms).date();
    if from < today {
        return Err(AppError::Invalid(format!(
            "the configuration cannot take effect in the past ({from}); today is {today}"
        )));
    }
    Ok(())
}

impl HospitalConfig {
    /// The configuration as published for every counter: without [`LOCAL_SETTINGS`].
    pub fn shared(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        for pointer in LOCAL_SETTINGS {
            remove(&mut v, pointer);
        }
        v
    }

    /// A published configuration with this counter's own settings from `local`, checked as
    /// any configuration is.
    pub fn from_shared(
        shared: &serde_json::Value,
        local: &HospitalConfig,
    ) -> std::result::Result<HospitalConfig, ConfigError> {
        let mut v = shared.clone();
        let local_v = serde_json::to_value(local).unwrap_or_default();
        for pointer in LOCAL_SETTINGS {
            remove(&mut v, pointer);
            if let Some(value) = local_v.pointer(pointer) {
                put(&mut v, pointer, value.clone());
            }
        }
        HospitalConfig::from_json(&v.to_string())
    }
}

fn remove(v: &mut serde_json::Value, pointer: &str) {
    if let Some((parent, key)) = pointer.rsplit_once('/')
        && let Some(serde_json::Value::Object(map)) = v.pointer_mut(parent)
    {
        map.remove(key);
    }
}

fn put(v: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    // The pointer "" is the whole document, so a top-level key needs no case of its own.
    if v.pointer(parent).is_none() {
        put(v, parent, serde_json::Value::Object(Default::default()));
    }
    if let Some(serde_json::Value::Object(map)) = v.pointer_mut(parent) {
        map.insert(key.to_owned(), value);
    }
}

/// A published configuration as the admin's screen and `parchi config status` show it.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublishedView {
    pub config: String,
    pub effective_from: NaiveDate,
    /// Local date and time of publication, `YYYY-MM-DD HH:MM`.
    pub published_at: String,
    /// Published at this counter (else at the hub or another counter).
    pub here: bool,
    pub note: String,
    /// What it changes from the configuration in force the day before it (none for the first).
    pub changes: Vec<ConfigChange>,
}

/// A published configuration this counter did not take, and why.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusedConfig {
    pub config: String,
    pub effective_from: NaiveDate,
    pub reason: String,
}

/// Where this counter's configuration comes from, and what is coming.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConfigStatus {
    /// The published configuration in force today; `None`: the counter's own (set-up) one.
    pub in_force: Option<PublishedView>,
    /// True when the one in force took effect today: the desktop shows what changed.
    pub changed_today: bool,
    /// Published configurations that take effect after today, soonest first.
    pub upcoming: Vec<PublishedView>,
    /// The configuration that should be in force but was not taken.
    pub refused: Option<RefusedConfig>,
}

impl Counter {
    /// Publishes `config` for every counter, in force from `effective_from` (today or later).
    /// Only the shared part travels ([`HospitalConfig::shared`]). The configuration must list
    /// this counter, which takes it like any other on its date.
    pub fn publish_config(
        &mut self,
        config: &HospitalConfig,
        effective_from: NaiveDate,
        note: &str,
    ) -> Result<ConfigId> {
        check_effective_from(self.config(), effective_from, self.now_ms())?;
        if !config.lists_counter(self.counter_code()) {
            return Err(AppError::UnknownCounter {
                code: self.counter_code().to_string(),
                known: "the configuration to publish does not list this counter".into(),
            });
        }
        let note = note.trim();
        if !note_ok(note) {
            return Err(AppError::Invalid(format!(
                "the note must be {}",
                note_rule()
            )));
        }
        let shared = config.shared();
        let id = with_stamping_pub(self, |store, st| {
            store.publish_config(effective_from, shared, note, st)
        })?;
        self.refresh_config()?;
        Ok(id)
    }

    /// [`Counter::publish_config`] of a configuration file, from a date as an admin types it
    /// (`2026-12-07`; empty: today).
    pub fn publish_config_file(
        &mut self,
        path: &std::path::Path,
        effective_from: &str,
        note: &str,
    ) -> Result<ConfigId> {
        let config = HospitalConfig::load(path)?;
        let from = Counter::parse_day(Some(effective_from))?.unwrap_or_else(|| self.today());
        self.publish_config(&config, from, note)
    }

    /// Takes the published configuration in force today if this counter has not yet: checked,
    /// with this counter's own settings kept. Returns whether the configuration changed. Cheap
    /// when nothing changed (one read of a small table), so the use cases that depend on the
    /// configuration call it first.
    pub fn refresh_config(&mut self) -> Result<bool> {
        let published = self.store().published_configs()?;
        let Some(p) = parchi_core::config_in_force(&published, self.today()).copied() else {
            return Ok(false);
        };
        if self.store().applied_config()? == Some(p.config)
            || self
                .config_refused
                .as_ref()
                .is_some_and(|r| r.0 == p.config)
        {
            return Ok(false);
        }
        match self.check_published(&p) {
            Ok(config) => {
                self.take(config, p.config)?;
                self.config_refused = None;
                Ok(true)
            }
            Err(reason) => {
                self.config_refused = Some((p.config, reason));
                Ok(false)
            }
        }
    }

    /// The published configuration `p` with this counter's settings, or why it cannot be taken.
    fn check_published(&self, p: &Published) -> std::result::Result<HospitalConfig, String> {
        let held = self
            .store()
            .published_config(p.config)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "it is not in this counter's store".to_string())?;
        let config = HospitalConfig::from_shared(&held.settings, self.config())
            .map_err(|e| e.to_string())?;
        if !config.lists_counter(self.counter_code()) {
            return Err(format!(
                "it does not list this counter ({})",
                self.counter_code()
            ));
        }
        Ok(config)
    }

    /// Where this counter's configuration comes from, and what is coming (taking one that came
    /// into force first).
    pub fn config_status(&mut self) -> Result<ConfigStatus> {
        self.refresh_config()?;
        let today = self.today();
        let published = self.store().published_configs()?;
        let applied = self.store().applied_config()?;
        let in_force = match applied {
            Some(id) => published.iter().find(|p| p.config == id).copied(),
            None => None,
        };
        // What will be in force on each day a publication takes effect (the core's rule picks
        // among several for one day).
        let days: std::collections::BTreeSet<NaiveDate> = published
            .iter()
            .map(|p| p.effective_from)
            .filter(|d| *d > today)
            .collect();
        let upcoming: Vec<Published> = days
            .into_iter()
            .filter_map(|d| parchi_core::config_in_force(&published, d).copied())
            .collect();
        let refused = self.config_refused.as_ref().and_then(|(id, reason)| {
            published
                .iter()
                .find(|p| p.config == *id)
                .map(|p| RefusedConfig {
                    config: id.to_string(),
                    effective_from: p.effective_from,
                    reason: reason.clone(),
                })
        });
        Ok(ConfigStatus {
            changed_today: in_force.is_some_and(|p| p.effective_from == today),
            in_force: in_force
                .map(|p| self.published_view(&published, &p, true))
                .transpose()?,
            upcoming: upcoming
                .iter()
                .map(|p| self.published_view(&published, p, false))
                .collect::<Result<_>>()?,
            refused,
        })
    }

    /// `p` as shown, with what it changes: for the one in force, from the configuration this
    /// counter ran on before it took it; for one to come, from the one in force the day before.
    fn published_view(
        &self,
        all: &[Published],
        p: &Published,
        taken: bool,
    ) -> Result<PublishedView> {
        let held = self.store().published_config(p.config)?;
        let after = held
            .as_ref()
            .and_then(|h| HospitalConfig::from_shared(&h.settings, self.config()).ok());
        let before = if taken {
            self.store()
                .previous_config()?
                .and_then(|json| HospitalConfig::from_json(&json).ok())
        } else {
            let day_before = p.effective_from.pred_opt();
            match day_before.and_then(|d| parchi_core::config_in_force(all, d)) {
                Some(b) => self.published_as_config(b.config)?,
                None => Some(self.config().clone()),
            }
        };
        Ok(PublishedView {
            config: p.config.to_string(),
            effective_from: p.effective_from,
            published_at: self
                .local_time_of(p.stamp.hlc)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            here: p.stamp.site == self.site().site,
            note: held.map(|h| h.note).unwrap_or_default(),
            changes: match (before, after) {
                (Some(b), Some(a)) => changes(&b, &a),
                _ => Vec::new(),
            },
        })
    }

    /// A published configuration with this counter's settings, if it reads as one.
    fn published_as_config(&self, id: ConfigId) -> Result<Option<HospitalConfig>> {
        Ok(self
            .store()
            .published_config(id)?
            .and_then(|h| HospitalConfig::from_shared(&h.settings, self.config()).ok()))
    }

    /// Makes `config` this counter's configuration: the store (with the one it replaces kept
    /// for the change list) and `hospital.toml` beside it.
    fn take(&mut self, config: HospitalConfig, from: ConfigId) -> Result<()> {
        let json = serde_json::to_string(&config).map_err(|e| AppError::Invalid(e.to_string()))?;
        if let Ok(text) = toml::to_string(&config) {
            // The file is a copy for the admin to read; the store is what the counter runs on.
            let _ = crate::desktop::write_atomically(
                &self.data_dir().join(crate::desktop::CONFIG_FILE),
                text.as_bytes(),
            );
        }
        self.store_mut().take_config(&json, Some(from))?;
        self.set_config(config);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
