//! `parchi init`'s recovery key, `parchi unlock --recovery` and `parchi key …`.
//!
//! A recovery key is printed once, to standard output (the admin's terminal), and on request
//! into a PDF for the safe; it is never an argument, never logged and never stored.

use std::io::IsTerminal;
use std::path::Path;

use parchi_app::{Counter, SystemEnv};
use parchi_keys::RecoveryKey;

use crate::args::KeyCommand;
use crate::output::Out;
use crate::{CliError, open};

pub(crate) fn write_sheet(c: &Counter, rk: &RecoveryKey, path: &Path) -> Result<(), CliError> {
    let pdf = c.recovery_sheet_pdf(rk)?;
    parchi_keys::files::write_private(path, &pdf)
        .map_err(|e| CliError::Other(anyhow::anyhow!("{e}")))
}

pub(crate) fn shown(rk: &RecoveryKey, sheet: Option<&Path>) -> String {
    let mut s = format!(
        "\nRECOVERY KEY (shown this once; write it down and keep it in the safe: with it, the data opens on a new machine):\n\n    {}\n",
        rk.display().as_str()
    );
    if let Some(p) = sheet {
        s.push_str(&format!(
            "\nThe recovery sheet is at {}: print it for the safe, then delete the file.\n",
            p.display()
        ));
    }
    s
}

/// After `Counter::init`: the identity, and the recovery key once.
pub(crate) fn after_init(
    mut c: Counter,
    dir: &Path,
    sheet: Option<&Path>,
    out: &Out,
) -> Result<(), CliError> {
    let rk = c
        .take_recovery_key()
        .ok_or_else(|| CliError::Other(anyhow::anyhow!("init made no recovery key")))?;
    if let Some(p) = sheet {
        write_sheet(&c, &rk, p)?;
    }
    let site = c.site();
    out.value(
        &serde_json::json!({
            "data": dir, "counter": site.counter.as_str(), "site_id": site.site.to_string(),
            "site_tag": site.tag.as_str(), "hospital": c.config().hospital.name,
            "recovery_key": rk.display().as_str(), "recovery_pdf": sheet,
        }),
        || {
            format!(
                "Initialised counter {} of {} in {} (site {}).\n{}",
                site.counter,
                c.config().hospital.name,
                dir.display(),
                site.tag.as_str(),
                shown(&rk, sheet)
            )
        },
    );
    Ok(())
}

/// Reads the recovery key from standard input (one line), prompting when it is a terminal.
pub(crate) fn read_recovery_key() -> Result<zeroize::Zeroizing<String>, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Recovery key: ");
    }
    let mut line = zeroize::Zeroizing::new(String::new());
    stdin
        .read_line(&mut line)
        .map_err(|e| CliError::BadInput(format!("cannot read the recovery key from stdin: {e}")))?;
    Ok(line)
}

/// `parchi unlock --recovery`.
pub(crate) fn unlock(dir: &Path, out: &Out) -> Result<(), CliError> {
    let text = read_recovery_key()?;
    let is_hub =
        !dir.join(parchi_store::DB_FILE).exists() && dir.join(parchi_hub::SQLITE_FILE).exists();
    if is_hub {
        parchi_hub::keys::unlock_recovery(dir, &text)
            .map_err(|e| CliError::Other(anyhow::anyhow!("{e}")))?;
    } else {
        Counter::unlock_with_recovery(dir, &text, Box::new(SystemEnv))?;
    }
    out.value(
        &serde_json::json!({ "data": dir, "unlocked": true, "hub": is_hub }),
        || {
            format!(
                "Unlocked {}: this machine has a new machine key; the recovery key still works.",
                dir.display()
            )
        },
    );
    Ok(())
}

/// `parchi key …`.
pub(crate) fn key_command(k: &KeyCommand, dir: &Path, out: &Out) -> Result<(), CliError> {
    let mut c = open(dir)?;
    match k {
        KeyCommand::Status => {
            let s = c.key_status()?;
            out.value(&s, || {
                let yes = |b: bool| if b { "yes" } else { "NO (run `parchi key rotate`)" };
                format!(
                    "Data key {}\n  machine slot: {}\n  recovery slot: {}\n  escrow slot: {}\n  rekey pending: {}\nDevice signing key (Ed25519): {}",
                    s.slots.key_id,
                    s.slots.machine.as_deref().unwrap_or("none"),
                    yes(s.slots.recovery),
                    s.slots.escrow_recipient.as_deref().unwrap_or("none"),
                    s.slots.rekey_pending,
                    s.signing_public_key
                )
            });
        }
        KeyCommand::Rotate {
            rekey,
            recovery_pdf,
        } => {
            let rk = if *rekey { c.rekey()? } else { c.rotate_keys()? };
            if let Some(p) = recovery_pdf {
                write_sheet(&c, &rk, p)?;
            }
            let s = c.key_status()?;
            out.value(
                &serde_json::json!({
                    "key_id": s.slots.key_id, "rekeyed": rekey,
                    "recovery_key": rk.display().as_str(), "recovery_pdf": recovery_pdf,
                }),
                || {
                    format!(
                        "{} The old recovery key and machine key no longer open anything.\n{}",
                        if *rekey {
                            "The data key was changed and verified; the slots were rewrapped."
                        } else {
                            "The slots were rewrapped with new keys."
                        },
                        shown(&rk, recovery_pdf.as_deref())
                    )
                },
            );
        }
        KeyCommand::Escrow { recipient } => {
            let r = c.write_escrow(recipient.as_deref())?;
            out.value(&serde_json::json!({ "escrow_recipient": r }), || {
                format!("Escrow slot written: the data key is encrypted to {r}.")
            });
        }
    }
    Ok(())
}
