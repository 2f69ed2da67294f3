//! User data: the boot script and compose file from `assets/`, rendered for
//! one stack. It names where the secrets are, never what they are.

use std::io::Write;

use base64::Engine;

const SCRIPT: &str = include_str!("../../assets/user-data.sh");
const COMPOSE: &str = include_str!("../../assets/docker-compose.yml");
const INSIDE_HEALTH: &str = include_str!("../../assets/inside-health.sh");
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
    /// The URL users open n8n at (`N8N_EDITOR_BASE_URL`, `WEBHOOK_URL`).
    /// `None` with no proxy in front (dev): the boot script takes the
    /// instance's public IPv4 from IMDS, `http://<ip>:5678`. `None` behind a
    /// proxy (its address is not known yet): n8n's own defaults.
    pub public_url: Option<&'a str>,
    /// Reverse proxies in front of n8n (`N8N_PROXY_HOPS`).
    pub proxy_hops: u8,
    /// The e-mail of n8n's owner, made at boot.
    pub owner_email: &'a str,
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
    if !is_email(input.owner_email) {
        return Err(UserDataError::Unsafe {
            field: "owner_email",
            value: input.owner_email.chars().take(80).collect(),
            why: "it is not an e-mail address (name@host.domain)",
        });
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

/// The boot script for this stack, as text.
pub fn render(input: &UserDataInput<'_>) -> Result<String, UserDataError> {
    check(input)?;
    let from_imds = input.public_url.is_none() && input.proxy_hops == 0;
    let compose = COMPOSE
        .replace("{{OLLAMA_GPU}}\n", if input.gpu { OLLAMA_GPU } else { "" })
        .replace("{{N8N_URL_ENV}}\n", &n8n_url_env(input));
    let script = SCRIPT
        .replace("{{STACK}}", input.stack)
        .replace("{{REGION}}", input.region)
        .replace("{{EFS_ID}}", input.efs_id)
        .replace("{{SECRETS_PATH}}", input.secrets_path)
        .replace("{{OWNER_EMAIL}}", input.owner_email)
        .replace(
            "{{PUBLIC_ADDRESS}}",
            if from_imds { PUBLIC_ADDRESS } else { "" },
        )
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
            public_url: None,
            proxy_hops: 0,
            owner_email: "owner@demo.local",
        }
    }

    /// The rendered compose file, as written by the boot script.
    fn compose_of(script: &str) -> &str {
        let start = script.find("<<'COMPOSE'\n").unwrap() + "<<'COMPOSE'\n".len();
        let end = script[start..].find("\nCOMPOSE\n").unwrap();
        &script[start..start + end]
    }

    /// The `environment:` lines of n8n's service.
    fn n8n_env(script: &str) -> Vec<String> {
        let compose = compose_of(script);
        let n8n = &compose[compose.find("\n  n8n:\n").unwrap()..];
        let env = &n8n[n8n.find("    environment:\n").unwrap() + 17..];
        env.lines()
            .take_while(|l| l.starts_with("      "))
            .map(|l| l.trim().to_string())
            .filter(|l| !l.starts_with('#'))
            .collect()
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
    fn images_are_pinned_and_only_n8n_published_beyond_loopback() {
        let script = render(&input(false)).unwrap();
        for image in [
            "postgres:16",
            "n8nio/n8n:1.",
            "ollama/ollama:0.",
            "qdrant/qdrant:v1.",
            "unclecode/crawl4ai:0.6.3",
        ] {
            assert!(script.contains(image), "{image} not pinned");
        }
        assert!(!script.contains(":latest"));
        let published: Vec<&str> = compose_of(&script)
            .lines()
            .filter(|l| l.trim_start().starts_with("- \"") && l.contains(':'))
            .collect();
        assert_eq!(published.len(), 5, "{published:?}");
        assert!(published.iter().any(|l| l.trim() == "- \"5678:5678\""));
        for port in ["5432", "11434", "6333", "11235"] {
            assert!(
                published
                    .iter()
                    .any(|l| l.trim() == format!("- \"127.0.0.1:{port}:{port}\"")),
                "{port} is not on 127.0.0.1 alone: {published:?}"
            );
        }
    }

    #[test]
    fn healthchecks_use_what_each_image_ships_and_print_nothing() {
        let script = render(&input(false)).unwrap();
        let compose = compose_of(&script);
        for check in [
            r#"["CMD", "pg_isready", "-q", "-U", "n8n", "-d", "n8n"]"#,
            r#"["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5678/healthz/readiness"]"#,
            r#"["CMD-SHELL", "ollama list >/dev/null 2>&1"]"#,
            r#"exec 3<>/dev/tcp/127.0.0.1/6333"#,
            r#"[ "$$code" = 200 ]"#,
        ] {
            assert!(compose.contains(check), "{check}");
        }
        let tests: Vec<&str> = compose.lines().filter(|l| l.contains("test: [")).collect();
        assert_eq!(tests.len(), 4, "{tests:?}");
        assert!(
            tests.iter().all(|t| !t.contains("curl")),
            "no image but crawl4ai's has curl"
        );
        // Crawl4AI keeps its image's own healthcheck.
        assert_eq!(compose.matches("healthcheck:").count(), 4);
        let crawl4ai = &compose[compose.find("  crawl4ai:").unwrap()..];
        assert!(!crawl4ai.contains("healthcheck:"));
        for field in ["interval:", "timeout:", "retries:", "start_period:"] {
            assert_eq!(compose.matches(field).count(), 4, "{field}");
        }
    }

    /// The Qdrant check, run by bash against a loopback server that answers
    /// like Qdrant's /readyz does.
    #[test]
    fn the_qdrant_healthcheck_wants_a_200_from_readyz() {
        use std::io::{Read, Write};
        let script = render(&input(false)).unwrap();
        let compose = compose_of(&script);
        let line = compose.lines().find(|l| l.contains("/dev/tcp/")).unwrap();
        let start = line.find("'exec").unwrap() + 1;
        let command = line[start..line.rfind("']").unwrap()]
            .replace("$$", "$")
            .replace("''", "'");
        for (status, healthy) in [("200 OK", true), ("503 Service Unavailable", false)] {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = std::thread::spawn(move || {
                let (mut conn, _) = listener.accept().unwrap();
                // The whole request first, as Qdrant's server reads it.
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap() == 1 {
                    request.push(byte[0]);
                }
                let _ = write!(conn, "HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                String::from_utf8_lossy(&request).into_owned()
            });
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(command.replace("127.0.0.1/6333", &format!("127.0.0.1/{port}")))
                .output()
                .unwrap();
            let request = server.join().unwrap();
            assert!(
                request.starts_with("GET /readyz HTTP/1.1\r\n"),
                "{request:?}"
            );
            assert_eq!(out.status.success(), healthy, "{status}: {out:?}");
            assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
        }
    }

    #[test]
    fn n8n_is_hardened_for_https_behind_proxies() {
        let script = render(&UserDataInput {
            public_url: Some("https://d111.cloudfront.net"),
            proxy_hops: 2,
            ..input(true)
        })
        .unwrap();
        let env = n8n_env(&script);
        for line in [
            r#"N8N_BLOCK_ENV_ACCESS_IN_NODE: "true""#,
            r#"N8N_SECURE_COOKIE: "true""#,
            r#"N8N_EDITOR_BASE_URL: "https://d111.cloudfront.net""#,
            r#"WEBHOOK_URL: "https://d111.cloudfront.net/""#,
            r#"N8N_PROXY_HOPS: "2""#,
            r#"N8N_PORT: "5678""#,
            r#"QUEUE_HEALTH_CHECK_ACTIVE: "true""#,
            "DB_POSTGRESDB_PASSWORD_FILE: /run/secrets/postgres-password",
            "CREDENTIALS_OVERWRITE_DATA_FILE: /run/secrets/credentials-overwrite.json",
        ] {
            assert!(env.iter().any(|l| l == line), "{line} not in {env:?}");
        }
        assert!(!script.contains(IMDS_URL) && !script.contains("imds public-ipv4"));
    }

    #[test]
    fn n8n_over_plain_http_has_no_secure_cookie() {
        let script = render(&UserDataInput {
            public_url: Some("http://lb-1.us-east-1.elb.amazonaws.com/"),
            proxy_hops: 1,
            ..input(false)
        })
        .unwrap();
        let env = n8n_env(&script);
        for line in [
            r#"N8N_BLOCK_ENV_ACCESS_IN_NODE: "true""#,
            r#"N8N_SECURE_COOKIE: "false""#,
            r#"N8N_EDITOR_BASE_URL: "http://lb-1.us-east-1.elb.amazonaws.com""#,
            r#"WEBHOOK_URL: "http://lb-1.us-east-1.elb.amazonaws.com/""#,
            r#"N8N_PROXY_HOPS: "1""#,
        ] {
            assert!(env.iter().any(|l| l == line), "{line} not in {env:?}");
        }
        // Behind a proxy whose address is not known yet: n8n's defaults,
        // never the instance's own address.
        let unknown = render(&UserDataInput {
            proxy_hops: 1,
            ..input(false)
        })
        .unwrap();
        let env = n8n_env(&unknown);
        assert!(env.iter().any(|l| l == r#"N8N_SECURE_COOKIE: "false""#));
        assert!(
            !env.iter()
                .any(|l| l.starts_with("WEBHOOK_URL") || l.starts_with("N8N_EDITOR"))
        );
        assert!(!unknown.contains("imds public-ipv4"));
    }

    #[test]
    fn dev_takes_n8ns_url_from_imds_at_boot() {
        let script = render(&input(false)).unwrap();
        let env = n8n_env(&script);
        assert!(
            env.iter()
                .any(|l| l == r#"N8N_EDITOR_BASE_URL: "@PUBLIC_URL@""#)
        );
        assert!(env.iter().any(|l| l == r#"WEBHOOK_URL: "@PUBLIC_URL@/""#));
        assert!(env.iter().any(|l| l == r#"N8N_SECURE_COOKIE: "false""#));
        assert!(!env.iter().any(|l| l.starts_with("N8N_PROXY_HOPS")));
        // Filled in after the compose file is written, before anything reads it.
        let written = script.find("\nCOMPOSE\n").unwrap();
        let filled = script
            .find("sed -i \"s|@PUBLIC_URL@|http://$PUBLIC_IP:5678|g\" \"$COMPOSE_FILE\"")
            .unwrap();
        let pulled = script.find("config --images").unwrap();
        assert!(written < filled && filled < pulled);

        // The block, run against IMDS stubs: a token PUT, then the address.
        let from = script.find("STEP=\"reading the public address\"").unwrap();
        let to = filled + script[filled..].find('\n').unwrap();
        let block = &script[from..to];
        let curl = r#"case "$*" in
  *"-X PUT"*api/token*) echo tok-123 ;;
  *meta-data/public-ipv4*) [ "$(cat)" = "X-aws-ec2-metadata-token: tok-123" ] || exit 22
    [ -e "$STUBS/no-ip" ] && exit 22; echo 203.0.113.9 ;;
  *) exit 22 ;;
esac
echo "$*" >>"$STUBS/curl-args""#;
        let body = format!(
            "COMPOSE_FILE=$STUBS/compose.yml\nprintf 'WEBHOOK_URL: \"@PUBLIC_URL@/\"\\n' >\"$COMPOSE_FILE\"\n{block}\ncat \"$COMPOSE_FILE\"\ncat \"$STUBS/curl-args\""
        );
        let (out, markers) = run_prelude(&body, &[("curl", curl)]);
        assert!(out.status.success(), "{}", printed(&out));
        assert!(
            printed(&out).contains(r#"WEBHOOK_URL: "http://203.0.113.9:5678/""#),
            "{}",
            printed(&out)
        );
        assert!(
            !printed(&out).contains("tok-123"),
            "the IMDS token is in curl's arguments"
        );
        assert!(markers.is_empty(), "{markers}");

        // No public address: the boot stops, saying so.
        let body = format!("touch \"$STUBS/no-ip\"\n{body}");
        let (out, markers) = run_prelude(&body, &[("curl", curl)]);
        assert!(!out.status.success());
        let failed = crate::cloud::boot::failure(&markers).expect("no failure marker");
        assert!(failed.reason.contains("no public IPv4 address"), "{failed}");
    }

    #[test]
    fn values_that_are_not_plain_are_refused_by_name() {
        use crate::domain::stack_name::MAX_LEN;
        for email in [
            "a\"b@x.io",
            "a$(id)@x.io",
            "a`id`@x.io",
            "a b@x.io",
            "a@x.io\nrm",
            "a\\b@x.io",
            "owner'@x.io",
            "",
            "no-at-sign.io",
            "two@@x.io",
            "a@localhost",
            "{{COMPOSE}}@x.io",
            "a@b.c",
            ".a@x.io",
            "a..b@x.io",
            "a@-x.io",
            "a%b@x.io",
        ] {
            let e = render(&UserDataInput {
                owner_email: email,
                ..input(false)
            })
            .unwrap_err();
            assert!(
                matches!(
                    e,
                    UserDataError::Unsafe {
                        field: "owner_email",
                        ..
                    }
                ),
                "{email:?}: {e}"
            );
        }
        for url in [
            "https://x.io/\"",
            "https://x.io/$HOME",
            "https://x.io/`id`",
            "https://x .io",
            "https://x.io\n",
            "ftp://x.io",
            "https://",
            "x.io",
        ] {
            let e = render(&UserDataInput {
                public_url: Some(url),
                proxy_hops: 1,
                ..input(false)
            })
            .unwrap_err();
            assert!(
                matches!(
                    e,
                    UserDataError::Unsafe {
                        field: "public_url",
                        ..
                    }
                ),
                "{url:?}: {e}"
            );
            assert!(e.to_string().starts_with("public_url "), "{e}");
        }
        let e = render(&UserDataInput {
            stack: "demo\"; reboot",
            ..input(false)
        })
        .unwrap_err();
        assert!(matches!(e, UserDataError::Unsafe { field: "stack", .. }));
        // What the product sends by default is plain.
        for stack in ["ab", &format!("{}-b", "a".repeat(62)), &"s".repeat(MAX_LEN)] {
            let default = default_owner_email(stack);
            assert!(default.starts_with("owner@") && default.ends_with(".local"));
            assert!(is_email(&default), "{default}");
            render(&UserDataInput {
                owner_email: &default,
                ..input(false)
            })
            .unwrap();
        }
        assert_eq!(default_owner_email("demo"), "owner@demo.local");
        let label = format!("owner@{}.local", "s".repeat(64));
        assert!(!is_email(&label), "a 64-character label");
        render(&UserDataInput {
            owner_email: "first.last+n8n@example.co.uk",
            public_url: Some("https://n8n.example.com"),
            proxy_hops: 1,
            ..input(false)
        })
        .unwrap();
    }

    #[test]
    fn the_script_names_secrets_and_holds_no_value() {
        let script = render(&UserDataInput {
            public_url: Some("https://d111.cloudfront.net"),
            proxy_hops: 2,
            ..input(true)
        })
        .unwrap();
        for name in [
            "postgres-password",
            "n8n-encryption-key",
            "qdrant-api-key",
            "n8n-owner-password",
            "crawl4ai-api-token",
        ] {
            assert!(
                script.contains(&format!("secret {name} ")),
                "{name} is not read"
            );
        }
        // Every secret variable is only ever set by `secret` (printf -v), and
        // written from a variable: no literal value anywhere.
        for var in [
            "POSTGRES_PASSWORD",
            "N8N_ENCRYPTION_KEY",
            "QDRANT_API_KEY",
            "CRAWL4AI_API_TOKEN",
            "OWNER_PASSWORD",
        ] {
            // `VAR=%s` is an env file's line, written by printf.
            let assigned = script.replace(&format!("{var}=%s"), "");
            assert!(!assigned.contains(&format!("{var}=")), "{var} is assigned");
            assert!(script.contains(&format!("\"${var}\"")), "{var} is not used");
        }
        let settings: Vec<&str> = compose_of(&script)
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        for setting in ["_PASSWORD:", "API_KEY:", "N8N_ENCRYPTION_KEY:", "_TOKEN:"] {
            assert!(!settings.iter().any(|l| l.contains(setting)), "{setting}");
        }
        assert!(!script.contains("/etc/geusemaker/stack.env"));
    }

    #[test]
    fn the_inside_health_script_is_recognised_and_prints_service_tab_state() {
        let text = inside_health_script();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("# geusemaker:inside-health"));
        assert_eq!(lines.next(), Some("set -euo pipefail"));
        assert!(text.contains(
            r#"--format '{{index .Config.Labels "com.docker.compose.service"}}{{"\t"}}{{json .State}}'"#
        ));
        assert!(text.contains("label=com.docker.compose.project=geusemaker"));
        assert!(compose_of(&render(&input(false)).unwrap()).starts_with("# The GeuseMaker"));
        assert!(
            COMPOSE.contains("\nname: geusemaker\n"),
            "the project the script looks for"
        );
    }

    #[test]
    fn the_inside_health_script_prints_one_line_per_container_or_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let state = r#"{"Status":"running","Health":{"Status":"healthy","FailingStreak":0}}"#;
        for (ids, expected) in [("", 0), ("abc\ndef", 2)] {
            let dir = tempfile::tempdir().unwrap();
            let docker = format!(
                "case \"$1\" in\n  ps) printf '%s' '{ids}' ;;\n  inspect) shift 2; shift; for id in \"$@\"; do printf 'n8n\\t%s\\n' '{state}'; done ;;\nesac"
            );
            let bin = dir.path().join("docker");
            std::fs::write(&bin, format!("#!/bin/bash\n{docker}\n")).unwrap();
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(inside_health_script())
                .env(
                    "PATH",
                    format!(
                        "{}:{}",
                        dir.path().display(),
                        std::env::var("PATH").unwrap()
                    ),
                )
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            assert_eq!(text.lines().count(), expected, "{text}");
            let parsed = crate::cloud::inside::parse(&text).unwrap();
            assert_eq!(parsed.len(), expected);
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
        let https = UserDataInput {
            public_url: Some("https://d111.cloudfront.net"),
            proxy_hops: 2,
            ..input(true)
        };
        let scripts = [
            ("user-data.sh", render(&input(false)).unwrap()),
            ("user-data-gpu.sh", render(&https).unwrap()),
            ("inside-health.sh", inside_health_script().to_string()),
        ];
        for (name, text) in scripts {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            // The inside-health script has no shebang: SSM runs it with sh -c
            // of a bash-like shell on AL2023, so check it as bash.
            let out = std::process::Command::new(&shellcheck)
                .arg("--severity=warning")
                .arg("--shell=bash")
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
        let owner_email = default_owner_email(&stack);
        // A domain name's longest (253), for the tiers with a known URL.
        let domain = format!("{}.example.com", "d".repeat(253 - 20));
        let url = format!("https://{domain}");
        let engine = base64::engine::general_purpose::STANDARD;
        for tier in Tier::ALL {
            let script = render(&UserDataInput {
                stack: &stack,
                region: region.unwrap_or("ap-southeast-1"),
                efs_id: "fs-0123456789abcdef0",
                secrets_path: &secrets_path,
                gpu: tier == Tier::Gpu,
                public_url: (tier != Tier::Dev).then_some(url.as_str()),
                proxy_hops: crate::domain::exposure::proxy_hops(tier),
                owner_email: &owner_email,
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
        for (name, var) in [
            ("postgres-password", "POSTGRES_PASSWORD"),
            ("n8n-encryption-key", "N8N_ENCRYPTION_KEY"),
            ("qdrant-api-key", "QDRANT_API_KEY"),
            ("crawl4ai-api-token", "CRAWL4AI_API_TOKEN"),
            ("n8n-owner-password", "OWNER_PASSWORD"),
        ] {
            assert!(
                script.contains(&format!("\n  secret {name} {var}\n")),
                "{name}"
            );
        }
        assert!(script.contains("retry 8 fetch_secret"));
        assert!(script.contains("fail \"secrets: $SECRETS_PATH$1 is empty\""));
        assert!(script.contains(
            "\n  unset POSTGRES_PASSWORD N8N_ENCRYPTION_KEY QDRANT_API_KEY CRAWL4AI_API_TOKEN\n"
        ));
        assert!(script.contains("\n  unset OWNER_PASSWORD\n"));
        // The first boot writes them, and every later one before Docker.
        let main = &script[script.find("\nmkdir -p /var/lib/geusemaker").unwrap()..];
        assert!(main.contains("\nwrite_secrets\nmark secrets\n"));
        assert!(main.contains("if [ \"${1:-}\" = secrets ]; then"));
        assert!(main.contains("'Before=docker.service'"));
        assert!(main.contains("'RequiredBy=docker.service'"));
        assert!(main.contains("'ExecStart=/opt/geusemaker/boot.sh secrets'"));
        assert!(main.contains("systemctl enable geusemaker-secrets.service"));
    }

    /// `write_secrets` with SSM stubbed: each file holds its value with no
    /// newline, is 0400 and owned by its container's user, and nothing is
    /// printed or passed as an argument.
    #[test]
    fn the_secrets_become_files_each_container_reads_its_own() {
        let aws = r#"echo "$*" >>"$STUBS/aws-args"
case "$*" in
  *postgres-password*) echo pg-s3cr3t ;;
  *n8n-encryption-key*) echo key-s3cr3t ;;
  *qdrant-api-key*) echo qd-s3cr3t ;;
  *crawl4ai-api-token*) echo c4-s3cr3t ;;
  *) exit 254 ;;
esac"#;
        let record = r#"echo "$(basename "$0") $*" >>"$STUBS/calls""#;
        let body =
            "write_secrets\n[ -z \"${POSTGRES_PASSWORD:-}${QDRANT_API_KEY:-}\" ] && echo unset-ok";
        let dir = tempfile::tempdir().unwrap();
        let (out, markers) = run_prelude_in(
            dir.path(),
            body,
            &[
                ("aws", aws),
                ("mountpoint", "exit 1"),
                ("mount", record),
                ("chown", record),
            ],
        );
        assert!(out.status.success(), "{}", printed(&out));
        assert!(printed(&out).contains("unset-ok"));
        assert!(!printed(&out).contains("s3cr3t"), "{}", printed(&out));
        assert!(markers.is_empty(), "{markers}");
        let stubs = dir.path().join("secrets");
        let read = |f: &str| std::fs::read_to_string(stubs.join(f)).unwrap();
        assert_eq!(read("postgres/postgres-password"), "pg-s3cr3t");
        assert_eq!(read("n8n/postgres-password"), "pg-s3cr3t");
        assert_eq!(
            read("n8n/credentials-overwrite.json"),
            r#"{"qdrantApi":{"qdrantUrl":"http://qdrant:6333","apiKey":"qd-s3cr3t"}}"#
        );
        let overwrite: serde_json::Value =
            serde_json::from_str(&read("n8n/credentials-overwrite.json")).unwrap();
        assert_eq!(overwrite["qdrantApi"]["apiKey"], "qd-s3cr3t");
        assert_eq!(read("n8n.env"), "N8N_ENCRYPTION_KEY=key-s3cr3t\n");
        assert_eq!(read("qdrant.env"), "QDRANT__SERVICE__API_KEY=qd-s3cr3t\n");
        assert_eq!(read("crawl4ai.env"), "CRAWL4AI_API_TOKEN=c4-s3cr3t\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = |f: &str| {
            std::fs::metadata(stubs.join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        for f in [
            "postgres/postgres-password",
            "n8n/credentials-overwrite.json",
            "n8n.env",
        ] {
            assert_eq!(mode(f), 0o400, "{f}");
        }
        assert_eq!(mode("n8n"), 0o500);
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert!(calls.contains("mount -t tmpfs -o size=1m,mode=0700,nosuid,nodev,noexec tmpfs"));
        assert!(calls.contains("chown -R 70:70 ") && calls.contains("/postgres\n"));
        assert!(calls.contains("chown -R 1000:1000 ") && calls.contains("/n8n\n"));
        let args = std::fs::read_to_string(dir.path().join("aws-args")).unwrap();
        assert!(!args.contains("s3cr3t") && !calls.contains("s3cr3t"));
        for d in ["postgres", "n8n"] {
            std::fs::set_permissions(stubs.join(d), std::fs::Permissions::from_mode(0o700))
                .unwrap();
        }
    }

    /// `setup_owner` against a stub of n8n answering `status` with `body`.
    fn owner_setup(status: &str, body: &str) -> (std::process::Output, String, String, String) {
        let curl = format!(
            r#"echo "$*" >"$STUBS/curl-args"
cat >"$STUBS/curl-stdin"
printf '%s
%s' '{body}' '{status}'"#
        );
        let aws = "echo Owner-Pa55word-s3cr3t";
        let script = "setup_owner\nmark owner-ready";
        let dir = tempfile::tempdir().unwrap();
        let (out, markers) = run_prelude_in(dir.path(), script, &[("aws", aws), ("curl", &curl)]);
        let args = std::fs::read_to_string(dir.path().join("curl-args")).unwrap_or_default();
        let stdin = std::fs::read_to_string(dir.path().join("curl-stdin")).unwrap_or_default();
        (out, markers, args, stdin)
    }

    #[test]
    fn n8ns_owner_is_set_up_with_the_password_on_stdin_only() {
        let (out, markers, args, stdin) = owner_setup("200", r#"{"data":{"id":"1"}}"#);
        assert!(out.status.success(), "{}", printed(&out));
        assert!(markers.starts_with("owner-ready "), "{markers}");
        assert!(args.contains("--data-binary @-"), "{args}");
        assert!(
            args.ends_with("http://127.0.0.1:5678/rest/owner/setup\n"),
            "{args}"
        );
        assert!(
            !args.contains("s3cr3t"),
            "the password is in curl's arguments"
        );
        assert!(!printed(&out).contains("s3cr3t"));
        let sent: serde_json::Value = serde_json::from_str(&stdin).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"email": "owner@demo.local", "firstName": "GeuseMaker",
                "lastName": "Owner", "password": "Owner-Pa55word-s3cr3t"})
        );
    }

    #[test]
    fn an_owner_already_there_is_left_and_any_other_answer_fails_the_boot() {
        let already = r#"{"code":400,"message":"Instance owner already setup"}"#;
        let (out, markers, _, _) = owner_setup("400", already);
        assert!(out.status.success(), "{}", printed(&out));
        assert!(markers.starts_with("owner-ready "), "{markers}");
        assert!(printed(&out).contains("left as it is"));
        for (status, body) in [
            (
                "400",
                r#"{"code":400,"message":"Password must contain at least 1 number."}"#,
            ),
            ("500", "oops"),
            ("000", ""),
        ] {
            let (out, markers, _, _) = owner_setup(status, body);
            assert!(!out.status.success(), "{status}");
            let failed = crate::cloud::boot::failure(&markers).expect("no failure marker");
            assert_eq!(
                failed.reason,
                format!("n8n: owner setup answered HTTP {status}")
            );
            assert!(!markers.contains("owner-ready"), "{markers}");
        }
    }

    #[test]
    fn the_boot_waits_for_n8ns_readiness_before_its_owner() {
        let script = render(&input(false)).unwrap();
        let up = script.find("\nmark compose-up\n").unwrap();
        let wait = script
            .find("\nfor _ in $(seq 1 120); do\n  if n8n_ready; then break; fi")
            .unwrap();
        let owner = script.find("\nsetup_owner\nmark owner-ready\n").unwrap();
        assert!(up < wait && wait < owner);
        assert!(script.contains("curl -fsS -o /dev/null --max-time 5 \"$N8N/healthz/readiness\""));
        assert!(
            script.contains("n8n: $N8N/healthz/readiness did not answer 200 within 10 minutes")
        );
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
        run_prelude_in(tempfile::tempdir().unwrap().path(), body, stubs)
    }

    /// `run_prelude` in `dir` (`$STUBS`), which the caller keeps: the
    /// secrets' directory is `dir/secrets`.
    fn run_prelude_in(
        dir: &std::path::Path,
        body: &str,
        stubs: &[(&str, &str)],
    ) -> (std::process::Output, String) {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join("bin");
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
        let markers = dir.join("stage");
        let marked = format!("MARKERS={}", markers.display());
        let secrets = format!("SECRETS={}", dir.join("secrets").display());
        let prelude = prelude
            .replace("MARKERS=/var/lib/geusemaker/stage", &marked)
            .replace("SECRETS=/run/geusemaker/secrets", &secrets);
        assert!(prelude.contains(&marked) && prelude.contains("\ntrap "));
        let path = dir.join("boot.sh");
        std::fs::write(&path, format!("{prelude}\n{body}\n")).unwrap();
        let out = std::process::Command::new("bash")
            .arg(&path)
            .env("STUBS", dir)
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
