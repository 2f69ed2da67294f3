//! Above the deploy: the observer that rebuilds a stack's recoveries from
//! its group's activities (`observe`), and the watch that keeps the
//! judgement calls: rollback after a failed deploy, the budget, the
//! on-demand fallback (`watch`).

pub mod observe;
pub mod watch;
