//! Name keys for search and duplicate detection, tuned to Indian names as clerks type them.
//!
//! The same person arrives as "Mohd. Irfan", "Mohammad Irfan" and "Md Irfan"; as "Suneeta",
//! "Sunita" and "Snita"; as "R. K. Sharma" and "Ram Kumar Sharma"; as "सुनीता" on one counter and
//! "Sunita" on another. The keys here make those meet:
//!
//! - [`tokens`]: lower case, Indic scripts transliterated to Latin, honorifics dropped, common
//!   abbreviations expanded (Mohd/Md → muhammad, Kr → kumar).
//! - [`phonetic`]: aspirates folded (bh→b, kh→k, sh→s …), v/w→b, z→j, x→ks, doubled letters and
//!   vowels after the first letter dropped: `suneeta`, `sunita` and `snita` all give `snt`.
//! - one-deletion neighbours of the phonetic key, so one more typing slip still meets.
//!
//! [`index_terms`] is what a record is indexed under; [`query_groups`] is what a typed query looks
//! for (each inner list is OR'ed; the groups are AND'ed); [`score`] ranks what comes back.

/// Honorifics and fillers that say nothing about who the person is.
const STOP: &[&str] = &[
    "smt", "shri", "sri", "shrimati", "mr", "mrs", "ms", "miss", "dr", "late", "km", "kum",
];

/// Abbreviations and spellings folded onto one form.
fn canonical(t: &str) -> &str {
    match t {
        "md" | "mohd" | "mohammad" | "mohammed" | "mohamed" | "mohamad" | "muhammed"
        | "muhamad" | "mohmad" | "mohmmad" | "muhammad" | "mahammad" | "mhd" => "muhammad",
        "kr" | "kmr" | "kumaar" => "kumar",
        "pd" | "prashad" | "persad" => "prasad",
        "ch" | "chd" => "chand",
        "sk" | "shk" => "shaikh",
        "bhai" | "bhāi" => "bhai",
        other => other,
    }
}

/// Latin for the consonants of an ISCII-ordered Indic block (offsets 0x15..=0x39), without the
/// inherent vowel. Devanagari and Bengali share this layout.
const CONSONANTS: [&str; 37] = [
    "k", "kh", "g", "gh", "n", "ch", "chh", "j", "jh", "n", "t", "th", "d", "dh", "n", "t", "th",
    "d", "dh", "n", "n", "p", "ph", "b", "bh", "m", "y", "r", "r", "l", "l", "l", "v", "sh", "sh",
    "s", "h",
];

/// Independent vowels (offsets 0x05..=0x14) and vowel signs (0x3E..=0x4C).
fn vowel(off: u32) -> Option<&'static str> {
    Some(match off {
        0x05 | 0x06 | 0x3E => "a",
        0x07 | 0x08 | 0x3F | 0x40 => "i",
        0x09 | 0x0A | 0x41 | 0x42 => "u",
        0x0B | 0x43 | 0x44 => "ri",
        0x0C => "li",
        0x0D..=0x0F | 0x45..=0x47 => "e",
        0x10 | 0x48 => "ai",
        0x11..=0x13 | 0x49..=0x4B => "o",
        0x14 | 0x4C => "au",
        _ => return None,
    })
}

/// Transliterates Indic letters to rough Latin; other characters pass through lower-cased.
pub fn transliterate(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // True while the last consonant still carries its inherent `a`.
    let mut pending_a = false;
    let flush = |out: &mut String, pending: &mut bool| {
        if *pending {
            out.push('a');
            *pending = false;
        }
    };
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let cp = c as u32;
        if !(0x0900..=0x0DFF).contains(&cp) {
            // Schwa deletion: a word-final inherent `a` is not pronounced (राम → ram).
            pending_a = false;
            out.extend(c.to_lowercase());
            continue;
        }
        let off = cp & 0x7F;
        match off {
            0x15..=0x39 => {
                flush(&mut out, &mut pending_a);
                out.push_str(CONSONANTS[(off - 0x15) as usize]);
                pending_a = true;
            }
            0x5C..=0x5F => {
                // Nukta forms (ड़ ढ़ य़ …) and Bengali's extra letters.
                flush(&mut out, &mut pending_a);
                out.push_str(match off {
                    0x5C | 0x5D => "r",
                    _ => "y",
                });
                pending_a = true;
            }
            0x4E if cp == 0x09CE => {
                flush(&mut out, &mut pending_a);
                out.push('t'); // Bengali khanda ta
            }
            0x4D => pending_a = false, // virama: no vowel
            0x01 | 0x02 => {
                flush(&mut out, &mut pending_a);
                out.push('n');
            }
            0x03 => {
                flush(&mut out, &mut pending_a);
                out.push('h');
            }
            0x3C | 0x3D => {}
            _ => {
                if let Some(v) = vowel(off) {
                    if (0x3E..=0x4C).contains(&off) {
                        pending_a = false; // a vowel sign replaces the inherent a
                    } else {
                        flush(&mut out, &mut pending_a);
                    }
                    out.push_str(v);
                }
            }
        }
        let next_is_indic_letter = chars
            .get(i + 1)
            .is_some_and(|n| (0x0900..=0x0DFF).contains(&(*n as u32)));
        if pending_a && !next_is_indic_letter {
            pending_a = false; // word end
        }
    }
    out
}

/// The name's tokens: transliterated, lower-case ASCII letters, honorifics dropped, abbreviations
/// expanded.
pub fn tokens(name: &str) -> Vec<String> {
    transliterate(name)
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|t| !t.is_empty())
        .filter(|t| !STOP.contains(t))
        .map(|t| canonical(t).to_owned())
        .collect()
}

/// A sound key for one token (see the module docs).
pub fn phonetic(token: &str) -> String {
    let t = token.to_ascii_lowercase();
    let mut s = String::with_capacity(t.len());
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let (out, used): (&str, usize) = if rest.starts_with(b"ksh") {
            ("ks", 3)
        } else if rest.starts_with(b"chh") {
            ("C", 3)
        } else if rest.starts_with(b"ch") {
            ("C", 2)
        } else if rest.starts_with(b"ph") {
            ("f", 2)
        } else if rest.len() >= 2 && rest[1] == b'h' && b"bkgtdsj".contains(&rest[0]) {
            (std::str::from_utf8(&rest[..1]).unwrap_or(""), 2)
        } else {
            let c = rest[0];
            let mapped = match c {
                b'x' => "ks",
                b'q' | b'c' => "k",
                b'z' => "j",
                b'v' | b'w' => "b",
                b'h' if i > 0 => "",
                b'a' | b'e' | b'i' | b'o' | b'u' | b'y' => {
                    if i == 0 {
                        "a"
                    } else {
                        ""
                    }
                }
                _ => std::str::from_utf8(&rest[..1]).unwrap_or(""),
            };
            (mapped, 1)
        };
        s.push_str(out);
        i += used;
    }
    let mut key = String::with_capacity(s.len());
    for ch in s.chars() {
        let ch = if ch == 'C' { 'c' } else { ch };
        if !key.ends_with(ch) {
            key.push(ch);
        }
    }
    key
}

/// The keys one-deletion away from `key`.
fn deletions(key: &str) -> Vec<String> {
    let mut out: Vec<String> = (0..key.len())
        .map(|i| format!("{}{}", &key[..i], &key[i + 1..]))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Keys shorter than this get no deletion neighbours: they would match half the register.
const MIN_KEY_FOR_DELETIONS: usize = 3;

/// The terms a name is indexed under, space-separated (for an FTS column).
///
/// `n<token>` the token; `p<key>` its sound key; `d<key>` each deletion neighbour of the sound key;
/// `i<c>` its first letter (so an initial typed in a query finds it); `s<c>` when the token *is* an
/// initial (so a full name typed in a query finds a record written with initials).
pub fn index_terms(name: &str) -> String {
    let mut terms: Vec<String> = Vec::new();
    for t in tokens(name) {
        let first = &t[..1];
        if t.len() == 1 {
            terms.push(format!("s{first}"));
            terms.push(format!("i{first}"));
            continue;
        }
        let p = phonetic(&t);
        terms.push(format!("n{t}"));
        terms.push(format!("i{first}"));
        if p.len() >= MIN_KEY_FOR_DELETIONS {
            terms.extend(deletions(&p).into_iter().map(|d| format!("d{d}")));
        }
        terms.push(format!("p{p}"));
    }
    terms.extend(pair_terms(name));
    terms.extend(slip_pair_terms(name));
    terms.sort();
    terms.dedup();
    terms.join(" ")
}

/// Bumped whenever [`index_terms`] changes, so stores rebuild their index.
pub const INDEX_VERSION: u32 = 3;

/// `q<key>0<key>` for every ordered pair of the name's sound keys (initials left out): a full
/// name typed with its first and last names right by sound meets its record through one short
/// posting list instead of the long lists of common names.
pub fn pair_terms(name: &str) -> Vec<String> {
    let keys: Vec<String> = tokens(name)
        .iter()
        .filter(|t| t.len() > 1)
        .map(|t| phonetic(t))
        .collect();
    let mut out = Vec::new();
    for i in 0..keys.len() {
        for j in i + 1..keys.len() {
            out.push(format!("q{}0{}", keys[i], keys[j]));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `r<key>0<key>` for the first and last sound keys of a name, and for each one-deletion
/// neighbour of either (the other kept): the same terms for a record and for a query meet when
/// the first or the last name has one slip that changes its sound key (a letter dropped, added
/// or changed), through one short posting list instead of the long lists of common names.
pub fn slip_pair_terms(name: &str) -> Vec<String> {
    let keys: Vec<String> = tokens(name)
        .iter()
        .filter(|t| t.len() > 1)
        .map(|t| phonetic(t))
        .collect();
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Vec::new();
    };
    if keys.len() < 2 {
        return Vec::new();
    }
    let variants = |k: &String| {
        let mut v = vec![k.clone()];
        if k.len() >= MIN_KEY_FOR_DELETIONS {
            v.extend(deletions(k).into_iter().filter(|d| d.len() >= 2));
        }
        v
    };
    let mut out: Vec<String> = variants(first)
        .into_iter()
        .map(|a| format!("r{a}0{last}"))
        .chain(variants(last).into_iter().map(|b| format!("r{first}0{b}")))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What a typed query looks for: one OR-group per query token; a record must meet every group.
/// With `prefix`, the last token may be unfinished (search as you type). With `wide`, the groups
/// also take the deletion neighbours of each sound key (one more slip), at the cost of longer
/// posting lists; without, only tokens, sound keys and initials.
pub fn query_groups(query: &str, prefix: bool, wide: bool) -> Vec<Vec<String>> {
    let toks = tokens(query);
    let n = toks.len();
    toks.iter()
        .enumerate()
        .map(|(i, t)| {
            let first = &t[..1];
            if t.len() == 1 {
                return vec![format!("i{first}")];
            }
            let p = phonetic(t);
            let mut g = vec![format!("n{t}"), format!("p{p}"), format!("s{first}")];
            if wide && p.len() >= MIN_KEY_FOR_DELETIONS {
                g.push(format!("d{p}"));
                for d in deletions(&p) {
                    if d.len() >= 2 {
                        g.push(format!("p{d}"));
                        g.push(format!("d{d}"));
                    }
                }
            }
            if prefix && i + 1 == n && t.len() >= 2 {
                g.push(format!("n{t}*"));
            }
            g.sort();
            g.dedup();
            g
        })
        .collect()
}

/// Jaro-Winkler similarity of two strings, 0.0 to 1.0.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let a: Vec<u8> = a.bytes().collect();
    let b: Vec<u8> = b.bytes().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut b_used = vec![false; b.len()];
    let mut a_matches = Vec::new();
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        if let Some(j) = (lo..hi).find(|&j| !b_used[j] && b[j] == ca) {
            b_used[j] = true;
            a_matches.push(ca);
        }
    }
    let m = a_matches.len();
    if m == 0 {
        return 0.0;
    }
    let b_matches: Vec<u8> = b
        .iter()
        .zip(&b_used)
        .filter(|(_, u)| **u)
        .map(|(c, _)| *c)
        .collect();
    let transpositions = a_matches
        .iter()
        .zip(&b_matches)
        .filter(|(x, y)| x != y)
        .count()
        / 2;
    let m = m as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64) / m) / 3.0;
    let prefix = a.iter().zip(&b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

/// How well one query token matches one name token, 0.0 to 1.0.
fn token_similarity(q: &str, d: &str, q_is_last_prefix: bool) -> f64 {
    if q == d {
        return 1.0;
    }
    if q.len() == 1 || d.len() == 1 {
        return if q[..1] == d[..1] { 0.7 } else { 0.0 };
    }
    if q_is_last_prefix && d.starts_with(q) {
        return 0.92;
    }
    let (pq, pd) = (phonetic(q), phonetic(d));
    let jw = jaro_winkler(q, d);
    if pq == pd {
        return 0.9_f64.max(jw);
    }
    0.85 * jw.max(jaro_winkler(&pq, &pd) * 0.95)
}

/// Ranks a candidate name against a query: the mean over query tokens of their best match among
/// the name's tokens, lightly penalising names with extra or missing tokens. 0.0 to 1.0.
pub fn score(query: &str, name: &str, prefix: bool) -> f64 {
    score_tokens(&tokens(query), &tokens(name), prefix)
}

/// [`score`] on tokens already computed.
pub fn score_tokens(q: &[String], d: &[String], prefix: bool) -> f64 {
    if q.is_empty() || d.is_empty() {
        return 0.0;
    }
    let mut used = vec![false; d.len()];
    let mut total = 0.0;
    for (i, qt) in q.iter().enumerate() {
        let last = prefix && i + 1 == q.len();
        let best = d
            .iter()
            .enumerate()
            .filter(|(j, _)| !used[*j])
            .map(|(j, dt)| (j, token_similarity(qt, dt, last)))
            .fold(None::<(usize, f64)>, |acc, x| match acc {
                Some(a) if a.1 >= x.1 => Some(a),
                _ => Some(x),
            });
        if let Some((j, s)) = best {
            used[j] = true;
            total += s;
        }
    }
    let mean = total / q.len() as f64;
    let extra = d.len().abs_diff(q.len()) as f64;
    mean * (1.0 - 0.03 * extra.min(3.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_share_a_sound_key() {
        for group in [
            &["sunita", "suneeta", "sunitha", "snita"][..],
            &["lakshmi", "laxmi", "lakshmee"],
            &["vijay", "bijay", "wijay"],
            &["devi", "debi", "devee"],
            &["shankar", "shanker", "sankar"],
            &["mohan", "mohann", "mohhan"],
        ] {
            let keys: Vec<String> = group.iter().map(|t| phonetic(t)).collect();
            assert!(
                keys.windows(2).all(|w| w[0] == w[1]),
                "{group:?} -> {keys:?}"
            );
        }
        assert_ne!(phonetic("ram"), phonetic("shyam"));
    }

    #[test]
    fn abbreviations_and_honorifics_fold() {
        assert_eq!(tokens("Smt. Mohd. Irfan"), ["muhammad", "irfan"]);
        assert_eq!(tokens("Ram Kr Sharma"), tokens("Ram Kumar Sharma"));
        assert_eq!(tokens("R. K. Sharma"), ["r", "k", "sharma"]);
    }

    #[test]
    fn indic_scripts_transliterate_to_the_latin_keys() {
        assert_eq!(tokens("राम"), ["ram"]);
        assert_eq!(phonetic(&tokens("सुनीता देवी")[0]), phonetic("sunita"));
        assert_eq!(phonetic(&tokens("सुनीता देवी")[1]), phonetic("devi"));
        assert_eq!(phonetic(&tokens("লক্ষ্মী")[0]), phonetic("lakshmi"));
        assert_eq!(phonetic(&tokens("বিজয়")[0]), phonetic("vijay"));
    }

    fn matches(query: &str, name: &str) -> bool {
        let doc: Vec<String> = index_terms(name).split(' ').map(str::to_owned).collect();
        query_groups(query, false, true)
            .iter()
            .all(|g| g.iter().any(|t| doc.contains(t)))
    }

    #[test]
    fn queries_meet_the_names_they_should() {
        assert!(matches("Suneeta Devi", "Sunita Devi"));
        assert!(
            matches("Sunjta Devi", "Sunita Devi"),
            "one slip beyond the sound key"
        );
        assert!(matches("Mohammad Irfan", "Md. Irfan"));
        assert!(matches("R K Sharma", "Ram Kumar Sharma"));
        assert!(matches("Ram Kumar Sharma", "R. K. Sharma"));
        assert!(matches("Sunita", "सुनीता देवी"));
        assert!(!matches("Sunita Devi", "Ramesh Yadav"));
    }

    #[test]
    fn ranking_prefers_the_closer_name() {
        let q = "Suneeta Devi";
        assert!(score(q, "Sunita Devi", false) > score(q, "Sunita Kumari", false));
        assert!(score(q, "Sunita Devi", false) > score(q, "Sumit Dev", false));
        assert!(
            score("Ram Kumar", "Ram Kumar", false) > score("Ram Kumar", "Ram Kumar Sharma", false)
        );
        assert!(score("sun", "Sunita Devi", true) > 0.5);
    }

    #[test]
    fn jaro_winkler_known_values() {
        assert!((jaro_winkler("martha", "marhta") - 0.961).abs() < 0.001);
        assert!((jaro_winkler("dixon", "dicksonx") - 0.813).abs() < 0.001);
        assert_eq!(jaro_winkler("abc", "abc"), 1.0);
    }
}
