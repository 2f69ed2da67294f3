//! The compose file the boot writes: pinned images, only n8n published
//! beyond loopback, each image's own healthcheck, and n8n's URL settings.

use super::tests::{compose_of, input, n8n_env};
use super::*;

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
fn an_updated_tag_replaces_the_pinned_one_for_that_service_alone() {
    let tags: crate::domain::images::ImageTags = [("n8n".to_string(), "1.91.3".to_string())].into();
    let script = render(&UserDataInput {
        images: &tags,
        ..input(false)
    })
    .unwrap();
    let images: Vec<_> = compose_of(&script)
        .lines()
        .filter_map(|l| l.strip_prefix("    image: "))
        .collect();
    assert!(images.contains(&"n8nio/n8n:1.91.3"), "{images:?}");
    assert!(!images.contains(&"n8nio/n8n:1.81.4"), "{images:?}");
    assert!(
        images.contains(&"ollama/ollama:0.5.7"),
        "the rest stay pinned"
    );
    for (service, tag) in [
        ("n8n", "1.9$(id)"),
        ("n8n", "evil/repo:1"),
        ("redis", "7.0"),
    ] {
        let bad: crate::domain::images::ImageTags = [(service.to_string(), tag.to_string())].into();
        let refused = render(&UserDataInput {
            images: &bad,
            ..input(false)
        });
        assert!(
            matches!(
                refused,
                Err(UserDataError::Unsafe {
                    field: "images",
                    ..
                })
            ),
            "{service}={tag}: {refused:?}"
        );
    }
}
