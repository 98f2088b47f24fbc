//! Starts the service on ephemeral ports and calls it like a client would: its RPCs,
//! health, reflection and `/healthz`.
//!
//! Your code: svcgen created this file once and never touches it again. The handlers
//! start as stubs answering `UNIMPLEMENTED`: when you write one, add its RPC to
//! `IMPLEMENTED` and test what it does in a test of its own.

mod support;

use std::collections::BTreeSet;

use svcgen_runtime::Service as _;
{%- if p.flavor == Flavor::Greeter %}
use tokio_stream::StreamExt as _;
{%- endif %}
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use {{ p.crate_ident }}::app::AppState;
{%- if p.flavor == Flavor::Greeter %}
use {{ p.crate_ident }}::proto::greeter::v1::HelloRequest;
use {{ p.crate_ident }}::proto::greeter::v1::greeter_client::GreeterClient;
{%- endif %}

/// The RPCs (`package.Service/Method`) whose handlers are written.
{%- if p.flavor == Flavor::Greeter %}
const IMPLEMENTED: &[&str] = &[
    "greeter.v1.Greeter/SayHello",
    "greeter.v1.Greeter/SayHelloStream",
    "greeter.v1.Greeter/CollectHellos",
    "greeter.v1.Greeter/Chat",
];
{%- else %}
const IMPLEMENTED: &[&str] = &[];
{%- endif %}

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
{%- if p.flavor == Flavor::Greeter %}

fn hello(name: &str) -> HelloRequest {
    HelloRequest {
        name: name.to_owned(),
    }
}

#[tokio::test]
async fn say_hello_greets_by_name() {
    let (server, channel) = support::start().await;
    let reply = GreeterClient::new(channel)
        .say_hello(hello("Ada"))
        .await
        .expect("SayHello");
    assert_eq!(reply.into_inner().message, "Hello, Ada!");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn say_hello_stream_sends_several_greetings() {
    let (server, channel) = support::start().await;
    let replies: Vec<_> = GreeterClient::new(channel)
        .say_hello_stream(hello("Ada"))
        .await
        .expect("SayHelloStream")
        .into_inner()
        .collect::<Result<_, _>>()
        .await
        .expect("every reply");
    assert!(replies.len() > 1, "got {replies:?}");
    assert!(replies.iter().all(|reply| reply.message.contains("Ada")));
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn collect_hellos_greets_everyone_at_once() {
    let (server, channel) = support::start().await;
    let requests = tokio_stream::iter([hello("Ada"), hello("Grace")]);
    let reply = GreeterClient::new(channel)
        .collect_hellos(requests)
        .await
        .expect("CollectHellos");
    assert_eq!(reply.into_inner().message, "Hello, Ada, Grace!");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn chat_answers_each_message() {
    let (server, channel) = support::start().await;
    let requests = tokio_stream::iter([hello("Ada"), hello("Grace")]);
    let replies: Vec<String> = GreeterClient::new(channel)
        .chat(requests)
        .await
        .expect("Chat")
        .into_inner()
        .map(|reply| reply.expect("a reply").message)
        .collect()
        .await;
    assert_eq!(replies, ["Hello, Ada!", "Hello, Grace!"]);
    server.shutdown().await.expect("clean shutdown");
}
{%- endif %}

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

{%- raw %}
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
{%- endraw %}

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
