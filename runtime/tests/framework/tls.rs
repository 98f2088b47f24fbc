//! TLS (`[server.tls]`), with certificates made at test time: both servers serve TLS
//! only (a plain-text client is refused), graceful shutdown closes TLS connections as
//! it does plain ones, the runtime's clients call `https://` trusting a `ca_file` (and
//! refuse a certificate the web's roots do not know), the span exporters post to an
//! HTTPS collector, and unusable files are one-line errors at start-up.

use std::time::{Duration, Instant};

use svcgen_runtime::client::{ClientConfig, HttpClient};
use svcgen_runtime::config::{Propagation, TlsConfig, TraceExporter, TracingConfig};
use svcgen_runtime::{Config, Service as _};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::pb::echo_client::EchoClient;
use crate::support::pki::Pki;
use crate::support::service::UNARY;
use crate::support::{Collector, Echo, Pipeline, Running, echo, find, message, messages, traced};

/// How much longer than it should anything may take (a slow machine).
const MARGIN: Duration = Duration::from_secs(5);

/// The test service serving TLS with the certificate of `pki`.
fn tls_config(pki: &Pki) -> Config<Echo> {
    let mut config = Config::ephemeral();
    config.server.tls = Some(pki.tls());
    config
}

/// A channel to the gRPC server of `service` over TLS, trusting `pki`'s CA.
async fn tls_channel(pki: &Pki, service: &Running) -> Channel {
    let url = format!("https://localhost:{}", service.server.grpc_addr().port());
    Channel::from_shared(url)
        .expect("a valid URI")
        .tls_config(pki.grpc_tls())
        .expect("TLS settings")
        .connect()
        .await
        .expect("a TLS connection")
}

#[tokio::test]
async fn both_servers_serve_tls_and_refuse_plain_text() {
    let pki = Pki::new();
    let service = Running::start(&tls_config(&pki)).await;

    // gRPC over TLS: a unary call, a stream, health.
    let channel = tls_channel(&pki, &service).await;
    let mut client = EchoClient::new(channel.clone());
    let reply = client
        .unary(echo("sealed", &[]))
        .await
        .expect("Unary over TLS");
    assert_eq!(reply.into_inner().message, "sealed");
    let replies = client
        .server_stream(message("many", 2))
        .await
        .expect("ServerStream over TLS");
    assert_eq!(messages(replies.into_inner()).await, ["many 0", "many 1"]);
    let health = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .expect("health over TLS");
    assert_eq!(health.into_inner().status(), ServingStatus::Serving);

    // HTTPS: health, a route of the service's own, a REST route.
    let https = pki.https_client();
    let port = service.server.http_addr().port();
    for (path, body) in [
        ("/healthz", r#"{"status":"ok"}"#),
        ("/ok", "ok"),
        ("/v1/items/pen", r#"{"name":"pen"}"#),
    ] {
        let response = https
            .get(format!("https://127.0.0.1:{port}{path}"))
            .send()
            .await
            .unwrap_or_else(|error| panic!("HTTPS {path}: {error}"));
        assert_eq!(response.status(), 200, "{path}");
        let text = response.text().await.expect("a body");
        assert!(text.contains(body), "{path}: {text}");
    }

    // Plain text is refused on both ports.
    let plain = Channel::from_shared(format!("http://{}", service.server.grpc_addr()))
        .expect("a valid URI")
        .connect()
        .await;
    if let Ok(plain) = plain {
        let status = EchoClient::new(plain)
            .unary(echo("in clear", &[]))
            .await
            .expect_err("no call in plain text");
        assert_ne!(status.code(), tonic::Code::Ok);
    }
    svcgen_runtime::tls::install_default_provider();
    let error = reqwest::Client::new()
        .get(format!("http://{}/healthz", service.server.http_addr()))
        .send()
        .await
        .expect_err("no HTTP in plain text");
    assert!(!error.is_status(), "{error}");

    // A client that does not trust the CA is refused too.
    let untrusting = HttpClient::new(&TracingConfig::default()).expect("a client");
    untrusting
        .get(&format!("https://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .expect_err("a certificate the web's roots do not know");
    service.stop().await;
}

#[tokio::test]
async fn tls_connections_are_drained_and_closed_at_shutdown() {
    let pki = Pki::new();
    let mut config = tls_config(&pki);
    config.server.shutdown_grace_ms = 300;
    let service = Running::start(&config).await;
    let mut watch = HealthClient::new(tls_channel(&pki, &service).await)
        .watch(HealthCheckRequest::default())
        .await
        .expect("Watch over TLS")
        .into_inner();
    let first = watch.message().await.expect("a status").expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);
    // An HTTPS connection kept alive, idle.
    let https = pki.https_client();
    let url = format!(
        "https://127.0.0.1:{}/healthz",
        service.server.http_addr().port()
    );
    assert_eq!(https.get(&url).send().await.expect("HTTPS").status(), 200);

    let started = Instant::now();
    tokio::time::timeout(Duration::from_millis(300) + MARGIN, service.stop())
        .await
        .expect("the service stops soon after the grace period");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let next = watch.message().await.expect("NOT_SERVING first");
    assert_eq!(
        next.map(|status| status.status()),
        Some(ServingStatus::NotServing)
    );
    assert!(
        tokio::time::timeout(MARGIN, watch.message())
            .await
            .expect("the stream ends in time")
            .is_err(),
        "the TLS connection was closed at the end of the grace period"
    );
}

#[tokio::test]
async fn the_runtimes_clients_call_https_trusting_their_ca_file() {
    let pki = Pki::new();
    let downstream = Running::start(&tls_config(&pki)).await;
    let endpoint = format!("https://localhost:{}", downstream.server.grpc_addr().port());

    // A typed gRPC client, through `ClientConfig::channel` (`GET /call/grpc`).
    let mut config = Config::<Echo>::ephemeral();
    config.clients.downstream = ClientConfig {
        ca_file: Some(pki.ca_file()),
        ..ClientConfig::new(&endpoint)
    };
    let caller = Running::start(&config).await;
    let answer = caller.send("GET", "/call/grpc", &[], None).await;
    assert_eq!(answer.status, 200, "{answer:?}");

    // Without `ca_file`, the web's roots: the test CA is not one of them.
    let mut config = Config::<Echo>::ephemeral();
    config.clients.downstream = ClientConfig::new(&endpoint);
    let untrusting = Running::start(&config).await;
    let answer = untrusting.send("GET", "/call/grpc", &[], None).await;
    assert_eq!(answer.status, 502, "{answer:?}");

    // The HTTP client.
    let http = HttpClient::with_ca_file(&TracingConfig::default(), Some(&pki.ca_file()))
        .expect("a client");
    let url = format!(
        "https://localhost:{}/ok",
        downstream.server.http_addr().port()
    );
    let response = http.get(&url).send().await.expect("HTTPS");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("a body"), "ok");

    for service in [caller, untrusting, downstream] {
        service.stop().await;
    }
}

/// Serves one unary call with spans exported by `exporter` to an HTTPS collector that
/// the exporter trusts through `tracing.ca_file`; the collector.
async fn export_over_https(exporter: TraceExporter) -> Collector {
    let pki = Pki::new();
    let collector = Collector::start_tls(pki.server_config());
    let mut config = traced(&collector, &[Propagation::B3]);
    assert!(config.tracing.zipkin_endpoint.starts_with("https://"));
    config.tracing.exporter = exporter;
    config.tracing.ca_file = Some(pki.ca_file());
    let (pipeline, service) = Pipeline::serve(&config).await;
    service
        .client()
        .await
        .unary(echo("exported", &[]))
        .await
        .expect("Unary");
    // Stopping the pipeline exports the spans still queued.
    pipeline.stop([service]).await;
    collector
}

#[tokio::test]
async fn spans_are_exported_to_an_https_zipkin() {
    let collector = export_over_https(TraceExporter::Zipkin).await;
    let spans = collector.zipkin_spans();
    let server = find(&spans, UNARY, "SERVER");
    assert_eq!(
        server["localEndpoint"]["serviceName"],
        Echo::NAME,
        "{server}"
    );
}

#[tokio::test]
async fn spans_are_exported_to_an_https_otlp_collector() {
    let collector = export_over_https(TraceExporter::Otlp).await;
    let exports = collector.received("/v1/traces");
    assert!(!exports.is_empty(), "an OTLP export over HTTPS");
    assert!(
        exports
            .iter()
            .all(|export| export.accepted && !export.body.is_empty())
    );
}

#[tokio::test]
async fn unusable_tls_files_are_one_line_errors_at_start_up() {
    let pki = Pki::new();
    let garbage = pki.path("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("garbage.pem");
    let other_key = pki.path("other.key");
    let key = rcgen::KeyPair::generate().expect("a key");
    std::fs::write(&other_key, key.serialize_pem()).expect("other.key");
    let missing = pki.path("missing.pem");
    let good = pki.tls();
    for (tls, key, problem) in [
        (
            TlsConfig {
                cert_file: missing.clone(),
                ..good.clone()
            },
            "server.tls.cert_file",
            "cannot read it",
        ),
        (
            TlsConfig {
                cert_file: garbage.clone(),
                ..good.clone()
            },
            "server.tls.cert_file",
            "holds no PEM certificate",
        ),
        (
            TlsConfig {
                key_file: good.cert_file.clone(),
                ..good.clone()
            },
            "server.tls.key_file",
            "holds no PEM private key",
        ),
        (
            TlsConfig {
                key_file: other_key.clone(),
                ..good.clone()
            },
            "server.tls.key_file",
            "does not fit the certificate",
        ),
    ] {
        let mut config = Config::<Echo>::ephemeral();
        config.server.tls = Some(tls);
        let error = svcgen_runtime::start(&config)
            .await
            .err()
            .unwrap_or_else(|| panic!("{key}: {problem}: the service does not start"));
        let error = format!("{error:#}");
        assert!(!error.contains('\n'), "one line: {error}");
        assert!(
            error.contains(key) && error.contains(problem),
            "{key}, {problem}: {error}"
        );
    }

    // Loaded from a file: where the key is, too.
    let dir = tempfile::tempdir().expect("a scratch directory");
    std::fs::write(
        dir.path().join("default.toml"),
        format!(
            "[server.tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            garbage.display().to_string(),
            good.key_file.display().to_string()
        ),
    )
    .expect("default.toml");
    let error = Config::<Echo>::load_from(dir.path(), None)
        .expect_err("an unusable certificate")
        .to_string();
    assert!(!error.contains('\n'), "one line: {error}");
    assert!(
        error.contains("default.toml:2:") && error.contains("`server.tls.cert_file`"),
        "{error}"
    );
    assert!(error.contains("holds no PEM certificate"), "{error}");

    // A client's `ca_file`.
    let mut config = Config::<Echo>::ephemeral();
    config.clients.downstream = ClientConfig {
        ca_file: Some(missing),
        ..ClientConfig::new("https://localhost:1")
    };
    let error = format!(
        "{:#}",
        svcgen_runtime::start(&config)
            .await
            .expect_err("a missing ca_file")
    );
    assert!(!error.contains('\n'), "one line: {error}");
    assert!(
        error.contains("[clients.downstream] ca_file") && error.contains("cannot read it"),
        "{error}"
    );
}
