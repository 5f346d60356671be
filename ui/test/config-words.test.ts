// The hospital's configuration in words: each change a publication makes, in English and Hindi,
// and the notice over the register and today screens, read from the shell's real JSON.
import { afterEach, describe, expect, it } from "vitest";
import type { ChangeKind, ConfigChange, ConfigStatus, PublishedView } from "../src/api";
import { changeWords, noticeLines, shownDay } from "../src/config-words";
import { setLang } from "../src/i18n";
import { configNotice, localNames } from "../src/screens/config-notice";
import * as samples from "./generated/wire-samples";

const change = (kind: ChangeKind, code: string, name: string, before: string, after: string): ConfigChange => ({ kind, code, name, before, after });
const fee = change("fee", "MED", "General Medicine", "10", "15");
const added = change("department_added", "NEP", "Nephrology", "", "Room 21, Rs 20, Mon-Sat");
const hindiNames = { MED: "सामान्य चिकित्सा" };

const ALL_KINDS: ChangeKind[] = [
  "hospital_name", "department_added", "department_removed", "department_name", "fee", "room", "days",
  "waived", "counter_added", "counter_removed", "slip_valid_days",
];

function view(effective_from: string, changes: ConfigChange[]): PublishedView {
  return { config: `cfg-${effective_from}`, effective_from, published_at: "2026-11-27 18:05", here: true, note: "", changes };
}

afterEach(() => setLang("en"));

describe("a change in words", () => {
  it("says what changes for a department, by name and code", () => {
    setLang("en");
    expect(changeWords(fee)).toBe("General Medicine (MED) fee Rs 10 → Rs 15");
    expect(changeWords(added)).toBe("New department: Nephrology (NEP), Room 21, Rs 20, Mon-Sat");
    expect(changeWords(change("department_removed", "DEN", "Dental", "Room 4, Rs 20, Mon-Sat", ""))).toBe("Department closes: Dental (DEN)");
    expect(changeWords(change("room", "SUR", "General Surgery", "Room 15", "Room 16"))).toBe("General Surgery (SUR) room Room 15 → Room 16");
    expect(changeWords(change("department_name", "ENT", "ENT", "ENT (Ear)", "ENT"))).toBe("ENT renamed: ENT (Ear) → ENT");
    expect(changeWords(change("hospital_name", "", "", "DH Patna", "District Hospital, Patna"))).toBe("Hospital name: DH Patna → District Hospital, Patna");
    expect(changeWords(change("slip_valid_days", "", "", "1", "3"))).toBe("Slips valid for 1 → 3 days");
    expect(changeWords(change("counter_added", "D", "Evening OPD", "", ""))).toBe("New counter: Evening OPD (D)");
    expect(changeWords(change("counter_removed", "C", "", "", ""))).toBe("Counter removed: C");
  });

  it("names the waived categories as the screens do, and says none", () => {
    setLang("en");
    expect(changeWords(change("waived", "", "", "bpl", "bpl, senior"))).toBe("No fee for: BPL → BPL, Senior citizen");
    expect(changeWords(change("waived", "", "", "", "free"))).toBe("No fee for: none → Free");
  });

  it("reads in Hindi, with the department's Hindi name where the counter has it", () => {
    setLang("hi");
    expect(changeWords(fee, hindiNames)).toBe("सामान्य चिकित्सा (MED) शुल्क ₹ 10 → ₹ 15");
    // A department this counter does not run today keeps the name the publication gives.
    expect(changeWords(added, hindiNames)).toBe("नया विभाग: Nephrology (NEP), Room 21, Rs 20, Mon-Sat");
    expect(changeWords(change("days", "MED", "General Medicine", "Mon, Wed", "Mon, Tue, Sat"), hindiNames)).toBe(
      "सामान्य चिकित्सा (MED) दिन सोम, बुध → सोम, मंगल, शनि",
    );
    expect(changeWords(change("waived", "", "", "bpl", ""))).toBe("निःशुल्क श्रेणियाँ: बीपीएल → कोई नहीं");
  });

  it("has words for every kind of change in both languages, every placeholder filled", () => {
    for (const l of ["en", "hi"]) {
      setLang(l);
      for (const kind of ALL_KINDS) {
        const words = changeWords(change(kind, "MED", "General Medicine", "10", "15"));
        expect(words, `${l} ${kind}`).not.toMatch(/[{}]|cfg\./);
        expect(words.length, `${l} ${kind}`).toBeGreaterThan(4);
      }
    }
  });

  it("shows a day with its weekday, as the screens write dates", () => {
    setLang("en");
    expect(shownDay("2026-12-07")).toBe("Mon 07-12-2026");
    expect(shownDay("2026-11-28")).toBe("Sat 28-11-2026");
    setLang("hi");
    expect(shownDay("2026-12-07")).toBe("सोम 07-12-2026");
    expect(shownDay("not a day")).toBe("not a day");
  });
});

describe("the notice", () => {
  it("lists what changed today, what is coming, and a configuration not taken, from the shell's JSON", () => {
    setLang("en");
    const lines = noticeLines(samples.configStatus);
    expect(lines.map((l) => l.kind)).toEqual(["today", "upcoming", "refused"]);
    const [today, upcoming, refused] = lines;
    expect(today.head).toBe("From today:");
    expect(today.items).toEqual(["General Medicine (MED) fee Rs 10 → Rs 15", "New department: Nephrology (NEP), Room 21, Rs 20, Mon-Sat"]);
    expect(upcoming.head).toBe("From Mon 07-12-2026:");
    expect(upcoming.items).toEqual(["No fee for: BPL → BPL, Senior citizen"]);
    expect(upcoming.day).toBe("2026-12-07");
    expect(refused.head).toBe(
      "The configuration published for Sat 28-11-2026 was not taken: it does not list this counter (A). This counter keeps its current one.",
    );
  });

  it("says nothing for a counter on its own configuration, or a publication that changes nothing", () => {
    expect(noticeLines(null)).toEqual([]);
    expect(noticeLines(samples.configStatusSetUp)).toEqual([]);
    const quiet: ConfigStatus = { in_force: view("2026-11-28", []), changed_today: true, upcoming: [view("2026-12-01", [])], refused: null };
    expect(noticeLines(quiet)).toEqual([]);
  });

  it("does not repeat yesterday's changes: only a configuration that took effect today", () => {
    const st: ConfigStatus = { ...samples.configStatus, changed_today: false, refused: null };
    expect(noticeLines(st).map((l) => l.kind)).toEqual(["upcoming"]);
  });

  it("lists at most six changes a line and says how many more", () => {
    setLang("en");
    const many = Array.from({ length: 8 }, (_, i) => change("fee", `D${i}`, `Dept ${i}`, "10", "20"));
    const st: ConfigStatus = { in_force: view("2026-11-28", many), changed_today: true, upcoming: [], refused: null };
    const [line] = noticeLines(st);
    expect(line.items).toHaveLength(7);
    expect(line.items[6]).toBe("and 2 more");
    setLang("hi");
    expect(noticeLines(st)[0].items[6]).toBe("और 2 बदलाव");
  });

  it("draws each line with the kind and day the tests and screen readers find it by", () => {
    setLang("en");
    const names = localNames(samples.departments);
    expect(names).toEqual({ MED: "सामान्य चिकित्सा" });
    const opts = { names, user: "admin", admin: true, shown: true, repaint: () => undefined };
    const el = configNotice(samples.configStatus, opts);
    expect(el.hidden).toBe(false);
    const today = el.querySelector("#config-today");
    expect(today?.textContent).toBe(
      "From today: General Medicine (MED) fee Rs 10 → Rs 15 · New department: Nephrology (NEP), Room 21, Rs 20, Mon-Sat✕",
    );
    expect([...(today?.querySelectorAll(".config-change") ?? [])].map((s) => s.textContent)).toHaveLength(2);
    expect(el.querySelector("#config-upcoming-2026-12-07")?.getAttribute("data-kind")).toBe("upcoming");
    const refused = el.querySelector("#config-refused");
    expect(refused?.getAttribute("role")).toBe("alert");
    expect(refused?.textContent).toContain("Admin → Departments and fees");
    // A clerk is told what happened, not sent to a screen they cannot open.
    const clerk = { ...opts, user: "asha", admin: false };
    expect(configNotice(samples.configStatus, clerk).querySelector("#config-refused")?.textContent).not.toContain("Admin →");
    // Over the other screens, or with nothing to say, it is hidden.
    expect(configNotice(samples.configStatus, { ...opts, shown: false }).hidden).toBe(true);
    expect(configNotice(samples.configStatusSetUp, opts).hidden).toBe(true);
  });

  it("lets a user hide a line they have read; the refusal stays, and the next user sees it all", () => {
    setLang("en");
    let repainted = 0;
    const opts = { names: {}, user: "meena", admin: true, shown: true, repaint: () => repainted++ };
    const el = configNotice(samples.configStatus, opts);
    expect(el.querySelector("#config-refused .config-hide")).toBeNull();
    el.querySelector<HTMLButtonElement>("#config-today .config-hide")?.click();
    expect(repainted).toBe(1);
    const after = configNotice(samples.configStatus, opts);
    expect(after.querySelector("#config-today")).toBeNull();
    expect(after.querySelector("#config-upcoming-2026-12-07")).not.toBeNull();
    expect(after.querySelector("#config-refused")).not.toBeNull();
    expect(configNotice(samples.configStatus, { ...opts, user: "ravi" }).querySelector("#config-today")).not.toBeNull();
  });
});
