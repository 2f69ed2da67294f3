//! Cost math: pure functions of a state document and the time.

use super::state::{DeploymentState, StackStatus};
use super::time::Timestamp;

pub const HOURS_PER_MONTH: f64 = 730.0;
/// EFS size assumed when the metered size is not known yet (seed 001 §7.7).
pub const ASSUMED_EFS_GB: f64 = 10.0;
/// Fixed hourly charge of an Application Load Balancer (us-east-1), before LCUs.
pub const ALB_HOURLY: f64 = 0.0225;
/// When only the on-demand price is known, spot is assumed this much cheaper.
pub const ASSUMED_SPOT_DISCOUNT: f64 = 0.70;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

#[derive(Clone, Debug, PartialEq)]
pub struct CostSummary {
    /// What the running instance costs per hour; `None` when nothing runs.
    pub hourly_rate: Option<f64>,
    pub on_demand_rate: Option<f64>,
    pub is_spot: bool,
    /// Percent saved against on-demand, for a spot instance.
    pub spot_saving_pct: Option<f64>,
    pub efs_size_gb: f64,
    /// False when `efs_size_gb` is the assumed baseline.
    pub efs_size_known: bool,
    pub efs_monthly: f64,
    pub alb_monthly: f64,
    pub monthly_estimate: f64,
    pub runtime_hours: f64,
    pub cost_to_date: f64,
}

/// The hourly price of the instance as configured, spot or on-demand.
pub fn hourly_price(state: &DeploymentState) -> Option<f64> {
    let cost = state.cost.as_ref()?;
    if cost.is_spot {
        cost.spot_price_per_hour.or(cost
            .on_demand_price_per_hour
            .map(|p| p * (1.0 - ASSUMED_SPOT_DISCOUNT)))
    } else {
        cost.on_demand_price_per_hour
    }
}

fn instance_running(state: &DeploymentState) -> bool {
    state.instance_id.is_some()
        && !matches!(state.status, StackStatus::Destroyed)
        && state
            .cost
            .as_ref()
            .is_some_and(|c| c.instance_start_time.is_some())
}

/// What keeping the EFS costs per month, and its size in GB (assumed or metered).
pub fn efs_monthly(state: &DeploymentState) -> Option<(f64, f64, bool)> {
    state.efs_id.as_ref()?;
    let price = state
        .cost
        .as_ref()
        .map_or(super::list_prices::EFS_GB_MONTH, |c| c.efs_gb_month_price);
    let (gb, known) = match state.efs_size_bytes {
        Some(b) => (b as f64 / GIB, true),
        None => (ASSUMED_EFS_GB, false),
    };
    Some((gb * price, gb, known))
}

pub fn summarize(state: &DeploymentState, now: Timestamp) -> CostSummary {
    let cost = state.cost.as_ref();
    let price = hourly_price(state);
    let running = instance_running(state);
    let hourly_rate = if running { price } else { None };
    let on_demand_rate = cost.and_then(|c| c.on_demand_price_per_hour);
    let is_spot = cost.is_some_and(|c| c.is_spot);
    let spot_saving_pct = match (is_spot, price, on_demand_rate) {
        (true, Some(spot), Some(od)) if od > 0.0 => Some((od - spot) / od * 100.0),
        _ => None,
    };
    let (efs_monthly, efs_size_gb, efs_size_known) =
        efs_monthly(state).unwrap_or((0.0, 0.0, false));
    let alb_monthly = if state.alb_arn.is_some() && state.status != StackStatus::Destroyed {
        ALB_HOURLY * HOURS_PER_MONTH
    } else {
        0.0
    };
    let monthly_estimate = hourly_rate.unwrap_or(0.0) * HOURS_PER_MONTH + efs_monthly + alb_monthly;

    let open_hours = match (running, cost.and_then(|c| c.instance_start_time)) {
        (true, Some(start)) => start.secs_until(now) / 3600.0,
        _ => 0.0,
    };
    let closed_hours = cost.map_or(0.0, |c| c.closed_runtime_hours);
    let closed_cost = cost.map_or(0.0, |c| c.closed_instance_cost);
    let efs_hours = state.created_at.secs_until(now) / 3600.0;
    let cost_to_date = closed_cost
        + open_hours * hourly_rate.unwrap_or(0.0)
        + efs_monthly * efs_hours / HOURS_PER_MONTH;

    CostSummary {
        hourly_rate,
        on_demand_rate,
        is_spot,
        spot_saving_pct,
        efs_size_gb,
        efs_size_known,
        efs_monthly,
        alb_monthly,
        monthly_estimate,
        runtime_hours: closed_hours + open_hours,
        cost_to_date,
    }
}

/// Close the running instance's cost period: its hours and cost move to the
/// `closed_*` totals, so cost to date survives terminations and relaunches.
pub fn close_instance_period(state: &mut DeploymentState, now: Timestamp) {
    let rate = hourly_price(state).unwrap_or(0.0);
    let Some(cost) = state.cost.as_mut() else {
        return;
    };
    if let Some(start) = cost.instance_start_time.take() {
        let hours = start.secs_until(now) / 3600.0;
        cost.closed_runtime_hours += hours;
        cost.closed_instance_cost += hours * rate;
    }
}

/// Refresh the seed-schema fields that readers of the file expect to be current.
pub fn refresh_recorded(state: &mut DeploymentState, now: Timestamp) {
    let summary = summarize(state, now);
    if let Some(cost) = state.cost.as_mut() {
        cost.estimated_monthly_cost = Some(round4(summary.monthly_estimate));
        cost.total_runtime_hours = round4(summary.runtime_hours);
        cost.estimated_cost_to_date = round4(summary.cost_to_date);
    }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// "2.4 GB", or "~10 GB assumed" while the metered size is unknown.
pub fn efs_size(gb: f64, known: bool) -> String {
    if known {
        format!("{gb:.1} GB")
    } else {
        format!("~{gb:.0} GB assumed")
    }
}

/// An hourly price: "$0.0125/h".
pub fn per_hour(v: f64) -> String {
    format!("${v:.4}/h")
}

/// "$14.13", "$1,204.50"; amounts under a cent keep four decimals ("$0.0031"),
/// and what rounds to nothing is "$0.00".
pub fn dollars(v: f64) -> String {
    if v.abs() < 0.01 && v.abs() >= 0.000_05 {
        format!("${v:.4}")
    } else {
        let cents = (v * 100.0).round() as i64;
        let (whole, frac) = (cents / 100, (cents % 100).abs());
        let digits = whole.abs().to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if whole < 0 { "-" } else { "" };
        format!("{sign}${grouped}.{frac:02}")
    }
}

#[cfg(test)]
mod tests {
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
        // 0.0125 * 730 + 10 GB * 0.30 = 9.125 + 3.0 (seed 000 §8.3 says 14.125 with 5 GB more)
        assert!((c.monthly_estimate - 12.125).abs() < 1e-9);
        assert!((c.spot_saving_pct.unwrap() - 69.95).abs() < 0.01);
        assert!((c.runtime_hours - 10.0).abs() < 1e-9);
        let efs_part = 3.0 * 10.0 / 730.0;
        assert!((c.cost_to_date - (0.125 + efs_part)).abs() < 1e-9);
    }

    #[test]
    fn a_destroyed_stack_costs_only_its_kept_efs() {
        let mut s = running_stack();
        close_instance_period(&mut s, t("2026-01-01T02:00:00Z"));
        s.status = StackStatus::Destroyed;
        s.instance_id = None;
        let c = summarize(&s, t("2026-01-02T00:00:00Z"));
        assert_eq!(c.hourly_rate, None);
        assert!((c.monthly_estimate - 3.0).abs() < 1e-9);
        assert!(
            (c.runtime_hours - 2.0).abs() < 1e-9,
            "closed hours are kept"
        );
        assert!(c.cost_to_date >= 0.025);
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
}
