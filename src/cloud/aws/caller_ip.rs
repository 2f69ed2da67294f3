//! The caller's public IPv4 address, for the /32 the service ports open to.
//! `--allow-cidr` skips this (and the tests always pass it: they never leave
//! loopback).

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::cloud::{CloudError, CloudResult};
use crate::http;

/// Over HTTPS: an answer that cannot be tampered with on the way opens the
/// security group to the right address.
const SERVICE: &str = "https://checkip.amazonaws.com/";
const TIMEOUT: Duration = Duration::from_secs(10);

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
    let client = http::client().map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(TIMEOUT, fetch(&client))
        .await
        .map_err(|_| "checkip.amazonaws.com did not answer".to_string())??;
    parse(&answer).ok_or_else(|| format!("unexpected answer {answer:?}"))
}

async fn fetch(client: &reqwest::Client) -> Result<String, String> {
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            "checkip.amazonaws.com did not answer".to_string()
        } else {
            format!("GET {SERVICE}: {}", http::explain(&e.without_url()))
        }
    };
    let response = client
        .get(SERVICE)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {SERVICE} answered {status}"));
    }
    let body = response.bytes().await.map_err(failed)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
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
