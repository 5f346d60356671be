//! The command line's arguments (clap). No behaviour here: `run` and `hub` act on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod backups;
mod patient;
pub use backups::{BackupCommand, HubBackupsCommand};
pub use patient::PatientArgs;

#[derive(Parser, Debug)]
#[command(
    name = "parchi",
    version,
    about = "Offline-first OPD registration: counters, slips, sync and reconciliation"
)]
pub struct Cli {
    /// The counter's data directory (default: $PARCHI_DATA, else ~/.local/share/parchi;
    /// %LOCALAPPDATA%\Parchi on Windows).
    #[arg(long, global = true, env = "PARCHI_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Initialise this counter's data directory from a hospital configuration. Prints the
    /// recovery key once: write it down, or print it with --recovery-pdf, for the safe.
    Init {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "CODE")]
        counter: String,
        /// Also write a one-page PDF with the recovery key (text and QR code) to print for the
        /// admin's safe; delete the file once printed.
        #[arg(long, value_name = "FILE.pdf")]
        recovery_pdf: Option<PathBuf>,
    },
    /// Open the data directory on a new machine (or after machine.key was lost) with the
    /// recovery key, read from standard input (never an argument), and give this machine a new
    /// machine key. Works for a counter's and a hub's data directory.
    Unlock {
        /// Use the recovery key (the only way there is).
        #[arg(long, required = true)]
        recovery: bool,
    },
    /// The data key's slots: status, rotation, escrow.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Take a backup: encrypted to the hospital's backup key and the recovery key, signed.
    Backup {
        #[command(subcommand)]
        action: Option<BackupCommand>,
        /// Directory to write it to (default: the configuration's backup.dir, else DATA/backups).
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
        /// Also upload it to the hub (append-only there).
        #[arg(long)]
        hub: bool,
    },
    /// Restore a counter's or a hub's backup into the empty --data directory (a restored
    /// counter is a new site: enrol it again).
    Restore {
        file: PathBuf,
        /// An age identity file (AGE-SECRET-KEY-1…), the hospital's backup key.
        #[arg(long, value_name = "KEYFILE", required_unless_present = "recovery")]
        identity: Option<PathBuf>,
        /// Read the recovery key of the installation that made the backup from standard input.
        #[arg(long, conflicts_with = "identity")]
        recovery: bool,
        /// Also write the new installation's recovery key as a PDF for the safe.
        #[arg(long, value_name = "FILE.pdf")]
        recovery_pdf: Option<PathBuf>,
        /// A PostgreSQL hub's backup: the database to restore it into (`postgres://…`; the
        /// hub's schema must not exist there yet). Serve it with `serve --database`.
        #[arg(
            long,
            value_name = "URL",
            env = "PARCHI_HUB_DATABASE",
            hide_env_values = true
        )]
        database: Option<String>,
        /// Reach that database over TLS (rustls), verifying the server's certificate and name,
        /// as `serve --database-tls` does; also on when the URL says sslmode=require.
        #[arg(long, requires = "database")]
        database_tls: bool,
        /// PEM certificates to trust for the database server's certificate (a hospital's own
        /// CA), as `serve --database-ca` does.
        #[arg(long, value_name = "FILE.pem", requires = "database")]
        database_ca: Option<PathBuf>,
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
        /// Write the PDF a printer did not take, as it was kept (inside the encrypted store).
        #[arg(long, conflicts_with_all = ["layout", "duplicate"])]
        kept: bool,
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
        /// 1 to 50.
        #[arg(long, default_value_t = parchi_app::SEARCH_LIMIT_DEFAULT)]
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
        /// Write the Bundles here as bundle-0001.json.age, …, sealed to the backup keys (read
        /// them with `parchi decrypt` or `age -d`).
        #[arg(long, value_name = "DIR", required_unless_present = "push")]
        out: Option<PathBuf>,
        /// Also POST each Bundle to this FHIR R4 server's base URL (resending is safe).
        #[arg(long, value_name = "URL")]
        push: Option<String>,
        /// Bearer token for the FHIR server.
        #[arg(
            long,
            env = "PARCHI_FHIR_TOKEN",
            hide_env_values = true,
            requires = "push"
        )]
        fhir_token: Option<String>,
    },
    /// Print the clear text of a file the FHIR export sealed (`*.json.age`) to standard output,
    /// with the hospital's backup key or this installation's recovery key (`age -d -i KEYFILE`
    /// reads them too).
    Decrypt {
        file: PathBuf,
        /// An age identity file (AGE-SECRET-KEY-1…), the hospital's backup key.
        #[arg(long, value_name = "KEYFILE", required_unless_present = "recovery")]
        identity: Option<PathBuf>,
        /// Read the installation's recovery key from standard input.
        #[arg(long, conflicts_with = "identity")]
        recovery: bool,
    },
    /// Local user accounts for the desktop app (PIN or password, offline login).
    #[command(subcommand)]
    User(UserCommand),
    /// This counter's copy of the hospital's patient index (standalone counters; with a hub,
    /// counters receive it through sync).
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// After the outage: link every patient to the hospital's record or mark them new (with no
    /// subcommand: run the link and list every verdict).
    Link {
        #[command(subcommand)]
        action: Option<LinkCommand>,
    },
    /// Replace the stored hospital configuration with a new file. Once the hospital publishes
    /// its configuration for every counter (`parchi config publish`), the file may change only
    /// this counter's own settings (printer, slip layout and language, backup directory).
    Configure {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// The hospital's configuration for every counter, published through sync.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Publish a configuration file's departments, fees and counters for every counter, in
    /// force from a date (each counter keeps its own printer, slip layout and language, hub).
    /// It goes out at this counter's next sync.
    Publish {
        file: PathBuf,
        /// The local date it takes effect (YYYY-MM-DD), today or later.
        #[arg(long, value_name = "DATE")]
        from: String,
        /// What changed, for the other counters (one line).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The configuration in force here, the ones to come with what they change, and one this
    /// counter did not take (and why).
    Status,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Which slots hold the data key (machine, recovery, escrow) and the device's public
    /// signing key. Nothing secret.
    Status,
    /// New slot keys: a new machine key and a new recovery key (shown once); the old recovery
    /// key and machine.key stop working. With --rekey, the data key itself changes first
    /// (verified by reopening the database); close the desktop app before.
    Rotate {
        #[arg(long)]
        rekey: bool,
        #[arg(long, value_name = "FILE.pdf")]
        recovery_pdf: Option<PathBuf>,
    },
    /// Write the escrow slot: the data key encrypted to the hospital's public key
    /// (security.escrow_recipient in the configuration, or --recipient).
    Escrow {
        /// An age X25519 recipient, age1….
        #[arg(long)]
        recipient: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum MirrorCommand {
    /// Import an export of the hospital's patient index: FHIR R4 Patient ndjson (a Bulk Data
    /// `Patient/$export`) or CSV (uhid,name,sex,birth_year,guardian_name,mobile,address,
    /// district,state,pincode). Re-importing a newer export updates the changed patients.
    Import {
        file: PathBuf,
        /// When the hospital's index was exported (RFC 3339); default: the file's time.
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
    },
    /// How many patients the mirror holds and how current it is.
    Status,
}

#[derive(Subcommand, Debug)]
pub enum LinkCommand {
    /// The persons the last link run left for review, beside the hospital records proposed.
    Review,
    /// The person is the hospital's record UHID.
    Accept {
        /// Patient ID, temporary ID or UHID of the Parchi patient.
        patient: String,
        uhid: String,
        /// Details Parchi captured that go to the hospital's record on export, comma-separated:
        /// mobile, locality, district, state, pincode, abha_number, abha_address.
        #[arg(long, value_delimiter = ',')]
        update: Vec<String>,
    },
    /// The person is not the hospital's record UHID (never proposed for them again).
    Reject {
        patient: String,
        uhid: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// The person is new to the hospital.
    New {
        patient: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
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

#[derive(Args, Debug)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub patient: PatientArgs,
    #[arg(long, value_name = "CODE")]
    pub department: String,
    /// Quick registration: only sex and approximate age are required.
    #[arg(long)]
    pub quick: bool,
    /// The UHID on the patient's hospital card: links the patient to the hospital's record
    /// (or, when this counter cannot verify it, keeps it as claimed, to be verified later).
    #[arg(long, value_name = "UHID")]
    pub uhid: Option<String>,
    #[command(flatten)]
    pub slip: SlipOut,
}

/// What to do with the slip after a registration, visit or reprint.
#[derive(Args, Debug, Default)]
pub struct SlipOut {
    /// Print the slip (CUPS; the configured printer unless --printer).
    #[arg(long)]
    pub print: bool,
    #[arg(long, requires = "print")]
    pub printer: Option<String>,
    /// Write the slip PDF here.
    #[arg(long, value_name = "FILE.pdf")]
    pub slip: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum HubCommand {
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
    /// At the central hub: publish a configuration file for every counter, in force from a
    /// date (checked against the configuration's schema first). Counters take it at their
    /// next sync.
    PublishConfig {
        file: PathBuf,
        /// The local date it takes effect (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        from: String,
        #[arg(long, default_value = "")]
        note: String,
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
    /// Copy an export of the hospital's patient index into the hub (FHIR ndjson or CSV, as
    /// for `parchi mirror import`); counters receive it at their next sync.
    MirrorImport {
        file: PathBuf,
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// This hospital's configuration (for its UHID system and format); default: the
        /// counter's in --data.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// Page through a FHIR server's Patients into the hub, only those changed since the last
    /// pull (by `_lastUpdated`): run it periodically to keep the hub current.
    MirrorPull {
        /// The FHIR server's base URL.
        #[arg(long, value_name = "URL")]
        fhir: String,
        #[arg(long, env = "PARCHI_FHIR_TOKEN", hide_env_values = true)]
        fhir_token: Option<String>,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// The hub's copy of the hospital's index: patients, as of when.
    MirrorStatus {
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// UHID ranges the hospital allocated to Parchi for people new to it.
    #[command(subcommand)]
    UhidBlock(UhidBlockCommand),
    /// Revoke a device: it can no longer push or pull.
    Revoke {
        device: String,
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// The hub's append-only store of uploaded backups: list, download, prune by retention.
    Backups {
        #[command(subcommand)]
        action: HubBackupsCommand,
        #[arg(long, value_name = "URL", global = true)]
        hub: Option<String>,
        #[arg(long, value_name = "DIR", global = true)]
        hub_data: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UhidBlockCommand {
    /// Add a range, e.g. `DHP900000000 DHP900099999`.
    Add {
        from: String,
        to: String,
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
    /// The ranges and the next unused UHID of each.
    List {
        #[arg(long, value_name = "URL")]
        hub: String,
        #[arg(long, value_name = "DIR")]
        hub_data: Option<PathBuf>,
    },
}
