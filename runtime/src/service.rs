//! What a service built on the runtime provides: [`Service`].

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Config;
use crate::rest::{HttpRule, Invoker};

/// A service: its gRPC services (the glue svcgen generates from the protos), its
/// configuration sections, its state and its HTTP routes.
///
/// svcgen implements it for the service's `AppState` in `src/svcgen/mod.rs`, from the
/// protos and `svcgen.toml` (with [`service!`](crate::service)), delegating to what the
/// service's author writes in `src/app.rs`: `AppConfig` (the `[app]` section),
/// `AppState::new` and `http_routes`.
/// [`run`](crate::run) and [`start`](crate::start) take it as their type parameter.
pub trait Service: Sized + Send + Sync + 'static {
    /// The service's name: the crate's, the default `tracing.service_name` and the
    /// prefix of its log files.
    const NAME: &'static str;
    /// The service's version (its crate's), in its OpenAPI document.
    const VERSION: &'static str = "0.0.0";
    /// The default port of `server.grpc_addr` (on `0.0.0.0`).
    const GRPC_PORT: u16;
    /// The default port of `server.http_addr` (on `0.0.0.0`).
    const HTTP_PORT: u16;
    /// The proto services served, by fully qualified name (`greeter.v1.Greeter`): each
    /// has a gRPC health status.
    const SERVICES: &'static [&'static str];
    /// Every RPC of those services.
    const METHODS: &'static [Method];
    /// The encoded `FileDescriptorSet` of the protos, served by gRPC reflection.
    const FILE_DESCRIPTOR_SET: &'static [u8];

    /// The `[app]` section of the configuration.
    type AppConfig: Section;
    /// The `[clients]` section: one `[clients.<name>]` per service this one calls.
    type ClientsConfig: Section;

    /// Builds the state every handler receives, once, before the servers accept calls.
    fn init(config: &Config<Self>) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// The gRPC services, each handing its calls to the handlers with `state`, taking
    /// and sending messages of at most `max_message_bytes`.
    fn grpc(state: &Arc<Self>, max_message_bytes: usize) -> tonic::service::Routes;

    /// The service's own HTTP routes, served beside `/healthz` and `/readyz`.
    fn http() -> axum::Router<Arc<Self>>;

    /// The REST routes transcoded to the RPCs (`google.api.http`), served on the HTTP
    /// port after the service's own routes.
    const HTTP_RULES: &'static [HttpRule] = &[];

    /// How the REST routes call the rpc `route` (`package.Service/Method`): for the
    /// unary and server-streaming RPCs.
    fn invoker(route: &str) -> Option<Invoker<Self>> {
        let _ = route;
        None
    }
}

/// A configuration section: decoded from TOML and environment variables, with defaults.
pub trait Section:
    Serialize + DeserializeOwned + Default + Clone + Debug + Send + Sync + 'static
{
}

impl<T> Section for T where
    T: Serialize + DeserializeOwned + Default + Clone + Debug + Send + Sync + 'static
{
}

/// An RPC of a served service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    /// `package.Service/Method`, as in its gRPC path without the leading `/`.
    pub route: &'static str,
    /// Whether it streams its responses: its response stream runs inside the request's
    /// trace context too.
    pub server_streaming: bool,
}

impl Method {
    /// The RPC `route` (`package.Service/Method`).
    #[must_use]
    pub const fn new(route: &'static str, server_streaming: bool) -> Self {
        Self {
            route,
            server_streaming,
        }
    }
}

/// A configuration section without keys: the `[clients]` of a service that calls no
/// other over gRPC, or an `[app]` with no settings.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}
