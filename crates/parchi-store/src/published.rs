//! The hospital configurations published for every counter (`PublishConfig` operations): the
//! write that publishes one from this counter, the list as the core's in-force rule reads it,
//! and which one this counter has taken into its own configuration.
//!
//! The store does not read a configuration's settings; the app checks them against the schema
//! before a counter takes one.

use chrono::NaiveDate;
use parchi_core::{ConfigId, OpBody, Published};
use rusqlite::OptionalExtension;

use crate::fold::{Origin, apply_in, read_stamp};
use crate::{Result, Stamping, Store, StoreError, get_meta, set_meta};

/// A published configuration with what it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishedConfig {
    pub published: Published,
    /// The settings as published (JSON), unchecked.
    pub settings: serde_json::Value,
    pub note: String,
}

/// A row's `id, effective_from, hlc, site, op` (its first five columns) as the in-force rule
/// reads it; the outer result is SQLite's, the inner one a malformed value's.
fn read_published(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Published>> {
    let (id, from, hlc, site, op): (Vec<u8>, String, i64, Vec<u8>, Vec<u8>) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    Ok((|| {
        Ok(Published {
            config: ConfigId::from_slice(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            effective_from: from
                .parse()
                .map_err(|_| StoreError::Corrupt("published_configs.effective_from".into()))?,
            stamp: read_stamp(hlc, site, op)?,
        })
    })())
}

const APPLIED: &str = "config_applied";
const PREVIOUS: &str = "config_previous";

impl Store {
    /// Publishes a configuration from this counter: one operation, synced like any other.
    pub fn publish_config(
        &mut self,
        effective_from: NaiveDate,
        settings: serde_json::Value,
        note: &str,
        st: &mut Stamping<'_>,
    ) -> Result<ConfigId> {
        let config = ConfigId::new_v7(st.now_ms, st.bytes());
        self.write(st, |tx, w| {
            let op = w.op(OpBody::PublishConfig {
                config,
                effective_from,
                settings,
                note: note.to_owned(),
            });
            apply_in(tx, &op, Origin::Local, None)?;
            Ok(config)
        })
    }

    /// Every published configuration, without its settings, in the order published.
    pub fn published_configs(&self) -> Result<Vec<Published>> {
        let mut q = self.conn.prepare_cached(
            "SELECT id, effective_from, hlc, site, op FROM published_configs ORDER BY hlc, site, op",
        )?;
        let rows = q.query_map([], read_published)?;
        rows.map(|row| row?).collect()
    }

    /// One published configuration with its settings.
    pub fn published_config(&self, id: ConfigId) -> Result<Option<PublishedConfig>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT id, effective_from, hlc, site, op, settings, note FROM published_configs
                 WHERE id = ?1",
            )?
            .query_row([id.as_bytes()], |r| {
                Ok((read_published(r)?, r.get::<_, String>(5)?, r.get(6)?))
            })
            .optional()?;
        let Some((published, settings, note)) = row else {
            return Ok(None);
        };
        Ok(Some(PublishedConfig {
            published: published?,
            settings: serde_json::from_str(&settings)?,
            note,
        }))
    }

    /// The published configuration this counter's own configuration was last made from.
    pub fn applied_config(&self) -> Result<Option<ConfigId>> {
        get_meta(&self.conn, APPLIED)?
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| StoreError::Corrupt(APPLIED.into())))
            .transpose()
    }

    /// The configuration this counter ran on before it last took a published one (JSON).
    pub fn previous_config(&self) -> Result<Option<String>> {
        get_meta(&self.conn, PREVIOUS)
    }

    /// Replaces the counter's configuration with one made from a published configuration (or,
    /// with `None`, from the counter's own file), in one transaction.
    /// The configuration it replaces is kept ([`Store::previous_config`]).
    pub fn take_config(&mut self, json: &str, from: Option<ConfigId>) -> Result<()> {
        let tx = self.conn.transaction()?;
        if let Some(old) = get_meta(&tx, "config")? {
            set_meta(&tx, PREVIOUS, &old)?;
        }
        set_meta(&tx, "config", json)?;
        let applied = from.map(|c| c.to_string()).unwrap_or_default();
        set_meta(&tx, APPLIED, &applied)?;
        tx.commit()?;
        Ok(())
    }
}
