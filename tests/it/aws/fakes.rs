//! The five services as loopback fakes: moto's instances have fake public IPs
//! that no test may contact, so probes are pointed here.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use geusemaker::domain::Service;

pub struct FakeServices {
    /// `n8n=127.0.0.1:PORT,...` for GEUSEMAKER_SERVICE_ENDPOINTS.
    pub spec: String,
    /// The CA of n8n's TLS certificate (for `*.cloudfront.net`, the gpu
    /// tier's URL, and n8n.example.com): n8n's port answers TLS and plain
    /// HTTP alike.
    pub ca_pem: Vec<u8>,
    /// `ca_pem` in a file, for `GEUSEMAKER_EXTRA_CA`.
    pub ca_path: std::path::PathBuf,
    _ca_file: tempfile::TempPath,
    /// n8n answers this many checks with 503 (its database is gone, say),
    /// then is healthy again, as a fresh instance would be.
    pub n8n_failures: Arc<AtomicUsize>,
}

impl FakeServices {
    pub async fn start() -> Self {
        let mut parts = Vec::new();
        let n8n_failures = Arc::new(AtomicUsize::new(0));
        let (ca_pem, acceptor) =
            crate::https_fake::acceptor(&["*.cloudfront.net", "n8n.example.com"], "fakes CA");
        for service in Service::ALL {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("addr").port();
            parts.push(format!("{service}=127.0.0.1:{port}"));
            tokio::spawn(serve(
                service,
                listener,
                n8n_failures.clone(),
                acceptor.clone(),
            ));
        }
        let mut file = tempfile::NamedTempFile::new().expect("CA file");
        std::io::Write::write_all(&mut file, &ca_pem).expect("write CA file");
        let ca_file = file.into_temp_path();
        Self {
            spec: parts.join(","),
            n8n_failures,
            ca_path: ca_file.to_path_buf(),
            ca_pem,
            _ca_file: ca_file,
        }
    }

    pub fn endpoints(&self) -> geusemaker::cloud::Endpoints {
        geusemaker::cloud::endpoints::parse_overrides(&self.spec).expect("valid spec")
    }
}

async fn serve(
    service: Service,
    listener: TcpListener,
    n8n_failures: Arc<AtomicUsize>,
    tls: tokio_rustls::TlsAcceptor,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let down = service == Service::N8n
            && n8n_failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        let tls = tls.clone();
        tokio::spawn(async move {
            // A TLS ClientHello starts with 0x16: the gpu tier's HTTPS URL.
            let mut first = [0u8; 1];
            let is_tls = matches!(stream.peek(&mut first).await, Ok(1) if first[0] == 0x16);
            if is_tls {
                if let Ok(tls) = tls.accept(stream).await {
                    answer(tls, service, down).await;
                }
                return;
            }
            answer(stream, service, down).await;
        });
    }
}

async fn answer<S>(mut stream: S, service: Service, down: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 4096];
    let _ = stream.read(&mut buf).await;
    let reply: &[u8] = if service == Service::Postgres {
        // AuthenticationCleartextPassword: a server accepting connections.
        &[b'R', 0, 0, 0, 8, 0, 0, 0, 3]
    } else if down {
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    };
    let _ = stream.write_all(reply).await;
    let _ = stream.shutdown().await;
}
