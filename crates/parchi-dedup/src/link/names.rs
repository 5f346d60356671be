//! What the linker asks of two names beyond the scorer's similarity: whether they contradict
//! (a relative's card), and whether a match rests on an initial alone.

use crate::name::{self, Kind, NameKey, SimCache, Tok};

/// Below this two name tokens are not even a near miss: "Taoon" / "Tarun" (a slip on each
/// side) is near, "Sonu" / "Monu" (brothers' rhyming names) is not. The scorer uses the same line
/// for its near misses.
const NEAR_MISS: f64 = 0.7;

/// Whether `g` (a record's given name) is near some token of `other`: an initial near a token
/// with its letter (M. for Mohammad), a full token near a spelling of it.
fn near_any(g: &Tok, other: &NameKey, cache: &mut SimCache) -> bool {
    other.toks.iter().any(|t| {
        if g.kind == Kind::Initial || t.kind == Kind::Initial {
            g.text.as_bytes().first() == t.text.as_bytes().first()
        } else {
            cache.similarity(g, t) >= NEAR_MISS
        }
    })
}

/// Whether two names contradict, as a relative's card or a mistyped UHID landing on someone
/// else would: each name has a part the other lacks and one of those parts is near nothing in
/// the other name (Ramesh / Suresh Yadav, Sunil Sharma / Sunil Verma), the names are two
/// established names, or they share nothing at all. Slips on both sides ("Taoon Roy" / "Tarun
/// Roy") do not contradict, nor does a missing name or a part left off.
pub fn names_contradict(a: &NameKey, b: &NameKey, cache: &mut SimCache) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let m = name::compare_cached(a, b, cache);
    if m.distinct || !m.any_match {
        return true;
    }
    let far_part = |x: &NameKey, y: &NameKey, cache: &mut SimCache| {
        x.toks
            .iter()
            .any(|t| t.kind != Kind::Filler && !near_any(t, y, cache))
    };
    m.conflict && (far_part(a, b, cache) || far_part(b, a, cache))
}

/// Whether one name gives only the initial of the other's given name ("R. Patil" / "Rakesh
/// Patil"), or both give only an initial. Such a match cannot tell brothers apart: the
/// guardian, phone and address it agrees on are the family's.
pub fn initial_for_given(a: &NameKey, b: &NameKey) -> bool {
    let one_way = |x: &NameKey, y: &NameKey| {
        let (Some(gx), Some(gy)) = (x.given(), y.given()) else {
            return false;
        };
        let (tx, ty) = (&x.toks[gx], &y.toks[gy]);
        // Both initials ("Mohammad R." twice) say as little.
        tx.kind == Kind::Initial
            && (ty.kind == Kind::Initial
                || ty.kind == Kind::Full
                    && tx.text.as_bytes().first() == ty.text.as_bytes().first())
    };
    one_way(a, b) || one_way(b, a)
}
