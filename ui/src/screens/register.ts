// The registration screen: find a returning patient as you type (left), or register a new one
// (right) with the keyboard alone. An ABHA card's QR code fills the form.

import { looksLikeQr, parseAbhaQr } from "../abha";
import { api, ApiError, emptyForm } from "../api";
import type { PatientForm, PatientSummary } from "../api";
import { context, formatDay, notify, registerScreen, showError, showReceipt } from "../app";
import { h, mount } from "../dom";
import { fieldMessage, t } from "../i18n";
import type { Key } from "../i18n";
import { isSubmitChord, listMove, nextField, sexFromKey } from "../keys";
import { formFromAbha, validateForm } from "../validate";
import type { Problem } from "../validate";
import { deptPicker } from "./depts";
import type { Picker } from "./depts";

type FieldKey = Exclude<keyof PatientForm, "quick">;

interface FieldDef {
  key: FieldKey;
  label: Key;
  kind: "text" | "sex" | "select";
  span: number;
  quick: boolean;
  /** The core's field names whose problems show at this field. */
  shows: string[];
  hint?: Key;
  inputmode?: string;
  maxlength?: number;
  options?: [string, string][];
}

const RELATIONS: [string, string][] = [
  ["", "—"],
  ["S/o", "S/o"],
  ["D/o", "D/o"],
  ["W/o", "W/o"],
  ["C/o", "C/o"],
];

/** Puts back a field's length limit, lifted while a scanner typed a QR payload into it. */
function restoreLimit(input: HTMLInputElement | HTMLSelectElement): void {
  const limit = input.dataset.limit;
  if (input instanceof HTMLInputElement && limit && !input.hasAttribute("maxlength")) {
    input.setAttribute("maxlength", limit);
  }
}

function fields(): FieldDef[] {
  const cats = context().info.categories.map((c): [string, string] => [c, t(`cat.${c}` as Key)]);
  return [
    { key: "name", label: "reg.name", kind: "text", span: 5, quick: true, shows: ["name", "patient"], maxlength: 80 },
    { key: "sex", label: "reg.sex", kind: "sex", span: 3, quick: true, shows: ["sex"] },
    { key: "age", label: "reg.age", kind: "text", span: 2, quick: true, shows: ["age"], hint: "reg.age_hint", maxlength: 12 },
    { key: "dob", label: "reg.dob", kind: "text", span: 2, quick: false, shows: ["dob"], hint: "reg.dob_hint", maxlength: 10 },
    { key: "guardian_relation", label: "reg.guardian", kind: "select", span: 2, quick: false, shows: ["guardian_relation"], options: RELATIONS },
    { key: "guardian_name", label: "reg.guardian_name", kind: "text", span: 6, quick: false, shows: ["guardian_name"], maxlength: 80 },
    { key: "mobile", label: "reg.mobile", kind: "text", span: 4, quick: true, shows: ["mobile"], inputmode: "tel", maxlength: 16 },
    { key: "address", label: "reg.address", kind: "text", span: 5, quick: false, shows: ["address"], maxlength: 120 },
    { key: "district", label: "reg.district", kind: "text", span: 3, quick: false, shows: ["district"], maxlength: 120 },
    { key: "state", label: "reg.state", kind: "text", span: 2, quick: false, shows: ["state"], maxlength: 120 },
    { key: "pincode", label: "reg.pincode", kind: "text", span: 2, quick: false, shows: ["pincode"], inputmode: "numeric", maxlength: 7 },
    { key: "abha", label: "reg.abha", kind: "text", span: 5, quick: false, shows: ["abha_number", "abha_address"], maxlength: 40 },
    { key: "aadhaar", label: "reg.aadhaar", kind: "text", span: 3, quick: false, shows: ["aadhaar"], inputmode: "numeric", maxlength: 14 },
    { key: "category", label: "reg.category", kind: "select", span: 4, quick: true, shows: ["category"], options: cats },
  ];
}

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

// The session's last department and mode, so the next patient starts where the clerk works.
let lastDepartment = "";
let quickMode = false;

class RegisterScreen {
  private form: PatientForm = emptyForm();
  private touched = new Set<string>();
  private submitted = false;
  private serverProblems: { errors: Problem[]; warnings: Problem[] } | null = null;
  private version = 0;
  private checkTimer: number | undefined;
  private picker: Picker | null = null;
  private root: HTMLElement | null = null;
  private results: PatientSummary[] = [];
  private selected = -1;
  private searchSeq = 0;
  private searchInFlight = false;
  private searchQueued: { q: string; t0: number } | null = null;
  private busy = false;
  private params: Record<string, unknown>;

  constructor(params: Record<string, unknown>) {
    this.params = params;
    this.form.quick = quickMode;
  }

  render(root: HTMLElement): void {
    this.root = root;
    const c = context();
    const defs = fields();
    const grid = h("div", { class: "grid" });
    for (const d of defs) grid.append(this.fieldEl(d));
    this.picker = deptPicker(
      "department",
      c.departments,
      lastDepartment,
      (code) => {
        lastDepartment = code;
        this.touched.add("department");
        this.updateFee();
        this.revalidate();
      },
      () => this.q<HTMLButtonElement>("#register-submit")?.focus(),
      false,
    );
    lastDepartment = this.picker.value();

    const left = h(
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
    const key = (k: string, what: Key) => [h("dt", {}, h("kbd", {}, k)), h("dd", {}, t(what))];
    const legend = h(
      "section",
      { class: "card keys", id: "keys", "aria-label": t("keys.title") },
      h("h2", {}, t("keys.title")),
      h(
        "dl",
        {},
        key("F2", "keys.new"),
        key("F3", "keys.find"),
        key("Enter", "keys.next"),
        key("M F O", "keys.sex"),
        key("1–9", "keys.department"),
        key("Ctrl+Enter", "keys.register"),
        key("F6", "keys.scan"),
        key("F8", "keys.quick"),
        key("F4", "keys.today"),
      ),
    );

    const right = h(
      "form",
      { class: "card newpatient", id: "register-form", novalidate: true, autocomplete: "off" },
      h(
        "div",
        { class: "form-head" },
        h("h2", {}, t("reg.new_title"), h("kbd", {}, "F2")),
        h(
          "label",
          { class: "switch", for: "quick" },
          h("input", { type: "checkbox", id: "quick", "data-enter-skip": "", tabindex: -1 }),
          h("span", {}, t("reg.quick_mode")),
          h("kbd", {}, "F8"),
        ),
        h(
          "div",
          { class: "qr" },
          h("label", { for: "qr" }, t("reg.qr_label"), h("kbd", {}, "F6")),
          h("input", {
            id: "qr",
            type: "text",
            autocomplete: "off",
            spellcheck: "false",
            placeholder: t("reg.qr_placeholder"),
            "data-enter-skip": "",
            tabindex: -1,
          }),
        ),
      ),
      h("p", { class: "hint quick-help", id: "quick-help", hidden: !this.form.quick }, t("reg.quick_help")),
      grid,
      h(
        "div",
        { class: "field dept-field", "data-field": "department" },
        h("div", { class: "label-row" }, h("span", { class: "label", id: "department-label" }, t("reg.department")), h("span", { class: "hint" }, t("reg.department_help"))),
        this.picker.el,
        h("div", { class: "msg", id: "msg-department" }),
      ),
      h(
        "div",
        { class: "submit-row" },
        h("div", { class: "fee", id: "fee" }),
        h("div", { class: "msg form-msg", id: "form-msg", role: "alert" }),
        h("button", { type: "button", class: "secondary", id: "register-clear", "data-enter-skip": "", onclick: () => this.clearForm() }, t("reg.clear")),
        h("button", { type: "submit", class: "primary big", id: "register-submit" }, t("reg.submit")),
      ),
      h("p", { class: "hint right" }, t("reg.submit_hint")),
    );

    mount(root, h("div", { class: "register" }, h("div", { class: "left-col" }, left, legend), right));
    this.wire();
    this.applyQuick();
    this.updateFee();
    const focus = this.params.focus === "search" ? "#search" : "#f-name";
    this.q<HTMLElement>(focus)?.focus();
  }

  private q<T extends Element>(sel: string): T | null {
    return this.root?.querySelector<T>(sel) ?? null;
  }

  private fieldEl(d: FieldDef): HTMLElement {
    const id = `f-${d.key}`;
    let control: HTMLElement;
    if (d.kind === "sex") {
      const opt = (code: "M" | "F" | "O", label: Key) =>
        h(
          "div",
          {
            class: "seg",
            role: "radio",
            id: `sex-${code}`,
            "data-code": code,
            "aria-checked": "false",
            onclick: () => {
              this.setSex(code);
              this.q<HTMLElement>(`#${id}`)?.focus();
            },
          },
          h("span", { class: "seg-key" }, code),
          h("span", { class: "seg-label" }, t(label)),
        );
      control = h(
        "div",
        { class: "segmented", id, role: "radiogroup", tabindex: 0, "aria-labelledby": `${id}-label`, "aria-describedby": `msg-${d.key}` },
        opt("M", "reg.sex_m"),
        opt("F", "reg.sex_f"),
        opt("O", "reg.sex_o"),
      );
    } else if (d.kind === "select") {
      control = h(
        "select",
        { id, name: d.key, "aria-describedby": `msg-${d.key}` },
        (d.options ?? []).map(([v, label]) => h("option", { value: v }, label)),
      );
      (control as HTMLSelectElement).value = this.form[d.key];
    } else {
      control = h("input", {
        id,
        name: d.key,
        type: "text",
        autocomplete: "off",
        spellcheck: "false",
        inputmode: d.inputmode ?? null,
        maxlength: d.maxlength ?? null,
        "data-limit": d.maxlength ?? null,
        placeholder: d.hint ? t(d.hint) : null,
        "aria-describedby": `msg-${d.key}`,
        value: this.form[d.key],
      });
    }
    return h(
      "div",
      { class: `field span-${d.span}`, "data-field": d.key, "data-quick": d.quick ? "yes" : "no" },
      h("label", { for: id, id: `${id}-label` }, t(d.label)),
      control,
      h("div", { class: "msg", id: `msg-${d.key}`, "aria-live": "polite" }),
    );
  }

  private wire(): void {
    const form = this.q<HTMLFormElement>("#register-form");
    if (!form) return;
    for (const d of fields()) {
      const el = this.q<HTMLElement>(`#f-${d.key}`);
      if (!el) continue;
      if (d.kind === "sex") {
        el.addEventListener("keydown", (e) => {
          const code = sexFromKey(e.key);
          if (code) {
            e.preventDefault();
            this.setSex(code);
            nextField(el, form)?.focus();
          } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
            e.preventDefault();
            const order = ["M", "F", "O"] as const;
            const i = order.indexOf(this.form.sex as "M" | "F" | "O");
            const n = e.key === "ArrowRight" ? Math.min(i + 1, 2) : Math.max(i - 1, 0);
            this.setSex(order[i < 0 ? 0 : n]);
          }
        });
        continue;
      }
      const input = el as HTMLInputElement | HTMLSelectElement;
      const onChange = () => {
        // A 2D scanner types the ABHA card's QR payload into whichever field has focus.
        if (input instanceof HTMLInputElement && looksLikeQr(input.value)) {
          // Room for the whole payload: the field's own length limit would cut it short.
          input.removeAttribute("maxlength");
          if (input.value.trim().endsWith("}") && parseAbhaQr(input.value).ok) {
            const payload = input.value;
            input.value = this.form[d.key];
            restoreLimit(input);
            this.takeQr(payload);
          }
          return;
        }
        restoreLimit(input);
        this.form[d.key] = input.value;
        this.touched.add(d.key);
        if (d.key === "category") this.updateFee();
        if (d.key === "age" && input.value.trim()) this.clearOther("dob");
        if (d.key === "dob" && input.value.trim()) this.clearOther("age");
        this.revalidate();
      };
      input.addEventListener("input", onChange);
      input.addEventListener("change", onChange);
      input.addEventListener("blur", () => {
        if (input.value.trim()) this.touched.add(d.key);
        this.revalidate();
      });
    }
    form.addEventListener("keydown", (e) => {
      const target = e.target as HTMLElement;
      if (isSubmitChord(e)) {
        e.preventDefault();
        void this.submit();
        return;
      }
      if (e.key !== "Enter") return;
      if (target.id === "qr") return;
      if (target instanceof HTMLInputElement && looksLikeQr(target.value)) {
        e.preventDefault();
        const payload = target.value;
        target.value = this.form[target.name as FieldKey] ?? "";
        restoreLimit(target);
        this.takeQr(payload);
        return;
      }
      if (target instanceof HTMLButtonElement || target.classList.contains("depts")) return;
      e.preventDefault();
      if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement) {
        const key = target.name;
        if (key && target.value.trim()) this.touched.add(key);
        this.revalidate();
      }
      const next = nextField(target, form);
      if (next) next.focus();
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
    const quick = this.q<HTMLInputElement>("#quick");
    quick?.addEventListener("change", () => this.toggleQuick(quick.checked));
    const qr = this.q<HTMLInputElement>("#qr");
    qr?.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.takeQr(qr.value);
        qr.value = "";
      }
    });
    qr?.addEventListener("input", () => {
      if (qr.value.trim().endsWith("}") && parseAbhaQr(qr.value).ok) {
        this.takeQr(qr.value);
        qr.value = "";
      }
    });
    const search = this.q<HTMLInputElement>("#search");
    search?.addEventListener("input", () => this.onSearchInput(search.value));
    search?.addEventListener("keydown", (e) => this.onSearchKey(e, search));
  }

  private clearOther(key: "age" | "dob"): void {
    // Age and date of birth are alternatives: typing one clears the other.
    if (!this.form[key]) return;
    this.form[key] = "";
    const el = this.q<HTMLInputElement>(`#f-${key}`);
    if (el) el.value = "";
  }

  private setSex(code: "M" | "F" | "O"): void {
    this.form.sex = code;
    this.touched.add("sex");
    const group = this.q<HTMLElement>("#f-sex");
    group?.querySelectorAll<HTMLElement>(".seg").forEach((s) => {
      const on = s.dataset.code === code;
      s.classList.toggle("selected", on);
      s.setAttribute("aria-checked", on ? "true" : "false");
    });
    if (group) group.dataset.value = code;
    this.revalidate();
  }

  onKey(e: KeyboardEvent): boolean {
    if (document.querySelector(".modal")) return false;
    if (e.key === "F8") {
      e.preventDefault();
      this.toggleQuick(!this.form.quick);
      return true;
    }
    if (e.key === "F2") {
      e.preventDefault();
      this.q<HTMLElement>("#f-name")?.focus();
      return true;
    }
    if (e.key === "F3") {
      e.preventDefault();
      this.q<HTMLElement>("#search")?.focus();
      return true;
    }
    if (e.key === "F6") {
      e.preventDefault();
      this.q<HTMLElement>("#qr")?.focus();
      return true;
    }
    return false;
  }

  private toggleQuick(on: boolean): void {
    this.form.quick = on;
    quickMode = on;
    const box = this.q<HTMLInputElement>("#quick");
    if (box) box.checked = on;
    this.applyQuick();
    this.revalidate();
  }

  private applyQuick(): void {
    const on = this.form.quick;
    this.root?.querySelectorAll<HTMLElement>(".grid .field").forEach((f) => {
      f.hidden = on && f.dataset.quick === "no";
    });
    const help = this.q<HTMLElement>("#quick-help");
    if (help) help.hidden = !on;
    const name = this.q<HTMLElement>("#f-name-label");
    if (name) name.textContent = on ? `${t("reg.name")} (${t("reg.optional")})` : t("reg.name");
    this.q<HTMLElement>("#register-form")?.classList.toggle("quick", on);
  }

  private updateFee(): void {
    const el = this.q<HTMLElement>("#fee");
    if (!el) return;
    const c = context();
    const dept = c.departments.find((d) => d.code === this.picker?.value());
    if (!dept) {
      el.textContent = "";
      return;
    }
    const waived = c.info.waived.includes(this.form.category);
    const fee = waived ? 0 : dept.fee;
    mount(
      el,
      `${t("reg.fee")}: `,
      h("strong", { id: "fee-amount" }, t("reg.rupees", { n: fee })),
      waived && dept.fee > 0 ? ` (${t("reg.fee_waived")})` : "",
    );
  }

  /** Client checks at once; the core's verdict a moment later (it is the authority). */
  private revalidate(): void {
    this.version++;
    this.serverProblems = null;
    this.paintProblems();
    window.clearTimeout(this.checkTimer);
    const v = this.version;
    this.checkTimer = window.setTimeout(() => {
      void api
        .checkPatient(this.form, this.picker?.value() || null)
        .then((r) => {
          if (v !== this.version) return;
          this.serverProblems = {
            errors: r.errors.map((e) => ({ field: e.field, code: e.code, message: e.message })),
            warnings: r.warnings.map((e) => ({ field: e.field, code: e.code, message: e.message })),
          };
          this.paintProblems();
        })
        .catch(() => {
          // The client's checks stay on screen; the core checks again on save.
        });
    }, 200);
  }

  private problems(): { errors: (Problem & { message?: string })[]; warnings: (Problem & { message?: string })[] } {
    const client = validateForm(this.form, context().info.today, this.picker?.value() ?? "");
    if (!this.serverProblems) return client;
    // The core's verdict wins per field; client problems fill fields the core has not judged.
    const errors = [...this.serverProblems.errors];
    for (const c of client.errors) if (!errors.some((e) => e.field === c.field)) errors.push(c);
    return { errors, warnings: this.serverProblems.warnings };
  }

  private shownAt(field: string): FieldKey | "department" | null {
    if (field === "department") return "department";
    const d = fields().find((f) => f.shows.includes(field));
    return d ? d.key : null;
  }

  private paintProblems(): void {
    const { errors, warnings } = this.problems();
    const visible = (key: string) => this.submitted || this.touched.has(key);
    const byField = new Map<string, { text: string; kind: "error" | "warning" }>();
    for (const w of warnings) {
      const at = this.shownAt(w.field);
      if (at && visible(at)) byField.set(at, { text: fieldMessage(w.field, w.code, (w as { message?: string }).message), kind: "warning" });
    }
    for (const e of errors) {
      const at = this.shownAt(e.field);
      if (at && visible(at)) byField.set(at, { text: fieldMessage(e.field, e.code, (e as { message?: string }).message), kind: "error" });
    }
    this.root?.querySelectorAll<HTMLElement>("[data-field]").forEach((wrap) => {
      const key = wrap.dataset.field ?? "";
      const msg = wrap.querySelector<HTMLElement>(".msg");
      const control = wrap.querySelector<HTMLElement>("input, select, .segmented, .depts");
      const p = byField.get(key);
      wrap.classList.toggle("invalid", p?.kind === "error");
      wrap.classList.toggle("warn", p?.kind === "warning");
      control?.setAttribute("aria-invalid", p?.kind === "error" ? "true" : "false");
      if (msg) msg.textContent = p?.text ?? "";
    });
  }

  private async submit(): Promise<void> {
    if (this.busy) return;
    this.submitted = true;
    const department = this.picker?.value() ?? "";
    const { errors } = validateForm(this.form, context().info.today, department);
    this.paintProblems();
    const formMsg = this.q<HTMLElement>("#form-msg");
    if (errors.length) {
      if (formMsg) formMsg.textContent = t("reg.fix_errors");
      this.focusProblem(errors[0].field);
      return;
    }
    this.busy = true;
    try {
      const r = await api.register(this.form, department);
      lastDepartment = department;
      showReceipt(r);
    } catch (e) {
      if (e instanceof ApiError && e.fields.length) {
        this.serverProblems = { errors: e.fields, warnings: [] };
        this.paintProblems();
        if (formMsg) formMsg.textContent = t("reg.fix_errors");
        this.focusProblem(e.fields[0].field);
      } else {
        showError(e);
      }
    } finally {
      this.busy = false;
    }
  }

  private focusProblem(field: string): void {
    const at = this.shownAt(field);
    if (at === "department") this.picker?.focus();
    else if (at) this.q<HTMLElement>(`#f-${at}`)?.focus();
  }

  private clearForm(): void {
    this.form = emptyForm();
    this.form.quick = quickMode;
    this.touched.clear();
    this.submitted = false;
    this.serverProblems = null;
    if (this.root) this.render(this.root);
  }

  private takeQr(raw: string): void {
    const parsed = parseAbhaQr(raw);
    if (!parsed.ok) {
      notify(parsed.error === "not_abha" ? t("reg.qr_not_abha") : t("reg.qr_not_json"), "error");
      return;
    }
    const filled = formFromAbha(parsed.data, context().info.today);
    for (const [k, v] of Object.entries(filled) as [FieldKey, string][]) {
      this.form[k] = v;
      const el = this.q<HTMLInputElement | HTMLSelectElement>(`#f-${k}`);
      if (el && !(el instanceof HTMLDivElement)) el.value = v;
      if (v) this.touched.add(k);
    }
    if (filled.sex) this.setSex(filled.sex as "M" | "F" | "O");
    if (this.form.quick) this.toggleQuick(false);
    this.revalidate();
    notify(t("reg.qr_filled"), "ok");
    // Returning patients are found by their ABHA number; show any match at once.
    const search = this.q<HTMLInputElement>("#search");
    if (search && filled.abha) {
      search.value = filled.abha;
      this.onSearchInput(filled.abha);
    }
    this.q<HTMLElement>("#f-name")?.focus();
  }

  // ---- search as you type ----

  private onSearchInput(value: string): void {
    if (looksLikeQr(value)) {
      // A scanner typing into the search box: wait for the whole payload.
      if (value.trim().endsWith("}") && parseAbhaQr(value).ok) {
        const s = this.q<HTMLInputElement>("#search");
        if (s) s.value = "";
        this.takeQr(value);
      }
      return;
    }
    const t0 = performance.now();
    if (this.searchInFlight) {
      this.searchQueued = { q: value, t0 };
      return;
    }
    void this.runSearch(value, t0);
  }

  private async runSearch(query: string, t0: number): Promise<void> {
    const seq = ++this.searchSeq;
    this.searchInFlight = true;
    const status = this.q<HTMLElement>("#results-status");
    try {
      const hits = query.trim() ? await api.search(query, 8) : [];
      if (seq === this.searchSeq && !this.searchQueued) {
        this.results = hits;
        this.selected = hits.length ? 0 : -1;
        this.paintResults();
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
      if (next) void this.runSearch(next.q, next.t0);
    }
  }

  private paintResults(): void {
    const list = this.q<HTMLElement>("#results");
    const search = this.q<HTMLElement>("#search");
    if (!list) return;
    search?.setAttribute("aria-expanded", this.results.length ? "true" : "false");
    mount(
      list,
      ...this.results.map((p, i) =>
        h(
          "li",
          {
            role: "option",
            id: `hit-${i}`,
            class: i === this.selected ? "hit selected" : "hit",
            "aria-selected": i === this.selected ? "true" : "false",
            onclick: () => {
              this.selected = i;
              this.openVisit(p);
            },
          },
          h(
            "div",
            { class: "hit-main" },
            h("span", { class: "hit-name" }, p.name),
            h("span", { class: "hit-agesex" }, `${p.age} / ${p.sex}`),
            p.matched && p.matched !== "name" ? h("span", { class: "tag" }, p.matched.replace("_", " ")) : null,
          ),
          h(
            "div",
            { class: "hit-sub" },
            p.guardian ? h("span", {}, p.guardian) : null,
            p.mobile ? h("span", {}, `☎ ${p.mobile}`) : null,
            h("span", { class: "mono" }, p.uhid ?? p.temp_id),
            h("span", {}, p.last_visit ? t("reg.last_visit", { date: formatDay(p.last_visit) }) : t("reg.never_visited")),
          ),
        ),
      ),
    );
    if (search && this.selected >= 0) search.setAttribute("aria-activedescendant", `hit-${this.selected}`);
    list.querySelector(".selected")?.scrollIntoView({ block: "nearest" });
  }

  private onSearchKey(e: KeyboardEvent, input: HTMLInputElement): void {
    if (e.key === "Enter") {
      e.preventDefault();
      if (looksLikeQr(input.value)) {
        this.takeQr(input.value);
        input.value = "";
        return;
      }
      const p = this.results[this.selected];
      if (p) this.openVisit(p);
      return;
    }
    if (e.key === "Escape") {
      input.value = "";
      this.results = [];
      this.paintResults();
      return;
    }
    const moved = e.key === "Home" || e.key === "End" ? null : listMove(e.key, this.selected, this.results.length);
    if (moved !== null) {
      e.preventDefault();
      this.selected = moved;
      this.paintResults();
    }
  }

  private openVisit(p: PatientSummary): void {
    const c = context();
    const close = () => {
      overlay.remove();
      this.q<HTMLElement>("#search")?.focus();
    };
    const start = async () => {
      const code = picker.value();
      if (!code) return;
      try {
        const r = await api.newVisit(p.patient_id, code);
        lastDepartment = code;
        overlay.remove();
        showReceipt(r);
      } catch (e) {
        showError(e);
      }
    };
    const picker = deptPicker("visit-department", c.departments, lastDepartment, () => undefined, () => void start());
    const overlay = h(
      "div",
      { class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": "visit-title" },
      h(
        "div",
        { class: "card dialog" },
        h("h2", { id: "visit-title" }, t("visit.for", { name: p.name })),
        h(
          "p",
          { class: "patient-line" },
          `${p.age} / ${p.sex}`,
          p.guardian ? ` · ${p.guardian}` : "",
          ` · ${p.uhid ?? p.temp_id}`,
        ),
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
    window.clearTimeout(this.checkTimer);
    document.querySelectorAll(".modal").forEach((m) => m.remove());
  }
}

registerScreen("register", (params) => new RegisterScreen(params));
