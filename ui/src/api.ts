// The bridge to the Tauri shell. Every call goes through `call`, which turns the shell's
// `{code, message, fields}` errors into `ApiError`s the screens branch on by code.

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export class ApiError extends Error {
  code: string;
  fields: FieldError[];
  constructor(code: string, message: string, fields: FieldError[] = []) {
    super(message);
    this.code = code;
    this.fields = fields;
  }
}

export type Role = "clerk" | "admin";

export interface Session {
  user: string;
  role: Role;
}

export interface CounterInfo {
  hospital: string;
  hospital_local: string | null;
  counter: string;
  counter_name: string | null;
  site_tag: string;
  today: string;
  weekday: string;
  needs_first_admin: boolean;
  categories: string[];
  waived: string[];
}

export interface Settings {
  printer: string;
  slip_layout: string;
  ui_language: string;
  slip_language: string;
  hub: string;
}

export interface AppStateView {
  data_dir: string;
  created: boolean;
  error: { code: string; message: string; fields: FieldError[] } | null;
  info: CounterInfo | null;
  session: Session | null;
  settings: Settings | null;
}

export interface Department {
  code: string;
  name: string;
  name_local: string;
  room: string;
  fee: number;
  days: string;
}

/** The registration form as the shell takes it; empty strings mean "not given". */
export interface PatientForm {
  name: string;
  sex: string;
  age: string;
  dob: string;
  guardian_relation: string;
  guardian_name: string;
  mobile: string;
  address: string;
  district: string;
  state: string;
  pincode: string;
  abha: string;
  aadhaar: string;
  category: string;
  quick: boolean;
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

export interface PatientCheck {
  errors: FieldError[];
  warnings: FieldError[];
}

export interface Receipt {
  patient_id: string;
  temp_id: string;
  visit_id: string;
  token: string;
  department: string;
  department_name: string;
  room: string;
  fee: number;
  day: string;
  warnings: FieldError[];
}

/** The person's link to the hospital's index: verified, claimed from a card, new, or refused. */
export type LinkState = "linked" | "claimed" | "new" | "not_linked";

export interface PatientSummary {
  patient_id: string;
  temp_id: string;
  uhid: string | null;
  name: string;
  age: string;
  sex: string;
  guardian: string | null;
  mobile: string | null;
  abha_number: string | null;
  category: string;
  quick: boolean;
  last_visit: string | null;
  link?: LinkState;
  matched?: string;
  score?: number;
}

/** A record of the hospital's own patient index (mirrored at the counter): nobody here has
 * registered them yet, so it has a UHID and no patient ID. */
export interface CentralSummary {
  uhid: string;
  name: string;
  age?: string | null;
  sex?: string | null;
  guardian?: string | null;
  mobile?: string | null;
  district?: string | null;
  /** When the hospital last saw them. */
  seen?: string | null;
  matched?: string;
  score?: number;
}

/** One search result: a Parchi patient, or a record from the hospital's index. */
export type Found = ({ source: "parchi" } & PatientSummary) | ({ source: "hospital_index" } & CentralSummary);

/** How current the counter's copy of the hospital's index is. */
export interface MirrorView {
  records: number;
  as_of: string | null;
  /** E.g. "hospital index as of 30-11 22:00", in the hospital's time. */
  label: string;
}

/** A patient field an admin may approve for the hospital's record (`parchi_app::link::UPDATABLE`). */
export type UpdatableField = "mobile" | "locality" | "district" | "state" | "pincode" | "abha_number" | "abha_address";

/** What a link run did (counts; the per-person verdicts stay in the core). */
export interface LinkRun {
  patients: number;
  linked: number;
  review: number;
  new: number;
  merged: number;
  index_records: number;
}

export interface ReviewCandidate {
  uhid: string;
  score: number;
  /** card, abha or probable. */
  basis: string;
  reasons: string[];
  /** The hospital's record, when this counter's mirror holds it. */
  record: CentralSummary | null;
}

export interface ReviewItem {
  patient: PatientSummary;
  candidates: ReviewCandidate[];
  notes: string[];
}

export interface LinkQueue {
  items: ReviewItem[];
  /** The fields an admin may approve for the hospital's record. */
  updatable: UpdatableField[];
}

export interface LinkDecision {
  patient: PatientSummary;
  merged: number;
}

export interface VisitView {
  id: string;
  patient_id: string;
  token: string;
  department: string;
  department_name: string;
  department_local: string;
  room: string;
  day: string;
  issued_at: string;
  valid_until: string;
  fee: number;
  category: string;
  cancelled: boolean;
  cancel_reason: string | null;
  reprints: number;
}

export interface VisitDetail {
  visit: VisitView;
  patient: PatientSummary;
}

export interface PrintJob {
  printer: string;
  job: string;
}

export interface SyncStatus {
  hub: string | null;
  enrolled: boolean;
  /** Whether the last sync round reached the hub; null before any attempt. */
  online: boolean | null;
  pending: number;
  rejected: number;
  last_success: string | null;
  last_error: string | null;
  cursor: number;
}

export interface ReprintResult {
  detail: VisitDetail;
  printed: PrintJob | null;
  print_error: { code: string; message: string; fields: FieldError[] } | null;
}

export interface ReportRow {
  key: string;
  registrations: number;
  new_patients: number;
  cancellations: number;
  reprints: number;
  fees: number;
  waived: number;
}

export interface Report {
  hospital: string;
  day: string;
  by_department: ReportRow[];
  by_counter: ReportRow[];
  total: ReportRow;
  department_names: Record<string, string>;
}

export interface CounterState {
  code: string;
  name: string | null;
  this_counter: boolean;
  registrations_today: number;
  pending: number | null;
  rejected: number | null;
}

export interface UserInfo {
  name: string;
  role: Role;
  disabled: boolean;
}

export interface DuplicatePair {
  a: string;
  b: string;
  score: number;
  verdict: string;
  reasons: string[];
  a_patient: PatientSummary;
  b_patient: PatientSummary;
}

export interface MergeOutcome {
  survivor: PatientSummary;
  records: string[];
}

/** One of the concurrent corrections of a field; last-writer-wins kept the one with `won`. */
export interface ConflictWrite {
  op: string;
  site: string;
  /** Hybrid logical clock: wall milliseconds << 16 | logical. */
  hlc: number;
  value: unknown;
  won: boolean;
}

export interface ConflictView {
  patient: PatientSummary;
  field: string;
  identity: boolean;
  writes: ConflictWrite[];
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
  /** The slip as it prints, as PNG bytes. */
  slipPreview: (visit: string) => call<ArrayBuffer | number[]>("slip_preview", { visit }),
  printSlip: (visit: string) => call<PrintJob>("print_slip", { visit }),
  todaysVisits: () => call<VisitDetail[]>("todays_visits"),
  dayReport: (date: string | null) => call<Report>("day_report", { date }),
  syncStatus: () => call<SyncStatus>("sync_status"),
  mirrorStatus: () => call<MirrorView>("mirror_status"),
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
  settings: () => call<Settings>("settings"),
  saveSettings: (settings: Settings) => call<Settings>("save_settings", { settings }),
};
