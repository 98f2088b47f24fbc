//! Starts the service on ephemeral ports and calls it like a client would.
//!
//! Your code: svcgen created this file once and never touches it again.

use {{ p.crate_ident }}::proto::greeter::v1::HelloRequest;
use {{ p.crate_ident }}::proto::greeter::v1::greeter_client::GreeterClient;
use {{ p.crate_ident }}::svcgen::config::Config;
use {{ p.crate_ident }}::svcgen::server::{self, Server};
use tokio_stream::StreamExt as _;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic::transport::Channel;

async fn start() -> (Server, GreeterClient<Channel>) {
    let server = server::start(&Config::ephemeral())
        .await
        .expect("the service starts");
    let client = GreeterClient::connect(format!("http://{}", server.grpc_addr()))
        .await
        .expect("the client connects");
    (server, client)
}

fn hello(name: &str) -> HelloRequest {
    HelloRequest {
        name: name.to_owned(),
    }
}

#[tokio::test]
async fn say_hello_greets_by_name() {
    let (server, mut client) = start().await;
    let reply = client.say_hello(hello("Ada")).await.expect("SayHello");
    assert_eq!(reply.into_inner().message, "Hello, Ada!");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn say_hello_stream_sends_several_greetings() {
    let (server, mut client) = start().await;
    let replies: Vec<_> = client
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
    let (server, mut client) = start().await;
    let requests = tokio_stream::iter([hello("Ada"), hello("Grace")]);
    let reply = client
        .collect_hellos(requests)
        .await
        .expect("CollectHellos");
    assert_eq!(reply.into_inner().message, "Hello, Ada, Grace!");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn chat_answers_each_message() {
    let (server, mut client) = start().await;
    let requests = tokio_stream::iter([hello("Ada"), hello("Grace")]);
    let replies: Vec<String> = client
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

#[tokio::test]
async fn healthz_answers_ok() {
    let (server, _client) = start().await;
    let response = reqwest::get(format!("http://{}/healthz", server.http_addr()))
        .await
        .expect("GET /healthz");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("a body"), r#"{"status":"ok"}"#);
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn health_reports_the_greeter_serving() {
    let (server, client) = start().await;
    drop(client);
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.grpc_addr()))
        .expect("a valid URI")
        .connect()
        .await
        .expect("the client connects");
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "greeter.v1.Greeter".to_owned(),
        })
        .await
        .expect("Check");
    assert_eq!(response.into_inner().status(), ServingStatus::Serving);
    server.shutdown().await.expect("clean shutdown");
}
{% include "service/tests/reflection.rs" %}

#[tokio::test]
async fn reflection_lists_every_service_in_v1_and_v1alpha() {
    let (server, _client) = start().await;
    let channel = Channel::from_shared(format!("http://{}", server.grpc_addr()))
        .expect("a valid URI")
        .connect()
        .await
        .expect("the client connects");
    assert_reflection_describes_every_service(channel).await;
    server.shutdown().await.expect("clean shutdown");
}
