//! The gRPC server: every proto service, plus `grpc.health.v1` and reflection (v1 and
//! v1alpha).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::Service;
use crate::access_log::Protocol;
use crate::observe::ObserveLayer;
use crate::otel::RequestTracing;
use crate::shutdown::Connections;

/// Serves gRPC on `listener` until `shutdown` completes, then drains in-flight calls
/// (until `connections` are closed). Every call is traced and logged as `tracing` decides.
///
/// # Errors
/// The reflection descriptors are invalid, or the server fails.
pub async fn serve<S: Service>(
    listener: TcpListener,
    state: Arc<S>,
    tracing: RequestTracing,
    health: HealthServer<impl Health>,
    connections: Connections,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .map(move |accepted| accepted.map(|tcp| connections.track(tcp)));
    tonic::transport::Server::builder()
        .layer(ObserveLayer::new(Protocol::Grpc, tracing, S::METHODS))
        .add_routes(
            S::grpc(&state)
                .add_service(health)
                .add_service(reflection(S::FILE_DESCRIPTOR_SET).build_v1()?)
                .add_service(reflection(S::FILE_DESCRIPTOR_SET).build_v1alpha()?),
        )
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

/// Reflection of every proto, of `grpc.health.v1` and of reflection itself, in both
/// versions (`v1alpha` for older tools such as Python's grpcio-reflection).
fn reflection(protos: &'static [u8]) -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(protos)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
}
