//! Publishing the hospital's configuration at the central hub (`POST /v1/admin/config`).

use chrono::NaiveDate;
use parchi_core::{ConfigId, OpId};
use serde::{Deserialize, Serialize};

/// The body of `POST /v1/admin/config`: the configuration (without a counter's own settings)
/// and the local date it takes effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    pub effective_from: NaiveDate,
    pub settings: serde_json::Value,
    #[serde(default)]
    pub note: String,
}

/// What the hub wrote: one `publish_config` op, which counters take at their next pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigPublished {
    pub config: ConfigId,
    pub op: OpId,
    pub effective_from: NaiveDate,
}
