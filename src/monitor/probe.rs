//! Health probes, run from the machine running GeuseMaker: HTTP readiness
//! endpoints, and a PostgreSQL startup handshake (which, unlike a TCP connect,
//! tells "starting up" from "ready", as `pg_isready` does).

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::join_all;
use http_body_util::Empty;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cloud::{Endpoint, Endpoints};
use crate::domain::Service;
use crate::domain::service::ProbeKind;
use crate::domain::state::ServiceStatus;

/// What a probe found, before any policy is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    Ready,
    /// The service answered but is not ready (HTTP 5xx, Postgres starting up).
    NotReady(String),
    /// Nothing listens: the container is not running.
    Refused,
    TimedOut,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProbeSample {
    pub service: Service,
    pub outcome: ProbeOutcome,
    pub latency_ms: u64,
}

impl ProbeSample {
    /// The seed's status for this sample. While a stack is starting, a service
    /// that is not up yet is `starting`, not `unhealthy`.
    pub fn status(&self, starting_up: bool) -> ServiceStatus {
        match (&self.outcome, starting_up) {
            (ProbeOutcome::Ready, _) => ServiceStatus::Healthy,
            (ProbeOutcome::NotReady(_) | ProbeOutcome::Refused, true) => ServiceStatus::Starting,
            (ProbeOutcome::Refused, false) => ServiceStatus::Stopped,
            _ => ServiceStatus::Unhealthy,
        }
    }

    pub fn error(&self) -> Option<String> {
        match &self.outcome {
            ProbeOutcome::Ready => None,
            ProbeOutcome::NotReady(why) => Some(why.clone()),
            ProbeOutcome::Refused => Some("connection refused".into()),
            ProbeOutcome::TimedOut => Some("timed out".into()),
            ProbeOutcome::Failed(why) => Some(why.clone()),
        }
    }
}

/// Probe every service concurrently, each with its own timeout.
pub async fn probe_all(endpoints: &Endpoints) -> Vec<ProbeSample> {
    join_all(
        endpoints
            .iter()
            .map(|(service, ep)| probe(*service, ep, service.probe_timeout())),
    )
    .await
}

pub async fn probe(service: Service, endpoint: &Endpoint, timeout: Duration) -> ProbeSample {
    let started = Instant::now();
    let attempt = async {
        match service.probe() {
            ProbeKind::Http { path } => probe_http(endpoint, path).await,
            ProbeKind::Postgres => probe_postgres(endpoint).await,
        }
    };
    let outcome = match tokio::time::timeout(timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => ProbeOutcome::TimedOut,
    };
    ProbeSample {
        service,
        outcome,
        latency_ms: started.elapsed().as_millis() as u64,
    }
}

async fn connect(endpoint: &Endpoint) -> Result<TcpStream, ProbeOutcome> {
    TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => ProbeOutcome::Refused,
            _ => ProbeOutcome::Failed(format!("connect to {endpoint}: {e}")),
        })
}

async fn probe_http(endpoint: &Endpoint, path: &str) -> ProbeOutcome {
    let stream = match connect(endpoint).await {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(e) => return ProbeOutcome::Failed(format!("HTTP handshake: {e}")),
        };
    let driver = tokio::spawn(connection);
    let request = Request::get(path)
        .header(hyper::header::HOST, endpoint.to_string())
        .header(hyper::header::USER_AGENT, "geusemaker-probe")
        .body(Empty::<Bytes>::new());
    let outcome = match request {
        Err(e) => ProbeOutcome::Failed(format!("bad request for {path}: {e}")),
        Ok(request) => match sender.send_request(request).await {
            Ok(response) if response.status().is_success() => ProbeOutcome::Ready,
            Ok(response) if response.status().is_server_error() => {
                ProbeOutcome::NotReady(format!("GET {path} answered {}", response.status()))
            }
            Ok(response) => {
                ProbeOutcome::Failed(format!("GET {path} answered {}", response.status()))
            }
            Err(e) => ProbeOutcome::Failed(format!("GET {path}: {e}")),
        },
    };
    driver.abort();
    outcome
}

const PROTOCOL_3_0: i32 = 196_608;

async fn probe_postgres(endpoint: &Endpoint) -> ProbeOutcome {
    let mut stream = match connect(endpoint).await {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    if let Err(e) = stream.write_all(&startup_message()).await {
        return ProbeOutcome::Failed(format!("send startup: {e}"));
    }
    let mut tag = [0u8; 1];
    if let Err(e) = stream.read_exact(&mut tag).await {
        return ProbeOutcome::Failed(format!("no answer to startup: {e}"));
    }
    match tag[0] {
        // An authentication request: the server accepts connections.
        b'R' => ProbeOutcome::Ready,
        b'E' => match read_error_code(&mut stream).await {
            // cannot_connect_now: starting up, shutting down, or in recovery.
            Ok((code, message)) if code == "57P03" => ProbeOutcome::NotReady(message),
            // Any other refusal (auth, unknown database) comes from a server
            // that is up and accepting connections.
            Ok(_) => ProbeOutcome::Ready,
            Err(e) => ProbeOutcome::Failed(format!("bad error response: {e}")),
        },
        other => ProbeOutcome::Failed(format!("unexpected reply {:?} to startup", other as char)),
    }
}

fn startup_message() -> Vec<u8> {
    let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
    for (k, v) in [
        ("user", "geusemaker_probe"),
        ("database", "postgres"),
        ("application_name", "geusemaker-probe"),
    ] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend_from_slice(&body);
    msg
}

/// Read an ErrorResponse body: (SQLSTATE, message).
async fn read_error_code(stream: &mut TcpStream) -> io::Result<(String, String)> {
    let len = stream.read_i32().await?;
    if !(4..=65_536).contains(&len) {
        return Err(io::ErrorKind::InvalidData.into());
    }
    let mut body = vec![0; len as usize - 4];
    stream.read_exact(&mut body).await?;
    let (mut code, mut message) = (String::new(), String::new());
    for field in body.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let value = String::from_utf8_lossy(&field[1..]).into_owned();
        match field[0] {
            b'C' => code = value,
            b'M' => message = value,
            _ => {}
        }
    }
    Ok((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(reply: Vec<u8>) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&reply).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
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
}
