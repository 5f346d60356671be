// Instant checks of the registration form as the clerk types, mirroring the rules in
// parchi-core (crates/parchi-core/src/patient.rs). They exist for feedback at every keystroke;
// the core re-checks everything on save and is the authority. Field names and codes are the
// core's, so a message can be looked up the same way whichever side found the problem.

import type { AbhaQr } from "./abha";
import type { PatientForm } from "./api";

export interface Problem {
  field: string;
  code: string;
}

export const MAX_AGE_YEARS = 120;
const NAME_MAX = 80;
const TEXT_MAX = 120;

function isIndicDigit(cp: number): boolean {
  return cp >= 0x0900 && cp <= 0x0dff && (cp & 0x7f) >= 0x66 && (cp & 0x7f) <= 0x6f;
}

function nameCharAllowed(c: string): boolean {
  const cp = c.codePointAt(0) ?? 0;
  if (/^[A-Za-z]$/.test(c)) return true;
  if (cp >= 0x00c0 && cp <= 0x024f && /\p{L}/u.test(c)) return true;
  if (cp >= 0x0900 && cp <= 0x0dff && !isIndicDigit(cp) && cp !== 0x0964 && cp !== 0x0965) {
    return true;
  }
  return c === " " || c === "." || c === "'" || c === "-" || c === "\u200c" || c === "\u200d";
}

function collapse(s: string): string {
  return s.split(/\s+/).filter(Boolean).join(" ");
}

export function checkName(field: string, input: string): Problem | null {
  const s = collapse(input).replace(/[\u2018\u2019`]/g, "'");
  if (!s) return { field, code: "required" };
  if ([...s].length > NAME_MAX) return { field, code: "too_long" };
  if ([...s].some((c) => !nameCharAllowed(c))) return { field, code: "bad_character" };
  if (!/\p{L}/u.test(s)) return { field, code: "no_letters" };
  return null;
}

export function checkMobile(input: string): Problem | null {
  const t = input.trim();
  const plus = t.startsWith("+");
  const digits = t.replace(/[ \-()+]/g, "");
  const field = "mobile";
  if (!/^\d*$/.test(digits)) return { field, code: "not_digits" };
  let national: string;
  if ((plus || digits.length === 12) && digits.startsWith("91") && digits.length === 12) {
    national = digits.slice(2);
  } else if (digits.length === 11 && digits.startsWith("0")) {
    national = digits.slice(1);
  } else if (plus) {
    return { field, code: "foreign" };
  } else {
    national = digits;
  }
  if (national.length !== 10) return { field, code: "length" };
  if (!/^[6-9]/.test(national)) return { field, code: "prefix" };
  return null;
}

export interface AgeParts {
  years: number;
  months: number;
  days: number;
}

/** "34", "34y", "8m", "20d", "1y 6m" → parts; null with a code when malformed. */
export function parseAge(input: string): AgeParts | { code: string } {
  const s = input.trim().toLowerCase();
  if (!s) return { code: "required" };
  const parts: AgeParts = { years: 0, months: 0, days: 0 };
  const re = /\s*(\d+)\s*([a-z]*)/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return { code: "format" };
    const n = Number(m[1]);
    const unit = m[2];
    if (["", "y", "yr", "yrs", "year", "years"].includes(unit)) parts.years += n;
    else if (["m", "mo", "mon", "month", "months"].includes(unit)) parts.months += n;
    else if (["d", "day", "days"].includes(unit)) parts.days += n;
    else return { code: "format" };
    pos = re.lastIndex;
    while (pos < s.length && s[pos] === " ") pos++;
  }
  if (
    parts.years > MAX_AGE_YEARS ||
    parts.months > MAX_AGE_YEARS * 12 ||
    parts.days > 3660 ||
    parts.years * 12 + parts.months > MAX_AGE_YEARS * 12
  ) {
    return { code: "range" };
  }
  return parts;
}

function parseDate(s: string): Date | null {
  const t = s.trim();
  let y: number, m: number, d: number;
  let r = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t);
  if (r) {
    [y, m, d] = [Number(r[1]), Number(r[2]), Number(r[3])];
  } else {
    r = /^(\d{1,2})[-/](\d{1,2})[-/](\d{4})$/.exec(t);
    if (!r) return null;
    [d, m, y] = [Number(r[1]), Number(r[2]), Number(r[3])];
  }
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    return null;
  }
  return date;
}

/** `today` as YYYY-MM-DD (the counter's local day, from the core). */
export function checkDob(input: string, today: string): Problem | null {
  const field = "dob";
  const date = parseDate(input);
  const now = parseDate(today);
  if (!date || !now) return { field, code: "format" };
  if (date > now) return { field, code: "future" };
  const oldest = new Date(now);
  oldest.setUTCFullYear(now.getUTCFullYear() - MAX_AGE_YEARS);
  if (date < oldest) return { field, code: "range" };
  return null;
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  [...digits].reverse().forEach((ch, i) => {
    let d = Number(ch);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  });
  return sum % 10 === 0;
}

/** ABHA number (14 digits) or ABHA address (name@abdm). A failed Luhn check only warns. */
export function checkAbha(input: string): { error: Problem | null; warning: Problem | null } {
  const s = input.trim();
  if (s.includes("@")) {
    const [local, domain] = s.toLowerCase().split("@", 2);
    const ok =
      /^[a-z0-9][a-z0-9._]{3,31}$/.test(local) && (domain === "abdm" || domain === "sbx");
    return { error: ok ? null : { field: "abha_address", code: "format" }, warning: null };
  }
  const digits = s.replace(/[- ]/g, "");
  if (!/^\d{14}$/.test(digits)) {
    return { error: { field: "abha_number", code: "format" }, warning: null };
  }
  return {
    error: null,
    warning: luhnValid(digits) ? null : { field: "abha_number", code: "check" },
  };
}

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

export function verhoeffValid(digits: string): boolean {
  let c = 0;
  [...digits].reverse().forEach((ch, i) => {
    c = VERHOEFF_D[c][VERHOEFF_P[i % 8][Number(ch)]];
  });
  return c === 0;
}

export function checkAadhaar(input: string): Problem | null {
  const s = input.replace(/[- ]/g, "");
  const field = "aadhaar";
  if (!/^\d+$/.test(s)) return { field, code: "format" };
  if (s.length === 4) return null;
  if (s.length !== 12 || !/^[2-9]/.test(s)) return { field, code: "format" };
  return verhoeffValid(s) ? null : { field, code: "check" };
}

export function checkText(field: string, input: string): Problem | null {
  const s = collapse(input);
  if ([...s].length > TEXT_MAX) return { field, code: "too_long" };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) return { field, code: "bad_character" };
  return null;
}

const SEXES = ["m", "male", "f", "female", "o", "other", "t", "transgender"];
const RELATIONS = ["s/o", "so", "son", "d/o", "do", "daughter", "w/o", "wo", "wife", "c/o", "co", "careof"];
export const CATEGORIES = ["general", "bpl", "senior", "staff", "free"];

/** Every problem in the form, at most one per field, in the form's order. */
export function validateForm(
  f: PatientForm,
  today: string,
  department: string | null,
): { errors: Problem[]; warnings: Problem[] } {
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const add = (p: Problem | null) => {
    if (p && !errors.some((e) => e.field === p.field)) errors.push(p);
  };
  const given = (s: string) => s.trim() !== "";
  if (!f.quick || given(f.name)) add(checkName("name", f.name));
  if (!given(f.sex)) add({ field: "sex", code: "required" });
  else if (!SEXES.includes(f.sex.trim().toLowerCase())) add({ field: "sex", code: "format" });
  if (!given(f.age) && !given(f.dob)) add({ field: "age", code: "required" });
  else if (given(f.age) && given(f.dob)) add({ field: "age", code: "ambiguous" });
  else if (given(f.age)) {
    const a = parseAge(f.age);
    if ("code" in a) add({ field: "age", code: a.code });
  } else add(checkDob(f.dob, today));
  if (given(f.guardian_relation) && !given(f.guardian_name)) {
    add({ field: "guardian_name", code: "required" });
  } else if (given(f.guardian_name)) {
    const rel = f.guardian_relation.trim().toLowerCase().replace(/[. ]/g, "");
    if (given(f.guardian_relation) && !RELATIONS.includes(rel)) {
      add({ field: "guardian_relation", code: "format" });
    }
    add(checkName("guardian_name", f.guardian_name));
  }
  if (given(f.mobile)) add(checkMobile(f.mobile));
  add(checkText("address", f.address));
  add(checkText("district", f.district));
  add(checkText("state", f.state));
  if (given(f.pincode)) {
    const p = f.pincode.replace(/\s/g, "");
    if (!/^[1-9]\d{5}$/.test(p)) add({ field: "pincode", code: "format" });
  }
  if (given(f.abha)) {
    const a = checkAbha(f.abha);
    add(a.error);
    if (a.warning) warnings.push(a.warning);
  }
  if (given(f.aadhaar)) add(checkAadhaar(f.aadhaar));
  const cat = f.category.trim().toLowerCase().replace(/[-_ ]/g, "");
  if (cat && !["general", "gen", "bpl", "senior", "seniorcitizen", "sr", "staff", "free"].includes(cat)) {
    add({ field: "category", code: "format" });
  }
  if (department !== null && !department.trim()) add({ field: "department", code: "required" });
  return { errors, warnings };
}

/** The form fields a scanned ABHA card fills. A year of birth alone becomes an age. */
export function formFromAbha(q: AbhaQr, today: string): Partial<PatientForm> {
  const out: Partial<PatientForm> = {};
  if (q.name) out.name = q.name;
  if (q.sex) out.sex = q.sex;
  if (q.dob) {
    out.dob = q.dob;
    out.age = "";
  } else if (q.birthYear) {
    const years = Number(today.slice(0, 4)) - q.birthYear;
    if (years >= 0 && years <= MAX_AGE_YEARS) {
      out.age = String(years);
      out.dob = "";
    }
  }
  // The core keeps one ABHA identifier per registration: the number when the card has one.
  if (q.abhaNumber) {
    const n = q.abhaNumber;
    out.abha = `${n.slice(0, 2)}-${n.slice(2, 6)}-${n.slice(6, 10)}-${n.slice(10)}`;
  } else if (q.abhaAddress) out.abha = q.abhaAddress;
  if (q.mobile) out.mobile = q.mobile;
  if (q.address) out.address = q.address;
  if (q.district) out.district = q.district;
  if (q.state) out.state = q.state;
  if (q.pincode) out.pincode = q.pincode;
  return out;
}
