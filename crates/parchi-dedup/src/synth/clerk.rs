//! What a clerk does to a person when registering them: typos, dropped vowels, transliteration
//! variants, initials, a guessed age, a missing or changed mobile, the address written
//! differently.

use super::data::DEVANAGARI;
use super::{Household, Person, Rng, mobile, title};
use crate::{Record, Sex};

fn typo(rng: &mut Rng, w: &str) -> String {
    let mut b: Vec<u8> = w.bytes().collect();
    if b.len() < 3 || !w.is_ascii() {
        return w.to_owned();
    }
    // Clerks rarely miss the first letter.
    let i = if rng.chance(0.05) {
        0
    } else {
        1 + rng.below(b.len() - 1)
    };
    match rng.below(4) {
        0 => {
            b.remove(i);
        }
        1 => {
            let c = b[i];
            b.insert(i, c);
        }
        2 if i + 1 < b.len() => b.swap(i, i + 1),
        _ => {
            let vowels = b"aeiou";
            if vowels.contains(&b[i]) {
                b[i] = *rng.pick(vowels);
            } else {
                b.remove(i);
            }
        }
    }
    let s = String::from_utf8(b).unwrap_or_else(|_| w.to_owned());
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

/// A transliteration variant: the same sound, spelt another way.
fn variant(rng: &mut Rng, w: &str) -> String {
    const RULES: &[(&str, &str)] = &[
        ("ee", "i"),
        ("i", "ee"),
        ("oo", "u"),
        ("u", "oo"),
        ("sh", "s"),
        ("v", "w"),
        ("w", "v"),
        ("aa", "a"),
        ("a", "aa"),
        ("ksh", "x"),
        ("x", "ksh"),
        ("ph", "f"),
        ("th", "t"),
        ("dh", "d"),
        ("y", "i"),
    ];
    let lower = w.to_lowercase();
    let start = rng.below(RULES.len());
    for k in 0..RULES.len() {
        let (from, to) = RULES[(start + k) % RULES.len()];
        // Leave the first letter alone; that is how variants usually go.
        if let Some(pos) = lower[1.min(lower.len())..].find(from) {
            let pos = pos + 1.min(lower.len());
            let out = format!("{}{}{}", &lower[..pos], to, &lower[pos + from.len()..]);
            return title(&out);
        }
    }
    w.to_owned()
}

fn initial(w: &str) -> String {
    w.chars()
        .next()
        .map(|c| format!("{}.", c.to_ascii_uppercase()))
        .unwrap_or_default()
}

/// How a clerk writes a person's name on one occasion. `noise` scales how much goes wrong.
fn render_name(rng: &mut Rng, p: &Person, noise: f64) -> String {
    let mut given = p.given.clone();
    let mut surname = p.surname.clone();
    let mut prefix = p.prefix.map(str::to_owned);
    let mut middle = p.middle.map(str::to_owned);
    if rng.chance(0.3 * noise) {
        given = typo(rng, &given);
    }
    if rng.chance(0.25 * noise) {
        given = variant(rng, &given);
    }
    if let Some(s) = &surname {
        if rng.chance(0.2 * noise) {
            surname = Some(typo(rng, s));
        } else if rng.chance(0.15 * noise) {
            surname = Some(variant(rng, s));
        } else if rng.chance(0.04 * noise) && middle.is_none() && prefix.is_none() {
            surname = None;
        }
    }
    if rng.chance(0.1 * noise) {
        given = initial(&given);
    }
    if let Some(px) = &prefix {
        if rng.chance(0.6 * noise) {
            prefix = match rng.below(6) {
                0 => Some("Mohd".into()),
                1 => Some("Md.".into()),
                2 => Some("Mohammed".into()),
                3 => Some("Muhammad".into()),
                4 => Some("M.".into()),
                _ => None,
            };
        } else {
            prefix = Some(px.clone());
        }
    }
    if let Some(m) = &middle {
        if rng.chance(0.4 * noise) {
            middle = match (m.as_str(), rng.below(3)) {
                ("Kumar" | "Kumari", 0) => Some("Kr".into()),
                ("Prasad", 0) => Some("Pd".into()),
                (_, 1) => None,
                _ => Some(m.clone()),
            };
        }
    } else if p.sex == Sex::Female && p.surname.is_some() && rng.chance(0.05 * noise) {
        middle = Some("Devi".into());
    }
    let mut parts: Vec<String> = Vec::new();
    if rng.chance(0.05 * noise) {
        parts.push(if p.sex == Sex::Female { "Smt." } else { "Shri" }.into());
    }
    parts.extend(prefix);
    parts.push(given);
    parts.extend(middle);
    parts.extend(surname);
    if rng.chance(0.05 * noise) {
        let hindi: Option<Vec<&str>> = parts
            .iter()
            .map(|t| DEVANAGARI.iter().find(|(l, _)| l == t).map(|(_, d)| *d))
            .collect();
        if let Some(h) = hindi {
            return h.join(" ");
        }
    }
    parts.join(" ")
}

fn render_guardian(rng: &mut Rng, g: &str, noise: f64) -> Option<String> {
    if rng.chance(0.06 * noise) {
        return None;
    }
    let mut toks: Vec<String> = g.split(' ').map(str::to_owned).collect();
    if rng.chance(0.1 * noise) {
        let i = rng.below(toks.len());
        toks[i] = typo(rng, &toks[i]);
    }
    if rng.chance(0.05 * noise) && toks.len() > 1 {
        toks[0] = initial(&toks[0]);
    }
    if rng.chance(0.05 * noise) && toks.len() > 1 {
        toks.pop();
    }
    Some(toks.join(" "))
}

pub(crate) fn register(
    rng: &mut Rng,
    p: &Person,
    h: &Household,
    year: i32,
    noise: f64,
) -> Record<u64> {
    let age = year - p.birth_year;
    let (birth_year, approx) = if p.exact_dob && rng.chance(0.7) {
        (p.birth_year, false)
    } else {
        // Ages are guessed, more loosely for the old.
        let jitter = match rng.below(100) {
            0..=59 => 0,
            60..=84 => 1,
            85..=95 => 2,
            96..=98 => 3,
            _ => 5,
        };
        let jitter = if noise > 0.5 { jitter } else { jitter.min(1) };
        let sign = if rng.chance(0.5) { 1 } else { -1 };
        let guessed = (age + sign * jitter).max(0);
        (year - guessed, true)
    };
    let mobile = match rng.below(100) {
        _ if noise < 0.5 => p.own_mobile.clone().or_else(|| h.mobile.clone()),
        0..=64 => p.own_mobile.clone().or_else(|| h.mobile.clone()),
        65..=84 => None,
        _ => Some(self::mobile(rng)),
    };
    let address = if rng.chance(0.25 * noise) {
        format!("{}/{}, {}", h.house_no, rng.range(1, 99), h.street)
    } else if rng.chance(0.5) {
        format!("H.No. {}, {}", h.house_no, h.street)
    } else {
        format!("{}, {}", h.house_no, h.street)
    };
    let pincode = if rng.chance(0.03 * noise) {
        h.place.2 + rng.range(1, 30) as u32
    } else {
        h.place.2
    };
    let sex = if rng.chance(0.005 * noise) {
        if p.sex == Sex::Male {
            Sex::Female
        } else {
            Sex::Male
        }
    } else {
        p.sex
    };
    Record {
        key: 0,
        name: render_name(rng, p, noise),
        sex: Some(sex),
        birth_year: Some(birth_year),
        birth_approximate: approx,
        guardian_relation: Some(p.guardian_relation),
        guardian_name: render_guardian(rng, &p.guardian_name, noise),
        mobile,
        address: Some(address),
        district: Some(h.place.0.to_owned()),
        state: Some(h.place.1.to_owned()),
        pincode: Some(pincode.to_string()),
        abha: p.abha.clone().filter(|_| rng.chance(0.5)),
    }
}
