// The keystroke checks against the core's field rules, case by case from the table the core's
// own tests run (tests/data/field-rules.json, crates/parchi-core/tests/field_rules.rs): the core
// is the authority; these checks must agree with it on every case.
import { describe, expect, it } from "vitest";
import {
  checkAadhaar,
  checkAbha,
  checkDob,
  checkMobile,
  checkName,
  checkText,
  parseAge,
} from "../src/validate";
import rules from "../../tests/data/field-rules.json";

interface Case {
  input: string;
  code: string | null;
  field?: string;
  warning?: string | null;
}

const table = rules as unknown as Record<string, Case[]> & { today: string };

function each(field: string, got: (input: string) => string | null): void {
  const cases = table[field];
  expect(cases.length).toBeGreaterThan(0);
  for (const c of cases) {
    expect({ input: c.input, code: got(c.input) }).toEqual({ input: c.input, code: c.code });
  }
}

describe("the field rules agree with the core's, case for case", () => {
  it("names", () => each("name", (s) => checkName("name", s)?.code ?? null));
  it("mobiles", () => each("mobile", (s) => checkMobile(s)?.code ?? null));
  it("Aadhaar numbers", () => each("aadhaar", (s) => checkAadhaar(s)?.code ?? null));
  it("texts", () => each("text", (s) => checkText("address", s)?.code ?? null));
  it("dates of birth", () => each("dob", (s) => checkDob(s, table.today)?.code ?? null));
  it("ages", () =>
    each("age", (s) => {
      const a = parseAge(s);
      return "code" in a ? a.code : null;
    }));
  it("ABHA numbers and addresses", () => {
    for (const c of table.abha) {
      const r = checkAbha(c.input);
      const field = r.error?.field ?? r.warning?.field ?? (c.input.includes("@") ? "abha_address" : "abha_number");
      expect({ input: c.input, field, code: r.error?.code ?? null, warning: r.warning?.code ?? null }).toEqual({
        input: c.input,
        field: c.field,
        code: c.code,
        warning: c.warning ?? null,
      });
    }
  });
});
