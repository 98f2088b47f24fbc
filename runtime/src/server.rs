//! Starts the gRPC and HTTP servers side by side and stops them together, gracefully:
//! readiness first, then a drain bounded by the grace period (see `shutdown`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_stream::{Stream, StreamExt as _};
use tokio_util::sync::CancellationToken;

use crate::limits::Shared;
use crate::otel::RequestTracing;
use crate::shutdown::{Connections, Readiness};
use crate::{Config, Service, grpc, http};

/// How long the servers may take to stop once their connections are closed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What both servers share.
pub(crate) struct Common<S> {
    /// The service's state.
    pub state: Arc<S>,
    /// How requests are traced.
    pub tracing: RequestTracing,
    /// The deadline and the bound on requests at once.
    pub limits: Shared,
    /// The connections, closed at the end of the grace period.
    pub connections: Connections,
    /// The authentication of `[auth]` (none for `mode = "none"`).
    pub auth: Option<Arc<crate::auth::Auth>>,
    /// The certificate of `[server.tls]`: both servers serve TLS only.
    pub tls: Option<crate::tls::ServerTls>,
    /// The service's metrics (`[metrics]`), counted by both servers.
    pub metrics: Option<crate::metrics::Metrics>,
    /// Whether `GET /debug/pprof/profile` serves CPU profiles (`[debug] pprof`).
    pub pprof: bool,
}

impl<S> Clone for Common<S> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            tracing: self.tracing.clone(),
            limits: self.limits.clone(),
            connections: self.connections.clone(),
            auth: self.auth.clone(),
            tls: self.tls.clone(),
            metrics: self.metrics.clone(),
            pprof: self.pprof,
        }
    }
}

/// Both servers of a service, running: see [`start`].
#[derive(Debug)]
pub struct Server {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    readiness: Readiness,
    connections: Connections,
    delay: Duration,
    grace: Duration,
    stop: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

/// Builds the service's state, binds both addresses and starts serving, in the
/// current tokio runtime, with the `tracing` subscriber in place (see [`run`](crate::run)
/// for the whole process). Tests start services this way, on ephemeral ports
/// ([`Config::ephemeral`]).
///
/// # Errors
/// `[auth]` or `[server.tls]` is invalid, the state cannot be built or an address
/// cannot be bound.
pub async fn start<S: Service>(config: &Config<S>) -> anyhow::Result<Server> {
    // For the reqwest clients built without the runtime's TLS configuration.
    crate::tls::install_default_provider();
    let tls = (config.server.tls.as_ref())
        .map(crate::tls::ServerTls::load)
        .transpose()
        .map_err(|error| anyhow::anyhow!("invalid configuration: server.tls.{error}"))?;
    let metrics = (config.metrics.enabled)
        .then(|| crate::metrics::Metrics::new(S::NAME, S::VERSION, &config.metrics))
        .transpose()?;
    let auth = crate::auth::Auth::new(&config.auth, S::METHODS, S::SERVICES)
        .map_err(|invalid| anyhow::anyhow!("invalid configuration: {invalid}"))?;
    let state = Arc::new(
        S::init(config)
            .await
            .context("cannot build the application state")?,
    );
    let rest = http::rest_routes(config)?;
    let grpc_listener = bind(config.server.grpc_addr, "gRPC").await?;
    let http_listener = bind(config.server.http_addr, "HTTP").await?;
    let grpc_addr = grpc_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;

    let tracing = RequestTracing::new(&config.tracing);
    let (health, health_service) = tonic_health::server::health_reporter();
    let readiness = Readiness::serving(health, S::SERVICES).await;
    let connections = Connections::default();

    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    // Whichever server ends first, for whatever reason, stops the other one.
    let common = Common {
        state,
        tracing,
        limits: Shared::new(&config.server),
        connections: connections.clone(),
        auth,
        tls,
        metrics,
        pprof: config.debug.pprof,
    };
    let serve_grpc = grpc::serve(
        grpc_listener,
        common.clone(),
        config.server.clone(),
        health_service,
        stop.clone().cancelled_owned(),
    );
    let guard = stop.clone().drop_guard();
    tasks.spawn(async move {
        let _guard = guard;
        serve_grpc.await
    });
    let serve_http = http::serve(
        http_listener,
        common,
        config.rest.max_body_bytes,
        rest,
        readiness.clone(),
        stop.clone().cancelled_owned(),
    );
    let guard = stop.clone().drop_guard();
    tasks.spawn(async move {
        let _guard = guard;
        serve_http.await
    });
    tracing::info!(%grpc_addr, %http_addr, "serving gRPC and HTTP");
    Ok(Server {
        grpc_addr,
        http_addr,
        readiness,
        connections,
        delay: Duration::from_millis(config.server.shutdown_delay_ms),
        grace: Duration::from_millis(config.server.shutdown_grace_ms),
        stop,
        tasks,
    })
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for {what} on {addr}"))
}

impl Server {
    /// The address the gRPC server listens on (the real port when configured with port 0).
    #[must_use]
    pub const fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The address the HTTP server listens on.
    #[must_use]
    pub const fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Serves until the first of `signals` (or until a server fails), then shuts down as
    /// [`Server::shutdown`] does; another item of `signals` during the shutdown closes
    /// the connections still open at once.
    ///
    /// # Errors
    /// The first error of either server.
    pub async fn run_until(self, signals: impl Stream<Item = &'static str>) -> anyhow::Result<()> {
        let mut signals = pin!(signals);
        tokio::select! {
            Some(signal) = signals.next() => tracing::info!(
                signal,
                delay_ms = self.delay.as_millis(),
                grace_ms = self.grace.as_millis(),
                "shutting down: reporting NOT_SERVING, then draining in-flight requests"
            ),
            () = self.stop.cancelled() => {}
        }
        self.drain(async move {
            match signals.next().await {
                Some(signal) => signal,
                None => std::future::pending().await,
            }
        })
        .await
    }

    /// Reports NOT_SERVING, serves for `server.shutdown_delay_ms` more, stops accepting
    /// connections and waits for the calls in flight for at most `server.shutdown_grace_ms`;
    /// then closes the connections still open. Returns when both servers have stopped.
    ///
    /// # Errors
    /// The first error of either server.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.drain(std::future::pending()).await
    }

    async fn drain(mut self, force: impl Future<Output = &'static str>) -> anyhow::Result<()> {
        let mut force = pin!(force);
        self.readiness.withdraw().await;
        let mut forced = None;
        if !self.delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(self.delay) => {}
                () = self.stop.cancelled() => {}
                signal = &mut force => forced = Some(signal),
            }
        }
        self.stop.cancel();
        match forced {
            Some(signal) => tracing::warn!(
                signal,
                open = self.connections.open(),
                "second signal: closing every connection now"
            ),
            None => {
                tokio::select! {
                    result = join(&mut self.tasks) => return result,
                    () = tokio::time::sleep(self.grace) => tracing::warn!(
                        open = self.connections.open(),
                        grace_ms = self.grace.as_millis(),
                        "shutdown grace period over: closing the connections still open"
                    ),
                    signal = &mut force => tracing::warn!(
                        signal,
                        open = self.connections.open(),
                        "second signal: closing every connection now"
                    ),
                }
            }
        }
        self.connections.close_all();
        if let Ok(result) = tokio::time::timeout(CLOSE_TIMEOUT, join(&mut self.tasks)).await {
            result
        } else {
            tracing::warn!("the servers did not stop once their connections were closed");
            self.tasks.abort_all();
            Ok(())
        }
    }
}

/// Waits for every server; the first error, if any.
async fn join(tasks: &mut JoinSet<anyhow::Result<()>>) -> anyhow::Result<()> {
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined
            .map_err(anyhow::Error::from)
            .and_then(|served| served);
        if let Err(error) = outcome
            && result.is_ok()
        {
            result = Err(error);
        }
    }
    result
}
