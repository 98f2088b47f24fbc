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

use anyhow::Context as _;
use http::header::CONTENT_TYPE;

use crate::access_log::Protocol;
use crate::auth::{Auth, AuthLayer};
use crate::limits::Shared;
use crate::metrics::Metrics;
use crate::observe::ObserveLayer;
use crate::otel::RequestTracing;
use crate::server::Common;
use crate::shutdown::{Connection, Connections, Readiness};
use crate::tls::TlsListener;
use crate::{Config, Service, rest};

/// The HTTP routes of the service, each request traced and logged as `tracing` decides:
/// health, the service's own routes, then its REST routes and their OpenAPI document.
/// Inside the limits, the requests not open are authenticated as `auth` says. Requests
/// are counted in `metrics`, which `GET /metrics` serves; `GET /debug/pprof/profile`
/// serves CPU profiles when `pprof`.
fn router<S: Service>(
    state: Arc<S>,
    (limits, auth): (&Shared, Option<Arc<Auth>>),
    max_body_bytes: usize,
    (tracing, metrics, pprof): (RequestTracing, Option<&Metrics>, bool),
    readiness: Readiness,
    rest: rest::Routes<S>,
    openapi: String,
) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(move || readyz(readiness)))
        .route(
            "/openapi.json",
            get(move || std::future::ready(([(CONTENT_TYPE, "application/json")], openapi))),
        )
        .merge(S::http());
    if let Some(metrics) = metrics {
        router = router.merge(metrics.routes());
    }
    if pprof {
        router = router.merge(crate::pprof::routes());
    }
    let rest = Arc::new(rest);
    let mut auth = AuthLayer::new(Protocol::Http, auth);
    if !rest.is_empty() {
        let rules = Arc::clone(&rest);
        auth = auth.with_rest(Arc::new(move |method: &http::Method, path: &str| {
            rules.rule(method, path)
        }));
        let state = Arc::clone(&state);
        router = router.fallback_service(tower::service_fn(
            move |request: http::Request<axum::body::Body>| {
                let (rest, state) = (Arc::clone(&rest), Arc::clone(&state));
                async move { Ok::<_, std::convert::Infallible>(rest.serve(state, request).await) }
            },
        ));
    }
    router
        .layer(
            tower::ServiceBuilder::new()
                .layer(ObserveLayer::new(Protocol::Http, tracing, &[]).with_metrics(metrics))
                .layer(limits.layers(Protocol::Http))
                .layer(auth)
                // What axum's body extractors take at most, in the service's own routes
                // (the REST routes bound their bodies themselves, answering 413 in JSON).
                .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes)),
        )
        .with_state(state)
}

/// The REST routes of `S` and their OpenAPI document, from `config`.
///
/// # Errors
/// The descriptors do not decode, or a rule cannot be served.
pub fn rest_routes<S: Service>(config: &Config<S>) -> anyhow::Result<(rest::Routes<S>, String)> {
    let pool = prost_reflect::DescriptorPool::decode(S::FILE_DESCRIPTOR_SET)
        .context("the service's descriptors do not decode")?;
    let routes = rest::Routes::new(S::HTTP_RULES, &pool, S::invoker, &config.rest)?;
    let document = rest::document(S::NAME, S::VERSION, S::HTTP_RULES, &pool);
    Ok((routes, document.to_string()))
}

/// Serves HTTP on `listener` until `shutdown` completes, then drains in-flight requests
/// (until `connections` are closed).
///
/// # Errors
/// The server fails.
pub async fn serve<S: Service>(
    listener: TcpListener,
    common: Common<S>,
    max_body_bytes: usize,
    (rest, openapi): (rest::Routes<S>, String),
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Common {
        state,
        tracing,
        limits,
        connections,
        auth,
        tls,
        metrics,
        pprof,
    } = common;
    let listener = Tracked {
        listener,
        connections,
    }
    .tap_io(|connection| {
        if let Err(error) = connection.get_ref().set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
    });
    let app = router(
        state,
        (&limits, auth),
        max_body_bytes,
        (tracing, metrics.as_ref(), pprof),
        readiness,
        rest,
        openapi,
    )
    .into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(tls) => {
            // TLS over the tracked connections; a tap that does nothing, through which
            // axum knows each connection's peer.
            let listener = TlsListener::new(listener, tls.http()).tap_io(|_| {});
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
    }
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
