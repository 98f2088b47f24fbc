//! Starts the service on ephemeral ports and calls it like a client would.
//!
//! Your code: svcgen created this file once. The handlers start as stubs answering
//! `UNIMPLEMENTED`; as you implement them, replace those checks with real ones.

use {{ p.crate_ident }}::svcgen::config::Config;
use {{ p.crate_ident }}::svcgen::server::{self, Server};
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
{% for service in p.services %}{% for method in service.methods %}
#[tokio::test]
async fn {{ method.test_name }}_answers_unimplemented() {
    let (server, channel) = start().await;
    let mut client = {{ p.crate_ident }}::{{ service.package_path }}::{{ service.client_module }}::{{ service.trait_name }}Client::new(channel);
{%- if method.client_streaming %}
    let request = tokio_stream::iter([<{{ method.request.extern_path }}>::default()]);
{%- else %}
    let request = <{{ method.request.extern_path }}>::default();
{%- endif %}
    let status = client
        .{{ method.ident }}(request)
        .await
        .expect_err("the handler is a stub");
    assert_eq!(status.code(), Code::Unimplemented, "{status}");
    server.shutdown().await.expect("clean shutdown");
}
{% endfor %}{% endfor %}
#[tokio::test]
async fn health_reports_every_service_serving() {
    let (server, channel) = start().await;
    let mut health = HealthClient::new(channel);
    for service in [
{%- for service in p.services %}
        "{{ service.full_name }}",
{%- endfor %}
    ] {
        let response = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap_or_else(|status| panic!("health of {service}: {status}"));
        assert_eq!(response.into_inner().status(), ServingStatus::Serving, "{service}");
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
{% raw %}
/// The services reflection `version` lists, asking on `channel`.
macro_rules! listed_services {
    ($version:ident, $channel:expr) => {{
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::$version::ServerReflectionRequest;

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
            .expect("a response")
            .expect("one response");
        match response.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => list
                .service
                .into_iter()
                .map(|service| service.name)
                .collect::<std::collections::BTreeSet<_>>(),
            other => panic!("not a list of services: {other:?}"),
        }
    }};
}
{%- endraw %}

#[tokio::test]
async fn reflection_lists_every_service_in_v1_and_v1alpha() {
    let (server, channel) = start().await;
    let mut expected: std::collections::BTreeSet<String> =
        {{ p.crate_ident }}::svcgen::grpc::SERVICES.iter().map(|&name| name.to_owned()).collect();
    for name in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        expected.insert(name.to_owned());
    }
    assert_eq!(listed_services!(v1, channel.clone()), expected);
    assert_eq!(listed_services!(v1alpha, channel.clone()), expected);

    // What `grpcurl … grpc.health.v1.Health/Check` asks first.
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "grpc.health.v1.Health".to_owned(),
        )),
    };
    let response = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("ServerReflectionInfo")
        .into_inner()
        .message()
        .await
        .expect("a response")
        .expect("one response");
    let Some(MessageResponse::FileDescriptorResponse(files)) = response.message_response else {
        panic!("no descriptor of grpc.health.v1.Health: {response:?}");
    };
    let names: Vec<String> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| {
            <prost_types::FileDescriptorProto as prost::Message>::decode(bytes.as_slice())
                .expect("a file descriptor")
                .name()
                .to_owned()
        })
        .collect();
    assert!(names.iter().any(|name| name.ends_with("health.proto")), "{names:?}");
    server.shutdown().await.expect("clean shutdown");
}
