//! A loopback HTTPS server with a test CA, for the probes that go through
//! TLS the way n8n's users do; and those probes' tests.
//!
//! ```ignore
//! let fake = HttpsFake::start("n8n.example.test").await;
//! // In process: trust the CA explicitly (never through set_var).
//! let http = geusemaker::http::Http::with_ca(Some(&fake.ca_pem)).unwrap();
//! // A spawned CLI: `.env("GEUSEMAKER_EXTRA_CA", &fake.ca_path)`.
//! // Either way, connect `https://n8n.example.test` to `fake.addr`.
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempPath;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, ServerConfig};

use geusemaker::domain::Service;
use geusemaker::health::probe::{OutsideTarget, ProbeOutcome, probe_outside_with};
use geusemaker::http::Http;

/// Serves HTTPS on 127.0.0.1 with a certificate for one host name, issued by
/// a CA made for it alone. `GET /healthz/readiness` answers 200
/// `{"status":"ok"}`; `POST /hook` keeps its body and answers 200 (or 500,
/// for as many as `fail_next` says); anything else 404. Stops when dropped.
pub struct HttpsFake {
    /// Where it listens; connect the host name to it.
    pub addr: SocketAddr,
    /// The test CA's certificate, PEM.
    pub ca_pem: Vec<u8>,
    /// A file holding `ca_pem`, for `GEUSEMAKER_EXTRA_CA`; removed on drop.
    pub ca_path: PathBuf,
    _ca_file: TempPath,
    requests: Arc<AtomicUsize>,
    hooks: Hooks,
    server: JoinHandle<()>,
}

/// The bodies POSTed to `/hook`, and how many more to refuse with a 500.
#[derive(Clone, Default)]
struct Hooks {
    bodies: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    fail_next: Arc<AtomicUsize>,
}

/// A TLS acceptor with a certificate for `hostname` (a `*.` wildcard
/// works), and the PEM of the fresh CA `ca_name` that issued it.
pub fn acceptor(hostnames: &[&str], ca_name: &str) -> (Vec<u8>, TlsAcceptor) {
    let (ca_pem, leaf, key) = certificates(hostnames, ca_name);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .expect("server certificate");
    (ca_pem, TlsAcceptor::from(Arc::new(config)))
}

impl HttpsFake {
    /// A fresh CA, a certificate for `hostname` signed by it, and the server.
    pub async fn start(hostname: &str) -> HttpsFake {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        // The port names the CA: two fakes' CAs are not taken for each other.
        let (ca_pem, acceptor) = acceptor(&[hostname], &format!("GeuseMaker test CA {addr}"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let hooks = Hooks::default();
        let kept = hooks.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, counter) = (acceptor.clone(), counter.clone());
                let kept = kept.clone();
                tokio::spawn(async move {
                    // A client that does not trust the CA, or speaks plain
                    // HTTP, ends here.
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let handler = hyper::service::service_fn(move |req: Request<_>| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let kept = kept.clone();
                        async move {
                            if req.uri().path() == "/hook" {
                                return Ok::<_, Infallible>(kept.take(req).await);
                            }
                            Ok::<_, Infallible>(answer(&req))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), handler)
                        .await;
                });
            }
        });

        let mut file = tempfile::NamedTempFile::new().expect("CA file");
        std::io::Write::write_all(&mut file, &ca_pem).expect("write CA file");
        let ca_file = file.into_temp_path();
        HttpsFake {
            addr,
            ca_path: ca_file.to_path_buf(),
            ca_pem,
            _ca_file: ca_file,
            requests,
            hooks,
            server,
        }
    }

    /// The JSON bodies POSTed to `/hook` so far, in order.
    pub fn hooks(&self) -> Vec<serde_json::Value> {
        let bodies = self.hooks.bodies.lock().expect("hooks");
        bodies
            .iter()
            .map(|b| serde_json::from_slice(b).expect("a JSON body"))
            .collect()
    }

    /// Answer the next `n` POSTs to `/hook` with a 500.
    pub fn fail_next(&self, n: usize) {
        self.hooks.fail_next.store(n, Ordering::SeqCst);
    }

    /// HTTP requests answered so far (a failed TLS handshake is none).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for HttpsFake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Hooks {
    async fn take(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        use http_body_util::BodyExt;
        let refuse = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let body = req.into_body().collect().await.map(|b| b.to_bytes());
        let mut response = Response::new(Full::new(Bytes::new()));
        match body {
            Ok(_) if refuse => *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
            Ok(bytes) => self.bodies.lock().expect("hooks").push(bytes.to_vec()),
            Err(_) => *response.status_mut() = StatusCode::BAD_REQUEST,
        }
        response
    }
}

fn answer(req: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let (status, body) = match req.uri().path() {
        "/healthz/readiness" => (StatusCode::OK, r#"{"status":"ok"}"#),
        _ => (StatusCode::NOT_FOUND, "not found"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

/// (CA PEM, leaf certificate, leaf key).
fn certificates(
    hostnames: &[&str],
    ca_name: &str,
) -> (
    Vec<u8>,
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);

    let names = hostnames.iter().map(|h| h.to_string()).collect::<Vec<_>>();
    let mut leaf = CertificateParams::new(names).expect("host name");
    leaf.distinguished_name
        .push(DnType::CommonName, hostnames[0]);
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    (ca_cert.pem().into_bytes(), leaf_cert.der().clone(), key)
}

const HOST: &str = "n8n.example.test";
const TIMEOUT: Duration = Duration::from_secs(10);

fn target(url: &str, fake: &HttpsFake) -> OutsideTarget {
    OutsideTarget {
        url: url.to_string(),
        connect_to: Some(fake.addr),
    }
}

fn failure(outcome: &ProbeOutcome) -> &str {
    match outcome {
        ProbeOutcome::Failed(why) => why,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn https_n8n_through_the_test_ca_is_ready() {
    let fake = HttpsFake::start(HOST).await;
    let http = Http::with_ca(Some(&fake.ca_pem)).expect("client");
    let s = probe_outside_with(&http, &target("https://n8n.example.test", &fake), TIMEOUT).await;
    assert_eq!(s.outcome, ProbeOutcome::Ready);
    assert_eq!(s.service, Service::N8n);
    assert_eq!(fake.requests(), 1);

    // A URL with a path prefix and a trailing slash: the fake answers 404
    // under /n8n, which is a failure (not a readiness answer).
    let s = probe_outside_with(
        &http,
        &target("https://n8n.example.test/n8n/", &fake),
        TIMEOUT,
    )
    .await;
    assert!(failure(&s.outcome).contains("/n8n/healthz/readiness answered 404"));
    assert_eq!(fake.requests(), 2);
    assert_eq!(std::fs::read(&fake.ca_path).unwrap(), fake.ca_pem);
}

#[tokio::test]
async fn https_n8n_without_the_test_ca_fails_naming_the_certificate() {
    let fake = HttpsFake::start(HOST).await;
    // The system's roots only.
    let http = Http::with_ca(None).expect("client");
    let s = probe_outside_with(&http, &target("https://n8n.example.test", &fake), TIMEOUT).await;
    let why = failure(&s.outcome);
    assert!(why.contains("certificate not trusted"), "{why}");
    assert!(
        why.contains("https://n8n.example.test/healthz/readiness"),
        "{why}"
    );
    // Another CA is no better.
    let other = HttpsFake::start(HOST).await;
    let http = Http::with_ca(Some(&other.ca_pem)).expect("client");
    let s = probe_outside_with(&http, &target("https://n8n.example.test", &fake), TIMEOUT).await;
    let why = failure(&s.outcome);
    assert!(why.contains("certificate not trusted"), "{why}");
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn https_n8n_under_another_name_fails_naming_the_host_name() {
    let fake = HttpsFake::start(HOST).await;
    let http = Http::with_ca(Some(&fake.ca_pem)).expect("client");
    let s = probe_outside_with(&http, &target("https://other.example.test", &fake), TIMEOUT).await;
    let why = failure(&s.outcome);
    assert!(
        why.contains("certificate not valid for this host name"),
        "{why}"
    );
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn https_port_asked_in_plain_http_fails() {
    let fake = HttpsFake::start(HOST).await;
    let http = Http::with_ca(Some(&fake.ca_pem)).expect("client");
    let s = probe_outside_with(&http, &target("http://n8n.example.test", &fake), TIMEOUT).await;
    let why = failure(&s.outcome);
    assert!(
        why.contains("http://n8n.example.test/healthz/readiness"),
        "{why}"
    );
    assert_eq!(fake.requests(), 0);
}
