//! `doctor`: is this AWS account ready for a deploy? Read-only: nothing is
//! created. In the sandbox there is no account to check, and doctor says so
//! in a single ok check.

use clap::Args;

use crate::cloud::aws::doctor::DoctorRequest;
use crate::cloud::aws::{AwsCloud, AwsSettings};
use crate::domain::Provider;
use crate::domain::doctor::{Check, CheckStatus, DoctorReport};
use crate::runtime::Runtime;

use super::Failure;
use super::output::{print_json, print_text, table};

#[derive(Debug, Args)]
#[command(
    after_help = "Checks the identity, the region, every IAM action deploy and destroy use \
                  (assets/iam-policy.json, simulated for your user or role), the default VPC, \
                  the vCPU, Elastic IP and security group rule quotas, the service-linked roles \
                  and the zones offering the instance type. Nothing is created.\n\
                  Each check is ok, warning, failed or could-not-verify (the check could not be \
                  made: never a pass).\n\
                  Exit codes: 0 nothing failed (warnings and could-not-verify allowed), \
                  1 a check failed (or AWS could not be reached), 2 bad input."
)]
pub struct DoctorArgs {
    /// The instance type whose quotas and zones to check (default: settings'
    /// default_instance_type)
    #[arg(long, value_name = "TYPE")]
    pub instance_type: Option<String>,
}

pub async fn doctor(rt: &Runtime, args: DoctorArgs, json: bool) -> Result<(), Failure> {
    let instance_type = args
        .instance_type
        .unwrap_or_else(|| rt.settings.default_instance_type.clone());
    if !crate::cloud::is_instance_type(&instance_type) {
        return Err(Failure::bad_input(format!(
            "{instance_type:?} is not an EC2 instance type; use a name like t3.medium or g4dn.xlarge"
        )));
    }
    let report = match rt.provider {
        Provider::Sandbox => sandbox_report(&rt.region),
        Provider::Aws => {
            let request = DoctorRequest {
                instance_type,
                spot: rt.settings.prefer_spot,
            };
            match connect(rt).await {
                Ok(aws) => aws.doctor(&request).await,
                Err(message) => no_credentials_report(&rt.region, message),
            }
        }
    };
    if json {
        print_json(&report)?;
    } else {
        print_text(&describe(&report))?;
    }
    verdict(&report)
}

/// The AWS cloud as `Runtime::cloud_in` connects it, as its own type (the
/// doctor is not part of the `Cloud` trait).
async fn connect(rt: &Runtime) -> Result<AwsCloud, String> {
    let mut settings = AwsSettings::new(&rt.region, rt.store.cache_dir());
    settings.profile = rt.profile.clone();
    settings.endpoint_overrides = rt.endpoint_overrides.clone();
    AwsCloud::connect(settings, rt.clock.clone(), Vec::new())
        .await
        .map_err(|e| e.to_string())
}

fn sandbox_report(region: &str) -> DoctorReport {
    DoctorReport {
        region: region.to_string(),
        checks: vec![Check::ok(
            "sandbox",
            "the sandbox simulates AWS on this machine: no account, permissions or quotas to check. Run doctor without --sandbox to check an AWS account",
        )],
    }
}

fn no_credentials_report(region: &str, message: String) -> DoctorReport {
    DoctorReport {
        region: region.to_string(),
        checks: vec![Check::failed(
            "identity",
            message,
            "Configure credentials (`aws configure`, `aws sso login`, or AWS_PROFILE), then run doctor again",
        )],
    }
}

fn describe(report: &DoctorReport) -> String {
    let rows: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| vec![c.status.to_string(), c.name.clone(), c.detail.clone()])
        .collect();
    let mut out = vec![
        format!("Doctor for {}", report.region),
        table(&["STATUS", "CHECK", "DETAIL"], &rows),
    ];
    let fixes: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Ok && !c.fix.is_empty())
        .map(|c| format!("  {}: {}", c.name, c.fix))
        .collect();
    if !fixes.is_empty() {
        out.push(String::new());
        out.push("To fix:".into());
        out.extend(fixes);
    }
    out.push(String::new());
    out.push(tally(report));
    out.join("\n")
}

fn tally(report: &DoctorReport) -> String {
    let warnings = report.count(CheckStatus::Warning);
    format!(
        "{} ok, {warnings} warning{}, {} failed, {} could not verify",
        report.count(CheckStatus::Ok),
        if warnings == 1 { "" } else { "s" },
        report.count(CheckStatus::Failed),
        report.count(CheckStatus::CouldNotVerify),
    )
}

/// Exit 1 when a check failed, naming them.
fn verdict(report: &DoctorReport) -> Result<(), Failure> {
    let failed: Vec<&str> = report.failed().map(|c| c.name.as_str()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Failure::failed(format!(
        "{} check{} failed ({}): a deploy would fail; fix {} and run doctor again",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        failed.join(", "),
        if failed.len() == 1 { "it" } else { "them" },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> DoctorReport {
        DoctorReport {
            region: "us-east-1".into(),
            checks: vec![
                Check::ok("identity", "arn:aws:iam::1:user/u in account 1"),
                Check::failed(
                    "permission:ec2:RunInstances",
                    "ec2:RunInstances is denied",
                    "Allow ec2:RunInstances",
                ),
            ],
        }
    }

    #[test]
    fn the_text_lists_each_check_and_how_to_fix_what_is_not_ok() {
        let text = describe(&report());
        assert!(text.starts_with("Doctor for us-east-1\nSTATUS"), "{text}");
        assert!(
            text.contains("failed  permission:ec2:RunInstances  ec2:RunInstances is denied"),
            "{text}"
        );
        assert!(
            text.contains("To fix:\n  permission:ec2:RunInstances: Allow ec2:RunInstances"),
            "{text}"
        );
        assert!(
            text.ends_with("1 ok, 0 warnings, 1 failed, 0 could not verify"),
            "{text}"
        );
    }

    #[test]
    fn a_failed_check_exits_1_naming_it() {
        let failure = verdict(&report()).unwrap_err();
        assert_eq!(failure.code, super::super::EXIT_FAILED);
        assert!(
            failure
                .message
                .contains("1 check failed (permission:ec2:RunInstances)"),
            "{}",
            failure.message
        );
        assert!(verdict(&sandbox_report("us-east-1")).is_ok());
    }
}
