// The new-patient form of the registration screen, with the keyboard alone: Enter moves on, M/F/O
// pick the sex, 1–9 the department, Ctrl+Enter registers. Problems show under their field as the
// clerk types (the client's checks at once, the core's a moment later: the core's verdict wins),
// the UHID from the patient's hospital card included.

import { api, ApiError, emptyForm } from "../api";
import type { PatientForm } from "../api";
import { context, notify, showError, showReceipt } from "../app";
import { h, mount } from "../dom";
import { fieldMessage, t } from "../i18n";
import type { Key } from "../i18n";
import { isSubmitChord, nextField, sexFromKey } from "../keys";
import { validateForm } from "../validate";
import type { Problem } from "../validate";
import { looksLikeQr, qrInField, readAbhaCard, restoreLimit, wireCardScanner, wireQrField } from "./card-scan";
import { deptPicker, lastDepartment, rememberDepartment } from "./depts";
import type { Picker } from "./depts";

/** A field of the form: the patient's details, and the UHID on their hospital card (sent beside them). */
type FieldKey = Exclude<keyof PatientForm, "quick"> | "uhid";

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
    { key: "uhid", label: "reg.uhid", kind: "text", span: 3, quick: false, shows: ["uhid"], hint: "reg.uhid_hint", maxlength: 24 },
    { key: "abha", label: "reg.abha", kind: "text", span: 3, quick: false, shows: ["abha_number", "abha_address"], maxlength: 40 },
    { key: "aadhaar", label: "reg.aadhaar", kind: "text", span: 3, quick: false, shows: ["aadhaar"], inputmode: "numeric", maxlength: 14 },
    { key: "category", label: "reg.category", kind: "select", span: 3, quick: true, shows: ["category"], options: cats },
  ];
}

// The session's mode, so the next patient starts as the clerk works.
let quickMode = false;

/** What the form asks of the screen around it. */
export interface FormHost {
  /** Shows the returning patients a card's ABHA number or UHID finds. */
  find(query: string): void;
  /** Draws the whole screen again (after "Clear form"). */
  redraw(): void;
}

type Problems = { errors: (Problem & { message?: string })[]; warnings: (Problem & { message?: string })[] };

export class NewPatientForm {
  private form: PatientForm = emptyForm();
  private uhid = "";
  private touched = new Set<string>();
  private submitted = false;
  private serverProblems: { errors: Problem[]; warnings: Problem[] } | null = null;
  private version = 0;
  private checkTimer: number | undefined;
  private picker: Picker | null = null;
  private root: HTMLElement | null = null;
  private busy = false;
  private readonly host: FormHost;

  constructor(host: FormHost) {
    this.host = host;
    this.form.quick = quickMode;
  }

  /** The form's card, to mount; `wire` once it is in the document. */
  el(): HTMLElement {
    const c = context();
    const grid = h("div", { class: "grid" });
    for (const d of fields()) grid.append(this.fieldEl(d));
    this.picker = deptPicker(
      "department",
      c.departments,
      lastDepartment(),
      (code) => {
        rememberDepartment(code);
        this.touched.add("department");
        this.updateFee();
        this.revalidate();
      },
      () => this.q<HTMLButtonElement>("#register-submit")?.focus(),
      false,
    );
    rememberDepartment(this.picker.value());
    this.root = h(
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
    return this.root;
  }

  private q<T extends Element>(sel: string): T | null {
    return this.root?.querySelector<T>(sel) ?? null;
  }

  private value(key: FieldKey): string {
    return key === "uhid" ? this.uhid : this.form[key];
  }

  private setValue(key: FieldKey, v: string): void {
    if (key === "uhid") this.uhid = v;
    else this.form[key] = v;
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
      (control as HTMLSelectElement).value = this.value(d.key);
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
        value: this.value(d.key),
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

  /** Listens to the form's fields and keys; call once the form is in the document. */
  wire(): void {
    const form = this.root as HTMLFormElement | null;
    if (!form) return;
    const uhid = this.q<HTMLInputElement>("#f-uhid");
    // First, so that a scanner's Enter is the scanner's (before Enter moves to the next field).
    if (uhid) wireCardScanner(uhid, (code) => this.cardScanned(uhid, code));
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
        if (input instanceof HTMLInputElement && qrInField(input, this.value(d.key), (p) => this.takeQr(p))) return;
        restoreLimit(input);
        this.setValue(d.key, input.value);
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
        target.value = this.value(target.name as FieldKey) ?? "";
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
    if (qr) wireQrField(qr, (payload) => this.takeQr(payload));
    this.applyQuick();
    this.updateFee();
  }

  focus(field: "name" | "qr"): void {
    this.q<HTMLElement>(field === "qr" ? "#qr" : "#f-name")?.focus();
  }

  /** A card's UHID scanned into the UHID field: checked at once, and the patient looked up. */
  private cardScanned(input: HTMLInputElement, code: string): void {
    input.value = code;
    restoreLimit(input);
    this.uhid = code;
    this.touched.add("uhid");
    this.revalidate(0);
    this.host.find(code);
    if (this.root) nextField(input, this.root)?.focus();
  }

  /** The UHID of a card the search found nowhere: the patient is registered with it. */
  setUhid(code: string): void {
    this.uhid = code;
    const el = this.q<HTMLInputElement>("#f-uhid");
    if (el) el.value = code;
    this.touched.add("uhid");
    if (this.form.quick) this.toggleQuick(false);
    this.revalidate();
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

  toggleQuick(on = !this.form.quick): void {
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
    this.root?.classList.toggle("quick", on);
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
  private revalidate(delay = 200): void {
    this.version++;
    this.serverProblems = null;
    this.paintProblems();
    window.clearTimeout(this.checkTimer);
    const v = this.version;
    this.checkTimer = window.setTimeout(() => {
      void api
        .checkPatient(this.form, this.picker?.value() || null, this.uhid)
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
    }, delay);
  }

  private problems(): Problems {
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
    const byField = new Map<string, { text: string; code: string; kind: "error" | "warning" }>();
    for (const w of warnings) {
      const at = this.shownAt(w.field);
      if (at && visible(at)) byField.set(at, { text: fieldMessage(w.field, w.code, w.message), code: w.code, kind: "warning" });
    }
    for (const e of errors) {
      const at = this.shownAt(e.field);
      if (at && visible(at)) byField.set(at, { text: fieldMessage(e.field, e.code, e.message), code: e.code, kind: "error" });
    }
    this.root?.querySelectorAll<HTMLElement>("[data-field]").forEach((wrap) => {
      const key = wrap.dataset.field ?? "";
      const msg = wrap.querySelector<HTMLElement>(".msg");
      const control = wrap.querySelector<HTMLElement>("input, select, .segmented, .depts");
      const p = byField.get(key);
      wrap.classList.toggle("invalid", p?.kind === "error");
      wrap.classList.toggle("warn", p?.kind === "warning");
      control?.setAttribute("aria-invalid", p?.kind === "error" ? "true" : "false");
      if (msg) {
        msg.textContent = p?.text ?? "";
        // The problem's code, for whoever reads the screen by machine (the tests).
        if (p) msg.dataset.code = p.code;
        else delete msg.dataset.code;
      }
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
      const r = await api.register(this.form, department, this.form.quick ? "" : this.uhid);
      rememberDepartment(department);
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
    this.uhid = "";
    this.touched.clear();
    this.submitted = false;
    this.serverProblems = null;
    this.host.redraw();
  }

  /** An ABHA card's QR payload: fills the form, and shows any returning patient it finds. */
  takeQr(raw: string): void {
    const card = readAbhaCard(raw, context().info.today);
    if (!card.ok) {
      notify(card.message, "error");
      return;
    }
    const filled = card.filled;
    for (const [k, v] of Object.entries(filled) as [FieldKey, string][]) {
      this.setValue(k, v);
      const el = this.q<HTMLInputElement | HTMLSelectElement>(`#f-${k}`);
      if (el && !(el instanceof HTMLDivElement)) el.value = v;
      if (v) this.touched.add(k);
    }
    if (filled.sex) this.setSex(filled.sex as "M" | "F" | "O");
    if (this.form.quick) this.toggleQuick(false);
    this.revalidate();
    notify(t("reg.qr_filled"), "ok");
    // Returning patients are found by their ABHA number; show any match at once.
    if (filled.abha) this.host.find(filled.abha);
    this.q<HTMLElement>("#f-name")?.focus();
  }

  dispose(): void {
    window.clearTimeout(this.checkTimer);
  }
}
