//! Everything that runs on, or is read from, the stack's instance, rendered
//! and parsed here: the user data (with the systemd units, compose and the
//! writer lease's scripts, all from `assets/`), the image builder's script,
//! the boot's stage markers (and their copies on EFS), what the inside-health script prints, and
//! compose's log lines.

pub mod boot;
pub mod inside;
pub mod log_line;
pub mod markers;
pub mod user_data;
