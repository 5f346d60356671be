//! This counter's own settings: the printer, the slip's layout and languages, the screen's
//! language. Validated here; written into this counter's copy of the hospital configuration.

use serde::{Deserialize, Serialize};

use crate::counter::{Counter, Result};
use crate::error::AppError;

use super::{CONFIG_FILE, write_atomically};

/// This counter's own settings (not synced): where slips print, how they look, which languages
/// the screen and the slip use. The printer, layout and slip language are this counter's copy of
/// the hospital configuration (what printing and the slip renderer read); the screen language is
/// a setting of its own. The hub is shown here but set by enrolling (`Counter::enroll`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DesktopSettings {
    /// The CUPS queue slips print to; empty means the system default printer.
    pub printer: String,
    /// thermal80, a6 or a5.
    pub slip_layout: String,
    /// The screen's language: en or hi.
    pub ui_language: String,
    /// The slip's second language: hi or bn.
    pub slip_language: String,
    /// The hub this counter is enrolled at (read only here); empty when it syncs with none.
    #[serde(default)]
    pub hub: String,
}

pub(crate) const SLIP_LAYOUTS: [&str; 3] = ["thermal80", "a6", "a5"];
const UI_LANGUAGES: [&str; 2] = ["en", "hi"];
pub(crate) const SLIP_LANGUAGES: [&str; 2] = ["hi", "bn"];

const KEY_UI_LANGUAGE: &str = "desktop.ui_language";

impl Counter {
    /// This counter's settings.
    pub fn desktop_settings(&self) -> Result<DesktopSettings> {
        let h = &self.config().hospital;
        Ok(DesktopSettings {
            printer: h.printer.clone().unwrap_or_default(),
            slip_layout: h.slip_layout.clone(),
            ui_language: self
                .store()
                .setting(KEY_UI_LANGUAGE)?
                .unwrap_or_else(|| "en".into()),
            slip_language: h.local_language.clone(),
            hub: self.sync_status()?.hub.unwrap_or_default(),
        })
    }

    /// Validates and saves this counter's settings; every problem is reported by field. The
    /// printer, layout and slip language go into this counter's copy of the hospital
    /// configuration, written to `hospital.toml` in the data directory and applied (validated
    /// against the schema like any configuration).
    pub fn save_desktop_settings(&mut self, s: &DesktopSettings) -> Result<DesktopSettings> {
        let clean = check_settings(s)?;
        let mut cfg = self.config().clone();
        cfg.hospital.printer = (!clean.printer.is_empty()).then(|| clean.printer.clone());
        cfg.hospital.slip_layout = clean.slip_layout.clone();
        cfg.hospital.local_language = clean.slip_language.clone();
        let text = toml::to_string(&cfg)
            .map_err(|e| AppError::Invalid(format!("cannot write the configuration: {e}")))?;
        let path = self.data_dir().join(CONFIG_FILE);
        write_atomically(&path, text.as_bytes())?;
        self.apply_config(&path)?;
        self.store_mut()
            .set_setting(KEY_UI_LANGUAGE, &clean.ui_language)?;
        self.desktop_settings()
    }

    /// Only the screen language, which any clerk may switch.
    pub fn set_ui_language(&mut self, language: &str) -> Result<()> {
        let lang = language.trim().to_ascii_lowercase();
        if !UI_LANGUAGES.contains(&lang.as_str()) {
            return Err(AppError::Invalid("language: must be en or hi".into()));
        }
        Ok(self.store_mut().set_setting(KEY_UI_LANGUAGE, &lang)?)
    }
}

/// A CUPS queue name: printable, no spaces, slashes or '#' (what `lpadmin -p` accepts).
fn printer_name_ok(s: &str) -> bool {
    s.len() <= 127
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '#' | '\\' | '\'' | '"'))
}

fn check_settings(s: &DesktopSettings) -> Result<DesktopSettings> {
    let mut errs = parchi_core::ValidationErrors::default();
    let clean = DesktopSettings {
        printer: s.printer.trim().to_owned(),
        slip_layout: s.slip_layout.trim().to_ascii_lowercase(),
        ui_language: s.ui_language.trim().to_ascii_lowercase(),
        slip_language: s.slip_language.trim().to_ascii_lowercase(),
        hub: s.hub.trim().to_owned(),
    };
    if !printer_name_ok(&clean.printer) {
        errs.push(
            "printer",
            "format",
            "must be a CUPS printer name: letters, digits, - and _, no spaces",
        );
    }
    if !SLIP_LAYOUTS.contains(&clean.slip_layout.as_str()) {
        errs.push("slip_layout", "format", "must be thermal80, a6 or a5");
    }
    if !UI_LANGUAGES.contains(&clean.ui_language.as_str()) {
        errs.push("ui_language", "format", "must be en or hi");
    }
    if !SLIP_LANGUAGES.contains(&clean.slip_language.as_str()) {
        errs.push("slip_language", "format", "must be hi or bn");
    }
    if errs.is_empty() {
        Ok(clean)
    } else {
        Err(AppError::Validation(errs))
    }
}
