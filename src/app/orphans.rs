//! The Orphans view's model: the last scan, and its findings as the rows
//! the view draws and the keys act on (one list, so they cannot disagree).

use crate::deploy::scan::{Fix, Scanned};
use crate::domain::Timestamp;
use crate::domain::scan::{Kind, Report};

/// What the dashboard knows of the account's scan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanSeen {
    /// The last scan's answer; `None` before the first.
    pub last: Option<Result<Scanned, String>>,
    /// When it was answered.
    pub at: Option<Timestamp>,
    /// What is under way (a scan, or a fix and the scan after it).
    pub busy: Option<String>,
    /// Scan every enabled region, not only those the states use (`A`).
    pub all_regions: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Orphan,
    Missing,
    Drift,
    Elsewhere,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Orphan => "Orphans: tagged, in no state",
            Section::Missing => "Missing: in a state, gone from AWS",
            Section::Drift => "Drift: differs from the state (a deploy puts it back)",
            Section::Elsewhere => "Managed elsewhere: another installation's, never touched",
        }
    }
}

/// One finding, as a row.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub section: Section,
    pub kind: Kind,
    pub id: String,
    pub stack: Option<String>,
    /// Where it is, or what differs.
    pub detail: String,
}

impl Finding {
    /// What can be done with it from here, in key order.
    pub fn fixes(&self) -> &'static [(char, &'static str)] {
        match self.section {
            Section::Orphan => &[('a', "adopt"), ('x', "delete")],
            Section::Missing => &[('f', "forget")],
            Section::Drift | Section::Elsewhere => &[],
        }
    }

    /// The fix a key asks for on this row, if it offers one.
    pub fn fix_of(&self, key: char) -> Option<Fix> {
        self.fixes().iter().find(|(k, _)| *k == key)?;
        Some(match key {
            'a' => Fix::Adopt(None),
            'x' => Fix::Delete,
            _ => Fix::Forget,
        })
    }
}

/// The report's findings, section by section.
pub fn findings(report: &Report) -> Vec<Finding> {
    let place = |r: &Option<String>| r.clone().unwrap_or_else(|| "global".into());
    let orphans = report.orphans.iter().map(|o| Finding {
        section: Section::Orphan,
        kind: o.kind,
        id: o.id.clone(),
        stack: o.stack.clone(),
        detail: match (o.adopt_into, &o.note) {
            (_, Some(note)) => format!("{} · {note}", place(&o.region)),
            (Some(field), None) => format!("{} · adopt as {field}", place(&o.region)),
            (None, None) => place(&o.region),
        },
    });
    let missing = report.missing.iter().map(|m| Finding {
        section: Section::Missing,
        kind: m.kind,
        id: m.id.clone(),
        stack: Some(m.stack.clone()),
        detail: format!("{} · {}", place(&m.region), m.field),
    });
    let drift = report.drift.iter().map(|d| Finding {
        section: Section::Drift,
        kind: d.kind,
        id: d.id.clone(),
        stack: Some(d.stack.clone()),
        detail: format!("{}: {} → {}", d.what, d.expected, d.actual),
    });
    let elsewhere = report.managed_elsewhere.iter().map(|e| Finding {
        section: Section::Elsewhere,
        kind: e.kind,
        id: e.id.clone(),
        stack: e.stack.clone(),
        detail: format!(
            "{} · installation {}",
            place(&e.region),
            e.installation.as_deref().unwrap_or("unknown")
        ),
    });
    orphans
        .chain(missing)
        .chain(drift)
        .chain(elsewhere)
        .collect()
}

/// The findings of the last scan, if it answered.
pub fn last_findings(seen: &ScanSeen) -> Vec<Finding> {
    match &seen.last {
        Some(Ok(scanned)) => findings(&scanned.report),
        _ => Vec::new(),
    }
}
