use super::*;
use tokio::net::TcpListener;

/// Answers one connection with `reply`, once it has read the request's
/// head (or, for Postgres, whatever came first), then waits for the
/// client to close.
async fn serve_once(reply: Vec<u8>) -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = vec![0; 1024];
        while let Ok(n @ 1..) = s.read(&mut buf).await {
            seen.extend_from_slice(&buf[..n]);
            if !seen.starts_with(b"GET ") || seen.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let _ = s.write_all(&reply).await;
        // Until the client has read the answer and hung up.
        while let Ok(1..) = s.read(&mut buf).await {}
    });
    Endpoint {
        host: "127.0.0.1".into(),
        port,
    }
}

async fn free_port() -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    Endpoint {
        host: "127.0.0.1".into(),
        port,
    }
}

fn http(status: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\n\r\nok").into_bytes()
}

#[tokio::test]
async fn http_2xx_is_ready_and_5xx_is_not() {
    let ep = serve_once(http("200 OK")).await;
    let s = probe(Service::N8n, &ep, Duration::from_secs(2)).await;
    assert_eq!(s.outcome, ProbeOutcome::Ready);
    let ep = serve_once(http("503 Service Unavailable")).await;
    let s = probe(Service::N8n, &ep, Duration::from_secs(2)).await;
    assert!(matches!(s.outcome, ProbeOutcome::NotReady(ref m) if m.contains("503")));
    assert_eq!(s.status(true), ServiceStatus::Starting);
    assert_eq!(s.status(false), ServiceStatus::Unhealthy);
}

#[tokio::test]
async fn a_redirect_is_a_failure_naming_where_it_points() {
    let ep = serve_once(
        b"HTTP/1.1 301 Moved Permanently\r\nlocation: https://n8n.example.test/\r\n\
          content-length: 0\r\n\r\n"
            .to_vec(),
    )
    .await;
    let target = OutsideTarget {
        url: format!("http://{ep}"),
        connect_to: None,
    };
    let http = Http::with_ca(None).unwrap();
    let s = probe_outside_with(&http, &target, Duration::from_secs(5)).await;
    let ProbeOutcome::Failed(why) = &s.outcome else {
        panic!("{:?}", s.outcome);
    };
    assert!(why.contains("301"), "{why}");
    assert!(why.contains("→ https://n8n.example.test/"), "{why}");
    assert!(why.contains("n8n's URL should be the https one"), "{why}");
    assert_eq!(s.service, Service::N8n);

    // The stack's own probe does not follow it either.
    let ep = serve_once(
        b"HTTP/1.1 302 Found\r\nlocation: /signin\r\ncontent-length: 0\r\n\r\n".to_vec(),
    )
    .await;
    let s = probe(Service::N8n, &ep, Duration::from_secs(5)).await;
    let ProbeOutcome::Failed(why) = &s.outcome else {
        panic!("{:?}", s.outcome);
    };
    assert!(
        why.contains(&format!("302 Found → http://{ep}/signin")),
        "{why}"
    );
}

#[tokio::test]
async fn other_4xx_fail_and_the_request_names_the_product() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: listener.local_addr().unwrap().port(),
    };
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = vec![0; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the request's head");
            head.extend_from_slice(&buf[..n]);
        }
        s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8(head).unwrap().to_ascii_lowercase()
    });
    let s = probe(Service::Qdrant, &ep, Duration::from_secs(5)).await;
    assert!(matches!(s.outcome, ProbeOutcome::Failed(ref m) if m.contains("404")));
    let head = server.await.unwrap();
    assert!(head.starts_with("get /readyz http/1.1\r\n"), "{head}");
    let agent = format!("user-agent: geusemaker/{}\r\n", env!("CARGO_PKG_VERSION"));
    assert!(head.contains(&agent), "{head}");
    assert!(head.contains(&format!("host: {ep}\r\n")), "{head}");
    assert!(head.contains("connection: close\r\n"), "{head}");
}

#[test]
fn the_readiness_url_keeps_a_path_prefix_and_drops_a_query() {
    let url = readiness_url("https://example.test/n8n/?x=1#top").unwrap();
    assert_eq!(url.as_str(), "https://example.test/n8n/healthz/readiness");
    let url = readiness_url("http://example.test").unwrap();
    assert_eq!(url.as_str(), "http://example.test/healthz/readiness");
    assert!(readiness_url("ftp://example.test").is_err());
    assert!(readiness_url("example.test").is_err());
}

#[test]
fn connect_to_takes_the_address_and_keeps_the_host_header() {
    let addr: SocketAddr = "127.0.0.1:40001".parse().unwrap();
    let url = Url::parse("https://n8n.example.test/healthz/readiness").unwrap();
    let (to, host) = connecting_to(url, addr).unwrap();
    assert_eq!(
        to.as_str(),
        "https://n8n.example.test:40001/healthz/readiness"
    );
    assert_eq!(host, "n8n.example.test");
    // SSM forwarding of http://IP:5678 to a local port.
    let url = Url::parse("http://198.51.100.7:5678/healthz/readiness").unwrap();
    let (to, host) = connecting_to(url, addr).unwrap();
    assert_eq!(to.as_str(), "http://127.0.0.1:40001/healthz/readiness");
    assert_eq!(host, "198.51.100.7:5678");
    let url = Url::parse("https://198.51.100.7/healthz/readiness").unwrap();
    assert!(connecting_to(url, addr).is_err());
}

#[tokio::test]
async fn refused_is_stopped_once_running() {
    let ep = free_port().await;
    let s = probe(Service::Qdrant, &ep, Duration::from_secs(2)).await;
    assert_eq!(s.outcome, ProbeOutcome::Refused);
    assert_eq!(s.status(false), ServiceStatus::Stopped);
    assert_eq!(s.status(true), ServiceStatus::Starting);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: listener.local_addr().unwrap().port(),
    };
    let s = probe(Service::Ollama, &ep, Duration::from_millis(100)).await;
    assert_eq!(s.outcome, ProbeOutcome::TimedOut);
    drop(listener);
}

#[tokio::test]
async fn postgres_auth_request_is_ready() {
    let ep = serve_once(vec![b'R', 0, 0, 0, 8, 0, 0, 0, 5]).await;
    let s = probe(Service::Postgres, &ep, Duration::from_secs(2)).await;
    assert_eq!(s.outcome, ProbeOutcome::Ready);
}

#[tokio::test]
async fn postgres_starting_up_is_not_ready_though_tcp_accepts() {
    let reply = crate::cloud::sandbox::tests_support::error_response(
        "57P03",
        "the database system is starting up",
    );
    let ep = serve_once(reply).await;
    let s = probe(Service::Postgres, &ep, Duration::from_secs(2)).await;
    assert_eq!(
        s.outcome,
        ProbeOutcome::NotReady("the database system is starting up".into())
    );
}

#[tokio::test]
async fn postgres_auth_failure_means_the_server_is_up() {
    let reply = crate::cloud::sandbox::tests_support::error_response(
        "28P01",
        "password authentication failed",
    );
    let ep = serve_once(reply).await;
    let s = probe(Service::Postgres, &ep, Duration::from_secs(2)).await;
    assert_eq!(s.outcome, ProbeOutcome::Ready);
}
