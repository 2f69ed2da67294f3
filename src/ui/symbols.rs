//! Status symbols: shape carries the meaning, colour only reinforces it, so
//! the screen reads without colour (and in a CI log).

use crate::domain::state::ServiceStatus;
use crate::domain::{StackStatus, StageStatus};

pub fn stack(status: StackStatus) -> &'static str {
    match status {
        StackStatus::Running => "●",
        StackStatus::Creating | StackStatus::Updating => "◐",
        StackStatus::RollingBack => "↺",
        StackStatus::Destroying => "◌",
        StackStatus::Failed => "✖",
        StackStatus::Stopped => "■",
        StackStatus::Destroyed => "○",
    }
}

pub fn service(status: ServiceStatus) -> &'static str {
    match status {
        ServiceStatus::Healthy => "●",
        ServiceStatus::Starting => "◐",
        ServiceStatus::Unhealthy => "✖",
        ServiceStatus::Stopped => "○",
    }
}

pub fn stage(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Pending => "·",
        StageStatus::Running => "▶",
        StageStatus::Done => "✔",
        StageStatus::Skipped => "–",
        StageStatus::Failed => "✖",
    }
}

/// Within budget, close to it, over it.
pub fn budget(level: crate::domain::budget::BudgetLevel) -> &'static str {
    use crate::domain::budget::BudgetLevel;
    match level {
        BudgetLevel::Ok => "●",
        BudgetLevel::Warning => "⚠",
        BudgetLevel::Exceeded => "✖",
    }
}
