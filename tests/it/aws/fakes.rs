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
    /// n8n answers this many checks with 503 (its database is gone, say),
    /// then is healthy again, as a fresh instance would be.
    pub n8n_failures: Arc<AtomicUsize>,
}

impl FakeServices {
    pub async fn start() -> Self {
        let mut parts = Vec::new();
        let n8n_failures = Arc::new(AtomicUsize::new(0));
        for service in Service::ALL {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("addr").port();
            parts.push(format!("{service}=127.0.0.1:{port}"));
            tokio::spawn(serve(service, listener, n8n_failures.clone()));
        }
        Self {
            spec: parts.join(","),
            n8n_failures,
        }
    }

    pub fn endpoints(&self) -> geusemaker::cloud::Endpoints {
        geusemaker::cloud::endpoints::parse_overrides(&self.spec).expect("valid spec")
    }
}

async fn serve(service: Service, listener: TcpListener, n8n_failures: Arc<AtomicUsize>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let down = service == Service::N8n
            && n8n_failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        tokio::spawn(async move {
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
        });
    }
}
