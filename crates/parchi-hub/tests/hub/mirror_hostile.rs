//! Hostile input to the mirror's routes: each gets its 4xx as JSON, names no patient value, and
//! stores nothing.

use parchi_core::Uhid;
use parchi_hub::workload::CentralGen;
use parchi_sync::ClientError;
use parchi_sync::wire::{ErrorCode, MirrorStatus, Role};

use crate::common::{ADMIN, Server, site};
use crate::mirror::{BACKENDS, code_of, import};

type Res = Result<serde_json::Value, ClientError>;

/// A hostile request: name, body, secret, then the status, code and words the answer must have.
type Case<'a> = (&'a str, Vec<u8>, Option<&'a str>, u16, ErrorCode, &'a str);

#[test]
fn hostile_mirror_input_gets_a_json_error_and_stores_nothing() {
    for backend in BACKENDS {
        let server = Server::start(backend);
        let admin = server.client();
        let (device, _) = server.enroll(Role::Counter, site(2), Some("B"));
        let mut g = CentralGen::new(5, "DHP");
        let good = g.records(5);
        let body = |run: &str, records: &serde_json::Value| {
            serde_json::to_vec(&serde_json::json!({"run": run, "records": records})).expect("json")
        };
        let good_json = serde_json::to_value(&good).expect("json");
        let mut digits = good_json.clone();
        digits[3]["name"] = "R4m 5ecret".into();
        let mut mobile_number = good_json.clone();
        mobile_number[2]["mobile"] = serde_json::json!(9_876_543_210u64);
        let too_many =
            serde_json::to_value(CentralGen::new(6, "MNY").records(10_001)).expect("json");
        let whole = body("run-good-0001", &good_json);
        let post = |bytes: Vec<u8>, secret: Option<&str>| -> Res {
            admin.post_raw("/v1/admin/mirror", bytes, secret)
        };
        let cases: Vec<Case<'_>> = vec![
            (
                "not json",
                b"{not json".to_vec(),
                Some(ADMIN),
                400,
                ErrorCode::Malformed,
                "",
            ),
            (
                "empty",
                Vec::new(),
                Some(ADMIN),
                400,
                ErrorCode::Truncated,
                "",
            ),
            (
                "cut mid-way",
                whole[..whole.len() / 2].to_vec(),
                Some(ADMIN),
                400,
                ErrorCode::Truncated,
                "",
            ),
            (
                "digits in a name",
                body("run-bad-00001", &digits),
                Some(ADMIN),
                400,
                ErrorCode::BadRequest,
                "record 3: name",
            ),
            (
                "a mobile as a number",
                body("run-bad-00002", &mobile_number),
                Some(ADMIN),
                400,
                ErrorCode::Malformed,
                "record 2",
            ),
            (
                "no records",
                body("run-bad-00003", &serde_json::json!([])),
                Some(ADMIN),
                400,
                ErrorCode::BadRequest,
                "records",
            ),
            (
                "a bad run",
                body("x y", &good_json),
                Some(ADMIN),
                400,
                ErrorCode::BadRequest,
                "run",
            ),
            (
                "10001 records",
                body("run-bad-00004", &too_many),
                Some(ADMIN),
                413,
                ErrorCode::TooManyRecords,
                "",
            ),
            (
                "17 MiB",
                vec![b' '; 17 * 1024 * 1024],
                Some(ADMIN),
                413,
                ErrorCode::PayloadTooLarge,
                "",
            ),
            (
                "no credential",
                whole.clone(),
                None,
                401,
                ErrorCode::Unauthorized,
                "",
            ),
            (
                "a wrong secret",
                whole.clone(),
                Some("not-the-secret"),
                401,
                ErrorCode::Unauthorized,
                "",
            ),
        ];
        for (name, bytes, secret, status, code, says) in cases {
            let (s, c, message) = code_of(post(bytes, secret));
            assert_eq!((s, c), (status, code), "{backend:?}: {name}: {message}");
            assert!(message.contains(says), "{name}: {message}");
            for secret_bit in ["5ecret", "9876543210"] {
                assert!(
                    !message.contains(secret_bit),
                    "{name} echoes a value: {message}"
                );
            }
        }
        // A device credential is not the admin secret.
        let r: Res = device.post_raw("/v1/admin/mirror", whole.clone(), None);
        assert_eq!(code_of(r).1, ErrorCode::Unauthorized);
        let empty = MirrorStatus::default();
        assert_eq!(admin.admin_mirror_status(ADMIN).expect("status"), empty);
        let p = device.pull_mirror(0, 100, None).expect("pull");
        assert!(
            p.records.is_empty() && p.head == 0,
            "{backend:?}: nothing stored"
        );

        // The device side: no or a wrong credential, bad parameters, a cursor from elsewhere.
        let anon = server.client();
        assert_eq!(
            code_of(anon.pull_mirror(0, 10, None)).1,
            ErrorCode::Unauthorized
        );
        let admin_as_device = server.client().with_token(ADMIN);
        assert_eq!(
            code_of(admin_as_device.pull_mirror(0, 10, None)).1,
            ErrorCode::Unauthorized
        );
        for q in [
            "after=-1",
            "after=abc",
            "limit=0",
            "limit=x",
            "seen_since=2024-13-01",
            "seen_since=yesterday",
            "after=1&after=2",
        ] {
            let r = device.get_path::<serde_json::Value>(&format!("/v1/mirror?{q}"));
            let (s, c, _) = code_of(r);
            assert_eq!((s, c), (400, ErrorCode::BadRequest), "{backend:?}: {q}");
        }
        import(&admin, "run-good-0001", &good);
        let (s, c, _) = code_of(device.pull_mirror(6, 10, None));
        assert_eq!((s, c), (409, ErrorCode::CursorAhead));

        // "done" and the UHID blocks refuse what they cannot take, and store nothing.
        let before = admin.admin_mirror_status(ADMIN).expect("status");
        for bytes in [
            br#"{"run":"run-good-0001","as_of":"yesterday"}"#.to_vec(),
            br#"{"run":"short","as_of":"2026-05-01T06:00:00Z"}"#.to_vec(),
            br#"{"run":"run-good-0001"}"#.to_vec(),
            br#"{"run":"run-good-0001","as_of":"2026-05-01T06:00:00Z","fhir_since":"x"}"#.to_vec(),
        ] {
            let r: Res = admin.post_raw("/v1/admin/mirror/done", bytes, Some(ADMIN));
            assert_eq!(code_of(r).0, 400);
        }
        let r: Res = admin.post_raw(
            "/v1/admin/mirror/done",
            br#"{"run":"run-good-0001","as_of":"2026-05-01T06:00:00Z"}"#.to_vec(),
            None,
        );
        assert_eq!(code_of(r).0, 401);
        assert_eq!(admin.admin_mirror_status(ADMIN).expect("status"), before);
        let u = |s: &str| Uhid::parse(s).expect("uhid");
        admin
            .admin_uhid_block_add(ADMIN, &u("DT0100"), &u("DT0199"))
            .expect("a block");
        for (f, t) in [
            ("DT0150", "DT0250"),
            ("DT0050", "DT0100"),
            ("DT0199", "DT0100"),
            ("DT0200", "DX0299"),
            ("DT0200", "DT00299"),
        ] {
            let (s, c, _) = code_of(admin.admin_uhid_block_add(ADMIN, &u(f), &u(t)));
            assert_eq!((s, c), (400, ErrorCode::BadRequest), "{f}..{t}");
        }
        let r: Res = admin.post_raw("/v1/admin/uhid-blocks", b"[]".to_vec(), Some(ADMIN));
        assert_eq!(code_of(r).1, ErrorCode::Malformed);
        let (s, c, _) = code_of(admin.admin_uhid_blocks("wrong"));
        assert_eq!((s, c), (401, ErrorCode::Unauthorized));
        assert_eq!(
            admin.admin_uhid_blocks(ADMIN).expect("blocks").blocks.len(),
            1
        );
        server.stop();
    }
}
