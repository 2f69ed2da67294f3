//! Monthly budgets per stack (seed 002's resource budgets, enforced): a
//! warning at 80% of the budget, projected or spent this month; at 100% spent,
//! the configured action (`warn`, or `stop`: terminate the instance, keep
//! everything else).

use chrono::{Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::cost::{self, dollars};
use super::state::DeploymentState;
use super::time::Timestamp;

/// Share of the budget at which a warning is raised.
pub const WARN_AT: f64 = 0.8;

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BudgetAction {
    /// Say so, everywhere the stack is shown.
    #[default]
    Warn,
    /// Terminate the instance; the EFS, secrets and network stay.
    Stop,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub monthly_usd: f64,
    #[serde(default)]
    pub action: BudgetAction,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BudgetLevel {
    Ok,
    /// 80% of the budget projected or spent.
    Warning,
    /// The whole budget spent this month.
    Exceeded,
}

/// Where a stack stands against its budget; written into the state so that
/// `status --json` and every dashboard see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    pub level: BudgetLevel,
    pub monthly_usd: f64,
    pub projected_monthly: f64,
    pub spent_this_month: f64,
    pub action: BudgetAction,
    pub message: String,
}

/// A budget level told to the user, so each is told once a month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetTold {
    pub level: BudgetLevel,
    /// The first instant of the month it was told in.
    pub month: Timestamp,
}

/// A positive amount of dollars: "25", "0.5", "$10".
pub fn parse_usd(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_start_matches('$')
        .parse()
        .map_err(|_| format!("{s:?} is not an amount of dollars; write it like 25 or 7.50"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("a budget must be more than $0, not {s}"))
    }
}

/// The first instant of `now`'s calendar month (UTC), when budgets reset.
pub fn month_start(now: Timestamp) -> Timestamp {
    let d = now.0;
    Utc.with_ymd_and_hms(d.year(), d.month(), 1, 0, 0, 0)
        .single()
        .map_or(now, Timestamp)
}

pub fn check(state: &DeploymentState, now: Timestamp) -> Option<BudgetStatus> {
    let budget = state.budget.as_ref()?;
    let projected = cost::summarize(state, now).monthly_estimate;
    let spent = cost::spend_between(state, month_start(now), now);
    Some(assess(budget, projected, spent))
}

/// The level and a sentence saying what it means and what happens next.
pub fn assess(budget: &Budget, projected: f64, spent: f64) -> BudgetStatus {
    let limit = budget.monthly_usd;
    let pct = |v: f64| match v / limit * 100.0 {
        p if p.is_finite() && p < 1000.0 => format!("{p:.0}%"),
        _ => "over 10×".to_string(),
    };
    let (level, message) = if spent >= limit {
        let then = match budget.action {
            BudgetAction::Warn => "the budget action is warn, so it keeps running",
            BudgetAction::Stop => {
                "the budget action is stop: the instance is stopped, the EFS kept"
            }
        };
        (
            BudgetLevel::Exceeded,
            format!(
                "{} spent this month, over the {} budget; {then}",
                dollars(spent),
                dollars(limit)
            ),
        )
    } else if projected >= limit * WARN_AT || spent >= limit * WARN_AT {
        (
            BudgetLevel::Warning,
            format!(
                "projected {}/month is {} of the {} budget ({} spent this month)",
                dollars(projected),
                pct(projected),
                dollars(limit),
                dollars(spent)
            ),
        )
    } else {
        (
            BudgetLevel::Ok,
            format!(
                "projected {}/month, {} of the {} budget",
                dollars(projected),
                pct(projected),
                dollars(limit)
            ),
        )
    };
    BudgetStatus {
        level,
        monthly_usd: limit,
        projected_monthly: round2(projected),
        spent_this_month: (spent * 10_000.0).round() / 10_000.0,
        action: budget.action,
        message,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The account-wide budget over every live stack.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountBudget {
    pub level: BudgetLevel,
    pub monthly_usd: f64,
    pub projected_monthly: f64,
    /// The stacks to stop (their own action is stop), most expensive first,
    /// until the projection is under the budget. Empty below 100%.
    pub to_stop: Vec<String>,
    pub message: String,
}

/// The live stacks' projection against `limit`. At 100%, stacks whose own
/// budget action is stop and that run an instance are picked, the most
/// expensive first, until what is left is under the budget.
pub fn account(stacks: &[DeploymentState], limit: f64, now: Timestamp) -> AccountBudget {
    let live: Vec<(&DeploymentState, f64)> = stacks
        .iter()
        .filter(|s| s.status != crate::domain::StackStatus::Destroyed)
        .map(|s| (s, cost::summarize(s, now).monthly_estimate))
        .collect();
    let projected: f64 = live.iter().map(|(_, m)| m).sum();
    let level = if projected >= limit {
        BudgetLevel::Exceeded
    } else if projected >= limit * WARN_AT {
        BudgetLevel::Warning
    } else {
        BudgetLevel::Ok
    };
    let mut stoppable: Vec<&(&DeploymentState, f64)> = live
        .iter()
        .filter(|(s, _)| {
            s.instance_id.is_some()
                && s.budget
                    .as_ref()
                    .is_some_and(|b| b.action == BudgetAction::Stop)
        })
        .collect();
    stoppable.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(a.0.stack_name.cmp(&b.0.stack_name))
    });
    let mut left = projected;
    let mut to_stop = Vec::new();
    if level == BudgetLevel::Exceeded {
        for (s, monthly) in stoppable {
            if left < limit {
                break;
            }
            left -= monthly;
            to_stop.push(s.stack_name.clone());
        }
    }
    let pct = (projected / limit * 100.0).round();
    let message = match level {
        BudgetLevel::Ok | BudgetLevel::Warning => format!(
            "all stacks: {}/mo projected, {pct:.0}% of the {} account budget",
            dollars(projected),
            dollars(limit)
        ),
        BudgetLevel::Exceeded if to_stop.is_empty() => format!(
            "all stacks: {}/mo projected, over the {} account budget; no stack's budget action is stop, so all keep running",
            dollars(projected),
            dollars(limit)
        ),
        BudgetLevel::Exceeded => format!(
            "all stacks: {}/mo projected, over the {} account budget; stopping {} (their action is stop), EFS kept",
            dollars(projected),
            dollars(limit),
            to_stop.join(", ")
        ),
    };
    AccountBudget {
        level,
        monthly_usd: limit,
        projected_monthly: (projected * 100.0).round() / 100.0,
        to_stop,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(usd: f64, action: BudgetAction) -> Budget {
        Budget {
            monthly_usd: usd,
            action,
        }
    }

    #[test]
    fn under_eighty_percent_is_ok() {
        let s = assess(&budget(100.0, BudgetAction::Warn), 79.0, 10.0);
        assert_eq!(s.level, BudgetLevel::Ok);
    }

    #[test]
    fn eighty_percent_projected_or_spent_warns() {
        let s = assess(&budget(100.0, BudgetAction::Warn), 80.0, 1.0);
        assert_eq!(s.level, BudgetLevel::Warning);
        assert!(
            s.message.contains("80% of the $100.00 budget"),
            "{}",
            s.message
        );
        let s = assess(&budget(100.0, BudgetAction::Warn), 10.0, 85.0);
        assert_eq!(s.level, BudgetLevel::Warning);
    }

    #[test]
    fn a_projection_over_budget_warns_but_only_spending_it_exceeds() {
        let s = assess(&budget(10.0, BudgetAction::Stop), 130.0, 9.99);
        assert_eq!(s.level, BudgetLevel::Warning);
        let s = assess(&budget(10.0, BudgetAction::Stop), 130.0, 10.0);
        assert_eq!(s.level, BudgetLevel::Exceeded);
        assert!(s.message.contains("instance is stopped"), "{}", s.message);
    }

    #[test]
    fn the_month_starts_on_the_first_at_midnight_utc() {
        let now: Timestamp = "2026-11-23T23:42:58Z".parse().unwrap();
        assert_eq!(month_start(now), "2026-11-01T00:00:00Z".parse().unwrap());
    }

    #[test]
    fn amounts_of_dollars() {
        assert_eq!(parse_usd("25"), Ok(25.0));
        assert_eq!(parse_usd("$7.50"), Ok(7.5));
        assert!(parse_usd("0").is_err() && parse_usd("-3").is_err() && parse_usd("lots").is_err());
    }

    #[test]
    fn actions_parse_from_the_command_line() {
        assert_eq!("stop".parse::<BudgetAction>(), Ok(BudgetAction::Stop));
        assert!("pause".parse::<BudgetAction>().is_err());
    }

    fn priced(name: &str, hourly: f64, action: Option<BudgetAction>) -> DeploymentState {
        let now = Timestamp::from_unix_millis(1_780_000_000_000);
        let mut s = DeploymentState::new(
            name,
            crate::domain::Tier::Dev,
            "us-east-1",
            crate::domain::Provider::Sandbox,
            now,
        );
        s.status = crate::domain::StackStatus::Running;
        s.instance_id = Some(format!("i-{name}"));
        s.cost = Some(
            serde_json::from_value(serde_json::json!({
                "on_demand_price_per_hour": hourly,
                "instance_start_time": now.to_string(),
            }))
            .unwrap(),
        );
        s.budget = action.map(|action| Budget {
            monthly_usd: 1_000.0,
            action,
        });
        s
    }

    #[test]
    fn over_the_account_budget_the_dearest_stop_stacks_stop_until_it_is_under() {
        let now = Timestamp::from_unix_millis(1_780_000_000_000);
        let stacks = vec![
            priced("cheap", 0.01, Some(BudgetAction::Stop)),
            priced("dear", 0.50, Some(BudgetAction::Stop)),
            priced("dearest", 1.00, Some(BudgetAction::Warn)),
            priced("middle", 0.20, Some(BudgetAction::Stop)),
        ];
        let monthly = |name: &str| {
            let s = stacks.iter().find(|s| s.stack_name == name).unwrap();
            cost::summarize(s, now).monthly_estimate
        };
        let total: f64 = ["cheap", "dear", "dearest", "middle"]
            .map(monthly)
            .iter()
            .sum();
        // Stopping "dear" alone is not enough; "middle" too is.
        let limit = total - monthly("dear") - monthly("middle") / 2.0;
        let a = account(&stacks, limit, now);
        assert_eq!(a.level, BudgetLevel::Exceeded);
        assert_eq!(a.to_stop, vec!["dear".to_string(), "middle".to_string()]);
        assert!(a.message.contains("stopping dear, middle"), "{}", a.message);
        // 80% warns and stops nothing; under it is fine.
        let a = account(&stacks, total / 0.9, now);
        assert_eq!((a.level, a.to_stop.len()), (BudgetLevel::Warning, 0));
        assert_eq!(account(&stacks, total * 2.0, now).level, BudgetLevel::Ok);
        // Nothing with action stop: it says so, and stops nothing.
        let warn_only = vec![
            priced("w", 1.0, Some(BudgetAction::Warn)),
            priced("n", 1.0, None),
        ];
        let a = account(&warn_only, 1.0, now);
        assert!(
            a.to_stop.is_empty() && a.message.contains("all keep running"),
            "{}",
            a.message
        );
    }
}
