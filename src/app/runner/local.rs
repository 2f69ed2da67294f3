//! The effects that stay on this machine: saving the logs and the
//! palette's history, reading the audit log. Blocking file work, off the
//! event loop.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::app::msg::Msg;
use crate::domain::Timestamp;
use crate::store::atomic::write_atomic;

/// Write `lines` to `dir/<stack>-<at>.log`, and say where (or why not).
pub fn save_logs(
    dir: PathBuf,
    stack: String,
    at: Timestamp,
    lines: Vec<String>,
    tx: mpsc::Sender<Msg>,
) {
    tokio::task::spawn_blocking(move || {
        let path = dir.join(format!("{stack}-{}.log", at.0.format("%Y%m%dT%H%M%S")));
        let text = lines.join("\n") + "\n";
        let msg = match write_atomic(&path, text.as_bytes()) {
            Ok(()) => Msg::Notice {
                error: false,
                text: format!("saved {} lines to {}", lines.len(), path.display()),
            },
            Err(e) => Msg::Notice {
                error: true,
                text: format!("could not save the logs to {}: {e}", path.display()),
            },
        };
        let _ = tx.blocking_send(msg);
    });
}

/// The stack's operations from the audit log at `path`.
pub fn read_history(path: PathBuf, stack: String, tx: mpsc::Sender<Msg>) {
    tokio::task::spawn_blocking(move || {
        let result = crate::store::audit::of_stack(&path, &stack)
            .map_err(|e| format!("could not read {}: {e}", path.display()));
        let _ = tx.blocking_send(Msg::HistoryRead { stack, result });
    });
}

/// Keep the palette's recent commands at `path`, one a line.
pub fn save_palette_history(path: PathBuf, lines: Vec<String>) {
    tokio::task::spawn_blocking(move || {
        let text = lines.join("\n") + "\n";
        if let Err(e) = write_atomic(&path, text.as_bytes()) {
            // Only the next session's history is lost: not worth a notice.
            tracing::warn!(error = %e, path = %path.display(), "palette history not saved");
        }
    });
}
