// The bridge to the Tauri shell. Every call goes through `call`, which turns the shell's
// `{code, message, fields}` errors into `ApiError`s the screens branch on by code.

import type {
  AppStateView,
  ConfigStatus,
  ConflictView,
  CounterState,
  DepartmentToday,
  DesktopSettings,
  DuplicatePair,
  Field,
  FieldError,
  Found,
  LastBackup,
  LinkDecision,
  LinkQueue,
  LinkRun,
  MergeOutcome,
  MirrorView,
  PatientCheck,
  PatientForm,
  PatientSummary,
  PrintJob,
  PublishForm,
  Registration,
  Report,
  Reprint,
  Session,
  SetupDepartment,
  SetupDone,
  SetupForm,
  SetupStart,
  SyncStatus,
  UserInfo,
  VisitDetail,
} from "./generated";

// The shapes the shell sends and takes are generated from the Rust wire types (ts-rs, see
// src-tauri/src/commands/bindings.rs): never describe one by hand here. A few get the names the
// screens know them by.
export type * from "./generated";
/** What the clerk sees after a registration or a revisit commits. */
export type Receipt = Registration;
/** This counter's own settings. */
export type Settings = DesktopSettings;
/** A department as the picker shows it. */
export type Department = DepartmentToday;
export type ReprintResult = Reprint;
/** A patient field an admin may approve for the hospital's record (`LinkQueue.updatable`). */
export type UpdatableField = Field;
/** The person's link to the hospital's index: verified, claimed from a card, new, or refused. */
export type LinkState = NonNullable<PatientSummary["link"]>;

export class ApiError extends Error {
  code: string;
  fields: FieldError[];
  constructor(code: string, message: string, fields: FieldError[] = []) {
    super(message);
    this.code = code;
    this.fields = fields;
  }
}

export function emptyForm(): PatientForm {
  return {
    name: "",
    sex: "",
    age: "",
    dob: "",
    guardian_relation: "",
    guardian_name: "",
    mobile: "",
    address: "",
    district: "",
    state: "",
    pincode: "",
    abha: "",
    aadhaar: "",
    category: "general",
    quick: false,
  };
}

type Invoke = (cmd: string, args?: Record<string, unknown>) => Promise<unknown>;

declare global {
  interface Window {
    __TAURI__?: { core: { invoke: Invoke } };
  }
}

let override: Invoke | null = null;

/** Tests replace the shell with a fake. */
export function setInvoke(fn: Invoke | null): void {
  override = fn;
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const o = e as { code: unknown; message: unknown; fields?: unknown };
    return new ApiError(
      String(o.code),
      String(o.message),
      Array.isArray(o.fields) ? (o.fields as FieldError[]) : [],
    );
  }
  return new ApiError("internal", typeof e === "string" ? e : "unexpected error");
}

export async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  const invoke = override ?? window.__TAURI__?.core.invoke;
  if (!invoke) throw new ApiError("no_shell", "Parchi's window is not connected to its core");
  try {
    return (await invoke(cmd, args)) as T;
  } catch (e) {
    throw toApiError(e);
  }
}

export const api = {
  appState: () => call<AppStateView>("app_state"),
  /** First-run setup (an empty data directory only): defaults, CSV, test print, finish. */
  setupStart: () => call<SetupStart>("setup_start"),
  setupDepartmentsCsv: (csv: string) => call<SetupDepartment[]>("setup_departments_csv", { csv }),
  setupTestPrint: (form: SetupForm) => call<PrintJob>("setup_test_print", { form }),
  setupFinish: (form: SetupForm) => call<SetupDone>("setup_finish", { form }),
  setupDemo: () => call<void>("setup_demo"),
  uiReady: () => call<number>("ui_ready"),
  firstAdmin: (name: string, secret: string) => call<Session>("first_admin", { name, secret }),
  login: (name: string, secret: string) => call<Session>("login", { name, secret }),
  logout: () => call<void>("logout"),
  setLanguage: (language: string) => call<void>("set_language", { language }),
  departmentsToday: () => call<Department[]>("departments_today"),
  /** The core's verdict on the form so far; `uhid` is the one typed or scanned from a card. */
  checkPatient: (patient: PatientForm, department: string | null, uhid: string) =>
    call<PatientCheck>("check_patient", { patient, department, uhid: uhid.trim() || null }),
  register: (patient: PatientForm, department: string, uhid: string) =>
    call<Receipt>("register", { patient, department, uhid: uhid.trim() || null }),
  search: (query: string, limit = 8) => call<Found[]>("search", { query, limit }),
  /** A revisit (a patient ID, temporary ID or UHID), or, with a hospital-index record's UHID,
   * registers them from the hospital's record, linked to it. */
  newVisit: (patient: string, department: string) =>
    call<Receipt>("new_visit", { patient, department }),
  visitDetail: (visit: string) => call<VisitDetail>("visit_detail", { visit }),
  cancelVisit: (visit: string, reason: string) =>
    call<VisitDetail>("cancel_visit", { visit, reason }),
  /** Records a reprint, then prints the slip marked DUPLICATE. */
  reprint: (visit: string) => call<ReprintResult>("reprint", { visit }),
  /** The slip as it prints, as an SVG document drawn by parchi-slip from the PDF's layout. */
  slipPreview: (visit: string) => call<string>("slip_preview", { visit }),
  printSlip: (visit: string) => call<PrintJob>("print_slip", { visit }),
  todaysVisits: () => call<VisitDetail[]>("todays_visits"),
  dayReport: (date: string | null) => call<Report>("day_report", { date }),
  syncStatus: () => call<SyncStatus>("sync_status"),
  mirrorStatus: () => call<MirrorView>("mirror_status"),
  /** The last scheduled or manual backup: when, and whether it was verified. */
  backupStatus: () => call<LastBackup | null>("backup_status"),
  syncNow: () => call<SyncStatus>("sync_now"),
  enroll: (hub: string, code: string) => call<SyncStatus>("enroll", { hub, code }),
  countersOverview: () => call<CounterState[]>("counters_overview"),
  users: () => call<UserInfo[]>("users"),
  addUser: (name: string, role: string, secret: string) =>
    call<UserInfo>("add_user", { name, role, secret }),
  setUserDisabled: (name: string, disabled: boolean) =>
    call<UserInfo[]>("set_user_disabled", { name, disabled }),
  duplicates: () => call<DuplicatePair[]>("duplicates"),
  merge: (a: string, b: string, reason: string) => call<MergeOutcome>("merge", { a, b, reason }),
  notDuplicate: (a: string, b: string, reason: string) =>
    call<MergeOutcome>("not_duplicate", { a, b, reason }),
  conflicts: () => call<ConflictView[]>("conflicts"),
  linkRun: () => call<LinkRun>("link_run"),
  linkReview: () => call<LinkQueue>("link_review"),
  linkAccept: (patient: string, uhid: string, update: UpdatableField[]) =>
    call<LinkDecision>("link_accept", { patient, uhid, update }),
  linkReject: (patient: string, uhid: string, reason: string) =>
    call<LinkDecision>("link_reject", { patient, uhid, reason }),
  linkNew: (patient: string, reason: string) => call<LinkDecision>("link_new", { patient, reason }),
  /** The hospital's configuration for every counter: the one in force (taken first if one came
   * into force), those to come, and one this counter refused. Any logged-in user. */
  configStatus: () => call<ConfigStatus>("config_status"),
  /** The departments and waived categories in force, to edit and publish (admins only). */
  publishForm: () => call<PublishForm>("publish_form"),
  /** Publishes the edited table for every counter from its date (admins only); field errors by
   * `departments` (row by row), `waived`, `effective_from`, `note`. */
  publishConfig: (form: PublishForm) => call<ConfigStatus>("publish_config", { form }),
  settings: () => call<Settings>("settings"),
  saveSettings: (settings: Settings) => call<Settings>("save_settings", { settings }),
};
