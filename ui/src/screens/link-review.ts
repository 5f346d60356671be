// Admin → Link review: after an outage, every patient registered here is matched with the
// hospital's index (the core's `link`); the uncertain ones wait here, one at a time, the Parchi
// record beside each hospital record proposed, with the score and the reasons. Link it (and
// approve what Parchi captured for the hospital's record), reject that record, or mark the
// patient new to the hospital. Keys: 1–9 pick a hospital record, A link, R reject, N new.

import { api } from "../api";
import type { CentralSummary, LinkQueue, LinkRun, PatientSummary, ReviewCandidate, ReviewItem, UpdatableField } from "../api";
import { formatDay, notify, showError } from "../app";
import { h, mount } from "../dom";
import { ageSex } from "../found";
import { has, t } from "../i18n";
import type { Key } from "../i18n";
import { digitPick } from "../keys";

// The last run's counts stay on screen while the admin works through the queue.
let lastRun: LinkRun | null = null;

/** A guardian without its relation ("W/o Ramesh Kumar" → "ramesh kumar"), to compare. */
function guardianName(g: string | null | undefined): string {
  return (g ?? "").replace(/^[SDWC]\/o\s+/i, "").trim().toLowerCase();
}

function row(label: string, value: string | null | undefined, differs = false): HTMLElement {
  return h(
    "div",
    { class: differs ? "kv diff" : "kv" },
    h("span", { class: "k" }, label),
    h("span", { class: "v" }, value || "—"),
  );
}

function basisLabel(basis: string): string {
  const k = `admin.link_basis_${basis}`;
  return has(k) ? t(k) : basis;
}

/** The Parchi patient's value of a field the hospital's record may take, when the summary has it. */
function ownValue(p: PatientSummary, f: UpdatableField): string | null {
  switch (f) {
    case "mobile":
      return p.mobile;
    case "abha_number":
      return p.abha_number;
    default:
      return null;
  }
}

export class LinkReview {
  private queue: LinkQueue | null = null;
  private selected = 0;
  private busy = false;
  private readonly body: HTMLElement;

  constructor(body: HTMLElement) {
    this.body = body;
  }

  async load(): Promise<void> {
    this.queue = await api.linkReview();
    this.selected = 0;
    this.paint();
  }

  private item(): ReviewItem | null {
    return this.queue?.items[0] ?? null;
  }

  private paint(): void {
    const items = this.queue?.items ?? [];
    const item = this.item();
    mount(
      this.body,
      h("h1", {}, t("admin.link"), items.length ? ` (${t("admin.link_waiting", { n: items.length })})` : ""),
      h("p", { class: "hint" }, t("admin.link_help")),
      h(
        "div",
        { class: "inline-form" },
        h("button", { type: "button", class: "secondary", id: "link-run", onclick: () => void this.run() }, t("admin.link_run")),
        h("p", { class: "link-counts", id: "link-counts", role: "status" }, lastRun ? this.counts(lastRun) : ""),
      ),
      item ? this.itemEl(item) : h("p", { class: "muted", id: "link-none" }, t("admin.link_none")),
    );
    if (item) this.body.querySelector<HTMLElement>("#link-accept")?.focus();
  }

  private counts(r: LinkRun): string {
    return t("admin.link_counts", {
      patients: r.patients,
      records: r.index_records,
      linked: r.linked,
      review: r.review,
      new: r.new,
      merged: r.merged,
    });
  }

  private async run(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const counts = this.body.querySelector<HTMLElement>("#link-counts");
    if (counts) counts.textContent = t("admin.link_running");
    try {
      lastRun = await api.linkRun();
      await this.load();
    } catch (e) {
      if (counts) counts.textContent = "";
      showError(e);
    } finally {
      this.busy = false;
    }
  }

  private patientEl(p: PatientSummary): HTMLElement {
    return h(
      "div",
      { class: "side", id: "link-patient" },
      h("h3", {}, t("admin.link_patient")),
      h("div", { class: "side-name" }, p.name),
      row(t("field.age_sex"), ageSex(p)),
      row(t("field.guardian"), p.guardian),
      row(t("field.mobile"), p.mobile),
      row(t("field.abha"), p.abha_number),
      row(t("field.temp_id"), p.temp_id),
      row(t("field.uhid"), p.uhid ? `${p.uhid}${p.link === "claimed" ? ` (${t("reg.uhid_claimed")})` : ""}` : null),
      row(t("reg.last_visit", { date: "" }).trim(), p.last_visit ? formatDay(p.last_visit) : null),
    );
  }

  private candidateEl(p: PatientSummary, c: ReviewCandidate, i: number): HTMLElement {
    const r: CentralSummary | null = c.record;
    const on = i === this.selected;
    return h(
      "div",
      {
        class: on ? "side cand selected" : "side cand",
        id: `link-cand-${i}`,
        role: "radio",
        "aria-checked": on ? "true" : "false",
        "data-uhid": c.uhid,
        onclick: () => this.pick(i),
      },
      h(
        "h3",
        {},
        h("kbd", {}, String(i + 1)),
        ` ${t("admin.link_candidate", { n: i + 1 })} `,
        h("span", { class: "mono" }, c.uhid),
        h("span", { class: "badge" }, basisLabel(c.basis)),
        h("span", { class: c.score >= 0.9 ? "badge ok" : "badge danger" }, t("admin.score", { score: c.score.toFixed(2) })),
      ),
      r
        ? [
            h("div", { class: "side-name" }, r.name),
            row(t("field.age_sex"), ageSex(r), ageSex(r) !== ageSex(p)),
            row(t("field.guardian"), r.guardian, guardianName(r.guardian) !== guardianName(p.guardian)),
            row(t("field.mobile"), r.mobile, (r.mobile ?? "") !== (p.mobile ?? "")),
            row(t("field.district"), r.district),
            row(t("field.seen"), r.seen ? formatDay(r.seen) : null),
          ]
        : h("p", { class: "muted" }, t("admin.link_no_record")),
      c.reasons.length ? h("p", { class: "link-reasons" }, c.reasons.join(" · ")) : null,
    );
  }

  private itemEl(item: ReviewItem): HTMLElement {
    const p = item.patient;
    const updatable = this.queue?.updatable ?? [];
    const updates = h(
      "fieldset",
      { class: "link-updates", id: "link-updates" },
      h("legend", {}, t("admin.link_updates")),
      updatable.map((f) => {
        const own = ownValue(p, f);
        const label = has(`field.${f}`) ? t(`field.${f}` as Key) : f;
        return h(
          "label",
          { for: `link-upd-${f}` },
          h("input", { type: "checkbox", id: `link-upd-${f}`, value: f }),
          own ? `${label}: ${own}` : label,
        );
      }),
    );
    return h(
      "section",
      { class: "link-item", id: "link-item", "data-patient": p.patient_id },
      item.notes.length ? h("p", { class: "link-notes" }, `${t("admin.link_note")}: ${item.notes.join(" · ")}`) : null,
      h(
        "div",
        { class: "side-by-side" },
        this.patientEl(p),
        h("div", { class: "link-cands", role: "radiogroup", "aria-label": t("admin.link_candidate", { n: "" }) }, item.candidates.map((c, i) => this.candidateEl(p, c, i))),
      ),
      updates,
      h(
        "div",
        { class: "inline-form" },
        h("label", { for: "link-reason" }, t("admin.link_reason")),
        h("input", { id: "link-reason", type: "text", autocomplete: "off", spellcheck: "false", maxlength: 200 }),
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", id: "link-accept", disabled: !item.candidates.length, onclick: () => void this.decide("accept") }, h("kbd", {}, "A"), t("admin.link_accept")),
        h("button", { type: "button", class: "secondary", id: "link-reject", disabled: !item.candidates.length, onclick: () => void this.decide("reject") }, h("kbd", {}, "R"), t("admin.link_reject")),
        h("button", { type: "button", class: "secondary", id: "link-new", onclick: () => void this.decide("new") }, h("kbd", {}, "N"), t("admin.link_new")),
      ),
      h("p", { class: "hint" }, t("admin.link_keys")),
    );
  }

  private pick(i: number): void {
    const n = this.item()?.candidates.length ?? 0;
    if (i < 0 || i >= n) return;
    this.selected = i;
    this.body.querySelectorAll<HTMLElement>(".side.cand").forEach((el, j) => {
      el.classList.toggle("selected", j === i);
      el.setAttribute("aria-checked", j === i ? "true" : "false");
    });
  }

  private async decide(what: "accept" | "reject" | "new"): Promise<void> {
    const item = this.item();
    if (!item || this.busy) return;
    const cand = item.candidates[this.selected];
    const reason = this.body.querySelector<HTMLInputElement>("#link-reason")?.value ?? "";
    const update = [...this.body.querySelectorAll<HTMLInputElement>("#link-updates input:checked")].map(
      (b) => b.value as UpdatableField,
    );
    const patient = item.patient.patient_id;
    this.busy = true;
    try {
      if (what === "accept" && cand) {
        await api.linkAccept(patient, cand.uhid, update);
        notify(t("admin.link_accepted", { uhid: cand.uhid }), "ok");
      } else if (what === "reject" && cand) {
        await api.linkReject(patient, cand.uhid, reason);
        notify(t("admin.link_rejected", { uhid: cand.uhid }), "ok");
      } else if (what === "new") {
        await api.linkNew(patient, reason);
        notify(t("admin.link_marked_new"), "ok");
      } else {
        return;
      }
      await this.load();
    } catch (e) {
      showError(e);
    } finally {
      this.busy = false;
    }
  }

  /** The screen's keys, unless the admin is typing a reason. */
  onKey(e: KeyboardEvent): boolean {
    const target = e.target as HTMLElement | null;
    if (target instanceof HTMLInputElement && target.type === "text") return false;
    if (e.ctrlKey || e.altKey || e.metaKey || !this.item()) return false;
    const pick = digitPick(e.key, this.item()?.candidates.length ?? 0);
    if (pick !== null) {
      e.preventDefault();
      this.pick(pick);
      return true;
    }
    const action = ({ a: "accept", r: "reject", n: "new" } as const)[e.key.toLowerCase() as "a" | "r" | "n"];
    if (!action) return false;
    e.preventDefault();
    void this.decide(action);
    return true;
  }
}
