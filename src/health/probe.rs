//! Health probes, run from the machine running GeuseMaker: HTTP readiness
//! endpoints (through the product's client, src/http.rs), n8n as its users
//! reach it (its URL, http or https), and a PostgreSQL startup handshake
//! (which, unlike a TCP connect, tells "starting up" from "ready", as
//! `pg_isready` does).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::header::{CONNECTION, HOST, HeaderValue, LOCATION};
use reqwest::{Client, Response, Url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cloud::{Endpoint, Endpoints};
use crate::domain::Service;
use crate::domain::service::ProbeKind;
use crate::domain::state::ServiceStatus;
use crate::http::{self, Http};

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
            ProbeKind::Http { path } => probe_http(endpoint, path, timeout).await,
            ProbeKind::Postgres => probe_postgres(endpoint).await,
        }
    };
    sample(
        service,
        started,
        tokio::time::timeout(timeout, attempt).await,
    )
}

fn sample(
    service: Service,
    started: Instant,
    outcome: Result<ProbeOutcome, tokio::time::error::Elapsed>,
) -> ProbeSample {
    ProbeSample {
        service,
        outcome: outcome.unwrap_or(ProbeOutcome::TimedOut),
        latency_ms: started.elapsed().as_millis() as u64,
    }
}

/// n8n as its users reach it: a full URL (http or https), and optionally
/// the address to connect to instead of resolving the URL's host (SSM
/// forwarding, tests on loopback). The TLS name and Host header stay the URL's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutsideTarget {
    pub url: String,
    /// Both its IP and its port are used, even when the URL names a port.
    /// An https URL whose host is an IP address cannot be redirected (the
    /// certificate names that address).
    pub connect_to: Option<SocketAddr>,
}

const N8N_READINESS: &str = "healthz/readiness";

/// GET `<url>/healthz/readiness` through the product's client (which trusts
/// `GEUSEMAKER_EXTRA_CA` on top of the system's roots). A redirect is a
/// failure that names where it points: users would be sent there too.
pub async fn probe_outside(target: &OutsideTarget, timeout: Duration) -> ProbeSample {
    match Http::shared() {
        Ok(http) => probe_outside_with(http, target, timeout).await,
        Err(e) => sample(
            Service::N8n,
            Instant::now(),
            Ok(ProbeOutcome::Failed(e.to_string())),
        ),
    }
}

/// [`probe_outside`] through a given client (tests: one trusting a test CA).
pub async fn probe_outside_with(
    http: &Http,
    target: &OutsideTarget,
    timeout: Duration,
) -> ProbeSample {
    let started = Instant::now();
    let attempt = outside(http, target, timeout);
    sample(
        Service::N8n,
        started,
        tokio::time::timeout(timeout, attempt).await,
    )
}

async fn outside(http: &Http, target: &OutsideTarget, timeout: Duration) -> ProbeOutcome {
    let url = match readiness_url(&target.url) {
        Ok(url) => url,
        Err(why) => return ProbeOutcome::Failed(why),
    };
    let shown = url.to_string();
    let hint = Hint::N8nUrl;
    let Some(addr) = target.connect_to else {
        return get(http.client(), url, &shown, None, timeout, hint).await;
    };
    let (url, host) = match connecting_to(url, addr) {
        Ok(pair) => pair,
        Err(why) => return ProbeOutcome::Failed(why),
    };
    let client = match url.domain() {
        Some(domain) => match http.resolving(domain, addr) {
            Ok(client) => client,
            Err(e) => return ProbeOutcome::Failed(e.to_string()),
        },
        // An IP address in an http URL: already replaced by `addr`.
        None => http.client().clone(),
    };
    get(&client, url, &shown, Some(host), timeout, hint).await
}

/// `<url>/healthz/readiness`, from n8n's URL (which may have a path prefix).
fn readiness_url(raw: &str) -> Result<Url, String> {
    let mut url = Url::parse(raw).map_err(|e| format!("n8n's URL {raw:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("n8n's URL {raw:?} is not an http or https URL"));
    }
    let path = format!("{}/{N8N_READINESS}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The URL to send to `addr`, and the Host header the original names. The
/// port is the address's (reqwest would keep a port the URL names); the host
/// name stays, for TLS, and `resolve()` maps it to the address.
fn connecting_to(url: Url, addr: SocketAddr) -> Result<(Url, HeaderValue), String> {
    let authority = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => return Err(format!("{url} has no host")),
    };
    let host = HeaderValue::from_str(&authority).map_err(|e| format!("{url}: {e}"))?;
    let mut target = url.clone();
    if url.domain().is_none() {
        if url.scheme() == "https" {
            return Err(format!(
                "{url}: cannot connect to {addr} instead, as the certificate names the IP address"
            ));
        }
        target
            .set_ip_host(addr.ip())
            .map_err(|()| format!("{url}: cannot connect to {addr}"))?;
    }
    target
        .set_port(Some(addr.port()))
        .map_err(|()| format!("{url}: cannot connect to {addr}"))?;
    Ok((target, host))
}

async fn probe_http(endpoint: &Endpoint, path: &str, timeout: Duration) -> ProbeOutcome {
    let http = match Http::shared() {
        Ok(http) => http,
        Err(e) => return ProbeOutcome::Failed(e.to_string()),
    };
    let shown = format!("http://{endpoint}{path}");
    let url = match Url::parse(&shown) {
        Ok(url) => url,
        Err(e) => return ProbeOutcome::Failed(format!("bad URL {shown}: {e}")),
    };
    get(http.client(), url, &shown, None, timeout, Hint::None).await
}

/// What to add to a redirect's failure.
#[derive(Clone, Copy)]
enum Hint {
    None,
    N8nUrl,
}

/// One GET on a fresh connection (`Connection: close`: a pooled connection
/// could outlive a firewall change and say "ready" when a new one would not
/// get through).
async fn get(
    client: &Client,
    url: Url,
    shown: &str,
    host: Option<HeaderValue>,
    timeout: Duration,
    hint: Hint,
) -> ProbeOutcome {
    let mut request = client
        .get(url.clone())
        .timeout(timeout)
        .header(CONNECTION, "close");
    if let Some(host) = host {
        request = request.header(HOST, host);
    }
    match request.send().await {
        Ok(response) => judge(shown, &response, hint),
        Err(e) if e.is_timeout() => ProbeOutcome::TimedOut,
        Err(e) if http::is_refused(&e) => ProbeOutcome::Refused,
        Err(e) => ProbeOutcome::Failed(format!("GET {shown}: {}", http::explain(&e.without_url()))),
    }
}

fn judge(shown: &str, response: &Response, hint: Hint) -> ProbeOutcome {
    let status = response.status();
    if status.is_success() {
        return ProbeOutcome::Ready;
    }
    let answered = format!("GET {shown} answered {status}");
    if status.is_server_error() {
        return ProbeOutcome::NotReady(answered);
    }
    if !status.is_redirection() {
        return ProbeOutcome::Failed(answered);
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        // A relative Location, against the URL asked for.
        .map(
            |location| match Url::parse(shown).and_then(|base| base.join(location)) {
                Ok(absolute) => absolute.to_string(),
                Err(_) => location.to_string(),
            },
        );
    let Some(location) = location else {
        return ProbeOutcome::Failed(format!("{answered} with no Location"));
    };
    let advice = match hint {
        Hint::None => String::new(),
        Hint::N8nUrl if shown.starts_with("http:") && location.starts_with("https:") => {
            "; n8n's URL should be the https one".into()
        }
        Hint::N8nUrl => "; n8n's URL should be the one it redirects to".into(),
    };
    ProbeOutcome::Failed(format!("{answered} → {location}{advice}"))
}

async fn connect(endpoint: &Endpoint) -> Result<TcpStream, ProbeOutcome> {
    TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => ProbeOutcome::Refused,
            _ => ProbeOutcome::Failed(format!("connect to {endpoint}: {e}")),
        })
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
mod tests;
