// Search results of both kinds (a Parchi patient, or a record of the hospital's own index that
// nobody here has registered yet) and how current the counter's copy of that index is: what the
// screens show of them, with no DOM.

import type { Found, MirrorView } from "./api";

/** True for a record from the hospital's index (no Parchi patient yet). */
export function fromIndex(f: Found): f is Extract<Found, { source: "hospital_index" }> {
  return f.source === "hospital_index";
}

/** What `new_visit` takes for this hit: the patient's ID, or the index record's UHID. */
export function visitRef(f: Found): string {
  return fromIndex(f) ? f.uhid : f.patient_id;
}

/** The ID to show: the UHID when there is one, else the temporary ID. */
export function shownId(f: Found): string {
  return fromIndex(f) ? f.uhid : (f.uhid ?? f.temp_id);
}

/** "34Y / F"; a dash for what the hospital's record lacks. */
export function ageSex(f: { age?: string | null; sex?: string | null }): string {
  return `${f.age || "—"} / ${f.sex || "—"}`;
}

/** The identifier that matched, to show beside the name (nothing for a name match). */
export function matchedTag(f: Found): string | null {
  return f.matched && f.matched !== "name" ? f.matched.replace(/_/g, " ") : null;
}

/** An ID as typed or scanned, compared without case, spaces or hyphens. */
export function normalizeId(s: string): string {
  return s.replace(/[\s-]/g, "").toUpperCase();
}

/** The one hit that a scanned code names exactly (its UHID or temporary ID), or null. */
export function exactIdHit(hits: Found[], code: string): Found | null {
  const want = normalizeId(code);
  if (!want) return null;
  const exact = hits.filter((f) => {
    const ids = fromIndex(f) ? [f.uhid] : [f.uhid, f.temp_id, f.patient_id];
    return ids.some((id) => id && normalizeId(id) === want);
  });
  return exact.length === 1 ? exact[0] : null;
}

/** How the status bar shows the mirror: which label, with what, and whether it looks old. */
export interface MirrorLabel {
  key: "mirror.none" | "mirror.as_of" | "mirror.unknown";
  at: string;
  /** Older than `STALE_HOURS`: the status bar marks it. */
  stale: boolean;
}

export const STALE_HOURS = 24;

/** Reads the core's MirrorView: the time as the core wrote it (the hospital's time), and its age. */
export function mirrorLabel(v: MirrorView, now: number = Date.now()): MirrorLabel {
  if (!v.records) return { key: "mirror.none", at: "", stale: false };
  const at = /as of (.+)$/.exec(v.label)?.[1] ?? "";
  if (!v.as_of || !at) return { key: "mirror.unknown", at: "", stale: true };
  const t = parseTime(v.as_of);
  const stale = t === null ? true : now - t > STALE_HOURS * 3600_000;
  return { key: "mirror.as_of", at, stale };
}

/** An RFC 3339 time in milliseconds (fractions past milliseconds dropped), or null. */
export function parseTime(rfc3339: string): number | null {
  const trimmed = rfc3339.replace(/(\.\d{3})\d+/, "$1");
  const t = Date.parse(trimmed);
  return Number.isNaN(t) ? null : t;
}
