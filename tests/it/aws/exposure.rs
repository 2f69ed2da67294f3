//! Least exposure, against the strict emulator: each tier's groups admit
//! n8n's port alone, nothing is open to the world but a public automation
//! stack's HTTPS and its redirect, the gpu ALB admits CloudFront's prefix
//! list alone, IMDS has hop limit 1, `access` changes exactly the set, and
//! `forward`, `secret` and a certificate's health stage work.

use aws_sdk_ec2::types::IpPermission;

use super::Harness;
use super::cli::{DEV_KEYS, deploy, run};
use crate::https_fake::HttpsFake;
use crate::support::Home;

const CLOUDFRONT_LIST: &str = "com.amazonaws.global.cloudfront.origin-facing";

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (port, source) of every inbound rule of `group`.
async fn rules_of(h: &Harness, group: &str) -> Vec<(i32, String)> {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let found = ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .expect("describe group");
    let permissions: Vec<IpPermission> = found.security_groups()[0].ip_permissions().to_vec();
    let mut rules = Vec::new();
    for p in &permissions {
        let port = p.from_port().unwrap_or(-1);
        assert_eq!(p.from_port(), p.to_port(), "a single port: {p:?}");
        rules.extend(
            p.ip_ranges()
                .iter()
                .map(|r| (port, r.cidr_ip().unwrap_or_default().to_string())),
        );
        rules.extend(
            p.user_id_group_pairs()
                .iter()
                .map(|g| (port, g.group_id().unwrap_or_default().to_string())),
        );
        rules.extend(
            p.prefix_list_ids()
                .iter()
                .map(|l| (port, l.prefix_list_id().unwrap_or_default().to_string())),
        );
        assert!(p.ipv6_ranges().is_empty(), "no IPv6 rule: {p:?}");
    }
    rules.sort();
    rules
}

async fn cloudfront_list(h: &Harness) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let lists = ec2
        .describe_managed_prefix_lists()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("prefix-list-name")
                .values(CLOUDFRONT_LIST)
                .build(),
        )
        .send()
        .await
        .expect("prefix lists");
    lists.prefix_lists()[0]
        .prefix_list_id()
        .unwrap()
        .to_string()
}

fn id(state: &serde_json::Value, key: &str) -> String {
    state[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key}"))
        .to_string()
}

/// What every tier must show against the emulator.
pub(super) async fn assert_least_exposure(h: &Harness, home: &Home, state: &serde_json::Value) {
    let tier = state["tier"].as_str().unwrap();
    let instance_sg = id(state, "security_group_id");
    let instance_rules = rules_of(h, &instance_sg).await;
    match tier {
        "dev" => assert_eq!(instance_rules, [(5678, super::CALLER.to_string())]),
        _ => assert_eq!(instance_rules, [(5678, id(state, "alb_security_group_id"))]),
    }
    if tier != "dev" {
        let alb_rules = rules_of(h, &id(state, "alb_security_group_id")).await;
        let expected = match tier {
            "gpu" => (80, cloudfront_list(h).await),
            _ => (80, super::CALLER.to_string()),
        };
        assert_eq!(alb_rules, [expected], "{tier}: the ALB admits");
    }
    let efs_rules = rules_of(h, &id(state, "efs_security_group_id")).await;
    assert_eq!(efs_rules, [(2049, instance_sg.clone())]);

    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let described = ec2
        .describe_instances()
        .instance_ids(id(state, "instance_id"))
        .send()
        .await
        .unwrap();
    let instance = &described.reservations()[0].instances()[0];
    let metadata = instance.metadata_options().expect("metadata options");
    assert_eq!(
        metadata.http_put_response_hop_limit(),
        Some(1),
        "hop limit 1"
    );
    assert_eq!(metadata.http_tokens().map(|t| t.as_str()), Some("required"));

    let stack = state["stack_name"].as_str().unwrap();
    let out = run(h, home, &["status", stack, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = status["exposure"].as_array().expect("an exposure table");
    let world: Vec<_> = rows
        .iter()
        .filter(|r| {
            r["from"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "0.0.0.0/0")
        })
        .collect();
    let internal = rows
        .iter()
        .filter(|r| r["from"][0].as_str().unwrap().starts_with("127.0.0.1"))
        .count();
    assert_eq!(
        internal, 4,
        "postgres, qdrant, ollama, crawl4ai on loopback: {rows:?}"
    );
    match tier {
        // CloudFront is the front door; its origin is closed.
        "gpu" => assert_eq!(world.len(), 1, "{world:?}"),
        _ => assert!(world.is_empty(), "{world:?}"),
    }
}

fn cidrs(h: &Harness, home: &Home, stack: &str) -> Vec<String> {
    let out = run(h, home, &["access", stack, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    serde_json::from_value(v["allowed_cidrs"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_changes_exactly_the_set_and_a_redeploy_keeps_it() {
    let h = Harness::start().await;
    let home = Home::new();
    let state = deploy(&h, &home, "gate", "dev", &[DEV_KEYS]);
    let sg = id(&state, "security_group_id");
    let admitted = |rules: Vec<(i32, String)>| -> Vec<String> {
        rules
            .into_iter()
            .map(|(port, from)| {
                assert_eq!(port, 5678);
                from
            })
            .collect()
    };

    let out = run(
        &h,
        &home,
        &["access", "gate", "--set", "203.0.113.0/24,192.0.2.9/32"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        admitted(rules_of(&h, &sg).await),
        ["192.0.2.9/32", "203.0.113.0/24"],
        "the old /32 revoked"
    );
    let out = run(&h, &home, &["access", "gate", "--add", "198.51.100.7/32"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        admitted(rules_of(&h, &sg).await),
        ["192.0.2.9/32", "198.51.100.7/32", "203.0.113.0/24"],
        "--add keeps the others"
    );
    let out = run(&h, &home, &["access", "gate", "--remove", "192.0.2.9/32"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        cidrs(&h, &home, "gate"),
        ["203.0.113.0/24", "198.51.100.7/32"]
    );

    // A redeploy naming another CIDR is refused, names `access`, and
    // changes none of them.
    let out = run(
        &h,
        &home,
        &[
            "deploy",
            "gate",
            "--tier",
            "dev",
            "--yes",
            "--allow-cidr",
            "192.0.2.200/32",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("access gate --add 192.0.2.200/32"),
        "{}",
        text(&out)
    );
    assert_eq!(
        admitted(rules_of(&h, &sg).await),
        ["198.51.100.7/32", "203.0.113.0/24"]
    );

    // Bad input changes nothing.
    for bad in [
        vec!["access", "gate", "--add", "0.0.0.0/0"],
        vec!["access", "gate", "--set", "not-a-cidr"],
        vec!["access", "gate", "--remove", "10.9.9.9/32"],
    ] {
        let out = run(&h, &home, &bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
    }
    assert_eq!(
        admitted(rules_of(&h, &sg).await),
        ["198.51.100.7/32", "203.0.113.0/24"]
    );

    // forward: the exact command it would run, where no plugin is installed.
    let out = run(
        &h,
        &home,
        &["forward", "gate", "qdrant", "--local-port", "16333"],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let instance = id(&state, "instance_id");
    assert!(
        said.contains(&format!(
            r#"aws ssm start-session --region us-east-1 --target {instance} --document-name AWS-StartPortForwardingSession --parameters '{{"portNumber":["6333"],"localPortNumber":["16333"]}}'"#
        )),
        "{said}"
    );
    assert!(said.contains("session-manager-plugin"), "{said}");
    assert!(said.contains("http://127.0.0.1:16333"), "{said}");

    // secret: read from SSM on this machine, after confirming.
    let out = run(&h, &home, &["secret", "gate", "postgres-password"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no terminal, no --yes: {}",
        text(&out)
    );
    let out = run(&h, &home, &["secret", "gate", "postgres-password", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let ssm = aws_sdk_ssm::Client::new(&h.sdk().await);
    let stored = ssm
        .get_parameter()
        .name("/geusemaker/gate/postgres-password")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        Some(printed.as_str()),
        stored.parameter().and_then(|p| p.value())
    );
    assert!(printed.len() >= 32);
    let owner = run(
        &h,
        &home,
        &["secret", "gate", "n8n-owner-password", "--yes"],
    );
    let password = String::from_utf8_lossy(&owner.stdout).trim().to_string();
    assert!(
        password.chars().any(|c| c.is_ascii_digit())
            && password.chars().any(|c| c.is_ascii_uppercase())
    );
    let unknown = run(&h, &home, &["secret", "gate", "aws-root-key", "--yes"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_automation_stack_serves_only_https_and_its_redirect_and_passes_health_over_https()
{
    let h = Harness::start().await;
    let home = Home::new();
    let domain = "n8n.example.test";
    let cert = h.moto.certificate(domain);
    let https = HttpsFake::start(domain).await;
    // n8n answers on loopback over HTTPS, with a certificate for the domain
    // signed by a test CA that only this run trusts.
    let mut cmd = super::cli::aws_cmd(&home, &h);
    cmd.env(
        "GEUSEMAKER_SERVICE_ENDPOINTS",
        format!("n8n={}", https.addr),
    )
    .env("GEUSEMAKER_EXTRA_CA", &https.ca_path)
    .args([
        "deploy",
        "pub",
        "--tier",
        "automation",
        "--yes",
        "--json",
        "--allow-cidr",
        super::CALLER,
        "--certificate-arn",
        &cert,
        "--domain",
        domain,
        "--public",
    ]);
    let out = tokio::task::block_in_place(|| cmd.output()).expect("run");
    assert!(out.status.success(), "{}", text(&out));
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["status"], "running");
    assert_eq!(state["n8n_url"], format!("https://{domain}"));
    assert!(https.requests() > 0, "health was checked over HTTPS");
    assert_eq!(state["outside"]["reachable"], true, "{}", state["outside"]);

    let alb_rules = rules_of(&h, &id(&state, "alb_security_group_id")).await;
    assert_eq!(
        alb_rules,
        [
            (80, "0.0.0.0/0".to_string()),
            (443, "0.0.0.0/0".to_string())
        ]
    );
    let instance_rules = rules_of(&h, &id(&state, "security_group_id")).await;
    assert_eq!(
        instance_rules,
        [(5678, id(&state, "alb_security_group_id"))]
    );

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&h.sdk().await);
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(id(&state, "alb_arn"))
        .send()
        .await
        .unwrap();
    for listener in listeners.listeners() {
        let action = listener.default_actions()[0]
            .r#type()
            .map(|t| t.as_str().to_string());
        match listener.port() {
            Some(443) => {
                assert_eq!(action.as_deref(), Some("forward"));
                assert_eq!(
                    listener.ssl_policy(),
                    Some("ELBSecurityPolicy-TLS13-1-2-2021-06")
                );
            }
            Some(80) => assert_eq!(action.as_deref(), Some("redirect"), "80 only redirects"),
            other => panic!("unexpected listener {other:?}"),
        }
    }

    // Without the test CA the same check fails, naming the certificate.
    let mut cmd = super::cli::aws_cmd(&home, &h);
    cmd.env(
        "GEUSEMAKER_SERVICE_ENDPOINTS",
        format!("n8n={}", https.addr),
    )
    .args(["status", "pub", "--live", "--json"]);
    let out = tokio::task::block_in_place(|| cmd.output()).expect("run");
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(live["outside"]["reachable"], false, "{}", text(&out));
    let why = live["outside"]["error"].as_str().unwrap_or_default();
    assert!(why.contains("certificate"), "{why}");
    assert_eq!(
        live["status"], "running",
        "an outside failure is no verdict"
    );

    // A certificate without --domain, or on gpu, is refused before anything exists.
    for args in [
        vec![
            "deploy",
            "nodomain",
            "--tier",
            "automation",
            "--yes",
            "--certificate-arn",
            cert.as_str(),
        ],
        vec![
            "deploy",
            "gpucert",
            "--tier",
            "gpu",
            "--yes",
            "--certificate-arn",
            cert.as_str(),
        ],
        vec![
            "deploy",
            "plainpub",
            "--tier",
            "automation",
            "--yes",
            "--public",
        ],
    ] {
        let out = run(&h, &home, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}
