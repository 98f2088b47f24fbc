//! svcgen-runtime: the framework every service svcgen generates runs on.
//!
//! A service is a gRPC server (tonic: its proto services, `grpc.health.v1`, reflection v1
//! and v1alpha) and an HTTP server (axum: `/healthz`, `/readyz` and its own routes) in one
//! process, with:
//!
//! - **configuration** decoded in one call into one [`Config`]: built-in defaults <
//!   `config/default.toml` < `config/$APP_ENV.toml` < `APP__SECTION__KEY` environment
//!   variables, unknown keys refused, every error one line naming file:line:column;
//! - **logging** with `tracing`: human-readable or JSON lines on the console, an optional
//!   daily-rotated JSON file, one access line per request, the trace id in every line;
//! - **tracing** with OpenTelemetry: a SERVER span per sampled incoming call, a CLIENT span
//!   per outgoing one ([`client`]), B3 and W3C propagation, export to Zipkin or OTLP;
//! - **typed clients** of other services ([`client`]) that balance over their replicas
//!   (fixed, or every address of a DNS name), inherit the request's [`deadline`], retry
//!   what is safe to retry within a budget, eject failing replicas and throttle
//!   themselves while the service is overloaded;
//! - **authentication** from metadata ([`auth`]): bearer tokens known by their sha256
//!   digests, or JWTs (HS256, RS256, ES256), one layer for gRPC and HTTP, the caller's
//!   [`auth::Principal`] in each request's extensions;
//! - **metrics** for Prometheus at `GET /metrics`: requests and latencies per gRPC method
//!   and HTTP route template by status, requests in flight, build information;
//! - **TLS** for both servers (`[server.tls]`) and for `https://` clients and exporters
//!   ([`tls`]: rustls with ring);
//! - **CPU profiles** on demand in development (`[debug] pprof`, pprof's format);
//! - **graceful shutdown** on SIGTERM or Ctrl-C: readiness withdrawn, calls in flight
//!   drained within a grace period, spans and logs flushed.
//!
//! svcgen generates the part of a service that depends on its protos — the tonic
//! services handing each RPC to its handler, the typed clients, the [`Service`]
//! implementation — and the service's author writes the handlers and `src/app.rs`.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use svcgen_runtime::{Config, Method, Empty, Service};
//!
//! /// A service with no gRPC service of its own: health, reflection and HTTP only.
//! struct Hello {
//!     greeting: String,
//! }
//!
//! impl Service for Hello {
//!     const NAME: &'static str = "hello";
//!     const GRPC_PORT: u16 = 50051;
//!     const HTTP_PORT: u16 = 8080;
//!     const SERVICES: &'static [&'static str] = &[];
//!     const METHODS: &'static [Method] = &[];
//!     const FILE_DESCRIPTOR_SET: &'static [u8] = &[];
//!     type AppConfig = Empty;
//!     type ClientsConfig = Empty;
//!
//!     async fn init(_config: &Config<Self>) -> anyhow::Result<Self> {
//!         Ok(Self { greeting: "Hello".to_owned() })
//!     }
//!
//!     fn grpc(_state: &Arc<Self>, _max_message_bytes: usize) -> tonic::service::Routes {
//!         tonic::service::Routes::default()
//!     }
//!
//!     fn http() -> axum::Router<Arc<Self>> {
//!         axum::Router::new().route(
//!             "/hello",
//!             axum::routing::get(|state: axum::extract::State<Arc<Self>>| async move {
//!                 format!("{}, world!", state.greeting)
//!             }),
//!         )
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     svcgen_runtime::run::<Hello>()
//! }
//! ```

#![warn(missing_docs)]

mod access_log;
pub mod auth;
pub mod client;
pub mod config;
pub mod deadline;
mod grpc;
mod http;
mod limits;
mod log_format;
mod log_writer;
mod macros;
mod metrics;
mod observe;
mod otel;
mod pprof;
pub mod rest;
mod run;
mod server;
mod service;
mod shutdown;
mod telemetry;
pub mod tls;
pub mod trace;
mod zipkin;

#[cfg(test)]
mod tests;

pub use config::{Config, ConfigError};
pub use run::run;
pub use server::{Server, start};
pub use service::{Empty, Method, Section, Service};
pub use telemetry::Telemetry;

/// What the macros' expansions name, re-exported so a service needs no dependency of
/// its own on them. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use {anyhow, axum, serde, tonic};
}

/// The stream a server-streaming or bidirectional-streaming handler returns.
pub type BoxStream<T> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;
