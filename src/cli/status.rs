//! `list` and `status`: read the state store; `status --live` also checks
//! both views of health now.

use crate::domain::cost::{self, dollars};
use crate::domain::stage::OperationResult;
use crate::domain::time::{format_age, format_elapsed};
use crate::domain::{DeploymentState, StackStatus};
use crate::runtime::Runtime;
use crate::ui::symbols;

use super::args::StatusArgs;
use super::output::{self, money_per_month, print_json, print_text, table};
use super::{Failure, load_existing};
use crate::domain::exposure;
use crate::health::check as health;
use crate::health::policy::record_samples;
use crate::monitor::observe;

pub fn list(rt: &Runtime, json: bool) -> Result<(), Failure> {
    let listing = rt.store.list_brief()?;
    for q in &listing.quarantined {
        eprintln!("warning: {q}");
    }
    for (path, why) in &listing.unreadable {
        eprintln!("warning: could not read {path:?}: {why}");
    }
    let now = rt.clock.now();
    if json {
        let summaries: Vec<_> = listing
            .stacks
            .iter()
            .map(|s| output::summary(s, now))
            .collect();
        return print_json(&summaries);
    }
    if listing.stacks.is_empty() {
        println!(
            "No stacks yet. Deploy one: geusemaker-tui --sandbox deploy demo --tier dev --yes"
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = listing
        .stacks
        .iter()
        .map(|s| {
            let summary = output::summary(s, now);
            vec![
                s.stack_name.clone(),
                format!("{} {}", symbols::stack(s.status), s.status),
                s.tier().to_string(),
                s.region().to_string(),
                s.provider.to_string(),
                s.instance_id.clone().unwrap_or_else(|| "-".into()),
                dollars(summary.cost_to_date),
                money_per_month(summary.monthly_cost),
                note(s),
            ]
        })
        .collect();
    let total = cost::live_monthly(listing.stacks.iter().map(std::ops::Deref::deref), now);
    print_text(&format!(
        "{}\n\n{} live of {} stacks: ~{} in all",
        table(
            &[
                "NAME", "STATUS", "TIER", "REGION", "CLOUD", "INSTANCE", "COST", "MONTHLY", "NOTE",
            ],
            &rows,
        ),
        total.stacks,
        listing.stacks.len(),
        money_per_month(total.monthly),
    ))
}

fn note(state: &DeploymentState) -> String {
    match state.status {
        StackStatus::Destroyed => crate::deploy::destroy_kept_data(state)
            .map(|k| format!("kept {}", k.describe()))
            .unwrap_or_default(),
        StackStatus::Stopped => format!(
            "stopped by its budget; `deploy {}` starts it on its EFS",
            state.stack_name
        ),
        StackStatus::Failed => state
            .status_reason
            .clone()
            .or_else(|| state.operation.as_ref().and_then(|op| op.error.clone()))
            .unwrap_or_default(),
        _ => state.n8n_url.clone().unwrap_or_default(),
    }
}

pub async fn status(rt: &Runtime, args: &StatusArgs, json: bool) -> Result<(), Failure> {
    let mut state = load_existing(rt, &args.stack)?;
    let now = rt.clock.now();
    // What the group did since the last look (a replacement overnight), read
    // from AWS: best effort, unless asked for a live view.
    let cloud = if args.live || state.autoscaling_group_name.is_some() {
        match rt.cloud_in(state.region()).await {
            Ok(cloud) => Some(cloud),
            Err(e) if args.live => return Err(e.into()),
            Err(e) => {
                eprintln!(
                    "note: the group's activity was not read ({e}); showing the last recorded state"
                );
                None
            }
        }
    } else {
        None
    };
    if let Some(cloud) = &cloud
        && let Some(observe::Observed { state: fresh, .. }) =
            observe::observe(&rt.store, cloud.as_ref(), &state, now).await?
    {
        state = fresh;
    }
    // As of now, not as of the last write.
    state.budget_status = crate::domain::budget::check(&state, now);
    let live = match (&cloud, args.live) {
        (Some(cloud), true) => Some(health::check(cloud.as_ref(), &state, now).await),
        _ => None,
    };
    if let Some(check) = &live {
        if let Ok(samples) = &check.inside {
            state.services = record_samples(&state.services, samples, now, false);
            crate::instance::inside::record_containers(&mut state.services, &check.containers);
        }
        if check.outside.is_some() {
            state.outside = check.outside.clone();
        }
    }
    if json {
        let mut value = serde_json::to_value(&state)
            .map_err(|e| Failure::failed(format!("could not write JSON: {e}")))?;
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "exposure".into(),
                serde_json::json!(exposure::exposure(&state)),
            );
            if let Some(Err(why)) = live.as_ref().map(|c| &c.inside) {
                object.insert("inside_error".into(), serde_json::json!(why));
            }
        }
        return print_json(&value);
    }
    let mut text = describe(&state, now);
    if let Some(Err(why)) = live.as_ref().map(|c| &c.inside) {
        text.push_str(&format!("\n  inside    could not be read: {why}"));
    }
    text.push_str("\n\nexposure\n");
    text.push_str(&super::access::exposure_table(&state));
    print_text(&text)
}

fn describe(s: &DeploymentState, now: crate::domain::Timestamp) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let market = if s.is_spot() { "spot" } else { "on-demand" };
    let mut out = vec![format!(
        "{} {} {}   {} · {} {} · {} · {}",
        s.stack_name,
        symbols::stack(s.status),
        s.status,
        s.tier(),
        market,
        s.instance_type().unwrap_or("?"),
        s.region(),
        s.provider
    )];
    out.push(format!(
        "  instance  {}  public {}  private {}",
        dash(&s.instance_id),
        dash(&s.public_ip),
        dash(&s.private_ip)
    ));
    out.push(format!("  n8n       {}", dash(&s.n8n_url)));
    let efs = match crate::deploy::destroy_kept_data(s) {
        Some(k) => k.describe(),
        None => "-".into(),
    };
    out.push(format!("  data      {efs}"));
    out.push(format!(
        "  network   {}  sg {}",
        dash(&s.vpc_id),
        dash(&s.security_group_id)
    ));
    if let Some(dns) = &s.alb_dns_name {
        let target = s
            .alb_target_health
            .as_deref()
            .map(|t| format!("  target {t}"))
            .unwrap_or_default();
        out.push(format!("  alb       {dns}{target}"));
    }
    if let Some(id) = &s.cloudfront_id {
        out.push(format!("  cdn       {id}  {}", dash(&s.cloudfront_domain)));
    }
    if let Some(group) = &s.autoscaling_group_name {
        let version = s
            .launch_template_version
            .map(|v| format!("  template v{v}"))
            .unwrap_or_default();
        out.push(format!("  group     {group}{version}"));
    }
    if let Some(line) = crate::domain::image::summary(s) {
        out.push(format!("  image     {line}"));
    }
    for r in s.recoveries.iter().rev().take(3) {
        out.push(format!("  recovery  {}", r.timeline()));
    }
    if let Some(last) = s.switches.last() {
        out.push(format!("  switch    {}", last.summary()));
    }
    if !s.services.is_empty() {
        let services: Vec<String> = s
            .services
            .iter()
            .map(|h| {
                let latency = h
                    .response_time_ms
                    .map(|ms| format!(" {ms}ms"))
                    .unwrap_or_default();
                format!(
                    "{} {} {}{latency}",
                    h.service_name,
                    symbols::service(h.status),
                    h.status
                )
            })
            .collect();
        out.push(format!("  inside    {}", services.join("  ")));
    }
    if let Some(o) = &s.outside {
        let how = match (o.reachable, o.response_time_ms, &o.error) {
            (true, Some(ms), _) => format!("reachable {ms}ms"),
            (true, None, _) => "reachable".into(),
            (false, _, Some(why)) => why.clone(),
            (false, _, None) => "unreachable".into(),
        };
        out.push(format!(
            "  outside   {} {how} ({})",
            o.url,
            format_age(o.at.secs_until(now))
        ));
    }
    if let Some(b) = &s.budget_status {
        out.push(format!(
            "  budget    {} {}",
            symbols::budget(b.level),
            b.message
        ));
    }
    let c = cost::summarize(s, now);
    let rate = c
        .hourly_rate
        .map(cost::per_hour)
        .unwrap_or_else(|| "no instance".into());
    out.push(format!(
        "  cost      {rate} · ~{}/mo · {} so far",
        dollars(c.monthly_estimate),
        dollars(c.cost_to_date)
    ));
    if let Some(op) = &s.operation {
        let took = op
            .finished_at
            .map(|end| format!(" in {}", format_elapsed(op.started_at.secs_until(end))))
            .unwrap_or_default();
        let result = match op.result {
            Some(OperationResult::Succeeded) => "succeeded",
            Some(OperationResult::Failed) => "failed",
            None => "in progress",
        };
        out.push(format!(
            "  last op   {} {result} {}{took}",
            op.kind,
            format_age(op.started_at.secs_until(now))
        ));
        if let Some(error) = &op.error {
            out.push(format!("  error     {error}"));
        }
    }
    if let Some(reason) = &s.status_reason {
        out.push(format!("  why       {reason}"));
    }
    if let Some(last) = s.rollback_history.last() {
        let how = match (last.finished_at, last.success) {
            (None, _) => "under way".to_string(),
            (Some(_), true) => "succeeded".to_string(),
            (Some(_), false) => "failed".to_string(),
        };
        out.push(format!(
            "  rollbacks {} (last: {} {}, {how})",
            s.rollback_history.len(),
            last.trigger,
            format_age(last.timestamp.secs_until(now))
        ));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::describe;
    use crate::domain::{DeploymentState, Provider, Tier, Timestamp};

    #[test]
    fn a_gpu_stack_shows_its_load_balancer_target_and_distribution() {
        let now = Timestamp::from_unix_millis(1_700_000_000_000);
        let mut s = DeploymentState::new("s3", Tier::Gpu, "us-east-1", Provider::Aws, now);
        s.alb_dns_name = Some("s3-alb-1.us-east-1.elb.amazonaws.com".into());
        s.alb_target_health = Some("unhealthy (Target.Timeout)".into());
        s.cloudfront_id = Some("E2ABC".into());
        s.cloudfront_domain = Some("d111.cloudfront.net".into());
        let text = describe(&s, now);
        assert!(
            text.contains(
                "alb       s3-alb-1.us-east-1.elb.amazonaws.com  target unhealthy (Target.Timeout)"
            ),
            "{text}"
        );
        assert!(
            text.contains("cdn       E2ABC  d111.cloudfront.net"),
            "{text}"
        );
    }

    #[test]
    fn a_dev_stack_has_no_load_balancer_lines() {
        let now = Timestamp::from_unix_millis(1_700_000_000_000);
        let s = DeploymentState::new("s1", Tier::Dev, "us-east-1", Provider::Aws, now);
        let text = describe(&s, now);
        assert!(!text.contains("alb ") && !text.contains("cdn "), "{text}");
    }
}
