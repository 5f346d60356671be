//! `parchi config …` and `parchi hub publish-config`: the hospital's configuration for every
//! counter. The rules are `parchi_app::published`'s.

use std::path::{Path, PathBuf};

use parchi_app::published::{ConfigStatus, PublishedView};
use parchi_app::{Counter, HospitalConfig, SystemEnv};

use crate::CliError;
use crate::args::ConfigCommand;
use crate::output::Out;

pub fn config_command(cmd: &ConfigCommand, dir: &Path, out: &Out) -> Result<(), CliError> {
    let mut c = crate::open(dir)?;
    match cmd {
        ConfigCommand::Publish { file, from, note } => {
            let id = c.publish_config_file(file, from, note)?;
            let status = c.config_status()?;
            out.value(
                &serde_json::json!({ "config": id.to_string(), "status": status }),
                || {
                    format!(
                        "Published for every counter from {from}; it goes out at this counter's next sync.\n{}",
                        status_text(&status)
                    )
                },
            );
        }
        ConfigCommand::Status => {
            let status = c.config_status()?;
            out.value(&status, || status_text(&status));
        }
    }
    Ok(())
}

fn view_text(v: &PublishedView) -> String {
    let mut s = format!(
        "published {} {}",
        v.published_at,
        if v.here {
            "at this counter"
        } else {
            "elsewhere"
        }
    );
    if !v.note.is_empty() {
        s.push_str(&format!(": {}", v.note));
    }
    for c in &v.changes {
        s.push_str(&format!("\n    - {}", c.describe()));
    }
    s
}

fn status_text(s: &ConfigStatus) -> String {
    let mut lines = vec![match &s.in_force {
        Some(v) => format!(
            "In force since {}{}, {}",
            v.effective_from,
            if s.changed_today { " (today)" } else { "" },
            view_text(v)
        ),
        None => "In force: this counter's own configuration (none published yet).".to_string(),
    }];
    for v in &s.upcoming {
        lines.push(format!("From {}: {}", v.effective_from, view_text(v)));
    }
    if let Some(r) = &s.refused {
        lines.push(format!(
            "Not taken: the configuration for {}: {}. This counter keeps its current one.",
            r.effective_from, r.reason
        ));
    }
    lines.join("\n")
}

/// `parchi hub publish-config`: the file checked as a configuration, then published at the hub.
pub fn publish_at_hub(
    file: &Path,
    from: &str,
    note: &str,
    hub: &str,
    hub_data: &Option<PathBuf>,
    out: &Out,
) -> Result<(), CliError> {
    let cfg = HospitalConfig::load(file)?;
    let effective_from = Counter::parse_day(Some(from))?
        .ok_or_else(|| CliError::BadInput("--from: give the date it takes effect".into()))?;
    parchi_app::published::check_effective_from(
        &cfg,
        effective_from,
        parchi_app::Env::now_ms(&SystemEnv),
    )?;
    let req = parchi_sync::wire::PublishConfig {
        effective_from,
        settings: cfg.shared(),
        note: note.trim().to_owned(),
    };
    let published = crate::hub_client(hub)?
        .admin_publish_config(&crate::hub_secret(hub_data)?, &req)
        .map_err(|e| CliError::Other(anyhow::anyhow!("{e}")))?;
    out.value(&published, || {
        format!(
            "Published for every counter from {effective_from} ({} departments); counters take it at their next sync.",
            cfg.departments.len()
        )
    });
    Ok(())
}
