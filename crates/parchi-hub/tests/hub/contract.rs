//! The hub keeps `schemas/hub.openapi.yaml` where schemathesis once found it did not (the whole
//! contract is checked by `scripts/contract-test`): every error body is `{code, message}` JSON,
//! also the ones axum writes itself; `limit` past its maximum, a repeated query parameter and a
//! zero `effective_hlc` are refused whole; a relay without an upstream is a conflict.

use std::io::{Read, Write};
use std::net::TcpStream;

use parchi_sync::wire::Role;

use crate::common::{ADMIN, Backend, Server, site};

/// What a raw HTTP/1.1 exchange answered.
struct Answer {
    status: u16,
    content_type: String,
    allow: Option<String>,
    body: serde_json::Value,
}

/// One request written by hand, so the test controls what a client library would tidy up
/// (repeated parameters, broken percent-encoding, odd methods).
fn raw(url: &str, method: &str, target: &str, bearer: Option<&str>, body: &str) -> Answer {
    let addr = url.strip_prefix("http://").expect("http URL");
    let mut s = TcpStream::connect(addr).expect("connect");
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let text = String::from_utf8(out).expect("utf-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    Answer {
        status,
        content_type: header("content-type").unwrap_or_default(),
        allow: header("allow"),
        body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    }
}

/// Asserts a JSON error answer with this status and code.
fn assert_error(a: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(a.status, status, "{what}: status");
    assert_eq!(a.content_type, "application/json", "{what}: content type");
    assert_eq!(a.body["code"], code, "{what}: code in {}", a.body);
    assert!(
        a.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: a message in {}",
        a.body
    );
}

fn counter(server: &Server) -> String {
    let (client, _) = server.enroll(Role::Counter, site(7), Some("A"));
    client.token().expect("token").to_owned()
}

#[test]
fn a_repeated_query_parameter_gets_a_json_400() {
    let server = Server::start(Backend::Sqlite);
    let token = counter(&server);
    for target in ["/v1/pull?after=1&after=2", "/v1/mirror?limit=5&limit=6"] {
        let a = raw(&server.url, "GET", target, Some(&token), "");
        assert_error(&a, 400, "bad_request", target);
    }
}

#[test]
fn limit_past_its_documented_maximum_is_refused() {
    let server = Server::start(Backend::Sqlite);
    let token = counter(&server);
    for path in ["/v1/pull", "/v1/mirror"] {
        for bad in ["10001", "0", "4294967296", "-1"] {
            let target = format!("{path}?limit={bad}");
            let a = raw(&server.url, "GET", &target, Some(&token), "");
            assert_error(&a, 400, "bad_request", &target);
        }
        let target = format!("{path}?limit=10000");
        let a = raw(&server.url, "GET", &target, Some(&token), "");
        assert_eq!(a.status, 200, "{target}: {}", a.body);
    }
}

#[test]
fn a_relay_without_an_upstream_is_a_conflict() {
    let server = Server::start(Backend::Sqlite);
    let a = raw(&server.url, "POST", "/v1/admin/relay", Some(ADMIN), "");
    assert_error(&a, 409, "bad_request", "relay");
}

#[test]
fn a_malformed_enroll_code_request_gets_a_json_400() {
    let server = Server::start(Backend::Sqlite);
    let a = raw(
        &server.url,
        "POST",
        "/v1/admin/enroll-codes",
        Some(ADMIN),
        r#"{"role":"printer"}"#,
    );
    assert_error(&a, 400, "malformed", "enroll code");
}

#[test]
fn a_zero_effective_hlc_refuses_the_whole_push_and_stores_nothing() {
    let server = Server::start(Backend::Sqlite);
    let token = counter(&server);
    let before = server.stats();
    let body = r#"{"version":1,"ops":[{"op":{},"effective_hlc":0}]}"#;
    let a = raw(&server.url, "POST", "/v1/push", Some(&token), body);
    assert_error(&a, 400, "malformed", "zero effective_hlc");
    assert_eq!(server.stats(), before);
}

#[test]
fn axum_s_own_rejections_and_fallbacks_answer_json() {
    let server = Server::start(Backend::Sqlite);
    let a = raw(&server.url, "GET", "/v1/no-such-thing", None, "");
    assert_error(&a, 404, "not_found", "unknown path");
    let a = raw(&server.url, "DELETE", "/v1/push", None, "");
    assert_error(&a, 405, "not_found", "wrong method");
    assert_eq!(
        a.allow.as_deref(),
        Some("POST"),
        "405 names the allowed method"
    );
    let a = raw(
        &server.url,
        "POST",
        "/v1/admin/devices/%FF%FE/revoke",
        Some(ADMIN),
        "",
    );
    assert_error(&a, 400, "bad_request", "path not UTF-8");
}

#[test]
fn a_nil_site_is_refused_at_enrolment() {
    let server = Server::start(Backend::Sqlite);
    let client = server.client();
    let code = client
        .admin_enroll_code(ADMIN, Role::Counter, None)
        .expect("code");
    let body = format!(
        r#"{{"version":1,"code":"{}","site":"00000000-0000-0000-0000-000000000000"}}"#,
        code.code
    );
    let a = raw(&server.url, "POST", "/v1/enroll", None, &body);
    assert_error(&a, 400, "bad_request", "nil site");
}
