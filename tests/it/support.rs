//! A private state directory per test, and the binary pointed at it.

use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

/// Sandbox stages run this many times faster in tests (a dev deploy ≈ 1 s).
pub const SPEED: &str = "25";

pub struct Home {
    pub dir: TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `geusemaker-tui` with this home, the fast sandbox, and no AWS settings.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("geusemaker-tui").expect("binary");
        cmd.env("GEUSEMAKER_HOME", self.path())
            .env("GEUSEMAKER_SANDBOX_SPEED", SPEED)
            .env_remove("AWS_REGION")
            .env_remove("AWS_PROFILE")
            .timeout(std::time::Duration::from_secs(120));
        cmd
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cmd().args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    /// The stack's state file as written.
    pub fn state(&self, stack: &str) -> String {
        std::fs::read_to_string(
            self.path()
                .join("deployments")
                .join(format!("{stack}.json")),
        )
        .unwrap_or_else(|e| panic!("{stack}'s state: {e}"))
    }

    pub fn deployments(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join("deployments"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}
