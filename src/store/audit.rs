//! `audit.jsonl`: one line per operation, appended, never rewritten.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::atomic::open_append_private;
use crate::domain::state::Provider;
use crate::domain::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditResult {
    Succeeded,
    Failed,
    /// Never started: bad input, or the stack was busy.
    Refused,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub operation: String,
    pub stack: String,
    pub provider: Provider,
    pub start: Timestamp,
    pub end: Timestamp,
    pub result: AuditResult,
    pub error: Option<String>,
    /// Why it ran, when nobody asked for it (a budget stop, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub pid: u32,
}

/// One `write` of one line: appends of a few hundred bytes do not interleave.
pub fn append(path: &Path, entry: &AuditEntry) -> io::Result<()> {
    let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
    line.push(b'\n');
    open_append_private(path)?.write_all(&line)
}

pub fn read_all(path: &Path) -> io::Result<Vec<AuditEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_one_line_per_operation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for (op, result) in [
            ("deploy", AuditResult::Succeeded),
            ("destroy", AuditResult::Failed),
        ] {
            let entry = AuditEntry {
                operation: op.into(),
                stack: "demo".into(),
                provider: Provider::Sandbox,
                start: t,
                end: t.plus_secs(1.0),
                result,
                error: (result == AuditResult::Failed).then(|| "boom".into()),
                reason: None,
                pid: 1,
            };
            append(&path, &entry).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let entries = read_all(&path).unwrap();
        assert_eq!(entries[1].operation, "destroy");
        assert_eq!(entries[1].error.as_deref(), Some("boom"));
    }
}
