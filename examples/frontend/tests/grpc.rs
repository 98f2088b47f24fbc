//! Starts the service on ephemeral ports, with a fake backend, and calls it like a
//! client would.
//!
//! Your code: svcgen created this file once.

use std::net::SocketAddr;

use frontend::proto::backend::v1::names_server::{Names, NamesServer};
use frontend::proto::backend::v1::{GreetReply, GreetRequest};
use frontend::proto::frontend::v1::WelcomeRequest;
use frontend::proto::frontend::v1::frontend_client::FrontendClient;
use frontend::svcgen::config::Config;
use frontend::svcgen::server::{self, Server};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
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

async fn fake_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake backend");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(NamesServer::new(FakeBackend))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
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
