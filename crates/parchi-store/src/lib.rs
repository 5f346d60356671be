//! The counter's local store: one SQLite file (WAL, `synchronous=FULL`) holding the operation
//! log and the state materialised from it.
//!
//! Three parts, each depending only on the one before: the **fold** (`fold`: `apply_in`, the
//! materialised tables, the person each record belongs to), **commands** (`command`: one
//! transaction per public write, building operations and handing them to the fold) and
//! **queries** (`query`: lookups, search, history, reports). `records` holds the row types
//! all three share.
//!
//! Every write goes through `fold::apply_in`, which records an operation and folds it into the
//! materialised tables with the core's merge rules, in the caller's transaction. Local writes
//! (registration, visits, corrections) and operations pulled from a hub take that same path, so
//! the tables are a function of the set of operations seen, whatever their order.
//!
//! **Architecture Invariant:** a call that returns `Ok` has committed durably; a call that returns
//! `Err` has changed nothing.
//!
//! **Architecture Invariant:** the store does not read the clock or draw randomness: the caller
//! passes a [`Stamping`] with wall time and a random source.

mod cipher;
mod command;
mod error;
mod fold;
mod mirror;
mod name_index;
mod outbox;
mod published;
mod query;
mod records;
mod schema;
pub mod snapshot;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use parchi_core::{Clock, CounterCode, Hlc, SiteId, SiteTag, hlc::DEFAULT_MAX_DRIFT_MS};
use rusqlite::{Connection, OptionalExtension, params};

pub use command::{NewRegistration, NewVisitSpec, Registered};
pub use error::StoreError;
pub use fold::Applied;
pub use mirror::{MirrorHit, MirrorStatus, MirrorWrite};
/// The installation's data key, which every connection to the store is keyed with.
pub use parchi_keys::DataKey;
pub use published::PublishedConfig;
pub use query::{Conflict, ConflictWrite, Decision};
pub use records::{
    DayReport, HistoryEntry, Hit, MatchKind, PatientRecord, RecordSyncState, ReportRow, UserRow,
    VisitRecord,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The file name of the database inside a data directory.
pub const DB_FILE: &str = "parchi.db";

/// Wall time and randomness for one write, supplied by the caller (the store reads neither).
pub struct Stamping<'a> {
    /// Unix milliseconds.
    pub now_ms: u64,
    /// The local date and time at `now_ms` (the hospital's time zone): tokens and temporary IDs
    /// run per local day.
    pub local: NaiveDateTime,
    /// Fills a buffer with random bytes.
    pub random: &'a mut dyn FnMut(&mut [u8]),
}

impl std::fmt::Debug for Stamping<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stamping")
            .field("now_ms", &self.now_ms)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Stamping<'_> {
    pub fn today(&self) -> NaiveDate {
        self.local.date()
    }

    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        (self.random)(&mut b);
        b
    }
}

/// Who this installation is. Minted once at `init` and never changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteInfo {
    pub site: SiteId,
    pub tag: SiteTag,
    pub counter: CounterCode,
    /// The day this installation was created, and the first sequence number it may use that
    /// day (see [`Store::create`]).
    pub install_day: NaiveDate,
    pub install_floor: u64,
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    site: SiteInfo,
    clock: Clock,
    /// Set while a name-index catch-up may have left the connection at `synchronous=NORMAL`
    /// (`name_index.rs`); every durable write puts it back to FULL first.
    relaxed: std::cell::Cell<bool>,
}

/// SQLite's page cache per connection unless [`Store::set_cache_kib`] says otherwise, in KiB.
pub const DEFAULT_CACHE_KIB: u32 = 32_000;

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a registration the clerk saw confirmed survives a power cut (NORMAL can lose the
    // last commits in WAL mode, and a printed token could be issued again).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -i64::from(DEFAULT_CACHE_KIB))?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = schema::current_version();
    if found > supported {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(())
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The timestamp of the newest operation in the log (by `seq`), if any.
fn newest_op_hlc(conn: &Connection) -> Result<Option<Hlc>> {
    Ok(conn
        .prepare_cached("SELECT hlc FROM ops ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|h| Hlc(h as u64)))
}

/// Saves the clock's state `after` a write that found it at `before`, in the write's `tx`.
///
/// **Architecture Invariant:** the clock's state is the later of the `meta` row `hlc` and the
/// newest operation's stamp ([`resumed_clock`]). So the row is written only when the clock
/// moved past what the newest operation carries (a pull, a write that ticked without logging);
/// a registration leaves it alone, one page less.
fn save_clock(tx: &Connection, before: Hlc, after: Hlc) -> Result<()> {
    if after != before && newest_op_hlc(tx)? != Some(after) {
        set_meta(tx, "hlc", &after.0.to_string())?;
    }
    Ok(())
}

/// The clock's state at open, from the `meta` row `saved` and the log (see [`save_clock`]).
fn resumed_clock(conn: &Connection, saved: Hlc) -> Result<Clock> {
    let last = newest_op_hlc(conn)?.unwrap_or_default().max(saved);
    Ok(Clock::resume(last, DEFAULT_MAX_DRIFT_MS))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("the site record ({what}) is missing or malformed"))
}

impl Store {
    /// Creates a new installation's database at `dir/parchi.db`, encrypted with `key`.
    ///
    /// The installation gets a random site ID and site tag. On the day it is created its
    /// sequences (tokens, temporary IDs) start at the minute of the day it was created rather
    /// than at 1: a counter reinstalled after a wiped disk cannot know what its predecessor issued
    /// that morning, and one clerk issues well under one token a minute per department, so numbers
    /// from the minute of reinstallation on were never printed. From the next day on, sequences
    /// start at 1.
    pub fn create(
        dir: &Path,
        key: &DataKey,
        counter: CounterCode,
        config_json: &str,
        st: &mut Stamping<'_>,
    ) -> Result<Store> {
        Self::create_keyed(dir, Some(key), counter, config_json, st)
    }

    /// A store in plaintext SQLite (SQLCipher without a key), for the benchmarks' same-run
    /// baseline only. Opening it again with [`Store::open`] encrypts it.
    #[doc(hidden)]
    pub fn create_unencrypted_for_bench(
        dir: &Path,
        counter: CounterCode,
        config_json: &str,
        st: &mut Stamping<'_>,
    ) -> Result<Store> {
        Self::create_keyed(dir, None, counter, config_json, st)
    }

    /// Opens a store made by [`Store::create_unencrypted_for_bench`] without encrypting it
    /// (benchmarks that keep their filled stores between runs).
    #[doc(hidden)]
    pub fn open_unencrypted_for_bench(dir: &Path) -> Result<Store> {
        Self::open_keyed(dir, None)
    }

    fn create_keyed(
        dir: &Path,
        key: Option<&DataKey>,
        counter: CounterCode,
        config_json: &str,
        st: &mut Stamping<'_>,
    ) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let path = dir.join(DB_FILE);
        if path.exists() {
            return Err(StoreError::AlreadyInitialised(path));
        }
        let mut conn = cipher::connect(&path, key)?;
        configure(&conn).map_err(|e| e.at(&path))?;
        migrate(&mut conn, &path)?;
        let site = SiteId::new_v7(st.now_ms, st.bytes());
        let tag = SiteTag::from_random(st.bytes());
        let minute_of_day = u64::from(st.local.hour() * 60 + st.local.minute());
        let info = SiteInfo {
            site,
            tag,
            counter,
            install_day: st.today(),
            install_floor: minute_of_day,
        };
        let tx = conn.transaction()?;
        set_meta(&tx, "site_id", &info.site.to_string())?;
        set_meta(&tx, "site_tag", info.tag.as_str())?;
        set_meta(&tx, "counter", info.counter.as_str())?;
        set_meta(&tx, "install_day", &info.install_day.to_string())?;
        set_meta(&tx, "install_floor", &info.install_floor.to_string())?;
        set_meta(&tx, "hlc", "0")?;
        set_meta(&tx, "config", config_json)?;
        set_meta(
            &tx,
            "index_version",
            &parchi_core::names::INDEX_VERSION.to_string(),
        )?;
        tx.commit()?;
        Ok(Store {
            conn,
            path,
            site: info,
            clock: Clock::resume(Hlc::ZERO, DEFAULT_MAX_DRIFT_MS),
            relaxed: std::cell::Cell::new(false),
        })
    }

    /// Opens an existing installation at `dir/parchi.db` with its data key, applying pending
    /// migrations. A plaintext store of an earlier version is encrypted with `key` first, and
    /// one in the legacy page format converted (once each); a key that does not open the file
    /// is [`StoreError::WrongKey`], and nothing on disk changes.
    pub fn open(dir: &Path, key: &DataKey) -> Result<Store> {
        Self::open_keyed(dir, Some(key))
    }

    fn open_keyed(dir: &Path, key: Option<&DataKey>) -> Result<Store> {
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::NotInitialised(dir.to_owned()));
        }
        let mut conn = cipher::connect(&path, key)?;
        configure(&conn).map_err(|e| e.at(&path))?;
        migrate(&mut conn, &path).map_err(|e| e.at(&path))?;
        let m = |k: &str| {
            get_meta(&conn, k)
                .map_err(|e| e.at(&path))?
                .ok_or_else(|| corrupt(k))
        };
        let site = SiteInfo {
            site: m("site_id")?.parse().map_err(|_| corrupt("site_id"))?,
            tag: SiteTag::parse(&m("site_tag")?).map_err(|_| corrupt("site_tag"))?,
            counter: CounterCode::parse(&m("counter")?).map_err(|_| corrupt("counter"))?,
            install_day: m("install_day")?
                .parse()
                .map_err(|_| corrupt("install_day"))?,
            install_floor: m("install_floor")?
                .parse()
                .map_err(|_| corrupt("install_floor"))?,
        };
        let last: u64 = m("hlc")?.parse().map_err(|_| corrupt("hlc"))?;
        let clock = resumed_clock(&conn, Hlc(last)).map_err(|e| e.at(&path))?;
        let mut store = Store {
            conn,
            path,
            site,
            clock,
            relaxed: std::cell::Cell::new(false),
        };
        store.reindex_if_stale()?;
        // Names committed before a crash, without their keys yet.
        store.catch_up_names().map_err(|e| e.at(&store.path))?;
        Ok(store)
    }

    /// Caps this connection's page cache at `kib` KiB (at least 64). Pages read past the cap
    /// come from the operating system's file cache again; a long-lived process with several
    /// connections (the desktop app) keeps its resident memory down this way.
    pub fn set_cache_kib(&self, kib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(kib.max(64)))?;
        Ok(())
    }

    /// This connection's page cache cap, in KiB.
    pub fn cache_kib(&self) -> Result<u32> {
        let v: i64 = self
            .conn
            .pragma_query_value(None, "cache_size", |r| r.get(0))?;
        // Negative: KiB; positive: pages.
        let kib = if v < 0 {
            -v
        } else {
            let page: i64 = self
                .conn
                .pragma_query_value(None, "page_size", |r| r.get(0))?;
            v * page / 1024
        };
        Ok(u32::try_from(kib).unwrap_or(u32::MAX))
    }

    pub fn site(&self) -> &SiteInfo {
        &self.site
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hospital configuration stored at `init` (JSON).
    pub fn config_json(&self) -> Result<String> {
        get_meta(&self.conn, "config")?.ok_or_else(|| corrupt("config"))
    }

    /// Replaces the stored hospital configuration (already validated by the caller).
    pub fn set_config_json(&mut self, json: &str) -> Result<()> {
        set_meta(&self.conn, "config", json)
    }

    /// A raw `meta` value (sync cursors and the like).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        get_meta(&self.conn, key)
    }

    /// A free-form setting (sync hub address, credentials, cursor…).
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        get_meta(&self.conn, &format!("setting:{key}"))
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        set_meta(&self.conn, &format!("setting:{key}"), value)
    }

    /// Rebuilds the name index when it was built by an older version of the name keys.
    fn reindex_if_stale(&mut self) -> Result<()> {
        let current = parchi_core::names::INDEX_VERSION.to_string();
        if get_meta(&self.conn, "index_version")?.as_deref() == Some(current.as_str()) {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for (table, fts) in [("patients", "patient_fts"), ("mirror", "mirror_fts")] {
            tx.execute(&format!("DELETE FROM {fts}"), [])?;
            let mut read = tx.prepare(&format!("SELECT rowid, name FROM {table}"))?;
            let mut write =
                tx.prepare(&format!("INSERT INTO {fts} (rowid, terms) VALUES (?1, ?2)"))?;
            let rows = read.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (rowid, name) = row?;
                write.execute(params![rowid, parchi_core::names::index_terms(&name)])?;
            }
        }
        tx.execute("DELETE FROM fts_pending", [])?;
        set_meta(&tx, "index_version", &current)?;
        tx.commit()?;
        Ok(())
    }

    /// Merges the search index into one segment and refreshes the query planner's statistics.
    /// Worth running after a bulk import or a large sync; takes seconds per million patients.
    pub fn optimize(&mut self) -> Result<()> {
        self.conn.execute(
            "INSERT INTO patient_fts (patient_fts) VALUES ('optimize')",
            [],
        )?;
        self.conn.execute_batch("PRAGMA optimize")?;
        Ok(())
    }

    /// Turns this store back into schema 8 (before migrations 9 to 11), as the release before
    /// them wrote it: for the tests that upgrade across those migrations. Refused once a
    /// configuration was published here (schema 8 cannot hold it).
    #[doc(hidden)]
    pub fn roll_back_schema_for_tests(&self) -> Result<()> {
        if !self.published_configs()?.is_empty() {
            return Err(StoreError::Invalid(
                "this store holds published configurations".into(),
            ));
        }
        self.conn.execute_batch(schema::ROLL_BACK_TO_8)?;
        let version: u32 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != 8 {
            return Err(StoreError::Invalid(format!(
                "the store is at schema {version}, not 8"
            )));
        }
        Ok(())
    }

    /// Runs SQLite's integrity check; `Ok(())` if the file is sound.
    pub fn check_integrity(&self) -> Result<()> {
        let res: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if res == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt(res))
        }
    }

    /// Direct access for benchmarks and tests in this workspace.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}
