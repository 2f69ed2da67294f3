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

    #[test]
    fn every_tier_with_the_longest_names_fits_ec2s_limit() {
        use crate::domain::{Tier, regions::REGIONS, stack_name::MAX_LEN};
        let stack = "s".repeat(MAX_LEN);
        let region = REGIONS.iter().map(|(r, _)| *r).max_by_key(|r| r.len());
        let secrets_path = format!("/geusemaker/{stack}/");
        let engine = base64::engine::general_purpose::STANDARD;
        for tier in Tier::ALL {
            let script = render(&UserDataInput {
                stack: &stack,
                region: region.unwrap_or("ap-southeast-1"),
                efs_id: "fs-0123456789abcdef0",
                secrets_path: &secrets_path,
                gpu: tier == Tier::Gpu,
            })
            .unwrap();
            // The limit is on the raw bytes, before base64: check what is sent.
            let sent = engine.decode(encode(&script).unwrap()).unwrap();
            assert!(
                sent.len() <= USER_DATA_LIMIT,
                "{tier}: {} bytes sent",
                sent.len()
            );
            assert!(
                script.len() <= USER_DATA_LIMIT,
                "{tier}: {} bytes before any gzip",
                script.len()
            );
        }
    }

    #[test]
    fn the_script_stops_on_any_error_and_marks_it() {
        let script = render(&input(false)).unwrap();
        assert!(script.contains("\nset -Eeuo pipefail\n"));
        assert!(script.contains("shopt -s inherit_errexit"));
        assert!(script.contains("trap 'on_err $? $LINENO' ERR"));
        assert!(script.contains("echo \"failed:$1 $(date"));
        assert!(script.contains(&format!("{}$1 ", crate::cloud::boot::FAILED_PREFIX)));
    }

    #[test]
    fn secrets_are_read_one_by_one_and_checked() {
        let script = render(&input(false)).unwrap();
        // An echo of a command substitution hides the failure from set -e.
        assert!(!script.contains("$(secret"), "a secret read inside echo");
        assert!(!script.contains("} >/etc/geusemaker/stack.env"));
        for (name, var) in [
            ("postgres-password", "POSTGRES_PASSWORD"),
            ("n8n-encryption-key", "N8N_ENCRYPTION_KEY"),
            ("crawl4ai-api-token", "CRAWL4AI_API_TOKEN"),
        ] {
            assert!(
                script.contains(&format!("\nsecret {name} {var}\n")),
                "{name}"
            );
        }
        assert!(script.contains("retry 8 fetch_secret"));
        assert!(script.contains("fail \"secrets: $SECRETS_PATH$1 is empty\""));
    }

    #[test]
    fn docker_starts_only_with_efs_mounted() {
        let script = render(&input(false)).unwrap();
        let dropin = script
            .find("printf '[Unit]\\nRequiresMountsFor=/mnt/efs\\n'")
            .expect("no RequiresMountsFor drop-in");
        assert!(script.contains(">/etc/systemd/system/docker.service.d/geusemaker-efs.conf"));
        let reload = script.find("systemctl daemon-reload").unwrap();
        let start = script.find("systemctl enable --now docker").unwrap();
        let fstab = script.find(">>/etc/fstab").unwrap();
        // The mount unit must exist (fstab) for the requirement to bind.
        assert!(fstab < dropin && dropin < reload && reload < start);
    }

    #[test]
    fn downloads_and_pulls_are_retried_and_the_plugin_verified() {
        let script = render(&input(false)).unwrap();
        assert!(script.contains("retry 5 \"$PKG\" install -y docker amazon-efs-utils"));
        assert!(script.contains("retry 5 download \"$DOWNLOAD/compose\" \"$COMPOSE_URL\""));
        assert!(script.contains("\"$COMPOSE_URL.sha256\""));
        assert!(script.contains("| sha256sum -c --quiet -"));
        assert!(script.contains("retry 5 pull_once"));
        assert!(script.contains("Docker Hub rate limit"));
        // No unretried pull of the whole file (it would hide the rate limit).
        assert!(!script.contains("docker-compose.yml pull"));
        assert!(!script.contains("\"$COMPOSE_FILE\" pull"));
    }

    /// Runs `body` after the script's own prelude (variables and functions,
    /// up to its first write outside /tmp), with `stubs` first on PATH. `sleep`
    /// is stubbed so retries do not wait.
    fn run_prelude(body: &str, stubs: &[(&str, &str)]) -> (std::process::Output, String) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for (name, text) in stubs.iter().chain(&[("sleep", "exit 0")]) {
            let path = bin.join(name);
            std::fs::write(&path, format!("#!/bin/bash\n{text}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let script = render(&input(false)).unwrap();
        let prelude = script
            .split("\nmkdir -p /var/lib/geusemaker")
            .next()
            .unwrap();
        let markers = dir.path().join("stage");
        let marked = format!("MARKERS={}", markers.display());
        let prelude = prelude.replace("MARKERS=/var/lib/geusemaker/stage", &marked);
        assert!(prelude.contains(&marked) && prelude.contains("\ntrap "));
        let path = dir.path().join("boot.sh");
        std::fs::write(&path, format!("{prelude}\n{body}\n")).unwrap();
        let out = std::process::Command::new("bash")
            .arg(&path)
            .env("STUBS", dir.path())
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        let written = std::fs::read_to_string(&markers).unwrap_or_default();
        (out, written)
    }

    /// The line `needle` is on in the harness script for `body`.
    fn line_of(body: &str, needle: &str) -> u32 {
        let script = render(&input(false)).unwrap();
        let prelude = script
            .split("\nmkdir -p /var/lib/geusemaker")
            .next()
            .unwrap();
        let at = body.lines().position(|l| l.contains(needle)).unwrap();
        (prelude.lines().count() + 1 + at) as u32
    }

    fn printed(out: &std::process::Output) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    #[test]
    fn a_secret_read_retries_then_sets_the_value_without_printing_it() {
        // SSM refuses twice (the role is not there yet), then answers.
        let aws = "n=$(cat \"$STUBS/count\" 2>/dev/null || echo 0); n=$((n + 1))
echo \"$n\" >\"$STUBS/count\"
if [ \"$n\" -lt 3 ]; then echo 'Unable to locate credentials' >&2; exit 253; fi
echo s3cr3t-value";
        let body = "secret postgres-password PW\n[ \"$PW\" = s3cr3t-value ] && echo read-ok";
        let (out, markers) = run_prelude(body, &[("aws", aws)]);
        assert!(out.status.success(), "{}", printed(&out));
        assert!(printed(&out).contains("read-ok"));
        assert!(!printed(&out).contains("s3cr3t"), "{}", printed(&out));
        assert!(markers.is_empty(), "{markers}");
    }

    #[test]
    fn a_secret_that_cannot_be_read_or_is_empty_fails_closed() {
        let body = "secret n8n-encryption-key KEY\necho went-on";
        let denied = "echo 'AccessDeniedException' >&2; exit 254";
        for (aws, why) in [
            (denied, "could not read"),
            ("echo", "is empty"),
            ("echo None", "is empty"),
        ] {
            let (out, markers) = run_prelude(body, &[("aws", aws)]);
            assert!(!out.status.success());
            assert!(!printed(&out).contains("went-on"), "went on after {why}");
            let failed = crate::cloud::boot::failure(&markers).expect("no failure marker");
            assert_eq!(markers.lines().count(), 1, "{markers}");
            assert!(
                failed
                    .reason
                    .contains("/geusemaker/demo/n8n-encryption-key")
                    && failed.reason.contains(why),
                "{failed}"
            );
            assert_eq!(failed.line, Some(line_of(body, "secret n8n")));
        }
    }

    #[test]
    fn any_failing_command_leaves_one_marker_with_its_line_and_step() {
        for failing in ["false", "x=$(false)", "x=$(false; echo a)", "false | cat"] {
            let body = format!("STEP=\"pulling images\"\n{failing}\necho went-on");
            let (out, markers) = run_prelude(&body, &[]);
            assert!(!out.status.success(), "{failing}");
            assert!(!printed(&out).contains("went-on"), "{failing}");
            assert_eq!(markers.lines().count(), 1, "{failing}: {markers}");
            let failed = crate::cloud::boot::failure(&markers).unwrap();
            assert_eq!(failed.line, Some(line_of(&body, failing)), "{failing}");
            assert_eq!(failed.reason, "pulling images (exit 1)");
        }
    }

    #[test]
    fn a_docker_hub_rate_limit_is_named() {
        let docker = "echo 'Error response from daemon: toomanyrequests: You have reached your pull rate limit.' >&2; exit 1";
        let (out, markers) = run_prelude("pull n8nio/n8n:1.81.4", &[("docker", docker)]);
        assert!(!out.status.success());
        let failed = crate::cloud::boot::failure(&markers).unwrap();
        assert!(failed.reason.contains("Docker Hub rate limit"), "{failed}");
        assert!(failed.reason.contains("n8nio/n8n:1.81.4"));
        // Retried before giving up: 5 tries, 4 waits.
        assert_eq!(printed(&out).matches("again in").count(), 4);
        let (out, markers) = run_prelude("pull qdrant/qdrant:v1.12.4", &[("docker", "exit 1")]);
        assert!(!out.status.success());
        let failed = crate::cloud::boot::failure(&markers).unwrap();
        assert_eq!(
            failed.reason,
            "images: could not pull qdrant/qdrant:v1.12.4"
        );
    }

    fn which(name: &str) -> Option<std::path::PathBuf> {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
    }
}
