//! `audit.jsonl`: one line per operation, appended, never rewritten. Past
//! 10 MB it is rotated to `audit-<time>.jsonl`; rotated files older than a
//! year are removed.

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
    /// Each stage of this operation and how long it took, as it ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<AuditStage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditStage {
    /// The pipeline's label ("EFS", "IAM+secrets").
    pub stage: String,
    pub status: crate::domain::stage::StageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secs: Option<f64>,
}

impl AuditStage {
    pub fn of(op: &crate::domain::stage::Operation) -> Vec<Self> {
        op.stages
            .iter()
            .map(|r| Self {
                stage: r.stage.label(op.kind).to_string(),
                status: r.status,
                secs: r
                    .started_at
                    .zip(r.finished_at)
                    .map(|(a, b)| (a.secs_until(b) * 10.0).round() / 10.0),
            })
            .collect()
    }
}

impl AuditResult {
    pub fn word(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Refused => "refused",
        }
    }
}

impl AuditEntry {
    /// "Validate 0.4s · Network 0.8s · Instance ✖ 38.8s": the stages that ran.
    pub fn stage_timings(&self) -> String {
        use crate::domain::stage::StageStatus;
        self.stages
            .iter()
            .filter(|s| s.status != StageStatus::Pending)
            .map(|s| {
                let mark = match s.status {
                    StageStatus::Failed => "✖ ",
                    StageStatus::Skipped => "skipped ",
                    _ => "",
                };
                let secs = s
                    .secs
                    .map(crate::domain::time::format_elapsed)
                    .unwrap_or_else(|| "-".into());
                format!("{} {mark}{secs}", s.stage)
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The error, else why it ran, first line only.
    pub fn why(&self) -> Option<&str> {
        self.error
            .as_deref()
            .or(self.reason.as_deref())
            .and_then(|e| e.lines().next())
    }
}

/// `stack`'s operations in the log and its rotations, newest first.
pub fn of_stack(path: &Path, stack: &str) -> io::Result<Vec<AuditEntry>> {
    let mut entries: Vec<AuditEntry> = read_with_rotations(path)?
        .into_iter()
        .filter(|e| e.stack == stack)
        .collect();
    entries.reverse();
    Ok(entries)
}

/// Rotate past this size.
pub const ROTATE_BYTES: u64 = 10 * 1024 * 1024;
/// Rotated files older than this are removed.
pub const KEEP_ROTATED: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// Append `entry`, rotating the file first when it is past `limit` bytes.
pub fn append_rotating(path: &Path, entry: &AuditEntry, limit: u64) -> io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() >= limit) {
        let stamp = entry.end.to_string().replace([':', '-'], "");
        let rotated = path.with_file_name(format!("audit-{stamp}.jsonl"));
        std::fs::rename(path, &rotated)?;
        remove_old_rotations(path, std::time::SystemTime::now());
    }
    append(path, entry)
}

/// The rotated files beside `path`, oldest first.
pub fn rotations(path: &Path) -> Vec<std::path::PathBuf> {
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("audit-") && n.ends_with(".jsonl"))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn remove_old_rotations(path: &Path, now: std::time::SystemTime) {
    for old in rotations(path) {
        let age = std::fs::metadata(&old)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok());
        if age.is_some_and(|a| a > KEEP_ROTATED)
            && let Err(e) = std::fs::remove_file(&old)
        {
            tracing::warn!(file = %old.display(), error = %e, "could not remove an old audit file");
        }
    }
}

/// Every entry: the rotated files', oldest first, then the current one's.
pub fn read_with_rotations(path: &Path) -> io::Result<Vec<AuditEntry>> {
    let mut entries = Vec::new();
    for rotated in rotations(path) {
        entries.extend(read_all(&rotated)?);
    }
    entries.extend(read_all(path)?);
    Ok(entries)
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
                stages: Vec::new(),
            };
            append(&path, &entry).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let entries = read_all(&path).unwrap();
        assert_eq!(entries[1].operation, "destroy");
        assert_eq!(entries[1].error.as_deref(), Some("boom"));
    }

    #[test]
    fn past_the_limit_the_log_rotates_and_history_reads_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let entry = |n: f64| AuditEntry {
            operation: "deploy".into(),
            stack: "demo".into(),
            provider: Provider::Sandbox,
            start: t.plus_secs(n),
            end: t.plus_secs(n + 1.0),
            result: AuditResult::Succeeded,
            error: None,
            reason: None,
            pid: 1,
            stages: Vec::new(),
        };
        // One line is about 170 bytes: the third append finds two, past 300.
        append_rotating(&path, &entry(0.0), 300).unwrap();
        append_rotating(&path, &entry(10.0), 300).unwrap();
        assert!(rotations(&path).is_empty(), "under the limit");
        append_rotating(&path, &entry(20.0), 300).unwrap();
        assert_eq!(
            rotations(&path).len(),
            1,
            "rotated once it passed the limit"
        );
        assert_eq!(read_all(&path).unwrap().len(), 1, "a fresh file");
        let all = read_with_rotations(&path).unwrap();
        let starts: Vec<_> = all.iter().map(|e| e.start).collect();
        assert_eq!(starts, [t, t.plus_secs(10.0), t.plus_secs(20.0)]);
    }

    #[test]
    fn rotated_files_older_than_a_year_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let old = dir.path().join("audit-20240101T000000Z.jsonl");
        let young = dir.path().join("audit-20261101T000000Z.jsonl");
        std::fs::write(&old, "").unwrap();
        std::fs::write(&young, "").unwrap();
        let now = std::time::SystemTime::now();
        let year_and_a_day = KEEP_ROTATED + std::time::Duration::from_secs(86_400);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(now - year_and_a_day)
            .unwrap();
        remove_old_rotations(&path, now);
        assert!(!old.exists(), "over a year old");
        assert!(young.exists());
    }
}
