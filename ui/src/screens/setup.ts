// First-run setup, on a counter whose data directory is empty: the hospital, this counter, its
// departments (typed into the table or imported from a CSV), the categories that pay nothing,
// the printer with a test print, the slip, and the hub. The core checks every field
// (`parchi_app::setup`) and writes the same configuration `parchi configure` takes; this screen
// only collects and shows. The example hospital is a separate button, for a demonstration.

import { api, ApiError } from "../api";
import type { SetupDepartment, SetupForm, SetupStart } from "../api";
import { h, mount } from "../dom";
import { field, input } from "../fields";
import { errorMessage, t } from "../i18n";
import type { Key } from "../i18n";

type TextKey = Exclude<
  { [K in keyof SetupForm]: SetupForm[K] extends string ? K : never }[keyof SetupForm],
  undefined
>;
const COLUMNS: (keyof SetupDepartment)[] = ["code", "name", "name_local", "room", "days", "fee"];

function select(id: string, value: string, options: string[], label: (o: string) => string): HTMLSelectElement {
  const s = h("select", { id, name: id }, ...options.map((o) => h("option", { value: o }, label(o))));
  s.value = value;
  return s;
}

/** Shows the setup; `done` runs once the counter is set up (by the form or as the demo), with
 * what the clerk should read next, if anything. */
export function renderSetup(
  root: HTMLElement,
  start: SetupStart,
  dataDir: string,
  done: (note?: string) => void,
): void {
  const form: SetupForm = structuredClone(start.form);
  const rows = h("tbody", { id: "setup-departments" });
  const deptMsg = h("div", { class: "msg msg-error", id: "msg-departments", role: "alert" });
  const formMsg = h("div", { class: "msg form-msg", id: "setup-error", role: "alert" });
  const printMsg = h("div", { class: "msg", id: "setup-print-result", role: "status" });

  const text = (key: TextKey, id: string): HTMLInputElement => {
    const el = input(id, form[key]);
    el.addEventListener("input", () => {
      form[key] = el.value;
    });
    return el;
  };

  function drawRows(): void {
    mount(
      rows,
      ...form.departments.map((d, i) =>
        h(
          "tr",
          {},
          ...COLUMNS.map((c) => {
            const cell = input(`dept-${i}-${c}`, d[c], { "aria-label": t(`setup.dept.${c}` as Key) });
            cell.addEventListener("input", () => {
              d[c] = cell.value;
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
                "aria-label": t("setup.dept.remove"),
                onclick: () => {
                  form.departments.splice(i, 1);
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
    document.getElementById(`dept-${form.departments.length - 1}-code`)?.focus();
  }

  const csv = h("input", { id: "setup-csv", type: "file", accept: ".csv,text/csv" });
  csv.addEventListener("change", () => {
    const file = csv.files?.[0];
    if (!file) return;
    void (async () => {
      deptMsg.textContent = "";
      try {
        form.departments = await api.setupDepartmentsCsv(await file.text());
        drawRows();
        deptMsg.textContent = "";
        printMsg.textContent = "";
        formMsg.textContent = t("setup.csv_loaded", { n: form.departments.length });
      } catch (e) {
        deptMsg.textContent = problems(e);
      }
      csv.value = "";
    })();
  });

  const waived = h(
    "div",
    { class: "checks", id: "setup-waived" },
    ...start.categories.map((c) => {
      const box = h("input", { type: "checkbox", id: `waive-${c}`, value: c, checked: form.waived.includes(c) });
      box.addEventListener("change", () => {
        form.waived = start.categories.filter((k) => (document.getElementById(`waive-${k}`) as HTMLInputElement | null)?.checked);
      });
      return h("label", { class: "check" }, box, ` ${t(`cat.${c}` as Key)}`);
    }),
  );

  const language = select("setup-local_language", form.local_language, start.slip_languages, (l) => t(`setup.lang.${l}` as Key));
  language.addEventListener("change", () => {
    form.local_language = language.value;
  });
  const layout = select("setup-slip_layout", form.slip_layout, start.slip_layouts, (l) => t(`setup.layout.${l}` as Key));
  layout.addEventListener("change", () => {
    form.slip_layout = layout.value;
  });

  /** Every field problem next to its field; rows and CSV lines under the table. */
  function showProblems(e: unknown): void {
    for (const m of root.querySelectorAll<HTMLElement>(".field .msg")) m.textContent = "";
    for (const f of root.querySelectorAll(".field.invalid")) f.classList.remove("invalid");
    deptMsg.textContent = "";
    if (!(e instanceof ApiError)) {
      formMsg.textContent = String(e);
      return;
    }
    const rowProblems: string[] = [];
    for (const f of e.fields) {
      if (f.field === "departments" || f.field === "departments_csv") {
        rowProblems.push(f.message);
        continue;
      }
      const msg = document.getElementById(`msg-setup-${f.field}`);
      if (msg) {
        msg.textContent = f.message;
        document.getElementById(`field-setup-${f.field}`)?.classList.add("invalid");
      }
    }
    deptMsg.textContent = rowProblems.join("\n");
    formMsg.textContent = e.fields.length ? t("setup.fix") : errorMessage(e.code, e.message);
  }

  const testPrint = h("button", { type: "button", id: "setup-test-print" }, t("setup.test_print"));
  testPrint.addEventListener("click", () => {
    void (async () => {
      printMsg.textContent = t("setup.printing_now");
      try {
        const job = await api.setupTestPrint(form);
        printMsg.textContent = t("setup.printed", { printer: job.printer, job: job.job });
      } catch (e) {
        printMsg.textContent = e instanceof ApiError ? errorMessage(e.code, e.message) : String(e);
      }
    })();
  });

  const finish = h("button", { type: "submit", class: "primary big", id: "setup-finish" }, t("setup.finish"));
  const demo = h("button", { type: "button", id: "setup-demo" }, t("setup.demo"));
  demo.addEventListener("click", () => {
    void (async () => {
      try {
        await api.setupDemo();
        done();
      } catch (e) {
        showProblems(e);
      }
    })();
  });

  const page = h(
    "form",
    { class: "card setup", id: "setup-form", novalidate: true },
    h("h1", {}, t("setup.title")),
    h("p", { class: "muted" }, t("setup.intro")),
    h("h2", {}, t("setup.hospital")),
    field("setup-hospital_name", t("setup.hospital_name"), text("hospital_name", "setup-hospital_name")),
    field("setup-hospital_name_local", t("setup.hospital_name_local"), text("hospital_name_local", "setup-hospital_name_local")),
    field("setup-local_language", t("setup.local_language"), language),
    field("setup-uhid_system", t("setup.uhid_system"), text("uhid_system", "setup-uhid_system"), t("setup.uhid_system_hint")),
    field("setup-uhid_pattern", t("setup.uhid_pattern"), text("uhid_pattern", "setup-uhid_pattern"), t("setup.uhid_pattern_hint")),
    h("h2", {}, t("setup.counter")),
    field("setup-counter_code", t("setup.counter_code"), text("counter_code", "setup-counter_code"), t("setup.counter_code_hint")),
    field("setup-counter_name", t("setup.counter_name"), text("counter_name", "setup-counter_name")),
    h("h2", {}, t("setup.departments")),
    h("p", { class: "hint" }, t("setup.departments_hint")),
    h(
      "table",
      { class: "list setup-departments" },
      h("thead", {}, h("tr", {}, ...COLUMNS.map((c) => h("th", {}, t(`setup.dept.${c}` as Key))), h("th", {}))),
      rows,
    ),
    deptMsg,
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", id: "setup-add-department", onclick: addRow }, t("setup.add_department")),
      h("label", { class: "button", for: "setup-csv" }, t("setup.import_csv")),
      csv,
    ),
    h("h2", {}, t("setup.fees")),
    field("setup-waived", t("setup.waived"), waived),
    h("h2", {}, t("setup.printing")),
    field("setup-printer", t("setup.printer"), text("printer", "setup-printer"), t("setup.printer_hint")),
    field("setup-slip_layout", t("setup.slip_layout"), layout),
    h("div", { class: "row" }, testPrint, printMsg),
    h("h2", {}, t("setup.hub")),
    field("setup-hub", t("setup.hub_address"), text("hub", "setup-hub"), t("setup.hub_hint")),
    field("setup-enrol_code", t("setup.enrol_code"), text("enrol_code", "setup-enrol_code")),
    formMsg,
    h("div", { class: "row" }, finish, demo),
    h("p", { class: "muted" }, t("app.data_dir", { dir: dataDir })),
  );
  page.addEventListener("submit", (e) => {
    e.preventDefault();
    void (async () => {
      formMsg.textContent = "";
      try {
        const r = await api.setupFinish(form);
        done(r.enrol_error ? t("setup.enrol_failed", { why: r.enrol_error }) : undefined);
      } catch (err) {
        showProblems(err);
      }
    })();
  });
  drawRows();
  mount(root, h("main", { class: "setup-wrap", id: "screen" }, page));
  document.getElementById("setup-hospital_name")?.focus();
}

function problems(e: unknown): string {
  if (e instanceof ApiError) {
    return e.fields.length ? e.fields.map((f) => f.message).join("\n") : errorMessage(e.code, e.message);
  }
  return String(e);
}
