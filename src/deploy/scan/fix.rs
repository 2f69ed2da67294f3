//! What can be done with one finding: checked against the scan (and the
//! stacks busy now), asked about, then done under the stack's lock and
//! audited.

use crate::domain::scan::{self, Found, Kind, Orphan, Report};
use crate::domain::state::StackStatus;
use crate::domain::time::Clock;
use crate::domain::{DeploymentState, Provider, StackName, Timestamp};
use crate::store::audit::{AuditEntry, AuditResult};
use crate::store::{LockHolder, Store};

use super::{Regions, ScanError, Scanned};

/// What can be done with one finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fix {
    /// Record an orphan in its stack's state (`Some`: the stack asked for).
    Adopt(Option<StackName>),
    /// Clear the record of a resource AWS no longer has.
    Forget,
    /// Delete an orphan from AWS.
    Delete,
}

impl Fix {
    pub fn operation(&self) -> &'static str {
        match self {
            Fix::Adopt(_) => "scan adopt",
            Fix::Forget => "scan forget",
            Fix::Delete => "scan delete",
        }
    }
}

/// A fix checked against the scan, ready to ask about and to do.
enum Plan<'a> {
    Adopt {
        found: &'a Found,
        stack: StackName,
        field: &'static str,
    },
    Forget {
        stack: StackName,
        kind: Kind,
        field: &'static str,
    },
    Delete {
        found: &'a Found,
        orphan: &'a Orphan,
    },
}

/// The question to confirm before `fix` on `id`, or why it cannot be done.
pub fn question(scanned: &Scanned, id: &str, fix: &Fix) -> Result<String, ScanError> {
    Ok(match plan(scanned, id, fix)? {
        Plan::Adopt {
            found,
            stack,
            field,
        } => format!("Record {} {id} as {stack}'s {field}?", found.kind),
        Plan::Forget { stack, field, .. } => {
            format!("Clear {stack}'s {field} ({id}, gone from AWS) from its state?")
        }
        Plan::Delete { found, orphan } => {
            let note = orphan
                .note
                .as_deref()
                .map(|n| format!(" Note: {n}."))
                .unwrap_or_default();
            format!(
                "Delete orphan {} {id} (Stack={})?{note}",
                found.kind,
                orphan.stack.as_deref().unwrap_or("-")
            )
        }
    })
}

/// Do `fix` on `id` (the user has confirmed it), and audit it. Says what
/// was done.
pub async fn apply(
    store: &Store,
    clock: &dyn Clock,
    scanned: &Scanned,
    id: &str,
    fix: &Fix,
    clouds: &dyn Regions,
) -> Result<String, ScanError> {
    let operation = fix.operation();
    match plan(scanned, id, fix)? {
        Plan::Adopt {
            found,
            stack,
            field,
        } => change_state(store, clock, &stack, operation, |st| {
            adopt(st, &scanned.report, found, &stack, field)
        }),
        Plan::Forget { stack, kind, field } => {
            change_state(store, clock, &stack, operation, |st| {
                forget(st, &stack, kind, id, field)
            })
        }
        Plan::Delete { found, orphan } => {
            let start = clock.now();
            let outcome = match found.region.as_deref() {
                // A global resource: any region's client reaches it.
                None => match scanned.report.regions.first() {
                    Some(region) => clouds.cloud_in(region).await,
                    None => Err("no region was scanned".to_string()),
                },
                Some(region) => clouds.cloud_in(region).await,
            }
            .map_err(ScanError::Failed);
            let outcome = match outcome {
                Ok(cloud) => cloud
                    .delete_orphan(found)
                    .await
                    .map(|()| format!("deleted {} {id}", found.kind))
                    .map_err(|e| ScanError::Failed(e.to_string())),
                Err(e) => Err(e),
            };
            let stack = orphan.stack.as_deref().unwrap_or("-");
            audit(store, clock, operation, stack, start, &outcome);
            outcome
        }
    }
}

fn plan<'a>(scanned: &'a Scanned, id: &str, fix: &Fix) -> Result<Plan<'a>, ScanError> {
    let planned = plan_idle(scanned, id, fix)?;
    let stack = match &planned {
        Plan::Adopt { stack, .. } | Plan::Forget { stack, .. } => Some(stack.as_str()),
        Plan::Delete { orphan, .. } => orphan.stack.as_deref(),
    };
    match stack.and_then(|s| scanned.busy.get(s).map(|who| (s, who))) {
        Some((stack, who)) => Err(ScanError::Refused(format!(
            "{stack} is busy: {who}. What it makes is recorded as it goes; scan again when it ends"
        ))),
        None => Ok(planned),
    }
}

/// `plan`, as if no stack were busy.
fn plan_idle<'a>(scanned: &'a Scanned, id: &str, fix: &Fix) -> Result<Plan<'a>, ScanError> {
    let report = &scanned.report;
    if *fix == Fix::Forget {
        let Some(m) = report.missing.iter().find(|m| m.id == id) else {
            return Err(ScanError::Refused(format!(
                "{id} is not missing: `scan forget` clears only a record whose resource AWS no longer has"
            )));
        };
        return Ok(Plan::Forget {
            stack: StackName::parse(&m.stack).map_err(|e| ScanError::Refused(e.to_string()))?,
            kind: m.kind,
            field: m.field,
        });
    }
    let Some((orphan, found)) = report.orphans.iter().find(|o| o.id == id).and_then(|o| {
        let f = scanned
            .found
            .iter()
            .find(|f| f.id == id && f.kind == o.kind)?;
        Some((o, f))
    }) else {
        return Err(not_an_orphan(scanned, id));
    };
    match fix {
        Fix::Adopt(asked) => {
            let stack = adopting_stack(id, asked.as_ref(), orphan.stack.as_deref())?;
            let field = scan::adopt_field(found, stack.as_str()).ok_or_else(|| {
                ScanError::Refused(format!(
                    "a deploy of {stack} records no {} like {id} (its name says no role in the \
                     stack), so there is no place to adopt it into; `scan delete {id}` removes it",
                    found.kind
                ))
            })?;
            if asked.is_none() && orphan.adopt_into.is_none() {
                return Err(ScanError::Refused(format!(
                    "{stack} has no state here, so there is nothing to adopt {id} into; \
                     `scan delete {id}` removes it"
                )));
            }
            Ok(Plan::Adopt {
                found,
                stack,
                field,
            })
        }
        _ => Ok(Plan::Delete { found, orphan }),
    }
}

/// The stack an orphan goes into: its own `Stack` tag's, or the one asked
/// for when it has none.
fn adopting_stack(
    id: &str,
    asked: Option<&StackName>,
    tagged: Option<&str>,
) -> Result<StackName, ScanError> {
    match (asked, tagged) {
        (Some(s), Some(tag)) if s.as_str() != tag => Err(ScanError::Refused(format!(
            "{id} is tagged Stack={tag}, not {s}: it is adopted only into its own stack"
        ))),
        (Some(s), _) => Ok(s.clone()),
        (None, Some(tag)) => StackName::parse(tag).map_err(|e| ScanError::Refused(e.to_string())),
        (None, None) => Err(ScanError::Refused(format!(
            "{id} has no Stack tag: say which stack with --stack"
        ))),
    }
}

/// Why `id` cannot be acted on as an orphan.
fn not_an_orphan(scanned: &Scanned, id: &str) -> ScanError {
    let report = &scanned.report;
    if let Some(e) = report.managed_elsewhere.iter().find(|e| e.id == id) {
        return ScanError::Refused(format!(
            "{id} is managed by another installation ({}): it is never adopted or deleted from here",
            e.installation.as_deref().unwrap_or("unknown")
        ));
    }
    if scanned.found.iter().any(|f| f.id == id) {
        return ScanError::Refused(format!(
            "{id} is already recorded in a stack's state: it is not an orphan"
        ));
    }
    ScanError::Refused(format!(
        "{id} is not a GeuseMaker-tagged resource in {}: only resources tagged \
         geusemaker:managed=true are adopted or deleted (try --region or --all-regions)",
        report.regions.join(", ")
    ))
}

fn adopt(
    st: &mut DeploymentState,
    report: &Report,
    f: &Found,
    name: &StackName,
    field: &'static str,
) -> Result<String, String> {
    let id = &f.id;
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
}

fn forget(
    st: &mut DeploymentState,
    name: &StackName,
    kind: Kind,
    id: &str,
    field: &'static str,
) -> Result<String, String> {
    if scan::field(st, field) != Some(id) {
        return Err(format!(
            "{name}'s {field} is no longer {id}; run scan again"
        ));
    }
    scan::set_field(st, field, None);
    if kind == Kind::Instance && st.status == StackStatus::Running {
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
}

/// Take the stack's lock, change its state (read under the lock), save it
/// and audit the change.
fn change_state(
    store: &Store,
    clock: &dyn Clock,
    name: &StackName,
    operation: &str,
    change: impl FnOnce(&mut DeploymentState) -> Result<String, String>,
) -> Result<String, ScanError> {
    let start = clock.now();
    let failed = |e: crate::store::StoreError| ScanError::Failed(e.to_string());
    let _lock = store
        .lock(name, &LockHolder::this_process(operation, start))
        .map_err(failed)?;
    let outcome = match store.load(name).map_err(failed) {
        Ok(Some(mut state)) => change(&mut state)
            .map_err(ScanError::Refused)
            .and_then(|done| store.save(&state).map(|()| done).map_err(failed)),
        Ok(None) => Err(ScanError::Refused(format!(
            "no stack named {name}. `geusemaker-tui list` shows the stacks"
        ))),
        Err(e) => Err(e),
    };
    audit(store, clock, operation, name.as_str(), start, &outcome);
    outcome
}

fn audit(
    store: &Store,
    clock: &dyn Clock,
    operation: &str,
    stack: &str,
    start: Timestamp,
    outcome: &Result<String, ScanError>,
) {
    let (result, error, reason) = match outcome {
        Ok(done) => (AuditResult::Succeeded, None, Some(done.clone())),
        Err(e @ ScanError::Refused(_)) => (AuditResult::Refused, Some(e.to_string()), None),
        Err(e) => (AuditResult::Failed, Some(e.to_string()), None),
    };
    let entry = AuditEntry {
        operation: operation.to_string(),
        stack: stack.to_string(),
        provider: Provider::Aws,
        start,
        end: clock.now(),
        result,
        error,
        reason,
        pid: std::process::id(),
        stages: Vec::new(),
    };
    if let Err(e) = store.audit(&entry) {
        tracing::warn!(error = %e, "could not append to the audit log");
    }
}
