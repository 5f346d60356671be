// The token screen: the big token, department and room, the slip preview, and print, reprint,
// cancel and next patient, each on one key.

import { api, ApiError } from "../api";
import type { FieldError, VisitDetail } from "../api";
import { formatDay, go, notify, registerScreen, showError } from "../app";
import { h, mount } from "../dom";
import { errorMessage, fieldMessage, lang, t } from "../i18n";
import type { Key } from "../i18n";

class TokenScreen {
  private detail: VisitDetail | null = null;
  private root: HTMLElement | null = null;
  private busy = false;
  private readonly visit: string;
  private readonly warnings: FieldError[];
  private readonly fresh: boolean;
  /** The rendered slip (an object URL of its SVG), or why there is none. */
  private preview: { src: string } | { error: string } = { error: "" };

  constructor(params: Record<string, unknown>) {
    this.visit = String(params.visit ?? "");
    this.warnings = (params.warnings as FieldError[] | undefined) ?? [];
    this.fresh = Boolean(params.fresh);
  }

  async render(root: HTMLElement): Promise<void> {
    this.root = root;
    try {
      this.detail = await api.visitDetail(this.visit);
    } catch (e) {
      showError(e);
      return;
    }
    await this.loadPreview();
    this.paint();
  }

  /** The slip as parchi-slip draws it for print, from the same layout, as an SVG image (an
   * `<img>` shows it without running or fetching anything it might hold). */
  private async loadPreview(): Promise<void> {
    this.dropPreview();
    try {
      const svg = await api.slipPreview(this.visit);
      this.preview = { src: URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" })) };
    } catch (e) {
      // No slip to show: a cancelled visit prints none.
      this.preview = { error: e instanceof ApiError ? e.message : String(e) };
    }
  }

  private dropPreview(): void {
    if ("src" in this.preview) URL.revokeObjectURL(this.preview.src);
    this.preview = { error: "" };
  }

  private paint(): void {
    const root = this.root;
    const d = this.detail;
    if (!root || !d) return;
    const v = d.visit;
    const p = d.patient;
    const deptName = lang() === "hi" ? v.department_local || v.department_name : v.department_name;
    const big = h(
      "section",
      { class: `card token-card${v.cancelled ? " cancelled" : ""}`, "aria-labelledby": "token-number" },
      h("div", { class: "token-label" }, this.fresh ? t("token.title") : t("token.token")),
      h("div", { class: "token-number", id: "token-number" }, v.token),
      v.cancelled ? h("div", { class: "stamp", id: "cancelled-stamp" }, t("token.cancelled")) : null,
      h("div", { class: "token-dept", id: "token-dept" }, deptName, h("span", { class: "dept-code" }, v.department)),
      h("div", { class: "token-room" }, `${t("token.room")}: `, h("strong", { id: "token-room" }, v.room)),
      h(
        "dl",
        { class: "token-facts" },
        h("dt", {}, t("today.patient")),
        h("dd", { id: "token-patient" }, p.name),
        h("dt", {}, t("field.age_sex")),
        h("dd", {}, `${p.age} / ${p.sex}`),
        p.guardian ? h("dt", {}, t("field.guardian")) : null,
        p.guardian ? h("dd", {}, p.guardian) : null,
        h("dt", {}, p.uhid ? t("field.uhid") : t("field.temp_id")),
        h("dd", { class: "mono", id: "token-temp-id" }, p.uhid ?? p.temp_id),
        h("dt", {}, t("reg.fee")),
        h("dd", { id: "token-fee" }, t("reg.rupees", { n: v.fee }), ` · ${t(`cat.${v.category}` as Key)}`),
        h("dt", {}, t("today.time")),
        h("dd", {}, `${formatDay(v.day)} ${v.issued_at} · ${t("token.valid", { date: formatDay(v.valid_until) })}`),
      ),
      this.warnings.length
        ? h(
            "ul",
            { class: "warnings" },
            this.warnings.map((w) => h("li", {}, `${t("token.warning")}: ${fieldMessage(w.field, w.code, w.message)}`)),
          )
        : null,
    );
    const actions = h(
      "div",
      { class: "token-actions" },
      h("button", { type: "button", class: "primary big", id: "print", disabled: !this.canPrintOriginal(), onclick: () => void this.print(false) }, h("kbd", {}, "P"), t("token.print")),
      h("button", { type: "button", class: "secondary", id: "reprint", disabled: v.cancelled, onclick: () => void this.print(true) }, h("kbd", {}, "R"), t("token.reprint")),
      h("button", { type: "button", class: "danger", id: "cancel-visit", disabled: v.cancelled, onclick: () => this.askCancel() }, h("kbd", {}, "C"), t("token.cancel")),
      h("button", { type: "button", class: "secondary", id: "next-patient", onclick: () => go("register", { focus: "name" }) }, h("kbd", {}, "N"), t("token.next")),
    );
    const slip = h(
      "section",
      { class: "card slip-card", "aria-label": t("token.preview") },
      h("h2", {}, t("token.preview")),
      "src" in this.preview
        ? h("img", { class: "slip-img", id: "slip-preview", src: this.preview.src, alt: t("token.preview") })
        : h("p", { class: "hint", id: "slip-none" }, v.cancelled ? t("token.no_slip_cancelled") : this.preview.error),
    );
    mount(
      root,
      h(
        "div",
        { class: "token-screen" },
        h("div", { class: "token-left" }, big, actions, h("p", { class: "hint" }, t("token.keys")), h("div", { id: "cancel-area" })),
        slip,
      ),
    );
    const first = this.canPrintOriginal() ? "#print" : "#next-patient";
    root.querySelector<HTMLElement>(first)?.focus();
  }

  /** The original slip: once (parchi-app decides and records it). Later copies are reprints. */
  private canPrintOriginal(): boolean {
    const v = this.detail?.visit;
    return v?.next_copy === "original" && !v.cancelled;
  }

  private async print(reprint: boolean): Promise<void> {
    const d = this.detail;
    if (!d || this.busy || d.visit.cancelled) return;
    if (!reprint && !this.canPrintOriginal()) return;
    this.busy = true;
    try {
      if (reprint) {
        const r = await api.reprint(this.visit);
        this.detail = r.detail;
        const recorded = t("token.reprinted", { n: r.detail.visit.reprints });
        await this.loadPreview();
        this.paint();
        if (r.printed) notify(`${recorded} ${t("token.printed", { printer: r.printed.printer })}`, "ok");
        else notify(`${recorded} ${t("token.print_failed", { message: r.print_error?.message ?? "" })}`, "error");
      } else {
        const job = await api.printSlip(this.visit);
        this.detail = await api.visitDetail(this.visit);
        await this.loadPreview();
        this.paint();
        notify(t("token.printed", { printer: job.printer }), "ok");
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === "print") notify(t("token.print_failed", { message: e.message }), "error");
      else showError(e);
    } finally {
      this.busy = false;
    }
  }

  dispose(): void {
    this.dropPreview();
  }

  private askCancel(): void {
    const area = this.root?.querySelector<HTMLElement>("#cancel-area");
    if (!area || this.detail?.visit.cancelled) return;
    const reason = h("input", { id: "cancel-reason", type: "text", maxlength: 200, autocomplete: "off" });
    const msg = h("div", { class: "msg", id: "msg-cancel" });
    const confirm = async () => {
      try {
        this.detail = await api.cancelVisit(this.visit, reason.value);
        notify(`${this.detail.visit.token}: ${t("token.cancelled")}`, "ok");
        this.dropPreview();
        this.paint();
      } catch (e) {
        msg.textContent = e instanceof ApiError ? errorMessage(e.code, e.message) : String(e);
      }
    };
    reason.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        void confirm();
      } else if (e.key === "Escape") {
        e.preventDefault();
        mount(area);
        this.root?.querySelector<HTMLElement>("#cancel-visit")?.focus();
      }
    });
    mount(
      area,
      h(
        "div",
        { class: "card cancel-box" },
        h("label", { for: "cancel-reason" }, t("token.cancel_reason")),
        reason,
        msg,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "secondary", onclick: () => mount(area) }, t("token.cancel_back")),
          h("button", { type: "button", class: "danger", id: "cancel-confirm", onclick: () => void confirm() }, t("token.cancel_confirm")),
        ),
      ),
    );
    reason.focus();
  }

  onKey(e: KeyboardEvent): boolean {
    const target = e.target as HTMLElement;
    if (target instanceof HTMLInputElement) return false;
    if (e.ctrlKey || e.altKey || e.metaKey) return false;
    switch (e.key.toLowerCase()) {
      case "p":
        e.preventDefault();
        void this.print(false);
        return true;
      case "r":
        e.preventDefault();
        void this.print(true);
        return true;
      case "c":
        e.preventDefault();
        this.askCancel();
        return true;
      case "n":
      case "escape":
        e.preventDefault();
        go("register", { focus: "name" });
        return true;
      default:
        return false;
    }
  }
}

registerScreen("token", (params) => new TokenScreen(params));
