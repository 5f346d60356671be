//! Hostile and broken input: each gets the right 4xx with a stable code, and nothing is stored.

use parchi_core::Op;
use parchi_hub::HubConfig;
use parchi_hub::workload::SiteGen;
use parchi_sync::wire::{ErrorCode, Outcome, PushItem, RejectCode, Role};
use parchi_sync::{ClientError, HubClient, MemoryStore, RoundOptions, SyncStore, sync_round};

use crate::common::{ADMIN, Backend, Server, now_ms};

fn small_limits() -> HubConfig {
    HubConfig {
        max_batch_ops: 50,
        max_body_bytes: 64 * 1024,
        ..HubConfig::default()
    }
}

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, ErrorCode) {
    match r.expect_err("must be refused") {
        ClientError::Hub { status, code, .. } => (status, code),
        e => panic!("expected a hub error, got {e}"),
    }
}

struct Fixture {
    server: Server,
    client: HubClient,
    sg: SiteGen,
    device: String,
}

fn fixture() -> Fixture {
    let server = Server::start_with(Backend::Sqlite, small_limits());
    let sg = SiteGen::new(0, 3, now_ms() - 60_000);
    let (client, device) = server.enroll(Role::Counter, sg.site, Some(sg.counter.as_str()));
    Fixture {
        server,
        client,
        sg,
        device,
    }
}

fn body(ops: &[Op]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "version": 1,
        "ops": ops.iter().map(|o| serde_json::json!({"op": o})).collect::<Vec<_>>()
    }))
    .expect("json")
}

type Res = Result<serde_json::Value, ClientError>;

#[test]
fn malformed_truncated_oversized_and_wrong_version_bodies_store_nothing() {
    let mut f = fixture();
    let ops = f.sg.ops(10);
    let good = body(&ops);
    let before = f.server.stats();
    let cases: Vec<(&str, Vec<u8>, u16, ErrorCode)> = vec![
        ("not json", b"{not json".to_vec(), 400, ErrorCode::Malformed),
        ("empty", Vec::new(), 400, ErrorCode::Truncated),
        (
            "cut mid-way",
            good[..good.len() / 2].to_vec(),
            400,
            ErrorCode::Truncated,
        ),
        (
            "missing ops",
            br#"{"version":1}"#.to_vec(),
            400,
            ErrorCode::Malformed,
        ),
        (
            "ops not a list",
            br#"{"version":1,"ops":{}}"#.to_vec(),
            400,
            ErrorCode::Malformed,
        ),
        (
            "version 2",
            String::from_utf8(good.clone())
                .expect("utf8")
                .replacen("\"version\":1", "\"version\":2", 1)
                .into_bytes(),
            400,
            ErrorCode::UnsupportedVersion,
        ),
        (
            "version 0 with junk",
            br#"{"version":0,"ops":7}"#.to_vec(),
            400,
            ErrorCode::UnsupportedVersion,
        ),
        (
            "too many ops",
            body(&f.sg.ops(51)),
            413,
            ErrorCode::TooManyOps,
        ),
        (
            "oversized",
            vec![b' '; 70 * 1024],
            413,
            ErrorCode::PayloadTooLarge,
        ),
    ];
    for (name, bytes, status, code) in cases {
        let r: Res = f.client.post_raw("/v1/push", bytes, None);
        assert_eq!(code_of(r), (status, code), "case {name}");
    }
    assert_eq!(f.server.stats(), before, "nothing stored");
    // The good body still works afterwards.
    let r: Res = f.client.post_raw("/v1/push", good, None);
    r.expect("good push");
    assert_eq!(f.server.stats().ops, before.ops + 10);
}

#[test]
fn credentials_none_wrong_revoked_and_forged_sites_store_nothing() {
    let mut f = fixture();
    let ops = f.sg.ops(5);
    let anon = f.server.client();
    let before = f.server.stats();
    assert_eq!(code_of(anon.push(&ops)), (401, ErrorCode::Unauthorized));
    assert_eq!(
        code_of(anon.clone().with_token("pt_wrong").push(&ops)),
        (401, ErrorCode::Unauthorized)
    );
    assert_eq!(code_of(anon.pull(0, 10)), (401, ErrorCode::Unauthorized));
    // Another counter's ops: forged site.
    let mut other = SiteGen::new(1, 3, now_ms());
    let mut mixed = ops.clone();
    mixed.extend(other.ops(1));
    assert_eq!(
        code_of(f.client.push(&mixed)),
        (403, ErrorCode::ForbiddenSite)
    );
    // A counter may not claim a relay's effective HLC.
    let items: Vec<PushItem> = ops
        .iter()
        .map(|o| PushItem {
            op: o.clone(),
            effective_hlc: Some(o.hlc),
        })
        .collect();
    let r = f.client.push_items(&items).expect("per-op answers");
    assert!(r.results.iter().all(|x| matches!(
        x.outcome,
        Outcome::Rejected {
            code: RejectCode::EffectiveHlcNotAllowed,
            ..
        }
    )));
    assert_eq!(f.server.stats(), before);
    // Revoked.
    f.server
        .client()
        .admin_revoke(ADMIN, &f.device)
        .expect("revoke");
    assert_eq!(code_of(f.client.push(&ops)), (403, ErrorCode::Revoked));
    assert_eq!(code_of(f.client.pull(0, 10)), (403, ErrorCode::Revoked));
    assert_eq!(f.server.stats().ops, before.ops);
    // Enrolment with a bad code.
    let e = f.server.client().enroll("AAAAA-BBBBB", f.sg.site, None);
    assert_eq!(code_of(e), (400, ErrorCode::InvalidEnrollCode));
    assert_eq!(f.server.stats().devices, before.devices);
    // Admin endpoints with a device token.
    assert_eq!(
        code_of(f.client.admin_stats("pt_wrong")),
        (401, ErrorCode::Unauthorized)
    );
}

#[test]
fn replayed_payloads_are_duplicates_and_bad_pull_parameters_are_refused() {
    let mut f = fixture();
    let ops = f.sg.ops(20);
    f.client.push(&ops).expect("push");
    let before = f.server.stats();
    for _ in 0..3 {
        let r = f.client.push(&ops).expect("replay");
        assert!(r.results.iter().all(|x| x.outcome == Outcome::Duplicate));
    }
    assert_eq!(f.server.stats(), before);
    for q in [
        "after=-1",
        "after=abc",
        "limit=0",
        "limit=x",
        "after=99999999999999999999",
    ] {
        let r = f
            .client
            .get_path::<serde_json::Value>(&format!("/v1/pull?{q}"));
        assert_eq!(code_of(r), (400, ErrorCode::BadRequest), "query {q}");
    }
    assert_eq!(f.server.stats(), before);
    let head = before.head;
    assert_eq!(
        code_of(f.client.pull(head + 1, 10)),
        (409, ErrorCode::CursorAhead)
    );
    let r: Res = f.client.post_raw("/v1/no-such-thing", Vec::new(), None);
    assert_eq!(code_of(r), (404, ErrorCode::NotFound));
}

#[test]
fn one_invalid_op_is_rejected_alone_and_never_wedges_the_queue() {
    let mut f = fixture();
    let mut ops = f.sg.ops(30);
    // A name with digits, and an op type from the future, in the middle of the batch.
    let mut bad = serde_json::to_value(&ops[10]).expect("json");
    bad["type"] = "set_field".into();
    bad["patient"] =
        serde_json::to_value(parchi_core::PatientId::from_bytes([7; 16])).expect("json");
    bad["value"] = serde_json::json!({"field": "name", "value": "R2D2"});
    let bad_op: Op = serde_json::from_value(bad).expect("still an op");
    ops[10] = bad_op.clone();

    let mut store = MemoryStore::new(f.sg.site);
    for op in &ops {
        store.record(op.clone());
    }
    let report = sync_round(
        &mut store,
        &f.client,
        &RoundOptions {
            push_batch: 7,
            pull_limit: 100,
            ..RoundOptions::default()
        },
        &mut |_| {},
    )
    .expect("round");
    assert_eq!(report.applied, 29);
    assert_eq!(report.rejected, 1);
    assert_eq!(store.outbox_len(), 0, "the queue flowed past the bad op");
    assert_eq!(store.rejected().len(), 1);
    assert_eq!(store.rejected()[0].id, bad_op.id);
    assert_eq!(store.rejected()[0].code, "invalid_value");
    assert_eq!(f.server.stats().ops, 29);

    // An unknown op type in raw JSON gets a per-op rejection that still names its ID.
    let more = f.sg.ops(2);
    let mut unknown = serde_json::to_value(&more[0]).expect("json");
    unknown["type"] = "teleport_patient".into();
    let raw = serde_json::json!({"version": 1, "ops": [{"op": unknown}, {"op": more[1]}]});
    let r: serde_json::Value = f
        .client
        .post_raw("/v1/push", serde_json::to_vec(&raw).expect("json"), None)
        .expect("per-op answer");
    assert_eq!(r["results"][0]["status"], "rejected");
    assert_eq!(r["results"][0]["code"], "invalid_op");
    assert_eq!(
        r["results"][0]["id"],
        serde_json::to_value(more[0].id).expect("json")
    );
    assert_eq!(r["results"][1]["status"], "applied");
    let _ = store.cursor();
}
