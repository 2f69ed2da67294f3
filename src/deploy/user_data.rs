//! User data: the boot script and compose file from `assets/`, rendered for
//! one stack. It names where the secrets are, never what they are.

use std::io::Write;

use base64::Engine;

const SCRIPT: &str = include_str!("../../assets/user-data.sh");
const COMPOSE: &str = include_str!("../../assets/docker-compose.yml");
/// The compose plugin release the instance downloads (AL2023 does not package it).
pub const COMPOSE_VERSION: &str = "v2.32.4";
/// EC2's limit on user data, before base64.
pub const USER_DATA_LIMIT: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct UserDataInput<'a> {
    pub stack: &'a str,
    pub region: &'a str,
    pub efs_id: &'a str,
    pub secrets_path: &'a str,
    pub gpu: bool,
}

const OLLAMA_GPU: &str = "    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
";

/// Before compose: make sure Docker can hand out the GPU (the Deep Learning
/// AMI ships the NVIDIA container toolkit) and say whether the driver sees one.
const GPU_CHECK: &str = "if command -v nvidia-ctk >/dev/null; then
  nvidia-ctk runtime configure --runtime=docker && systemctl restart docker
fi
if nvidia-smi -L >/dev/null 2>&1; then mark gpu-available; else mark gpu-missing; fi";

/// After compose: whether Ollama's container actually got the GPU.
const OLLAMA_DEVICE: &str = "if docker compose -f /opt/geusemaker/docker-compose.yml exec -T ollama nvidia-smi -L >/dev/null 2>&1; then
  mark ollama-gpu
else
  mark ollama-cpu
fi";

#[derive(Debug, thiserror::Error)]
pub enum UserDataError {
    #[error("user data template left {0} unfilled")]
    Unfilled(String),
    #[error("user data is {0} bytes even compressed; EC2 takes at most 16 KB")]
    TooLarge(usize),
}

/// The boot script for this stack, as text.
pub fn render(input: &UserDataInput<'_>) -> Result<String, UserDataError> {
    let compose = COMPOSE.replace("{{OLLAMA_GPU}}\n", if input.gpu { OLLAMA_GPU } else { "" });
    let script = SCRIPT
        .replace("{{STACK}}", input.stack)
        .replace("{{REGION}}", input.region)
        .replace("{{EFS_ID}}", input.efs_id)
        .replace("{{SECRETS_PATH}}", input.secrets_path)
        .replace("{{COMPOSE_VERSION}}", COMPOSE_VERSION)
        .replace("{{GPU_CHECK}}", if input.gpu { GPU_CHECK } else { "" })
        .replace(
            "{{OLLAMA_DEVICE}}",
            if input.gpu { OLLAMA_DEVICE } else { "" },
        )
        .replace("{{COMPOSE}}", compose.trim_end());
    if let Some(at) = script.find("{{") {
        let end = script[at..].find("}}").map_or(at + 2, |e| at + e + 2);
        return Err(UserDataError::Unfilled(script[at..end].to_string()));
    }
    Ok(script)
}

/// Base64 for RunInstances, gzipped when the text is over the limit
/// (cloud-init unpacks gzip by itself).
pub fn encode(script: &str) -> Result<String, UserDataError> {
    let engine = base64::engine::general_purpose::STANDARD;
    if script.len() <= USER_DATA_LIMIT {
        return Ok(engine.encode(script));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = gz.write_all(script.as_bytes());
    let packed = gz.finish().unwrap_or_default();
    if packed.is_empty() || packed.len() > USER_DATA_LIMIT {
        return Err(UserDataError::TooLarge(packed.len()));
    }
    Ok(engine.encode(packed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(gpu: bool) -> UserDataInput<'static> {
        UserDataInput {
            stack: "demo",
            region: "us-east-1",
            efs_id: "fs-0123456789abcdef0",
            secrets_path: "/geusemaker/demo/",
            gpu,
        }
    }

    #[test]
    fn renders_every_placeholder_within_the_limit() {
        for gpu in [false, true] {
            let script = render(&input(gpu)).unwrap();
            assert!(!script.contains("{{"), "unfilled placeholder");
            assert!(script.len() < USER_DATA_LIMIT, "{} bytes", script.len());
            assert!(script.contains("EFS_ID=\"fs-0123456789abcdef0\""));
            assert!(script.contains("$EFS_ID:/ /mnt/efs efs _netdev,nofail,tls"));
            assert!(script.contains("mount -t efs -o tls,_netdev,nofail"));
            assert_eq!(script.contains("driver: nvidia"), gpu);
            assert_eq!(script.contains("gpu-available"), gpu);
            assert_eq!(script.contains("mark ollama-cpu"), gpu);
        }
    }

    #[test]
    fn images_are_pinned_and_only_service_ports_published() {
        let script = render(&input(false)).unwrap();
        for image in [
            "postgres:16",
            "n8nio/n8n:1.",
            "ollama/ollama:0.",
            "qdrant/qdrant:v1.",
            "unclecode/crawl4ai:0.",
        ] {
            assert!(script.contains(image), "{image} not pinned");
        }
        assert!(!script.contains(":latest"));
        let published: Vec<&str> = script
            .lines()
            .filter(|l| l.trim_start().starts_with("- \"") && l.contains(':'))
            .collect();
        assert_eq!(published.len(), 5, "{published:?}");
        for port in ["5432", "5678", "11434", "6333", "11235"] {
            assert!(
                published
                    .iter()
                    .any(|l| l.contains(&format!("\"{port}:{port}\"")))
            );
        }
    }

    #[test]
    fn large_scripts_are_gzipped_and_oversized_ones_refused() {
        let small = encode("echo hi").unwrap();
        assert_eq!(
            small,
            base64::engine::general_purpose::STANDARD.encode("echo hi")
        );
        let big = "# padding\n".repeat(3000);
        let packed = encode(&big).unwrap();
        assert!(packed.len() < big.len());
        use rand::distr::{Alphanumeric, SampleString};
        let noise = Alphanumeric.sample_string(&mut rand::rng(), 40_000);
        assert!(encode(&noise).is_err());
    }

    #[test]
    fn shellcheck_passes() {
        let Some(shellcheck) = which("shellcheck") else {
            panic!("shellcheck not found: scripts/test installs it into .venv");
        };
        for gpu in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("user-data.sh");
            std::fs::write(&path, render(&input(gpu)).unwrap()).unwrap();
            let out = std::process::Command::new(&shellcheck)
                .arg("--severity=warning")
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    fn which(name: &str) -> Option<std::path::PathBuf> {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
    }
}
