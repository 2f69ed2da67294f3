//! Watching a running stack: health probes and compose log parsing.

pub mod health;
pub mod log_cursor;
pub mod log_line;
pub mod observe;
pub mod policy;
pub mod probe;
pub mod watch;
