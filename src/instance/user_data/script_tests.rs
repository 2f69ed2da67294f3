//! The boot script run under bash with stubs: secrets as files, the owner's
//! setup, retries and failure markers.

use super::tests::{input, n8n_env};
use super::*;

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
        std::fs::set_permissions(stubs.join(d), std::fs::Permissions::from_mode(0o700)).unwrap();
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
        let failed = crate::instance::boot::failure(&markers).expect("no failure marker");
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
    assert!(script.contains("n8n: $N8N/healthz/readiness did not answer 200 within 10 minutes"));
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
        let failed = crate::instance::boot::failure(&markers).expect("no failure marker");
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
        let failed = crate::instance::boot::failure(&markers).unwrap();
        assert_eq!(failed.line, Some(line_of(&body, failing)), "{failing}");
        assert_eq!(failed.reason, "pulling images (exit 1)");
    }
}

#[test]
fn a_docker_hub_rate_limit_is_named() {
    let docker = "echo 'Error response from daemon: toomanyrequests: You have reached your pull rate limit.' >&2; exit 1";
    let (out, markers) = run_prelude("pull n8nio/n8n:1.81.4", &[("docker", docker)]);
    assert!(!out.status.success());
    let failed = crate::instance::boot::failure(&markers).unwrap();
    assert!(failed.reason.contains("Docker Hub rate limit"), "{failed}");
    assert!(failed.reason.contains("n8nio/n8n:1.81.4"));
    // Retried before giving up: 5 tries, 4 waits.
    assert_eq!(printed(&out).matches("again in").count(), 4);
    let (out, markers) = run_prelude("pull qdrant/qdrant:v1.12.4", &[("docker", "exit 1")]);
    assert!(!out.status.success());
    let failed = crate::instance::boot::failure(&markers).unwrap();
    assert_eq!(
        failed.reason,
        "images: could not pull qdrant/qdrant:v1.12.4"
    );
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
    let failed = crate::instance::boot::failure(&markers).expect("no failure marker");
    assert!(failed.reason.contains("no public IPv4 address"), "{failed}");
}
