//! The counter: opening and creating it, and the use cases that write: register, batch,
//! revisit, edit, cancel, reprint. What it reads is in `lookup.rs`.

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use parchi_core::patient::{FieldError, PatientInput};
use parchi_core::{Category, CounterCode, Hlc, PatientId, VisitId};
use parchi_store::{NewRegistration, NewVisitSpec, PatientRecord, Registered, Stamping, Store};
use serde::Serialize;

use crate::config::{Department, HospitalConfig};
use crate::env::Env;
use crate::error::AppError;
use crate::returning::CardLink;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

pub use crate::lookup::{
    HistoryItem, OutboxStatus, PatientSummary, Report, SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX,
};

/// A registration request: who, and for which department.
#[derive(Clone, Debug, Default)]
pub struct RegisterRequest {
    pub patient: PatientInput,
    pub department: String,
    /// The UHID on the patient's hospital card, typed or scanned (empty: none).
    pub uhid: String,
}

/// What the clerk sees after a registration (or a revisit) commits.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Registration {
    pub patient_id: PatientId,
    pub temp_id: String,
    pub visit_id: VisitId,
    pub token: String,
    pub department: String,
    pub department_name: String,
    pub room: String,
    pub fee: u32,
    pub day: NaiveDate,
    pub warnings: Vec<FieldError>,
}

impl Registration {
    fn new(r: &Registered, dept: &Department, fee: u32, warnings: Vec<FieldError>) -> Self {
        Registration {
            patient_id: r.patient,
            temp_id: r.temp_id.to_string(),
            visit_id: r.visit,
            token: r.token.to_string(),
            department: dept.code.to_string(),
            department_name: dept.name.clone(),
            room: dept.room.clone(),
            fee,
            day: r.day,
            warnings,
        }
    }
}

/// What the clerk sees after a revisit commits: the same as after a registration.
pub type VisitReceipt = Registration;

/// One counter's session over its store.
pub struct Counter {
    store: Store,
    config: HospitalConfig,
    env: Box<dyn Env>,
    /// The data key the store was opened with (never printed: `DataKey`'s `Debug` is its id).
    pub(crate) key: parchi_keys::DataKey,
    /// The recovery key made in this session, until the caller takes it to show it once.
    pub(crate) recovery: Option<parchi_keys::RecoveryKey>,
    /// The published configuration in force that this counter could not take, and why
    /// (`published.rs`); checked again when another comes into force or the counter reopens.
    pub(crate) config_refused: Option<(parchi_core::ConfigId, String)>,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter")
            .field("site", self.store.site())
            .finish_non_exhaustive()
    }
}

fn with_stamping<T>(
    env: &mut dyn Env,
    cfg: &HospitalConfig,
    f: impl FnOnce(&mut Stamping<'_>) -> T,
) -> T {
    let now_ms = env.now_ms();
    let local = local_time(cfg, now_ms);
    let mut fill = |b: &mut [u8]| env.fill_random(b);
    let mut st = Stamping {
        now_ms,
        local,
        random: &mut fill,
    };
    f(&mut st)
}

/// Runs a store write with the counter's clock and randomness (for other use-case modules).
pub(crate) fn with_stamping_pub<T>(
    c: &mut Counter,
    f: impl FnOnce(&mut Store, &mut Stamping<'_>) -> T,
) -> T {
    let Counter {
        store, config, env, ..
    } = c;
    with_stamping(env.as_mut(), config, |st| f(store, st))
}

pub(crate) fn local_time(cfg: &HospitalConfig, now_ms: u64) -> NaiveDateTime {
    let utc = DateTime::from_timestamp_millis(now_ms as i64).unwrap_or_default();
    match cfg.offset() {
        Some(off) => utc.with_timezone(&off).naive_local(),
        None => utc.naive_utc(),
    }
}

/// The page cache, in KiB, of a connection opened by [`Counter::open_side`].
pub const SIDE_CACHE_KIB: u32 = 2_048;

impl Counter {
    /// Initialises a new counter installation in `dir` from a configuration file.
    pub fn init(
        dir: &Path,
        config_path: &Path,
        counter: &str,
        mut env: Box<dyn Env>,
    ) -> Result<Counter> {
        let config = HospitalConfig::load(config_path)?;
        let known = || {
            config
                .counters
                .iter()
                .map(|c| c.code.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let code = CounterCode::parse(counter).map_err(|e| AppError::UnknownCounter {
            code: counter.to_owned(),
            known: format!("{} ({e})", known()),
        })?;
        if !config.lists_counter(&code) {
            return Err(AppError::UnknownCounter {
                code: counter.to_owned(),
                known: known(),
            });
        }
        let json = serde_json::to_string(&config).map_err(|e| AppError::Invalid(e.to_string()))?;
        let db = dir.join(parchi_store::DB_FILE);
        if db.exists() {
            return Err(parchi_store::StoreError::AlreadyInitialised(db).into());
        }
        // The key slots first: a store is never written without its key kept somewhere.
        let keys = {
            let mut fill = |b: &mut [u8]| env.fill_random(b);
            parchi_keys::keyring::create(
                dir,
                config.security.escrow_recipient.as_deref(),
                &mut fill,
            )?
        };
        let store = with_stamping(env.as_mut(), &config, |st| {
            Store::create(dir, &keys.data_key, code, &json, st)
        })?;
        let mut c = Counter {
            store,
            config,
            env,
            key: keys.data_key,
            recovery: Some(keys.recovery),
            config_refused: None,
        };
        c.ensure_signing_key()?;
        Ok(c)
    }

    /// Opens an initialised counter with this machine's key slot.
    pub fn open(dir: &Path, mut env: Box<dyn Env>) -> Result<Counter> {
        let (store, key) = crate::keys::open_store(dir, env.as_mut())?;
        Self::from_store(store, key, env)
    }

    /// A counter over a store already opened with `key`.
    pub(crate) fn from_store(
        store: Store,
        key: parchi_keys::DataKey,
        env: Box<dyn Env>,
    ) -> Result<Counter> {
        let config = HospitalConfig::from_json(&store.config_json()?)?;
        let mut c = Counter {
            store,
            config,
            env,
            key,
            recovery: None,
            config_refused: None,
        };
        c.upgrade_user_hashes()?;
        c.ensure_signing_key()?;
        c.refresh_config()?;
        Ok(c)
    }

    /// Opens a second connection to an initialised counter for work beside the clerk's
    /// (syncing, counting what waits), with a page cache of [`SIDE_CACHE_KIB`]: it reads the
    /// op log once, in order, and a big cache would only hold memory.
    pub fn open_side(dir: &Path, env: Box<dyn Env>) -> Result<Counter> {
        let c = Self::open(dir, env)?;
        c.store.set_cache_kib(SIDE_CACHE_KIB)?;
        Ok(c)
    }

    pub fn config(&self) -> &HospitalConfig {
        &self.config
    }

    /// The store: crate-private, so every caller goes through the use cases.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// This installation's identity: site ID, site tag, counter code.
    pub fn site(&self) -> &parchi_store::SiteInfo {
        self.store.site()
    }

    /// How many patients and visits the store holds.
    pub fn counts(&self) -> Result<(u64, u64)> {
        Ok(self.store.counts()?)
    }

    /// Operations the hub refused, with its reasons.
    pub fn rejected_ops(&self) -> Result<Vec<(parchi_core::Op, String)>> {
        Ok(self.store.rejected_ops()?)
    }

    /// Sets the database page cache (the desktop app keeps a larger one than the CLI).
    pub fn set_cache_kib(&self, kib: u32) -> Result<()> {
        Ok(self.store.set_cache_kib(kib)?)
    }

    /// Compacts the indexes (after a bulk load).
    pub fn optimize(&mut self) -> Result<()> {
        Ok(self.store.optimize()?)
    }

    /// The data directory this counter lives in.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.store
            .path()
            .parent()
            .map(|p| p.to_owned())
            .unwrap_or_default()
    }

    /// Replaces the configuration the session runs on (already stored by the caller).
    pub(crate) fn set_config(&mut self, config: HospitalConfig) {
        self.config = config;
    }

    pub(crate) fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn counter_code(&self) -> &CounterCode {
        &self.store.site().counter
    }

    /// Local date and time now, in the hospital's time zone.
    pub fn now_local(&self) -> NaiveDateTime {
        local_time(&self.config, self.env.now_ms())
    }

    /// The session's source of time and randomness.
    pub(crate) fn env_mut(&mut self) -> &mut dyn Env {
        self.env.as_mut()
    }

    /// Random bytes from the session's source.
    pub fn fill_random(&mut self, buf: &mut [u8]) {
        self.env.fill_random(buf);
    }

    pub fn now_ms(&self) -> u64 {
        self.env.now_ms()
    }

    pub fn today(&self) -> NaiveDate {
        self.now_local().date()
    }

    /// Local time of an HLC.
    pub fn local_time_of(&self, hlc: Hlc) -> NaiveDateTime {
        local_time(&self.config, hlc.wall_ms())
    }

    /// Replaces the hospital configuration with a validated new one (departments, fees, printer).
    pub fn apply_config(&mut self, config_path: &Path) -> Result<()> {
        let config = HospitalConfig::load(config_path)?;
        if !config.lists_counter(self.counter_code()) {
            return Err(AppError::UnknownCounter {
                code: self.counter_code().to_string(),
                known: "the new configuration no longer lists this counter".into(),
            });
        }
        let applied = self.store.applied_config()?;
        if applied.is_some() && config.shared() != self.config.shared() {
            return Err(AppError::Invalid(
                "this hospital's departments, fees and counters come from the configuration \
                 published for every counter (`parchi config status`); change them with \
                 `parchi config publish`. This file may change only this counter's own settings \
                 (printer, slip layout and language, backup directory)"
                    .into(),
            ));
        }
        let json = serde_json::to_string(&config).map_err(|e| AppError::Invalid(e.to_string()))?;
        self.store.take_config(&json, applied)?;
        self.config = config;
        Ok(())
    }

    fn department(&self, code: &str) -> Result<Department> {
        self.config
            .department(code)
            .cloned()
            .ok_or_else(|| AppError::UnknownDepartment {
                code: code.trim().to_owned(),
                known: self.config.department_codes(),
            })
    }

    fn day_warning(&self, dept: &Department) -> Option<FieldError> {
        use chrono::Datelike;
        let today = self.today().weekday();
        (!dept.runs_on(today)).then(|| FieldError {
            field: "department",
            code: "closed_today",
            message: format!(
                "{} does not run on {today}; it runs {}",
                dept.code,
                dept.days_text()
            ),
        })
    }

    /// Registers a new patient with a first visit and token. Validates everything first; on any
    /// error nothing is written. With the UHID from the patient's card, the visit goes to the
    /// Parchi patient who already holds it, or the new patient is linked to the hospital's
    /// record (see `returning`).
    pub fn register(&mut self, req: &RegisterRequest) -> Result<Registration> {
        self.refresh_config()?;
        let (dept, v, card) = self.check_request(req)?;
        let mut warnings = v.warnings;
        warnings.extend(self.day_warning(&dept));
        let mut link = None;
        if let Some(u) = &card {
            match self.card_link(u, &v.fields)? {
                CardLink::Registered(person) => {
                    let mut r = self.visit_for(&person, &dept)?;
                    r.warnings.insert(0, already_registered(u, &person));
                    return Ok(r);
                }
                CardLink::New(l, w) => {
                    link = Some(l);
                    warnings.extend(w);
                }
            }
        }
        let category = v.fields.category;
        let reg = NewRegistration {
            fields: v.fields,
            quick: req.patient.quick,
            link,
            visit: NewVisitSpec {
                department: dept.code.clone(),
                fee: self.config.fee(&dept, category),
                category,
            },
        };
        let r = with_stamping(self.env.as_mut(), &self.config, |st| {
            self.store.register(&reg, st)
        })?;
        Ok(Registration::new(&r, &dept, reg.visit.fee, warnings))
    }

    /// Checks a request as a whole: the department, every field and the card's UHID, all
    /// errors at once.
    fn check_request(
        &self,
        req: &RegisterRequest,
    ) -> Result<(
        Department,
        parchi_core::patient::Validated,
        Option<parchi_core::Uhid>,
    )> {
        let dept = self.department(&req.department)?;
        let validated = req.patient.validate(self.today());
        let card = match req.uhid.trim() {
            "" => Ok(None),
            t => self.card_uhid(t).map(Some),
        };
        match (validated, card) {
            (Ok(v), Ok(c)) => Ok((dept, v, c)),
            (Err(mut v), Err(AppError::Validation(c))) => {
                v.0.extend(c.0);
                Err(v.into())
            }
            (Err(v), _) => Err(v.into()),
            (Ok(_), Err(e)) => Err(e),
        }
    }

    /// Validates many registrations and commits the valid ones together in one transaction.
    /// Returns, per request, the registration or the reason it was refused. A row whose card
    /// UHID a Parchi patient already holds becomes a visit for them.
    pub fn register_batch(
        &mut self,
        reqs: &[RegisterRequest],
    ) -> Result<Vec<Result<Registration>>> {
        self.refresh_config()?;
        let mut prepared = Vec::new();
        let mut outcomes: Vec<Option<Result<Registration>>> = Vec::with_capacity(reqs.len());
        let mut visits = Vec::new();
        for req in reqs {
            let (dept, v, card) = match self.check_request(req) {
                Ok(c) => c,
                Err(e) => {
                    outcomes.push(Some(Err(e)));
                    continue;
                }
            };
            let mut warnings = v.warnings;
            let mut link = None;
            if let Some(u) = &card {
                match self.card_link(u, &v.fields) {
                    Err(e) => {
                        outcomes.push(Some(Err(e)));
                        continue;
                    }
                    Ok(CardLink::Registered(person)) => {
                        visits.push((outcomes.len(), person, dept, u.clone()));
                        outcomes.push(None);
                        continue;
                    }
                    Ok(CardLink::New(l, w)) => {
                        link = Some(l);
                        warnings.extend(w);
                    }
                }
            }
            let category = v.fields.category;
            let fee = self.config.fee(&dept, category);
            prepared.push((
                outcomes.len(),
                dept.clone(),
                warnings,
                NewRegistration {
                    fields: v.fields,
                    quick: req.patient.quick,
                    link,
                    visit: NewVisitSpec {
                        department: dept.code.clone(),
                        fee,
                        category,
                    },
                },
            ));
            outcomes.push(None);
        }
        let regs: Vec<NewRegistration> = prepared.iter().map(|p| p.3.clone()).collect();
        let done = with_stamping(self.env.as_mut(), &self.config, |st| {
            self.store.register_many(&regs, st)
        })?;
        for ((slot, dept, warnings, reg), r) in prepared.into_iter().zip(done) {
            outcomes[slot] = Some(Ok(Registration::new(&r, &dept, reg.visit.fee, warnings)));
        }
        for (slot, person, dept, u) in visits {
            outcomes[slot] = Some(self.visit_for(&person, &dept).map(|mut r| {
                r.warnings.insert(0, already_registered(&u, &person));
                r
            }));
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(AppError::Invalid("not registered".into()))))
            .collect())
    }

    /// A new visit and token for a returning patient (by patient ID, temporary ID or UHID). A
    /// UHID nobody here holds but the mirror of the hospital's index does registers the patient
    /// from the hospital's record, linked to it.
    pub fn new_visit(&mut self, patient_ref: &str, department: &str) -> Result<VisitReceipt> {
        self.refresh_config()?;
        let dept = self.department(department)?;
        let p = match self.store.resolve_patient(patient_ref) {
            Ok(p) => p,
            Err(e) => {
                // Not a Parchi patient: perhaps a record of the hospital's index.
                let central = match parchi_core::Uhid::parse(patient_ref) {
                    Ok(u) => self.store.mirror_record(&u)?,
                    Err(_) => None,
                };
                return match central {
                    Some(c) => self.register_from_mirror(&c, &dept),
                    None => Err(e.into()),
                };
            }
        };
        self.visit_for(&p, &dept)
    }

    /// A visit for a known person.
    fn visit_for(&mut self, p: &PatientRecord, dept: &Department) -> Result<VisitReceipt> {
        let category = p.fields.category;
        let spec = NewVisitSpec {
            department: dept.code.clone(),
            fee: self.config.fee(dept, category),
            category,
        };
        let v = with_stamping(self.env.as_mut(), &self.config, |st| {
            self.store.add_visit(p.id, &spec, st)
        })?;
        Ok(VisitReceipt {
            patient_id: p.id,
            temp_id: p.temp_id.to_string(),
            visit_id: v.visit,
            token: v.token.to_string(),
            department: dept.code.to_string(),
            department_name: dept.name.clone(),
            room: dept.room.clone(),
            fee: v.fee,
            day: v.day,
            warnings: self.day_warning(dept).into_iter().collect(),
        })
    }

    /// Registers a patient of the hospital's index with a first visit, linked to their record.
    fn register_from_mirror(
        &mut self,
        central: &parchi_core::CentralPatient,
        dept: &Department,
    ) -> Result<VisitReceipt> {
        let fields = self.fields_from_mirror(central)?;
        let category = fields.category;
        let reg = NewRegistration {
            fields,
            quick: false,
            link: Some(parchi_core::CentralLink::Linked {
                uhid: central.uhid.clone(),
                basis: parchi_core::LinkBasis::Card,
                update: Vec::new(),
            }),
            visit: NewVisitSpec {
                department: dept.code.clone(),
                fee: self.config.fee(dept, category),
                category,
            },
        };
        let r = with_stamping(self.env.as_mut(), &self.config, |st| {
            self.store.register(&reg, st)
        })?;
        let warnings = self.day_warning(dept).into_iter().collect();
        Ok(Registration::new(&r, dept, reg.visit.fee, warnings))
    }
}

/// The warning when a card's UHID is already registered here.
fn already_registered(u: &parchi_core::Uhid, person: &PatientRecord) -> FieldError {
    FieldError {
        field: "uhid",
        code: "already_registered",
        message: format!(
            "{u} is already registered here (temporary ID {}): the visit is theirs, and the details typed were not saved",
            person.temp_id
        ),
    }
}

/// Fee categories as the UI lists them.
pub fn categories() -> Vec<&'static str> {
    Category::ALL.iter().map(|c| c.code()).collect()
}
