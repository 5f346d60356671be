//! `parchi`, the command line. A thin layer: it parses arguments, calls the use cases in
//! `parchi-app`, and prints results as text or, with `--json`, as JSON that scripts rely on.
//!
//! Exit codes: 0 ok; 2 bad input (validation, unknown department, bad arguments); 1 any other
//! failure (locked or corrupt database, full disk, I/O).

mod import;
mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use parchi_app::{AppError, Counter, RegisterRequest, SystemEnv};
use parchi_core::patient::PatientInput;

use crate::output::Out;

#[derive(Parser, Debug)]
#[command(
    name = "parchi",
    version,
    about = "Offline-first OPD registration: counters, slips, sync and reconciliation"
)]
pub struct Cli {
    /// The counter's data directory (default: $PARCHI_DATA, else ~/.local/share/parchi).
    #[arg(long, global = true, env = "PARCHI_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Initialise this counter's data directory from a hospital configuration.
    Init {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "CODE")]
        counter: String,
    },
    /// Register a new patient and issue a token for a department.
    Register(RegisterArgs),
    /// Start a new visit (and token) for a known patient.
    Visit {
        /// Patient ID, temporary ID or UHID.
        patient: String,
        #[arg(long, value_name = "CODE")]
        department: String,
        #[command(flatten)]
        slip: SlipOut,
    },
    /// Write a visit's OPD slip as a PDF.
    Slip {
        visit: String,
        #[arg(long, value_name = "FILE.pdf")]
        out: PathBuf,
        /// thermal80, a6 or a5 (default: the configuration's).
        #[arg(long)]
        layout: Option<String>,
        /// Mark it DUPLICATE (use `reprint` to record a reprint and print it).
        #[arg(long)]
        duplicate: bool,
    },
    /// Print a visit's OPD slip through CUPS (the PDF is kept if the printer fails).
    Print {
        visit: String,
        /// CUPS queue (default: the configuration's printer, else the system default).
        #[arg(long)]
        printer: Option<String>,
    },
    /// Find patients by mobile, temporary ID, UHID, ABHA, or a (misspelt) name.
    Search {
        query: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Show a patient with their visits.
    Show {
        /// Patient ID, temporary ID or UHID.
        patient: String,
    },
    /// Correct a patient's details (only the fields given change; each change is recorded).
    Edit {
        patient: String,
        #[command(flatten)]
        fields: PatientArgs,
    },
    /// Cancel a visit (it stays on record, marked cancelled).
    Cancel {
        visit: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Record a reprint of a visit's slip (marked DUPLICATE), and print or write it.
    Reprint {
        visit: String,
        #[command(flatten)]
        slip: SlipOut,
    },
    /// Every change to a patient or visit, oldest first.
    History {
        /// Patient ID, temporary ID, UHID or visit ID.
        reference: String,
    },
    /// Bulk registration from a CSV file (columns of shared/data/sample.patients.csv).
    Import {
        file: PathBuf,
        #[arg(long, value_name = "CODE")]
        department: String,
        /// Rows committed per transaction (1: each row durable on its own).
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// Counts and fees per department and per counter for a day.
    Report {
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        /// Also write the report as a PDF.
        #[arg(long, value_name = "FILE.pdf")]
        pdf: Option<PathBuf>,
    },
    /// Enrol this counter at a hub with a one-time code from the hub's admin.
    Enroll {
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long)]
        code: String,
    },
    /// Sync with the hub once: push what waits, pull what is new.
    Sync {
        /// Only show the state: online or offline, pending changes, last success and error.
        #[arg(long)]
        status: bool,
        /// List the changes the hub refused.
        #[arg(long)]
        errors: bool,
        /// Put the refused changes back in the queue, then sync.
        #[arg(long)]
        retry: bool,
    },
    /// Run the sync hub (embedded SQLite by default; PostgreSQL with --database).
    Serve(parchi_hub::cli::ServeArgs),
    /// Hub administration (run against a hub).
    #[command(subcommand)]
    Hub(HubCommand),
    /// Today's visits at this counter.
    Today,
    /// This counter's identity and the changes waiting to be synced.
    Status,
    /// Likely duplicate patients (after an outage), with scores and reasons.
    Duplicates {
        /// Only pairs the tool rates likely (not those for review).
        #[arg(long)]
        likely: bool,
    },
    /// Merge two records of one person (every ID of both keeps resolving to the survivor).
    Merge {
        a: String,
        b: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Take a record back out of the person it was merged into.
    Unmerge {
        record: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Record that two records are different people (e.g. relatives sharing a phone).
    NotDuplicate {
        a: String,
        b: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Fields two counters corrected differently while offline, with both values.
    Conflicts,
    /// Export every patient and visit as FHIR R4 transaction Bundles (conditional creates).
    ExportFhir {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Local user accounts for the desktop app (PIN or password, offline login).
    #[command(subcommand)]
    User(UserCommand),
    /// Replace the stored hospital configuration with a new file.
    Configure {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a clerk or admin. The PIN/password is read from $PARCHI_PASSWORD or the first line of stdin.
    Add {
        name: String,
        #[arg(long, default_value = "clerk")]
        role: String,
    },
    /// Set a new PIN/password ($PARCHI_PASSWORD or stdin).
    Passwd { name: String },
    /// Disable an account (it can no longer log in).
    Disable { name: String },
    /// Enable a disabled account.
    Enable { name: String },
    /// List accounts.
    List,
}

fn read_secret() -> Result<String, CliError> {
    if let Ok(s) = std::env::var("PARCHI_PASSWORD") {
        return Ok(s);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::BadInput(format!("cannot read the PIN/password from stdin: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Patient fields as flags (shared by `register` and `edit`).
#[derive(Args, Debug, Default)]
pub struct PatientArgs {
    #[arg(long)]
    name: Option<String>,
    /// M, F or O.
    #[arg(long)]
    sex: Option<String>,
    /// Years (34), or months/days for infants (8m, 20d).
    #[arg(long)]
    age: Option<String>,
    /// Date of birth, YYYY-MM-DD.
    #[arg(long)]
    dob: Option<String>,
    /// S/o, D/o, W/o or C/o.
    #[arg(long)]
    guardian_relation: Option<String>,
    #[arg(long)]
    guardian_name: Option<String>,
    #[arg(long)]
    mobile: Option<String>,
    /// House, street, locality.
    #[arg(long)]
    address: Option<String>,
    #[arg(long)]
    district: Option<String>,
    #[arg(long)]
    state: Option<String>,
    #[arg(long)]
    pincode: Option<String>,
    /// ABHA number (14 digits) or ABHA address (name@abdm).
    #[arg(long)]
    abha: Option<String>,
    /// Aadhaar number or its last 4 digits (only the last 4 are kept).
    #[arg(long)]
    aadhaar: Option<String>,
    /// general, bpl, senior, staff or free.
    #[arg(long)]
    category: Option<String>,
}

impl PatientArgs {
    fn input(&self, quick: bool) -> PatientInput {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        PatientInput {
            name: s(&self.name),
            sex: s(&self.sex),
            age: s(&self.age),
            dob: s(&self.dob),
            guardian_relation: s(&self.guardian_relation),
            guardian_name: s(&self.guardian_name),
            mobile: s(&self.mobile),
            locality: s(&self.address),
            district: s(&self.district),
            state: s(&self.state),
            pincode: s(&self.pincode),
            abha: s(&self.abha),
            aadhaar: s(&self.aadhaar),
            category: s(&self.category),
            quick,
        }
    }
}

#[derive(Args, Debug)]
struct RegisterArgs {
    #[command(flatten)]
    patient: PatientArgs,
    #[arg(long, value_name = "CODE")]
    department: String,
    /// Quick registration: only sex and approximate age are required.
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    slip: SlipOut,
}

/// What to do with the slip after a registration, visit or reprint.
#[derive(Args, Debug, Default)]
struct SlipOut {
    /// Print the slip (CUPS; the configured printer unless --printer).
    #[arg(long)]
    print: bool,
    #[arg(long, requires = "print")]
    printer: Option<String>,
    /// Write the slip PDF here.
    #[arg(long, value_name = "FILE.pdf")]
    slip: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum HubCommand {
    /// Create a one-time enrolment code for a counter (or, with --role hub, a LAN hub).
    EnrollCode {
        #[arg(long, value_name = "URL")]
        hub: String,
        /// counter or hub.
        #[arg(long, default_value = "counter")]
        role: String,
        /// Minutes the code stays valid.
        #[arg(long, default_value_t = 60)]
        ttl_minutes: u64,
        /// The hub's data directory (to read its admin secret), unless $PARCHI_HUB_ADMIN_SECRET.
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// Every enrolled device with its sync state.
    Sites {
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// Operations the hub stored aside (two payloads under one ID).
    Quarantine {
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// At the central hub: give every person with only temporary IDs a permanent UHID.
    AssignUhids {
        /// Letters the UHIDs start with, e.g. DHP.
        #[arg(long)]
        prefix: String,
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// Revoke a device: it can no longer push or pull.
    Revoke {
        device: String,
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
}

fn hub_secret(hub_data: &Option<PathBuf>) -> Result<String, CliError> {
    if let Ok(s) = std::env::var("PARCHI_HUB_ADMIN_SECRET") {
        return Ok(s);
    }
    match hub_data {
        Some(d) => std::fs::read_to_string(d.join("admin.secret"))
            .map(|s| s.trim().to_owned())
            .map_err(|e| {
                CliError::BadInput(format!(
                    "cannot read the hub's admin secret in {}: {e}",
                    d.display()
                ))
            }),
        None => Err(CliError::BadInput(
            "give --hub-data DIR (the hub's data directory) or set PARCHI_HUB_ADMIN_SECRET".into(),
        )),
    }
}

fn hub_client(url: &str) -> Result<parchi_sync::HubClient, CliError> {
    parchi_sync::HubClient::new(url, parchi_sync::ClientConfig::default())
        .map_err(|e| CliError::BadInput(format!("--hub: {e}")))
}

/// After a registration, visit or reprint: write and/or print the slip as asked.
fn handle_slip(
    c: &Counter,
    visit: &str,
    duplicate: bool,
    s: &SlipOut,
) -> Result<serde_json::Value, CliError> {
    let mut out = serde_json::Map::new();
    if let Some(path) = &s.slip {
        c.write_slip(visit, None, duplicate, path)?;
        out.insert("slip".into(), serde_json::json!(path));
    }
    if s.print {
        let p = c.print_slip(visit, s.printer.as_deref(), duplicate)?;
        out.insert(
            "printed".into(),
            serde_json::to_value(&p).unwrap_or_default(),
        );
    }
    Ok(serde_json::Value::Object(out))
}

fn with_slip<T: serde::Serialize>(v: &T, extra: serde_json::Value) -> serde_json::Value {
    let mut j = serde_json::to_value(v).unwrap_or_default();
    if let (Some(o), serde_json::Value::Object(e)) = (j.as_object_mut(), extra) {
        o.extend(e);
    }
    j
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let out = Out { json: cli.json };
    match run(&cli, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => out.fail(&e),
    }
}

fn parchi_dedup_verdict_likely() -> parchi_dedup::Verdict {
    parchi_dedup::Verdict::Likely
}

/// Where data lives when neither `--data` nor `PARCHI_DATA` is given.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("parchi");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/parchi"),
        None => PathBuf::from(".parchi-data"),
    }
}

fn open(dir: &Path) -> Result<Counter, CliError> {
    Ok(Counter::open(dir, Box::new(SystemEnv))?)
}

/// A failure with its exit code class.
#[derive(Debug)]
pub enum CliError {
    App(AppError),
    BadInput(String),
    /// Bad input already reported line by line (e.g. refused import rows): only the summary
    /// goes to stderr, so `--json` output stays one object per line.
    Reported(String),
    Other(anyhow::Error),
}

impl From<AppError> for CliError {
    fn from(e: AppError) -> Self {
        CliError::App(e)
    }
}
impl From<parchi_store::StoreError> for CliError {
    fn from(e: parchi_store::StoreError) -> Self {
        CliError::App(e.into())
    }
}
impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::Other(e)
    }
}

fn hub_command(h: &HubCommand, out: &Out) -> Result<(), CliError> {
    let fail = |e: parchi_sync::ClientError| CliError::Other(anyhow::anyhow!("{e}"));
    match h {
        HubCommand::EnrollCode {
            hub,
            role,
            ttl_minutes,
            hub_data,
        } => {
            let role = match role.as_str() {
                "counter" => parchi_sync::wire::Role::Counter,
                "hub" => parchi_sync::wire::Role::Hub,
                other => {
                    return Err(CliError::BadInput(format!(
                        "--role: {other:?} is not counter or hub"
                    )));
                }
            };
            let code = hub_client(hub)?
                .admin_enroll_code(&hub_secret(hub_data)?, role, Some(ttl_minutes * 60))
                .map_err(fail)?;
            out.value(&code, || format!("Enrolment code: {}", code.code));
        }
        HubCommand::Sites { hub, hub_data } => {
            let sites = hub_client(hub)?
                .admin_sites(&hub_secret(hub_data)?)
                .map_err(fail)?;
            out.value(&sites, || {
                serde_json::to_string_pretty(&sites).unwrap_or_default()
            });
        }
        HubCommand::Quarantine { hub, hub_data } => {
            let q = hub_client(hub)?
                .admin_quarantine(&hub_secret(hub_data)?)
                .map_err(fail)?;
            out.value(&q, || serde_json::to_string_pretty(&q).unwrap_or_default());
        }
        HubCommand::AssignUhids {
            prefix,
            hub,
            hub_data,
        } => {
            let r = hub_client(hub)?
                .admin_assign_uhids(&hub_secret(hub_data)?, prefix)
                .map_err(fail)?;
            let n = r["assigned"].as_array().map(|a| a.len()).unwrap_or(0);
            out.value(&r, || {
                format!("Assigned {n} UHIDs; counters learn them at their next sync.")
            });
        }
        HubCommand::Revoke {
            device,
            hub,
            hub_data,
        } => {
            hub_client(hub)?
                .admin_revoke(&hub_secret(hub_data)?, device)
                .map_err(fail)?;
            out.value(&(), || format!("Device {device} revoked."));
        }
    }
    Ok(())
}

fn run(cli: &Cli, out: &Out) -> Result<(), CliError> {
    let dir = cli.data.clone().unwrap_or_else(default_data_dir);
    match &cli.command {
        Command::Init { config, counter } => {
            let c = Counter::init(&dir, config, counter, Box::new(SystemEnv))?;
            let site = c.store().site();
            out.value(
                &serde_json::json!({
                    "data": dir, "counter": site.counter.as_str(), "site_id": site.site.to_string(),
                    "site_tag": site.tag.as_str(), "hospital": c.config().hospital.name,
                }),
                || {
                    format!(
                        "Initialised counter {} of {} in {} (site {}).",
                        site.counter,
                        c.config().hospital.name,
                        dir.display(),
                        site.tag.as_str()
                    )
                },
            );
        }
        Command::Register(a) => {
            let mut c = open(&dir)?;
            let r = c.register(&RegisterRequest {
                patient: a.patient.input(a.quick),
                department: a.department.clone(),
            })?;
            let extra = handle_slip(&c, &r.visit_id.to_string(), false, &a.slip)?;
            out.value(&with_slip(&r, extra), || {
                output::registration_text(
                    &r.token,
                    &r.temp_id,
                    &r.department_name,
                    &r.room,
                    r.fee,
                    &r.warnings,
                )
            });
        }
        Command::Visit {
            patient,
            department,
            slip,
        } => {
            let mut c = open(&dir)?;
            let v = c.new_visit(patient, department)?;
            let extra = handle_slip(&c, &v.visit_id.to_string(), false, slip)?;
            out.value(&with_slip(&v, extra), || {
                output::registration_text(
                    &v.token,
                    &v.temp_id,
                    &v.department_name,
                    &v.room,
                    v.fee,
                    &v.warnings,
                )
            });
        }
        Command::Slip {
            visit,
            out: file,
            layout,
            duplicate,
        } => {
            let c = open(&dir)?;
            let pdf = c.slip_pdf(visit, layout.as_deref(), *duplicate)?;
            std::fs::write(file, &pdf).map_err(|e| {
                CliError::Other(anyhow::anyhow!("cannot write {}: {e}", file.display()))
            })?;
            out.value(
                &serde_json::json!({ "slip": file, "bytes": pdf.len() }),
                || format!("Slip written to {}.", file.display()),
            );
        }
        Command::Print { visit, printer } => {
            let c = open(&dir)?;
            let p = c.print_slip(visit, printer.as_deref(), false)?;
            out.value(&p, || {
                format!(
                    "Sent to printer {} (job {}); PDF kept at {}.",
                    p.printer,
                    p.job_id,
                    p.pdf.display()
                )
            });
        }
        Command::Search { query, limit } => {
            let c = open(&dir)?;
            let hits = c.search(query, (*limit).clamp(1, 200))?;
            out.value(&hits, || output::hits_text(&hits));
        }
        Command::Show { patient } => {
            let c = open(&dir)?;
            let p = c.patient(patient)?;
            let visits = c.visits_of(patient)?;
            let sync = c.record_sync_state(patient)?;
            out.value(
                &serde_json::json!({ "patient": p, "visits": visits, "sync": sync }),
                || output::patient_text(&p, &visits, sync),
            );
        }
        Command::Edit { patient, fields } => {
            let mut c = open(&dir)?;
            let changed = c.edit_patient(patient, &fields.input(false))?;
            out.value(&serde_json::json!({ "changed": changed }), || {
                if changed.is_empty() {
                    "Nothing changed.".into()
                } else {
                    format!("Changed: {}.", changed.join(", "))
                }
            });
        }
        Command::Cancel { visit, reason } => {
            let mut c = open(&dir)?;
            let v = c.cancel_visit(visit, reason)?;
            out.value(&v, || {
                format!("Visit {} (token {}) cancelled.", v.id, v.token)
            });
        }
        Command::Reprint { visit, slip } => {
            let mut c = open(&dir)?;
            let v = c.record_reprint(visit)?;
            let extra = handle_slip(&c, visit, true, slip)?;
            out.value(&with_slip(&v, extra), || {
                format!(
                    "Reprint {} of token {} recorded (slip marked DUPLICATE).",
                    v.reprints, v.token
                )
            });
        }
        Command::History { reference } => {
            let c = open(&dir)?;
            let h = c.history(reference)?;
            out.value(&h, || output::history_text(&h));
        }
        Command::Import {
            file,
            department,
            batch,
        } => {
            let mut c = open(&dir)?;
            return import::run(&mut c, file, department, (*batch).max(1), out);
        }
        Command::Report { date, pdf } => {
            let c = open(&dir)?;
            let day = match date {
                Some(d) => Some(d.parse().map_err(|_| {
                    CliError::BadInput(format!("--date: {d:?} is not a date like 2026-11-28"))
                })?),
                None => None,
            };
            let r = c.day_report(day)?;
            if let Some(path) = pdf {
                let bytes = c.report_pdf(day)?;
                std::fs::write(path, bytes).map_err(|e| {
                    CliError::Other(anyhow::anyhow!("cannot write {}: {e}", path.display()))
                })?;
            }
            out.value(&r, || output::report_text(&r));
        }
        Command::Today => {
            let c = open(&dir)?;
            let list = c.todays_visits()?;
            let json: Vec<_> = list
                .iter()
                .map(|(v, p)| serde_json::json!({ "visit": v, "patient": p }))
                .collect();
            out.value(&json, || output::today_text(&list));
        }
        Command::Status => {
            let c = open(&dir)?;
            let site = c.store().site();
            let ob = c.outbox()?;
            let (patients, visits) = c.store().counts()?;
            out.value(
                &serde_json::json!({
                    "counter": site.counter.as_str(), "site_id": site.site.to_string(), "site_tag": site.tag.as_str(),
                    "hospital": c.config().hospital.name, "patients": patients, "visits": visits,
                    "pending": ob.pending, "rejected": ob.rejected,
                }),
                || {
                    format!(
                        "Counter {} ({}), {} patients, {} visits; {} changes waiting to sync, {} refused by the hub.",
                        site.counter,
                        c.config().hospital.name,
                        patients,
                        visits,
                        ob.pending,
                        ob.rejected
                    )
                },
            );
        }
        Command::Duplicates { likely } => {
            let c = open(&dir)?;
            let mut pairs = c.duplicates()?;
            if *likely {
                pairs.retain(|p| p.verdict == parchi_dedup_verdict_likely());
            }
            out.value(&pairs, || output::duplicates_text(&pairs));
        }
        Command::Merge { a, b, reason } => {
            let mut c = open(&dir)?;
            let o = c.merge(a, b, reason)?;
            out.value(&o, || {
                format!(
                    "Merged: {} ({} records), surviving record {}.",
                    o.survivor.name,
                    o.records.len(),
                    o.survivor.temp_id
                )
            });
        }
        Command::Unmerge { record, reason } => {
            let mut c = open(&dir)?;
            let o = c.unmerge(record, reason)?;
            out.value(&o, || {
                format!("Unmerged: {} is its own record again.", o.survivor.temp_id)
            });
        }
        Command::NotDuplicate { a, b, reason } => {
            let mut c = open(&dir)?;
            let o = c.not_duplicate(a, b, reason)?;
            out.value(&o, || "Recorded: different people.".to_string());
        }
        Command::ExportFhir { out: dir_out } => {
            let c = open(&dir)?;
            let summary = c.export_fhir(dir_out)?;
            out.value(&summary, || {
                format!(
                    "Wrote {} bundle(s) with {} patients and {} encounters to {}.",
                    summary.bundles.len(),
                    summary.patients,
                    summary.encounters,
                    dir_out.display()
                )
            });
        }
        Command::Conflicts => {
            let c = open(&dir)?;
            let list = c.conflicts()?;
            out.value(&list, || output::conflicts_text(&list));
        }
        Command::Enroll { hub, code } => {
            let mut c = open(&dir)?;
            let device = c.enroll(hub, code)?;
            out.value(
                &serde_json::json!({ "hub": hub, "device_id": device }),
                || format!("Enrolled at {hub} as device {device}."),
            );
        }
        Command::Sync {
            status,
            errors,
            retry,
        } => {
            let mut c = open(&dir)?;
            if *errors {
                let list: Vec<serde_json::Value> = c
                    .store()
                    .rejected_ops()?
                    .into_iter()
                    .map(|(op, e)| serde_json::json!({ "op_id": op.id, "kind": op.body.kind(), "error": e }))
                    .collect();
                out.value(&list, || {
                    if list.is_empty() {
                        "No refused changes.".into()
                    } else {
                        list.iter()
                            .map(|l| format!("{} {} {}", l["op_id"], l["kind"], l["error"]))
                            .collect::<Vec<_>>()
                            .join("\n")
                    }
                });
                return Ok(());
            }
            if !*status {
                if *retry {
                    c.retry_rejected()?;
                }
                let bar = indicatif::ProgressBar::new_spinner();
                let report = c.sync_once(&mut |p| match p {
                    parchi_sync::Progress::Pushing { done } => {
                        bar.set_message(format!("pushed {done}"))
                    }
                    parchi_sync::Progress::Pulling { done, remaining } => {
                        bar.set_message(format!("pulled {done}, {remaining} to go"))
                    }
                });
                bar.finish_and_clear();
                let report = report?;
                if !out.json {
                    println!(
                        "Pushed {} new ({} already there, {} refused); pulled {}.",
                        report.applied, report.duplicates, report.rejected, report.pulled
                    );
                }
            }
            let s = c.sync_status()?;
            out.value(&s, || output::sync_text(&s));
        }
        Command::Serve(args) => {
            return match parchi_hub::cli::serve_main(dir, args.clone()) {
                c if c == ExitCode::SUCCESS => Ok(()),
                _ => Err(CliError::Other(anyhow::anyhow!(
                    "the hub stopped with an error"
                ))),
            };
        }
        Command::Hub(h) => return hub_command(h, out),
        Command::User(u) => {
            let mut c = open(&dir)?;
            match u {
                UserCommand::Add { name, role } => {
                    let role = parchi_app::Role::parse(role)?;
                    let info = c.add_user(name, role, &read_secret()?)?;
                    out.value(&info, || {
                        format!("User {} ({}) added.", info.name, info.role.as_str())
                    });
                }
                UserCommand::Passwd { name } => {
                    c.set_user_secret(name, &read_secret()?)?;
                    out.value(&serde_json::json!({ "ok": true }), || {
                        "PIN/password changed.".into()
                    });
                }
                UserCommand::Disable { name } | UserCommand::Enable { name } => {
                    let disable = matches!(u, UserCommand::Disable { .. });
                    c.set_user_disabled(name, disable)?;
                    out.value(&serde_json::json!({ "ok": true }), || {
                        format!(
                            "User {name} {}.",
                            if disable { "disabled" } else { "enabled" }
                        )
                    });
                }
                UserCommand::List => {
                    let users = c.users()?;
                    out.value(&users, || {
                        users
                            .iter()
                            .map(|u| {
                                format!(
                                    "{:<20} {:<6}{}",
                                    u.name,
                                    u.role.as_str(),
                                    if u.disabled { " disabled" } else { "" }
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    });
                }
            }
        }
        Command::Configure { config } => {
            let mut c = open(&dir)?;
            c.apply_config(config)?;
            out.value(&serde_json::json!({ "ok": true }), || {
                "Configuration updated.".into()
            });
        }
    }
    Ok(())
}
