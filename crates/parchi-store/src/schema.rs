//! Migrations. **Append-only**: never edit one that has shipped; add a new one at the end.
//! `PRAGMA user_version` records how many have been applied, and a database with more than this
//! binary knows is refused rather than misread.

pub const MIGRATIONS: &[&str] = &[
    // 1: the counter's first schema.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Per-day sequences: temporary IDs ('temp') and tokens ('token:<DEPT>'), per installation.
CREATE TABLE sequences (
    scope TEXT NOT NULL,
    day   TEXT NOT NULL,
    last  INTEGER NOT NULL,
    PRIMARY KEY (scope, day)
) WITHOUT ROWID;

-- The operation log: every change, local or pulled, exactly once (by op ID).
CREATE TABLE ops (
    seq           INTEGER PRIMARY KEY,
    id            BLOB NOT NULL UNIQUE,
    hlc           INTEGER NOT NULL,
    site          BLOB NOT NULL,
    entity        BLOB NOT NULL,
    kind          TEXT NOT NULL,
    body          TEXT NOT NULL,
    -- 0: written here; 1: pulled from a hub.
    origin        INTEGER NOT NULL,
    -- Local ops: 0 pending push, 1 pushed, 2 rejected by the hub (see error).
    sync_state    INTEGER NOT NULL DEFAULT 0,
    -- The HLC the hub merges this op with, when it differs (a clock far ahead).
    effective_hlc INTEGER,
    error         TEXT
);
CREATE INDEX ops_entity ON ops (entity);
CREATE INDEX ops_pending ON ops (seq) WHERE origin = 0 AND sync_state = 0;

-- Materialised patients. `fields` is the JSON of every LWW field; the other columns are copies
-- kept for lookup and reports.
CREATE TABLE patients (
    rowid         INTEGER PRIMARY KEY,
    id            BLOB NOT NULL UNIQUE,
    temp_id       TEXT NOT NULL,
    uhid          TEXT,
    name          TEXT NOT NULL,
    sex           TEXT NOT NULL,
    birth_date    TEXT NOT NULL,
    mobile        TEXT,
    abha_number   TEXT,
    abha_address  TEXT,
    fields        TEXT NOT NULL,
    quick         INTEGER NOT NULL,
    counter       TEXT NOT NULL,
    created_hlc   INTEGER NOT NULL,
    created_site  BLOB NOT NULL,
    created_op    BLOB NOT NULL,
    last_visit    TEXT
);
CREATE UNIQUE INDEX patients_temp_id ON patients (temp_id);
CREATE INDEX patients_uhid ON patients (uhid) WHERE uhid IS NOT NULL;
CREATE INDEX patients_mobile ON patients (mobile) WHERE mobile IS NOT NULL;
CREATE INDEX patients_abha_number ON patients (abha_number) WHERE abha_number IS NOT NULL;
CREATE INDEX patients_abha_address ON patients (abha_address) WHERE abha_address IS NOT NULL;

-- The winning write per field when it is not the patient's creation (or arrived before it).
CREATE TABLE field_stamps (
    patient BLOB NOT NULL,
    field   TEXT NOT NULL,
    hlc     INTEGER NOT NULL,
    site    BLOB NOT NULL,
    op      BLOB NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (patient, field)
) WITHOUT ROWID;

CREATE TABLE visits (
    rowid         INTEGER PRIMARY KEY,
    id            BLOB NOT NULL UNIQUE,
    patient       BLOB NOT NULL,
    department    TEXT NOT NULL,
    day           TEXT NOT NULL,
    token_counter TEXT NOT NULL,
    token_seq     INTEGER NOT NULL,
    fee           INTEGER NOT NULL,
    category      TEXT NOT NULL,
    created_hlc   INTEGER NOT NULL,
    site          BLOB NOT NULL,
    op            BLOB NOT NULL,
    UNIQUE (department, day, token_counter, token_seq)
);
CREATE INDEX visits_patient ON visits (patient);
CREATE INDEX visits_day ON visits (day, department);

-- The earliest cancellation of each visit (by stamp). A visit is never deleted.
CREATE TABLE cancellations (
    visit   BLOB PRIMARY KEY,
    hlc     INTEGER NOT NULL,
    site    BLOB NOT NULL,
    op      BLOB NOT NULL,
    counter TEXT NOT NULL,
    reason  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE reprints (
    op      BLOB PRIMARY KEY,
    visit   BLOB NOT NULL,
    hlc     INTEGER NOT NULL,
    counter TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX reprints_visit ON reprints (visit);

-- Things an admin must see: a token issued twice (a cloned disk), a clock far ahead.
CREATE TABLE alarms (
    id      INTEGER PRIMARY KEY,
    at_hlc  INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    detail  TEXT NOT NULL
);

-- Name search: terms from parchi_core::names::index_terms, rowid = patients.rowid.
CREATE VIRTUAL TABLE patient_fts USING fts5(
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii',
    prefix = '3 4 5'
);
"#,
    // 2: local user accounts for the desktop app (offline login; never synced).
    r#"
CREATE TABLE users (
    name     TEXT PRIMARY KEY,
    role     TEXT NOT NULL CHECK (role IN ('clerk', 'admin')),
    secret   TEXT NOT NULL,
    created  TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"#,
    // 3: reconciliation: permanent UHIDs, merge decisions, conflicting edits.
    r#"
ALTER TABLE patients ADD COLUMN merged_into BLOB;

-- The winning UHID assignment per patient (last writer wins); patients.uhid is its copy.
CREATE TABLE uhid_stamps (
    patient BLOB PRIMARY KEY,
    hlc     INTEGER NOT NULL,
    site    BLOB NOT NULL,
    op      BLOB NOT NULL,
    uhid    TEXT NOT NULL
) WITHOUT ROWID;

-- The standing decision about each pair of records (a < b), last writer wins.
CREATE TABLE pair_decisions (
    a        BLOB NOT NULL,
    b        BLOB NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('same', 'distinct')),
    hlc      INTEGER NOT NULL,
    site     BLOB NOT NULL,
    op       BLOB NOT NULL,
    reason   TEXT NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX pair_decisions_b ON pair_decisions (b);

-- Operations about a second record (the other patient of a decision), for its history.
CREATE TABLE op_links (
    entity BLOB NOT NULL,
    op     BLOB NOT NULL,
    PRIMARY KEY (entity, op)
) WITHOUT ROWID;

-- Every correction with the write it replaced, to find concurrent edits of one field.
CREATE TABLE field_edits (
    patient BLOB NOT NULL,
    field   TEXT NOT NULL,
    prev    BLOB,
    op      BLOB NOT NULL,
    site    BLOB NOT NULL,
    hlc     INTEGER NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (patient, field, op)
) WITHOUT ROWID;
"#,
    // 4: the sync state's counts read two partial indexes instead of scanning every op.
    r#"
CREATE INDEX ops_rejected ON ops (seq) WHERE origin = 0 AND sync_state = 2;
"#,
    // 5: the hospital's own patient index: each record's link to it, and the mirror.
    r#"
-- The record's winning link (JSON of parchi_core::CentralLink); patients.uhid becomes the UHID
-- the record is known by (linked, else assigned, else claimed).
ALTER TABLE patients ADD COLUMN link TEXT;

CREATE TABLE link_stamps (
    patient BLOB PRIMARY KEY,
    hlc     INTEGER NOT NULL,
    site    BLOB NOT NULL,
    op      BLOB NOT NULL,
    link    TEXT NOT NULL
) WITHOUT ROWID;

-- Hospital records an admin said a patient is not: grow-only, so a link run never proposes
-- them again.
CREATE TABLE link_rejections (
    patient BLOB NOT NULL,
    uhid    TEXT NOT NULL,
    PRIMARY KEY (patient, uhid)
) WITHOUT ROWID;

-- The mirror: a read-only copy of the hospital's patient index (never operations). `run` is
-- the local import that last wrote the row (to report a UHID listed twice in one file).
CREATE TABLE mirror (
    rowid       INTEGER PRIMARY KEY,
    uhid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    mobile      TEXT,
    abha_number TEXT,
    seen        TEXT,
    record      TEXT NOT NULL,
    run         INTEGER
);
CREATE INDEX mirror_mobile ON mirror (mobile) WHERE mobile IS NOT NULL;
CREATE INDEX mirror_abha_number ON mirror (abha_number) WHERE abha_number IS NOT NULL;
CREATE VIRTUAL TABLE mirror_fts USING fts5(
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii',
    prefix = '3 4 5'
);

-- The review queue of the last link run (local to this installation; decisions are ops).
CREATE TABLE link_queue (
    patient    BLOB PRIMARY KEY,
    verdict    TEXT NOT NULL,
    run_at     INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    // 6: slip PDFs a printer did not take, kept inside the encrypted store (never as files).
    r#"
CREATE TABLE kept_slips (
    id         INTEGER PRIMARY KEY,
    visit      BLOB NOT NULL,
    duplicate  INTEGER NOT NULL,
    kept_ms    INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    pdf        BLOB NOT NULL
);
CREATE INDEX kept_slips_visit ON kept_slips (visit);
"#,
    // 7: the original slip of each visit printed here: at most one (later copies are reprints,
    // which are operations). Local to the counter that printed it, never synced.
    r#"
CREATE TABLE original_prints (
    visit      BLOB PRIMARY KEY,
    printed_ms INTEGER NOT NULL,
    printer    TEXT NOT NULL
) WITHOUT ROWID;
"#,
    // 8: the name index is caught up after the durable transaction (fold/names.rs): the
    // patients whose name keys patient_fts does not hold yet, marked in the transaction that
    // changed them. `indexed`: patient_fts still holds this rowid's previous terms.
    r#"
CREATE TABLE fts_pending (
    rowid   INTEGER PRIMARY KEY,
    indexed INTEGER NOT NULL
);
"#,
    // 9: the hospital configurations published for every counter (PublishConfig ops), each
    // with the stamp of its first publication; which one is in force is the core's rule.
    r#"
CREATE TABLE published_configs (
    id             BLOB PRIMARY KEY,
    effective_from TEXT NOT NULL,
    hlc            INTEGER NOT NULL,
    site           BLOB NOT NULL,
    op             BLOB NOT NULL,
    settings       TEXT NOT NULL,
    note           TEXT NOT NULL
) WITHOUT ROWID;
"#,
    // 10: a day's visits are read through the token index, department by department
    // (query/mod.rs, DEPARTMENTS): an index by day cost every registration a page.
    r#"
DROP INDEX visits_day;
"#,
    // 11: the outbox is read from a low-water mark (outbox.rs) instead of an index of the
    // waiting operations, which cost every registration a page.
    r#"
INSERT INTO meta (key, value)
    SELECT 'outbox_from', CAST(coalesce(min(seq), (SELECT coalesce(max(seq), 0) + 1 FROM ops)) AS TEXT)
    FROM ops WHERE origin = 0 AND sync_state = 0;
DROP INDEX ops_pending;
"#,
];

/// Undoes migrations 11 to 9 on a store that holds no published configuration: schema 8, as
/// the release before them wrote it. For the tests that upgrade across those migrations.
pub(crate) const ROLL_BACK_TO_8: &str = "DROP TABLE published_configs;
    CREATE INDEX visits_day ON visits (day, department);
    CREATE INDEX ops_pending ON ops (seq) WHERE origin = 0 AND sync_state = 0;
    DELETE FROM meta WHERE key = 'outbox_from';
    PRAGMA user_version = 8;";

/// The schema version this binary writes.
pub fn current_version() -> u32 {
    MIGRATIONS.len() as u32
}
