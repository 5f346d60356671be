// Finding a returning patient as the clerk types (F3): Parchi's own patients and the records of
// the hospital's index that nobody here has registered yet, marked as such. ↑↓ choose, Enter
// starts the visit (for an index record, that registers them linked to it). A hospital card's
// UHID scanned into the box goes straight to its patient.

import { api, ApiError } from "../api";
import type { Found } from "../api";
import { context, formatDay, showError, showReceipt } from "../app";
import { h, mount } from "../dom";
import { ageSex, exactIdHit, fromIndex, matchedTag, shownId, visitRef } from "../found";
import { fieldMessage, t } from "../i18n";
import { listMove } from "../keys";
import { looksLikeQr, qrComplete, wireCardScanner } from "./card-scan";
import { deptPicker, lastDepartment, rememberDepartment } from "./depts";

interface Metrics {
  search: number[];
}

declare global {
  interface Window {
    __parchiMetrics?: Metrics;
  }
}

function metrics(): Metrics {
  window.__parchiMetrics ??= { search: [] };
  return window.__parchiMetrics;
}

/** What the search panel asks of the screen around it. */
export interface SearchHost {
  /** An ABHA card's QR payload typed into the search box. */
  takeQr(raw: string): void;
  /** A scanned card found nowhere: register the patient with its UHID. */
  registerWithUhid(code: string): void;
}

export class SearchPanel {
  private root: HTMLElement | null = null;
  private results: Found[] = [];
  private selected = -1;
  private searchSeq = 0;
  private searchInFlight = false;
  private searchQueued: { q: string; t0: number } | null = null;
  private readonly host: SearchHost;

  constructor(host: SearchHost) {
    this.host = host;
  }

  el(): HTMLElement {
    this.root = h(
      "section",
      { class: "card find", "aria-labelledby": "find-title" },
      h("h2", { id: "find-title" }, t("reg.find_title"), h("kbd", {}, "F3")),
      h("label", { for: "search" }, t("reg.find_label")),
      h("input", {
        id: "search",
        type: "search",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: t("reg.find_placeholder"),
        role: "combobox",
        "aria-controls": "results",
        "aria-expanded": "false",
      }),
      h("p", { class: "hint" }, t("reg.find_help")),
      h("ul", { id: "results", role: "listbox", class: "results", "aria-label": t("reg.find_title") }),
      h("p", { id: "results-status", class: "muted", role: "status" }),
    );
    return this.root;
  }

  private q<T extends Element>(sel: string): T | null {
    return this.root?.querySelector<T>(sel) ?? null;
  }

  wire(): void {
    const search = this.q<HTMLInputElement>("#search");
    if (!search) return;
    // First, so that a scanner's Enter is the scanner's (not "open the selected hit").
    wireCardScanner(search, (code) => void this.scanned(search, code));
    search.addEventListener("input", () => this.onInput(search.value));
    search.addEventListener("keydown", (e) => this.onKey(e, search));
  }

  focus(): void {
    this.q<HTMLElement>("#search")?.focus();
  }

  /** Puts `query` in the box and shows what it finds (a card's ABHA number or UHID). */
  find(query: string): void {
    const search = this.q<HTMLInputElement>("#search");
    if (!search) return;
    search.value = query;
    this.onInput(query);
  }

  private onInput(value: string): void {
    if (looksLikeQr(value)) {
      // A scanner typing into the search box: wait for the whole payload.
      if (qrComplete(value)) {
        const s = this.q<HTMLInputElement>("#search");
        if (s) s.value = "";
        this.host.takeQr(value);
      }
      return;
    }
    const t0 = performance.now();
    if (this.searchInFlight) {
      this.searchQueued = { q: value, t0 };
      return;
    }
    void this.run(value, t0);
  }

  private async run(query: string, t0: number): Promise<void> {
    const seq = ++this.searchSeq;
    this.searchInFlight = true;
    const status = this.q<HTMLElement>("#results-status");
    try {
      const hits = query.trim() ? await api.search(query, 8) : [];
      if (seq === this.searchSeq && !this.searchQueued) {
        this.show(hits);
        if (status) status.textContent = query.trim() && !hits.length ? t("reg.no_results") : "";
        // Keystroke to the frame that shows the results.
        if (query.trim()) requestAnimationFrame(() => metrics().search.push(performance.now() - t0));
      }
    } catch (e) {
      if (status) status.textContent = e instanceof ApiError ? fieldMessage("search", e.code, e.message) : "";
    } finally {
      this.searchInFlight = false;
      const next = this.searchQueued;
      this.searchQueued = null;
      if (next) void this.run(next.q, next.t0);
    }
  }

  private show(hits: Found[]): void {
    this.results = hits;
    this.selected = hits.length ? 0 : -1;
    this.paint();
  }

  /** A card's code scanned into the box: its patient's visit at once, else what it finds. */
  private async scanned(input: HTMLInputElement, code: string): Promise<void> {
    input.value = code;
    // Whatever was typed before the scan is stale now.
    this.searchSeq++;
    this.searchQueued = null;
    const status = this.q<HTMLElement>("#results-status");
    let hits: Found[];
    try {
      hits = await api.search(code, 8);
    } catch (e) {
      if (status) status.textContent = e instanceof ApiError ? fieldMessage("search", e.code, e.message) : "";
      return;
    }
    this.searchSeq++;
    this.show(hits);
    const exact = exactIdHit(hits, code);
    if (exact) {
      if (status) status.textContent = "";
      this.selected = hits.indexOf(exact);
      this.paint();
      this.openVisit(exact);
    } else if (!hits.length) {
      if (status) status.textContent = t("reg.scan_not_found", { code });
      this.host.registerWithUhid(code);
    } else if (status) {
      status.textContent = "";
    }
  }

  private paint(): void {
    const list = this.q<HTMLElement>("#results");
    const search = this.q<HTMLElement>("#search");
    if (!list) return;
    search?.setAttribute("aria-expanded", this.results.length ? "true" : "false");
    mount(
      list,
      ...this.results.map((f, i) => {
        const index = fromIndex(f);
        const tag = matchedTag(f);
        return h(
          "li",
          {
            role: "option",
            id: `hit-${i}`,
            class: `hit${index ? " index" : ""}${i === this.selected ? " selected" : ""}`,
            "data-source": f.source,
            "aria-selected": i === this.selected ? "true" : "false",
            onclick: () => {
              this.selected = i;
              this.openVisit(f);
            },
          },
          h(
            "div",
            { class: "hit-main" },
            h("span", { class: "hit-name" }, f.name),
            h("span", { class: "hit-agesex" }, ageSex(f)),
            tag ? h("span", { class: "tag" }, tag) : null,
            !index && f.link === "claimed" ? h("span", { class: "tag claimed" }, t("reg.uhid_claimed")) : null,
          ),
          h(
            "div",
            { class: "hit-sub" },
            index ? h("span", { class: "tag index-tag" }, t("reg.from_index")) : null,
            f.guardian ? h("span", {}, f.guardian) : null,
            f.mobile ? h("span", {}, `☎ ${f.mobile}`) : null,
            h("span", { class: "mono hit-id" }, shownId(f)),
            index
              ? f.district
                ? h("span", {}, f.district)
                : null
              : h("span", {}, f.last_visit ? t("reg.last_visit", { date: formatDay(f.last_visit) }) : t("reg.never_visited")),
            index && f.seen ? h("span", {}, t("reg.seen", { date: formatDay(f.seen) })) : null,
          ),
        );
      }),
    );
    if (search && this.selected >= 0) search.setAttribute("aria-activedescendant", `hit-${this.selected}`);
    list.querySelector(".selected")?.scrollIntoView({ block: "nearest" });
  }

  private onKey(e: KeyboardEvent, input: HTMLInputElement): void {
    if (e.key === "Enter") {
      e.preventDefault();
      if (looksLikeQr(input.value)) {
        this.host.takeQr(input.value);
        input.value = "";
        return;
      }
      const f = this.results[this.selected];
      if (f) this.openVisit(f);
      return;
    }
    if (e.key === "Escape") {
      input.value = "";
      this.results = [];
      this.paint();
      return;
    }
    const moved = e.key === "Home" || e.key === "End" ? null : listMove(e.key, this.selected, this.results.length);
    if (moved !== null) {
      e.preventDefault();
      this.selected = moved;
      this.paint();
    }
  }

  /** The department picker for a visit; for an index record, the visit registers them. */
  private openVisit(f: Found): void {
    const c = context();
    const index = fromIndex(f);
    const close = () => {
      overlay.remove();
      this.focus();
    };
    const start = async () => {
      const code = picker.value();
      if (!code) return;
      try {
        const r = await api.newVisit(visitRef(f), code);
        rememberDepartment(code);
        overlay.remove();
        showReceipt(r);
      } catch (e) {
        showError(e);
      }
    };
    const picker = deptPicker("visit-department", c.departments, lastDepartment(), () => undefined, () => void start());
    const overlay = h(
      "div",
      { class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": "visit-title" },
      h(
        "div",
        { class: "card dialog" },
        h("h2", { id: "visit-title" }, t("visit.for", { name: f.name })),
        h(
          "p",
          { class: "patient-line" },
          ageSex(f),
          f.guardian ? ` · ${f.guardian}` : "",
          " · ",
          h("span", { class: "mono", id: "visit-id" }, shownId(f)),
          index ? h("span", { class: "tag index-tag" }, t("reg.from_index")) : null,
        ),
        index ? h("p", { class: "hint", id: "visit-from-index" }, t("visit.from_index", { uhid: f.uhid })) : null,
        h("div", { class: "label" }, t("visit.pick")),
        picker.el,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "secondary", id: "visit-back", onclick: close }, t("visit.cancel_pick")),
          h("button", { type: "button", class: "primary big", id: "visit-start", onclick: () => void start() }, t("visit.start")),
        ),
      ),
    );
    overlay.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        close();
      }
    });
    document.body.append(overlay);
    picker.focus();
  }

  dispose(): void {
    document.querySelectorAll(".modal").forEach((m) => m.remove());
  }
}
