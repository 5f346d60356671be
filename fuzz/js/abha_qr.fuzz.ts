// The ABHA QR parser of the desktop front end (ui/src/abha.ts: parseAbhaQr, parseQrDate,
// looksLikeQr) and the form it fills (ui/src/validate.ts: formFromAbha), on any text a 2D
// scanner could type. The parser lives only in TypeScript, so it is fuzzed with Jazzer.js
// (libFuzzer for Node.js) rather than cargo-fuzz; see ../README.md.
//
// Properties:
// - nothing throws, and the parse is deterministic;
// - an accepted QR has an ABHA number or an ABHA address, and every field it gives has its
//   documented form: 14 digits, a lower-case address with an @, a mobile of 10 digits from 6-9,
//   a pincode of 6 digits not starting 0, a real calendar date YYYY-MM-DD or a 4-digit year,
//   sex M/F/O, text fields trimmed with single spaces and never "-";
// - a refusal is one of empty / not_json / not_abha, and not_json exactly when the text (quotes
//   straightened) is not a JSON object;
// - the form filled from an accepted QR writes the ABHA number as XX-XXXX-XXXX-XXXX and an age
//   only when it is 0 to the maximum.

import { looksLikeQr, parseAbhaQr, parseQrDate } from "../../ui/src/abha";
import { formFromAbha } from "../../ui/src/validate";

function fail(what: string): never {
  throw new Error(`property broken: ${what}`);
}

function check(cond: boolean, what: string): void {
  if (!cond) fail(what);
}

function realDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

function isJsonObject(text: string): boolean {
  const s = text
    .replace(/^\uFEFF/, "")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"')
    .trim();
  try {
    const v: unknown = JSON.parse(s);
    return v !== null && typeof v === "object" && !Array.isArray(v);
  } catch {
    return false;
  }
}

function tidy(v: string | undefined, what: string): void {
  if (v === undefined) return;
  check(v.length > 0 && v !== "-", `${what} empty or "-"`);
  check(v === v.trim() && !/\s\s/.test(v) && !/[\t\n\r]/.test(v), `${what} not tidied`);
}

export function fuzz(data: Buffer): void {
  const raw = data.toString("utf8");
  looksLikeQr(raw);
  const d = parseQrDate(raw);
  if (d.dob !== undefined) check(realDate(d.dob), "parseQrDate gave no real date");
  if (d.year !== undefined) check(Number.isInteger(d.year) && d.year >= 0 && d.year <= 9999, "year");

  const r = parseAbhaQr(raw);
  check(JSON.stringify(r) === JSON.stringify(parseAbhaQr(raw)), "the parse is not deterministic");
  if (!r.ok) {
    check(["empty", "not_json", "not_abha"].includes(r.error), `unknown error ${r.error}`);
    if (r.error === "not_json") check(!isJsonObject(raw), "a JSON object refused as not JSON");
    if (r.error === "not_abha") check(isJsonObject(raw), "not_abha for text that is not JSON");
    return;
  }
  check(isJsonObject(raw), "accepted text that is not a JSON object");
  const q = r.data;
  check(q.abhaNumber !== undefined || q.abhaAddress !== undefined, "accepted without ABHA");
  if (q.abhaNumber !== undefined) check(/^\d{14}$/.test(q.abhaNumber), "ABHA number form");
  if (q.abhaAddress !== undefined) {
    check(q.abhaAddress.includes("@"), "ABHA address without @");
    check(q.abhaAddress === q.abhaAddress.toLowerCase(), "ABHA address not lower case");
  }
  if (q.mobile !== undefined) check(/^[6-9]\d{9}$/.test(q.mobile), "mobile form");
  if (q.pincode !== undefined) check(/^[1-9]\d{5}$/.test(q.pincode), "pincode form");
  if (q.dob !== undefined) check(realDate(q.dob), "dob not a real date");
  if (q.birthYear !== undefined) check(/^\d{4}$/.test(String(q.birthYear)), "birth year form");
  check(q.dob === undefined || q.birthYear === undefined, "both a dob and a birth year");
  if (q.sex !== undefined) check(["M", "F", "O"].includes(q.sex), "sex form");
  for (const k of ["name", "address", "district", "state"] as const) tidy(q[k], k);

  const form = formFromAbha(q, "2026-11-28");
  if (q.abhaNumber !== undefined) {
    check(/^\d{2}-\d{4}-\d{4}-\d{4}$/.test(form.abha ?? ""), "form ABHA number not hyphenated");
  } else check(form.abha === q.abhaAddress, "form ABHA address");
  if (form.age !== undefined && form.age !== "") {
    const age = Number(form.age);
    check(Number.isInteger(age) && age >= 0 && age <= 150, `form age ${form.age}`);
  }
}
