//! What a started service serves besides its handlers: every kind of RPC through the
//! runtime's layers, gRPC health of every service, reflection in v1 and v1alpha, and
//! `GET /healthz` and `GET /readyz`.

use std::collections::BTreeSet;

use svcgen_runtime::{Config, Service as _};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::pb::EchoRequest;
use crate::support::{Echo, Running, echo, get, message, messages};

#[tokio::test]
async fn every_kind_of_rpc_is_served() {
    let service = Running::start(&Config::ephemeral()).await;
    let mut client = service.client().await;

    let reply = client.unary(echo("one", &[])).await.expect("Unary");
    assert_eq!(reply.into_inner().message, "one");

    let replies = client
        .server_stream(message("many", 3))
        .await
        .expect("ServerStream");
    assert_eq!(
        messages(replies.into_inner()).await,
        ["many 0", "many 1", "many 2"]
    );

    let reply = client
        .client_stream(tokio_stream::iter([message("a", 0), message("b", 0)]))
        .await
        .expect("ClientStream");
    assert_eq!(reply.into_inner().message, "a b");

    let replies = client
        .bidi(tokio_stream::iter([message("x", 0), message("y", 0)]))
        .await
        .expect("Bidi");
    assert_eq!(messages(replies.into_inner()).await, ["x", "y"]);

    // A failing handler's status reaches the client as it is.
    let status = client
        .unary(EchoRequest {
            code: tonic::Code::NotFound.into(),
            ..message("missing", 0)
        })
        .await
        .expect_err("the handler fails");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status}");
    assert_eq!(status.message(), "on purpose");
    service.stop().await;
}

#[tokio::test]
async fn health_reports_every_service_and_the_server_serving() {
    let service = Running::start(&Config::ephemeral()).await;
    let mut health = HealthClient::new(service.channel().await);
    for name in Echo::SERVICES.iter().copied().chain([""]) {
        let response = health
            .check(HealthCheckRequest {
                service: name.to_owned(),
            })
            .await
            .unwrap_or_else(|status| panic!("health of {name:?}: {status}"));
        assert_eq!(
            response.into_inner().status(),
            ServingStatus::Serving,
            "{name:?}"
        );
    }
    let status = health
        .check(HealthCheckRequest {
            service: "echo.v1.Nope".to_owned(),
        })
        .await
        .expect_err("a service that is not served");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status}");
    service.stop().await;
}

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    let service = Running::start(&Config::ephemeral()).await;
    assert_eq!(
        get(&service.http_url("/healthz"), &[]).await,
        (200, r#"{"status":"ok"}"#.to_owned())
    );
    assert_eq!(
        get(&service.http_url("/readyz"), &[]).await,
        (200, r#"{"status":"ready"}"#.to_owned())
    );
    // The service's own routes are served beside them.
    assert_eq!(
        get(&service.http_url("/ok"), &[]).await,
        (200, "ok".to_owned())
    );
    assert_eq!(get(&service.http_url("/nope"), &[]).await.0, 404);
    service.stop().await;
}

/// The one answer of reflection `version` on `channel` to `MessageRequest::$request`:
/// `$then`, with the `MessageResponse::$response` it must be bound to `$answer`.
macro_rules! reflect {
    ($version:ident, $channel:expr, $request:ident($argument:expr),
     $response:ident($answer:ident) => $then:expr) => {{
        use tonic_reflection::pb::$version::ServerReflectionRequest;
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;

        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::$request($argument)),
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
            Some(MessageResponse::$response($answer)) => $then,
            other => panic!("not a {}: {other:?}", stringify!($response)),
        }
    }};
}

/// The services reflection `version` lists, asking on `channel`.
macro_rules! listed_services {
    ($version:ident, $channel:expr) => {
        reflect!($version, $channel, ListServices(String::new()), ListServicesResponse(list) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect::<BTreeSet<_>>())
    };
}

/// The names of the files reflection v1 describes `symbol` with, asking on `channel`.
async fn files_describing(channel: tonic::transport::Channel, symbol: &str) -> Vec<String> {
    let files = reflect!(
        v1, channel, FileContainingSymbol(symbol.to_owned()),
        FileDescriptorResponse(files) => files
    );
    files
        .file_descriptor_proto
        .iter()
        .map(|bytes| {
            <prost_types::FileDescriptorProto as prost::Message>::decode(bytes.as_slice())
                .expect("a file descriptor")
                .name()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn reflection_lists_and_describes_every_service_in_v1_and_v1alpha() {
    let service = Running::start(&Config::ephemeral()).await;
    let channel = service.channel().await;
    let mut expected: BTreeSet<String> =
        Echo::SERVICES.iter().map(|&name| name.to_owned()).collect();
    for name in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        expected.insert(name.to_owned());
    }
    assert_eq!(listed_services!(v1, channel.clone()), expected);
    assert_eq!(listed_services!(v1alpha, channel.clone()), expected);

    // What `grpcurl … grpc.health.v1.Health/Check` asks first, and the same of the
    // service's own protos.
    let names = files_describing(channel.clone(), "grpc.health.v1.Health").await;
    assert!(
        names.iter().any(|name| name.ends_with("health.proto")),
        "{names:?}"
    );
    let names = files_describing(channel, "echo.v1.Echo").await;
    assert_eq!(names, ["echo.proto"]);
    service.stop().await;
}
