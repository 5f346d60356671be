import { describe, expect, it } from "vitest";
import { emptyForm } from "../src/api";
import type { PatientForm } from "../src/api";
import {
  checkAadhaar,
  checkAbha,
  checkDob,
  checkMobile,
  checkName,
  parseAge,
  validateForm,
  verhoeffValid,
} from "../src/validate";

const TODAY = "2026-11-28";

function form(over: Partial<PatientForm>): PatientForm {
  return { ...emptyForm(), name: "Sunita Devi", sex: "F", age: "34", ...over };
}

function fields(f: PatientForm, dept: string | null = "MED"): string[] {
  return validateForm(f, TODAY, dept).errors.map((e) => `${e.field}:${e.code}`);
}

describe("client validation mirrors the core's rules", () => {
  it("accepts a complete registration", () => {
    expect(fields(form({}))).toEqual([]);
  });

  it("names: required, letters in Latin or an Indic script, no digits", () => {
    expect(checkName("name", "")).toEqual({ field: "name", code: "required" });
    expect(checkName("name", "सुनीता देवी")).toBeNull();
    expect(checkName("name", "D\u2019Souza")).toBeNull();
    expect(checkName("name", "Ram 2")?.code).toBe("bad_character");
    expect(checkName("name", "राम १")?.code).toBe("bad_character");
    expect(checkName("name", "...")?.code).toBe("no_letters");
    expect(checkName("name", "a".repeat(81))?.code).toBe("too_long");
  });

  it("mobile numbers: prefixes normalised, 10 digits starting 6-9", () => {
    for (const ok of ["9876543210", "+91 98765 43210", "09876543210", "919876543210"]) {
      expect(checkMobile(ok)).toBeNull();
    }
    expect(checkMobile("5876543210")?.code).toBe("prefix");
    expect(checkMobile("987654321")?.code).toBe("length");
    expect(checkMobile("+1 2025550100")?.code).toBe("foreign");
    expect(checkMobile("98765x3210")?.code).toBe("not_digits");
  });

  it("ages: years, months and days for infants, at most 120 years", () => {
    expect(parseAge("34")).toEqual({ years: 34, months: 0, days: 0 });
    expect(parseAge("1y 6m")).toEqual({ years: 1, months: 6, days: 0 });
    expect(parseAge("20d")).toEqual({ years: 0, months: 0, days: 20 });
    expect(parseAge("300")).toEqual({ code: "range" });
    expect(parseAge("12w")).toEqual({ code: "format" });
    expect(parseAge("abc")).toEqual({ code: "format" });
  });

  it("age or date of birth, not both, not neither", () => {
    expect(fields(form({ age: "" }))).toEqual(["age:required"]);
    expect(fields(form({ dob: "1990-01-01" }))).toEqual(["age:ambiguous"]);
    expect(fields(form({ age: "", dob: "23-04-1990" }))).toEqual([]);
    expect(checkDob("2027-01-01", TODAY)?.code).toBe("future");
    expect(checkDob("1890-01-01", TODAY)?.code).toBe("range");
    expect(checkDob("31-02-1990", TODAY)?.code).toBe("format");
  });

  it("a guardian relation needs the guardian's name", () => {
    expect(fields(form({ guardian_relation: "W/o" }))).toEqual(["guardian_name:required"]);
    expect(fields(form({ guardian_relation: "W/o", guardian_name: "Ramesh" }))).toEqual([]);
    expect(fields(form({ guardian_relation: "X/o", guardian_name: "Ramesh" }))).toEqual([
      "guardian_relation:format",
    ]);
  });

  it("ABHA: 14 digits or name@abdm; a failed check digit only warns", () => {
    expect(checkAbha("91-5110-2378-1467")).toEqual({ error: null, warning: null });
    expect(checkAbha("91-5110-2378-1466").warning?.code).toBe("check");
    expect(checkAbha("91-5110").error).toEqual({ field: "abha_number", code: "format" });
    expect(checkAbha("sunita@abdm").error).toBeNull();
    expect(checkAbha("s@gmail.com").error).toEqual({ field: "abha_address", code: "format" });
    const v = validateForm(form({ abha: "91-5110-2378-1466" }), TODAY, "MED");
    expect(v.errors).toEqual([]);
    expect(v.warnings).toEqual([{ field: "abha_number", code: "check" }]);
  });

  it("Aadhaar: last four digits, or twelve with a valid Verhoeff check", () => {
    expect(verhoeffValid("2363")).toBe(true);
    expect(checkAadhaar("1234")).toBeNull();
    expect(checkAadhaar("2345 6789 0124")).toBeNull();
    expect(checkAadhaar("234567890125")?.code).toBe("check");
    expect(checkAadhaar("12345")?.code).toBe("format");
    expect(checkAadhaar("123456789012")?.code).toBe("format");
  });

  it("quick registration needs only sex, age and a department", () => {
    expect(fields({ ...emptyForm(), quick: true, sex: "M", age: "40" })).toEqual([]);
    expect(fields({ ...emptyForm(), quick: true })).toEqual(["sex:required", "age:required"]);
    expect(fields({ ...emptyForm(), quick: false, sex: "M", age: "40" })).toEqual(["name:required"]);
  });

  it("reports one problem per field, with the department last", () => {
    expect(fields(form({ name: "", mobile: "123", pincode: "012345" }), "")).toEqual([
      "name:required",
      "mobile:length",
      "pincode:format",
      "department:required",
    ]);
  });
});
