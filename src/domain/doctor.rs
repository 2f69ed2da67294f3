//! What `doctor` finds: whether an account is ready for a deploy, as a list
//! of checks, each with its status, what was found and how to fix it.

use serde::Serialize;
use strum::{Display, IntoStaticStr};

/// How a check came out. `CouldNotVerify` is never a pass: the check could
/// not be made (a call refused, a quota unreadable, a principal that cannot
/// be simulated), so the deploy may still fail there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Display, IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum CheckStatus {
    Ok,
    Warning,
    Failed,
    CouldNotVerify,
}

/// One check: `fix` is a sentence saying what to do (empty when ok).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
    pub fix: String,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, CheckStatus::Ok, detail, "")
    }

    pub fn warning(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, CheckStatus::Warning, detail, fix)
    }

    pub fn failed(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, CheckStatus::Failed, detail, fix)
    }

    pub fn unverified(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, CheckStatus::CouldNotVerify, detail, fix)
    }

    pub fn new(
        name: impl Into<String>,
        status: CheckStatus,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

/// `doctor --json` prints this: `{"region": ..., "checks": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DoctorReport {
    pub region: String,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Failed)
    }

    /// A deploy would fail: some check failed (warnings and unverified checks do not count).
    pub fn has_failures(&self) -> bool {
        self.failed().next().is_some()
    }

    pub fn count(&self, status: CheckStatus) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_serialize_as_the_cli_prints_them() {
        let json = serde_json::to_string(&Check::unverified("quota", "d", "f")).unwrap();
        assert_eq!(
            json,
            r#"{"name":"quota","status":"could-not-verify","detail":"d","fix":"f"}"#
        );
        assert_eq!(CheckStatus::CouldNotVerify.to_string(), "could-not-verify");
    }

    #[test]
    fn only_a_failed_check_fails_the_report() {
        let mut report = DoctorReport {
            region: "us-east-1".into(),
            checks: vec![
                Check::ok("identity", "me"),
                Check::warning("eip", "low", "raise it"),
                Check::unverified("quota", "unreadable", "allow it"),
            ],
        };
        assert!(!report.has_failures());
        report.checks.push(Check::failed(
            "permission:ec2:RunInstances",
            "denied",
            "allow it",
        ));
        assert!(report.has_failures());
        assert_eq!(report.count(CheckStatus::Failed), 1);
    }
}
