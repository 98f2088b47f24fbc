{#- Included by service/tests/grpc.rs and greeter/tests_grpc.rs. #}
{% raw %}
/// The one answer of reflection `version` on `channel` to `MessageRequest::$request`:
/// `$then`, with the `MessageResponse::$response` it must be bound to `$answer`.
macro_rules! reflect {
    ($version:ident, $channel:expr, $request:ident($argument:expr),
     $response:ident($answer:ident) => $then:expr) => {{
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::$version::ServerReflectionRequest;

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
            .collect::<std::collections::BTreeSet<_>>())
    };
}
{%- endraw %}

/// Checks that reflection on `channel` lists every service, in v1 and v1alpha, and
/// describes `grpc.health.v1.Health` as `grpcurl` asks for it.
async fn assert_reflection_describes_every_service(channel: tonic::transport::Channel) {
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
    let files = reflect!(
        v1, channel, FileContainingSymbol("grpc.health.v1.Health".to_owned()),
        FileDescriptorResponse(files) => files
    );
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
}
