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
    /// Record a reprint of a visit's slip (marked DUPLICATE).
    Reprint { visit: String },
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
    },
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
            out.value(&r, || {
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
        } => {
            let mut c = open(&dir)?;
            let v = c.new_visit(patient, department)?;
            out.value(&v, || {
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
        Command::Reprint { visit } => {
            let mut c = open(&dir)?;
            let v = c.record_reprint(visit)?;
            out.value(&v, || {
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
        Command::Report { date } => {
            let c = open(&dir)?;
            let day = match date {
                Some(d) => Some(d.parse().map_err(|_| {
                    CliError::BadInput(format!("--date: {d:?} is not a date like 2026-11-28"))
                })?),
                None => None,
            };
            let r = c.day_report(day)?;
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
