//! The sandbox instance's five services as real loopback endpoints, served by
//! whichever process asks, so the real prober runs unchanged against them.
//! A service that is down has no listener (connection refused); one starting
//! answers 503 (Postgres: "the database system is starting up"). n8n is the
//! outside view: it does not answer a caller the stack does not admit.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::timing;
use super::world::{Phase, Worlds};
use crate::cloud::endpoints::{Endpoint, Endpoints};
use crate::domain::Service;
use crate::domain::time::Clock;

const WATCH_EVERY: Duration = Duration::from_millis(200);

type Phases = HashMap<Service, Phase>;

#[derive(Debug)]
pub struct FakeServices {
    worlds: Worlds,
    clock: Arc<dyn Clock>,
    speed: f64,
    started: Mutex<HashMap<String, Endpoints>>,
}

impl FakeServices {
    pub fn new(worlds: Worlds, clock: Arc<dyn Clock>, speed: f64) -> Self {
        Self {
            worlds,
            clock,
            speed,
            started: Mutex::new(HashMap::new()),
        }
    }

    /// The stack's endpoints, starting its fakes in this process on first use.
    pub async fn endpoints(&self, stack: &str) -> std::io::Result<Endpoints> {
        if let Some(eps) = self.started.lock().ok().and_then(|m| m.get(stack).cloned()) {
            return Ok(eps);
        }
        let (tx, rx) = watch::channel(self.phases(stack));
        let mut endpoints = Endpoints::new();
        for service in Service::ALL {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            endpoints.insert(
                service,
                Endpoint {
                    host: "127.0.0.1".into(),
                    port,
                },
            );
            tokio::spawn(serve(service, port, listener, rx.clone(), self.speed));
        }
        tokio::spawn(watch_world(
            self.worlds.clone(),
            self.clock.clone(),
            stack.to_string(),
            tx,
        ));
        if let Ok(mut started) = self.started.lock() {
            started.insert(stack.to_string(), endpoints.clone());
        }
        Ok(endpoints)
    }

    fn phases(&self, stack: &str) -> Option<Phases> {
        current_phases(&self.worlds, self.clock.as_ref(), stack)
    }
}

fn current_phases(worlds: &Worlds, clock: &dyn Clock, stack: &str) -> Option<Phases> {
    let mut world = worlds.read(stack).ok()??;
    let now = clock.now();
    world.settle(now);
    // From outside, n8n is behind the stack's rules: a caller they do not
    // admit gets no answer at all, as a security group drops the packets.
    let admitted = world.admits(&worlds.caller());
    Some(
        Service::ALL
            .into_iter()
            .map(|s| {
                let phase = world.answer(s, now);
                let cut = s == Service::N8n && !admitted;
                (s, if cut { Phase::Down } else { phase })
            })
            .collect(),
    )
}

/// Publish the services' phases until the stack's world is gone.
async fn watch_world(
    worlds: Worlds,
    clock: Arc<dyn Clock>,
    stack: String,
    tx: watch::Sender<Option<Phases>>,
) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let phases = current_phases(&worlds, clock.as_ref(), &stack);
        let gone = phases.is_none();
        tx.send_if_modified(|old| {
            let changed = *old != phases;
            *old = phases;
            changed
        });
        if gone || tx.is_closed() {
            return;
        }
    }
}

fn phase_of(rx: &watch::Receiver<Option<Phases>>, service: Service) -> Phase {
    rx.borrow()
        .as_ref()
        .and_then(|p| p.get(&service).copied())
        .unwrap_or(Phase::Down)
}

/// Listen on `port` while the service is up; close the port while it is down.
async fn serve(
    service: Service,
    port: u16,
    listener: TcpListener,
    mut rx: watch::Receiver<Option<Phases>>,
    speed: f64,
) {
    let mut listener = Some(listener);
    loop {
        let up = phase_of(&rx, service) != Phase::Down;
        if !up {
            listener = None;
        } else if listener.is_none() {
            listener = TcpListener::bind(("127.0.0.1", port)).await.ok();
        }
        let accepted = match &listener {
            Some(l) => tokio::select! {
                conn = l.accept() => conn.ok(),
                changed = rx.changed() => { if changed.is_err() { return; } None }
            },
            None => {
                if rx.changed().await.is_err() {
                    return;
                }
                None
            }
        };
        if let Some((stream, _)) = accepted {
            let rx = rx.clone();
            tokio::spawn(async move {
                let latency = Duration::from_millis(jitter(timing::service_latency_ms(service)))
                    .div_f64(speed.max(1.0));
                if service == Service::Postgres {
                    answer_postgres(stream, &rx, latency).await;
                } else {
                    answer_http(stream, service, rx, latency).await;
                }
            });
        }
    }
}

fn jitter(base_ms: u64) -> u64 {
    let spread = (base_ms / 3).max(1);
    base_ms - spread / 2 + rand::random_range(0..=spread)
}

async fn answer_http(
    stream: TcpStream,
    service: Service,
    rx: watch::Receiver<Option<Phases>>,
    latency: Duration,
) {
    let handler = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let rx = rx.clone();
        async move {
            tokio::time::sleep(latency).await;
            Ok::<_, Infallible>(http_answer(
                service,
                phase_of(&rx, service),
                req.uri().path(),
            ))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), handler)
        .await;
}

fn http_answer(service: Service, phase: Phase, path: &str) -> Response<Full<Bytes>> {
    let (status, body) = match (phase, service, path) {
        (Phase::Ready, Service::N8n, "/healthz/readiness" | "/healthz") => {
            (StatusCode::OK, r#"{"status":"ok"}"#)
        }
        (Phase::Ready, Service::Ollama, "/api/version") => {
            (StatusCode::OK, r#"{"version":"0.5.7"}"#)
        }
        (Phase::Ready, Service::Ollama, "/api/tags") => (
            StatusCode::OK,
            r#"{"models":[{"name":"llama3.2:3b","size":2019393189}]}"#,
        ),
        (Phase::Ready, Service::Qdrant, "/readyz" | "/healthz") => {
            (StatusCode::OK, "all shards are ready")
        }
        (Phase::Ready, Service::Crawl4ai, "/health") => {
            (StatusCode::OK, r#"{"status":"ok","version":"0.6.3"}"#)
        }
        (Phase::Ready, _, _) => (StatusCode::NOT_FOUND, "not found"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"starting"}"#),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

const SSL_REQUEST: i32 = 80877103;

/// Enough of the PostgreSQL startup handshake for a readiness probe.
async fn answer_postgres(
    mut stream: TcpStream,
    rx: &watch::Receiver<Option<Phases>>,
    latency: Duration,
) {
    let Ok(mut code) = read_startup(&mut stream).await else {
        return;
    };
    if code == SSL_REQUEST {
        if stream.write_all(b"N").await.is_err() {
            return;
        }
        let Ok(next) = read_startup(&mut stream).await else {
            return;
        };
        code = next;
    }
    let _ = code;
    tokio::time::sleep(latency).await;
    let reply = match phase_of(rx, Service::Postgres) {
        // AuthenticationCleartextPassword: the server is accepting connections.
        Phase::Ready => vec![b'R', 0, 0, 0, 8, 0, 0, 0, 3],
        _ => error_response("57P03", "the database system is starting up"),
    };
    let _ = stream.write_all(&reply).await;
}

async fn read_startup(stream: &mut TcpStream) -> std::io::Result<i32> {
    let len = stream.read_i32().await?;
    if !(8..=10_000).contains(&len) {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    let mut body = vec![0; len as usize - 4];
    stream.read_exact(&mut body).await?;
    Ok(i32::from_be_bytes([body[0], body[1], body[2], body[3]]))
}

pub fn error_response(code: &str, message: &str) -> Vec<u8> {
    let mut fields = Vec::new();
    for (tag, value) in [(b'S', "FATAL"), (b'C', code), (b'M', message)] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&((fields.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(&fields);
    out
}
