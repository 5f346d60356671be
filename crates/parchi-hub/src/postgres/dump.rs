//! The database side of a PostgreSQL hub's own backups (`snapshot/pg.rs` writes the file):
//! the counts and identity of the hub's schema read in a snapshot exported for `pg_dump`
//! (`pg_export_snapshot`), which stays open while the dump runs, so the manifest states
//! exactly what the dump holds.

use parchi_keys::backup::OpRange;

use super::{PgStorage, PgTls, pool};
use crate::error::{HubError, StorageError};
use crate::keys::META_SIGNING_KEY;

/// The hub's schema as one exported snapshot sees it, and how to reach it.
pub struct DumpSnapshot {
    /// The snapshot's ID, for `pg_dump --snapshot`.
    pub snapshot: String,
    /// The schema the hub's tables are in.
    pub schema: String,
    pub ops: OpRange,
    pub patients: u64,
    pub hub_id: String,
    /// The hub's signing key, in its stored form.
    pub signing_key: String,
    /// The database URL and TLS settings the tools connect with.
    pub url: String,
    pub tls: PgTls,
}

impl std::fmt::Debug for DumpSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpSnapshot")
            .field("snapshot", &self.snapshot)
            .field("ops", &self.ops)
            .finish_non_exhaustive()
    }
}

/// Where the tools connect: the hub's URL and TLS settings.
#[derive(Clone)]
pub(crate) struct DumpTarget {
    pub(crate) url: String,
    pub(crate) tls: PgTls,
}

impl std::fmt::Debug for DumpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpTarget").finish_non_exhaustive()
    }
}

fn pg(e: tokio_postgres::Error) -> HubError {
    HubError::Storage(StorageError::Postgres(e))
}

impl PgStorage {
    /// Exports a snapshot of the hub's schema, reads in it what a backup's manifest states
    /// (the signing key stored as `new_signing_key` first if the hub has none), and runs
    /// `dump` on a blocking thread while the snapshot stays open.
    pub async fn in_exported_snapshot<T: Send + 'static>(
        &self,
        new_signing_key: &str,
        dump: impl FnOnce(DumpSnapshot) -> Result<T, HubError> + Send + 'static,
    ) -> Result<T, HubError> {
        let mut c = pool::get(&self.pools.read).await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&META_SIGNING_KEY, &new_signing_key],
        )
        .await
        .map_err(pg)?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let row = tx
            .query_one(
                "SELECT pg_export_snapshot(), coalesce(sum(n), 0)::bigint, min(first_seq), \
                 max(first_seq + n - 1), (SELECT count(*) FROM patients), current_schema(), \
                 (SELECT value FROM meta WHERE key = 'hub_id'), \
                 (SELECT value FROM meta WHERE key = $1) FROM op_log",
                &[&META_SIGNING_KEY],
            )
            .await
            .map_err(pg)?;
        let count: i64 = row.try_get(1).map_err(pg)?;
        let first: Option<i64> = row.try_get(2).map_err(pg)?;
        let last: Option<i64> = row.try_get(3).map_err(pg)?;
        let patients: i64 = row.try_get(4).map_err(pg)?;
        let snap = DumpSnapshot {
            snapshot: row.try_get(0).map_err(pg)?,
            schema: row.try_get(5).map_err(pg)?,
            ops: OpRange {
                count: count as u64,
                first_seq: first.map(|v| v as u64),
                last_seq: last.map(|v| v as u64),
                max_hlc: 0,
            },
            patients: patients as u64,
            hub_id: row
                .try_get::<_, Option<String>>(6)
                .map_err(pg)?
                .unwrap_or_default(),
            signing_key: row
                .try_get::<_, Option<String>>(7)
                .map_err(pg)?
                .unwrap_or_default(),
            url: self.dump.url.clone(),
            tls: self.dump.tls.clone(),
        };
        let done = tokio::task::spawn_blocking(move || dump(snap))
            .await
            .map_err(|e| HubError::Config(format!("the backup task: {e}")))?;
        // The snapshot had to stay open until the dump was done with it.
        tx.commit().await.map_err(pg)?;
        done
    }
}
