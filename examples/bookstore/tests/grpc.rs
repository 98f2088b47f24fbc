//! Starts the service on ephemeral ports and calls it like a client would: its RPCs,
//! health, reflection and `/healthz`.
//!
//! Your code: svcgen created this file once and never touches it again. The handlers
//! start as stubs answering `UNIMPLEMENTED`: when you write one, add its RPC to
//! `IMPLEMENTED` and test what it does in a test of its own.

mod support;

use std::collections::BTreeSet;

use svcgen_runtime::Service as _;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use bookstore::app::AppState;

/// The RPCs (`package.Service/Method`) whose handlers are written.
const IMPLEMENTED: &[&str] = &[
    "bookstore.v1.Bookstore/ListBooks",
    "bookstore.v1.Bookstore/GetBook",
    "bookstore.v1.Bookstore/CreateBook",
    "bookstore.v1.Bookstore/UpdateBook",
    "bookstore.v1.Bookstore/DeleteBook",
    "bookstore.v1.Bookstore/LendBook",
];

#[tokio::test]
async fn every_rpc_not_written_yet_answers_unimplemented() {
    let (server, channel) = support::start().await;
    for method in AppState::METHODS {
        if IMPLEMENTED.contains(&method.route) {
            continue;
        }
        let status = support::call_with_defaults(channel.clone(), method.route).await;
        let route = method.route;
        assert_eq!(status.code(), Code::Unimplemented, "{route}: {status}");
    }
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn health_reports_every_service_serving() {
    let (server, channel) = support::start().await;
    let mut health = HealthClient::new(channel);
    for service in AppState::SERVICES {
        let response = health
            .check(HealthCheckRequest {
                service: (*service).to_owned(),
            })
            .await
            .unwrap_or_else(|status| panic!("health of {service}: {status}"));
        let status = response.into_inner().status();
        assert_eq!(status, ServingStatus::Serving, "{service}");
    }
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (server, _channel) = support::start().await;
    let response = reqwest::get(format!("http://{}/healthz", server.http_addr()))
        .await
        .expect("GET /healthz");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("a body"), r#"{"status":"ok"}"#);
    server.shutdown().await.expect("clean shutdown");
}
/// The services reflection `$version` (`v1` or `v1alpha`) on `$channel` lists.
macro_rules! listed_services {
    ($version:ident, $channel:expr) => {{
        use tonic_reflection::pb::$version::ServerReflectionRequest;
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;

        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let response = ServerReflectionClient::new($channel)
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("ServerReflectionInfo")
            .into_inner()
            .message()
            .await
            .expect("an answer")
            .expect("one answer");
        match response.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => list
                .service
                .into_iter()
                .map(|service| service.name)
                .collect::<BTreeSet<_>>(),
            other => panic!("not a list of services: {other:?}"),
        }
    }};
}

#[tokio::test]
async fn reflection_lists_every_service_in_v1_and_v1alpha() {
    let (server, channel) = support::start().await;
    let mut expected = BTreeSet::new();
    for name in AppState::SERVICES.iter().chain(&[
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ]) {
        expected.insert((*name).to_owned());
    }
    assert_eq!(listed_services!(v1, channel.clone()), expected, "v1");
    assert_eq!(listed_services!(v1alpha, channel), expected, "v1alpha");
    server.shutdown().await.expect("clean shutdown");
}
