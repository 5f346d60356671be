//! Running a parsed command: each arm calls one use case of `parchi-app` and prints its answer.

use std::process::ExitCode;

use parchi_app::{Counter, RegisterRequest, SystemEnv};

use crate::args::{Cli, Command, SlipOut, UserCommand};
use crate::output::{self, Out};
use crate::{CliError, default_data_dir, import, open, parchi_dedup_verdict_likely, read_secret};

/// After a registration or visit: write the slip and/or print its original, as asked.
fn handle_slip(c: &mut Counter, visit: &str, s: &SlipOut) -> Result<serde_json::Value, CliError> {
    let mut out = serde_json::Map::new();
    if let Some(path) = &s.slip {
        c.write_slip(visit, None, false, path)?;
        out.insert("slip".into(), serde_json::json!(path));
    }
    if s.print {
        let p = c.print_original(visit, s.printer.as_deref())?;
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

pub fn run(cli: &Cli, out: &Out) -> Result<(), CliError> {
    let dir = cli.data.clone().unwrap_or_else(default_data_dir);
    match &cli.command {
        Command::Init {
            config,
            counter,
            recovery_pdf,
        } => {
            let c = Counter::init(&dir, config, counter, Box::new(SystemEnv))?;
            return crate::keys::after_init(c, &dir, recovery_pdf.as_deref(), out);
        }
        Command::Unlock { .. } => return crate::keys::unlock(&dir, out),
        Command::Key(k) => return crate::keys::key_command(k, &dir, out),
        Command::Backup { action, to, hub } => {
            return crate::backup::backup(action, to.as_deref(), *hub, &dir, out);
        }
        Command::Decrypt {
            file,
            identity,
            recovery,
        } => return crate::backup::decrypt(file, identity, *recovery),
        Command::Restore {
            file,
            identity,
            recovery,
            recovery_pdf,
            database,
            database_tls,
            database_ca,
        } => {
            let tls = parchi_hub::PgTls {
                enabled: *database_tls,
                ca_file: database_ca.clone(),
            };
            return crate::backup::restore(
                file,
                identity,
                *recovery,
                recovery_pdf.as_deref(),
                database.as_deref().map(|url| (url, tls)),
                &dir,
                out,
            );
        }
        Command::Register(a) => {
            let patient = a.patient.input(a.quick, &mut std::io::stdin().lock())?;
            let mut c = open(&dir)?;
            let r = c.register(&RegisterRequest {
                patient,
                department: a.department.clone(),
                uhid: a.uhid.clone().unwrap_or_default(),
            })?;
            let extra = handle_slip(&mut c, &r.visit_id.to_string(), &a.slip)?;
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
            let extra = handle_slip(&mut c, &v.visit_id.to_string(), slip)?;
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
            kept,
        } => {
            let c = open(&dir)?;
            let pdf = if *kept {
                c.kept_slip_pdf(visit)?
            } else {
                c.slip_pdf(visit, layout.as_deref(), *duplicate)?
            };
            std::fs::write(file, &pdf).map_err(|e| {
                CliError::Other(anyhow::anyhow!("cannot write {}: {e}", file.display()))
            })?;
            out.value(
                &serde_json::json!({ "slip": file, "bytes": pdf.len() }),
                || format!("Slip written to {}.", file.display()),
            );
        }
        Command::Print { visit, printer } => {
            let mut c = open(&dir)?;
            let p = c.print_original(visit, printer.as_deref())?;
            out.value(&p, || {
                format!("Sent to printer {} (job {}).", p.printer, p.job_id)
            });
        }
        Command::Search { query, limit } => {
            let c = open(&dir)?;
            let hits = c.search(query, *limit)?;
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
            let input = fields.input(false, &mut std::io::stdin().lock())?;
            let mut c = open(&dir)?;
            let changed = c.edit_patient(patient, &input)?;
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
            let r = c.reprint(visit, slip.printer.as_deref(), slip.print)?;
            let mut extra = serde_json::Map::new();
            if let Some(path) = &slip.slip {
                c.write_slip(visit, None, true, path)?;
                extra.insert("slip".into(), serde_json::json!(path));
            }
            if let Some(printed) = r.printed {
                extra.insert(
                    "printed".into(),
                    serde_json::to_value(printed?).unwrap_or_default(),
                );
            }
            let v = r.visit;
            out.value(&with_slip(&v, serde_json::Value::Object(extra)), || {
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
            let day = Counter::parse_day(date.as_deref())?;
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
            let site = c.site();
            let ob = c.outbox()?;
            let (patients, visits) = c.counts()?;
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
        Command::ExportFhir {
            out: dir_out,
            push,
            fhir_token,
        } => {
            let c = open(&dir)?;
            let target = push
                .as_deref()
                .map(|url| {
                    parchi_app::fhir::FhirTarget::new(url).map(|mut t| {
                        t.bearer = fhir_token.clone();
                        t
                    })
                })
                .transpose()?;
            let written = dir_out.as_deref().map(|d| c.export_fhir(d)).transpose()?;
            let pushed = target.as_ref().map(|t| c.push_fhir(t)).transpose()?;
            let text = || {
                let mut lines = Vec::new();
                if let (Some(s), Some(d)) = (&written, dir_out) {
                    lines.push(format!(
                        "Wrote {} bundle(s) with {} patients and {} encounters to {}.",
                        s.bundles.len(),
                        s.patients,
                        s.encounters,
                        d.display()
                    ));
                }
                if let (Some(p), Some(url)) = (&pushed, push) {
                    lines.push(format!(
                        "Pushed {} bundle(s) to {url}: {} resources created, {} already there.",
                        p.bundles, p.created, p.existing
                    ));
                }
                lines.join("\n")
            };
            match (&written, &pushed) {
                (Some(w), None) => out.value(w, text),
                _ => out.value(
                    &serde_json::json!({ "written": written, "pushed": pushed }),
                    text,
                ),
            }
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
                    parchi_sync::Progress::Mirror { done, remaining } => bar.set_message(format!(
                        "hospital index: {done} patients received, {remaining} to go"
                    )),
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
        Command::Hub(h) => return crate::hub::hub_command(h, &dir, out),
        Command::Mirror(m) => return crate::admin::mirror_command(m, &dir, out),
        Command::Config(cmd) => return crate::config::config_command(cmd, &dir, out),
        Command::Link { action } => return crate::admin::link_command(action.as_ref(), &dir, out),
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
