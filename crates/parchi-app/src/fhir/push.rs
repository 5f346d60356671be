//! Sending the export to the hospital's FHIR server.
//!
//! First the changes to existing Patients, each a version-checked read-modify-write: read the
//! Patient by its UHID, add what it lacks, and `PUT` it back with `If-Match` on the version
//! read, so a change made at the hospital meanwhile is never overwritten (the server answers
//! 412 and the read is repeated). A Patient that already holds everything is not written: a
//! resend changes nothing. Then the transaction Bundles (conditional creates, so a resend
//! creates nothing). A server that is unreachable, answers 429 or 5xx is retried with the
//! sync's backoff, honouring `Retry-After`.

use std::time::Duration;

use parchi_sync::Backoff;
use serde_json::Value;

use super::plan::{PatientUpdate, apply_update};
use crate::counter::{Counter, Result};
use crate::error::AppError;

/// What a push to a FHIR server did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PushSummary {
    pub bundles: usize,
    /// Entries the server created (`201`).
    pub created: usize,
    /// Entries it already held (`200`: the conditional create matched), e.g. on a resend.
    pub existing: usize,
    /// Existing Patients of the hospital changed (identifiers or approved details added).
    pub updated: usize,
    /// Existing Patients that already held everything.
    pub unchanged: usize,
    /// Persons held back, not sent.
    pub held: usize,
}

/// Where to push and how.
#[derive(Clone)]
pub struct FhirTarget {
    /// The server's base URL (transaction Bundles are POSTed to it).
    pub base: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub bearer: Option<String>,
    pub timeout: Duration,
    /// Attempts per request when the server is unreachable or answers 429/5xx.
    pub attempts: u32,
    /// The first retry's delay (doubling, with jitter, up to `max_delay`).
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl std::fmt::Debug for FhirTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirTarget")
            .field("base", &self.base)
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl FhirTarget {
    pub fn new(base: &str) -> Result<FhirTarget> {
        let base = base.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AppError::Invalid(format!(
                "the FHIR server URL must start with http:// or https://, got {base:?}"
            )));
        }
        Ok(FhirTarget {
            base,
            bearer: None,
            timeout: Duration::from_secs(120),
            attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        })
    }
}

/// The server's own words from an OperationOutcome, or the start of its body.
pub(crate) fn outcome_text(body: &[u8]) -> String {
    let text = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            let issues = v.get("issue")?.as_array()?;
            let all: Vec<String> = issues
                .iter()
                .filter_map(|i| {
                    i.get("diagnostics")
                        .or_else(|| i.pointer("/details/text"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect();
            (!all.is_empty()).then(|| all.join("; "))
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    text.chars().take(300).collect()
}

/// Counts a transaction-response Bundle's entries by status; refuses anything else.
fn count_response(
    body: &[u8],
    sent: usize,
    into: &mut PushSummary,
) -> std::result::Result<(), String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    if v["resourceType"] != "Bundle" || v["type"] != "transaction-response" {
        return Err("the answer is not a transaction-response Bundle".into());
    }
    let entries = v["entry"].as_array().map(Vec::as_slice).unwrap_or_default();
    if entries.len() != sent {
        return Err(format!(
            "the answer has {} entries for {sent} sent",
            entries.len()
        ));
    }
    for e in entries {
        let status = e
            .pointer("/response/status")
            .and_then(Value::as_str)
            .unwrap_or("");
        match status.split_whitespace().next() {
            Some("201") => into.created += 1,
            Some("200") => into.existing += 1,
            _ => return Err(format!("an entry came back with status {status:?}")),
        }
    }
    Ok(())
}

/// An answer: status, body, and the `ETag` and `Retry-After` headers.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    etag: Option<String>,
}

/// `Retry-After` in seconds (the HTTP-date form is treated as absent), at most a minute.
fn retry_after(v: Option<&str>) -> Option<Duration> {
    let secs: u64 = v?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

pub(crate) struct Client<'a> {
    agent: ureq::Agent,
    target: &'a FhirTarget,
    seed: u64,
}

pub(crate) enum Method<'b> {
    Get(&'b [(&'b str, String)]),
    Put(&'b [u8], Option<&'b str>),
    Post(&'b [u8]),
}

impl<'a> Client<'a> {
    pub(crate) fn new(target: &'a FhirTarget, seed: u64) -> Client<'a> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(target.timeout))
            .timeout_connect(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .user_agent(format!("parchi/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            target,
            seed: seed | 1,
        }
    }

    /// One request, retried on transport errors, 429 and 5xx. `what` names it in errors.
    pub(crate) fn send(&mut self, path: &str, method: Method<'_>, what: &str) -> Result<Answer> {
        let url = format!("{}{path}", self.target.base);
        self.send_url(&url, method, what)
    }

    /// [`Client::send`] to a whole URL (a search's `next` page).
    pub(crate) fn send_url(&mut self, url: &str, method: Method<'_>, what: &str) -> Result<Answer> {
        let url = url.to_owned();
        let mut backoff = Backoff::new(self.target.base_delay, self.target.max_delay);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let auth = self.target.bearer.as_ref().map(|b| format!("Bearer {b}"));
            let sent = match &method {
                Method::Get(query) => {
                    let mut r = self
                        .agent
                        .get(&url)
                        .header("accept", "application/fhir+json");
                    for (k, v) in *query {
                        r = r.query(*k, v);
                    }
                    if let Some(a) = &auth {
                        r = r.header("authorization", a);
                    }
                    r.call()
                }
                Method::Put(body, if_match) => {
                    let mut r = self
                        .agent
                        .put(&url)
                        .header("content-type", "application/fhir+json")
                        .header("accept", "application/fhir+json");
                    if let Some(m) = if_match {
                        r = r.header("if-match", *m);
                    }
                    if let Some(a) = &auth {
                        r = r.header("authorization", a);
                    }
                    r.send(*body)
                }
                Method::Post(body) => {
                    let mut r = self
                        .agent
                        .post(&url)
                        .header("content-type", "application/fhir+json")
                        .header("accept", "application/fhir+json");
                    if let Some(a) = &auth {
                        r = r.header("authorization", a);
                    }
                    r.send(*body)
                }
            };
            let (why, wait) = match sent {
                Ok(mut resp) => {
                    let header = |n: &str| {
                        resp.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    let etag = header("etag");
                    let wait = retry_after(header("retry-after").as_deref());
                    let status = resp.status().as_u16();
                    let body = resp
                        .body_mut()
                        .with_config()
                        .limit(64 << 20)
                        .read_to_vec()
                        .map_err(|e| AppError::Fhir(format!("{what}: {e}")))?;
                    if status != 429 && status < 500 {
                        return Ok(Answer { status, body, etag });
                    }
                    (
                        format!("{what} refused with {status}: {}", outcome_text(&body)),
                        wait,
                    )
                }
                Err(ureq::Error::BadUri(u)) => {
                    return Err(AppError::Invalid(format!("bad FHIR server URL: {u}")));
                }
                Err(e) => (
                    format!("{what}: cannot reach {}: {e}", self.target.base),
                    None,
                ),
            };
            if attempt >= self.target.attempts {
                return Err(AppError::Fhir(format!(
                    "{why} (after {attempt} attempts; resending is safe)"
                )));
            }
            // Jitter so that many exports retrying after one outage spread out.
            self.seed = self
                .seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = (self.seed >> 11) as f64 / (1u64 << 53) as f64;
            let delay = backoff.next_delay(jitter);
            std::thread::sleep(wait.map_or(delay, |w| w.max(delay)));
        }
    }

    /// Reads the hospital's Patient by UHID, adds what the update carries, writes it back with
    /// `If-Match`; returns whether it changed.
    fn update(&mut self, system: &str, u: &PatientUpdate) -> Result<bool> {
        for _ in 0..5 {
            let query = [("identifier", format!("{system}|{}", u.uhid))];
            let found = self.send(
                "/Patient",
                Method::Get(&query),
                &format!("reading UHID {}", u.uhid),
            )?;
            if found.status != 200 {
                return Err(AppError::Fhir(format!(
                    "reading UHID {} answered {}: {}",
                    u.uhid,
                    found.status,
                    outcome_text(&found.body)
                )));
            }
            let bundle: Value = serde_json::from_slice(&found.body)
                .map_err(|e| AppError::Fhir(format!("reading UHID {}: not JSON: {e}", u.uhid)))?;
            let matches: Vec<&Value> = bundle["entry"]
                .as_array()
                .map(|e| e.iter().filter_map(|x| x.get("resource")).collect())
                .unwrap_or_default();
            let mut patient = match matches.as_slice() {
                [one] => (*one).clone(),
                [] => {
                    return Err(AppError::Fhir(format!(
                        "the hospital's server has no Patient with UHID {}: check the link (parchi link reject …) before exporting",
                        u.uhid
                    )));
                }
                _ => {
                    return Err(AppError::Fhir(format!(
                        "the hospital's server has {} Patients with UHID {}: its index needs cleaning first",
                        matches.len(),
                        u.uhid
                    )));
                }
            };
            if !apply_update(&mut patient, u) {
                return Ok(false);
            }
            let id = patient["id"].as_str().unwrap_or("").to_owned();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(AppError::Fhir(format!(
                    "the Patient with UHID {} has no usable id",
                    u.uhid
                )));
            }
            let version = patient
                .pointer("/meta/versionId")
                .and_then(Value::as_str)
                .map(|v| format!("W/\"{v}\""))
                .or(found.etag);
            let body =
                serde_json::to_vec(&patient).map_err(|e| AppError::Invalid(e.to_string()))?;
            let put = self.send(
                &format!("/Patient/{id}"),
                Method::Put(&body, version.as_deref()),
                &format!("updating UHID {}", u.uhid),
            )?;
            match put.status {
                200 | 201 => return Ok(true),
                // Changed at the hospital since we read it: read again and re-apply.
                409 | 412 => continue,
                s => {
                    return Err(AppError::Fhir(format!(
                        "updating UHID {} refused with {s}: {}",
                        u.uhid,
                        outcome_text(&put.body)
                    )));
                }
            }
        }
        Err(AppError::Fhir(format!(
            "the Patient with UHID {} kept changing at the hospital while Parchi updated it; resending is safe",
            u.uhid
        )))
    }
}

impl Counter {
    /// Sends the export to a FHIR server: changes to existing Patients first, then the
    /// Bundles, in order. Resending after a failure (or twice) creates and changes nothing; a
    /// refusal stops the push with the server's reason.
    pub fn push_fhir(&self, target: &FhirTarget) -> Result<PushSummary> {
        let plan = self.fhir_plan()?;
        let system = self.uhid_system();
        let mut client = Client::new(target, self.now_ms());
        let mut summary = PushSummary {
            held: plan.held.len(),
            ..PushSummary::default()
        };
        for u in &plan.updates {
            if client.update(&system, u)? {
                summary.updated += 1;
            } else {
                summary.unchanged += 1;
            }
        }
        for (i, bundle) in plan.bundles.iter().enumerate() {
            let n = i + 1;
            let sent = bundle["entry"].as_array().map_or(0, Vec::len);
            let bytes = serde_json::to_vec(bundle).map_err(|e| AppError::Invalid(e.to_string()))?;
            let a = client.send("", Method::Post(&bytes), &format!("bundle {n}"))?;
            if !(200..300).contains(&a.status) {
                return Err(AppError::Fhir(format!(
                    "bundle {n} refused with {}: {} ({} bundle(s) before it were accepted, resending is safe)",
                    a.status,
                    outcome_text(&a.body),
                    summary.bundles
                )));
            }
            count_response(&a.body, sent, &mut summary)
                .map_err(|e| AppError::Fhir(format!("bundle {n}: {e}")))?;
            summary.bundles += 1;
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        assert_eq!(retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(Some("9999")), Some(Duration::from_secs(60)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(None), None);
    }
}
