//! A PostgreSQL hub's backup (`pg_dump.rs` writes it): verified without a server, by
//! reading the decrypted dump as it streams past, and restored with `psql` into a database
//! that does not hold the hub's schema yet, in one transaction that commits only when the
//! whole file decrypted, matched its hash, and held what its signed manifest says.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use parchi_keys::DeviceKey;
use parchi_keys::backup::{self, BackupKey, Manifest, OpRange};

use super::pg_dump::{KIND, tool};
use super::{HubRestoreReport, hex};
use crate::PgTls;
use crate::error::HubError;
use crate::keys::META_SIGNING_KEY;

fn cfg(e: impl std::fmt::Display) -> HubError {
    HubError::Config(e.to_string())
}

/// What of a line is kept: the columns read come first, the op log's bodies after them.
const LINE_HEAD: usize = 8192;

#[derive(Debug)]
enum Table {
    OpLog { first: usize, n: usize },
    Patients,
    Meta { key: usize, value: usize },
    Other,
}

/// Reads a plain-SQL dump of a hub's schema line by line as it is written: the op log's
/// segments (first seq and count), the patients, the hub ID and signing key from `meta`.
#[derive(Debug, Default)]
struct DumpCheck {
    line: Vec<u8>,
    table: Option<Table>,
    ops: OpRange,
    patients: u64,
    hub_id: Option<String>,
    signer: Option<String>,
    broken: Option<String>,
}

/// `"schema"."table" ("a", "b")` → the table's name and its columns.
fn copy_target(rest: &str) -> Option<(String, Vec<String>)> {
    let (name, cols) = rest.split_once(" (")?;
    let table = name.rsplit('.').next()?.trim_matches('"').to_owned();
    let cols = cols.split_once(')')?.0;
    let cols = cols
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_owned())
        .collect();
    Some((table, cols))
}

impl DumpCheck {
    fn line(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        match &self.table {
            None => {
                if let Some(rest) = text.strip_prefix("COPY ") {
                    let Some((table, cols)) = copy_target(rest) else {
                        self.broken = Some("a COPY statement it cannot read".into());
                        return;
                    };
                    let at = |c: &str| cols.iter().position(|x| x == c);
                    self.table = Some(match table.as_str() {
                        "op_log" => match (at("first_seq"), at("n")) {
                            (Some(first), Some(n)) => Table::OpLog { first, n },
                            _ => Table::Other,
                        },
                        "patients" => Table::Patients,
                        "meta" => match (at("key"), at("value")) {
                            (Some(key), Some(value)) => Table::Meta { key, value },
                            _ => Table::Other,
                        },
                        _ => Table::Other,
                    });
                }
            }
            Some(_) if text == "\\." => self.table = None,
            Some(Table::OpLog { first, n }) => {
                let cols: Vec<&str> = text.split('\t').collect();
                let get = |i: usize| cols.get(i).and_then(|v| v.parse::<u64>().ok());
                match (get(*first), get(*n)) {
                    (Some(f), Some(n)) if n > 0 => {
                        self.ops.count += n;
                        self.ops.first_seq = Some(self.ops.first_seq.map_or(f, |x| x.min(f)));
                        let last = f + n - 1;
                        self.ops.last_seq = Some(self.ops.last_seq.map_or(last, |x| x.max(last)));
                    }
                    _ => self.broken = Some("an op log row it cannot read".into()),
                }
            }
            Some(Table::Patients) => self.patients += 1,
            Some(Table::Meta { key, value }) => {
                let cols: Vec<&str> = text.split('\t').collect();
                match (cols.get(*key).copied(), cols.get(*value)) {
                    (Some("hub_id"), Some(v)) => self.hub_id = Some((*v).to_owned()),
                    (Some(k), Some(v)) if k == META_SIGNING_KEY => {
                        self.signer = Some((*v).to_owned());
                    }
                    _ => {}
                }
            }
            Some(Table::Other) => {}
        }
    }

    /// The dump against its signed manifest.
    fn check(&self, m: &Manifest) -> Result<(), HubError> {
        if m.kind != KIND {
            return Err(cfg("not a PostgreSQL hub's backup"));
        }
        if let Some(b) = &self.broken {
            return Err(cfg(format!("the backup's dump holds {b}")));
        }
        if self.table.is_some() || !self.line.is_empty() {
            return Err(cfg("the backup's dump ends in the middle of a table"));
        }
        let signer = self
            .signer
            .as_deref()
            .and_then(DeviceKey::from_stored)
            .map(|k| hex(k.public().as_bytes()));
        if self.ops.count != m.ops.count
            || self.ops.first_seq != m.ops.first_seq
            || self.ops.last_seq != m.ops.last_seq
            || self.patients != m.patients
            || self.hub_id.as_deref() != Some(m.site.as_str())
            || signer.as_deref() != Some(m.signing_key.as_str())
        {
            return Err(cfg(
                "the backup was altered: the dump differs from its signed manifest",
            ));
        }
        Ok(())
    }
}

impl Write for DumpCheck {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let room = LINE_HEAD.saturating_sub(self.line.len());
            self.line.extend_from_slice(&rest[..i.min(room)]);
            let line = std::mem::take(&mut self.line);
            self.line(&line);
            rest = &rest[i + 1..];
        }
        let room = LINE_HEAD.saturating_sub(self.line.len());
        self.line.extend_from_slice(&rest[..rest.len().min(room)]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes to a tool's input and to the check.
struct Tee<'a, W: Write> {
    check: &'a mut DumpCheck,
    out: W,
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write_all(buf)?;
        self.check.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn report(file: &Path, m: Manifest) -> HubRestoreReport {
    HubRestoreReport {
        data: file.to_owned(),
        hub_id: m.site.clone(),
        ops: m.ops.count,
        manifest: m,
    }
}

/// `parchi backup verify` of a PostgreSQL hub's backup: signature, length and hash, then the
/// decrypted dump against the manifest (op count and range, patients, hub ID, signer). Nothing
/// is written anywhere.
pub fn verify_postgres(file: &Path, key: &BackupKey) -> Result<HubRestoreReport, HubError> {
    let mut check = DumpCheck::default();
    let (m, _) = backup::decrypt_to(file, key, &mut check).map_err(cfg)?;
    check.check(&m)?;
    Ok(report(file, m))
}

/// Restores a PostgreSQL hub's backup into the database at `url` with `psql`, in one
/// transaction: the hub's schema must not exist there yet (else nothing changes), and the
/// transaction is committed only after the whole file was decrypted and checked.
pub fn restore_postgres(
    file: &Path,
    key: &BackupKey,
    url: &str,
    tls: &PgTls,
) -> Result<HubRestoreReport, HubError> {
    let m = backup::read_file_manifest(file).map_err(cfg)?;
    if m.kind != KIND {
        return Err(cfg("not a PostgreSQL hub's backup"));
    }
    let mut cmd = tool("psql", url, tls)?;
    cmd.args([
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "--single-transaction",
        "-f",
        "-",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| cfg(format!("cannot run psql (PostgreSQL's client tools): {e}")))?;
    let stdin = child.stdin.take().ok_or_else(|| cfg("psql: no input"))?;
    let mut check = DumpCheck::default();
    let streamed = {
        let mut tee = Tee {
            check: &mut check,
            out: std::io::BufWriter::with_capacity(1 << 20, stdin),
        };
        let r = backup::decrypt_to(file, key, &mut tee)
            .map_err(cfg)
            .and_then(|_| tee.check.check(&m));
        r.and_then(|()| tee.out.flush().map_err(cfg))
    };
    if let Err(e) = streamed {
        // psql never saw the end of its input: its transaction is not committed.
        let _ = child.kill();
        let out = child.wait_with_output();
        let said = out
            .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
            .unwrap_or_default();
        return Err(if said.is_empty() {
            e
        } else {
            cfg(format!("psql refused the restore: {said}"))
        });
    }
    let out = child.wait_with_output().map_err(cfg)?;
    if !out.status.success() {
        return Err(cfg(format!(
            "psql refused the restore: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(report(file, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_is_read_for_its_op_log_patients_and_meta() {
        let mut c = DumpCheck::default();
        let dump = "SET x = 1;\n\
            COPY \"s\".\"meta\" (\"key\", \"value\") FROM stdin;\n\
            hub_id\thub_abc\n\
            \\.\n\
            COPY \"s\".\"op_log\" (\"first_seq\", \"n\", \"received_ms\", \"keys\", \"body\") FROM stdin;\n\
            1\t3\t5\t\\\\x00\t\\\\x01\n\
            4\t2\t6\t\\\\x00\t\\\\x02\n\
            \\.\n\
            COPY \"s\".\"patients\" (\"id\", \"temp_id\", \"state\") FROM stdin;\n\
            a\tb\tc\n\
            \\.\n";
        // Written in small pieces, as a stream would.
        for chunk in dump.as_bytes().chunks(7) {
            c.write_all(chunk).expect("write");
        }
        assert_eq!(c.ops.count, 5);
        assert_eq!((c.ops.first_seq, c.ops.last_seq), (Some(1), Some(5)));
        assert_eq!(c.patients, 1);
        assert_eq!(c.hub_id.as_deref(), Some("hub_abc"));
        assert!(c.table.is_none() && c.broken.is_none());
    }

    #[test]
    fn a_dump_cut_inside_a_table_is_noticed() {
        let mut c = DumpCheck::default();
        c.write_all(b"COPY \"s\".\"op_log\" (\"first_seq\", \"n\") FROM stdin;\n1\t3\n")
            .expect("write");
        assert!(c.table.is_some());
    }
}
