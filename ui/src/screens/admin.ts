// Admin screens: the counters' sync state, the day report, settings, users, the duplicate queue
// (two records side by side: merge, or not the same person), conflicting edits, the link
// review after an outage (`link-review.ts`), and the departments and fees published for every
// counter (`publish.ts`).

import { api, ApiError } from "../api";
import type { ConflictView, ConflictWriteView, DuplicatePair, PatientSummary, Report, ReportRow, Settings } from "../api";
import { context, formatDay, notify, refreshFrame, registerScreen, setSync, showError } from "../app";
import { h, mount } from "../dom";
import { errorMessage, fieldMessage, setLang, t } from "../i18n";
import type { Key } from "../i18n";
import { LinkReview } from "./link-review";
import { renderPublish } from "./publish";

type Tab = "counters" | "report" | "settings" | "users" | "duplicates" | "conflicts" | "link" | "publish";
const TABS: [Tab, Key][] = [
  ["counters", "admin.counters"],
  ["report", "admin.report"],
  ["settings", "admin.settings"],
  ["users", "admin.users"],
  ["duplicates", "admin.duplicates"],
  ["conflicts", "admin.conflicts"],
  ["link", "admin.link"],
  ["publish", "admin.publish"],
];

class AdminScreen {
  private tab: Tab;
  private root: HTMLElement | null = null;
  private link: LinkReview | null = null;

  constructor(params: Record<string, unknown>) {
    this.tab = (params.tab as Tab | undefined) ?? "counters";
  }

  render(root: HTMLElement): void {
    this.root = root;
    const tabs = h(
      "div",
      { class: "subtabs", role: "tablist", "aria-label": t("admin.title") },
      TABS.map(([id, label], i) =>
        h(
          "button",
          {
            type: "button",
            role: "tab",
            id: `admin-tab-${id}`,
            class: id === this.tab ? "subtab active" : "subtab",
            "aria-selected": id === this.tab ? "true" : "false",
            tabindex: id === this.tab ? 0 : -1,
            onclick: () => this.select(id),
          },
          h("kbd", {}, `Alt+${i + 1}`),
          t(label),
        ),
      ),
    );
    tabs.addEventListener("keydown", (e) => {
      const i = TABS.findIndex(([id]) => id === this.tab);
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        e.preventDefault();
        const n = (i + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length;
        this.select(TABS[n][0]);
        root.querySelector<HTMLElement>(`#admin-tab-${TABS[n][0]}`)?.focus();
      }
    });
    mount(root, h("div", { class: "admin" }, tabs, h("section", { class: "card admin-body", id: "admin-body", role: "tabpanel" })));
    void this.load();
  }

  onKey(e: KeyboardEvent): boolean {
    if (e.altKey && /^[1-8]$/.test(e.key)) {
      e.preventDefault();
      this.select(TABS[Number(e.key) - 1][0]);
      return true;
    }
    if (this.tab === "link" && this.link && !document.querySelector(".modal")) return this.link.onKey(e);
    return false;
  }

  private select(tab: Tab): void {
    this.tab = tab;
    this.link = null;
    if (this.root) this.render(this.root);
  }

  private body(): HTMLElement | null {
    return this.root?.querySelector<HTMLElement>("#admin-body") ?? null;
  }

  private async load(): Promise<void> {
    const body = this.body();
    if (!body) return;
    try {
      switch (this.tab) {
        case "counters":
          await this.counters(body);
          break;
        case "report":
          await this.report(body, null);
          break;
        case "settings":
          await this.settings(body);
          break;
        case "users":
          await this.users(body);
          break;
        case "duplicates":
          await this.duplicates(body);
          break;
        case "conflicts":
          await this.conflicts(body);
          break;
        case "link":
          this.link = new LinkReview(body);
          await this.link.load();
          break;
        case "publish":
          await renderPublish(body);
          break;
      }
    } catch (e) {
      showError(e);
    }
  }

  private async counters(body: HTMLElement): Promise<void> {
    const [list, sync] = await Promise.all([api.countersOverview(), api.syncStatus()]);
    setSync(sync);
    const syncNow = async () => {
      try {
        const st = await api.syncNow();
        setSync(st);
        notify(t("sync.synced", { n: st.pending }), "ok");
      } catch (e) {
        showError(e);
      }
      await this.counters(body).catch(showError);
    };
    mount(
      body,
      h("h1", {}, t("admin.counters")),
      h(
        "div",
        { class: "sync-summary", id: "admin-sync" },
        h("span", { class: sync.online ? "badge ok" : "badge danger" }, sync.online ? t("sync.online") : sync.hub ? t("sync.offline") : t("sync.no_hub")),
        ` ${t("admin.hub")}: `,
        h("span", { class: "mono" }, sync.hub ?? "—"),
        sync.last_success ? h("span", { class: "muted" }, ` · ${t("sync.last_success", { at: sync.last_success })}`) : null,
        sync.hub ? h("button", { type: "button", class: "secondary small", id: "sync-now", onclick: () => void syncNow() }, t("sync.now")) : null,
        sync.last_error ? h("p", { class: "msg-error" }, t("sync.last_error", { error: sync.last_error })) : null,
      ),
      h(
        "table",
        { class: "list", id: "counters-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, t("admin.counter")),
            h("th", {}, t("admin.name")),
            h("th", { class: "num" }, t("admin.registrations_today")),
            h("th", { class: "num" }, t("admin.pending")),
            h("th", { class: "num" }, t("admin.rejected")),
          ),
        ),
        h(
          "tbody",
          {},
          list.map((c) =>
            h(
              "tr",
              { class: c.this_counter ? "mine" : "" },
              h("td", { class: "token-cell" }, c.code, c.this_counter ? h("span", { class: "badge" }, t("admin.this_counter")) : null),
              h("td", {}, c.name ?? ""),
              h("td", { class: "num" }, String(c.registrations_today)),
              h("td", { class: "num" }, c.pending === null ? h("span", { class: "muted" }, t("admin.unknown")) : String(c.pending)),
              h("td", { class: "num" }, c.rejected === null ? h("span", { class: "muted" }, t("admin.unknown")) : String(c.rejected)),
            ),
          ),
        ),
      ),
    );
  }

  private reportTable(title: string, rows: ReportRow[], total: ReportRow | null, names: Record<string, string>): HTMLElement {
    const row = (r: ReportRow, cls = "") =>
      h(
        "tr",
        { class: cls },
        h("td", {}, names[r.key] ? `${names[r.key]} (${r.key})` : r.key),
        h("td", { class: "num" }, String(r.registrations)),
        h("td", { class: "num" }, String(r.new_patients)),
        h("td", { class: "num" }, String(r.cancellations)),
        h("td", { class: "num" }, String(r.reprints)),
        h("td", { class: "num" }, String(r.fees)),
        h("td", { class: "num" }, String(r.waived)),
      );
    return h(
      "table",
      { class: "list report" },
      h("caption", {}, title),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, ""),
          h("th", { class: "num" }, t("admin.registrations")),
          h("th", { class: "num" }, t("admin.new_patients")),
          h("th", { class: "num" }, t("admin.cancellations")),
          h("th", { class: "num" }, t("admin.reprints")),
          h("th", { class: "num" }, t("admin.fees")),
          h("th", { class: "num" }, t("admin.waived")),
        ),
      ),
      h("tbody", {}, rows.map((r) => row(r)), total ? row({ ...total, key: t("admin.total") }, "total") : null),
    );
  }

  private async report(body: HTMLElement, date: string | null): Promise<void> {
    const r: Report = await api.dayReport(date);
    const input = h("input", { id: "report-date", type: "date", value: r.day });
    const show = () => void this.report(body, input.value || null).catch(showError);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        show();
      }
    });
    mount(
      body,
      h("h1", {}, `${t("admin.report")} · ${formatDay(r.day)}`),
      h(
        "div",
        { class: "inline-form" },
        h("label", { for: "report-date" }, t("admin.report_for")),
        input,
        h("button", { type: "button", class: "secondary", onclick: show }, t("admin.show")),
      ),
      h("div", { id: "report" }, this.reportTable(t("admin.by_department"), r.by_department, r.total, r.department_names), this.reportTable(t("admin.by_counter"), r.by_counter, null, {})),
    );
  }

  private async settings(body: HTMLElement): Promise<void> {
    const s = await api.settings();
    const select = (id: keyof Settings, options: [string, string][]) =>
      h("select", { id: `set-${id}`, name: id }, options.map(([v, l]) => h("option", { value: v, selected: v === s[id] }, l)));
    const text = (id: keyof Settings, placeholder = "") =>
      h("input", { id: `set-${id}`, name: id, type: "text", value: s[id], placeholder, spellcheck: "false", autocomplete: "off" });
    const row = (id: keyof Settings, label: Key, control: HTMLElement) =>
      h("div", { class: "field", "data-field": id }, h("label", { for: `set-${id}` }, t(label)), control, h("div", { class: "msg", id: `msg-set-${id}` }));
    const form = h(
      "form",
      { class: "settings", id: "settings-form", novalidate: true },
      row("printer", "admin.printer", text("printer", "PDF")),
      row("slip_layout", "admin.slip_layout", select("slip_layout", [["thermal80", "Thermal 80 mm"], ["a6", "A6"], ["a5", "A5"]])),
      row("ui_language", "admin.ui_language", select("ui_language", [["en", "English"], ["hi", "हिन्दी"]])),
      row("slip_language", "admin.slip_language", select("slip_language", [["hi", "हिन्दी (Hindi)"], ["bn", "বাংলা (Bengali)"]])),
      h("button", { type: "submit", class: "primary", id: "settings-save" }, t("admin.save")),
    );
    const hubUrl = h("input", { id: "enroll-hub", type: "text", value: s.hub || "http://", spellcheck: "false", autocomplete: "off" });
    const code = h("input", { id: "enroll-code", type: "text", spellcheck: "false", autocomplete: "off" });
    const enrollMsg = h("div", { class: "msg", id: "msg-enroll", role: "alert" });
    const enrollForm = h(
      "form",
      { class: "inline-form", id: "enroll-form", novalidate: true },
      h("label", { for: "enroll-hub" }, t("admin.hub")),
      hubUrl,
      h("label", { for: "enroll-code" }, t("sync.enroll_code")),
      code,
      h("button", { type: "submit", class: "primary", id: "enroll-submit" }, t("sync.enroll")),
    );
    enrollForm.addEventListener("submit", (e) => {
      e.preventDefault();
      enrollMsg.textContent = "";
      void api
        .enroll(hubUrl.value, code.value)
        .then((st) => {
          setSync(st);
          notify(t("sync.enrolled", { hub: st.hub ?? "" }), "ok");
          this.select("settings");
        })
        .catch((err: unknown) => {
          enrollMsg.textContent = err instanceof ApiError ? errorMessage(err.code, err.message) : String(err);
        });
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = (id: keyof Settings) => (form.querySelector<HTMLInputElement>(`#set-${id}`)?.value ?? "");
      const next: Settings = {
        printer: value("printer"),
        slip_layout: value("slip_layout"),
        ui_language: value("ui_language"),
        slip_language: value("slip_language"),
        hub: s.hub,
      };
      form.querySelectorAll<HTMLElement>(".msg").forEach((m) => (m.textContent = ""));
      void api
        .saveSettings(next)
        .then((saved) => {
          context().settings = saved;
          setLang(saved.ui_language);
          refreshFrame();
          notify(t("admin.saved"), "ok");
          this.select("settings");
        })
        .catch((err: unknown) => {
          if (err instanceof ApiError && err.fields.length) {
            for (const f of err.fields) {
              const m = form.querySelector<HTMLElement>(`#msg-set-${f.field}`);
              if (m) m.textContent = fieldMessage(f.field, f.code, f.message);
            }
          } else showError(err);
        });
    });
    mount(
      body,
      h("h1", {}, t("admin.settings")),
      form,
      h("h2", { class: "section" }, t("sync.enroll_title")),
      h("p", { class: "hint" }, t("sync.enroll_help")),
      h("p", {}, `${t("admin.hub")}: `, h("strong", { class: "mono", id: "current-hub" }, s.hub || "—")),
      enrollForm,
      enrollMsg,
    );
  }

  private async users(body: HTMLElement): Promise<void> {
    const list = await api.users();
    const name = h("input", { id: "user-name-new", type: "text", autocomplete: "off", spellcheck: "false" });
    const role = h("select", { id: "user-role-new" }, h("option", { value: "clerk" }, t("admin.role_clerk")), h("option", { value: "admin" }, t("admin.role_admin")));
    const secret = h("input", { id: "user-secret-new", type: "password", autocomplete: "new-password" });
    const msg = h("div", { class: "msg", id: "msg-user-new", role: "alert" });
    const add = h(
      "form",
      { class: "inline-form", id: "add-user-form", novalidate: true },
      h("label", { for: "user-name-new" }, t("login.user")),
      name,
      h("label", { for: "user-role-new" }, t("admin.role")),
      role,
      h("label", { for: "user-secret-new" }, t("login.secret")),
      secret,
      h("button", { type: "submit", class: "primary" }, t("admin.add_user")),
    );
    add.addEventListener("submit", (e) => {
      e.preventDefault();
      void api
        .addUser(name.value, role.value, secret.value)
        .then((u) => {
          notify(t("admin.user_added", { name: u.name }), "ok");
          this.select("users");
        })
        .catch((err: unknown) => {
          msg.textContent = err instanceof ApiError ? errorMessage(err.code, err.message) : String(err);
          secret.value = "";
        });
    });
    const me = context().session?.user;
    mount(
      body,
      h("h1", {}, t("admin.users")),
      h(
        "table",
        { class: "list", id: "users-table" },
        h("tbody", {},
          list.map((u) =>
            h(
              "tr",
              { class: u.disabled ? "cancelled" : "" },
              h("td", {}, u.name),
              h("td", {}, u.role === "admin" ? t("admin.role_admin") : t("admin.role_clerk")),
              h("td", {}, u.disabled ? h("span", { class: "badge danger" }, t("admin.disabled")) : ""),
              h(
                "td",
                {},
                u.name === me
                  ? ""
                  : h(
                      "button",
                      {
                        type: "button",
                        class: "secondary small",
                        onclick: () =>
                          void api
                            .setUserDisabled(u.name, !u.disabled)
                            .then(() => this.select("users"))
                            .catch(showError),
                      },
                      u.disabled ? t("admin.enable") : t("admin.disable"),
                    ),
              ),
            ),
          ),
        ),
      ),
      h("h2", {}, t("admin.add_user")),
      add,
      h("p", { class: "hint" }, t("login.secret_rule")),
      msg,
    );
  }

  private patientCard(title: string, p: PatientSummary, id: string, other: PatientSummary): HTMLElement {
    const row = (label: string, value: string | null | undefined, otherValue?: string | null) =>
      h(
        "div",
        { class: otherValue !== undefined && (value ?? "") !== (otherValue ?? "") ? "kv diff" : "kv" },
        h("span", { class: "k" }, label),
        h("span", { class: "v" }, value ?? "—"),
      );
    return h(
      "div",
      { class: "side", id },
      h("h3", {}, title),
      h("div", { class: "side-name" }, p.name),
      row(t("field.age_sex"), `${p.age} / ${p.sex}`, `${other.age} / ${other.sex}`),
      row(t("field.guardian"), p.guardian, other.guardian),
      row(t("field.mobile"), p.mobile, other.mobile),
      row(t("field.abha"), p.abha_number, other.abha_number),
      row(t("field.temp_id"), p.temp_id),
      row(t("field.uhid"), p.uhid),
      row(t("field.category"), t(`cat.${p.category}` as Key), t(`cat.${other.category}` as Key)),
      row(t("reg.last_visit", { date: "" }).trim(), p.last_visit ? formatDay(p.last_visit) : null),
    );
  }

  private async duplicates(body: HTMLElement): Promise<void> {
    const pairs: DuplicatePair[] = await api.duplicates();
    if (!pairs.length) {
      mount(body, h("h1", {}, t("admin.duplicates")), h("p", { class: "muted", id: "no-duplicates" }, t("admin.no_duplicates")));
      return;
    }
    const p = pairs[0];
    const decide = async (merge: boolean) => {
      try {
        if (merge) {
          const o = await api.merge(p.a, p.b, "");
          notify(t("admin.merged", { id: o.survivor.temp_id }), "ok");
        } else {
          await api.notDuplicate(p.a, p.b, "");
          notify(t("admin.kept_apart"), "ok");
        }
        await this.duplicates(body);
      } catch (e) {
        showError(e);
      }
    };
    mount(
      body,
      h("h1", {}, `${t("admin.duplicates")} (${pairs.length})`),
      h(
        "p",
        { class: "dup-why" },
        h("span", { class: `badge ${p.verdict === "likely" ? "danger" : ""}` }, p.verdict),
        ` ${t("admin.score", { score: p.score.toFixed(2) })} · `,
        p.reasons.join(" · "),
      ),
      h("div", { class: "side-by-side" }, this.patientCard(t("admin.record_a"), p.a_patient, "dup-a", p.b_patient), this.patientCard(t("admin.record_b"), p.b_patient, "dup-b", p.a_patient)),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", id: "dup-merge", onclick: () => void decide(true) }, t("admin.merge")),
        h("button", { type: "button", class: "secondary", id: "dup-distinct", onclick: () => void decide(false) }, t("admin.not_same")),
      ),
    );
  }

  /** One value written: the value itself, whether it was kept, when, and by which site. */
  private conflictWrite(w: ConflictWriteView): HTMLElement {
    const value = w.value === null || w.value === undefined || w.value === "" ? "—" : typeof w.value === "string" ? w.value : JSON.stringify(w.value);
    return h(
      "div",
      { class: w.won ? "write won" : "write" },
      h("strong", { class: "value" }, value),
      " ",
      h("span", { class: w.won ? "badge ok" : "badge" }, w.won ? t("admin.kept") : t("admin.overwritten")),
      // A site ID is a UUIDv7: its first digits are a timestamp, its last ones tell sites apart.
      h("span", { class: "muted small" }, ` ${w.at} · ${t("admin.site")} …${w.site.replace(/-/g, "").slice(-8)}`),
    );
  }

  private async conflicts(body: HTMLElement): Promise<void> {
    const list: ConflictView[] = await api.conflicts();
    if (!list.length) {
      mount(body, h("h1", {}, t("admin.conflicts")), h("p", { class: "muted", id: "no-conflicts" }, t("admin.no_conflicts")));
      return;
    }
    mount(
      body,
      h("h1", {}, `${t("admin.conflicts")} (${list.length})`),
      h(
        "table",
        { class: "list", id: "conflicts-table" },
        h("thead", {}, h("tr", {}, h("th", {}, t("today.patient")), h("th", {}, t("admin.field")), h("th", {}, t("admin.writes")))),
        h(
          "tbody",
          {},
          list.map((c) =>
            h(
              "tr",
              {},
              h("td", {}, `${c.patient.name} (${c.patient.temp_id})`),
              h("td", {}, c.field.replace(/_/g, " "), c.identity ? h("span", { class: "badge danger" }, t("admin.identity")) : null),
              h("td", { class: "writes" }, c.writes.map((w) => this.conflictWrite(w))),
            ),
          ),
        ),
      ),
    );
  }
}

registerScreen("admin", (params) => new AdminScreen(params));
