//! Certificates made at test time (rcgen): a CA, and a server certificate it signed
//! for `localhost` and `127.0.0.1`, written as PEM files in a scratch directory, with
//! the clients (tonic's, reqwest's) that trust that CA and nothing else.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use svcgen_runtime::config::TlsConfig;

/// A CA and the server certificate it signed, as files.
pub struct Pki {
    dir: tempfile::TempDir,
    /// The CA's certificate, PEM.
    pub ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

impl Pki {
    /// A new CA, and a certificate for `localhost` and `127.0.0.1` signed by it.
    pub fn new() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "svcgen test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("a CA key"))
            .expect("the CA certificate");
        let key = KeyPair::generate().expect("a server key");
        let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server params");
        let cert = params.signed_by(&key, &ca).expect("the server certificate");
        let pki = Self {
            dir: tempfile::tempdir().expect("a scratch directory"),
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        std::fs::write(pki.ca_file(), &pki.ca_pem).expect("ca.pem");
        std::fs::write(pki.path("server.pem"), &pki.cert_pem).expect("server.pem");
        std::fs::write(pki.path("server.key"), &pki.key_pem).expect("server.key");
        pki
    }

    /// A file of the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA's certificate file.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// `[server.tls]` with the server certificate.
    pub fn tls(&self) -> TlsConfig {
        TlsConfig {
            cert_file: self.path("server.pem"),
            key_file: self.path("server.key"),
        }
    }

    /// A rustls server configuration with the server certificate (for fake servers).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let certs = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("PEM certificates");
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("a PEM key");
        let config = rustls::ServerConfig::builder_with_provider(svcgen_runtime::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("a server configuration");
        Arc::new(config)
    }

    /// A reqwest client trusting the CA only.
    pub fn https_client(&self) -> reqwest::Client {
        let tls = svcgen_runtime::tls::client_config(Some(&self.ca_file())).expect("client TLS");
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .expect("an HTTPS client")
    }

    /// tonic's client TLS, trusting the CA only.
    pub fn grpc_tls(&self) -> tonic::transport::ClientTlsConfig {
        tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(&self.ca_pem))
            .domain_name("localhost")
    }
}
