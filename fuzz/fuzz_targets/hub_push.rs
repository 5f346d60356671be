//! The hub's push decoder: `parse_push` (the envelope, strictly) and `parse_item` (each op).
//!
//! Properties:
//! - an accepted body is JSON, holds at most `MAX_OPS` ops, one item per op in order;
//! - an accepted op passes `validate_op`, carries the op ID it was sent with, its hash is the hash
//!   of its canonical JSON, and that canonical JSON decodes to the same op and is a fixpoint
//!   (parsing it again gives the same canonical form and hash);
//! - a rejection that names an op ID names the one in the op as sent;
//! - `TooManyOps` is given only past the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parchi_core::{Op, OpId};
use parchi_hub::engine::{BodyError, Item, parse_item, parse_push, payload_hash};
use parchi_sync::validate::validate_op;
use serde_json::Value;

/// Small, so that the limit is reachable by the fuzzer.
const MAX_OPS: usize = 16;

fn sent_id(raw: Option<&Value>) -> Option<OpId> {
    raw.and_then(|r| r.get("id"))
        .and_then(|id| serde_json::from_value(id.clone()).ok())
}

fn check_item(item: &Item, raw: Option<&Value>) {
    match item {
        Ok(p) => {
            assert!(validate_op(&p.op).is_ok(), "an accepted op fails validation");
            assert!(!p.op.id.0.is_nil(), "an accepted op without an op ID");
            if let Some(raw) = raw {
                assert_eq!(sent_id(Some(raw)), Some(p.op.id), "op ID differs from the one sent");
            }
            assert_eq!(p.hash, payload_hash(&p.canonical), "hash is not of the canonical JSON");
            let back: Op = serde_json::from_str(&p.canonical).expect("canonical JSON decodes");
            assert!(back == p.op, "canonical JSON decodes to another op");
            match parse_item(&p.canonical, p.effective_hlc) {
                Ok(again) => {
                    assert_eq!(again.canonical, p.canonical, "canonical form is no fixpoint");
                    assert_eq!(again.hash, p.hash);
                }
                Err(r) => panic!("canonical JSON of an accepted op is rejected: {}", r.reason),
            }
        }
        Err(rej) => {
            if let (Some(id), Some(_)) = (rej.id, raw) {
                assert_eq!(sent_id(raw), Some(id), "rejection names another op ID");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match parse_push(data, MAX_OPS) {
        Ok(items) => {
            assert!(items.len() <= MAX_OPS);
            let v: Value = match serde_json::from_slice(data) {
                Ok(v) => v,
                // Valid JSON (RFC 8259 sets no range) that serde_json's `Value` cannot hold, in a
                // field the hub skips without reading; anything else is a broken property.
                Err(e) if e.to_string().starts_with("number out of range") => return,
                Err(e) => panic!("an accepted push body is not JSON: {e}"),
            };
            let ops = v
                .get("ops")
                .and_then(Value::as_array)
                .expect("an accepted push has an ops array");
            assert_eq!(ops.len(), items.len(), "one item per op sent");
            for (item, raw) in items.iter().zip(ops) {
                check_item(item, raw.get("op"));
            }
        }
        Err(BodyError::TooManyOps { got, max }) => assert!(got > max && max == MAX_OPS),
        Err(_) => {}
    }
    // The same bytes as a single op.
    if let Ok(text) = std::str::from_utf8(data) {
        let item = parse_item(text, None);
        let raw: Option<Value> = serde_json::from_str(text).ok();
        check_item(&item, raw.as_ref());
    }
});
