{#- Included by service/tests/grpc.rs and greeter/tests_grpc.rs. #}
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
}
