//! The log file sink: one JSON-lines file a day, the oldest deleted beyond `keep_days`;
//! access lines as the level directive says.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use backend::svcgen::access_log::{Entry, Outcome, Protocol, Route};
use backend::svcgen::config::{Config, LogFileConfig, LogFormat};
use backend::svcgen::observe::ObserveLayer;
use backend::svcgen::otel::RequestTracing;
use backend::svcgen::telemetry::Telemetry;
use http::StatusCode;
use http::uri::PathAndQuery;
use tokio_util::sync::CancellationToken;
use tonic::Code;

fn scratch_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("backend-logs-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn log_files(dir: &PathBuf, service: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("the log directory")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.starts_with(service) && name.ends_with(".log"))
        .collect()
}

#[test]
fn files_older_than_keep_days_are_deleted() {
    let dir = scratch_dir();
    let mut config = Config::ephemeral();
    let service = config.tracing.service_name.clone();
    // Twenty days of rotated files, oldest first.
    for day in 1..=20 {
        let name = format!("{service}.2020-01-{day:02}.log");
        std::fs::write(dir.join(name), "{}\n").expect("an old log file");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    config.log.file = Some(LogFileConfig {
        dir: dir.clone(),
        keep_days: 14,
    });
    let telemetry = Telemetry::new(&config).expect("telemetry");
    tracing::dispatcher::with_default(telemetry.dispatch(), || {
        tracing::warn!("a line for today's file");
    });
    telemetry.shutdown();

    let files = log_files(&dir, &service);
    assert_eq!(files.len(), 14, "{files:#?}");
    for day in 1..=7 {
        assert!(
            !files.contains(&format!("{service}.2020-01-{day:02}.log")),
            "{files:#?}"
        );
    }
    assert!(
        files.contains(&format!("{service}.2020-01-20.log")),
        "{files:#?}"
    );
    let today = files
        .iter()
        .find(|name| !name.contains("2020-01"))
        .expect("today's file");
    let text = std::fs::read_to_string(dir.join(today)).expect("today's file");
    let line = text.lines().last().expect("a line");
    assert!(
        line.starts_with('{') && line.contains(r#""message":"a line for today's file""#),
        "{line}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// The trace context of the request whose access line [`access_lines`] logs.
fn request_context() -> opentelemetry::Context {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("a trace id"),
        SpanId::from_hex("00f067aa0ba902b7").expect("a span id"),
        TraceFlags::default(),
        false,
        TraceState::default(),
    ))
}

/// The access lines in the log file after one gRPC call ended, with `format` on the
/// console and `level` as the directive.
// `figment::Jail` closures return figment's large error type.
#[allow(clippy::result_large_err)]
fn access_lines(format: LogFormat, level: &str) -> Vec<serde_json::Value> {
    let dir = scratch_dir();
    let mut config = Config::ephemeral();
    config.log.format = format;
    config.log.level = level.to_owned();
    config.log.file = Some(LogFileConfig {
        dir: dir.clone(),
        keep_days: 14,
    });
    // Without the shell's variables: a `RUST_LOG` would replace the directive tested.
    let mut telemetry = None;
    figment::Jail::expect_with(|jail| {
        jail.clear_env();
        telemetry = Some(Telemetry::new(&config).expect("telemetry"));
        Ok(())
    });
    let telemetry = telemetry.expect("telemetry");
    tracing::dispatcher::with_default(telemetry.dispatch(), || {
        let entry = Entry {
            method: http::Method::POST,
            route: Route::Grpc("greeter.v1.Greeter/SayHello"),
            peer: Some("127.0.0.1:40000".parse().expect("an address")),
            started: Instant::now(),
        };
        entry.log(
            Outcome::Grpc(tonic::Code::NotFound),
            false,
            &request_context(),
        );
    });
    telemetry.shutdown();
    let mut lines = Vec::new();
    for name in log_files(&dir, &config.tracing.service_name) {
        let text = std::fs::read_to_string(dir.join(name)).expect("a log file");
        for line in text.lines() {
            let line: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            if line["target"] == "access" {
                lines.push(line);
            }
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
    lines
}

#[test]
fn access_lines_follow_the_level_directive() {
    for format in [LogFormat::Json, LogFormat::Pretty] {
        let lines = access_lines(format, "info");
        assert_eq!(lines.len(), 1, "{format:?}: {lines:#?}");
        let line = &lines[0];
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["message"], "grpc call", "{line}");
        assert_eq!(line["method"], "greeter.v1.Greeter/SayHello", "{line}");
        assert_eq!(line["status"], "NOT_FOUND", "{line}");
        assert_eq!(line["peer"], "127.0.0.1:40000", "{line}");
        assert_eq!(line["aborted"], false, "{line}");
        assert!(line["latency_us"].is_u64(), "{line}");
        // The ids of the request's context, whichever way the line was written.
        assert_eq!(
            line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
            "{line}"
        );
        assert_eq!(line["span_id"], "00f067aa0ba902b7", "{line}");

        for level in ["info,access=off", "warn", "access=warn,info"] {
            let lines = access_lines(format, level);
            assert!(lines.is_empty(), "{format:?} {level}: {lines:#?}");
        }
    }
}

/// A gRPC service whose calls fail as they are named: `/test.v1.Outcomes/Internal`
/// answers `INTERNAL`, and so on — what a handler returning `Err(Status)` sends.
#[derive(Debug, Clone)]
struct Outcomes;

impl tonic::server::NamedService for Outcomes {
    const NAME: &'static str = "test.v1.Outcomes";
}

impl tower::Service<http::Request<tonic::body::Body>> for Outcomes {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let code = match request.uri().path().rsplit('/').next() {
            Some("Internal") => Code::Internal,
            Some("Unknown") => Code::Unknown,
            Some("Unavailable") => Code::Unavailable,
            _ => Code::NotFound,
        };
        std::future::ready(Ok(tonic::Status::new(code, "on purpose").into_http()))
    }
}

/// Serves [`Outcomes`] over gRPC, and `GET /fail` (500) and `GET /ok` (200) over HTTP,
/// each behind the service's request layer, until `stop`; returns both addresses.
async fn serve_outcomes(config: &Config, stop: &CancellationToken) -> (SocketAddr, SocketAddr) {
    let tracing = RequestTracing::new(&config.tracing);
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gRPC");
    let grpc_addr = grpc.local_addr().expect("the gRPC address");
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(ObserveLayer::new(Protocol::Grpc, tracing.clone()))
            .add_service(Outcomes)
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(grpc),
                stop.clone().cancelled_owned(),
            ),
    );
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind HTTP");
    let http_addr = http.local_addr().expect("the HTTP address");
    let app = axum::Router::new()
        .route(
            "/fail",
            axum::routing::get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/ok", axum::routing::get(|| async { "ok" }))
        .route(
            "/unavailable",
            axum::routing::get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        )
        .route("/head", axum::routing::get(|| async { "ok" }))
        .route(
            "/stream",
            axum::routing::get(|| async {
                use tokio_stream::StreamExt as _;
                // The stream's code runs as the body is sent, after the handler returned.
                let chunks = tokio_stream::iter(["a", "b"]).map(|chunk| {
                    tracing::info!(target: "app", chunk, "inside the stream");
                    Ok::<_, Infallible>(chunk)
                });
                axum::body::Body::from_stream(chunks)
            }),
        )
        .layer(ObserveLayer::new(Protocol::Http, tracing));
    tokio::spawn(
        axum::serve(
            http,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.clone().cancelled_owned())
        .into_future(),
    );
    (grpc_addr, http_addr)
}

/// Calls `test.v1.Outcomes/<method>`; returns the status the client saw.
async fn call_outcome(channel: tonic::transport::Channel, method: &'static str) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("the channel is ready");
    let path = PathAndQuery::try_from(format!("/test.v1.Outcomes/{method}")).expect("a path");
    grpc.unary(
        tonic::Request::new(()),
        path,
        tonic_prost::ProstCodec::<(), ()>::default(),
    )
    .await
    .map_or_else(|status| status.code(), |_| Code::Ok)
}

/// The lines in the log file after failing gRPC calls and HTTP requests were served
/// with `format` on the console.
async fn lines_of_failures(format: LogFormat) -> Vec<serde_json::Value> {
    let dir = scratch_dir();
    let mut config = Config::ephemeral();
    config.log.format = format;
    config.log.level = "info".to_owned();
    config.log.file = Some(LogFileConfig {
        dir: dir.clone(),
        keep_days: 14,
    });
    let telemetry = Telemetry::new(&config).expect("telemetry");
    let guard = tracing::dispatcher::set_default(telemetry.dispatch());
    let stop = CancellationToken::new();
    let (grpc_addr, http_addr) = serve_outcomes(&config, &stop).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc_addr}"))
        .expect("a valid URI")
        .connect()
        .await
        .expect("the client connects");
    for (method, code) in [
        ("Internal", Code::Internal),
        ("Unknown", Code::Unknown),
        ("Unavailable", Code::Unavailable),
        ("NotFound", Code::NotFound),
    ] {
        assert_eq!(
            call_outcome(channel.clone(), method).await,
            code,
            "{method}"
        );
    }
    for (path, status) in [
        ("/fail", 500),
        ("/unavailable", 503),
        ("/ok", 200),
        ("/stream", 200),
    ] {
        let response = reqwest::get(format!("http://{http_addr}{path}"))
            .await
            .expect("a response");
        assert_eq!(response.status(), status, "{path}");
        response.bytes().await.expect("the body");
    }
    let response = reqwest::Client::new()
        .head(format!("http://{http_addr}/head"))
        .send()
        .await
        .expect("a response to HEAD");
    assert_eq!(response.status(), 200);
    stop.cancel();
    drop(guard);
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("telemetry shutdown");
    let mut lines = Vec::new();
    for name in log_files(&dir, &config.tracing.service_name) {
        let text = std::fs::read_to_string(dir.join(name)).expect("a log file");
        for line in text.lines() {
            lines.push(serde_json::from_str(line).expect("a JSON line"));
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
    lines
}

#[tokio::test]
async fn failures_are_logged_at_error_or_warn() {
    for format in [LogFormat::Json, LogFormat::Pretty] {
        let all = lines_of_failures(format).await;
        let lines: Vec<serde_json::Value> = all
            .iter()
            .filter(|line| line["target"] == "access")
            .cloned()
            .collect();
        let line = |key: &str, value: &str| {
            let found: Vec<_> = lines.iter().filter(|line| line[key] == value).collect();
            assert_eq!(
                found.len(),
                1,
                "{format:?}: one line with {key} {value} in {lines:#?}"
            );
            found[0].clone()
        };
        for (method, level, status) in [
            ("Internal", "ERROR", "INTERNAL"),
            ("Unknown", "ERROR", "UNKNOWN"),
            ("Unavailable", "WARN", "UNAVAILABLE"),
            ("NotFound", "INFO", "NOT_FOUND"),
        ] {
            let line = line("method", &format!("test.v1.Outcomes/{method}"));
            assert_eq!(line["level"], level, "{format:?}: {line}");
            assert_eq!(line["message"], "grpc call", "{line}");
            assert_eq!(line["status"], status, "{line}");
            assert_eq!(line["aborted"], false, "{line}");
            assert!(line["latency_us"].is_u64(), "{line}");
            assert!(line["timestamp"].is_string(), "{line}");
            assert!(line["trace_id"].is_string(), "{line}");
            let peer = line["peer"].as_str().unwrap_or_default();
            assert!(peer.starts_with("127.0.0.1:"), "{line}");
        }
        for (route, level, status) in [
            ("/fail", "ERROR", 500),
            ("/unavailable", "WARN", 503),
            ("/ok", "INFO", 200),
        ] {
            let line = line("route", route);
            assert_eq!(line["level"], level, "{format:?}: {line}");
            assert_eq!(line["message"], "http request", "{line}");
            assert_eq!(line["method"], "GET", "{line}");
            assert_eq!(line["aborted"], false, "{line}");
            assert_eq!(line["status"], status, "{line}");
            assert!(line["latency_us"].is_u64(), "{line}");
            let peer = line["peer"].as_str().unwrap_or_default();
            assert!(peer.starts_with("127.0.0.1:"), "{line}");
        }
        // An answer to HEAD has no body to send: it ends normally, it is not aborted.
        let head = line("route", "/head");
        assert_eq!(head["method"], "HEAD", "{head}");
        assert_eq!(head["aborted"], false, "{head}");
        // Code of a stream the handler returned logs inside the request's trace.
        let streamed = line("route", "/stream");
        let inside: Vec<_> = all
            .iter()
            .filter(|line| line["message"] == "inside the stream")
            .collect();
        assert_eq!(inside.len(), 2, "{format:?}: {all:#?}");
        for line in inside {
            assert_eq!(line["trace_id"], streamed["trace_id"], "{line}");
            assert_eq!(line["span_id"], streamed["span_id"], "{line}");
        }
    }
}
