use super::*;
use crate::domain::state::{CostTracking, Provider};
use crate::domain::tier::Tier;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn running_stack() -> DeploymentState {
    let mut s = DeploymentState::new(
        "prod-ai",
        Tier::Dev,
        "us-east-1",
        Provider::Sandbox,
        t("2026-01-01T00:00:00Z"),
    );
    s.status = StackStatus::Running;
    s.instance_id = Some("i-1".into());
    s.efs_id = Some("fs-1".into());
    s.efs_size_bytes = Some(10 * 1024 * 1024 * 1024);
    let mut cost = CostTracking::new("t3.medium", true);
    cost.spot_price_per_hour = Some(0.0125);
    cost.on_demand_price_per_hour = Some(0.0416);
    cost.instance_start_time = Some(t("2026-01-01T00:00:00Z"));
    s.cost = Some(cost);
    s
}

#[test]
fn seed_example_monthly_estimate() {
    let s = running_stack();
    let c = summarize(&s, t("2026-01-01T10:00:00Z"));
    assert_eq!(c.hourly_rate, Some(0.0125));
    // 0.0125 * 730 + 10 GB * 0.30 = 9.125 + 3.0 (seed 000 §8.3 says 14.125 with
    // 5 GB more), plus the public IPv4 address the seed predates: 0.005 * 730.
    // Plus the 30 GB gp3 root (2.40) and the EFS's backups and elastic
    // throughput (10 GB * (0.05 + 0.03 + 0.1 * 0.06) = 0.86).
    assert!((c.monthly_estimate - (12.125 + 3.65 + 2.40 + 0.86)).abs() < 1e-9);
    assert!((c.spot_saving_pct.unwrap() - 69.95).abs() < 0.01);
    assert!((c.spot_saving_monthly.unwrap() - (0.0416 - 0.0125) * 730.0).abs() < 1e-9);
    assert!((c.runtime_hours - 10.0).abs() < 1e-9);
    let efs_part = (3.0 + 0.86) * 10.0 / 730.0;
    let instance_extras = (0.005 + 2.40 / 730.0) * 10.0;
    assert!((c.cost_to_date - (0.125 + instance_extras + efs_part)).abs() < 1e-9);
    let items: Vec<(&str, bool)> = c.items.iter().map(|i| (i.component, i.estimate)).collect();
    assert_eq!(
        items,
        [
            ("instance", false),
            ("efs", false),
            ("public_ipv4", false),
            ("root_volume", false),
            ("efs_backups", true),
            ("efs_elastic", true),
        ]
    );
}

#[test]
fn a_stopped_dev_stack_still_pays_for_its_elastic_ip() {
    let mut s = running_stack();
    s.elastic_ip_allocation_id = Some("eipalloc-1".into());
    close_instance_period(&mut s, t("2026-01-01T02:00:00Z"));
    s.status = StackStatus::Stopped;
    s.instance_id = None;
    let c = summarize(&s, t("2026-01-02T00:00:00Z"));
    let ipv4 = c.items.iter().find(|i| i.component == "public_ipv4");
    assert!(
        ipv4.is_some_and(|i| (i.monthly - 0.005 * 730.0).abs() < 1e-9),
        "{:?}",
        c.items
    );
    s.elastic_ip_allocation_id = None;
    let c = summarize(&s, t("2026-01-02T00:00:00Z"));
    assert!(c.items.iter().all(|i| i.component != "public_ipv4"));
}

#[test]
fn a_destroyed_stack_costs_only_its_kept_efs() {
    let mut s = running_stack();
    close_instance_period(&mut s, t("2026-01-01T02:00:00Z"));
    s.status = StackStatus::Destroyed;
    s.instance_id = None;
    let c = summarize(&s, t("2026-01-02T00:00:00Z"));
    assert_eq!(c.hourly_rate, None);
    assert!((c.monthly_estimate - (3.0 + 0.86)).abs() < 1e-9);
    assert!(
        (c.runtime_hours - 2.0).abs() < 1e-9,
        "closed hours are kept"
    );
    assert!(c.cost_to_date >= 0.025);
}

#[test]
fn a_fallback_price_an_unmetered_efs_an_alb_and_cloudfront_are_estimates() {
    let mut s = running_stack();
    s.tier = Some(Tier::Gpu);
    s.efs_size_bytes = None;
    s.alb_arn = Some("arn:alb".into());
    s.cloudfront_id = Some("E1".into());
    s.cost.as_mut().unwrap().price_estimate = Some("Pricing API unavailable".into());
    let c = summarize(&s, t("2026-01-01T10:00:00Z"));
    let estimate = |name: &str| {
        c.items
            .iter()
            .find(|i| i.component == name)
            .unwrap()
            .estimate
    };
    assert!(estimate("instance") && estimate("efs") && estimate("alb") && estimate("cloudfront"));
    assert!(!estimate("public_ipv4"));
    let ipv4 = c
        .items
        .iter()
        .find(|i| i.component == "public_ipv4")
        .unwrap();
    assert!(
        (ipv4.monthly - 3.0 * 0.005 * 730.0).abs() < 1e-9,
        "instance + 2 ALB addresses"
    );
    let total: f64 = c.items.iter().map(|i| i.monthly).sum();
    assert!((c.monthly_estimate - total).abs() < 1e-9);
}

#[test]
fn each_instance_period_is_priced_at_its_own_rate_across_a_relaunch() {
    let mut s = running_stack();
    // Two hours on spot, interrupted, relaunched on-demand for three more.
    close_instance_period(&mut s, t("2026-01-01T02:00:00Z"));
    let cost = s.cost.as_mut().unwrap();
    cost.is_spot = false;
    cost.instance_start_time = Some(t("2026-01-01T02:30:00Z"));
    let now = t("2026-01-01T05:30:00Z");
    let history = &s.cost.as_ref().unwrap().history;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].instance_id.as_deref(), Some("i-1"));
    assert!(history[0].spot && (history[0].hourly_rate - 0.0125).abs() < 1e-12);
    let c = summarize(&s, now);
    assert!((c.runtime_hours - 5.0).abs() < 1e-9);
    let extras = 0.005 + 2.40 / 730.0;
    let instances = 2.0 * (0.0125 + extras) + 3.0 * (0.0416 + extras);
    let efs = (3.0 + 0.86) * 5.5 / 730.0;
    assert!(
        (c.cost_to_date - (instances + efs)).abs() < 1e-9,
        "{}",
        c.cost_to_date
    );
    let whole = spend_between(&s, s.created_at, now);
    assert!((whole - c.cost_to_date).abs() < 1e-9, "{whole}");
    // From 02:00 on only the on-demand period counts, plus EFS.
    let later = spend_between(&s, t("2026-01-01T02:00:00Z"), now);
    let expected = 3.0 * (0.0416 + extras) + (3.0 + 0.86) * 3.5 / 730.0;
    assert!((later - expected).abs() < 1e-9, "{later}");
    let series = accrued_series(&s, now, 4);
    assert!(series.windows(2).all(|w| w[0] <= w[1]), "{series:?}");
    assert!((series[3] - whole).abs() < 1e-9);
}

#[test]
fn a_plan_counts_what_its_tier_will_create() {
    let mut s = running_stack();
    s.instance_id = None;
    s.efs_id = None;
    s.efs_size_bytes = None;
    s.cost.as_mut().unwrap().instance_start_time = None;
    let now = t("2026-01-01T00:00:00Z");
    let dev = planned_monthly(&s, Tier::Dev, now);
    // 9.125 instance + 3.65 IPv4 + 10 GB assumed * 0.30, the root volume,
    // the baked image's 30 GB of snapshots, and the EFS's backups and
    // elastic throughput
    assert!(
        (dev - (9.125 + 3.65 + 3.0 + 2.40 + 1.50 + 0.86)).abs() < 1e-9,
        "{dev}"
    );
    let automation = planned_monthly(&s, Tier::Automation, now);
    let alb = (ALB_HOURLY + ALB_LCU_HOURLY + 2.0 * IPV4_HOURLY) * HOURS_PER_MONTH;
    assert!((automation - dev - alb).abs() < 1e-9, "{automation}");
}

#[test]
fn unknown_spot_price_assumes_the_usual_discount() {
    let mut s = running_stack();
    s.cost.as_mut().unwrap().spot_price_per_hour = None;
    let rate = hourly_price(&s).unwrap();
    assert!((rate - 0.0416 * 0.3).abs() < 1e-12);
}

#[test]
fn dollars_are_readable() {
    assert_eq!(dollars(0.0125), "$0.01");
    assert_eq!(dollars(0.0031), "$0.0031");
    assert_eq!(per_hour(0.0125), "$0.0125/h");
    assert_eq!(dollars(14.125), "$14.13");
    assert_eq!(dollars(1204.5), "$1,204.50");
    assert_eq!(dollars(0.0), "$0.00");
    assert_eq!(dollars(0.000_001), "$0.00");
}
