//! Push bodies into items: the envelope strictly (else the whole body is refused), each op on
//! its own (a bad op is rejected alone), checked and in canonical form with its payload hash.

use parchi_core::{Hlc, Op, OpId};
use parchi_sync::validate::validate_op;
use parchi_sync::wire::{PROTOCOL_VERSION, RejectCode};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One item of a push after parsing: either an op ready to merge or a per-op rejection.
pub type Item = Result<ParsedItem, Rejection>;

/// A pushed op, parsed and checked.
#[derive(Clone)]
pub struct ParsedItem {
    pub op: Op,
    pub effective_hlc: Option<Hlc>,
    /// Canonical JSON of the op (what is stored, hashed and pulled).
    pub canonical: String,
    pub hash: u128,
}

impl std::fmt::Debug for ParsedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedItem")
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

/// A per-op rejection.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub id: Option<OpId>,
    pub code: RejectCode,
    pub reason: String,
}

/// Why a push body was refused as a whole (nothing of it is stored).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body ended early (cut connection?): {0}")]
    Truncated(String),
    #[error("the body is not a push request: {0}")]
    Malformed(String),
    #[error("protocol version {0} is not supported; this hub speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion(u64),
    #[error("{got} ops in one push; at most {max} are accepted")]
    TooManyOps { got: usize, max: usize },
    #[error("{got} records in one mirror batch; at most {max} are accepted")]
    TooManyRecords { got: usize, max: usize },
}

/// The hash that tells a duplicate from a diverging payload.
pub fn payload_hash(canonical: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(canonical.as_bytes())
}

/// Parses one op from its JSON and checks it.
pub fn parse_item(op_json: &str, effective_hlc: Option<Hlc>) -> Item {
    #[derive(Deserialize)]
    struct IdOnly {
        id: OpId,
    }
    let op: Op = match serde_json::from_str(op_json) {
        Ok(op) => op,
        Err(e) => {
            return Err(Rejection {
                id: serde_json::from_str::<IdOnly>(op_json).ok().map(|i| i.id),
                code: RejectCode::InvalidOp,
                reason: format!("not an operation this hub understands: {e}"),
            });
        }
    };
    prepare_item(op, effective_hlc)
}

/// Checks an op already parsed (from an upstream pull) and computes its canonical form.
pub fn prepare_item(op: Op, effective_hlc: Option<Hlc>) -> Item {
    if let Err(inv) = validate_op(&op) {
        return Err(Rejection {
            id: Some(op.id),
            code: inv.code,
            reason: inv.reason,
        });
    }
    let canonical = match serde_json::to_string(&op) {
        Ok(c) => c,
        Err(e) => {
            return Err(Rejection {
                id: Some(op.id),
                code: RejectCode::InvalidOp,
                reason: format!("cannot encode: {e}"),
            });
        }
    };
    let hash = payload_hash(&canonical);
    Ok(ParsedItem {
        op,
        effective_hlc,
        canonical,
        hash,
    })
}

/// Parses a push body: the envelope strictly (else the whole body is refused), each op on its
/// own (a bad op is rejected alone).
pub fn parse_push(body: &[u8], max_ops: usize) -> Result<Vec<Item>, BodyError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        version: u64,
        #[serde(borrow)]
        ops: Vec<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct RawItem<'a> {
        #[serde(borrow)]
        op: &'a RawValue,
        #[serde(default)]
        effective_hlc: Option<Hlc>,
    }
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u64,
    }
    // serde would also take a struct written as an array (`[1, []]`); the contract says object.
    if !is_object(body) {
        return match serde_json::from_slice::<&RawValue>(body) {
            Err(e) if e.is_eof() => Err(BodyError::Truncated(e.to_string())),
            _ => Err(BodyError::Malformed("a push is a JSON object".into())),
        };
    }
    let env: Envelope<'_> = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) if e.is_eof() => return Err(BodyError::Truncated(e.to_string())),
        Err(e) => {
            if let Ok(v) = serde_json::from_slice::<VersionOnly>(body)
                && v.version != u64::from(PROTOCOL_VERSION)
            {
                return Err(BodyError::UnsupportedVersion(v.version));
            }
            return Err(BodyError::Malformed(e.to_string()));
        }
    };
    if env.version != u64::from(PROTOCOL_VERSION) {
        return Err(BodyError::UnsupportedVersion(env.version));
    }
    if env.ops.len() > max_ops {
        return Err(BodyError::TooManyOps {
            got: env.ops.len(),
            max: max_ops,
        });
    }
    let mut items = Vec::with_capacity(env.ops.len());
    for (i, raw) in env.ops.iter().enumerate() {
        let bad = |why: String| BodyError::Malformed(format!("ops[{i}]: {why}"));
        if !is_object(raw.get().as_bytes()) {
            return Err(bad("an item is an object {\"op\": …}".into()));
        }
        let item: RawItem<'_> = serde_json::from_str(raw.get()).map_err(|e| bad(e.to_string()))?;
        // A zero effective HLC breaks the envelope's schema (the whole push is refused); one
        // after the op's own HLC is a judgement on that op alone (`classify`).
        if item.effective_hlc == Some(Hlc::ZERO) {
            return Err(bad("effective_hlc must be at least 1".into()));
        }
        items.push(parse_item(item.op.get(), item.effective_hlc));
    }
    Ok(items)
}

/// Whether JSON text is an object (its first non-blank byte is `{`).
fn is_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}
