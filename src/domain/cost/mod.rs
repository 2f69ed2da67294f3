//! Cost math: pure functions of a state document and the time.

use super::state::{DeploymentState, InstancePeriod, StackStatus};
use super::time::Timestamp;

pub const HOURS_PER_MONTH: f64 = 730.0;
/// EFS size assumed when the metered size is not known yet (seed 001 §7.7).
pub const ASSUMED_EFS_GB: f64 = 10.0;
/// Fixed hourly charge of an Application Load Balancer (us-east-1), before LCUs.
pub const ALB_HOURLY: f64 = 0.0225;
/// One Load Balancer Capacity Unit-hour (us-east-1): the baseline assumed.
pub const ALB_LCU_HOURLY: f64 = 0.008;
/// Every public IPv4 address, attached or not, since February 2024.
pub const IPV4_HOURLY: f64 = 0.005;
/// The instance's root volume: 30 GB of gp3 at $0.08/GB-month (us-east-1),
/// deleted with the instance. The GPU AMI's is larger (its snapshot's size).
pub const ROOT_VOLUME_GB: f64 = 30.0;
pub const GP3_GB_MONTH: f64 = 0.08;
/// AWS Backup's warm storage for EFS recovery points, per GB-month; the daily
/// points are incremental, so about the EFS's own size is kept.
pub const BACKUP_GB_MONTH: f64 = 0.05;
/// EFS elastic throughput, per GB read and per GB written.
pub const ELASTIC_READ_GB: f64 = 0.03;
pub const ELASTIC_WRITE_GB: f64 = 0.06;
/// EBS snapshots, standard tier (us-east-1), per GB-month: a baked image's.
pub const SNAPSHOT_GB_MONTH: f64 = 0.05;

/// What an instance adds per hour besides its price: its public address and
/// its root volume.
pub fn instance_extras_hourly() -> f64 {
    IPV4_HOURLY + ROOT_VOLUME_GB * GP3_GB_MONTH / HOURS_PER_MONTH
}

/// What the EFS costs a month besides storage: its backups, and elastic
/// throughput assuming the whole EFS is read once a month (models loaded at
/// boot) and a tenth of it written.
pub fn efs_extras_monthly(efs_gb: f64) -> f64 {
    efs_gb * (BACKUP_GB_MONTH + ELASTIC_READ_GB + 0.1 * ELASTIC_WRITE_GB)
}
/// An internet-facing ALB holds a public address in each of its two zones.
const ALB_ADDRESSES: u32 = 2;
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
    /// What spot saves against on-demand over a month, for a spot instance.
    pub spot_saving_monthly: Option<f64>,
    pub monthly_estimate: f64,
    pub runtime_hours: f64,
    pub cost_to_date: f64,
    /// The monthly estimate, component by component.
    pub items: Vec<CostItem>,
}

/// One component of the monthly estimate.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CostItem {
    pub component: &'static str,
    pub hourly: Option<f64>,
    pub monthly: f64,
    /// True when the figure rests on an assumption or a fallback; `note` says which.
    pub estimate: bool,
    pub note: String,
}

impl CostItem {
    /// Cents a month, hundredths of a cent an hour: for printing and JSON.
    pub fn rounded(&self) -> Self {
        Self {
            hourly: self.hourly.map(|h| (h * 10_000.0).round() / 10_000.0),
            monthly: (self.monthly * 100.0).round() / 100.0,
            ..self.clone()
        }
    }
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
    let has_alb = state.alb_arn.is_some() && state.status != StackStatus::Destroyed;
    let alb_monthly = if has_alb {
        (ALB_HOURLY + ALB_LCU_HOURLY) * HOURS_PER_MONTH
    } else {
        0.0
    };
    // Dev's Elastic IP is the instance's address while it runs, and is
    // billed all the same while the group is at 0.
    let has_eip =
        state.elastic_ip_allocation_id.is_some() && state.status != StackStatus::Destroyed;
    let addresses = u32::from(running || has_eip) + if has_alb { ALB_ADDRESSES } else { 0 };
    let items = items(
        state,
        hourly_rate,
        (efs_monthly, efs_size_gb, efs_size_known),
        alb_monthly,
        addresses,
    );
    let monthly_estimate = items.iter().map(|i| i.monthly).sum();
    let spot_saving_monthly = match (running && is_spot, price, on_demand_rate) {
        (true, Some(spot), Some(od)) => Some((od - spot).max(0.0) * HOURS_PER_MONTH),
        _ => None,
    };

    let open_hours = match (running, cost.and_then(|c| c.instance_start_time)) {
        (true, Some(start)) => start.secs_until(now) / 3600.0,
        _ => 0.0,
    };
    let closed_hours = cost.map_or(0.0, |c| c.closed_runtime_hours);
    let closed_cost = cost.map_or(0.0, |c| c.closed_instance_cost);
    let cost_to_date = closed_cost
        + open_hours * (hourly_rate.unwrap_or(0.0) + instance_extras_hourly())
        + standing_cost(state, efs_monthly, alb_monthly, state.created_at, now);

    CostSummary {
        hourly_rate,
        on_demand_rate,
        is_spot,
        spot_saving_pct,
        efs_size_gb,
        efs_size_known,
        efs_monthly,
        alb_monthly,
        spot_saving_monthly,
        monthly_estimate,
        runtime_hours: closed_hours + open_hours,
        cost_to_date,
        items,
    }
}

/// What the parts that do not come and go with the instance (EFS, ALB and its
/// addresses) cost between `from` and `to`, prorated by the hour.
fn standing_cost(
    state: &DeploymentState,
    efs_monthly: f64,
    alb_monthly: f64,
    from: Timestamp,
    to: Timestamp,
) -> f64 {
    let start = if state.created_at.0 > from.0 {
        state.created_at
    } else {
        from
    };
    let hours = (start.secs_until(to) / 3600.0).max(0.0);
    let alb_addresses = if alb_monthly > 0.0 {
        f64::from(ALB_ADDRESSES) * IPV4_HOURLY
    } else {
        0.0
    };
    let efs_extras = self::efs_monthly(state).map_or(0.0, |(_, gb, _)| efs_extras_monthly(gb));
    let images = super::image::monthly(state, SNAPSHOT_GB_MONTH);
    (efs_monthly + efs_extras + alb_monthly + images) * hours / HOURS_PER_MONTH
        + alb_addresses * hours
}

/// The monthly estimate of the stack once all of `tier` runs: what a plan
/// costs before anything exists (an EFS of unknown size is assumed 10 GB).
pub fn planned_monthly(state: &DeploymentState, tier: super::Tier, now: Timestamp) -> f64 {
    planned_summary(state, tier, now).monthly_estimate
}

/// The cost summary of the stack once all of `tier` runs.
pub fn planned_summary(state: &DeploymentState, tier: super::Tier, now: Timestamp) -> CostSummary {
    let mut planned = state.clone();
    let plan = || Some("planned".to_string());
    planned.status = StackStatus::Running;
    planned.instance_id = planned.instance_id.or_else(plan);
    planned.efs_id = planned.efs_id.or_else(plan);
    if tier.has_load_balancer() {
        planned.alb_arn = planned.alb_arn.or_else(plan);
    }
    if tier.has_cdn() {
        planned.cloudfront_id = planned.cloudfront_id.or_else(plan);
    }
    if let Some(cost) = planned.cost.as_mut() {
        cost.instance_start_time.get_or_insert(now);
    }
    if planned.images.is_empty() {
        planned.images.push(super::image::BakedImage {
            image_id: "planned".into(),
            key: String::new(),
            base_ami: String::new(),
            snapshot_ids: Vec::new(),
            size_gb: ROOT_VOLUME_GB as u32,
            ready: false,
            created_at: now,
        });
    }
    summarize(&planned, now)
}

/// What the stack cost from `from` to `now`: instance periods (closed ones
/// from the history, clipped to the window, and the open one) plus EFS and ALB.
pub fn spend_between(state: &DeploymentState, from: Timestamp, now: Timestamp) -> f64 {
    let c = summarize(state, now);
    let overlap = |start: Timestamp, end: Timestamp| {
        let start = if start.0 > from.0 { start } else { from };
        let end = if end.0 < now.0 { end } else { now };
        (start.secs_until(end) / 3600.0).max(0.0)
    };
    let cost = state.cost.as_ref();
    let closed: f64 = cost.map_or(0.0, |c| {
        c.history
            .iter()
            .map(|p| overlap(p.started_at, p.ended_at) * (p.hourly_rate + instance_extras_hourly()))
            .sum()
    });
    let open = match (c.hourly_rate, cost.and_then(|c| c.instance_start_time)) {
        (Some(rate), Some(start)) => overlap(start, now) * (rate + instance_extras_hourly()),
        _ => 0.0,
    };
    closed + open + standing_cost(state, c.efs_monthly, c.alb_monthly, from, now)
}

/// Cost accrued since the stack was created, sampled at `points` even steps
/// up to `now`: the Cost pane's chart.
pub fn accrued_series(state: &DeploymentState, now: Timestamp, points: usize) -> Vec<f64> {
    let start = state.created_at;
    let span = start.secs_until(now).max(0.0);
    (1..=points)
        .map(|i| {
            let at = start.plus_secs(span * i as f64 / points as f64);
            spend_between(state, start, at)
        })
        .collect()
}

fn items(
    state: &DeploymentState,
    hourly_rate: Option<f64>,
    (efs_monthly, efs_gb, efs_known): (f64, f64, bool),
    alb_monthly: f64,
    addresses: u32,
) -> Vec<CostItem> {
    let mut items = Vec::new();
    let price_note = state.cost.as_ref().and_then(|c| c.price_estimate.clone());
    if let Some(rate) = hourly_rate {
        let market = if state.is_spot() { "spot" } else { "on-demand" };
        items.push(CostItem {
            component: "instance",
            hourly: Some(rate),
            monthly: rate * HOURS_PER_MONTH,
            estimate: price_note.is_some(),
            note: price_note.unwrap_or_else(|| {
                format!(
                    "{} {market}, current price",
                    state.instance_type().unwrap_or("?")
                )
            }),
        });
    }
    if state.efs_id.is_some() {
        items.push(CostItem {
            component: "efs",
            hourly: None,
            monthly: efs_monthly,
            estimate: !efs_known,
            note: if efs_known {
                format!("{} metered, standard storage", efs_size(efs_gb, true))
            } else {
                format!("size not metered yet: {ASSUMED_EFS_GB:.0} GB assumed")
            },
        });
    }
    if addresses > 0 {
        let hourly = f64::from(addresses) * IPV4_HOURLY;
        items.push(CostItem {
            component: "public_ipv4",
            hourly: Some(hourly),
            monthly: hourly * HOURS_PER_MONTH,
            estimate: false,
            note: format!("{addresses} public IPv4 address(es) at $0.005/h"),
        });
    }
    if alb_monthly > 0.0 {
        items.push(CostItem {
            component: "alb",
            hourly: Some(ALB_HOURLY + ALB_LCU_HOURLY),
            monthly: alb_monthly,
            estimate: true,
            note: "hourly charge plus 1 LCU: more traffic costs more".into(),
        });
    }
    if state.cloudfront_id.is_some() && state.status != StackStatus::Destroyed {
        items.push(CostItem {
            component: "cloudfront",
            hourly: None,
            monthly: 0.0,
            estimate: true,
            note: "no hourly charge; assumes traffic within the free tier (1 TB out, 10M requests a month)".into(),
        });
    }
    if hourly_rate.is_some() {
        let hourly = ROOT_VOLUME_GB * GP3_GB_MONTH / HOURS_PER_MONTH;
        items.push(CostItem {
            component: "root_volume",
            hourly: Some(hourly),
            monthly: hourly * HOURS_PER_MONTH,
            estimate: false,
            note: format!(
                "{ROOT_VOLUME_GB:.0} GB gp3 at ${GP3_GB_MONTH}/GB-month, gone with the instance"
            ),
        });
    }
    let image_gb: u32 = state.images.iter().map(|i| i.size_gb).sum();
    if image_gb > 0 {
        items.push(CostItem {
            component: "images",
            hourly: None,
            monthly: f64::from(image_gb) * SNAPSHOT_GB_MONTH,
            estimate: true,
            note: format!(
                "baked image: {image_gb} GB of EBS snapshots at ${SNAPSHOT_GB_MONTH}/GB-month, billed on the blocks stored (at most this), also while nothing runs"
            ),
        });
    }
    if state.efs_id.is_some() {
        items.push(CostItem {
            component: "efs_backups",
            hourly: None,
            monthly: efs_gb * BACKUP_GB_MONTH,
            estimate: true,
            note: format!(
                "AWS Backup recovery points, about the EFS's size, at ${BACKUP_GB_MONTH}/GB-month"
            ),
        });
        items.push(CostItem {
            component: "efs_elastic",
            hourly: None,
            monthly: efs_gb * (ELASTIC_READ_GB + 0.1 * ELASTIC_WRITE_GB),
            estimate: true,
            note: format!(
                "elastic: ${ELASTIC_READ_GB}/GB read, ${ELASTIC_WRITE_GB}/GB written; assumes the EFS read once and a tenth written a month"
            ),
        });
    }
    items
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
        cost.closed_instance_cost += hours * (rate + instance_extras_hourly());
        cost.history.push(InstancePeriod {
            instance_id: state.instance_id.clone(),
            instance_type: cost.instance_type.clone(),
            spot: cost.is_spot,
            started_at: start,
            ended_at: now,
            hourly_rate: rate,
        });
    }
}

/// Refresh the seed-schema fields that readers of the file expect to be current.
pub fn refresh_recorded(state: &mut DeploymentState, now: Timestamp) {
    state.budget_status = super::budget::check(state, now);
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

/// What the live stacks (all but the destroyed) cost a month together.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiveTotal {
    pub stacks: usize,
    pub monthly: f64,
}

pub fn live_monthly<'a>(
    stacks: impl Iterator<Item = &'a DeploymentState>,
    now: Timestamp,
) -> LiveTotal {
    stacks
        .filter(|s| s.status != crate::domain::StackStatus::Destroyed)
        .fold(LiveTotal::default(), |t, s| LiveTotal {
            stacks: t.stacks + 1,
            monthly: t.monthly + summarize(s, now).monthly_estimate,
        })
}

#[cfg(test)]
mod tests;
