//! The product's one HTTP client, for every HTTP call it makes: the health
//! probes, the caller's IP, and later Ollama's API.
//!
//! reqwest on rustls with aws-lc-rs, the TLS stack the AWS SDK already
//! brings (one rustls in the build, and no ring). Certificates are always
//! checked: against the system's roots, plus the CAs of the PEM file that
//! `GEUSEMAKER_EXTRA_CA` names (a private CA; a test's). A path that cannot
//! be read or a file with no certificate in it is an error, never a quiet
//! fallback to the system's roots alone.
//!
//! Redirects are not followed (a probe reports them) and no proxy is used:
//! the probes and the caller's IP are about the path from this machine
//! itself.

use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::{Certificate, Client, ClientBuilder, redirect};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Names a PEM file whose CAs are trusted on top of the system's roots.
pub const EXTRA_CA_ENV: &str = "GEUSEMAKER_EXTRA_CA";

pub const USER_AGENT: &str = concat!("geusemaker/", env!("CARGO_PKG_VERSION"));

/// Default limits; a call may set its own overall timeout
/// (`RequestBuilder::timeout`, as the probes do).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why no client could be built: a sentence for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HttpSetupError(String);

/// A built client and the extra CAs it trusts (kept to build variants of it,
/// such as one that connects a host name to a given address).
#[derive(Clone, Debug)]
pub struct Http {
    client: Client,
    extra_ca: Vec<Certificate>,
}

impl Http {
    /// The product's, built once: the system's roots plus the CAs of
    /// `GEUSEMAKER_EXTRA_CA`, read the first time it is asked for.
    pub fn shared() -> Result<&'static Http, HttpSetupError> {
        static SHARED: OnceLock<Result<Http, HttpSetupError>> = OnceLock::new();
        SHARED
            .get_or_init(Http::from_env)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// One that trusts the system's roots plus the CAs of `ca_pem` (a PEM
    /// bundle), whatever the environment says.
    pub fn with_ca(ca_pem: Option<&[u8]>) -> Result<Http, HttpSetupError> {
        let extra_ca = match ca_pem {
            Some(pem) => {
                parse_bundle(pem).map_err(|why| HttpSetupError(format!("CA bundle: {why}")))?
            }
            None => Vec::new(),
        };
        Http::from_certs(extra_ca)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A client with the same settings and trust that connects to `addr`
    /// whenever a URL names `host` (instead of resolving it). TLS still
    /// checks the certificate against `host`, and the Host header stays it.
    pub fn resolving(&self, host: &str, addr: SocketAddr) -> Result<Client, HttpSetupError> {
        build(builder(&self.extra_ca).resolve(host, addr))
    }

    fn from_env() -> Result<Http, HttpSetupError> {
        let Some(path) = std::env::var_os(EXTRA_CA_ENV) else {
            return Http::with_ca(None);
        };
        let path = Path::new(&path);
        let named =
            |why: String| HttpSetupError(format!("{EXTRA_CA_ENV}={}: {why}", path.display()));
        if path.as_os_str().is_empty() {
            return Err(named("set but empty; unset it or name a PEM file".into()));
        }
        let pem = std::fs::read(path).map_err(|e| named(e.to_string()))?;
        let certs = parse_bundle(&pem).map_err(named)?;
        Http::from_certs(certs)
    }

    fn from_certs(extra_ca: Vec<Certificate>) -> Result<Http, HttpSetupError> {
        let client = build(builder(&extra_ca))?;
        Ok(Http { client, extra_ca })
    }
}

/// The shared client (see [`Http::shared`]); a clone is cheap and shares
/// its connection pool.
pub fn client() -> Result<Client, HttpSetupError> {
    Http::shared().map(|http| http.client().clone())
}

/// A new client trusting the system's roots plus `ca_pem`'s CAs, reading no
/// environment (for tests, and for callers that hold a CA themselves).
pub fn client_with_ca(ca_pem: Option<&[u8]>) -> Result<Client, HttpSetupError> {
    Http::with_ca(ca_pem).map(|http| http.client)
}

fn builder(extra_ca: &[Certificate]) -> ClientBuilder {
    Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TIMEOUT)
        .redirect(redirect::Policy::none())
        .no_proxy()
        .tls_backend_rustls()
        .tls_certs_merge(extra_ca.iter().cloned())
}

fn build(builder: ClientBuilder) -> Result<Client, HttpSetupError> {
    builder
        .build()
        .map_err(|e| HttpSetupError(format!("cannot set up the HTTP client: {}", chain(&e))))
}

/// Every certificate of a PEM bundle, each checked to be usable as a trust
/// anchor. No certificate at all is an error.
fn parse_bundle(pem: &[u8]) -> Result<Vec<Certificate>, String> {
    let mut store = rustls::RootCertStore::empty();
    let mut certs = Vec::new();
    for der in CertificateDer::pem_slice_iter(pem) {
        let der = der.map_err(|e| format!("not a PEM file: {e}"))?;
        store
            .add(der.clone())
            .map_err(|e| format!("certificate {} is not a usable CA: {e}", certs.len() + 1))?;
        certs.push(Certificate::from_der(&der).map_err(|e| chain(&e))?);
    }
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// Nothing listened at the address (as opposed to a timeout, a TLS failure
/// or a bad answer).
pub fn is_refused(err: &reqwest::Error) -> bool {
    causes(err).any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::ConnectionRefused)
    })
}

/// Why a request failed, as a sentence: a TLS failure named for what it
/// means ("certificate not trusted"), followed by the error chain.
/// Use `err.without_url()` first where the caller names the URL itself.
pub fn explain(err: &reqwest::Error) -> String {
    let chain = chain(err);
    let meaning = causes(err).find_map(|e| {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            meaning(tls)
        } else if e
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse)
        {
            Some("the answer is not HTTP (is it an HTTPS port?)".into())
        } else {
            None
        }
    });
    match meaning {
        Some(meaning) => format!("{meaning} ({chain})"),
        None => chain,
    }
}

fn meaning(tls: &rustls::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let cert = match tls {
        rustls::Error::InvalidCertificate(cert) => cert,
        rustls::Error::InvalidMessage(_) => {
            return Some("the answer is not TLS (is it a plain-HTTP port?)".into());
        }
        _ => return None,
    };
    Some(match cert {
        C::UnknownIssuer => format!(
            "certificate not trusted: no CA this machine trusts issued it \
             (for a private CA, set {EXTRA_CA_ENV} to its PEM file)"
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "certificate not valid for this host name".into()
        }
        C::Expired | C::ExpiredContext { .. } => "certificate expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet".into(),
        C::Revoked => "certificate revoked".into(),
        C::BadSignature => {
            "certificate not trusted: not signed by the trusted CA of its issuer's name".into()
        }
        _ => "certificate rejected".into(),
    })
}

/// The error and its causes. An io::Error hides the error it wraps from
/// `source()` (tokio-rustls's rustls::Error, in an io::Error, in another), so
/// step into it instead.
fn causes<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| match e.downcast_ref::<io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

/// A request's failure as a sentence, with its causes.
pub fn describe(err: &reqwest::Error) -> String {
    chain(err)
}

/// The error and its causes, "outer: inner: …", without repeats.
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in causes(err) {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_a_certificate_is_an_error() {
        let err = Http::with_ca(Some(b"not a certificate\n")).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn a_garbled_certificate_is_an_error() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = Http::with_ca(Some(pem)).unwrap_err();
        assert!(err.to_string().contains("CA bundle"), "{err}");
    }

    #[test]
    fn the_user_agent_names_the_version() {
        assert_eq!(
            USER_AGENT,
            format!("geusemaker/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
