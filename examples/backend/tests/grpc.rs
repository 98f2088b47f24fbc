//! Starts the service on ephemeral ports and calls it like a client would.
//!
//! Your code: svcgen created this file once.

use backend::svcgen::config::Config;
use backend::svcgen::server::{self, Server};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn start() -> (Server, Channel) {
    let server = server::start(&Config::ephemeral())
        .await
        .expect("the service starts");
    let channel = Channel::from_shared(format!("http://{}", server.grpc_addr()))
        .expect("a valid URI")
        .connect()
        .await
        .expect("the client connects");
    (server, channel)
}

#[tokio::test]
async fn greet_greets_by_name_in_a_trace() {
    let (server, channel) = start().await;
    let mut client = backend::proto::backend::v1::names_client::NamesClient::new(channel);
    let request = backend::proto::backend::v1::GreetRequest {
        name: "Ada".to_owned(),
    };
    let reply = client.greet(request).await.expect("Greet").into_inner();
    assert_eq!(reply.message, "Hello, Ada!");
    assert_eq!(reply.trace_id.len(), 32, "{reply:?}");
    let status = client
        .greet(backend::proto::backend::v1::GreetRequest::default())
        .await
        .expect_err("an empty name is refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn health_reports_every_service_serving() {
    let (server, channel) = start().await;
    let mut health = HealthClient::new(channel);
    for service in ["backend.v1.Names"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap_or_else(|status| panic!("health of {service}: {status}"));
        assert_eq!(
            response.into_inner().status(),
            ServingStatus::Serving,
            "{service}"
        );
    }
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (server, _channel) = start().await;
    let response = reqwest::get(format!("http://{}/healthz", server.http_addr()))
        .await
        .expect("GET /healthz");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("a body"), r#"{"status":"ok"}"#);
    server.shutdown().await.expect("clean shutdown");
}
