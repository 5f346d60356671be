import { describe, expect, it } from "vitest";
import type { Found, MirrorView } from "../src/api";
import { ageSex, exactIdHit, fromIndex, matchedTag, mirrorLabel, normalizeId, parseTime, shownId, visitRef } from "../src/found";

const parchi: Found = {
  source: "parchi",
  patient_id: "01a230c3-9175-72f1-967f-6b610cf8a673",
  temp_id: "A-2KFYQT-00WET",
  uhid: null,
  name: "Sunita Devi",
  age: "34Y",
  sex: "F",
  guardian: "W/o Ramesh Kumar",
  mobile: "9876543210",
  abha_number: null,
  category: "general",
  quick: false,
  last_visit: "2026-11-30",
  matched: "name",
  score: 0.93,
};

const index: Found = {
  source: "hospital_index",
  uhid: "DHP000000101",
  name: "Rajendra Prasad Yadav",
  age: "58Y",
  sex: "M",
  guardian: "C/o Shivnath Yadav",
  mobile: "9431000101",
  district: "Patna",
  seen: null,
  matched: "uhid",
  score: 1,
};

describe("search results of both kinds", () => {
  it("a hospital-index hit starts its visit by UHID, a Parchi patient by patient ID", () => {
    expect(fromIndex(index)).toBe(true);
    expect(fromIndex(parchi)).toBe(false);
    expect(visitRef(index)).toBe("DHP000000101");
    expect(visitRef(parchi)).toBe("01a230c3-9175-72f1-967f-6b610cf8a673");
  });

  it("shows the UHID when there is one, else the temporary ID", () => {
    expect(shownId(index)).toBe("DHP000000101");
    expect(shownId(parchi)).toBe("A-2KFYQT-00WET");
    expect(shownId({ ...parchi, uhid: "DHP000000555" } as Found)).toBe("DHP000000555");
  });

  it("age and sex, with a dash for what the hospital's record lacks", () => {
    expect(ageSex(parchi)).toBe("34Y / F");
    expect(ageSex({ ...index, age: null, sex: null } as Found)).toBe("— / —");
  });

  it("names the identifier that matched, not a name match", () => {
    expect(matchedTag(index)).toBe("uhid");
    expect(matchedTag(parchi)).toBeNull();
    expect(matchedTag({ ...parchi, matched: "abha_number" } as Found)).toBe("abha number");
  });

  it("a scanned code picks the one hit it names exactly", () => {
    expect(normalizeId(" a-2kfyqt-00wet ")).toBe("A2KFYQT00WET");
    expect(exactIdHit([parchi, index], "DHP000000101")).toBe(index);
    expect(exactIdHit([parchi, index], "a2kfyqt00wet")).toBe(parchi);
    expect(exactIdHit([parchi, index], "DHP0000001")).toBeNull(); // a prefix only
    expect(exactIdHit([], "DHP000000101")).toBeNull();
    // Two records holding one code: the clerk chooses.
    expect(exactIdHit([index, { ...index, name: "Other" } as Found], "DHP000000101")).toBeNull();
  });
});

describe("how current the hospital's index is", () => {
  const now = Date.parse("2026-12-01T10:00:00+05:30");
  const view = (v: Partial<MirrorView>): MirrorView => ({ records: 4, as_of: null, as_of_local: null, label: "", ...v });

  it("reads the time from the core's label and marks a day-old copy", () => {
    const fresh = view({ as_of: "2026-11-30T22:00:00.816174641+05:30", label: "hospital index as of 30-11 22:00" });
    expect(mirrorLabel(fresh, now)).toEqual({ key: "mirror.as_of", at: "30-11 22:00", stale: false });
    const old = view({ as_of: "2026-11-28T22:00:00+05:30", label: "hospital index as of 28-11 22:00" });
    expect(mirrorLabel(old, now)).toEqual({ key: "mirror.as_of", at: "28-11 22:00", stale: true });
  });

  it("says when there is no index, or its time is unknown", () => {
    expect(mirrorLabel(view({ records: 0, label: "no hospital index at this counter" }), now).key).toBe("mirror.none");
    expect(mirrorLabel(view({ label: "hospital index (time of copy unknown)" }), now)).toEqual({ key: "mirror.unknown", at: "", stale: true });
  });

  it("parses RFC 3339 times with nanoseconds", () => {
    expect(parseTime("2026-11-30T22:00:00.816174641+05:30")).toBe(Date.parse("2026-11-30T22:00:00.816+05:30"));
    expect(parseTime("yesterday")).toBeNull();
  });
});
