//! Search as you type: identifiers exactly or by prefix, names tolerant of misspelling.

use parchi_core::names;
use parchi_core::patient::{AbhaAddress, AbhaNumber, Mobile};
use parchi_core::{PatientId, TempId, Uhid};
use rusqlite::{OptionalExtension, params};

use crate::records::{Hit, MatchKind, PATIENT_COLS, PatientRecord, patient_from_row};
use crate::{Result, Store, StoreError};

/// Longest a query may be; anything longer is no name or ID anyone types.
const MAX_QUERY_CHARS: usize = 100;
/// How many name-search candidates of Parchi's own patients are scored before ranking.
const NAME_CANDIDATES: usize = 300;
/// How many of the mirror's: a common name there has thousands of namesakes, each candidate
/// is a read of a wide row, and namesakes past the newest hundred tell the clerk nothing more.
const MIRROR_NAME_CANDIDATES: usize = 100;
/// A best strict-key match at least this good ends the name search early.
const STRICT_GOOD_ENOUGH: f64 = 0.85;

impl Store {
    /// Search as you type: exact by mobile, temporary ID, UHID, ABHA number or address (and by
    /// prefix while a mobile or ID is being typed); otherwise by name, tolerant of misspelling,
    /// ranked best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>> {
        let hits = self.search_records(query, limit)?;
        self.survivors(hits)
    }

    /// Hits with each merged record replaced by its person's surviving record, once.
    fn survivors(&self, hits: Vec<Hit>) -> Result<Vec<Hit>> {
        if hits.iter().all(|h| h.patient.merged_into.is_none()) {
            return Ok(hits);
        }
        // A merged record stands for its person: show the surviving record once.
        let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
        for h in hits {
            let patient = self.survivor_of(h.patient)?;
            if !out.iter().any(|o| o.patient.id == patient.id) {
                out.push(Hit { patient, ..h });
            }
        }
        Ok(out)
    }

    fn search_records(&self, query: &str, limit: usize) -> Result<Vec<Hit>> {
        let exact = |kind, recs: Vec<PatientRecord>| -> Vec<Hit> {
            recs.into_iter()
                .map(|patient| Hit {
                    patient,
                    matched: kind,
                    score: 1.0,
                })
                .collect()
        };
        let prefix = |col: &str, p: &str| -> Result<Vec<PatientRecord>> {
            let mut qy = self.conn.prepare_cached(&format!(
                "SELECT {PATIENT_COLS} FROM patients WHERE {col} >= ?1 AND {col} < ?2 ORDER BY {col} LIMIT ?3"
            ))?;
            let rows = qy.query_map(
                params![p, prefix_upper_bound(p), limit as i64],
                patient_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        Ok(match classify(query, limit)? {
            Query::Nothing => Vec::new(),
            Query::PatientId(id) => exact(
                MatchKind::PatientId,
                self.patient(id)?.into_iter().collect(),
            ),
            Query::AbhaAddress(a) => exact(
                MatchKind::AbhaAddress,
                self.patients_where("abha_address = ?1", a.as_str(), limit)?,
            ),
            Query::Mobile(m) => exact(
                MatchKind::Mobile,
                self.patients_where("mobile = ?1", m.as_str(), limit)?,
            ),
            Query::AbhaNumber(a) => exact(
                MatchKind::AbhaNumber,
                self.patients_where("abha_number = ?1", a.as_str(), limit)?,
            ),
            Query::MobilePrefix(digits) => exact(MatchKind::Mobile, prefix("mobile", &digits)?),
            Query::Identifier { temp, uhid, canon } => {
                if let Some(t) = temp {
                    return Ok(exact(
                        MatchKind::TempId,
                        self.patients_where("temp_id = ?1", t.as_str(), limit)?,
                    ));
                }
                if let Some(u) = uhid {
                    let hits = self.patients_where("uhid = ?1", u.as_str(), limit)?;
                    if !hits.is_empty() {
                        return Ok(exact(MatchKind::Uhid, hits));
                    }
                }
                if canon.len() >= 3 {
                    exact(MatchKind::TempId, prefix("temp_id", &canon)?)
                } else {
                    Vec::new()
                }
            }
            Query::Name(q) => self.search_name(&q, limit)?,
        })
    }

    fn search_name(&self, q: &str, limit: usize) -> Result<Vec<Hit>> {
        // Names committed without their keys yet (by any connection) are indexed first: a
        // search never misses a committed patient.
        self.catch_up_names()?;
        let ranked = self.rank_names(NameIndex::Patients, q)?;
        self.name_hits(ranked, limit)
    }

    /// The patients of ranked name candidates, at most `limit`, best first.
    fn name_hits(&self, mut ranked: Vec<(f64, i64)>, limit: usize) -> Result<Vec<Hit>> {
        ranked.truncate(limit);
        let mut hits = Vec::with_capacity(ranked.len());
        let mut qy = self.conn.prepare_cached(&format!(
            "SELECT {PATIENT_COLS} FROM patients WHERE rowid = ?1"
        ))?;
        for (score, rowid) in ranked {
            if let Some(patient) = qy.query_row([rowid], patient_from_row).optional()? {
                hits.push(Hit {
                    patient,
                    matched: MatchKind::Name,
                    score,
                });
            }
        }
        // Equal scores: the patient seen most recently first.
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| b.patient.last_visit.cmp(&a.patient.last_visit))
                .then_with(|| b.patient.created_hlc.cmp(&a.patient.created_hlc))
        });
        Ok(hits)
    }

    /// [`Store::search`] and [`Store::mirror_search`] of one query together. A name is
    /// looked for in both indexes pass by pass ([`Store::rank_names_jointly`]), so a good
    /// match in one spares the other its costlier passes.
    pub fn search_with_mirror(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<(Vec<Hit>, Vec<crate::mirror::MirrorHit>)> {
        let Query::Name(q) = classify(query, limit)? else {
            return Ok((
                self.search(query, limit)?,
                self.mirror_search(query, limit)?,
            ));
        };
        self.catch_up_names()?;
        let mut ranked = self.rank_names_jointly(&[NameIndex::Patients, NameIndex::Mirror], &q)?;
        let mirror = ranked.pop().unwrap_or_default();
        let own = ranked.pop().unwrap_or_default();
        let own = self.survivors(self.name_hits(own, limit)?)?;
        Ok((own, self.mirror_name_hits(mirror, limit)?))
    }

    /// Name candidates from one name index, best first, as (score, rowid); see
    /// [`Store::rank_names_jointly`].
    pub(crate) fn rank_names(&self, index: NameIndex, q: &str) -> Result<Vec<(f64, i64)>> {
        Ok(self
            .rank_names_jointly(&[index], q)?
            .pop()
            .unwrap_or_default())
    }

    /// Name candidates from each of `indexes`, best first, as (score, rowid).
    ///
    /// Cheapest first, each pass only when the ones before found nothing good in any of the
    /// indexes (a good match in one makes the others' costlier candidates rank below it): the
    /// pairs of sound keys a full name is also indexed under (every pair must be there, each
    /// list is short); one slip in the first or last name (an OR of short pair lists); then
    /// per-token groups of tokens, sound keys and initials (longer lists); for Parchi's own
    /// patients also the deletion neighbours of each sound key (one more slip, the longest
    /// lists). The mirror of the hospital's index (millions of records) leaves out that last
    /// pass, and its token groups leave out the tokens half the names carry (Kumar, Devi…),
    /// which cost the most to intersect and tell least.
    pub(crate) fn rank_names_jointly(
        &self,
        indexes: &[NameIndex],
        q: &str,
    ) -> Result<Vec<Vec<(f64, i64)>>> {
        let qt = names::tokens(q);
        let good = |r: &Vec<(f64, i64)>| r.first().is_some_and(|(s, _)| *s >= STRICT_GOOD_ENOUGH);
        let mut ranked: Vec<Vec<(f64, i64)>> = vec![Vec::new(); indexes.len()];
        // The cheap passes in every index, then the small indexes' costly ones, then the
        // mirror's (its token groups run over millions of records).
        let large = |i: &usize| matches!(indexes[*i], NameIndex::Mirror);
        let all = 0..indexes.len();
        let mut steps: Vec<(Pass, usize)> = Vec::new();
        for pass in [Pass::Pairs, Pass::Slips] {
            steps.extend(all.clone().map(|i| (pass, i)));
        }
        for i in all.clone().filter(|i| !large(i)) {
            steps.extend([(Pass::Strict, i), (Pass::Wide, i)]);
        }
        steps.extend(all.filter(large).map(|i| (Pass::Strict, i)));
        // Each pass's FTS groups, made the first time a step needs them.
        let mut made: [Option<Vec<Vec<String>>>; 4] = Default::default();
        let mut spelt = vec![false; indexes.len()];
        for (pass, i) in steps {
            if pass != Pass::Pairs && ranked.iter().any(good) {
                break;
            }
            let groups = made[pass as usize].get_or_insert_with(|| match pass {
                Pass::Pairs => names::pair_terms(q).into_iter().map(|t| vec![t]).collect(),
                Pass::Slips => {
                    let slips = names::slip_pair_terms(q);
                    if slips.is_empty() {
                        Vec::new()
                    } else {
                        vec![slips]
                    }
                }
                Pass::Strict => names::query_groups(q, true, false),
                Pass::Wide => names::query_groups(q, true, true),
            });
            let candidates = if pass == Pass::Strict && large(&i) {
                let mut groups = groups.clone();
                drop_common(&mut groups, &qt);
                self.name_candidates(indexes[i], &groups, &qt)?
            } else {
                self.name_candidates(indexes[i], groups, &qt)?
            };
            // A full list is the newest namesakes only: those who merely sound alike may have
            // crowded out the names spelt as typed, so these are looked for too, once. Only
            // the spelt tokens: a pass's wide OR groups beside them would have FTS walk every
            // list to its end whenever few names match exactly.
            let full = candidates.len() >= indexes[i].candidates();
            merge_ranked(&mut ranked[i], candidates);
            if full && !spelt[i] {
                spelt[i] = true;
                let exact = self.name_candidates(indexes[i], &spelt_groups(&qt), &qt)?;
                merge_ranked(&mut ranked[i], exact);
            }
        }
        Ok(ranked)
    }

    /// Scores the records an FTS query over `groups` finds; best first, as (score, rowid).
    fn name_candidates(
        &self,
        index: NameIndex,
        groups: &[Vec<String>],
        qt: &[String],
    ) -> Result<Vec<(f64, i64)>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let fts = groups
            .iter()
            .map(|g| format!("({})", g.join(" OR ")))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut qy = self.conn.prepare_cached(index.candidates_sql())?;
        let rows = qy.query_map(params![fts, index.candidates() as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (rowid, name) = row?;
            out.push((names::score_tokens(qt, &names::tokens(&name), true), rowid));
        }
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        Ok(out)
    }
}

/// The passes of a name search, cheapest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    Pairs,
    Slips,
    Strict,
    Wide,
}

/// Tokens so many names carry that requiring them costs a long intersection and narrows little.
const COMMON_TOKENS: [&str; 12] = [
    "kumar", "kumari", "devi", "lal", "prasad", "singh", "kaur", "khatun", "khatoon", "begum",
    "mohammad", "bibi",
];

/// Drops the groups of very common tokens, as long as another group remains.
fn drop_common(groups: &mut Vec<Vec<String>>, tokens: &[String]) {
    if groups.len() != tokens.len() {
        return;
    }
    let keep: Vec<bool> = tokens
        .iter()
        .map(|t| !COMMON_TOKENS.contains(&t.as_str()))
        .collect();
    if keep.iter().any(|k| *k) {
        let mut i = 0;
        groups.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
}

/// One group per query token, each the token as spelt: what an index holds for a name spelt
/// exactly as typed.
fn spelt_groups(tokens: &[String]) -> Vec<Vec<String>> {
    tokens
        .iter()
        .map(|t| match t.len() {
            1 => vec![format!("s{t}")],
            _ => vec![format!("n{t}")],
        })
        .collect()
}

/// Adds candidates not already ranked, keeping best-first order.
fn merge_ranked(ranked: &mut Vec<(f64, i64)>, more: Vec<(f64, i64)>) {
    for m in more {
        if !ranked.iter().any(|(_, r)| *r == m.1) {
            ranked.push(m);
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
}

/// The smallest string greater than every string starting with `prefix` (ASCII).
pub(crate) fn prefix_upper_bound(prefix: &str) -> String {
    let mut s = prefix.to_owned();
    s.push('\u{7f}');
    s
}

/// Which name index a search reads: the Parchi patients, or the mirror of the hospital's index.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NameIndex {
    Patients,
    Mirror,
}

impl NameIndex {
    fn candidates(self) -> usize {
        match self {
            NameIndex::Patients => NAME_CANDIDATES,
            NameIndex::Mirror => MIRROR_NAME_CANDIDATES,
        }
    }

    fn candidates_sql(self) -> &'static str {
        match self {
            NameIndex::Patients => {
                "SELECT p.rowid, p.name FROM patients p WHERE p.rowid IN
                    (SELECT rowid FROM patient_fts WHERE patient_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2)"
            }
            NameIndex::Mirror => {
                "SELECT m.rowid, m.name FROM mirror m WHERE m.rowid IN
                    (SELECT rowid FROM mirror_fts WHERE mirror_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2)"
            }
        }
    }
}

/// What a search text is, decided once for every index searched.
pub(crate) enum Query {
    Nothing,
    PatientId(PatientId),
    AbhaAddress(AbhaAddress),
    Mobile(Mobile),
    AbhaNumber(AbhaNumber),
    /// A mobile number being typed (4 to 9 digits).
    MobilePrefix(String),
    /// A temporary ID or UHID, complete or being typed: `canon` is the text as a temporary ID
    /// prefix (separators dropped, look-alike characters normalised).
    Identifier {
        temp: Option<TempId>,
        uhid: Option<Uhid>,
        canon: String,
    },
    Name(String),
}

/// Classifies a search text; refuses one longer than anyone types.
pub(crate) fn classify(query: &str, limit: usize) -> Result<Query> {
    let q = query.trim();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(StoreError::Invalid(format!(
            "search text is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    if q.is_empty() || limit == 0 {
        return Ok(Query::Nothing);
    }
    if let Ok(id) = q.parse::<PatientId>() {
        return Ok(Query::PatientId(id));
    }
    if q.contains('@') {
        return Ok(AbhaAddress::parse(q).map_or(Query::Nothing, Query::AbhaAddress));
    }
    let digits: String = q
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '+' | '(' | ')'))
        .collect();
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(m) = Mobile::parse(q) {
            return Ok(Query::Mobile(m));
        }
        if let Ok((a, _)) = AbhaNumber::parse(q) {
            return Ok(Query::AbhaNumber(a));
        }
        if digits.len() >= 4 && digits.len() < 10 {
            return Ok(Query::MobilePrefix(digits));
        }
        return Ok(Query::Nothing);
    }
    if q.bytes().any(|b| b.is_ascii_digit()) {
        let canon: String = q
            .bytes()
            .filter(|b| !matches!(b, b'-' | b' '))
            .map(|b| parchi_core::code::normalise_char(b) as char)
            .collect();
        return Ok(Query::Identifier {
            temp: TempId::parse(q).ok(),
            uhid: Uhid::parse(q).ok(),
            canon,
        });
    }
    Ok(Query::Name(q.to_owned()))
}
