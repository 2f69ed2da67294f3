//! `scan`: orphans, missing resources and drift, against the state files;
//! `scan adopt|forget|delete ID` acts on one finding, after confirming,
//! and each is audited. Exit 0 when clean, 3 when something was found.

use std::sync::Arc;

use async_trait::async_trait;

use crate::cloud::Cloud;
use crate::deploy::scan::{self as work, Fix, Regions, ScanError, Scanned};
use crate::domain::Provider;
use crate::domain::scan::{self, Report};
use crate::runtime::Runtime;

use super::args::{ScanAction, ScanArgs};
use super::operations::confirm;
use super::output::{print_json, print_text, table};
use super::{EXIT_FOUND, Failure};

pub async fn scan(rt: &Runtime, args: ScanArgs, json: bool) -> Result<(), Failure> {
    if rt.provider == Provider::Sandbox {
        return Err(Failure::bad_input(
            "scan looks for tagged resources in an AWS account; the sandbox has none (its stacks \
             live in its own files). Run it without --sandbox",
        ));
    }
    let scanned = look(rt, args.all_regions).await?;
    let (id, fix, yes) = match args.action {
        None => return show(&scanned.report, json),
        Some(ScanAction::Adopt { id, stack, yes }) => (id, Fix::Adopt(stack), yes),
        Some(ScanAction::Forget { id, yes }) => (id, Fix::Forget, yes),
        Some(ScanAction::Delete { id, yes }) => (id, Fix::Delete, yes),
    };
    let question = work::question(&scanned, &id, &fix).map_err(failure)?;
    if !yes {
        confirm(&question)?;
    }
    let done = work::apply(
        &rt.store,
        rt.clock.as_ref(),
        &scanned,
        &id,
        &fix,
        &RuntimeRegions(rt),
    )
    .await
    .map_err(failure)?;
    print_text(&done)
}

fn failure(e: ScanError) -> Failure {
    match e {
        ScanError::Refused(why) => Failure::bad_input(why),
        ScanError::Failed(why) => Failure::failed(why),
    }
}

/// The runtime's clouds, one per region, from the same credentials.
struct RuntimeRegions<'a>(&'a Runtime);

#[async_trait]
impl Regions for RuntimeRegions<'_> {
    async fn cloud_in(&self, region: &str) -> Result<Arc<dyn Cloud>, String> {
        self.0.cloud_in(region).await.map_err(|e| e.to_string())
    }
}

/// `--region` given on the command line (not only AWS_REGION in the environment).
fn region_flag(args: impl Iterator<Item = String>) -> bool {
    args.take_while(|a| a != "--")
        .any(|a| a == "--region" || a.starts_with("--region="))
}

async fn look(rt: &Runtime, all_regions: bool) -> Result<Scanned, Failure> {
    let survey = work::survey(&rt.store).map_err(failure)?;
    for warning in &survey.warnings {
        eprintln!("warning: {warning}");
    }
    let regions = if all_regions {
        let cloud = rt.cloud().await?;
        cloud
            .enabled_regions()
            .await
            .map_err(|e| Failure::failed(format!("could not list the enabled regions: {e}")))?
    } else if region_flag(std::env::args()) {
        vec![rt.region.clone()]
    } else {
        scan::state_regions(&survey.states, &rt.region)
    };
    work::look(&survey, &regions, &RuntimeRegions(rt))
        .await
        .map_err(failure)
}

fn found_something(report: &Report) -> Result<(), Failure> {
    if report.is_clean() {
        return Ok(());
    }
    Err(Failure {
        code: EXIT_FOUND,
        message: format!(
            "scan found {} orphan(s), {} missing, {} drifted",
            report.orphans.len(),
            report.missing.len(),
            report.drift.len()
        ),
    })
}

fn show(report: &Report, json: bool) -> Result<(), Failure> {
    if json {
        print_json(report)?;
        return found_something(report);
    }
    let global = if report.global {
        " and IAM, CloudFront"
    } else {
        ""
    };
    println!("Scanned {}{global}", report.regions.join(", "));
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let orphans = report.orphans.iter().map(|o| {
        vec![
            o.kind.to_string(),
            o.id.clone(),
            o.region.clone().unwrap_or_else(|| "global".into()),
            opt(&o.stack),
            o.adopt_into.unwrap_or("-").to_string(),
            opt(&o.note),
        ]
    });
    section(
        "Orphans (tagged, in no state): `scan adopt ID` or `scan delete ID`",
        &["KIND", "ID", "REGION", "STACK", "ADOPT INTO", "NOTE"],
        orphans.collect(),
    )?;
    let missing = report.missing.iter().map(|m| {
        vec![
            m.stack.clone(),
            m.kind.to_string(),
            m.id.clone(),
            m.field.to_string(),
        ]
    });
    section(
        "Missing (in a state, gone from AWS): `deploy STACK` recreates, `scan forget ID` clears the record",
        &["STACK", "KIND", "ID", "FIELD"],
        missing.collect(),
    )?;
    let drift = report.drift.iter().map(|d| {
        vec![
            d.stack.clone(),
            d.kind.to_string(),
            d.id.clone(),
            d.what.clone(),
            d.expected.clone(),
            d.actual.clone(),
        ]
    });
    section(
        "Drift (differs from the state): `deploy STACK` puts it back",
        &["STACK", "KIND", "ID", "WHAT", "EXPECTED", "ACTUAL"],
        drift.collect(),
    )?;
    let elsewhere = report.managed_elsewhere.iter().map(|e| {
        vec![
            e.kind.to_string(),
            e.id.clone(),
            opt(&e.stack),
            opt(&e.installation),
        ]
    });
    section(
        "Managed elsewhere (another installation's; never touched here)",
        &["KIND", "ID", "STACK", "INSTALLATION"],
        elsewhere.collect(),
    )?;
    if report.is_clean() {
        println!(
            "Clean: every tagged resource is in a state, and every recorded one is in AWS as recorded"
        );
    }
    found_something(report)
}

/// A titled table, unless it has no rows.
fn section(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> Result<(), Failure> {
    if rows.is_empty() {
        return Ok(());
    }
    println!("\n{title}");
    print_text(&table(header, &rows))
}

#[cfg(test)]
mod tests {
    use super::region_flag;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn only_a_region_on_the_command_line_narrows_the_scan() {
        assert!(region_flag(args(&["gm", "scan", "--region", "eu-west-1"])));
        assert!(region_flag(args(&["gm", "--region=eu-west-1", "scan"])));
        assert!(!region_flag(args(&["gm", "scan", "--json"])));
        assert!(!region_flag(args(&["gm", "scan", "--", "--region"])));
    }
}
