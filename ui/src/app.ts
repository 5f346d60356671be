// The frame around every screen: header with hospital, counter, the always-visible sync state,
// language switch and user; the tabs; global keys; and which screen shows.

import { api, ApiError } from "./api";
import type { ConfigStatus, CounterInfo, Department, LastBackup, MirrorView, Receipt, Session, Settings, SyncStatus } from "./api";
export type { SyncStatus };
import { h, mount } from "./dom";
import { mirrorLabel } from "./found";
import { configNotice, localNames } from "./screens/config-notice";
import { renderSetup } from "./screens/setup";
import { errorMessage, has, lang, setLang, t } from "./i18n";
import type { Key } from "./i18n";

export type ScreenName = "login" | "register" | "today" | "admin" | "token";

export interface Ctx {
  info: CounterInfo;
  settings: Settings;
  session: Session | null;
  departments: Department[];
  sync: SyncStatus | null;
  /** How current the counter's copy of the hospital's index is. */
  mirror: MirrorView | null;
  /** The last backup ("last backup 10:15, verified"). */
  backup: LastBackup | null;
  /** The hospital's configuration for every counter: in force, to come, refused. */
  config: ConfigStatus | null;
  created: boolean;
  dataDir: string;
}

export interface Screen {
  render(root: HTMLElement): void | Promise<void>;
  /** Keys the screen handles before the global ones; true when handled. */
  onKey?(e: KeyboardEvent): boolean;
  dispose?(): void;
}

type ScreenFactory = (params: Record<string, unknown>) => Screen;

const factories: Partial<Record<ScreenName, ScreenFactory>> = {};
let ctx: Ctx | null = null;
let current: { name: ScreenName; screen: Screen; params: Record<string, unknown> } | null = null;
let pollTimers: number[] = [];
const SYNC_POLL_MS = 3000;
// The mirror changes only when a sync brings a newer copy or an admin imports one.
const MIRROR_POLL_MS = 30_000;
// A configuration comes into force on its day, or arrives by sync: once a minute is soon enough.
const CONFIG_POLL_MS = 60_000;
// The screens over which the configuration notice shows.
const NOTICE_SCREENS: ScreenName[] = ["register", "today"];

export function registerScreen(name: ScreenName, f: ScreenFactory): void {
  factories[name] = f;
}

export function context(): Ctx {
  if (!ctx) throw new ApiError("internal", "the app is not started");
  return ctx;
}

export function currentScreen(): ScreenName | null {
  return current?.name ?? null;
}

function root(): HTMLElement {
  const el = document.getElementById("app");
  if (!el) throw new Error("no #app element");
  return el;
}

/** Shows a message in the status line under the header (role=status, read by screen readers). */
export function notify(text: string, kind: "ok" | "error" | "info" = "info"): void {
  const el = document.getElementById("notice");
  if (!el) return;
  el.className = `notice ${kind}`;
  el.textContent = text;
  el.hidden = !text;
}

export function showError(e: unknown): void {
  if (e instanceof ApiError) notify(errorMessage(e.code, e.message), "error");
  else notify(String(e), "error");
}

function syncPill(): HTMLElement {
  const s = ctx?.sync;
  let cls = "sync offline";
  let label = t("sync.offline");
  if (s && !s.hub) {
    cls = "sync none";
    label = t("sync.no_hub");
  } else if (s?.online === true) {
    cls = "sync online";
    label = t("sync.online");
  }
  const detail = s
    ? s.pending > 0
      ? t("sync.waiting", { n: s.pending })
      : t("sync.all_synced")
    : "";
  return h(
    "div",
    {
      class: cls,
      id: "sync-state",
      role: "status",
      "data-online": s?.online === true ? "true" : "false",
      "data-pending": s?.pending ?? 0,
      title: [s?.hub, s?.last_success ? t("sync.last_success", { at: s.last_success }) : ""]
        .filter(Boolean)
        .join(" · "),
    },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("strong", { id: "sync-label" }, label),
    h("span", { class: "sync-detail", id: "sync-detail" }, detail),
    s && s.rejected > 0 ? h("span", { class: "sync-rejected" }, t("sync.rejected", { n: s.rejected })) : null,
  );
}

/** How old the counter's copy of the hospital's index is, beside the sync state. */
function mirrorPill(): HTMLElement {
  const m = ctx?.mirror;
  const l = m ? mirrorLabel(m) : null;
  return h(
    "div",
    {
      class: `mirror${l?.stale ? " stale" : ""}${m && !m.records ? " none" : ""}`,
      id: "mirror-state",
      "data-records": m?.records ?? 0,
      hidden: !m,
      title: m ? t("mirror.records", { n: m.records }) : null,
    },
    l ? t(l.key, { at: l.at }) : "",
  );
}

/** When the last backup was taken and whether it was verified, beside the sync state. */
function backupPill(): HTMLElement {
  const b = ctx?.backup;
  const failed = !!b?.error && !b?.at;
  const label = !b || (!b.at && !b.error)
    ? t("backup.none")
    : b.at
      ? t(b.verified ? "backup.verified" : "backup.last", { at: b.at })
      : t("backup.failed");
  return h(
    "div",
    {
      class: `backup${failed || !b?.verified ? " stale" : ""}`,
      id: "backup-state",
      "data-verified": b?.verified ? "true" : "false",
      title: b?.hub_id ?? "",
    },
    label,
  );
}

function tab(name: ScreenName, key: Key, fkey: string): HTMLElement {
  const active = current?.name === name || (name === "register" && current?.name === "token");
  return h(
    "button",
    {
      class: active ? "tab active" : "tab",
      id: `tab-${name}`,
      type: "button",
      "aria-current": active ? "page" : null,
      onclick: () => go(name),
    },
    t(key),
    h("kbd", {}, fkey),
  );
}

function header(): HTMLElement {
  const c = context();
  const s = c.session;
  return h(
    "header",
    { class: "topbar" },
    h(
      "div",
      { class: "brand" },
      h("span", { class: "logo", "aria-hidden": "true" }, "प"),
      h(
        "div",
        {},
        h("div", { class: "hospital" }, c.info.hospital),
        h(
          "div",
          { class: "counter-line" },
          `${t("admin.counter")} ${c.info.counter}`,
          c.info.counter_name ? ` · ${c.info.counter_name}` : "",
          ` · ${has(`day.${c.info.weekday}`) ? t(`day.${c.info.weekday}` as Key) : c.info.weekday} ${formatDay(c.info.today)}`,
        ),
      ),
    ),
    h("div", { class: "topbar-right" }, mirrorPill(), backupPill(), syncPill(),
      h(
        "button",
        {
          class: "lang",
          id: "lang-switch",
          type: "button",
          title: t("nav.language_hint"),
          onclick: () => void switchLanguage(),
        },
        t("nav.language"),
      ),
      s
        ? h(
            "div",
            { class: "user" },
            h("span", { id: "user-name" }, `${s.user} (${s.role === "admin" ? t("admin.role_admin") : t("admin.role_clerk")})`),
            h("button", { type: "button", id: "logout", class: "link", onclick: () => void logout() }, t("nav.logout")),
          )
        : null,
    ),
  );
}

function nav(): HTMLElement | null {
  const s = context().session;
  if (!s) return null;
  return h(
    "nav",
    { class: "tabs", "aria-label": "screens" },
    tab("register", "nav.register", "F2"),
    tab("today", "nav.today", "F4"),
    s.role === "admin" ? tab("admin", "nav.admin", "F9") : null,
  );
}

export function formatDay(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? `${m[3]}-${m[2]}-${m[1]}` : iso;
}

/** Redraws the header and tabs (language, session or sync changed). */
export function refreshFrame(): void {
  const top = document.getElementById("frame-top");
  if (top && ctx) mount(top, header(), nav());
}

export function setSync(s: SyncStatus): void {
  if (ctx) ctx.sync = s;
  refreshSync();
}

export function refreshSync(): void {
  const el = document.getElementById("sync-state");
  if (el && ctx) el.replaceWith(syncPill());
}

async function pollSync(): Promise<void> {
  if (!ctx) return;
  try {
    ctx.sync = await api.syncStatus();
    refreshSync();
  } catch {
    // The status bar keeps its last state; the next poll tries again.
  }
}

async function pollMirror(): Promise<void> {
  if (!ctx) return;
  try {
    ctx.mirror = await api.mirrorStatus();
    document.getElementById("mirror-state")?.replaceWith(mirrorPill());
  } catch {
    // The status bar keeps its last state; the next poll tries again.
  }
  try {
    ctx.backup = await api.backupStatus();
    document.getElementById("backup-state")?.replaceWith(backupPill());
  } catch {
    // As above.
  }
}

// The configuration in force when last polled (undefined: not yet polled), to tell when another
// one has come into force and the departments must be read again.
let seenConfig: string | null | undefined;

/** Redraws the configuration notice: over the register and today screens only. */
function paintConfigNotice(): void {
  const el = document.getElementById("config-notice");
  if (!el || !ctx) return;
  const s = ctx.session;
  el.replaceWith(
    configNotice(ctx.config, {
      names: localNames(ctx.departments),
      user: s?.user ?? "",
      admin: s?.role === "admin",
      shown: !!s && !!current && NOTICE_SCREENS.includes(current.name),
      repaint: paintConfigNotice,
    }),
  );
}

/** Takes a configuration status (polled, or returned by a publication): when another
 * configuration has come into force, today's departments, fees and waived categories are read
 * again, so the next patient's picker and fee are the new ones. */
export async function setConfigStatus(st: ConfigStatus): Promise<void> {
  if (!ctx) return;
  ctx.config = st;
  const id = st.in_force?.config ?? null;
  const changed = seenConfig !== undefined && seenConfig !== id;
  seenConfig = id;
  if (changed) {
    try {
      ctx.departments = await api.departmentsToday();
      const app = await api.appState();
      if (app.info) ctx.info = app.info;
      refreshFrame();
    } catch {
      // The next poll sees the same change and tries again.
      seenConfig = undefined;
    }
  }
  paintConfigNotice();
}

async function pollConfig(): Promise<void> {
  if (!ctx?.session) return;
  try {
    await setConfigStatus(await api.configStatus());
  } catch {
    // The notice keeps its last state; the next poll tries again.
  }
}

function startSyncPolling(): void {
  pollTimers.forEach((id) => window.clearInterval(id));
  void pollSync();
  void pollMirror();
  const polls: [() => Promise<void>, number][] = [
    [pollSync, SYNC_POLL_MS],
    [pollMirror, MIRROR_POLL_MS],
    [pollConfig, CONFIG_POLL_MS],
  ];
  pollTimers = polls.map(([poll, ms]) => window.setInterval(() => void poll(), ms));
}

async function switchLanguage(): Promise<void> {
  const next = lang() === "en" ? "hi" : "en";
  setLang(next);
  if (ctx) ctx.settings.ui_language = next;
  try {
    await api.setLanguage(next);
  } catch {
    // Switching the screen works even if the choice could not be remembered.
  }
  refreshFrame();
  if (current) show(current.name, current.params);
}

async function logout(): Promise<void> {
  try {
    await api.logout();
  } finally {
    if (ctx) {
      ctx.session = null;
      ctx.config = null;
    }
    go("login");
  }
}

export function setSession(s: Session): void {
  context().session = s;
  void pollSync();
  void pollMirror();
  void pollConfig();
}

export async function loadDepartments(): Promise<void> {
  context().departments = await api.departmentsToday();
}

function show(name: ScreenName, params: Record<string, unknown>): void {
  current?.screen.dispose?.();
  const f = factories[name];
  if (!f) return;
  const screen = f(params);
  current = { name, screen, params };
  refreshFrame();
  const main = document.getElementById("screen");
  if (!main) return;
  main.dataset.screen = name;
  notify("");
  paintConfigNotice();
  if (NOTICE_SCREENS.includes(name)) void pollConfig();
  void screen.render(main);
}

export function go(name: ScreenName, params: Record<string, unknown> = {}): void {
  const c = ctx;
  if (!c) return;
  if (!c.session && name !== "login") name = "login";
  if (name === "admin" && c.session?.role !== "admin") name = "register";
  show(name, params);
}

export function showReceipt(r: Receipt): void {
  go("token", { visit: r.visit_id, warnings: r.warnings, fresh: true });
}

function onGlobalKey(e: KeyboardEvent): void {
  if (current?.screen.onKey?.(e)) return;
  if (!ctx?.session) return;
  switch (e.key) {
    case "F2":
      e.preventDefault();
      go("register", { focus: "name" });
      break;
    case "F3":
      e.preventDefault();
      go("register", { focus: "search" });
      break;
    case "F4":
      e.preventDefault();
      go("today");
      break;
    case "F9":
      e.preventDefault();
      go("admin");
      break;
    default:
      break;
  }
}

function fatal(message: string, dir: string): void {
  mount(
    root(),
    h(
      "main",
      { class: "fatal", role: "alert" },
      h("h1", {}, t("app.cannot_open")),
      h("p", { class: "fatal-message" }, message),
      h("p", { class: "muted" }, t("app.data_dir", { dir })),
      h("button", { type: "button", class: "primary", onclick: () => location.reload() }, t("app.retry")),
    ),
  );
}

export async function start(note?: string): Promise<void> {
  mount(root(), h("main", { class: "loading" }, t("app.loading")));
  const st = await api.appState();
  if (st.settings) setLang(st.settings.ui_language);
  if (st.needs_setup) {
    renderSetup(root(), await api.setupStart(), st.data_dir, (next) => void start(next));
    return;
  }
  if (st.error || !st.info || !st.settings) {
    fatal(st.error ? errorMessage(st.error.code, st.error.message) : "unknown", st.data_dir);
    return;
  }
  ctx = {
    info: st.info,
    settings: st.settings,
    session: st.session,
    departments: [],
    sync: null,
    mirror: null,
    backup: null,
    config: null,
    created: st.created,
    dataDir: st.data_dir,
  };
  mount(
    root(),
    h("div", { id: "frame-top" }),
    h("div", { id: "notice", class: "notice", role: "status", hidden: true }),
    h("div", { id: "config-notice", hidden: true }),
    h("main", { id: "screen" }),
  );
  document.addEventListener("keydown", onGlobalKey);
  startSyncPolling();
  if (st.session) {
    setSession(st.session);
    await loadDepartments();
    go("register", { focus: "name" });
  } else {
    go("login");
  }
  if (note) notify(note, "info");
  try {
    await api.uiReady();
  } catch {
    // Only the benchmark listens.
  }
}
