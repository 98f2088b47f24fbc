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
    let status = client
{%- if method.client_streaming %}
        .{{ method.ident }}(tokio_stream::iter([{{ method.request.default }}]))
{%- else %}
        .{{ method.ident }}({{ method.request.default }})
{%- endif %}
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
{% include "service/tests/reflection.rs" %}

#[tokio::test]
async fn reflection_lists_every_service_in_v1_and_v1alpha() {
    let (server, channel) = start().await;
    assert_reflection_describes_every_service(channel).await;
    server.shutdown().await.expect("clean shutdown");
}
