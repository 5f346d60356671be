//! What one configuration changes from another, as the counter's screen lists it: departments
//! added and removed, their fees, rooms, days and names, the waived categories, the counters.

use serde::Serialize;

use crate::config::{Department, HospitalConfig};

/// What changed.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    HospitalName,
    DepartmentAdded,
    DepartmentRemoved,
    DepartmentName,
    Fee,
    Room,
    Days,
    Waived,
    CounterAdded,
    CounterRemoved,
    SlipValidDays,
}

/// One change. `code` and `name` say which department or counter (empty for the hospital's
/// own settings); `before` and `after` are the values as the screen shows them (empty for an
/// addition's `before` or a removal's `after`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConfigChange {
    pub kind: ChangeKind,
    pub code: String,
    pub name: String,
    pub before: String,
    pub after: String,
}

fn change(kind: ChangeKind, code: &str, name: &str, before: String, after: String) -> ConfigChange {
    ConfigChange {
        kind,
        code: code.to_owned(),
        name: name.to_owned(),
        before,
        after,
    }
}

fn department_summary(d: &Department) -> String {
    format!("{}, Rs {}, {}", d.room, d.fee, d.days_text())
}

/// Every change from `before` to `after`, departments in `after`'s order (removed ones last).
pub fn changes(before: &HospitalConfig, after: &HospitalConfig) -> Vec<ConfigChange> {
    use ChangeKind::*;
    let mut out = Vec::new();
    if before.hospital.name != after.hospital.name {
        out.push(change(
            HospitalName,
            "",
            "",
            before.hospital.name.clone(),
            after.hospital.name.clone(),
        ));
    }
    for a in &after.departments {
        let (code, name) = (a.code.as_str(), a.name.as_str());
        let Some(b) = before.departments.iter().find(|b| b.code == a.code) else {
            out.push(change(
                DepartmentAdded,
                code,
                name,
                String::new(),
                department_summary(a),
            ));
            continue;
        };
        for (kind, was, is) in [
            (DepartmentName, b.name.clone(), a.name.clone()),
            (Fee, b.fee.to_string(), a.fee.to_string()),
            (Room, b.room.clone(), a.room.clone()),
            (Days, b.days_text(), a.days_text()),
        ] {
            if was != is {
                out.push(change(kind, code, name, was, is));
            }
        }
    }
    for b in &before.departments {
        if !after.departments.iter().any(|a| a.code == b.code) {
            out.push(change(
                DepartmentRemoved,
                b.code.as_str(),
                &b.name,
                department_summary(b),
                String::new(),
            ));
        }
    }
    let waived = |c: &HospitalConfig| {
        c.fees
            .waived
            .iter()
            .map(|w| w.code())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if waived(before) != waived(after) {
        out.push(change(Waived, "", "", waived(before), waived(after)));
    }
    // Counters in one configuration and not the other: added, then removed.
    for (kind, from, to) in [
        (CounterAdded, after, before),
        (CounterRemoved, before, after),
    ] {
        for c in &from.counters {
            if !to.lists_counter(&c.code) {
                let name = c.name.clone().unwrap_or_default();
                out.push(change(
                    kind,
                    c.code.as_str(),
                    &name,
                    String::new(),
                    String::new(),
                ));
            }
        }
    }
    if before.hospital.slip_valid_days != after.hospital.slip_valid_days {
        out.push(change(
            SlipValidDays,
            "",
            "",
            before.hospital.slip_valid_days.to_string(),
            after.hospital.slip_valid_days.to_string(),
        ));
    }
    out
}

impl ConfigChange {
    /// The change in English words, as the command line prints it (the desktop words it in
    /// the screen's language from the same fields).
    pub fn describe(&self) -> String {
        let who = if self.name.is_empty() {
            self.code.clone()
        } else {
            format!("{} ({})", self.name, self.code)
        };
        let (b, a) = (&self.before, &self.after);
        match self.kind {
            ChangeKind::HospitalName => format!("hospital name: {b} -> {a}"),
            ChangeKind::DepartmentAdded => format!("new department {who}: {a}"),
            ChangeKind::DepartmentRemoved => format!("department {who} closes (was {b})"),
            ChangeKind::DepartmentName => format!("department {}: renamed {b} -> {a}", self.code),
            ChangeKind::Fee => format!("{who}: fee Rs {b} -> Rs {a}"),
            ChangeKind::Room => format!("{who}: room {b} -> {a}"),
            ChangeKind::Days => format!("{who}: days {b} -> {a}"),
            ChangeKind::Waived => format!(
                "categories paying no fee: {} -> {}",
                if b.is_empty() { "none" } else { b },
                if a.is_empty() { "none" } else { a }
            ),
            ChangeKind::CounterAdded => format!("new counter {who}"),
            ChangeKind::CounterRemoved => format!("counter {who} removed"),
            ChangeKind::SlipValidDays => format!("slips valid for {b} -> {a} days"),
        }
    }
}
