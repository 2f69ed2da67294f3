//! User data: the boot script and compose file from `assets/`, rendered for
//! one stack. It names where the secrets are, never what they are.

use std::io::Write;

use base64::Engine;

const SCRIPT: &str = include_str!("../../assets/user-data.sh");
const COMPOSE: &str = include_str!("../../assets/docker-compose.yml");
const INSIDE_HEALTH: &str = include_str!("../../assets/inside-health.sh");
const RESTART_SERVICE: &str = include_str!("../../assets/restart-service.sh");
const MODELS: &str = include_str!("../../assets/models.sh");
const MIGRATION: &str = include_str!("../../assets/instance/migration.sh");
/// Docker, efs-utils, jq and the compose plugin: the boot's and the bake's.
const INSTALL_PACKAGES: &str = include_str!("../../assets/install-packages.sh");
/// retry, download and pull: the boot's and the bake's.
const NETWORK_STEPS: &str = include_str!("../../assets/network-steps.sh");
/// The compose plugin release the instance downloads (AL2023 does not package it).
pub const COMPOSE_VERSION: &str = "v2.32.4";

/// The image the compose file pins for `service`, `repository:tag`.
pub fn pinned_image(service: crate::domain::Service) -> Option<&'static str> {
    let mut current = None;
    for line in COMPOSE.lines() {
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            current = Some(name);
        } else if let Some(image) = line.strip_prefix("    image: ")
            && current == Some(service.name())
        {
            return Some(image.trim());
        }
    }
    None
}
/// The pinned `repository:tag` of the service named `name`.
fn image_of(name: &str) -> Option<&'static str> {
    pinned_image(name.parse().ok()?)
}

/// The compose file with each service in `images` on its tag instead.
fn with_image_tags(compose: &str, images: &crate::domain::images::ImageTags) -> String {
    let mut compose = compose.to_string();
    for (service, tag) in images {
        if let Some(pinned) = image_of(service) {
            let repository = pinned.rsplit_once(':').map_or(pinned, |(r, _)| r);
            compose = compose.replace(
                &format!("    image: {pinned}\n"),
                &format!("    image: {repository}:{tag}\n"),
            );
        }
    }
    compose
}

/// EC2's limit on user data, before base64.
pub const USER_DATA_LIMIT: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct UserDataInput<'a> {
    pub stack: &'a str,
    pub region: &'a str,
    pub efs_id: &'a str,
    pub secrets_path: &'a str,
    pub gpu: bool,
    /// The URL users open n8n at (`N8N_EDITOR_BASE_URL`, `WEBHOOK_URL`).
    /// `None` with no proxy in front (dev): the boot script takes the
    /// instance's public IPv4 from IMDS, `http://<ip>:5678`. `None` behind a
    /// proxy (its address is not known yet): n8n's own defaults.
    pub public_url: Option<&'a str>,
    /// Reverse proxies in front of n8n (`N8N_PROXY_HOPS`).
    pub proxy_hops: u8,
    /// The e-mail of n8n's owner, made at boot.
    pub owner_email: &'a str,
    /// The stack's Auto Scaling group and the launch hook the boot completes.
    pub group: &'a str,
    pub launch_hook: &'a str,
    /// Dev: the stack's Elastic IP, claimed before anything starts.
    pub address_allocation: Option<&'a str>,
    /// The watchdog's threshold and Qdrant's snapshot period.
    pub checks: crate::domain::settings::InstanceChecks,
    /// Image tags other than the pinned ones (`update --images`).
    pub images: &'a crate::domain::images::ImageTags,
    /// The SNS topic the watchdog and a drain publish to.
    pub sns_topic_arn: Option<&'a str>,
}

/// The placeholder the dev boot script replaces with the URL from IMDS.
const IMDS_URL: &str = "@PUBLIC_URL@";

/// Dev, after compose: n8n's URL from the instance's public IPv4 (IMDSv2).
const PUBLIC_ADDRESS: &str = r#"STEP="reading the public address"
PUBLIC_IP=$(retry 3 imds public-ipv4) ||
  fail "imds: the instance has no public IPv4 address for n8n's URL (http://<ip>:5678)"
[[ $PUBLIC_IP =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
  fail "imds: public-ipv4 is not an IPv4 address"
sed -i "s|@PUBLIC_URL@|http://$PUBLIC_IP:5678|g" "$COMPOSE_FILE""#;

/// Dev, first thing: the stack's address moves to this instance, so n8n's
/// URL is the same after every replacement.
const CLAIM_ADDRESS: &str = r#"STEP="claiming the stack's address"
retry 5 aws ec2 associate-address --region "$REGION" --instance-id "$INSTANCE_ID" \
  --allocation-id "{{ALLOCATION}}" --allow-reassociation --output text >/dev/null ||
  fail "address: could not claim the stack's Elastic IP {{ALLOCATION}}""#;

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
    /// A value that would land in the boot script is not plain text.
    #[error("{field} {value:?} cannot go into the boot script: {why}")]
    Unsafe {
        field: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("user data is {0} bytes even compressed; EC2 takes at most 16 KB")]
    TooLarge(usize),
}

/// Characters a substituted value may have besides ASCII letters and digits:
/// nothing a shell, YAML or JSON string gives a meaning to (no quotes, `$`,
/// backticks, backslashes, spaces, newlines, braces).
const PLAIN: &str = "-._~:/@+%";

fn plain(field: &'static str, value: &str) -> Result<(), UserDataError> {
    let unsafe_because = |why| UserDataError::Unsafe {
        field,
        value: value.chars().take(80).collect(),
        why,
    };
    if value.len() > 253 {
        return Err(unsafe_because("it is over 253 characters"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || PLAIN.contains(c))
    {
        return Err(unsafe_because(
            "only letters, digits and - . _ ~ : / @ + % are allowed",
        ));
    }
    Ok(())
}

fn check(input: &UserDataInput<'_>) -> Result<(), UserDataError> {
    if input.stack.is_empty() {
        return Err(UserDataError::Unsafe {
            field: "stack",
            value: String::new(),
            why: "it is empty",
        });
    }
    plain("stack", input.stack)?;
    plain("region", input.region)?;
    plain("efs_id", input.efs_id)?;
    plain("secrets_path", input.secrets_path)?;
    plain("owner_email", input.owner_email)?;
    plain("group", input.group)?;
    plain("launch_hook", input.launch_hook)?;
    if let Some(allocation) = input.address_allocation {
        plain("address_allocation", allocation)?;
    }
    if !is_email(input.owner_email) {
        return Err(UserDataError::Unsafe {
            field: "owner_email",
            value: input.owner_email.chars().take(80).collect(),
            why: "it is not an e-mail address (name@host.domain)",
        });
    }
    if let Some(arn) = input.sns_topic_arn
        && !crate::domain::notify::is_topic_arn(arn)
    {
        return Err(UserDataError::Unsafe {
            field: "sns_topic_arn",
            value: arn.chars().take(80).collect(),
            why: "it is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
        });
    }
    for (service, tag) in input.images {
        plain("images", tag)?;
        if tag.contains([':', '/', '@']) || image_of(service).is_none() {
            return Err(UserDataError::Unsafe {
                field: "images",
                value: format!("{service}={tag}"),
                why: "it is not a service of the stack and a tag of its image",
            });
        }
    }
    if let Some(url) = input.public_url {
        plain("public_url", url)?;
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
            return Err(UserDataError::Unsafe {
                field: "public_url",
                value: url.chars().take(80).collect(),
                why: "it is not an http:// or https:// URL",
            });
        }
    }
    Ok(())
}

/// The owner's e-mail when the user gave none: `owner@<stack>.local`, the
/// stack cut to a DNS label's 63 characters (n8n checks the address with
/// validator.js, which holds labels to that).
pub fn default_owner_email(stack: &str) -> String {
    let label: String = stack.chars().take(63).collect();
    format!("owner@{}.local", label.trim_end_matches('-'))
}

/// An address n8n's owner setup takes (zod's `email()` on the request, then
/// class-validator's `IsEmail` on the user): letters, digits and `. _ + -`
/// before the `@` (at most 64, no leading, trailing or double dot); a host of
/// letter-digit-hyphen labels of at most 63, ending in a top-level domain of
/// two letters or more; 254 in all.
fn is_email(text: &str) -> bool {
    let Some((user, host)) = text.split_once('@') else {
        return false;
    };
    let user_ok = !user.is_empty()
        && user.len() <= 64
        && text.len() <= 254
        && !user.starts_with('.')
        && !user.ends_with('.')
        && !user.contains("..")
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    let labels: Vec<&str> = host.split('.').collect();
    let host_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    user_ok && host_ok
}

/// n8n's URL settings, as lines of its `environment:`. Secure cookies only
/// over HTTPS: a browser drops a Secure cookie sent over plain HTTP.
fn n8n_url_env(input: &UserDataInput<'_>) -> String {
    let url = match input.public_url {
        Some(url) => Some(url.trim_end_matches('/')),
        None if input.proxy_hops == 0 => Some(IMDS_URL),
        None => None,
    };
    let secure = url.is_some_and(|u| u.starts_with("https://"));
    let mut env = format!("      N8N_SECURE_COOKIE: \"{secure}\"\n");
    if let Some(url) = url {
        env.push_str(&format!(
            "      N8N_EDITOR_BASE_URL: \"{url}\"\n      WEBHOOK_URL: \"{url}/\"\n"
        ));
    }
    if input.proxy_hops > 0 {
        env.push_str(&format!("      N8N_PROXY_HOPS: \"{}\"\n", input.proxy_hops));
    }
    env
}

/// The script the product runs on the instance (SSM, AWS-RunShellScript) for
/// the inside view of health: one line per container of the compose project,
/// its service, a tab, and Docker's `.State` as JSON (`cloud::inside` reads it).
pub fn inside_health_script() -> &'static str {
    INSIDE_HEALTH
}

/// The Run Command for Ollama's models: `list`, `pull`, `progress` or `rm`
/// of `model`, a name `domain::models::check_name` passed.
pub fn models_script(action: &str, model: &str) -> String {
    MODELS
        .replace("{{ACTION}}", action)
        .replace("{{MODEL}}", model)
}

/// The Run Command that restarts one service's container.
pub fn restart_service_script(service: crate::domain::Service) -> String {
    RESTART_SERVICE.replace("{{SERVICE}}", service.name())
}

/// A step of moving a bare instance (deployed before groups) into the
/// stack's group: `assets/instance/migration.sh`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationStep {
    /// Take the writer lease on its behalf while it serves on.
    Hold,
    /// Drain and let go of the lease.
    Release,
    /// Take the lease back and start again.
    Resume,
}

/// The Run Command of `step` for the bare instance, which has no script of
/// ours installed: the tag line the switch's commands share (what the
/// strict emulator answers by), then the whole script.
pub fn migration_command(step: MigrationStep) -> String {
    let (tag, name) = match step {
        MigrationStep::Hold => ("migration-hold", "hold"),
        MigrationStep::Release => ("switch-release", "release"),
        MigrationStep::Resume => ("switch-resume", "resume"),
    };
    // The tag takes the first line; SSM runs the rest with bash.
    let body = MIGRATION.strip_prefix("#!/bin/bash\n").unwrap_or(MIGRATION);
    format!("# geusemaker:{tag}\n{}", body.replace("{{STEP}}", name))
}

/// The boot script for this stack, as text.
pub fn render(input: &UserDataInput<'_>) -> Result<String, UserDataError> {
    check(input)?;
    let from_imds = input.public_url.is_none() && input.proxy_hops == 0;
    let compose = with_image_tags(COMPOSE, input.images)
        .replace("{{OLLAMA_GPU}}\n", if input.gpu { OLLAMA_GPU } else { "" })
        .replace("{{N8N_URL_ENV}}\n", &n8n_url_env(input));
    let script = SCRIPT
        .replace("{{INSTALL_PACKAGES}}\n", INSTALL_PACKAGES)
        .replace("{{NETWORK_STEPS}}\n", NETWORK_STEPS)
        .replace("{{STACK}}", input.stack)
        .replace("{{REGION}}", input.region)
        .replace("{{EFS_ID}}", input.efs_id)
        .replace("{{SECRETS_PATH}}", input.secrets_path)
        .replace("{{OWNER_EMAIL}}", input.owner_email)
        .replace("{{GROUP}}", input.group)
        .replace("{{LAUNCH_HOOK}}", input.launch_hook)
        .replace(
            "{{CLAIM_ADDRESS}}",
            &input
                .address_allocation
                .map(|a| CLAIM_ADDRESS.replace("{{ALLOCATION}}", a))
                .unwrap_or_default(),
        )
        .replace(
            "{{PUBLIC_ADDRESS}}",
            if from_imds { PUBLIC_ADDRESS } else { "" },
        )
        .replace(
            "{{INSTANCE_FILES}}",
            &units::install_lines(units::Filled {
                region: input.region,
                stack: input.stack,
                checks: input.checks,
                sns_topic_arn: input.sns_topic_arn,
            }),
        )
        .replace("{{COMPOSE_VERSION}}", COMPOSE_VERSION)
        .replace("{{GPU_CHECK}}", if input.gpu { GPU_CHECK } else { "" })
        .replace(
            "{{OLLAMA_DEVICE}}",
            if input.gpu { OLLAMA_DEVICE } else { "" },
        )
        .replace("{{COMPOSE}}", compose.trim_end());
    match unfilled(&script) {
        Some(placeholder) => Err(UserDataError::Unfilled(placeholder.to_string())),
        None => Ok(script),
    }
}

/// The first `{{NAME}}` left in `text` (Docker's `{{.State}}` formats are
/// not placeholders).
fn unfilled(text: &str) -> Option<&str> {
    text.match_indices("{{").find_map(|(at, _)| {
        let name = text[at + 2..].split("}}").next()?;
        let is_placeholder = !name.is_empty()
            && name.len() < 40
            && name.chars().all(|c| c.is_ascii_uppercase() || c == '_');
        is_placeholder.then(|| &text[at..at + name.len() + 4])
    })
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

mod bake;
mod units;
pub use bake::{bake_key, pinned_images, ready_image, render_bake};
pub use units::WATCH_SECS;

#[cfg(test)]
mod compose_tests;
#[cfg(test)]
mod instance_tests;
#[cfg(test)]
mod script_tests;
#[cfg(test)]
mod tests;
