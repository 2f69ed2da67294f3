use super::*;
use crate::domain::settings::InstanceChecks;

pub(super) fn input(gpu: bool) -> UserDataInput<'static> {
    UserDataInput {
        stack: "demo",
        region: "us-east-1",
        efs_id: "fs-0123456789abcdef0",
        secrets_path: "/geusemaker/demo/",
        gpu,
        public_url: None,
        proxy_hops: 0,
        owner_email: "owner@demo.local",
        group: "demo-geusemaker",
        launch_hook: "geusemaker-ready",
        address_allocation: None,
        // Not the defaults: the settings reach the instance's files.
        checks: InstanceChecks {
            watchdog_threshold: 5,
            qdrant_snapshot_minutes: 30,
        },
        images: &NO_IMAGE_TAGS,
        sns_topic_arn: None,
    }
}

/// The pinned images throughout.
pub(super) static NO_IMAGE_TAGS: crate::domain::images::ImageTags =
    std::collections::BTreeMap::new();

/// The rendered compose file, as written by the boot script.
pub(super) fn compose_of(script: &str) -> &str {
    let start = script.find("<<'COMPOSE'\n").unwrap() + "<<'COMPOSE'\n".len();
    let end = script[start..].find("\nCOMPOSE\n").unwrap();
    &script[start..start + end]
}

/// The `environment:` lines of n8n's service.
pub(super) fn n8n_env(script: &str) -> Vec<String> {
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
fn a_placeholder_is_upper_case_in_double_braces_and_docker_formats_are_not() {
    assert_eq!(unfilled("a {{REGION}} b"), Some("{{REGION}}"));
    assert_eq!(
        unfilled("--format '{{json .State}}' {{X_Y}}"),
        Some("{{X_Y}}")
    );
    assert_eq!(
        unfilled("{{if .State.Health}}{{.State.Status}}{{end}}"),
        None
    );
    assert_eq!(unfilled("{{"), None);
}

#[test]
fn renders_every_placeholder_within_the_limit() {
    for gpu in [false, true] {
        let script = render(&input(gpu)).unwrap();
        assert_eq!(unfilled(&script), None, "unfilled placeholder");
        assert!(encode(&script).is_ok(), "{} bytes", script.len());
        assert!(script.contains("EFS_ID=\"fs-0123456789abcdef0\""));
        assert!(script.contains("$EFS_ID:/ /mnt/efs efs _netdev,nofail,tls"));
        assert!(script.contains("mount -t efs -o tls,_netdev,nofail"));
        assert_eq!(script.contains("driver: nvidia"), gpu);
        assert_eq!(script.contains("gpu-available"), gpu);
        assert_eq!(script.contains("mark ollama-cpu"), gpu);
    }
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
        r#"--format '{{index .Config.Labels "com.docker.compose.service"}}{{"\t"}}{{.Config.Image}}{{"\t"}}{{json .State}}'"#
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
        let parsed = crate::instance::inside::parse(&text).unwrap();
        assert_eq!(parsed.len(), expected);
    }
}

/// On a GPU instance with nothing loaded, the script loads the first model
/// once (an empty prompt), then prints where `/api/ps` says it sits.
#[test]
fn the_inside_health_script_warms_ollama_up_once_and_says_where_its_model_sits() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let state = r#"{"Status":"running","Health":{"Status":"healthy","FailingStreak":0}}"#;
    let fakes = [
        (
            "docker",
            format!(
                "case \"$1\" in\n  ps) printf abc ;;\n  inspect) printf 'ollama\\tollama/ollama:0.5.7\\t%s\\n' '{state}' ;;\nesac"
            ),
        ),
        ("nvidia-smi", "exit 0".to_string()),
        (
            "curl",
            format!(
                r#"case "$*" in
  *api/generate*) echo "$*" >> {d}/generated ;;
  *api/tags*) printf '{{"models":[{{"name":"llama3.1:8b","size":4920000000}}]}}' ;;
  *api/ps*) if [ -e {d}/generated ]; then printf '{{"models":[{{"name":"llama3.1:8b","size":6100000000,"size_vram":6100000000}}]}}'; else printf '{{"models":[]}}'; fi ;;
esac"#
            ),
        ),
    ];
    for (name, body) in fakes {
        let bin = dir.path().join(name);
        std::fs::write(&bin, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = || {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(inside_health_script())
            .env("PATH", format!("{d}:{}", std::env::var("PATH").unwrap()))
            .env("GEUSEMAKER_RUN", dir.path().join("run"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let parsed = crate::instance::inside::parse(&run()).unwrap();
    let loaded = parsed[0].loaded.as_deref().expect("a #ps line");
    assert_eq!(loaded[0].name, "llama3.1:8b");
    assert_eq!(loaded[0].processor(), "GPU");
    let generated = std::fs::read_to_string(dir.path().join("generated")).unwrap();
    assert!(
        generated.contains(r#""model":"llama3.1:8b","prompt":"""#),
        "an empty prompt loads it and generates nothing: {generated}"
    );
    run();
    let generated = std::fs::read_to_string(dir.path().join("generated")).unwrap();
    assert_eq!(generated.lines().count(), 1, "once a boot");
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
        (
            "restart-service.sh",
            restart_service_script(crate::domain::Service::N8n),
        ),
        ("models.sh", models_script("pull", "llama3.2:3b")),
        (
            "bake.sh",
            render_bake("demo", &bake_key("ami-0123456789abcdef0")),
        ),
        ("migration-hold.sh", migration_command(MigrationStep::Hold)),
        (
            "migration-release.sh",
            migration_command(MigrationStep::Release),
        ),
    ]
    .into_iter()
    .map(|(name, text)| (name.to_string(), text))
    .chain(units::scripts("us-east-1").into_iter().map(|(path, text)| {
        let name = path.rsplit('/').next().unwrap_or("script.sh").to_string();
        (name, text)
    }));
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
fn the_compose_files_pinned_image_of_each_service() {
    use crate::domain::Service;
    assert_eq!(pinned_image(Service::N8n), Some("n8nio/n8n:1.81.4"));
    assert_eq!(
        pinned_image(Service::Postgres),
        Some("postgres:16.4-alpine")
    );
    for service in Service::ALL {
        assert!(
            pinned_image(service).is_some_and(|i| i.contains(':')),
            "{service}"
        );
    }
    let restart = restart_service_script(Service::Qdrant);
    assert!(restart.starts_with("# geusemaker:restart-service\n"));
    assert!(restart.contains("service=\"qdrant\""));
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
    let topic = format!("arn:aws:sns:us-gov-west-1:123456789012:{}", "t".repeat(256));
    // Every service on a tag of Docker's longest (128).
    let tags: crate::domain::images::ImageTags = crate::domain::Service::ALL
        .iter()
        .map(|s| (s.name().to_string(), format!("9.9.9-{}", "a".repeat(122))))
        .collect();
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
            group: &format!("{stack}-geusemaker"),
            launch_hook: "geusemaker-ready",
            address_allocation: (tier == Tier::Dev).then_some("eipalloc-0123456789abcdef0"),
            checks: InstanceChecks::default(),
            images: &tags,
            sns_topic_arn: Some(&topic),
        })
        .unwrap();
        // The limit is on the raw bytes, before base64: check what is sent.
        let sent = engine.decode(encode(&script).unwrap()).unwrap();
        assert!(
            sent.len() <= USER_DATA_LIMIT,
            "{tier}: {} bytes sent",
            sent.len()
        );
    }
}

#[test]
fn dev_claims_its_address_first_and_every_boot_ends_by_completing_the_launch_hook() {
    let script = render(&UserDataInput {
        address_allocation: Some("eipalloc-0123456789abcdef0"),
        public_url: Some("http://203.0.113.9:5678"),
        ..input(false)
    })
    .unwrap();
    let claim = script
        .find("aws ec2 associate-address")
        .expect("claims the address");
    assert!(
        script.contains("--allocation-id \"eipalloc-0123456789abcdef0\" --allow-reassociation")
    );
    let lease = script
        .find("\nsystemctl start geusemaker-lease.service\n")
        .expect("takes the writer lease");
    let compose = script
        .find("\nsystemctl start geusemaker-stack.service\n")
        .unwrap();
    let complete = script
        .find("aws autoscaling complete-lifecycle-action")
        .unwrap();
    let owner = script.find("mark owner-ready").unwrap();
    assert!(
        lease < claim && claim < compose,
        "the address is claimed under the lease, before anything starts"
    );
    assert!(
        owner < complete,
        "the hook is completed only once n8n's owner exists"
    );
    assert!(script.contains("GROUP=\"demo-geusemaker\""));
    let plain = render(&input(false)).unwrap();
    assert!(
        !plain.contains("associate-address"),
        "only dev has an address"
    );
    assert!(plain.contains("complete-lifecycle-action"));
}

#[test]
fn the_script_stops_on_any_error_and_marks_it() {
    let script = render(&input(false)).unwrap();
    assert!(script.contains("\nset -Eeuo pipefail\n"));
    assert!(script.contains("shopt -s inherit_errexit"));
    assert!(script.contains("trap 'on_err $? $LINENO' ERR"));
    assert!(script.contains("echo \"failed:$1 $(date"));
    assert!(script.contains(&format!("{}$1 ", crate::instance::boot::FAILED_PREFIX)));
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
    let unit = &main[main
        .find("cat >/etc/systemd/system/geusemaker-secrets.service")
        .unwrap()..];
    let unit = &unit[..unit.find("\nGEUSEMAKER_FILE\n").unwrap()];
    assert!(unit.contains("\nBefore=docker.service\n"));
    assert!(unit.contains("\nRequiredBy=docker.service"));
    assert!(unit.contains("\nExecStart=/opt/geusemaker/boot.sh secrets\n"));
    assert!(main.contains("systemctl enable geusemaker-secrets.service"));
}

/// `write_secrets` with SSM stubbed: each file holds its value with no
/// newline, is 0400 and owned by its container's user, and nothing is
/// printed or passed as an argument.
fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
