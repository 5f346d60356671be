import { describe, expect, it } from "vitest";
import { dictionaries, errorMessage, fieldMessage, setLang, t } from "../src/i18n";

function placeholders(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

describe("labels in English and Hindi", () => {
  it("every key exists in both languages, non-empty, with the same placeholders", () => {
    const en = dictionaries.en;
    const hi = dictionaries.hi;
    expect(Object.keys(hi).sort()).toEqual(Object.keys(en).sort());
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      expect(en[k].trim(), k).not.toBe("");
      expect(hi[k].trim(), k).not.toBe("");
      expect(placeholders(hi[k]), k).toEqual(placeholders(en[k]));
    }
  });

  it("Hindi labels are written in Devanagari", () => {
    const latinOnly = Object.entries(dictionaries.hi).filter(
      ([k, v]) => !/[\u0900-\u097F]/.test(v) && !["nav.language", "rel.none", "reg.rupees"].includes(k),
    );
    // Only labels without words (a dash, the rupee sign, the other language's name) may lack it.
    expect(latinOnly.map(([k]) => k)).toEqual([]);
  });

  it("fills placeholders and switches language", () => {
    setLang("en");
    expect(t("sync.waiting", { n: 3 })).toBe("3 changes waiting");
    setLang("hi");
    expect(t("sync.waiting", { n: 3 })).toBe("3 बदलाव बाकी");
    setLang("xx");
    expect(t("nav.register")).toBe("Register");
  });

  it("messages for the core's field codes exist for every code the core sends", () => {
    setLang("en");
    const coreCodes: [string, string][] = [
      ["name", "required"], ["name", "too_long"], ["name", "bad_character"], ["name", "no_letters"],
      ["sex", "required"], ["sex", "format"], ["age", "required"], ["age", "ambiguous"],
      ["age", "format"], ["age", "range"], ["dob", "format"], ["dob", "future"], ["dob", "range"],
      ["guardian_name", "required"], ["guardian_relation", "format"], ["mobile", "not_digits"],
      ["mobile", "foreign"], ["mobile", "length"], ["mobile", "prefix"], ["pincode", "format"],
      ["abha_number", "format"], ["abha_number", "check"], ["abha_address", "format"],
      ["aadhaar", "format"], ["aadhaar", "check"], ["address", "too_long"], ["category", "format"],
      ["department", "required"], ["department", "closed_today"],
      ["uhid", "format"], ["uhid", "not_in_index"], ["uhid", "card_mismatch"], ["uhid", "already_registered"],
    ];
    for (const [f, c] of coreCodes) {
      expect(fieldMessage(f, c, "FALLBACK"), `${f}.${c}`).not.toBe("FALLBACK");
    }
    expect(fieldMessage("somefield", "weird", "core says")).toBe("core says");
  });

  it("errors from the core are told apart by code, never by text", () => {
    setLang("hi");
    expect(errorMessage("denied", "wrong user name or PIN/password")).toBe("गलत उपयोगकर्ता नाम या पिन/पासवर्ड");
    expect(errorMessage("corrupt", "the file is corrupt")).toContain("the file is corrupt");
    setLang("en");
    expect(errorMessage("corrupt", "the file is corrupt")).toBe("the file is corrupt");
  });
});
