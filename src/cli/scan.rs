//! `scan`: orphans, missing resources and drift, against the state files;
//! `scan adopt|forget|delete ID` acts on one finding, after confirming,
//! and each is audited. Exit 0 when clean, 3 when something was found.

use crate::domain::scan::{self, Found, Inventory, Kind, Recorded, Report, Scope};
use crate::domain::state::StackStatus;
use crate::domain::{DeploymentState, Provider, StackName};
use crate::runtime::Runtime;
use crate::store::LockHolder;
use crate::store::audit::{AuditEntry, AuditResult};

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
    let (report, found) = look(rt, args.all_regions).await?;
    match args.action {
        None => show(&report, json),
        Some(ScanAction::Adopt { id, stack, yes }) => adopt(rt, &report, &found, &id, stack, yes),
        Some(ScanAction::Forget { id, yes }) => forget(rt, &report, &id, yes),
        Some(ScanAction::Delete { id, yes }) => delete(rt, &report, &found, &id, yes).await,
    }
}

/// `--region` given on the command line (not only AWS_REGION in the environment).
fn region_flag(args: impl Iterator<Item = String>) -> bool {
    args.take_while(|a| a != "--")
        .any(|a| a == "--region" || a.starts_with("--region="))
}

async fn look(rt: &Runtime, all_regions: bool) -> Result<(Report, Vec<Found>), Failure> {
    let listing = rt.store.list()?;
    for q in &listing.quarantined {
        eprintln!("warning: {q}");
    }
    let states = listing.stacks;
    let regions = if all_regions {
        let cloud = rt.cloud().await?;
        cloud
            .enabled_regions()
            .await
            .map_err(|e| Failure::failed(format!("could not list the enabled regions: {e}")))?
    } else if region_flag(std::env::args()) {
        vec![rt.region.clone()]
    } else {
        scan::state_regions(&states, &rt.region)
    };
    let installation = rt.store.installation_id()?;
    let compared = scan::scanned_states(&states);
    let mut inventory = Inventory::default();
    for (i, region) in regions.iter().enumerate() {
        let global = i == 0;
        let recorded: Vec<Recorded> = compared
            .iter()
            .flat_map(|st| {
                let here = st.region() == region;
                scan::recorded(st)
                    .into_iter()
                    .map(|(r, _)| r)
                    .filter(move |r| if r.kind.is_global() { global } else { here })
            })
            .collect();
        let cloud = rt.cloud_in(region).await?;
        let part = cloud
            .inventory(global, &recorded)
            .await
            .map_err(|e| Failure::failed(format!("scanning {region}: {e}")))?;
        inventory.found.extend(part.found);
        inventory.absent.extend(part.absent);
    }
    let scope = Scope {
        regions: &regions,
        global: !regions.is_empty(),
        installation: &installation,
    };
    let report = scan::build(&scope, &inventory, &states);
    Ok((report, inventory.found))
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

/// Why `id` cannot be acted on as an orphan.
fn not_an_orphan(report: &Report, found: &[Found], id: &str) -> Failure {
    if let Some(e) = report.managed_elsewhere.iter().find(|e| e.id == id) {
        return Failure::bad_input(format!(
            "{id} is managed by another installation ({}): it is never adopted or deleted from here",
            e.installation.as_deref().unwrap_or("unknown")
        ));
    }
    if found.iter().any(|f| f.id == id) {
        return Failure::bad_input(format!(
            "{id} is already recorded in a stack's state: it is not an orphan"
        ));
    }
    Failure::bad_input(format!(
        "{id} is not a GeuseMaker-tagged resource in {}: only resources tagged \
         geusemaker:managed=true are adopted or deleted (try --region or --all-regions)",
        report.regions.join(", ")
    ))
}

fn adopt(
    rt: &Runtime,
    report: &Report,
    found: &[Found],
    id: &str,
    stack: Option<StackName>,
    yes: bool,
) -> Result<(), Failure> {
    let Some(orphan) = report.orphans.iter().find(|o| o.id == id) else {
        return Err(not_an_orphan(report, found, id));
    };
    let f = found
        .iter()
        .find(|f| f.id == id && f.kind == orphan.kind)
        .ok_or_else(|| not_an_orphan(report, found, id))?;
    let name = match (&stack, &orphan.stack) {
        (Some(s), Some(tag)) if s.as_str() != tag => {
            return Err(Failure::bad_input(format!(
                "{id} is tagged Stack={tag}, not {s}: it is adopted only into its own stack"
            )));
        }
        (Some(s), _) => s.clone(),
        (None, Some(tag)) => {
            StackName::parse(tag).map_err(|e| Failure::bad_input(e.to_string()))?
        }
        (None, None) => {
            return Err(Failure::bad_input(format!(
                "{id} has no Stack tag: say which stack with --stack"
            )));
        }
    };
    let field = scan::adopt_field(f, name.as_str()).ok_or_else(|| {
        Failure::bad_input(format!(
            "a deploy of {name} records no {} like {id} (its name says no role in the stack), \
             so there is no place to adopt it into; `scan delete {id}` removes it",
            f.kind
        ))
    })?;
    let question = format!("Record {} {id} as {name}'s {field}?", f.kind);
    change_state(rt, &name, "scan adopt", &question, yes, |st| {
        if let (Some(region), false) = (&f.region, f.kind.is_global())
            && region != st.region()
        {
            return Err(format!(
                "{id} is in {region}, but {name} is in {}",
                st.region()
            ));
        }
        match scan::field(st, field) {
            Some(old) if !report.missing.iter().any(|m| m.id == old) => {
                return Err(format!(
                    "{name} already records {old} as its {field}, and it exists: a stack has one; \
                     `scan delete {id}` removes the orphan instead"
                ));
            }
            _ => {}
        }
        scan::set_field(st, field, Some(id.to_string()));
        let dns = f.facts.dns_name.clone();
        match f.kind {
            Kind::LoadBalancer => st.alb_dns_name = dns.or(st.alb_dns_name.take()),
            Kind::Distribution => st.cloudfront_domain = dns.or(st.cloudfront_domain.take()),
            _ => {}
        }
        // Tagged as made by GeuseMaker: a destroy may delete it.
        let stem = field
            .trim_end_matches("_id")
            .trim_end_matches("_name")
            .trim_end_matches("_arn");
        st.set_provenance(stem, true);
        Ok(format!("recorded {} {id} as {name}'s {field}", f.kind))
    })
}

fn forget(rt: &Runtime, report: &Report, id: &str, yes: bool) -> Result<(), Failure> {
    let Some(m) = report.missing.iter().find(|m| m.id == id) else {
        return Err(Failure::bad_input(format!(
            "{id} is not missing: `scan forget` clears only a record whose resource AWS no longer has"
        )));
    };
    let name = StackName::parse(&m.stack).map_err(|e| Failure::bad_input(e.to_string()))?;
    let question = format!(
        "Clear {name}'s {} ({id}, gone from AWS) from its state?",
        m.field
    );
    let field = m.field;
    change_state(rt, &name, "scan forget", &question, yes, |st| {
        if scan::field(st, field) != Some(id) {
            return Err(format!(
                "{name}'s {field} is no longer {id}; run scan again"
            ));
        }
        scan::set_field(st, field, None);
        if field == "instance_id" && st.status == StackStatus::Running {
            // Not running without its instance: say so, and how to bring it back.
            st.status = StackStatus::Failed;
            st.status_reason = Some(format!(
                "its instance {id} was deleted outside GeuseMaker (cleared by `scan forget`); \
                 `deploy {name}` starts a new one on the same EFS"
            ));
            return Ok(format!(
                "cleared {name}'s {field} ({id}); {name} is now failed: `deploy {name}` starts a new instance"
            ));
        }
        Ok(format!("cleared {name}'s {field} ({id})"))
    })
}

/// Ask, take the stack's lock, change its state (reloaded under the lock),
/// save it and audit the change.
fn change_state(
    rt: &Runtime,
    name: &StackName,
    operation: &str,
    question: &str,
    yes: bool,
    change: impl FnOnce(&mut DeploymentState) -> Result<String, String>,
) -> Result<(), Failure> {
    if !yes {
        confirm(question)?;
    }
    let start = rt.clock.now();
    let _lock = rt
        .store
        .lock(name, &LockHolder::this_process(operation, start))?;
    let mut state = super::load_existing(rt, name)?;
    let outcome = change(&mut state)
        .map_err(Failure::bad_input)
        .and_then(|done| {
            rt.store.save(&state)?;
            Ok(done)
        });
    audit(rt, operation, name.as_str(), start, &outcome);
    let done = outcome?;
    print_text(&done)
}

async fn delete(
    rt: &Runtime,
    report: &Report,
    found: &[Found],
    id: &str,
    yes: bool,
) -> Result<(), Failure> {
    let Some(orphan) = report.orphans.iter().find(|o| o.id == id) else {
        return Err(not_an_orphan(report, found, id));
    };
    let f = found
        .iter()
        .find(|f| f.id == id && f.kind == orphan.kind)
        .ok_or_else(|| not_an_orphan(report, found, id))?;
    if !yes {
        let note = orphan
            .note
            .as_deref()
            .map(|n| format!(" Note: {n}."))
            .unwrap_or_default();
        confirm(&format!(
            "Delete orphan {} {id} (Stack={})?{note}",
            f.kind,
            orphan.stack.as_deref().unwrap_or("-")
        ))?;
    }
    let start = rt.clock.now();
    let region = f.region.clone().unwrap_or_else(|| rt.region.clone());
    let cloud = rt.cloud_in(&region).await?;
    let outcome = cloud
        .delete_orphan(f)
        .await
        .map(|()| format!("deleted {} {id}", f.kind))
        .map_err(|e| Failure::failed(e.to_string()));
    let stack = orphan.stack.as_deref().unwrap_or("-");
    audit(rt, "scan delete", stack, start, &outcome);
    print_text(&outcome?)
}

fn audit(
    rt: &Runtime,
    operation: &str,
    stack: &str,
    start: crate::domain::Timestamp,
    outcome: &Result<String, Failure>,
) {
    let (result, error, reason) = match outcome {
        Ok(done) => (AuditResult::Succeeded, None, Some(done.clone())),
        Err(f) if f.code == super::EXIT_BAD_INPUT => {
            (AuditResult::Refused, Some(f.message.clone()), None)
        }
        Err(f) => (AuditResult::Failed, Some(f.message.clone()), None),
    };
    let entry = AuditEntry {
        operation: operation.to_string(),
        stack: stack.to_string(),
        provider: Provider::Aws,
        start,
        end: rt.clock.now(),
        result,
        error,
        reason,
        pid: std::process::id(),
        stages: Vec::new(),
    };
    if let Err(e) = rt.store.audit(&entry) {
        eprintln!("warning: could not append to the audit log: {e}");
    }
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
