//! Health checking, below both the deploy (readiness) and the monitor
//! (watch): the probes of the outside view, the inside view from Docker's
//! healthchecks, one check of both, and the policy that counts failures.

pub mod check;
pub mod inside;
pub mod policy;
pub mod probe;
