//! The caller's public IPv4 address, for the /32 the service ports open to.
//! `--allow-cidr` skips this (and the tests always pass it: they never leave
//! loopback).

use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::cloud::{CloudError, CloudResult};

const SERVICE: (&str, u16) = ("checkip.amazonaws.com", 80);

/// The address, for the command line (whose way around it is a flag).
pub async fn discover() -> CloudResult<Ipv4Addr> {
    find().await.map_err(|why| {
        CloudError::Refused(format!(
            "could not find your public IP ({why}); pass --allow-cidr YOUR.IP.ADDRESS/32"
        ))
    })
}

/// The address, or why it could not be found.
pub async fn find() -> Result<Ipv4Addr, String> {
    let answer = tokio::time::timeout(Duration::from_secs(10), fetch())
        .await
        .map_err(|_| "checkip.amazonaws.com did not answer".to_string())??;
    parse(&answer).ok_or_else(|| format!("unexpected answer {answer:?}"))
}

async fn fetch() -> Result<String, String> {
    let stream = TcpStream::connect(SERVICE)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get("/")
        .header(hyper::header::HOST, SERVICE.0)
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    driver.abort();
    Ok(String::from_utf8_lossy(&body.to_bytes()).into_owned())
}

fn parse(answer: &str) -> Option<Ipv4Addr> {
    answer
        .trim()
        .parse()
        .ok()
        .filter(|ip: &Ipv4Addr| !ip.is_private() && !ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn only_a_public_address_is_accepted() {
        assert_eq!(
            parse("198.51.100.7\n").map(|i| i.to_string()).as_deref(),
            Some("198.51.100.7")
        );
        assert!(parse("10.0.0.1").is_none());
        assert!(parse("<html>").is_none());
    }
}
