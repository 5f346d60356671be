//! Operations the hub writes itself: permanent UHIDs (`uhids.rs`) and hospital configurations
//! an admin publishes at the hub. They carry the hub's own site ID and clock (both kept in its
//! meta table) and enter the log as ops from upstream do: this hub is the authority, so the
//! server refuses such requests on a hub that relays to an upstream.

use chrono::NaiveDate;
use parchi_core::hlc::DEFAULT_MAX_DRIFT_MS;
use parchi_core::{ConfigId, Hlc, Op, OpBody, OpId, SiteId};
use parchi_sync::wire::{ConfigPublished, Outcome};

use super::{Hub, Item, Source, prepare_item, random_bytes};
use crate::error::HubError;
use crate::storage::Storage;

/// The hub's site and clock while it writes ops of its own.
pub(super) struct OwnOps {
    site: SiteId,
    clock: parchi_core::Clock,
    items: Vec<Item>,
}

impl OwnOps {
    /// Stamps `body` as the hub's next op; refuses one that is not a valid op (checked as
    /// every op is on arrival).
    pub(super) fn push(&mut self, body: OpBody, now_ms: u64) -> Result<OpId, HubError> {
        let hlc = self.clock.tick(now_ms);
        let id = OpId::new_v7(hlc.wall_ms(), random_bytes::<10>()?);
        let item = prepare_item(
            Op {
                id,
                hlc,
                site: self.site,
                body,
            },
            None,
        );
        if let Err(refused) = &item {
            return Err(HubError::BadRequest(refused.reason.clone()));
        }
        self.items.push(item);
        Ok(id)
    }
}

impl<S: Storage> Hub<S> {
    /// The hub's site ID (minted on first use) and clock, resumed from its meta table.
    pub(super) async fn own_ops(&self, now_ms: u64) -> Result<OwnOps, HubError> {
        let site = match self
            .meta("hub_site")
            .await
            .and_then(|s| s.parse::<SiteId>().ok())
        {
            Some(s) => s,
            None => SiteId::new_v7(now_ms, random_bytes::<10>()?),
        };
        let last = self
            .meta("hub_hlc")
            .await
            .and_then(|h| h.parse().ok())
            .unwrap_or(0);
        Ok(OwnOps {
            site,
            clock: parchi_core::Clock::resume(Hlc(last), DEFAULT_MAX_DRIFT_MS),
            items: Vec::new(),
        })
    }

    /// Writes the hub's ops with `meta` (and the hub's site and clock) in one commit; every op
    /// must be applied.
    pub(super) async fn commit_own_ops(
        &self,
        own: OwnOps,
        mut meta: Vec<(String, String)>,
        now_ms: u64,
    ) -> Result<(), HubError> {
        meta.push(("hub_site".to_string(), own.site.to_string()));
        meta.push(("hub_hlc".to_string(), own.clock.last().0.to_string()));
        let results = self
            .push_with_meta(Source::Upstream, own.items, now_ms, meta)
            .await?;
        if let Some(bad) = results
            .iter()
            .find(|r| !matches!(r.outcome, Outcome::Applied { .. }))
        {
            return Err(HubError::Config(format!(
                "an operation of the hub's own was not applied: {:?}",
                bad.outcome
            )));
        }
        Ok(())
    }

    /// Publishes a hospital configuration for every counter, in force from `effective_from`.
    /// The settings are checked as every op is on arrival (an object, its size, the note); the
    /// `parchi` command line checks them against the configuration's schema before it sends
    /// them, and every counter checks them again before they take effect.
    pub async fn publish_config(
        &self,
        effective_from: NaiveDate,
        settings: serde_json::Value,
        note: String,
        now_ms: u64,
    ) -> Result<ConfigPublished, HubError> {
        let mut own = self.own_ops(now_ms).await?;
        let config = ConfigId::new_v7(now_ms, random_bytes::<10>()?);
        let body = OpBody::PublishConfig {
            config,
            effective_from,
            settings,
            note,
        };
        let op = own.push(body, now_ms)?;
        self.commit_own_ops(own, Vec::new(), now_ms).await?;
        Ok(ConfigPublished {
            config,
            op,
            effective_from,
        })
    }
}
