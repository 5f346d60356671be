//! A sample of every wire type, as real serde JSON (made-up people, never real patients):
//! `test/generated/wire-samples.ts` declares each with its generated type.

use chrono::NaiveDate;
use parchi_app::desktop::{
    CounterInfo, CounterState, DepartmentToday, DesktopSettings, PatientCheck, VisitDetail,
    VisitView,
};
use parchi_app::link::{
    LinkDecision, LinkRow, LinkRun, ReviewCandidate, ReviewDetails, ReviewItem, UPDATABLE,
};
use parchi_app::mirror::MirrorView;
use parchi_app::published::{
    ChangeKind, ConfigChange, ConfigStatus, PublishForm, PublishedView, RefusedConfig,
};
use parchi_app::reconcile::{ConflictView, ConflictWriteView, DuplicatePair, MergeOutcome};
use parchi_app::slips::SlipCopy;
use parchi_app::sync::SyncStatus;
use parchi_app::{
    CentralSummary, Found, PatientSummary, Registration, Report, Role, Session, UserInfo,
};
use parchi_core::op::Field;
use parchi_core::patient::FieldError;
use parchi_core::{OpId, PatientId, SiteId, VisitId};
use parchi_dedup::link::{LinkBasis, LinkOutcome};
use parchi_dedup::{Reason, Verdict};
use parchi_store::{DayReport, MatchKind, ReportRow};
use serde_json::{Value, json};

use super::super::{AppStateView, LinkQueue, PrintJob, Reprint};
use crate::wire::UiError;

fn id(n: u8) -> [u8; 10] {
    [n; 10]
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
}

fn patient(n: u8) -> PatientSummary {
    PatientSummary {
        patient_id: PatientId::new_v7(1_795_000_000_000, id(n)),
        temp_id: "A-K3M7Q2-0017X".into(),
        uhid: None,
        name: "Sunita Devi".into(),
        age: "34Y".into(),
        sex: "F".into(),
        guardian: Some("W/o Ramesh Kumar".into()),
        mobile: Some("98XXXXXX10".into()),
        abha_number: None,
        category: "general".into(),
        quick: false,
        last_visit: Some(day()),
        link: None,
        matched: None,
        score: None,
    }
}

fn found_patient() -> PatientSummary {
    PatientSummary {
        uhid: Some("UH-2026-0004417".into()),
        link: Some("linked"),
        matched: Some(MatchKind::Name),
        score: Some(0.93),
        ..patient(2)
    }
}

fn central() -> CentralSummary {
    CentralSummary {
        uhid: "UH-2019-0000123".into(),
        name: "Sunita Devi".into(),
        age: Some("35Y".into()),
        sex: Some("F".into()),
        guardian: None,
        mobile: None,
        district: Some("Gaya".into()),
        seen: Some(day()),
        matched: Some(MatchKind::Uhid),
        score: None,
    }
}

fn field_error() -> FieldError {
    FieldError {
        field: "mobile",
        code: "length",
        message: "must be 10 digits".into(),
    }
}

fn ui_error() -> UiError {
    UiError {
        code: "validation".into(),
        message: "check the highlighted fields".into(),
        fields: vec![field_error()],
    }
}

fn setup_form() -> parchi_app::setup::SetupForm {
    parchi_app::setup::SetupForm {
        hospital_name: "Sadar Hospital, Gaya".into(),
        hospital_name_local: "सदर अस्पताल, गया".into(),
        local_language: "hi".into(),
        counter_code: "B".into(),
        departments: vec![parchi_app::setup::SetupDepartment {
            code: "MED".into(),
            name: "General Medicine".into(),
            name_local: "सामान्य चिकित्सा".into(),
            room: "Room 4".into(),
            days: "Mon-Sat".into(),
            fee: "10".into(),
        }],
        waived: vec!["bpl".into()],
        slip_layout: "thermal80".into(),
        ..Default::default()
    }
}

fn settings() -> DesktopSettings {
    DesktopSettings {
        printer: "PDF".into(),
        slip_layout: "thermal80".into(),
        ui_language: "hi".into(),
        slip_language: "hi".into(),
        hub: String::new(),
    }
}

fn visit_detail() -> VisitDetail {
    VisitDetail {
        visit: VisitView {
            id: VisitId::new_v7(1_795_000_000_000, id(9)).to_string(),
            patient_id: PatientId::new_v7(1_795_000_000_000, id(1)).to_string(),
            token: "A-017".into(),
            department: "MED".into(),
            department_name: "General Medicine".into(),
            department_local: "सामान्य चिकित्सा".into(),
            room: "Room 12".into(),
            day: day(),
            issued_at: "10:42".into(),
            valid_until: day(),
            fee: 10,
            category: "general".into(),
            cancelled: true,
            cancel_reason: Some("registered twice".into()),
            reprints: 1,
            next_copy: SlipCopy::Duplicate,
        },
        patient: patient(1),
    }
}

fn report_row(key: &str) -> ReportRow {
    ReportRow {
        key: key.into(),
        registrations: 3,
        new_patients: 2,
        cancellations: 1,
        reprints: 1,
        fees: 20,
        waived: 1,
    }
}

fn link_row() -> LinkRow {
    LinkRow {
        patient: patient(3),
        verdict: LinkOutcome::Review,
        uhid: Some("UH-2019-0000123".into()),
        score: Some(0.88),
        basis: Some(LinkBasis::Probable),
        reasons: vec!["name similar (0.93)".into()],
        notes: vec![],
    }
}

fn conflict() -> ConflictView {
    let write = |n: u8, value: Value, won: bool| ConflictWriteView {
        op: OpId::new_v7(1_795_000_000_000, id(n)),
        site: SiteId::new_v7(1_790_000_000_000, id(n + 1)),
        at: format!("2026-11-18 13:3{n}:20"),
        value,
        won,
    };
    ConflictView {
        patient: patient(4),
        field: "mobile".into(),
        identity: false,
        writes: vec![
            write(5, json!("98XXXXXX10"), true),
            write(7, json!({"nested": [1, null]}), false),
        ],
    }
}

fn config_change(
    kind: ChangeKind,
    code: &str,
    name: &str,
    before: &str,
    after: &str,
) -> ConfigChange {
    ConfigChange {
        kind,
        code: code.into(),
        name: name.into(),
        before: before.into(),
        after: after.into(),
    }
}

/// Publication `n`; the sample in force (10) was published at this counter, the others elsewhere.
fn published_view(n: u8, effective_from: NaiveDate, changes: Vec<ConfigChange>) -> PublishedView {
    PublishedView {
        config: OpId::new_v7(1_795_000_000_000, id(n)).to_string(),
        effective_from,
        published_at: "2026-11-27 18:05".into(),
        here: n == 10,
        note: "Nephrology OPD opens; medicine fee revised".into(),
        changes,
    }
}

/// In force from today with two changes, one to come, and one this counter refused.
fn config_status() -> ConfigStatus {
    let later = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
    ConfigStatus {
        in_force: Some(published_view(
            10,
            day(),
            vec![
                config_change(ChangeKind::Fee, "MED", "General Medicine", "10", "15"),
                config_change(
                    ChangeKind::DepartmentAdded,
                    "NEP",
                    "Nephrology",
                    "",
                    "Room 21, Rs 20, Mon-Sat",
                ),
            ],
        )),
        changed_today: true,
        upcoming: vec![published_view(
            11,
            later,
            vec![config_change(
                ChangeKind::Waived,
                "",
                "",
                "bpl",
                "bpl, senior",
            )],
        )],
        refused: Some(RefusedConfig {
            config: OpId::new_v7(1_795_000_000_000, id(12)).to_string(),
            effective_from: day(),
            reason: "it does not list this counter (A)".into(),
        }),
    }
}

/// `(name, TypeScript type, JSON)` for every sample.
pub(super) fn samples() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "appStateOpened",
            "AppStateView",
            v(&AppStateView {
                data_dir: "/home/clerk/.local/share/parchi".into(),
                needs_setup: false,
                created: false,
                error: None,
                info: Some(CounterInfo {
                    hospital: "District Hospital, Gaya".into(),
                    hospital_local: Some("ज़िला अस्पताल, गया".into()),
                    counter: "A".into(),
                    counter_name: None,
                    site_tag: "7KQ2".into(),
                    today: day(),
                    weekday: "Sat".into(),
                    needs_first_admin: false,
                    categories: vec!["general", "bpl"],
                    waived: vec!["bpl"],
                }),
                session: Some(Session {
                    user: "meena".into(),
                    role: Role::Clerk,
                }),
                settings: Some(settings()),
            }),
        ),
        (
            "appStateFailed",
            "AppStateView",
            v(&AppStateView {
                data_dir: "/tmp/parchi".into(),
                needs_setup: false,
                created: true,
                error: Some(ui_error()),
                info: None,
                session: None,
                settings: None,
            }),
        ),
        (
            "appStateSetup",
            "AppStateView",
            v(&AppStateView {
                data_dir: "/home/clerk/.local/share/parchi".into(),
                needs_setup: true,
                created: false,
                error: None,
                info: None,
                session: None,
                settings: None,
            }),
        ),
        (
            "setupStart",
            "SetupStart",
            v(&parchi_app::setup::SetupStart {
                form: setup_form(),
                categories: vec!["general", "bpl", "senior", "staff", "free"],
                slip_layouts: vec!["thermal80", "a6", "a5"],
                slip_languages: vec!["hi", "bn"],
            }),
        ),
        (
            "setupDone",
            "SetupDone",
            v(&parchi_app::setup::SetupDone {
                counter: "B".into(),
                enrolled: None,
                enrol_error: Some("the hub at http://192.168.1.10:7700 did not answer".into()),
            }),
        ),
        (
            "departments",
            "DepartmentToday[]",
            v(&vec![DepartmentToday {
                code: "MED".into(),
                name: "General Medicine".into(),
                name_local: "सामान्य चिकित्सा".into(),
                room: "Room 12".into(),
                fee: 10,
                days: "Mon, Wed, Fri".into(),
            }]),
        ),
        (
            "patientCheck",
            "PatientCheck",
            v(&PatientCheck {
                errors: vec![field_error()],
                warnings: vec![],
            }),
        ),
        (
            "registration",
            "Registration",
            v(&Registration {
                patient_id: PatientId::new_v7(1_795_000_000_000, id(1)),
                temp_id: "A-K3M7Q2-0017X".into(),
                visit_id: VisitId::new_v7(1_795_000_000_000, id(9)),
                token: "A-017".into(),
                department: "MED".into(),
                department_name: "General Medicine".into(),
                room: "Room 12".into(),
                fee: 10,
                day: day(),
                warnings: vec![field_error()],
            }),
        ),
        (
            "found",
            "Found[]",
            v(&vec![
                Found::Parchi(found_patient()),
                Found::Parchi(patient(5)),
                Found::HospitalIndex(central()),
            ]),
        ),
        ("visitDetail", "VisitDetail", v(&visit_detail())),
        (
            "reprint",
            "Reprint",
            v(&Reprint {
                detail: visit_detail(),
                printed: Some(PrintJob {
                    printer: "PDF".into(),
                    job: "PDF-12".into(),
                }),
                print_error: Some(UiError::new(
                    "print",
                    "the printer PDF is not accepting jobs",
                )),
            }),
        ),
        (
            "report",
            "Report",
            v(&Report {
                hospital: "District Hospital, Gaya".into(),
                report: DayReport {
                    day: day(),
                    by_department: vec![report_row("MED")],
                    by_counter: vec![report_row("A")],
                    total: report_row("total"),
                },
                department_names: [("MED".to_string(), "General Medicine".to_string())].into(),
            }),
        ),
        (
            "syncStatus",
            "SyncStatus",
            v(&SyncStatus {
                hub: Some("https://hub.example:8443".into()),
                enrolled: true,
                online: None,
                pending: 4,
                rejected: 0,
                last_success: Some("2026-11-28 10:40".into()),
                last_error: None,
                cursor: 120,
            }),
        ),
        (
            "mirror",
            "MirrorView",
            v(&MirrorView {
                records: 125_000,
                as_of: Some("2026-11-27T16:30:00Z".into()),
                as_of_local: Some("27-11 22:00".into()),
                label: "hospital index as of 27-11 22:00".into(),
            }),
        ),
        (
            "counters",
            "CounterState[]",
            v(&vec![CounterState {
                code: "A".into(),
                name: Some("Main OPD".into()),
                this_counter: true,
                registrations_today: 42,
                pending: Some(3),
                rejected: None,
            }]),
        ),
        (
            "users",
            "UserInfo[]",
            v(&vec![UserInfo {
                name: "admin".into(),
                role: Role::Admin,
                disabled: false,
            }]),
        ),
        (
            "duplicates",
            "DuplicatePair[]",
            v(&vec![DuplicatePair {
                a: PatientId::new_v7(1_795_000_000_000, id(1)).to_string(),
                b: PatientId::new_v7(1_795_000_000_000, id(2)).to_string(),
                score: 0.91,
                verdict: Verdict::Likely,
                reasons: vec!["same mobile".into(), "name similar (0.93)".into()],
                reason_codes: vec![
                    Reason::SameMobile,
                    Reason::NameSimilar { similarity: 0.93 },
                    Reason::CommonName { records: 12 },
                ],
                a_patient: patient(1),
                b_patient: patient(2),
            }]),
        ),
        (
            "merged",
            "MergeOutcome",
            v(&MergeOutcome {
                survivor: patient(1),
                records: vec![
                    PatientId::new_v7(1_795_000_000_000, id(1)).to_string(),
                    PatientId::new_v7(1_795_000_000_000, id(2)).to_string(),
                ],
            }),
        ),
        ("conflicts", "ConflictView[]", v(&vec![conflict()])),
        (
            "linkRun",
            "LinkRun",
            v(&LinkRun {
                patients: 10,
                linked: 7,
                review: 2,
                new: 1,
                merged: 0,
                index_records: 125_000,
                rows: vec![link_row()],
            }),
        ),
        (
            "linkQueue",
            "LinkQueue",
            v(&LinkQueue {
                items: vec![ReviewItem {
                    patient: patient(3),
                    details: ReviewDetails {
                        locality: Some("Ward 4".into()),
                        district: Some("Gaya".into()),
                        state: None,
                        pincode: Some("823001".into()),
                        abha_address: None,
                    },
                    candidates: vec![
                        ReviewCandidate {
                            uhid: "UH-2019-0000123".into(),
                            score: 0.88,
                            basis: LinkBasis::Probable,
                            reasons: vec!["name similar (0.93)".into()],
                            record: Some(central()),
                        },
                        ReviewCandidate {
                            uhid: "UH-2019-0000999".into(),
                            score: 0.71,
                            basis: LinkBasis::Card,
                            reasons: vec![],
                            record: None,
                        },
                    ],
                    notes: vec!["a relative's card?".into()],
                }],
                updatable: &UPDATABLE,
            }),
        ),
        (
            "linkDecision",
            "LinkDecision",
            v(&LinkDecision {
                patient: found_patient(),
                merged: 1,
            }),
        ),
        ("fields", "Field[]", v(&Field::ALL.to_vec())),
        ("settings", "DesktopSettings", v(&settings())),
        (
            "printJob",
            "PrintJob",
            v(&PrintJob {
                printer: "PDF".into(),
                job: "PDF-12".into(),
            }),
        ),
        ("uiError", "UiError", v(&ui_error())),
        ("configStatus", "ConfigStatus", v(&config_status())),
        (
            "configStatusSetUp",
            "ConfigStatus",
            v(&ConfigStatus {
                in_force: None,
                changed_today: false,
                upcoming: vec![],
                refused: None,
            }),
        ),
        (
            "publishForm",
            "PublishForm",
            v(&PublishForm {
                departments: setup_form().departments,
                waived: vec!["bpl".into()],
                effective_from: "2026-11-29".into(),
                note: String::new(),
            }),
        ),
    ]
}

fn v<T: serde::Serialize>(sample: &T) -> Value {
    serde_json::to_value(sample).expect("a sample serialises")
}
