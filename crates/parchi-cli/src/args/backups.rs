//! The arguments of `parchi backup …` and `parchi hub backups …`.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Check a backup with the private key: the device's signature, the length and hash,
    /// decryption, SQLite's integrity_check, and the op count against the signed manifest.
    Verify {
        file: PathBuf,
        /// An age identity file (AGE-SECRET-KEY-1…), the hospital's backup key.
        #[arg(long, value_name = "KEYFILE", required_unless_present = "recovery")]
        identity: Option<PathBuf>,
        /// Read the recovery key from standard input instead.
        #[arg(long, conflicts_with = "identity")]
        recovery: bool,
        /// Also require the signature of this device key (64 hex digits, from `parchi keys
        /// status` on the device or the hub's pin): a store fabricated under the site's ID
        /// with another key is refused.
        #[arg(long, value_name = "HEX")]
        signer: Option<String>,
        /// Or require the key this hub pinned for the backup's site (its admin: --hub-data
        /// or $PARCHI_HUB_ADMIN_SECRET).
        #[arg(long, value_name = "URL", conflicts_with = "signer")]
        hub: Option<String>,
        /// The hub's data directory (to read its admin secret), unless
        /// $PARCHI_HUB_ADMIN_SECRET.
        #[arg(long, value_name = "DIR", requires = "hub")]
        hub_data: Option<PathBuf>,
    },
    /// The last backup's outcome (when, verified, uploaded).
    Status,
}

#[derive(Subcommand, Debug)]
pub enum HubBackupsCommand {
    /// Every stored backup, newest first.
    List,
    /// Download a backup by its ID into a new file.
    Download {
        id: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Remove the backups older than --keep-days, keeping the newest --keep-last of each site.
    Prune {
        #[arg(long)]
        keep_days: u32,
        #[arg(long, default_value_t = 4)]
        keep_last: u32,
    },
}
