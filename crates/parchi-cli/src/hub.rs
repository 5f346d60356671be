//! `parchi hub …`: administration of a running hub, with its admin secret.

use std::path::{Path, PathBuf};

use parchi_app::{HospitalConfig, SystemEnv, mirror};

use crate::args::{HubBackupsCommand, HubCommand, UhidBlockCommand};
use crate::output::Out;
use crate::{CliError, hub_client, hub_secret};

/// The hospital configuration for a hub command: the file given, else the counter's in --data.
fn hospital(config: &Option<PathBuf>, dir: &Path) -> Result<HospitalConfig, CliError> {
    match config {
        Some(path) => Ok(HospitalConfig::load(path)?),
        None => Ok(crate::open(dir)
            .map_err(|_| {
                CliError::BadInput(
                    "give --config FILE (the hospital configuration, for its UHID system and format)".into(),
                )
            })?
            .config()
            .clone()),
    }
}

pub fn hub_command(h: &HubCommand, dir: &Path, out: &Out) -> Result<(), CliError> {
    let fail = crate::hub_failed;
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
        HubCommand::PublishConfig {
            file,
            from,
            note,
            hub,
            hub_data,
        } => crate::config::publish_at_hub(file, from, note, hub, hub_data, out)?,
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
        HubCommand::MirrorImport {
            file,
            as_of,
            config,
            hub,
            hub_data,
        } => {
            let cfg = hospital(config, dir)?;
            let opts = mirror::hub::options_for(
                &cfg,
                as_of.as_deref(),
                |o| mirror::file_time(file, o),
                &mut SystemEnv,
            )?;
            let client = hub_client(hub)?;
            let secret = hub_secret(hub_data)?;
            let mut sink = mirror::hub::HubMirror {
                client: &client,
                secret: &secret,
            };
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            let bar = crate::admin::bar(size, "bytes");
            let r =
                mirror::hub::import_to_hub(file, &opts, &mut sink, &mut |b, _| bar.set_position(b));
            bar.finish_and_clear();
            return crate::admin::import_done(&r?, out);
        }
        HubCommand::MirrorPull {
            fhir,
            fhir_token,
            config,
            hub,
            hub_data,
        } => {
            let cfg = hospital(config, dir)?;
            let now = chrono::Utc::now().to_rfc3339();
            let opts = mirror::hub::options_for(&cfg, Some(&now), |_| None, &mut SystemEnv)?;
            let mut target = parchi_app::fhir::FhirTarget::new(fhir)?;
            target.bearer = fhir_token.clone();
            let client = hub_client(hub)?;
            let secret = hub_secret(hub_data)?;
            let mut sink = mirror::hub::HubMirror {
                client: &client,
                secret: &secret,
            };
            let bar = indicatif::ProgressBar::new_spinner();
            let seed = opts.run;
            let r = mirror::hub::pull_fhir(&target, &mut sink, &opts, seed, &mut |n| {
                bar.set_message(format!("{n} patients read"))
            });
            bar.finish_and_clear();
            let r = r?;
            out.value(&r, || {
                format!(
                    "Read {} patients in {} pages: {} new, {} updated, {} unchanged, {} refused; next pull from {}.",
                    r.records,
                    r.pages,
                    r.inserted,
                    r.updated,
                    r.unchanged,
                    r.refused,
                    r.since.as_deref().unwrap_or("the start")
                )
            });
        }
        HubCommand::MirrorStatus { hub, hub_data } => {
            let s = hub_client(hub)?
                .admin_mirror_status(&hub_secret(hub_data)?)
                .map_err(fail)?;
            out.value(&s, || {
                format!(
                    "{} patients (as of {}).",
                    s.records,
                    s.as_of.as_deref().unwrap_or("unknown")
                )
            });
        }
        HubCommand::UhidBlock(b) => {
            let (hub, hub_data) = match b {
                UhidBlockCommand::Add { hub, hub_data, .. }
                | UhidBlockCommand::List { hub, hub_data } => (hub, hub_data),
            };
            let client = hub_client(hub)?;
            let secret = hub_secret(hub_data)?;
            let blocks = match b {
                UhidBlockCommand::Add { from, to, .. } => {
                    let parse = |s: &str| {
                        parchi_core::Uhid::parse(s)
                            .map_err(|e| CliError::BadInput(format!("{s:?}: {e}")))
                    };
                    client.admin_uhid_block_add(&secret, &parse(from)?, &parse(to)?)
                }
                UhidBlockCommand::List { .. } => client.admin_uhid_blocks(&secret),
            }
            .map_err(fail)?;
            out.value(&blocks, || {
                blocks
                    .blocks
                    .iter()
                    .map(|b| {
                        format!(
                            "{} to {}: next {}",
                            b.from,
                            b.to,
                            b.next
                                .as_ref()
                                .map_or("none (used up)".to_string(), |n| n.to_string())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
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
        HubCommand::Backups {
            action,
            hub,
            hub_data,
        } => {
            let hub = hub
                .as_deref()
                .ok_or_else(|| CliError::BadInput("give --hub URL".into()))?;
            let client = hub_client(hub)?;
            let secret = hub_secret(hub_data)?;
            match action {
                HubBackupsCommand::List => {
                    let list = client.admin_backups(&secret).map_err(fail)?;
                    out.value(&list, || {
                        let mut s = format!("{} backups\n", list.backups.len());
                        for b in &list.backups {
                            s.push_str(&format!(
                                "{}  {} {} {}  {} bytes  {} ops  from {}\n",
                                b.id,
                                b.kind,
                                b.counter.as_deref().unwrap_or("-"),
                                b.site,
                                b.bytes,
                                b.ops,
                                b.device_id
                            ));
                        }
                        s
                    });
                }
                HubBackupsCommand::Download { id, out: file } => {
                    let n = client
                        .admin_download_backup(&secret, id, file)
                        .map_err(fail)?;
                    out.value(
                        &serde_json::json!({ "id": id, "file": file, "bytes": n }),
                        || format!("Backup {id} written to {} ({n} bytes).", file.display()),
                    );
                }
                HubBackupsCommand::Prune {
                    keep_days,
                    keep_last,
                } => {
                    let r = client
                        .admin_prune_backups(&secret, *keep_days, *keep_last)
                        .map_err(fail)?;
                    out.value(&r, || {
                        format!("Removed {} backups; {} kept.", r.removed.len(), r.kept)
                    });
                }
            }
        }
    }
    Ok(())
}
