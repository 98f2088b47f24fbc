//! The gRPC server: every proto service, plus `grpc.health.v1` and reflection (v1 and
//! v1alpha).

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::Service;
use crate::access_log::Protocol;
use crate::auth::AuthLayer;
use crate::config::ServerConfig;
use crate::observe::ObserveLayer;
use crate::server::Common;

/// Serves gRPC on `listener` until `shutdown` completes, then drains in-flight calls
/// (until `connections` are closed). Every call is traced and logged as `tracing` decides.
///
/// # Errors
/// The reflection descriptors are invalid, or the server fails.
pub async fn serve<S: Service>(
    listener: TcpListener,
    common: Common<S>,
    config: ServerConfig,
    health: HealthServer<impl Health>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let Common {
        state,
        tracing,
        limits,
        connections,
        auth,
        tls,
        metrics,
        ..
    } = common;
    // The kernel's keepalive finds a vanished peer of an idle connection (about 90 s
    // after its last packet) at no cost per request.
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(60)))
        .with_keepalive_interval(Some(Duration::from_secs(10)))
        .with_keepalive_retries(Some(3))
        .map(move |accepted| accepted.map(|tcp| connections.track(tcp)));
    let millis = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
    let builder = match tls {
        Some(tls) => tonic::transport::Server::builder().tls_config(tls.grpc())?,
        None => tonic::transport::Server::builder(),
    };
    builder
        .http2_keepalive_interval(millis(config.http2_keepalive_interval_ms))
        .http2_keepalive_timeout(millis(config.http2_keepalive_timeout_ms))
        .layer(
            tower::ServiceBuilder::new()
                .layer(
                    ObserveLayer::new(Protocol::Grpc, tracing, S::METHODS)
                        .with_metrics(metrics.as_ref()),
                )
                .layer(limits.layers(Protocol::Grpc))
                .layer(AuthLayer::new(Protocol::Grpc, auth)),
        )
        .add_routes(
            S::grpc(&state, config.max_message_bytes)
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
