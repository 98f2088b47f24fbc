//! TLS, by rustls with its ring provider (no OpenSSL anywhere):
//!
//! - the servers' certificate and key, `[server.tls]`: both servers serve TLS only, gRPC
//!   through tonic's acceptor (ALPN `h2`), HTTP through a TLS listener of axum's (ALPN
//!   `http/1.1`), each over the connections that graceful shutdown tracks and closes;
//! - what the runtime's clients trust when they call `https://`: the typed gRPC clients
//!   (`[clients.<name>] ca_file`), [`HttpClient`](crate::client::HttpClient) and the
//!   span exporters (`[tracing] ca_file`): the certificates of that PEM file when given
//!   (a private CA), else the web's roots (Mozilla's, from `webpki-roots`).
//!
//! reqwest is built without a crypto provider of its own, and the runtime hands every
//! client it builds a complete configuration. [`start`](crate::start) also installs ring
//! as the process's default provider (unless one is installed), which a
//! `reqwest::Client` built elsewhere in the service needs; call
//! [`install_default_provider`] before building one outside a started service (a unit
//! test, say).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::serve::Listener;
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

/// `[server.tls]`: the certificate both servers present; without it they serve plain
/// text. Relative paths are from the working directory (the project's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM: the server's certificate first, then the
    /// intermediates.
    pub cert_file: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// The longest a client may take over its TLS handshake before its connection is
/// dropped (a handshake never holds up another one).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The crypto provider of every TLS connection the runtime makes or accepts: ring.
#[must_use]
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    // rustls 0.23.48 deprecates ring's provider for its lack of post-quantum key
    // exchange, which only aws-lc-rs has; aws-lc-rs needs cmake and a C toolchain to
    // build, which a fresh machine may not have. The call is the same before and after.
    #[allow(deprecated)]
    let ring = rustls::crypto::ring::default_provider;
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(ring())))
}

/// Installs ring as the process's default rustls provider, unless one is installed:
/// reqwest, built here without a provider of its own, panics building any client
/// (`reqwest::Client::new()`) without one. [`start`](crate::start) calls it.
pub fn install_default_provider() {
    if CryptoProvider::get_default().is_none() {
        // Lost a race with another thread installing one: that one is as good.
        let _ = CryptoProvider::clone(&provider()).install_default();
    }
}

/// A TLS file that cannot be used: which key of the configuration names it (such as
/// `cert_file`), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The key naming the file, in its section: `cert_file`, `key_file` or `ca_file`.
    pub key: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it, in one line.
    pub problem: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.key, self.path.display(), self.problem)
    }
}

impl std::error::Error for FileError {}

/// What both servers need to serve TLS, read and checked once at start-up.
#[derive(Clone)]
pub(crate) struct ServerTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    http: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads the certificate chain and the key of `config` and checks that they make a
    /// server configuration (the key is the certificate's).
    ///
    /// # Errors
    /// A file cannot be read, holds no PEM item of its kind, or the key does not fit.
    pub fn load(config: &TlsConfig) -> Result<Self, FileError> {
        let error = |key: &'static str, path: &Path, problem: String| FileError {
            key,
            path: path.to_owned(),
            problem,
        };
        let cert_pem =
            read(&config.cert_file).map_err(|p| error("cert_file", &config.cert_file, p))?;
        let key_pem = read(&config.key_file).map_err(|p| error("key_file", &config.key_file, p))?;
        let certs =
            certificates(&cert_pem).map_err(|p| error("cert_file", &config.cert_file, p))?;
        let key = private_key(&key_pem).map_err(|p| error("key_file", &config.key_file, p))?;
        let mut http = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| error("cert_file", &config.cert_file, e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                error(
                    "key_file",
                    &config.key_file,
                    format!("does not fit the certificate: {e}"),
                )
            })?;
        // axum serves HTTP/1.1 only.
        http.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            cert_pem,
            key_pem,
            http: Arc::new(http),
        })
    }

    /// The TLS configuration of the gRPC server (tonic's, which offers ALPN `h2`).
    #[must_use]
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(
                &self.cert_pem,
                &self.key_pem,
            ))
            .timeout(HANDSHAKE_TIMEOUT)
    }

    /// The acceptor of the HTTP server.
    #[must_use]
    pub fn http(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.http))
    }
}

/// The contents of `path`.
fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read it: {error}"))
}

/// The PEM certificates of `pem`, at least one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("not valid PEM: {error}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned());
    }
    Ok(certs)
}

/// The PEM private key of `pem`.
fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| match error {
        pem::Error::NoItemsFound => {
            "holds no PEM private key (-----BEGIN PRIVATE KEY-----, or RSA or EC)".to_owned()
        }
        error => format!("not a valid PEM private key: {error}"),
    })
}

/// The certificates a client trusts: those of the PEM file `ca_file` when given, else
/// the web's roots.
///
/// # Errors
/// `ca_file` cannot be read or holds no valid certificate.
pub fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, FileError> {
    let Some(path) = ca_file else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let error = |problem: String| FileError {
        key: "ca_file",
        path: path.to_owned(),
        problem,
    };
    let certs = certificates(&read(path).map_err(error)?).map_err(error)?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| error(format!("holds a certificate that is not a CA's: {e}")))?;
    }
    Ok(roots)
}

/// The TLS configuration of an HTTP client of the runtime (reqwest's), trusting
/// [`roots`]`(ca_file)`.
///
/// # Errors
/// As [`roots`].
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, FileError> {
    let roots = roots(ca_file)?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| FileError {
            key: "ca_file",
            path: ca_file.map(Path::to_owned).unwrap_or_default(),
            problem: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The TLS configuration of a gRPC client (tonic's), trusting [`roots`]`(ca_file)`.
///
/// # Errors
/// As [`roots`].
pub(crate) fn grpc_client_config(
    ca_file: Option<&Path>,
) -> Result<tonic::transport::ClientTlsConfig, FileError> {
    let config = tonic::transport::ClientTlsConfig::new();
    Ok(match ca_file {
        Some(path) => {
            // Checked here: tonic would only say so at the first call.
            roots(Some(path))?;
            let pem = read(path).map_err(|problem| FileError {
                key: "ca_file",
                path: path.to_owned(),
                problem,
            })?;
            config.ca_certificate(tonic::transport::Certificate::from_pem(pem))
        }
        None => config.trust_anchors(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    })
}

/// A listener whose connections are TLS ones, for axum: each handshake runs in a task
/// of its own, bounded by [`HANDSHAKE_TIMEOUT`], so that a slow or silent client never
/// holds up the others; connections whose handshake fails are dropped (and logged at
/// DEBUG). Dropping the listener (as axum does at shutdown) ends the handshakes under
/// way.
pub(crate) struct TlsListener<L: Listener> {
    inner: L,
    acceptor: tokio_rustls::TlsAcceptor,
    handshakes: JoinSet<Option<Handshaken<L>>>,
}

impl<L: Listener> TlsListener<L> {
    /// TLS by `acceptor` over the connections of `inner`.
    pub fn new(inner: L, acceptor: tokio_rustls::TlsAcceptor) -> Self {
        Self {
            inner,
            acceptor,
            handshakes: JoinSet::new(),
        }
    }
}

/// A connection whose handshake is done, and its peer's address.
type Handshaken<L> = (
    tokio_rustls::server::TlsStream<<L as Listener>::Io>,
    <L as Listener>::Addr,
);

impl<L> Listener for TlsListener<L>
where
    L: Listener,
    L::Addr: fmt::Debug + 'static,
{
    type Io = tokio_rustls::server::TlsStream<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Both are cancel-safe: nothing is lost when the other one wins.
            tokio::select! {
                (io, addr) = self.inner.accept() => {
                    let acceptor = self.acceptor.clone();
                    self.handshakes.spawn(handshake(acceptor, io, addr));
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The TLS handshake of the connection `io` from `addr`, within [`HANDSHAKE_TIMEOUT`].
async fn handshake<IO, A>(
    acceptor: tokio_rustls::TlsAcceptor,
    io: IO,
    addr: A,
) -> Option<(tokio_rustls::server::TlsStream<IO>, A)>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    A: fmt::Debug,
{
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
        Ok(Ok(tls)) => Some((tls, addr)),
        Ok(Err(error)) => {
            tracing::debug!(%error, peer = ?addr, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(peer = ?addr, "TLS handshake timed out");
            None
        }
    }
}
