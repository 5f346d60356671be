// Reads the QR code on a patient's ABHA card (or in the ABHA app), as a 2D scanner types it into
// a field, without any network.
//
// ABDM's developer documentation says the QR carries the patient's details "as a JSON", and
// shows two shapes an HMIS must both accept:
//   card: {"hidn":"91-1234-5678-9012","hid":"name@abdm","name":"…","gender":"M","statelgd":"10",
//          "distlgd":"230","dob":"12/3/1985","state name":"BIHAR","district_name":"PATNA",
//          "mobile":"98…","address":"…"}
//   app:  {"hidn":"-","phr":"name@abdm","name":"…","gender":"F","statelgd":"…","distlgd":"…",
//          "dob":"1978","address":"…"}
// So: the ABHA number is `hidn` ("-" when absent), the ABHA address is `hid` or `phr`, the date
// of birth may be a full date (day/month/year) or only a year, and the state and district names
// come as "state name"/state_name and "dist name"/district_name. Scanners in keyboard mode can
// also turn straight quotes into typographic ones, and add a trailing Enter.

export interface AbhaQr {
  name?: string;
  sex?: "M" | "F" | "O";
  /** A full date of birth, YYYY-MM-DD. */
  dob?: string;
  /** Only the year of birth was given. */
  birthYear?: number;
  /** 14 digits, no hyphens. */
  abhaNumber?: string;
  /** lower case, like name@abdm */
  abhaAddress?: string;
  mobile?: string;
  address?: string;
  district?: string;
  state?: string;
  pincode?: string;
}

export type AbhaParse =
  | { ok: true; data: AbhaQr }
  | { ok: false; error: "empty" | "not_json" | "not_abha" };

/** True when the text looks like the start of a QR payload rather than typing. */
export function looksLikeQr(text: string): boolean {
  return /^\s*[{\u201c\u201d"]/.test(text) || /^\s*\{/.test(text);
}

const ALIASES: Record<string, keyof AbhaQr | "gender" | "dobText" | "yob" | "dd" | "mm"> = {
  hidn: "abhaNumber",
  abhanumber: "abhaNumber",
  abha_number: "abhaNumber",
  healthidnumber: "abhaNumber",
  hid: "abhaAddress",
  phr: "abhaAddress",
  abhaaddress: "abhaAddress",
  abha_address: "abhaAddress",
  healthid: "abhaAddress",
  name: "name",
  fullname: "name",
  gender: "gender",
  sex: "gender",
  dob: "dobText",
  dateofbirth: "dobText",
  date_of_birth: "dobText",
  yob: "yob",
  yearofbirth: "yob",
  dayofbirth: "dd",
  monthofbirth: "mm",
  mobile: "mobile",
  phone: "mobile",
  address: "address",
  "dist name": "district",
  district_name: "district",
  districtname: "district",
  district: "district",
  "state name": "state",
  state_name: "state",
  statename: "state",
  state: "state",
  pincode: "pincode",
  pin: "pincode",
  pin_code: "pincode",
};

function normaliseQuotes(s: string): string {
  return s
    .replace(/^\uFEFF/, "")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"')
    .replace(/[\r\n]+$/g, "")
    .trim();
}

function text(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (typeof v !== "string") return "";
  return v.replace(/\s+/g, " ").trim();
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** A year of birth worth writing in the form (the range a full date must fall in too). */
function plausibleYear(y: number): boolean {
  return y >= 1850 && y <= 2200;
}

function validDate(y: number, m: number, d: number): string | undefined {
  if (!(plausibleYear(y) && m >= 1 && m <= 12 && d >= 1 && d <= 31)) return undefined;
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) {
    return undefined;
  }
  return `${y}-${pad2(m)}-${pad2(d)}`;
}

/** "12/3/1985", "12-03-1985", "1985-03-12" → "1985-03-12"; "1978" → year only. */
export function parseQrDate(s: string): { dob?: string; year?: number } {
  const t = s.trim();
  let m = /^(\d{4})$/.exec(t);
  if (m) return plausibleYear(Number(m[1])) ? { year: Number(m[1]) } : {};
  m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(t);
  if (m) {
    const dob = validDate(Number(m[3]), Number(m[2]), Number(m[1]));
    return dob ? { dob } : {};
  }
  m = /^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$/.exec(t);
  if (m) {
    const dob = validDate(Number(m[1]), Number(m[2]), Number(m[3]));
    return dob ? { dob } : {};
  }
  return {};
}

function sexOf(v: string): AbhaQr["sex"] {
  switch (v.trim().toUpperCase()) {
    case "M":
    case "MALE":
      return "M";
    case "F":
    case "FEMALE":
      return "F";
    case "O":
    case "T":
    case "OTHER":
    case "TRANSGENDER":
      return "O";
    default:
      return undefined;
  }
}

/** Parses a scanned ABHA QR payload. */
export function parseAbhaQr(raw: string): AbhaParse {
  const s = normaliseQuotes(raw);
  if (!s) return { ok: false, error: "empty" };
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch {
    return { ok: false, error: "not_json" };
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return { ok: false, error: "not_json" };
  const data: AbhaQr = {};
  let dobText = "";
  let yob = "";
  let dd = "";
  let mm = "";
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = ALIASES[k.trim().toLowerCase()];
    const value = text(v);
    if (!key || !value || value === "-") continue;
    switch (key) {
      case "abhaNumber": {
        const digits = value.replace(/[\s-]/g, "");
        if (/^\d{14}$/.test(digits)) data.abhaNumber = digits;
        break;
      }
      case "abhaAddress":
        if (value.includes("@")) data.abhaAddress = value.toLowerCase();
        else if (/^[a-z0-9._]{4,32}$/i.test(value)) data.abhaAddress = `${value.toLowerCase()}@abdm`;
        break;
      case "gender":
        data.sex = sexOf(value);
        break;
      case "dobText":
        dobText = value;
        break;
      case "yob":
        yob = value;
        break;
      case "dd":
        dd = value;
        break;
      case "mm":
        mm = value;
        break;
      case "mobile": {
        const digits = value.replace(/[\s-]/g, "").replace(/^(\+91|0)/, "");
        if (/^[6-9]\d{9}$/.test(digits)) data.mobile = digits;
        break;
      }
      case "pincode":
        if (/^[1-9]\d{5}$/.test(value.replace(/\s/g, ""))) data.pincode = value.replace(/\s/g, "");
        break;
      case "name":
      case "address":
      case "district":
      case "state":
        data[key] = value;
        break;
      default:
        break;
    }
  }
  if (dobText) {
    const d = parseQrDate(dobText);
    if (d.dob) data.dob = d.dob;
    else if (d.year) data.birthYear = d.year;
  } else if (yob) {
    const y = Number(yob);
    const d = dd && mm ? validDate(y, Number(mm), Number(dd)) : undefined;
    if (d) data.dob = d;
    else if (/^\d{4}$/.test(yob) && plausibleYear(y)) data.birthYear = y;
  }
  if (!data.abhaNumber && !data.abhaAddress) return { ok: false, error: "not_abha" };
  return { ok: true, data };
}
