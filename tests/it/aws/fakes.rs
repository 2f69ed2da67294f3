//! The five services as healthy loopback fakes: moto's instances have fake
//! public IPs that no test may contact, so probes are pointed here.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use geusemaker::domain::Service;

pub struct FakeServices {
    /// `n8n=127.0.0.1:PORT,...` for GEUSEMAKER_SERVICE_ENDPOINTS.
    pub spec: String,
}

impl FakeServices {
    pub async fn start() -> Self {
        let mut parts = Vec::new();
        for service in Service::ALL {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("addr").port();
            parts.push(format!("{service}=127.0.0.1:{port}"));
            tokio::spawn(serve(service, listener));
        }
        Self {
            spec: parts.join(","),
        }
    }

    pub fn endpoints(&self) -> geusemaker::cloud::Endpoints {
        geusemaker::cloud::endpoints::parse_overrides(&self.spec).expect("valid spec")
    }
}

async fn serve(service: Service, listener: TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let reply: &[u8] = if service == Service::Postgres {
                // AuthenticationCleartextPassword: a server accepting connections.
                &[b'R', 0, 0, 0, 8, 0, 0, 0, 3]
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            };
            let _ = stream.write_all(reply).await;
        });
    }
}
