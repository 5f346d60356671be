// Today's visits at this counter, newest first; Enter opens one to reprint or cancel it.

import { api } from "../api";
import type { VisitDetail } from "../api";
import { context, go, registerScreen, showError } from "../app";
import { h, mount } from "../dom";
import { lang, t } from "../i18n";
import { listMove } from "../keys";

class TodayScreen {
  private rows: VisitDetail[] = [];
  private selected = 0;
  private root: HTMLElement | null = null;

  async render(root: HTMLElement): Promise<void> {
    this.root = root;
    try {
      this.rows = await api.todaysVisits();
    } catch (e) {
      showError(e);
      return;
    }
    this.paint();
  }

  private paint(): void {
    const root = this.root;
    if (!root) return;
    const c = context();
    const table = h(
      "table",
      { class: "list", id: "today-table", tabindex: 0, "aria-label": t("today.title", { counter: c.info.counter }) },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, t("today.time")),
          h("th", {}, t("today.token")),
          h("th", {}, t("today.department")),
          h("th", {}, t("today.patient")),
          h("th", {}, t("today.age_sex")),
          h("th", { class: "num" }, t("today.fee")),
          h("th", {}, t("today.status")),
        ),
      ),
      h(
        "tbody",
        {},
        this.rows.map((r, i) =>
          h(
            "tr",
            {
              class: `${i === this.selected ? "selected" : ""}${r.visit.cancelled ? " cancelled" : ""}`,
              "aria-selected": i === this.selected ? "true" : "false",
              "data-visit": r.visit.id,
              onclick: () => go("token", { visit: r.visit.id }),
            },
            h("td", {}, r.visit.issued_at),
            h("td", { class: "token-cell" }, r.visit.token),
            h("td", {}, lang() === "hi" ? r.visit.department_local || r.visit.department_name : r.visit.department_name),
            h("td", {}, r.patient.name),
            h("td", {}, `${r.patient.age} / ${r.patient.sex}`),
            h("td", { class: "num" }, String(r.visit.fee)),
            h(
              "td",
              {},
              r.visit.cancelled
                ? h("span", { class: "badge danger" }, t("token.cancelled"))
                : h("span", { class: "badge" }, t("today.ok")),
              r.visit.reprints > 0 ? h("span", { class: "badge" }, t("today.reprints", { n: r.visit.reprints })) : null,
            ),
          ),
        ),
      ),
    );
    table.addEventListener("keydown", (e) => {
      const moved = listMove(e.key, this.selected, this.rows.length);
      if (moved !== null) {
        e.preventDefault();
        this.selected = moved;
        this.paint();
        return;
      }
      if (e.key === "Enter") {
        const r = this.rows[this.selected];
        if (r) go("token", { visit: r.visit.id });
      }
    });
    mount(
      root,
      h(
        "section",
        { class: "card today" },
        h("h1", {}, t("today.title", { counter: c.info.counter })),
        this.rows.length ? h("p", { class: "hint" }, t("today.help")) : null,
        this.rows.length ? table : h("p", { class: "muted", id: "today-empty" }, t("today.empty")),
      ),
    );
    root.querySelector<HTMLElement>("#today-table")?.focus();
    root.querySelector("tr.selected")?.scrollIntoView({ block: "nearest" });
  }
}

registerScreen("today", () => new TodayScreen());
