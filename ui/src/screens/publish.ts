// The admin's "Departments and fees for every counter": what is in force and what is coming, and
// the table of the configuration in force (departments, waived categories) to change and publish
// for every counter from a date. The core checks every row and field
// (`parchi_app::published::form`) and this screen shows its verdict next to each; the rules of
// what comes into force, and when, are the core's too.

import { api, ApiError } from "../api";
import type { ConfigStatus, PublishForm, PublishedView, SetupDepartment } from "../api";
import { context, notify, setConfigStatus } from "../app";
import { changeWords, shownDay } from "../config-words";
import type { LocalNames } from "../config-words";
import { h, mount } from "../dom";
import { field, input } from "../fields";
import { errorMessage, fieldMessage, t } from "../i18n";
import type { Key } from "../i18n";
import { localNames } from "./config-notice";

const COLUMNS: (keyof SetupDepartment)[] = ["code", "name", "name_local", "room", "days", "fee"];
/** The fields the core names besides the departments' rows. */
const FIELDS = ["waived", "effective_from", "note"] as const;

function changesEl(p: PublishedView, names: LocalNames, id: string): HTMLElement {
  if (!p.changes.length) return h("p", { class: "muted", id }, t("publish.no_changes"));
  return h("ul", { id, class: "config-changes" }, p.changes.map((c) => h("li", { "data-kind": c.kind, "data-code": c.code }, changeWords(c, names))));
}

/** What is in force (since when, published where) and what is coming, with their changes. */
function statusEl(st: ConfigStatus, names: LocalNames): HTMLElement {
  const p = st.in_force;
  const note = (v: PublishedView) => (v.note ? h("p", { class: "hint" }, t("publish.note_is", { note: v.note })) : null);
  return h(
    "div",
    { id: "publish-status" },
    st.refused
      ? h("p", { class: "notice error", id: "publish-refused", role: "alert" }, t("cfg.refused", { day: shownDay(st.refused.effective_from), reason: st.refused.reason }))
      : null,
    h("h2", {}, t("publish.in_force")),
    p
      ? h(
          "div",
          { id: "publish-in-force", "data-config": p.config },
          h("p", {}, t("publish.in_force_since", { day: shownDay(p.effective_from), at: p.published_at, where: t(p.here ? "publish.here" : "publish.elsewhere") })),
          note(p),
          st.changed_today ? h("p", {}, h("strong", {}, t("cfg.from_today")), changesEl(p, names, "publish-today-changes")) : null,
        )
      : h("p", { class: "muted", id: "publish-in-force" }, t("publish.in_force_own")),
    h("h2", {}, t("publish.upcoming")),
    st.upcoming.length
      ? st.upcoming.map((u) =>
          h(
            "div",
            { class: "publish-upcoming", id: `publish-upcoming-${u.effective_from}`, "data-config": u.config },
            h("strong", {}, t("cfg.from_day", { day: shownDay(u.effective_from) })),
            ` ${t("publish.published_at", { at: u.published_at, where: t(u.here ? "publish.here" : "publish.elsewhere") })}`,
            note(u),
            changesEl(u, names, `publish-changes-${u.effective_from}`),
          ),
        )
      : h("p", { class: "muted", id: "publish-no-upcoming" }, t("publish.no_upcoming")),
  );
}

/** Loads the form and the status into `body` (the admin screen's panel). */
export async function renderPublish(body: HTMLElement): Promise<void> {
  const [start, status] = await Promise.all([api.publishForm(), api.configStatus()]);
  void setConfigStatus(status);
  draw(body, start, status);
}

function draw(body: HTMLElement, start: PublishForm, status: ConfigStatus): void {
  const c = context();
  const names = localNames(c.departments);
  const form: PublishForm = structuredClone(start);
  const rows = h("tbody", { id: "publish-departments" });
  const deptMsg = h("div", { class: "msg msg-error", id: "msg-publish-departments", role: "alert" });
  const formMsg = h("div", { class: "msg form-msg", id: "publish-error", role: "alert" });

  /** A problem the core found goes once its field is changed; the next publish checks again. */
  function settled(name: "departments" | (typeof FIELDS)[number]): void {
    if (name === "departments") mount(deptMsg);
    const msg = document.getElementById(`msg-publish-${name}`);
    if (msg) msg.textContent = "";
    document.getElementById(`field-publish-${name}`)?.classList.remove("invalid");
  }

  function drawRows(): void {
    mount(
      rows,
      ...form.departments.map((d, i) =>
        h(
          "tr",
          { "data-code": d.code },
          ...COLUMNS.map((col) => {
            const cell = input(`pub-dept-${i}-${col}`, d[col], { "aria-label": t(`setup.dept.${col}`) });
            cell.addEventListener("input", () => {
              d[col] = cell.value;
              settled("departments");
            });
            return h("td", {}, cell);
          }),
          h(
            "td",
            {},
            h(
              "button",
              {
                type: "button",
                class: "link",
                id: `pub-dept-${i}-remove`,
                "aria-label": t("setup.dept.remove"),
                onclick: () => {
                  form.departments.splice(i, 1);
                  settled("departments");
                  drawRows();
                },
              },
              "✕",
            ),
          ),
        ),
      ),
    );
  }

  function addRow(): void {
    form.departments.push({ code: "", name: "", name_local: "", room: "", days: "Mon-Sat", fee: "0" });
    drawRows();
    document.getElementById(`pub-dept-${form.departments.length - 1}-code`)?.focus();
  }

  const waived = h(
    "div",
    { class: "checks", id: "publish-waived" },
    ...c.info.categories.map((cat) => {
      const box = h("input", { type: "checkbox", id: `pub-waive-${cat}`, value: cat, checked: form.waived.includes(cat) });
      box.addEventListener("change", () => {
        form.waived = c.info.categories.filter((k) => (document.getElementById(`pub-waive-${k}`) as HTMLInputElement | null)?.checked);
        settled("waived");
      });
      return h("label", { class: "check" }, box, ` ${t(`cat.${cat}` as Key)}`);
    }),
  );
  const from = h("input", { id: "publish-effective_from", name: "effective_from", type: "date", value: form.effective_from, min: c.info.today });
  // The date picker writes the date as the system's locale does (12/07/2026): say it as the
  // screens do, with its weekday, so nobody publishes for the wrong month.
  const fromDay = h("strong", { id: "publish-effective-day" });
  const sayDay = () => {
    fromDay.textContent = from.value ? t("publish.effective_day", { day: shownDay(from.value) }) : "";
  };
  sayDay();
  from.addEventListener("input", () => {
    form.effective_from = from.value;
    sayDay();
    settled("effective_from");
  });
  const note = input("publish-note", form.note, { maxlength: "500" });
  note.addEventListener("input", () => {
    form.note = note.value;
    settled("note");
  });

  /** The core's verdict: department rows under the table, every other field at its field. */
  function showProblems(e: unknown): void {
    for (const m of body.querySelectorAll<HTMLElement>(".field .msg")) m.textContent = "";
    for (const f of body.querySelectorAll(".field.invalid")) f.classList.remove("invalid");
    mount(deptMsg);
    if (!(e instanceof ApiError)) {
      formMsg.textContent = String(e);
      return;
    }
    const rowProblems: string[] = [];
    for (const f of e.fields) {
      if (f.field === "departments") {
        rowProblems.push(f.message);
        continue;
      }
      const msg = (FIELDS as readonly string[]).includes(f.field) ? document.getElementById(`msg-publish-${f.field}`) : null;
      if (msg) {
        msg.textContent = fieldMessage(f.field, f.code, f.message);
        document.getElementById(`field-publish-${f.field}`)?.classList.add("invalid");
      } else rowProblems.push(f.message);
    }
    mount(deptMsg, ...rowProblems.map((p) => h("div", {}, p)));
    formMsg.textContent = e.fields.length ? t("publish.fix") : errorMessage(e.code, e.message);
  }

  const submit = h("button", { type: "submit", class: "primary big", id: "publish-submit" }, t("publish.submit"));
  const page = h(
    "form",
    { class: "publish", id: "publish-form", novalidate: true },
    h("h2", { class: "section" }, t("publish.edit")),
    h("p", { class: "hint" }, t("setup.departments_hint")),
    h(
      "table",
      { class: "list setup-departments", id: "publish-table" },
      h("thead", {}, h("tr", {}, ...COLUMNS.map((col) => h("th", {}, t(`setup.dept.${col}`))), h("th", {}))),
      rows,
    ),
    deptMsg,
    h("p", {}, h("button", { type: "button", class: "secondary", id: "publish-add-department", onclick: addRow }, t("setup.add_department"))),
    field("publish-waived", t("setup.waived"), waived),
    field("publish-effective_from", t("publish.effective_from"), h("div", { class: "inline-form" }, from, fromDay), t("publish.effective_hint")),
    field("publish-note", t("publish.note"), note),
    formMsg,
    submit,
  );
  // Enter in a cell must not publish for every counter: only the button does.
  page.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target instanceof HTMLInputElement) e.preventDefault();
  });
  page.addEventListener("submit", (e) => {
    e.preventDefault();
    void (async () => {
      formMsg.textContent = "";
      submit.disabled = true;
      try {
        const st = await api.publishConfig(form);
        await setConfigStatus(st);
        notify(t("publish.published", { day: shownDay(form.effective_from) }), "ok");
        await renderPublish(body);
      } catch (err) {
        showProblems(err);
      } finally {
        submit.disabled = false;
      }
    })();
  });
  drawRows();
  mount(body, h("h1", {}, t("publish.title")), h("p", { class: "hint" }, t("publish.intro")), statusEl(status, names), page);
}
