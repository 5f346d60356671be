import { describe, expect, it } from "vitest";
import { looksLikeQr, parseAbhaQr, parseQrDate } from "../src/abha";
import { formFromAbha } from "../src/validate";

// The two shapes ABDM's documentation shows: the ABHA card's QR and the ABHA app's QR.
const CARD =
  '{"hidn":"91-5110-2378-1467","hid":"sunita.devi@abdm","name":"Sunita Devi","gender":"F","statelgd":"10","distlgd":"230","dob":"7/3/1990","state name":"BIHAR","district_name":"PATNA","mobile":"9876543210","address":"Ward 12, Kankarbagh"}';
const APP =
  '{"hidn":"-","phr":"ramesh.k@abdm","name":"Ramesh Kumar","gender":"M","statelgd":"27","distlgd":"497","dob":"1978","address":"Shastri Nagar "}';

describe("ABHA QR parsing", () => {
  it("reads the ABHA card's QR", () => {
    const r = parseAbhaQr(CARD);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.data).toEqual({
      abhaNumber: "91511023781467",
      abhaAddress: "sunita.devi@abdm",
      name: "Sunita Devi",
      sex: "F",
      dob: "1990-03-07",
      state: "BIHAR",
      district: "PATNA",
      mobile: "9876543210",
      address: "Ward 12, Kankarbagh",
    });
  });

  it("reads the app's QR: no ABHA number, address under phr, year of birth only", () => {
    const r = parseAbhaQr(APP);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.data.abhaNumber).toBeUndefined();
    expect(r.data.abhaAddress).toBe("ramesh.k@abdm");
    expect(r.data.birthYear).toBe(1978);
    expect(r.data.dob).toBeUndefined();
    expect(r.data.address).toBe("Shastri Nagar");
    expect(r.data.sex).toBe("M");
  });

  it("accepts typographic quotes, a trailing Enter and the alternative key spellings", () => {
    const curly = CARD.replace(/"/g, "\u201c").replace('"state name"', '"state_name"') + "\r\n";
    const r = parseAbhaQr(curly.replace("district_name", "dist name"));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.data.name).toBe("Sunita Devi");
      expect(r.data.district).toBe("PATNA");
    }
  });

  it("refuses what is not an ABHA QR, saying why", () => {
    expect(parseAbhaQr("")).toEqual({ ok: false, error: "empty" });
    expect(parseAbhaQr("Sunita Devi")).toEqual({ ok: false, error: "not_json" });
    expect(parseAbhaQr('{"hidn":"9151')).toEqual({ ok: false, error: "not_json" });
    expect(parseAbhaQr("[1,2]")).toEqual({ ok: false, error: "not_json" });
    expect(parseAbhaQr('{"name":"X","gender":"M"}')).toEqual({ ok: false, error: "not_abha" });
    expect(parseAbhaQr('{"hidn":"12-34","name":"X"}')).toEqual({ ok: false, error: "not_abha" });
  });

  it("drops malformed values rather than filling the form with them", () => {
    const r = parseAbhaQr(
      '{"hidn":"91-5110-2378-1467","name":"A B","gender":"X","dob":"31/2/1990","mobile":"12345"}',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.data.sex).toBeUndefined();
    expect(r.data.dob).toBeUndefined();
    expect(r.data.birthYear).toBeUndefined();
    expect(r.data.mobile).toBeUndefined();
  });

  it("parses the date shapes seen on cards", () => {
    expect(parseQrDate("07/03/1990")).toEqual({ dob: "1990-03-07" });
    expect(parseQrDate("7-3-1990")).toEqual({ dob: "1990-03-07" });
    expect(parseQrDate("1990-03-07")).toEqual({ dob: "1990-03-07" });
    expect(parseQrDate("1978")).toEqual({ year: 1978 });
    expect(parseQrDate("29/2/2023")).toEqual({});
    expect(parseQrDate("soon")).toEqual({});
    // Found by fuzzing (fuzz/js): "0000" was taken as a year of birth.
    expect(parseQrDate("0000")).toEqual({});
    expect(parseQrDate("0012")).toEqual({});
    const q = parseAbhaQr('{"hidn":"00000000000000","yearOfBirth":"0012"}');
    expect(q.ok && q.data.birthYear).toBeUndefined();
  });

  it("tells a scanner's payload from typing", () => {
    expect(looksLikeQr('{"hidn"')).toBe(true);
    expect(looksLikeQr("  {")).toBe(true);
    expect(looksLikeQr("9876543210")).toBe(false);
    expect(looksLikeQr("Sunita")).toBe(false);
  });

  it("fills the form: a full date of birth, or an age from the year of birth", () => {
    const card = parseAbhaQr(CARD);
    const app = parseAbhaQr(APP);
    if (!card.ok || !app.ok) throw new Error("fixtures must parse");
    expect(formFromAbha(card.data, "2026-11-28")).toEqual({
      name: "Sunita Devi",
      sex: "F",
      dob: "1990-03-07",
      age: "",
      abha: "91-5110-2378-1467",
      mobile: "9876543210",
      address: "Ward 12, Kankarbagh",
      district: "PATNA",
      state: "BIHAR",
    });
    const f = formFromAbha(app.data, "2026-11-28");
    expect(f.age).toBe("48");
    expect(f.dob).toBe("");
    expect(f.abha).toBe("ramesh.k@abdm");
  });
});
