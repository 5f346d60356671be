//! The op log's segments.
//!
//! The op log is stored as segments: one row per commit, holding that commit's ops (consecutive
//! seqs). Each segment has
//! - `keys`: per op, 41 bytes: op ID (16), payload hash (16), effective HLC (8, big-endian), flags
//!   (1); enough to rebuild the dedupe index at start without touching the payloads;
//! - `body`: the ops' canonical JSON, each prefixed by its length (u32, little-endian), as one
//!   LZ4 block behind a 5-byte header: format (1 = LZ4, 0 = stored as is) and the uncompressed
//!   length (u32, little-endian).
//!
//! One row per commit instead of one per op: the per-row cost of the database is paid once per
//! push, and JSON this repetitive compresses about 4x.

use std::fmt;

use parchi_core::{Hlc, OpId};

use crate::error::StorageError;
use crate::storage::{NewOp, StoredOp};

/// Bytes of one op's entry in a segment's `keys`.
pub const KEY_BYTES: usize = 41;
/// Largest uncompressed segment body accepted when reading (a corrupt header must not make the
/// hub allocate gigabytes).
pub const MAX_SEGMENT_BODY: usize = 1 << 30;

const BODY_RAW: u8 = 0;
const BODY_LZ4: u8 = 1;

/// One op's keys, as a segment stores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpKey {
    pub op_id: OpId,
    pub hash: u128,
    pub eff_hlc: Hlc,
    pub flags: i64,
}

/// A segment ready to store: consecutive ops from `first_seq`.
pub struct Segment {
    pub first_seq: u64,
    pub n: u64,
    pub received_ms: u64,
    pub keys: Vec<u8>,
    pub body: Vec<u8>,
}
parchi_core::redacted_debug!(Segment, first_seq, n, received_ms);

/// Buffers for encoding segments, reused from one commit to the next (a segment is megabytes:
/// fresh buffers each time cost page faults).
#[derive(Default)]
pub struct SegmentBuf {
    raw: Vec<u8>,
    pub keys: Vec<u8>,
    pub body: Vec<u8>,
}

impl fmt::Debug for SegmentBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentBuf").finish_non_exhaustive()
    }
}

/// Where a segment encoded into a [`SegmentBuf`] sits in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHead {
    pub first_seq: u64,
    pub n: u64,
    pub received_ms: u64,
}

/// Encodes a commit's ops as one segment (None when there are none). Their seqs must be
/// consecutive.
pub fn encode_segment(ops: &[NewOp]) -> Result<Option<Segment>, StorageError> {
    encode_segment_with(ops, None)
}

/// [`encode_segment`], taking the body when it was compressed ahead (see [`Commit::body`]).
pub fn encode_segment_with(
    ops: &[NewOp],
    compressed: Option<Vec<u8>>,
) -> Result<Option<Segment>, StorageError> {
    let mut buf = SegmentBuf::default();
    Ok(buf.encode(ops, compressed)?.map(|h| Segment {
        first_seq: h.first_seq,
        n: h.n,
        received_ms: h.received_ms,
        keys: buf.keys,
        body: buf.body,
    }))
}

/// A body compressed ahead must be the one of these ops: its length header must match theirs.
fn check_body(ops: &[NewOp], body: &[u8]) -> Result<(), StorageError> {
    let expected: usize = ops.iter().map(|o| o.payload.len() + 4).sum();
    let header = body
        .get(1..5)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_le_bytes(b) as usize);
    if header == Some(expected) {
        Ok(())
    } else {
        Err(StorageError::Corrupt(
            "a segment body compressed ahead does not match the commit's ops".into(),
        ))
    }
}

impl SegmentBuf {
    /// Encodes `ops` as one segment into these buffers: the keys, and as the body `compressed`
    /// when it was compressed ahead (checked against the ops), else the ops' payloads
    /// compressed here. None when there are no ops.
    pub fn encode(
        &mut self,
        ops: &[NewOp],
        compressed: Option<Vec<u8>>,
    ) -> Result<Option<SegmentHead>, StorageError> {
        let Some(head) = encode_keys_into(ops, &mut self.keys)? else {
            return Ok(None);
        };
        match compressed {
            Some(b) => {
                check_body(ops, &b)?;
                self.body = b;
            }
            None => compress_body_into(
                ops.iter().map(|o| o.payload.as_str()),
                &mut self.raw,
                &mut self.body,
            )?,
        }
        Ok(Some(head))
    }
}

/// The keys half of a segment (IDs, hashes, effective HLCs, flags), into `keys`. Checks that
/// the seqs are consecutive.
pub fn encode_keys_into(
    ops: &[NewOp],
    keys: &mut Vec<u8>,
) -> Result<Option<SegmentHead>, StorageError> {
    let Some(first) = ops.first() else {
        return Ok(None);
    };
    keys.clear();
    keys.reserve(ops.len() * KEY_BYTES);
    for (i, o) in ops.iter().enumerate() {
        if o.seq != first.seq + i as u64 {
            return Err(StorageError::Corrupt(format!(
                "ops of one commit must have consecutive seqs (got {} after {})",
                o.seq, first.seq
            )));
        }
        keys.extend_from_slice(o.op_id.as_bytes());
        keys.extend_from_slice(&o.hash.to_be_bytes());
        keys.extend_from_slice(&o.eff_hlc.0.to_be_bytes());
        keys.push(u8::try_from(o.flags).unwrap_or(u8::MAX));
    }
    Ok(Some(SegmentHead {
        first_seq: first.seq,
        n: ops.len() as u64,
        received_ms: first.received_ms,
    }))
}

/// The body half of a segment: the payloads, each behind its length, compressed into `body`
/// (`raw` is scratch).
pub fn compress_body_into<'a>(
    payloads: impl Iterator<Item = &'a str>,
    raw: &mut Vec<u8>,
    body: &mut Vec<u8>,
) -> Result<(), StorageError> {
    raw.clear();
    append_raw_body(payloads, raw)?;
    compress_raw_body(raw, body)
}

/// The uncompressed body: each payload behind its length (u32, little-endian), appended.
pub fn append_raw_body<'a>(
    payloads: impl Iterator<Item = &'a str>,
    raw: &mut Vec<u8>,
) -> Result<(), StorageError> {
    for p in payloads {
        let len = u32::try_from(p.len())
            .map_err(|_| StorageError::Corrupt("an op of 4 GiB or more".into()))?;
        raw.extend_from_slice(&len.to_le_bytes());
        raw.extend_from_slice(p.as_bytes());
    }
    Ok(())
}

/// Compresses an uncompressed body (see [`append_raw_body`]) into `body`.
pub fn compress_raw_body(raw: &[u8], body: &mut Vec<u8>) -> Result<(), StorageError> {
    let raw_len = u32::try_from(raw.len())
        .map_err(|_| StorageError::Corrupt("a commit of 4 GiB or more".into()))?;
    body.clear();
    body.resize(5 + lz4_flex::block::get_maximum_output_size(raw.len()), 0);
    body[1..5].copy_from_slice(&raw_len.to_le_bytes());
    match lz4_flex::block::compress_into(raw, &mut body[5..]) {
        Ok(n) if n < raw.len() => {
            body[0] = BODY_LZ4;
            body.truncate(5 + n);
        }
        _ => {
            body[0] = BODY_RAW;
            body.truncate(5);
            body.extend_from_slice(raw);
        }
    }
    Ok(())
}

/// The keys of a segment of `n` ops.
pub fn decode_keys(keys: &[u8], n: u64) -> Result<impl Iterator<Item = OpKey> + '_, StorageError> {
    if Some(keys.len())
        != usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(KEY_BYTES))
    {
        return Err(StorageError::Corrupt(format!(
            "segment keys of {} bytes for {n} ops",
            keys.len()
        )));
    }
    Ok(keys.chunks_exact(KEY_BYTES).map(|k| {
        let mut id = [0u8; 16];
        id.copy_from_slice(&k[..16]);
        let mut h = [0u8; 16];
        h.copy_from_slice(&k[16..32]);
        let mut e = [0u8; 8];
        e.copy_from_slice(&k[32..40]);
        OpKey {
            op_id: OpId::from_bytes(id),
            hash: u128::from_be_bytes(h),
            eff_hlc: Hlc(u64::from_be_bytes(e)),
            flags: i64::from(k[40]),
        }
    }))
}

/// The uncompressed body of a segment: length-prefixed payloads.
pub fn unpack_body(body: &[u8]) -> Result<Vec<u8>, StorageError> {
    let bad = |what: &str| StorageError::Corrupt(format!("segment body: {what}"));
    if body.len() < 5 {
        return Err(bad("too short"));
    }
    let mut l = [0u8; 4];
    l.copy_from_slice(&body[1..5]);
    let len = u32::from_le_bytes(l) as usize;
    if len > MAX_SEGMENT_BODY {
        return Err(bad("length out of range"));
    }
    match body[0] {
        BODY_RAW if body.len() == len + 5 => Ok(body[5..].to_vec()),
        BODY_LZ4 => {
            let mut out = vec![0u8; len];
            let got = lz4_flex::block::decompress_into(&body[5..], &mut out)
                .map_err(|e| bad(&e.to_string()))?;
            if got != len {
                return Err(bad("length mismatch"));
            }
            Ok(out)
        }
        _ => Err(bad("unknown format")),
    }
}

/// Splits an unpacked body into its payloads.
pub fn payloads(raw: &[u8]) -> impl Iterator<Item = Result<&str, StorageError>> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at >= raw.len() {
            return None;
        }
        let bad = || StorageError::Corrupt("segment body: truncated op".into());
        let Some(l) = raw.get(at..at + 4) else {
            at = raw.len();
            return Some(Err(bad()));
        };
        let len = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
        let Some(p) = raw.get(at + 4..at + 4 + len) else {
            at = raw.len();
            return Some(Err(bad()));
        };
        at += 4 + len;
        Some(
            std::str::from_utf8(p)
                .map_err(|_| StorageError::Corrupt("segment body: op is not UTF-8".into())),
        )
    })
}

/// Appends to `out` the ops of a segment with seq greater than `after`, at most `limit` in all.
pub fn read_segment(
    first_seq: u64,
    n: u64,
    keys: &[u8],
    body: &[u8],
    after: u64,
    limit: usize,
    out: &mut Vec<StoredOp>,
) -> Result<(), StorageError> {
    if first_seq + n <= after + 1 || out.len() >= limit {
        return Ok(());
    }
    let raw = unpack_body(body)?;
    let mut count = 0u64;
    for (i, (k, p)) in decode_keys(keys, n)?.zip(payloads(&raw)).enumerate() {
        count += 1;
        let seq = first_seq + i as u64;
        if seq <= after {
            continue;
        }
        if out.len() >= limit {
            return Ok(());
        }
        out.push(StoredOp {
            seq,
            eff_hlc: k.eff_hlc,
            flags: k.flags,
            payload: p?.to_string(),
        });
    }
    if count != n {
        return Err(StorageError::Corrupt(format!(
            "segment at seq {first_seq}: {count} ops for {n} keys"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parchi_core::SiteId;

    fn op(seq: u64, payload: &str) -> NewOp {
        NewOp {
            seq,
            op_id: OpId::from_bytes([seq as u8; 16]),
            site: SiteId::from_bytes([7; 16]),
            hlc: Hlc::new(1_000 + seq, 0),
            eff_hlc: Hlc::new(1_000 + seq, 0),
            flags: 0,
            received_ms: 5,
            hash: u128::from(seq),
            payload: payload.into(),
        }
    }

    fn compress_body(ops: &[NewOp]) -> Vec<u8> {
        let mut body = Vec::new();
        compress_body_into(
            ops.iter().map(|o| o.payload.as_str()),
            &mut Vec::new(),
            &mut body,
        )
        .expect("compress");
        body
    }

    #[test]
    fn a_body_compressed_ahead_reads_back_like_one_compressed_at_commit() {
        let ops: Vec<NewOp> = (1..=300)
            .map(|i| op(i, &format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(40))))
            .collect();
        let ahead = compress_body(&ops);
        let with = encode_segment_with(&ops, Some(ahead))
            .expect("encode")
            .expect("some");
        let plain = encode_segment(&ops).expect("encode").expect("some");
        assert_eq!(with.body, plain.body);
        assert_eq!(with.keys, plain.keys);
        let mut out = Vec::new();
        read_segment(1, 300, &with.keys, &with.body, 0, 1_000, &mut out).expect("read");
        let got: Vec<&str> = out.iter().map(|o| o.payload.as_str()).collect();
        let want: Vec<&str> = ops.iter().map(|o| o.payload.as_str()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_body_compressed_ahead_for_other_ops_is_refused() {
        let ops: Vec<NewOp> = (1..=3).map(|i| op(i, r#"{"a":1}"#)).collect();
        let other = compress_body(&ops[..2]);
        let err = encode_segment_with(&ops, Some(other.clone())).expect_err("mismatch");
        assert!(err.to_string().contains("does not match"), "{err}");
        let mut buf = SegmentBuf::default();
        assert!(buf.encode(&ops, Some(other)).is_err());
    }
}
