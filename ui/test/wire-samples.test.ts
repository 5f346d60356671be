// The shell's real JSON (serialised by serde in src-tauri/src/commands/bindings.rs, written to
// test/generated) read the way the screens read it. `npm run typecheck` already holds each
// sample to its generated type; these tests check the values the serde attributes produce and
// that the screens' own helpers understand them.
import { describe, expect, it } from "vitest";
import slipLabels from "../src/generated/slip-labels.json";
import { fromIndex, matchedTag, mirrorLabel, shownId, visitRef } from "../src/found";
import { dictionaries } from "../src/i18n";
import * as samples from "./generated/wire-samples";

describe("the shell's JSON against the generated types", () => {
  it("tags each search hit with its source, the struct's fields beside the tag", () => {
    const [linked, plain, index] = samples.found;
    expect(linked.source).toBe("parchi");
    expect(index.source).toBe("hospital_index");
    expect(fromIndex(index)).toBe(true);
    expect(fromIndex(plain)).toBe(false);
    expect(visitRef(index)).toBe(index.uhid);
    if (fromIndex(linked)) throw new Error("a Parchi patient read as an index record");
    expect(visitRef(linked)).toBe(linked.patient_id);
    expect(shownId(linked)).toBe("UH-2026-0004417");
    expect(linked.link).toBe("linked");
  });

  it("leaves out the fields serde skips when unset, rather than sending null", () => {
    const plain = samples.found[1];
    expect("link" in plain).toBe(false);
    expect("matched" in plain).toBe(false);
    expect("score" in plain).toBe(false);
    expect(matchedTag(plain)).toBeNull();
    // The hospital's record has a match but no score: only the score is left out.
    const index = samples.found[2];
    expect(index.matched).toBe("uhid");
    expect("score" in index).toBe(false);
    expect(matchedTag(index)).toBe("uhid");
  });

  it("flattens the day report beside the hospital's name", () => {
    expect(samples.report.hospital).toBe("District Hospital, Gaya");
    expect(samples.report.total.key).toBe("total");
    expect(samples.report.by_department.map((r) => r.key)).toEqual(["MED"]);
    expect("report" in samples.report).toBe(false);
  });

  it("names enums and reason codes in snake case, with their data beside the code", () => {
    const pair = samples.duplicates[0];
    expect(pair.verdict).toBe("likely");
    expect(pair.reason_codes.map((r) => r.code)).toEqual(["same_mobile", "name_similar", "common_name"]);
    const similar = pair.reason_codes[1];
    expect(similar.code === "name_similar" && similar.similarity).toBe(0.93);
    expect(samples.linkQueue.updatable).toContain("abha_number");
    expect(samples.fields).toContain("abha_address");
    expect(samples.visitDetail.visit.next_copy).toBe("duplicate");
    expect(samples.appStateOpened.session?.role).toBe("clerk");
  });

  it("sends counts as plain numbers, dates as ISO days, and no 64-bit clock at all", () => {
    const write = samples.conflicts[0].writes[0];
    // The core decodes the clock into the hospital's local time: a JS number cannot hold it.
    expect(write.at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(Object.keys(write)).not.toContain("hlc");
    expect(samples.mirror.records).toBe(125000);
    expect(samples.visitDetail.visit.day).toBe("2026-11-28");
    expect(samples.conflicts[0].writes[1].value).toEqual({ nested: [1, null] });
  });

  it("the status bar reads the mirror's view as the core writes it", () => {
    const label = mirrorLabel(samples.mirror, Date.parse("2026-11-28T10:00:00+05:30"));
    expect(label.key).toBe("mirror.as_of");
    expect(label.stale).toBe(false);
  });

  it("errors carry a code and per-field problems", () => {
    expect(samples.uiError.code).toBe("validation");
    expect(samples.uiError.fields[0]).toEqual({ field: "mobile", code: "length", message: "must be 10 digits" });
    expect(samples.appStateFailed.error?.code).toBe("validation");
  });
});

describe("the slip's words on screen come from the slip's own table", () => {
  it("the screen's DUPLICATE is the word the slip prints, in both languages", () => {
    expect(dictionaries.en["token.duplicate"]).toBe(slipLabels.duplicate.en);
    expect(dictionaries.hi["token.duplicate"]).toBe(slipLabels.duplicate.hi);
    expect(dictionaries.hi["token.reprint"]).toContain(slipLabels.duplicate.hi);
    expect(dictionaries.hi["token.reprinted"]).toContain(slipLabels.duplicate.hi);
  });

  it("no screen uses another word for a reprint's mark", () => {
    // प्रतिलिपि ("copy") was the slip's old word; the screens said डुप्लीकेट.
    for (const [key, text] of Object.entries(dictionaries.hi)) {
      expect(text, key).not.toContain("प्रतिलिपि");
    }
  });
});
