//! `parchi backup`, `parchi backup verify` and `parchi restore`.
//!
//! Private keys come from a file (`--identity`) or, for the recovery key, from standard input;
//! never from an argument, and nothing of them is printed.

use std::path::{Path, PathBuf};

use parchi_app::backup::verify_backup;
use parchi_app::{Counter, SystemEnv};
use parchi_keys::RecoveryKey;
use parchi_keys::backup::BackupKey;

use crate::args::BackupCommand;
use crate::keys::{read_recovery_key, shown, write_sheet};
use crate::output::Out;
use crate::{CliError, open};

fn backup_key(identity: &Option<PathBuf>, recovery: bool) -> Result<BackupKey, CliError> {
    let key = match identity {
        Some(path) => {
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                CliError::BadInput(format!(
                    "cannot read the identity file {}: {e}",
                    path.display()
                ))
            })?);
            BackupKey::from_identity_file(&text)
        }
        None if recovery => {
            let text = read_recovery_key()?;
            let rk = RecoveryKey::parse(&text)
                .map_err(|e| CliError::App(parchi_keys::KeyError::from(e).into()))?;
            BackupKey::from_recovery(&rk)
        }
        None => {
            return Err(CliError::BadInput(
                "give --identity KEYFILE (the hospital's backup key) or --recovery (the recovery key, on standard input)".into(),
            ));
        }
    };
    key.map_err(|e| CliError::App(parchi_app::AppError::Backup(e)))
}

fn hms(at: Option<&str>) -> String {
    at.unwrap_or("never").to_owned()
}

/// `parchi backup [--to DIR] [--hub]`, `parchi backup verify`, `parchi backup status`.
pub(crate) fn backup(
    action: &Option<BackupCommand>,
    to: Option<&Path>,
    hub: bool,
    dir: &Path,
    out: &Out,
) -> Result<(), CliError> {
    match action {
        Some(BackupCommand::Verify {
            file,
            identity,
            recovery,
            signer,
            hub,
            hub_data,
        }) => {
            let manifest = parchi_app::restore::read_manifest(file)?;
            let pinned = match hub {
                Some(url) => {
                    let list = crate::hub_client(url)?
                        .admin_backups(&crate::hub_secret(hub_data)?)
                        .map_err(crate::hub_failed)?;
                    Some(parchi_app::backup::pinned_signer(&list, &manifest.site)?)
                }
                None => None,
            };
            if let Some(expected) = signer.as_ref().or(pinned.as_ref()) {
                parchi_app::backup::check_signer(&manifest, expected)?;
            }
            let key = backup_key(identity, *recovery)?;
            let work = std::env::temp_dir().join("parchi-verify");
            if manifest.kind == "hub" || manifest.kind == parchi_hub::snapshot::POSTGRES_KIND {
                let r = if manifest.kind == "hub" {
                    parchi_hub::snapshot::verify(file, &key, &work)
                } else {
                    parchi_hub::snapshot::verify_postgres(file, &key)
                }
                .map_err(|e| CliError::Other(anyhow::anyhow!("{e}")))?;
                out.value(&r, || {
                    format!(
                        "{}: verified. A backup of hub {} made {}: integrity ok, {} ops, as the signed manifest says.",
                        file.display(),
                        r.hub_id,
                        r.manifest.created,
                        r.ops
                    )
                });
                return Ok(());
            }
            let r = verify_backup(file, &key, &work, &mut SystemEnv)?;
            out.value(&r, || {
                format!(
                    "{}: verified. Signed by device key {} of {} {} (site {}), made {}; integrity ok; {} ops, {} patients, as the manifest says.",
                    file.display(),
                    r.manifest.signing_key,
                    r.manifest.kind,
                    r.manifest.counter.as_deref().unwrap_or(""),
                    r.manifest.site,
                    r.manifest.created,
                    r.ops,
                    r.patients
                )
            });
        }
        Some(BackupCommand::Status) => {
            let c = open(dir)?;
            let last = c.last_backup()?;
            out.value(&last, || match &last {
                None => "No backup yet.".into(),
                Some(l) => format!(
                    "Last backup {}{}{}{}",
                    hms(l.at.as_deref()),
                    if l.verified { ", verified" } else { "" },
                    l.hub_id
                        .as_deref()
                        .map(|h| format!(", at the hub as {h}"))
                        .unwrap_or_default(),
                    l.error
                        .as_deref()
                        .map(|e| format!("; the last attempt failed: {e}"))
                        .unwrap_or_default()
                ),
            });
        }
        None => {
            let mut c = open(dir)?;
            let done = c.backup(to)?;
            let stored = if hub {
                Some(c.upload_backup(&done.file)?)
            } else {
                None
            };
            out.value(
                &serde_json::json!({
                    "file": done.file, "verified": done.verified, "manifest": done.manifest,
                    "hub": stored,
                }),
                || {
                    format!(
                        "Backup written to {} ({} bytes, {} ops, {}){}.",
                        done.file.display(),
                        done.manifest.ciphertext.bytes,
                        done.manifest.ops.count,
                        if done.verified {
                            "verified"
                        } else {
                            "NOT verified"
                        },
                        stored
                            .as_ref()
                            .map(|s| format!("; uploaded to the hub as {}", s.entry.id))
                            .unwrap_or_default()
                    )
                },
            );
        }
    }
    Ok(())
}

/// `parchi decrypt FILE (--identity KEYFILE | --recovery)`: the sealed file's clear text on
/// standard output.
pub(crate) fn decrypt(
    file: &Path,
    identity: &Option<PathBuf>,
    recovery: bool,
) -> Result<(), CliError> {
    let key = backup_key(identity, recovery)?;
    let plain = parchi_app::backup::open_sealed(file, &key)?;
    let mut stdout = std::io::stdout().lock();
    std::io::Write::write_all(&mut stdout, &plain)
        .and_then(|()| std::io::Write::flush(&mut stdout))
        .map_err(|e| CliError::Other(anyhow::anyhow!("cannot write to standard output: {e}")))
}

/// `parchi restore FILE --data DIR (--identity KEYFILE | --recovery)`.
pub(crate) fn restore(
    file: &Path,
    identity: &Option<PathBuf>,
    recovery: bool,
    sheet: Option<&Path>,
    database: Option<(&str, parchi_hub::PgTls)>,
    dir: &Path,
    out: &Out,
) -> Result<(), CliError> {
    let manifest = parchi_app::restore::read_manifest(file)?;
    let key = backup_key(identity, recovery)?;
    if manifest.kind == parchi_hub::snapshot::POSTGRES_KIND {
        let (url, tls) = database.ok_or_else(|| {
            CliError::BadInput(
                "a PostgreSQL hub's backup is restored into a database: give --database postgres://…".into(),
            )
        })?;
        let report = parchi_hub::snapshot::restore_postgres(file, &key, url, &tls)
            .map_err(|e| CliError::Other(anyhow::anyhow!("{e}")))?;
        out.value(&report, || {
            format!(
                "Restored the PostgreSQL hub {} ({} ops). Serve it with `parchi serve --database URL` and the same --database-schema. Counters whose cursor is past the backup pull again from 0.",
                report.hub_id, report.ops
            )
        });
        return Ok(());
    }
    if manifest.kind == "hub" {
        parchi_app::restore::check_empty_target(dir)?;
        let (rk, report) = parchi_hub::snapshot::restore(file, dir, &key)
            .map_err(|e| CliError::Other(anyhow::anyhow!("{e}")))?;
        let mut json = serde_json::to_value(&report).unwrap_or_default();
        if let Some(o) = json.as_object_mut() {
            o.insert("recovery_key".into(), rk.display().as_str().into());
        }
        out.value(&json, || {
            format!(
                "Restored the hub {} into {} ({} ops). Counters whose cursor is past the backup pull again from 0.\n{}",
                manifest.site,
                dir.display(),
                manifest.ops.count,
                shown(&rk, None)
            )
        });
        return Ok(());
    }
    let (mut c, r) = Counter::restore(file, dir, &key, Box::new(SystemEnv))?;
    let rk = c
        .take_recovery_key()
        .ok_or_else(|| CliError::Other(anyhow::anyhow!("the restore made no recovery key")))?;
    if let Some(p) = sheet {
        write_sheet(&c, &rk, p)?;
    }
    let mut json = serde_json::to_value(&r).unwrap_or_default();
    if let Some(o) = json.as_object_mut() {
        o.insert("recovery_key".into(), rk.display().as_str().into());
        o.insert("recovery_pdf".into(), serde_json::json!(sheet));
    }
    out.value(&json, || {
        format!(
            "Restored counter {} into {}: {} patients, {} ops (backup of {}).\nThis installation is a new site ({}, tag {}); the old one was {}.\n{} ops of the old site had not reached the hub: they go out at the next sync.\nEnrol it at the hub ({}) with a new code: `parchi enroll --hub URL --code CODE`; then revoke the old device there.\n{}",
            r.counter,
            dir.display(),
            r.patients,
            r.ops,
            r.manifest.created,
            r.site,
            r.site_tag,
            r.old_site,
            r.inherited_pending,
            r.hub.as_deref().unwrap_or("none configured"),
            shown(&rk, sheet)
        )
    });
    Ok(())
}
