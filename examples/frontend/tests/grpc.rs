//! Starts the service on ephemeral ports, with a fake backend, and calls it like a
//! client would; and checks how a failing or missing backend shows in the access log.
//!
//! Your code: svcgen created this file once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use frontend::proto::backend::v1::names_server::{Names, NamesServer};
use frontend::proto::backend::v1::{GreetReply, GreetRequest};
use frontend::proto::frontend::v1::WelcomeRequest;
use frontend::proto::frontend::v1::frontend_client::FrontendClient;
use frontend::svcgen::config::{Config, LogFileConfig, LogFormat};
use frontend::svcgen::server::{self, Server};
use serde_json::Value;
use svcgen_runtime::Telemetry;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A backend that greets everyone the same way.
struct FakeBackend;

#[tonic::async_trait]
impl Names for FakeBackend {
    async fn greet(&self, request: Request<GreetRequest>) -> Result<Response<GreetReply>, Status> {
        Ok(Response::new(GreetReply {
            message: format!("Hi {}", request.into_inner().name),
            trace_id: String::new(),
        }))
    }
}

/// A backend that fails every call.
struct FailingBackend;

#[tonic::async_trait]
impl Names for FailingBackend {
    async fn greet(&self, _request: Request<GreetRequest>) -> Result<Response<GreetReply>, Status> {
        Err(Status::internal("the words are lost"))
    }
}

async fn serve_backend(backend: impl Names) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake backend");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(NamesServer::new(backend))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
}

async fn fake_backend() -> SocketAddr {
    serve_backend(FakeBackend).await
}

async fn start() -> (Server, Channel) {
    let mut config = Config::ephemeral();
    config.clients.backend.endpoint = format!("http://{}", fake_backend().await);
    let server = server::start(&config).await.expect("the service starts");
    let channel = Channel::from_shared(format!("http://{}", server.grpc_addr()))
        .expect("a valid URI")
        .connect()
        .await
        .expect("the client connects");
    (server, channel)
}

#[tokio::test]
async fn welcome_asks_the_backend() {
    let (server, channel) = start().await;
    let reply = FrontendClient::new(channel)
        .welcome(WelcomeRequest {
            name: "Ada".to_owned(),
        })
        .await
        .expect("Welcome");
    assert_eq!(reply.into_inner().message, "Welcome! Hi Ada");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn get_welcome_asks_the_backend() {
    let (server, _channel) = start().await;
    let response = reqwest::get(format!("http://{}/welcome/Ada", server.http_addr()))
        .await
        .expect("GET /welcome/Ada");
    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("a body");
    assert!(body.contains(r#""message":"Hi Ada""#), "{body}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn health_reports_every_service_serving() {
    let (server, channel) = start().await;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "frontend.v1.Frontend".to_owned(),
        })
        .await
        .expect("Check");
    assert_eq!(response.into_inner().status(), ServingStatus::Serving);
    server.shutdown().await.expect("clean shutdown");
}

fn scratch_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("frontend-grpc-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The access lines of every log file in `dir`.
fn access_lines(dir: &Path) -> Vec<Value> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the log directory") {
        let text = std::fs::read_to_string(entry.expect("an entry").path()).expect("a log file");
        for line in text.lines() {
            let line: Value = serde_json::from_str(line).expect("a JSON line");
            if line["target"] == "access" {
                lines.push(line);
            }
        }
    }
    lines
}

#[tokio::test]
async fn a_failing_or_missing_backend_is_logged_at_error_or_warn() {
    // A port that is taken but not listened on: connections to it are refused.
    let refusing = tokio::net::TcpSocket::new_v4().expect("a socket");
    refusing
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind");
    let missing = refusing.local_addr().expect("its address");
    let failing = serve_backend(FailingBackend).await;
    for (backend, code, level, status) in [
        (failing, Code::Internal, "ERROR", "INTERNAL"),
        (missing, Code::Unavailable, "WARN", "UNAVAILABLE"),
    ] {
        let dir = scratch_dir();
        let mut config = Config::ephemeral();
        config.clients.backend.endpoint = format!("http://{backend}");
        config.log.format = LogFormat::Json;
        config.log.level = "warn".to_owned();
        config.log.file = Some(LogFileConfig {
            dir: dir.clone(),
            keep_days: 14,
        });
        let telemetry = Telemetry::new(&config.log, &config.tracing).expect("telemetry");
        let guard = tracing::dispatcher::set_default(telemetry.dispatch());
        let server = server::start(&config).await.expect("the service starts");
        let channel = Channel::from_shared(format!("http://{}", server.grpc_addr()))
            .expect("a valid URI")
            .connect()
            .await
            .expect("the client connects");
        let error = FrontendClient::new(channel)
            .welcome(WelcomeRequest {
                name: "Ada".to_owned(),
            })
            .await
            .expect_err("Welcome fails with the backend");
        assert_eq!(error.code(), code, "{error}");
        let response = reqwest::get(format!("http://{}/welcome/Ada", server.http_addr()))
            .await
            .expect("GET /welcome/Ada");
        assert_eq!(response.status(), 502);
        response.bytes().await.expect("the body");
        server.shutdown().await.expect("clean shutdown");
        drop(guard);
        tokio::task::spawn_blocking(move || telemetry.shutdown())
            .await
            .expect("telemetry shutdown");

        // Only what an alert should see passes `warn`: these two lines.
        let lines = access_lines(&dir);
        assert_eq!(lines.len(), 2, "{status}: {lines:#?}");
        let grpc = lines
            .iter()
            .find(|line| line["method"] == "frontend.v1.Frontend/Welcome")
            .unwrap_or_else(|| panic!("Welcome's access line in {lines:#?}"));
        assert_eq!(grpc["level"], level, "{grpc}");
        assert_eq!(grpc["status"], status, "{grpc}");
        let http = lines
            .iter()
            .find(|line| line["route"] == "/welcome/{name}")
            .unwrap_or_else(|| panic!("GET /welcome's access line in {lines:#?}"));
        assert_eq!(http["level"], "ERROR", "{http}");
        assert_eq!(http["status"], 502, "{http}");
        for line in [grpc, http] {
            assert!(line["latency_us"].is_u64(), "{line}");
            assert!(line["trace_id"].is_string(), "{line}");
            let peer = line["peer"].as_str().unwrap_or_default();
            assert!(peer.starts_with("127.0.0.1:"), "{line}");
        }
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
