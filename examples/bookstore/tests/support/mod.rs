//! What the tests share: the service started on ephemeral ports, and a call of any RPC.
//!
//! Your code: svcgen created this file once and never touches it again.

// Each test file uses some of these.
#![allow(dead_code)]

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use bookstore::svcgen::config::Config;
use bookstore::svcgen::server;

/// Starts the service with `config` on ephemeral ports of 127.0.0.1, and a channel to it.
pub async fn start_with(mut config: Config) -> (server::Server, Channel) {
    let ephemeral = Config::ephemeral();
    config.server.grpc_addr = ephemeral.server.grpc_addr;
    config.server.http_addr = ephemeral.server.http_addr;
    let server = server::start(&config).await.expect("the service starts");
    let channel = Channel::from_shared(format!("http://{}", server.grpc_addr()))
        .expect("a valid URI")
        .connect()
        .await
        .expect("the client connects");
    (server, channel)
}

/// Starts the service with its built-in defaults.
pub async fn start() -> (server::Server, Channel) {
    start_with(Config::ephemeral()).await
}

/// Calls the RPC `route` (`package.Service/Method`) with one message of defaults (every
/// message's defaults encode as nothing, so this fits any RPC, of any kind) and returns
/// the status it ends with.
pub async fn call_with_defaults(channel: Channel, route: &str) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("the channel is ready");
    let path = PathAndQuery::try_from(format!("/{route}")).expect("a gRPC path");
    let request = tonic::Request::new(tokio_stream::iter([()]));
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    match grpc.streaming(request, path, codec).await {
        Err(status) => status,
        Ok(response) => match response.into_inner().message().await {
            Err(status) => status,
            Ok(_) => tonic::Status::ok(""),
        },
    }
}
