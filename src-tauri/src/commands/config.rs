//! The hospital's configuration for every counter: what is in force and what is coming (the
//! notice every clerk sees), and the admin's table for publishing a change. The rules are
//! `parchi_app::published`'s.

use parchi_app::published::{ConfigStatus, PublishForm};
use tauri::State;

use super::{Res, admin, clerk};
use crate::AppState;

/// Where this counter's configuration comes from and what changes are coming, after taking one
/// that came into force. Holds departments and fees, never patient data.
#[tauri::command]
pub async fn config_status(state: State<'_, AppState>) -> Res<ConfigStatus> {
    clerk(&state, |c| c.config_status())
}

/// The table of the configuration in force, to edit and publish (admins only).
#[tauri::command]
pub async fn publish_form(state: State<'_, AppState>) -> Res<PublishForm> {
    admin(&state, |c| Ok(c.publish_form()))
}

/// Publishes the edited table for every counter from its date (admins only).
#[tauri::command(rename_all = "snake_case")]
pub async fn publish_config(state: State<'_, AppState>, form: PublishForm) -> Res<ConfigStatus> {
    admin(&state, |c| c.publish_from_form(&form))
}
