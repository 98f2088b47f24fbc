//! The HTTP server: health and readiness checks for load balancers and orchestrators,
//! and the application's own routes.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::serve::{Listener, ListenerExt as _};
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::Service;
use crate::access_log::Protocol;
use crate::observe::ObserveLayer;
use crate::otel::RequestTracing;
use crate::shutdown::{Connection, Connections, Readiness};

/// The HTTP routes of the service, each request traced and logged as `tracing` decides.
fn router<S: Service>(state: Arc<S>, tracing: RequestTracing, readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(move || readyz(readiness)))
        .merge(S::http())
        .layer(ObserveLayer::new(Protocol::Http, tracing, &[]))
        .with_state(state)
}

/// Serves HTTP on `listener` until `shutdown` completes, then drains in-flight requests
/// (until `connections` are closed).
///
/// # Errors
/// The server fails.
pub async fn serve<S: Service>(
    listener: TcpListener,
    state: Arc<S>,
    tracing: RequestTracing,
    readiness: Readiness,
    connections: Connections,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = Tracked {
        listener,
        connections,
    }
    .tap_io(|connection| {
        if let Err(error) = connection.get_ref().set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
    });
    let app = router(state, tracing, readiness).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// A listener whose connections [`Connections::close_all`] closes.
struct Tracked<L> {
    listener: L,
    connections: Connections,
}

impl<L: Listener> Listener for Tracked<L> {
    type Io = Connection<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.listener.accept().await;
        (self.connections.track(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// The body of `GET /healthz` and `GET /readyz`.
#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
}

/// `GET /healthz`: 200 while the process serves requests.
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /readyz`: 200 while the service takes new work; 503 once it shuts down.
async fn readyz(readiness: Readiness) -> (StatusCode, Json<Health>) {
    if readiness.is_ready() {
        (StatusCode::OK, Json(Health { status: "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health { status: "draining" }),
        )
    }
}
